//! The results data model, saved as JSON in `<work>/results/` so that `report` can
//! regenerate RESULTS.md and the charts without re-running anything.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::linker_id::LinkerId;
use super::linkers::LinkerVersion;
use super::machine::MachineInfo;

/// Timing and resource figures of one (workload, linker, threads) cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub runs: usize,
    pub median_s: f64,
    pub mean_s: f64,
    pub stddev_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    /// Mean user CPU time per run.
    pub user_s: f64,
    /// Mean system CPU time per run.
    pub system_s: f64,
    /// Highest max-RSS of a few separate runs under `/usr/bin/time -f %M`.
    pub peak_rss_kib: Option<u64>,
    pub output_bytes: Option<u64>,
}

/// What happened in one cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Outcome {
    Measured(Stats),
    /// The linker ran but failed, or its output failed verification (shown as "fails").
    Failed(String),
    /// The linker cannot take this workload or setting at all (e.g. Zig and ld options,
    /// GNU ld and threads), or is not installed.
    NotApplicable(String),
}

impl Outcome {
    pub fn stats(&self) -> Option<&Stats> {
        match self {
            Outcome::Measured(stats) => Some(stats),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    pub linker: LinkerId,
    pub threads: u32,
    pub outcome: Outcome,
    /// The exact command timed (for reproducing by hand).
    pub command: Option<String>,
    /// Row name when it is not just the linker (end-to-end configurations).
    #[serde(default)]
    pub label: Option<String>,
}

impl Cell {
    pub fn row_label(&self) -> String {
        self.label.clone().unwrap_or_else(|| self.linker.label().to_string())
    }
}

/// One workload (e.g. `rg-debug`, `synth-10k`) and all its cells.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadResult {
    pub name: String,
    pub description: String,
    /// Synthetic workloads: total functions; used as the x axis of the scaling chart.
    pub functions: Option<usize>,
    pub input_bytes: Option<u64>,
    pub input_files: Option<usize>,
    /// Why the whole workload could not run (e.g. the ripgrep build failed).
    pub error: Option<String>,
    pub cells: Vec<Cell>,
}

impl WorkloadResult {
    pub fn cell(&self, linker: LinkerId, threads: u32) -> Option<&Cell> {
        self.cells.iter().find(|c| c.linker == linker && c.threads == threads)
    }
}

/// Everything one step (`replay`, `synth` or `e2e`) measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepResults {
    pub step: String,
    pub machine: MachineInfo,
    pub linkers: Vec<LinkerVersion>,
    pub hyperfine: String,
    pub runs: u32,
    pub warmup: u32,
    pub notes: Vec<String>,
    pub workloads: Vec<WorkloadResult>,
}

impl StepResults {
    pub fn save(&self, results_dir: &Path) -> Result<()> {
        std::fs::create_dir_all(results_dir)?;
        let path = results_dir.join(format!("{}.json", self.step));
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("saved {}", path.display());
        Ok(())
    }

    /// `Ok(None)` when the step has never been run.
    pub fn load(results_dir: &Path, step: &str) -> Result<Option<Self>> {
        let path = results_dir.join(format!("{step}.json"));
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)?;
        let results = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        Ok(Some(results))
    }
}
