//! What machine the benchmarks ran on: CPU model, cores, memory, kernel, date.

use std::process::Command;

use serde::{Deserialize, Serialize};

use super::process::stdout_of;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MachineInfo {
    pub cpu_model: String,
    pub nproc: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub date_utc: String,
    /// /proc/loadavg's 1-minute figure when the step started: other work on the machine.
    #[serde(default)]
    pub load_average: Option<f64>,
}

impl MachineInfo {
    pub fn probe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, model)| model.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0.0);
        Self {
            cpu_model,
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: memory_kib / (1024.0 * 1024.0),
            kernel: stdout_of(Command::new("uname").arg("-r")).unwrap_or_else(|_| "unknown".into()),
            date_utc: now_utc(),
            load_average: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|text| text.split_whitespace().next().and_then(|load| load.parse().ok())),
        }
    }
}

/// The current date and time, `YYYY-MM-DD HH:MM UTC`.
pub fn now_utc() -> String {
    stdout_of(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_else(|_| "unknown".into())
}
