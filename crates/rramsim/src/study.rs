//! The system-level cost study of the drop-connect work: runtime and energy of
//! widened networks, of offload policies and of shortcut kernels, against width
//! 1.0, everything on RRAM, 1x1 shortcuts. Configurations run in parallel; rows
//! come in a fixed order.

use rayon::prelude::*;
use serde::Serialize;

use crate::arch::Arch;
use crate::error::Result;
use crate::experiment::{RunOptions, prepare};
use crate::options::{FaultSpec, OffloadSpec, check_width};
use crate::workload::WorkloadSpec;

use rramsim_map::Replication;

/// What to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct StudySpec {
    /// A zoo name, workload file or workload text.
    pub workload: String,
    /// Width multipliers.
    pub widths: Vec<f64>,
    /// Offload policies as written (`layers=` names separated by `+`).
    pub offload: Vec<String>,
    /// Shortcut kernel sizes (1 keeps the 1x1 projections).
    pub shortcut_kernels: Vec<usize>,
    pub replication: Replication,
    pub batch: u32,
    pub faults: Option<FaultSpec>,
}

/// One configuration's figures.
#[derive(Debug, Clone, Serialize)]
pub struct StudyRow {
    pub width: f64,
    pub offload: String,
    pub shortcut_kernel: usize,
    /// The layers the policy put on the digital unit.
    pub digital_layers: Vec<String>,
    pub total_cycles: u64,
    pub latency_ns: f64,
    pub throughput_images_per_s: f64,
    pub energy_pj: f64,
    /// Marginal energy of one more image in the steady state.
    pub steady_state_energy_per_image_pj: f64,
    pub crossbars: u64,
    pub tiles: u32,
    pub digital_utilization: f64,
    pub macs: u64,
    /// Change of the steady-state time per image (1 / throughput) against
    /// the baseline.
    pub runtime_change_pct: f64,
    pub energy_change_pct: f64,
}

/// The study (its `--format json` document).
#[derive(Debug, Clone, Serialize)]
pub struct StudyReport {
    pub arch: String,
    pub workload: String,
    pub batch: u32,
    pub baseline: String,
    pub rows: Vec<StudyRow>,
}

struct Point {
    width: f64,
    offload: String,
    kernel: usize,
}

/// Runs every (width, policy, shortcut kernel) configuration and the baseline.
pub fn run_study(arch: &Arch, spec: &StudySpec) -> Result<StudyReport> {
    crate::options::check_batch(u64::from(spec.batch))?;
    for &w in &spec.widths {
        check_width(w).map_err(|e| e.context("--widths"))?;
    }
    let policies: Vec<(String, OffloadSpec)> = spec
        .offload
        .iter()
        .map(|o| OffloadSpec::parse(&o.replace('+', ",")).map(|s| (o.clone(), s)))
        .collect::<Result<_>>()?;
    let mut points = vec![Point { width: 1.0, offload: "all-rram".into(), kernel: 1 }];
    for &width in &spec.widths {
        for (name, _) in &policies {
            for &kernel in &spec.shortcut_kernels {
                if !(width == 1.0 && name == "all-rram" && kernel == 1) {
                    points.push(Point { width, offload: name.clone(), kernel });
                }
            }
        }
    }
    let baseline_requested = spec.widths.contains(&1.0)
        && spec.offload.iter().any(|o| o == "all-rram")
        && spec.shortcut_kernels.contains(&1);
    let rows: Vec<StudyRow> = points
        .par_iter()
        .map(|p| {
            let workload =
                WorkloadSpec::new(spec.workload.clone()).widened(Some(p.width)).with_shortcut_kernel(Some(p.kernel));
            let net = workload.load()?;
            let options = RunOptions {
                offload: OffloadSpec::parse(&p.offload.replace('+', ","))?,
                replication: spec.replication,
                budget: Default::default(),
                batch: spec.batch,
                faults: spec.faults.clone(),
                ..Default::default()
            };
            let run = prepare(arch, net, &workload.label(), &options)?;
            let outcome = run.simulate()?;
            let m = &outcome.metrics;
            Ok(StudyRow {
                width: p.width,
                offload: p.offload.clone(),
                shortcut_kernel: p.kernel,
                digital_layers: run.digital_layers(),
                total_cycles: m.total_cycles,
                latency_ns: m.latency_ns,
                throughput_images_per_s: m.throughput_images_per_s,
                energy_pj: m.energy_pj,
                steady_state_energy_per_image_pj: m.steady_state_energy_per_image_pj,
                crossbars: m.crossbars,
                tiles: m.tiles,
                digital_utilization: m.digital_utilization,
                macs: m.macs,
                runtime_change_pct: 0.0,
                energy_change_pct: 0.0,
            })
        })
        .collect::<Result<_>>()?;
    // Steady state: time per image is 1 / the simulated steady-state
    // throughput; energy per image is the steady state's marginal energy.
    let (base_rate, base_energy) = (rows[0].throughput_images_per_s, rows[0].steady_state_energy_per_image_pj);
    let mut rows: Vec<StudyRow> = rows
        .into_iter()
        .map(|mut r| {
            r.runtime_change_pct = 100.0 * (base_rate / r.throughput_images_per_s - 1.0);
            r.energy_change_pct = 100.0 * (r.steady_state_energy_per_image_pj / base_energy - 1.0);
            r
        })
        .collect();
    if !baseline_requested {
        rows.remove(0);
    }
    Ok(StudyReport {
        arch: arch.params.name.clone(),
        workload: spec.workload.clone(),
        batch: spec.batch,
        baseline: "width 1.0, all-rram, shortcut kernel 1".into(),
        rows,
    })
}
