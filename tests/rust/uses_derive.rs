use derive_hello::Hello;

#[derive(Hello)]
struct Widget;

fn main() {
    println!("{}", Widget::hello());
}
