// Built by tests/tests/backend.rs with `-C codegen-units=16`: functions spread over
// modules, which rustc puts into separate codegen units (one object each) that call each
// other, share generics, statics and trait objects, so the link must resolve references
// between the crate's own objects.
mod geometry;
mod numbers;
mod registry;
mod text;

fn main() {
    let shapes = geometry::sample_shapes();
    for shape in &shapes {
        println!("{:<9} area {:>8.3} perimeter {:>7.3}", shape.name(), shape.area(), shape.perimeter());
    }
    println!("total area: {:.3}", geometry::total_area(&shapes));

    println!("primes below 60: {:?}", numbers::primes_below(60));
    println!("fib(1..=12): {:?}", (1..=12).map(numbers::fibonacci).collect::<Vec<_>>());
    println!("collatz steps of 27: {}", numbers::collatz_steps(27));
    println!("gcd(1071, 462) = {}", numbers::gcd(1071, 462));
    println!("sum of squares: {}", numbers::sum_of(&[1u64, 2, 3, 4], |x| x * x));
    println!("sum of cubes: {}", numbers::sum_of(&[1i32, 2, 3], |x| x * x * x));

    println!("rot13: {}", text::rot13("Linker in-process"));
    println!("words: {:?}", text::word_lengths("the quick brown fox jumps over the lazy dog"));
    println!("palindromes: {:?}", text::palindromes(&["level", "rivet", "racecar", "link", "noon"]));
    println!("checksum: {:08x}", text::checksum(text::GREETING));

    for plugin in registry::PLUGINS {
        println!("plugin {}: {}", plugin.name(), plugin.run(7));
    }
    println!("calls counted across units: {}", registry::calls());
}
