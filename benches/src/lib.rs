//! `rivet-bench`: the pieces of rivet's benchmark harness that tests can use too.
//!
//! * [`synth`] generates the synthetic scaling workload (N relocatable objects of M functions,
//!   with a `main` printing a checksum known in advance), so that any linker's output can be
//!   checked by running it.
//! * [`gnu_link`] builds the GNU-ld command line that links those objects into a PIE against
//!   the system glibc, for any ld-compatible linker (rivet-ld, ld.bfd, lld, mold, wild).
//!
//! The benchmark driver itself (`cargo run --release -p rivet-bench -- all`) lives in the
//! binary; see `benches/README.md`.

pub mod gnu_link;
pub mod synth;
