//! The synthetic scaling workload: `n_objects` relocatable objects of `fns_per_object`
//! functions each, plus `main.o`, whose program prints a checksum known in advance.
//!
//! What the objects contain, so that a linker has real work of every common kind:
//! * **cross-object calls**: each "caller" function of object `i` calls a "leaf" function of
//!   object `i + 1` directly (`R_X86_64_PLT32` against an undefined symbol);
//! * **data with relocations**: a table of function pointers per object (`R_X86_64_64`
//!   against functions, `R_X86_64_RELATIVE` once linked as a PIE) and a descriptor per object
//!   holding pointers to its table, to its name string and to the next object's descriptor
//!   (data-to-data, cross-object); callers reach the next object's leaves through them with
//!   an indirect call;
//! * **string constants**: each object's name, measured at run time with libc's `strlen`;
//! * **a thread-local counter** defined in object 0 (general-dynamic TLS, `R_X86_64_TLSGD`
//!   and `__tls_get_addr`), bumped by every caller and added to the checksum by `main`;
//! * **libc**: `main` prints the checksum with `printf`.
//!
//! Every function sits in its own section (as rustc's `-Z function-sections` default does).
//! [`Shape`] holds the arithmetic that both the code emitter and [`Shape::expected_checksum`]
//! follow, which is what makes the output a differential correctness test of the linker.

mod emit;

use std::path::{Path, PathBuf};

use anyhow::{Result, ensure};

/// Generates the workload into `dir` (created if missing) and returns the checksum that
/// the linked program must print (see [`expected_stdout`]).
pub fn generate(dir: &Path, n_objects: usize, fns_per_object: usize) -> Result<u64> {
    Ok(generate_workload(dir, n_objects, fns_per_object)?.expected_checksum)
}

/// The exact standard output of a correctly linked synthetic program.
pub fn expected_stdout(checksum: u64) -> String {
    format!("rivet-synth checksum={checksum}\n")
}

/// A generated workload: its object files (in link order) and the checksum to expect.
#[derive(Debug, Clone)]
pub struct Workload {
    pub shape: Shape,
    pub objects: Vec<PathBuf>,
    pub expected_checksum: u64,
}

/// Like [`generate`], returning the object paths as well. Objects are emitted on all cores.
pub fn generate_workload(dir: &Path, n_objects: usize, fns_per_object: usize) -> Result<Workload> {
    let shape = Shape::new(n_objects, fns_per_object)?;
    std::fs::create_dir_all(dir)?;
    let objects = emit::write_objects(&shape, dir)?;
    Ok(Workload { expected_checksum: shape.expected_checksum(), shape, objects })
}

/// The dimensions of a workload and the arithmetic its program performs.
///
/// In object `i`, functions `0..leaves()` are leaves and the rest are callers:
/// * `leaf(i, j)(x) = x * leaf_multiplier(i, j) + leaf_addend(i, j)`
/// * `caller(i, j)(x) = leaf(n, direct_callee(j))(x)
///   + 3 * leaf(n, indirect_callee(j))(x + j) + weight(n)` with `n = next(i)`,
///   and it increments the thread-local counter;
/// * `object_sum(i)`: `s = s * 31 + f(i, j)(i * fns_per_object + j)` over `j`, plus
///   `strlen(object_name(i))`;
/// * `main`: `t = t * 1_000_003 + object_sum(i)` over `i`, plus the counter, printed.
///
/// All arithmetic wraps at 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub n_objects: usize,
    pub fns_per_object: usize,
}

impl Shape {
    pub fn new(n_objects: usize, fns_per_object: usize) -> Result<Self> {
        ensure!(n_objects >= 1, "the synthetic workload needs at least one object");
        ensure!(fns_per_object >= 2, "the synthetic workload needs at least two functions per object");
        ensure!(
            n_objects <= 100_000 && fns_per_object <= 1_000_000,
            "synthetic workload of {n_objects} x {fns_per_object} functions is unreasonably large"
        );
        Ok(Self { n_objects, fns_per_object })
    }

    pub fn total_functions(&self) -> usize {
        self.n_objects * self.fns_per_object
    }

    pub fn leaves(&self) -> usize {
        self.fns_per_object.div_ceil(2)
    }

    pub fn is_leaf(&self, j: usize) -> bool {
        j < self.leaves()
    }

    pub fn next(&self, i: usize) -> usize {
        (i + 1) % self.n_objects
    }

    pub fn direct_callee(&self, j: usize) -> usize {
        (j * 7) % self.leaves()
    }

    pub fn indirect_callee(&self, j: usize) -> usize {
        (j * 3) % self.leaves()
    }

    pub fn leaf_multiplier(&self, i: usize, j: usize) -> u64 {
        (mix(((i as u64) << 32) | j as u64) & 0xffff) | 1
    }

    pub fn leaf_addend(&self, i: usize, j: usize) -> u64 {
        mix(((i as u64) << 32) | j as u64) >> 40
    }

    pub fn weight(&self, i: usize) -> u64 {
        mix(0xdead_beef_0000_0000 ^ i as u64) >> 20
    }

    pub fn object_name(&self, i: usize) -> String {
        format!("rivet synth object {i}")
    }

    pub fn sum_argument(&self, i: usize, j: usize) -> u64 {
        (i * self.fns_per_object + j) as u64
    }

    /// How many times the callers run, hence the final value of the thread-local counter.
    pub fn caller_invocations(&self) -> u64 {
        (self.n_objects * (self.fns_per_object - self.leaves())) as u64
    }

    fn leaf_value(&self, i: usize, j: usize, x: u64) -> u64 {
        x.wrapping_mul(self.leaf_multiplier(i, j)).wrapping_add(self.leaf_addend(i, j))
    }

    fn function_value(&self, i: usize, j: usize, x: u64) -> u64 {
        if self.is_leaf(j) {
            return self.leaf_value(i, j, x);
        }
        let n = self.next(i);
        let direct = self.leaf_value(n, self.direct_callee(j), x);
        let indirect = self.leaf_value(n, self.indirect_callee(j), x.wrapping_add(j as u64));
        direct.wrapping_add(indirect.wrapping_mul(3)).wrapping_add(self.weight(n))
    }

    fn object_sum(&self, i: usize) -> u64 {
        let functions = (0..self.fns_per_object)
            .fold(0u64, |s, j| s.wrapping_mul(31).wrapping_add(self.function_value(i, j, self.sum_argument(i, j))));
        functions.wrapping_add(self.object_name(i).len() as u64)
    }

    /// The checksum `main` prints.
    pub fn expected_checksum(&self) -> u64 {
        let sums = (0..self.n_objects).fold(0u64, |t, i| t.wrapping_mul(1_000_003).wrapping_add(self.object_sum(i)));
        sums.wrapping_add(self.caller_invocations())
    }
}

/// splitmix64's finaliser: cheap, well-mixed constants from indices.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Symbol names shared by the emitter and anyone inspecting the objects.
pub mod symbols {
    pub const COUNTER: &str = "rivet_synth_call_counter";

    pub fn function(i: usize, j: usize) -> String {
        format!("rivet_synth_o{i}_f{j}")
    }
    pub fn table(i: usize) -> String {
        format!("rivet_synth_o{i}_table")
    }
    pub fn descriptor(i: usize) -> String {
        format!("rivet_synth_o{i}_desc")
    }
    pub fn name_string(i: usize) -> String {
        format!("rivet_synth_o{i}_name")
    }
    pub fn object_sum(i: usize) -> String {
        format!("rivet_synth_o{i}_sum")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_degenerate_shapes() {
        assert!(Shape::new(0, 10).is_err());
        assert!(Shape::new(3, 1).is_err());
        assert!(Shape::new(1, 2).is_ok());
    }

    #[test]
    fn checksum_depends_on_the_shape() {
        let small = Shape::new(2, 4).unwrap();
        assert_eq!(small.expected_checksum(), Shape::new(2, 4).unwrap().expected_checksum());
        assert_ne!(small.expected_checksum(), Shape::new(2, 6).unwrap().expected_checksum());
        assert_eq!(small.leaves(), 2);
        assert_eq!(small.caller_invocations(), 4);
    }
}
