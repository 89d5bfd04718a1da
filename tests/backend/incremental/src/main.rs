//! `word` is edited by the test. Its module also holds `filler`'s many functions, so LLVM
//! takes a while on that code unit; `other`'s code unit stays the same and is reused from
//! the incremental cache.
mod other;

#[inline(never)]
fn word() -> &'static str {
    "one"
}

/// Functions enough to keep LLVM busy on this code unit for some milliseconds.
macro_rules! filler {
    ($($name:ident)*) => {
        $(
            #[inline(never)]
            fn $name(x: u64) -> u64 {
                let mut acc = x;
                for i in 0..(x % 7) {
                    acc = match (acc ^ i) % 5 {
                        0 => acc.wrapping_mul(31).rotate_left(3),
                        1 => acc.wrapping_add(i * 17) ^ 0x5a5a,
                        2 => acc / 3 + i,
                        3 => acc.wrapping_sub(i).count_ones() as u64 + acc,
                        _ => acc.swap_bytes() >> 1,
                    };
                }
                acc
            }
        )*
        static FILLER: &[fn(u64) -> u64] = &[$($name),*];
    };
}

filler! {
    f00 f01 f02 f03 f04 f05 f06 f07 f08 f09 f10 f11 f12 f13 f14 f15 f16 f17 f18 f19
    f20 f21 f22 f23 f24 f25 f26 f27 f28 f29 f30 f31 f32 f33 f34 f35 f36 f37 f38 f39
    f40 f41 f42 f43 f44 f45 f46 f47 f48 f49 f50 f51 f52 f53 f54 f55 f56 f57 f58 f59
    f60 f61 f62 f63 f64 f65 f66 f67 f68 f69 f70 f71 f72 f73 f74 f75 f76 f77 f78 f79
}

fn main() {
    let filler = FILLER.iter().filter(|f| f(5) != 0).count();
    println!("{} {} [{filler} filler functions]", word(), other::suffix(word().len()));
}
