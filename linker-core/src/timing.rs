//! `--time`: wall time of each phase, printed to stderr at the end.

use std::time::Instant;

pub struct Timer {
    enabled: bool,
    start: Instant,
    last: Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Timer {
    pub fn new(enabled: bool) -> Self {
        let now = Instant::now();
        Timer { enabled, start: now, last: now, laps: Vec::new() }
    }

    pub fn lap(&mut self, phase: &'static str) {
        if self.enabled {
            let now = Instant::now();
            self.laps.push((phase, (now - self.last).as_secs_f64() * 1e3));
            self.last = now;
        }
    }

    pub fn report(&self) {
        if !self.enabled {
            return;
        }
        for (phase, ms) in &self.laps {
            eprintln!("rivet-ld: {ms:9.2} ms  {phase}");
        }
        eprintln!("rivet-ld: {:9.2} ms  total", self.start.elapsed().as_secs_f64() * 1e3);
    }
}
