fn main() {
    println!("{}", greeting_dylib::greet("rivet"));
    println!("largest = {}", greeting_dylib::largest(&[3, 9, 4]));
}
