//! The passes that need every input, in order: one line and one `--time` lap each. This is
//! the only module that names every pass; each pass is a function of what came before it.
//!
//! resolve (finish) → context → gc ∥ early layout → icf → scan ∥ input-section placement ∥
//! gdb index plan → tables and addresses → map file → copy and relocate → commit.
//!
//! Two pairs run side by side on the pool because neither side needs the other's result:
//! garbage collection and the part of layout that needs no liveness (sorting input sections
//! towards their output sections, merging `.debug_str`); the relocation scan and the placement
//! of live input sections.
//!
//! **Cost at scale** (medians of 5 `--time` runs at 2 threads, replays of the bench): from
//! ripgrep's debug link (124 MiB in, 48 MiB out, 28k symbols in `.symtab`) to typst's (883 MiB
//! in, 366 MiB out, 218k symbols), inputs grow 7.1×, output 7.7×, symbols 7.8×, and every
//! pass grows 8× to 14×: parse 8.4×, resolve 11×, gc ∥ debug strings 11×, scan ∥
//! placement 10×, tables ∥ `.symtab` plan 14× (the plan copies 35 MB of names), symbol
//! addresses 13×, copy and relocate 10×; the whole link 9.4× (85.6 to 809 ms). No pass has an
//! algorithmic step that grows faster than its data; all of them lose to their working set
//! leaving the caches (per-symbol and per-section tables indexed at random).
//!
//! **Fresh memory is the other cost that grows with the link.** On the VMs rivet is measured on,
//! the first touch of a page of heap costs about 0.4 ms a MB in 4 KiB pages and 0.1 to 2.3 ms a MB
//! in huge pages (zeroed by the guest, backed by the host as it goes): in a million-function link
//! the kernel zeroing the heap was 28% of all samples (a `memset` of memory already touched costs
//! 0.04 ms a MB). So every per-section or per-symbol table is held once: input sections are placed
//! as they are assigned, `.rela.dyn` and `.symtab` are written run by run as the chunks that make
//! them are, and what only resolution reads is freed after it (synth-1M: peak RSS 719-726 MB to
//! 672-684 MB, 486 to 460 ms at 2 threads; typst-debug 1214 to 1159 MB, 616 to 583 ms).
//!
//! **Where a big debug link's CPU goes** (`perf record -g`, typst-debug at 2 threads, 1.3 s of
//! CPU a link): copy and relocate 25% (a third of it the kernel copying into the output and
//! looking up its pages, `.debug_str` lookups 5%); parse 19% (mapping the inputs 5%, splitting
//! and hashing `.debug_str` 6%); the kernel zeroing fresh heap, faulted in by glibc's malloc as
//! the arenas grow, 9% (up to 18% when the host has not backed the memory); the serial
//! resolution 7% (half of it comparing equal names, one copy cold); the string merge 6%; gc 6%;
//! layout and tables 7%; `.symtab` 3%. Every one of them is a loop over data far larger than
//! the caches, and none grows faster than its data.

use crate::args::Config;
use crate::context::{Link, output_mode};
use crate::error::Result;
use crate::gdb_index::GdbIndex;
use crate::input::FileArena;
use crate::layout::{EarlyLayout, Layout};
use crate::output_file::PendingOutput;
use crate::patch::OutputMap;
use crate::resolve::Resolver;
use crate::sections::{Prepared, RootSections};
use crate::timing::Timer;
use crate::version_script::VersionScript;

/// What runs the moment the output is in place (`Session::on_output_ready`). It gets what
/// makes the map of the output, for an incremental link's state: made when asked, so that a
/// driver can report the link first.
pub type OnOutputReady<'d> = Box<dyn FnOnce(&mut dyn FnMut() -> Option<OutputMap>) + Send + 'd>;

/// Links everything `resolver` holds into `config`'s output, on the current thread pool.
/// `on_output_ready` runs the moment the output is in place, before anything is freed.
pub fn run<'d>(
    config: &'d Config,
    arena: &'d FileArena,
    resolver: Resolver<'d>,
    timer: &mut Timer,
    on_output_ready: Option<OnOutputReady<'d>>,
) -> Result<()> {
    // Every input is mapped by now: the old output may be moved or removed (the claim never
    // writes into one that is an input).
    let pending = PendingOutput::claim(config, arena);
    let (mut link, mut prepared) = context(config, resolver)?;
    timer.lap("resolve symbols");

    let roots: Vec<RootSections> = prepared.iter_mut().map(|p| std::mem::take(&mut p.roots)).collect();
    let (live, early) = rayon::join(|| crate::gc::run(&link, &roots), || EarlyLayout::new(&link, prepared));
    link.live = live;
    let early = early?;
    timer.lap("gc sections, sorting sections, merging debug strings");

    let folded = config.icf.map(|mode| crate::icf::run(&link, mode)).unwrap_or_default();
    for &((f, s), _) in &folded {
        link.live[f as usize][s as usize] = false;
    }
    if config.icf.is_some() {
        timer.lap("identical code folding");
        if config.print_timing {
            eprintln!("rivet-ld: icf folded {} sections", folded.len());
        }
    }

    let (scan, (placed, gdb_index)) = rayon::join(
        || crate::scan::run(&link),
        || {
            rayon::join(
                || Layout::place_inputs(&link, early, &folded),
                || config.gdb_index.then(|| GdbIndex::plan(&link)).transpose(),
            )
        },
    );
    let (scan, placed, gdb_index) = (scan?, placed?, gdb_index?);
    timer.lap("scan relocations ∥ layout: input sections, merge sections, .eh_frame ∥ gdb index");

    let planned = Layout::plan_tables(placed, &scan, gdb_index)?;
    timer.lap("layout: GOT, PLT, dynamic tables ∥ .symtab plan");
    let mut layout = Layout::place_sections(planned)?;
    timer.lap("layout: addresses");
    layout.fill_symbol_addresses(&link);
    timer.lap("layout: symbol addresses");

    if let Some(map) = &config.map_file {
        crate::map_file::write(&link, &layout, map)?;
        timer.lap("map file");
    }

    let image = crate::write::write_image(&link, &scan, &mut layout, pending)?;
    timer.lap("copy and relocate");
    let (image, hashed) = image.finish_build_id(&layout, config)?;
    timer.lap("build id");
    image.commit(config)?;
    timer.lap("write output");
    timer.report();
    if let Some(ready) = on_output_ready {
        // What a later in-place relink needs, for an incremental link's state.
        let mut hashed = Some(hashed);
        ready(&mut || if config.incremental { OutputMap::of(&link, &layout, hashed.take()?) } else { None });
    }
    Ok(())
}

/// Finishes resolution (command-line `-u` and `--require-defined` names, undefined symbols
/// that may stay so) and builds the shared context of the passes; hands on, per file, what
/// its parse job prepared for layout.
fn context<'d>(config: &'d Config, mut resolver: Resolver<'d>) -> Result<(Link<'d>, Vec<Prepared<'d>>)> {
    for name in config.undefined.iter().chain(&config.require_defined) {
        resolver.add_undefined(name.as_bytes())?;
    }
    let output = output_mode(config, &resolver);
    // A shared object may leave symbols to its loader. In an executable, every
    // `__tls_get_addr` call is relaxed away, so static links need no definition of it.
    let allow_undefined = output.shared && !config.no_undefined;
    let may_stay_undefined = |name: &[u8]| allow_undefined || (!output.shared && name == b"__tls_get_addr");
    if !config.trace_symbols.is_empty() {
        print!("{}", resolver.trace(&config.trace_symbols));
    }
    let defsyms: Vec<&[u8]> = config.defsyms.iter().map(|d| d.name.as_bytes()).collect();
    let mut res = resolver.finish(&|n| crate::layout::is_linker_defined(n), &defsyms, &may_stay_undefined)?;
    let prepared = res.files.iter_mut().map(|f| std::mem::take(&mut f.prepared)).collect();
    let link = Link::new(config, res, output, VersionScript::load_all(&config.version_scripts)?);
    link.check_required()?;
    Ok((link, prepared))
}
