//! `-Map FILE`: where every output section, input section and global symbol went.

use crate::context::Link;
use crate::error::{Error, Result};
use crate::layout::{Contents, Layout};
use crate::resolve::Rank;
use std::fmt::Write as _;

pub fn write(link: &Link<'_>, layout: &Layout, path: &std::path::Path) -> Result<()> {
    let mut out = String::new();
    let _ = writeln!(out, "{:>18} {:>18} {:>10} {:>5} Out     In      Symbol", "VMA", "Offset", "Size", "Align");
    let mut symbols: Vec<(u64, &[u8])> = link
        .res
        .names
        .iter()
        .filter(|(_, e)| e.rank >= Rank::Weak)
        .map(|(n, e)| (crate::layout::symbol_address(link, layout, e.def), n))
        .collect();
    symbols.sort_unstable();
    for s in &layout.sections {
        let _ = writeln!(
            out,
            "{:>18x} {:>18x} {:>10x} {:>5} {}",
            s.addr,
            s.offset,
            s.size,
            s.align,
            String::from_utf8_lossy(&s.name)
        );
        if let Contents::Inputs(parts) = &s.contents {
            for p in parts {
                let obj = link.res.files[p.file as usize].object().expect("object");
                let start = s.addr + p.offset;
                let _ = writeln!(
                    out,
                    "{:>18x} {:>18x} {:>10x} {:>5}         {}:({})",
                    start,
                    s.offset + p.offset,
                    p.size,
                    "",
                    obj.name,
                    String::from_utf8_lossy(obj.section_name(p.section as usize))
                );
                if s.is_alloc() {
                    let from = symbols.partition_point(|(a, _)| *a < start);
                    for (addr, name) in symbols[from..].iter().take_while(|(a, _)| *a < start + p.size) {
                        let _ = writeln!(
                            out,
                            "{addr:>18x} {:>18} {:>10} {:>5}                 {}",
                            "",
                            "",
                            "",
                            String::from_utf8_lossy(name)
                        );
                    }
                }
            }
        }
    }
    std::fs::write(path, out).map_err(|e| Error::io(path, e))
}
