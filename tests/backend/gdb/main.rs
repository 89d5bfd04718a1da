// Built by tests/tests/backend.rs with `-g -C opt-level=0`; gdb stops at the marked line of
// `weighted_sum` and prints `total`.
#[derive(Debug)]
struct Item {
    weight: u64,
    count: u64,
}

fn weighted_sum(items: &[Item]) -> u64 {
    let mut total = 0;
    for item in items {
        total += item.weight * item.count;
    }
    let scaled = total * 10;
    scaled + 1 // BREAK HERE
}

fn main() {
    let items = vec![Item { weight: 3, count: 4 }, Item { weight: 5, count: 6 }, Item { weight: 7, count: 0 }];
    println!("weighted sum: {}", weighted_sum(&items));
}
