// What the `linkme` crate does: statics placed in a named section from several places, found
// at run time through the linker's __start_/__stop_ symbols, which must survive
// --gc-sections (rustc links with -z nostart-stop-gc semantics).
#[used]
#[unsafe(link_section = "rivet_set")]
static FIRST: u32 = 7;

mod inner {
    #[used]
    #[unsafe(link_section = "rivet_set")]
    static SECOND: u32 = 11;
}

#[used]
#[unsafe(link_section = "rivet_set")]
static THIRD: u32 = 24;

unsafe extern "C" {
    static __start_rivet_set: u32;
    static __stop_rivet_set: u32;
}

fn main() {
    let (start, stop) = unsafe { (&raw const __start_rivet_set, &raw const __stop_rivet_set) };
    let count = (stop as usize - start as usize) / std::mem::size_of::<u32>();
    let items = unsafe { std::slice::from_raw_parts(start, count) };
    let mut sorted = items.to_vec();
    sorted.sort();
    println!("{count} entries, sum {}: {sorted:?}", items.iter().sum::<u32>());
}
