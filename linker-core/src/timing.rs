//! `--time`: wall and CPU time of each phase, printed to stderr at the end. CPU time counts
//! every thread, so CPU/wall shows how parallel a phase is.

use std::time::Instant;

pub struct Timer {
    enabled: bool,
    start: Instant,
    last: Instant,
    last_cpu: f64,
    laps: Vec<(&'static str, f64, f64)>,
}

/// User + system CPU time of the whole process so far, in ms.
fn process_cpu_ms() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer; the clock id is a constant the kernel knows.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

impl Timer {
    pub fn new(enabled: bool) -> Self {
        let now = Instant::now();
        Timer {
            enabled,
            start: now,
            last: now,
            last_cpu: if enabled { process_cpu_ms() } else { 0.0 },
            laps: Vec::new(),
        }
    }

    pub fn lap(&mut self, phase: &'static str) {
        if self.enabled {
            let (now, cpu) = (Instant::now(), process_cpu_ms());
            self.laps.push((phase, (now - self.last).as_secs_f64() * 1e3, cpu - self.last_cpu));
            (self.last, self.last_cpu) = (now, cpu);
        }
    }

    pub fn report(&self) {
        if !self.enabled {
            return;
        }
        eprintln!("rivet-ld: {:>9} {:>9}  phase", "wall ms", "cpu ms");
        for (phase, wall, cpu) in &self.laps {
            eprintln!("rivet-ld: {wall:9.2} {cpu:9.2}  {phase}");
        }
        eprintln!("rivet-ld: {:9.2} {:9.2}  total", self.start.elapsed().as_secs_f64() * 1e3, process_cpu_ms());
        if crate::huge_pages::advised() {
            eprintln!("rivet-ld: heap in transparent huge pages");
        }
    }
}
