//! `rramsim run`: map a network onto an architecture and simulate it.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use rramsim::model::Replication;
use rramsim::{OffloadSpec, RunOptions, RunReport, WorkloadSpec};

use crate::arch::load_arch;
use crate::baseline;
use crate::error::{CliError, CliResult};
use crate::faults::{RunFaultArgs, layer_table};
use crate::output::{Align, Format, Table, csv_field, thousands};
use crate::trace::FilterArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplicationArg {
    /// One copy of every layer.
    None,
    /// Replicate the slowest layers to balance the pipeline (ISAAC-style).
    Balanced,
}

impl From<ReplicationArg> for Replication {
    fn from(r: ReplicationArg) -> Self {
        match r {
            ReplicationArg::None => Replication::None,
            ReplicationArg::Balanced => Replication::Balanced,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Architecture: a preset name (isaac, neurosim-8b, puma) or a `.toml` file.
    #[arg(long)]
    pub arch: String,
    #[command(flatten)]
    pub workload: RunWorkload,
    /// Inputs simulated back to back.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
    /// How layers are replicated on the crossbars.
    #[arg(long, value_enum, default_value_t = ReplicationArg::Balanced)]
    pub replication: ReplicationArg,
    /// Most replicas of any one layer (balanced replication); default: no limit
    /// but one per output pixel.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_replicas: Option<u32>,
    /// Chips the mapping may use (at most the node's `node.chips`), which balanced
    /// replication fills; default: the chips one unreplicated copy needs.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub chip_budget: Option<u32>,
    /// Layers on the fault-free digital unit: all-rram, pointwise, all-digital,
    /// layers=NAME,NAME,… or auto[:F] (needs a fault map; see README).
    #[arg(long, default_value = "all-rram")]
    pub offload: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Price fault-aware remapping (`eval --remap`): per-crossbar index tables,
    /// their reads, the architecture's spare rows/columns.
    #[arg(long, value_enum, default_value_t = crate::faults::RemapArg::None)]
    pub remap: crate::faults::RemapArg,
    #[command(flatten)]
    pub faults: RunFaultArgs,
    /// Write a binary trace of every event (see `rramsim trace`); streamed, so
    /// memory stays bounded. Filter it with --trace-layer/-window/-level.
    #[arg(long, value_name = "FILE.rtrace")]
    pub trace: Option<PathBuf>,
    #[command(flatten)]
    pub trace_filter: FilterArgs,
    /// Lock this run's figures (total and per-layer cycles, action counts,
    /// energy) in a JSON baseline file.
    #[arg(long, value_name = "FILE.json")]
    pub save_baseline: Option<PathBuf>,
    /// Compare this run with a baseline file; exit 3 with a per-layer diff if a
    /// figure moved beyond --tolerance.
    #[arg(long, value_name = "FILE.json")]
    pub check_baseline: Option<PathBuf>,
    /// Relative tolerance of --check-baseline (0: exact).
    #[arg(long, default_value_t = 0.0, requires = "check_baseline", allow_negative_numbers = true)]
    pub tolerance: f64,
}

/// `--workload` with the transform flags (the same as `workload show` takes).
#[derive(Debug, Args)]
pub struct RunWorkload {
    /// A zoo name, a workload `.toml` file or an `.onnx` file.
    #[arg(long = "workload")]
    pub workload: String,
    /// Scale every hidden layer's channel count by this factor.
    #[arg(long, value_name = "FACTOR", allow_negative_numbers = true)]
    pub widen: Option<f64>,
    /// Replace 1x1 projection shortcuts by KxK convolutions (K odd).
    #[arg(long, value_name = "K")]
    pub shortcut_kernel: Option<usize>,
}

impl RunWorkload {
    pub fn spec(&self) -> WorkloadSpec {
        WorkloadSpec { source: self.workload.clone(), widen: self.widen, shortcut_kernel: self.shortcut_kernel }
    }
}

pub fn run(args: RunArgs) -> CliResult<()> {
    // Outputs are checked before any work: never an input, never each other.
    let inputs: Vec<&Path> = [Some(Path::new(&args.arch)), Some(Path::new(&args.workload.workload))]
        .into_iter()
        .chain([args.faults.faults.as_deref(), args.check_baseline.as_deref()])
        .flatten()
        .collect();
    let outputs = [("--trace", args.trace.as_deref()), ("--save-baseline", args.save_baseline.as_deref())];
    let outputs: Vec<(&str, &Path)> = outputs.into_iter().filter_map(|(w, p)| Some((w, p?))).collect();
    for (what, path) in &outputs {
        rramsim::io::check_output(what, path, &inputs)?;
    }
    rramsim::io::check_distinct_outputs(&outputs)?;
    let arch = load_arch(&args.arch)?;
    let options = RunOptions {
        offload: OffloadSpec::parse(&args.offload)?,
        replication: args.replication.into(),
        budget: rramsim::model::ReplicationBudget { max_replicas: args.max_replicas, chips: args.chip_budget },
        batch: args.batch,
        faults: args.faults.spec()?,
        remap: args.remap.into(),
    };
    let tolerance = rramsim::baseline::check_tolerance(args.tolerance)?;
    // Read the baseline before simulating: a bad file fails fast.
    let base = args.check_baseline.as_deref().map(baseline::load).transpose()?;
    let filter = args.trace_filter.spec();
    if args.trace.is_none() && !filter.is_empty() {
        return Err(CliError::input("--trace-layer/--trace-window/--trace-level filter a trace: give --trace FILE"));
    }
    let workload = args.workload.spec();
    let run = rramsim::prepare(&arch, workload.load()?, &workload.label(), &options)?;
    let outcome = match &args.trace {
        None => run.simulate()?,
        Some(path) => {
            let (outcome, events) = run.simulate_traced(path, &filter)?;
            tracing::info!("trace {}: {events} events", path.display());
            outcome
        }
    };
    let report = run.report(&outcome)?;
    let now = rramsim::baseline::baseline_of(&run, &outcome);
    let mut text = render(&report, args.format)?;
    if args.format == Format::Table {
        // Area is the architecture's, not the run's: the chip and the chips this mapping uses.
        let chip = arch.params.chip_area().0;
        let used = chip * f64::from(report.metrics.chips);
        let at = text.find("\n\n").map_or(text.len(), |i| i + 1);
        text.insert_str(
            at,
            &format!("area: {chip:.2} mm2 per chip, {used:.2} mm2 for the {} chip(s) used\n", report.metrics.chips),
        );
    }
    print!("{text}");
    if let Some(path) = &args.save_baseline {
        baseline::save(path, &now)?;
        eprintln!("baseline {}: saved ({} layers, {} cycles)", path.display(), now.layers.len(), now.total_cycles);
    }
    if let (Some(path), Some(base)) = (&args.check_baseline, &base) {
        let moved = rramsim::baseline::compare(base, &now, tolerance);
        eprint!("{}", baseline::report(path, base, &now, tolerance, &moved));
        if !moved.is_empty() {
            return Err(CliError::Differs(format!(
                "{} figure(s) moved beyond tolerance {} versus {}",
                moved.len(),
                tolerance,
                path.display()
            )));
        }
    }
    Ok(())
}

fn render(r: &RunReport, format: Format) -> CliResult<String> {
    match format {
        Format::Json => Ok(serde_json::to_string_pretty(r).map_err(CliError::internal)? + "\n"),
        Format::Csv => {
            let mut out = String::from(
                "name,op,target,crossbars,replicas,utilization,start_cycle,end_cycle,cycles,macs,energy_pj,tiles,chips,offchip_bytes\n",
            );
            for l in &r.layers {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    csv_field(&l.name),
                    l.op,
                    l.target,
                    l.crossbars,
                    l.replicas,
                    l.utilization.map(|u| format!("{u:.6}")).unwrap_or_default(),
                    l.start_cycle,
                    l.end_cycle,
                    l.cycles,
                    l.macs,
                    l.energy_pj,
                    l.tiles,
                    chip_list(&l.chips),
                    l.offchip_bytes
                ));
            }
            Ok(out)
        }
        Format::Table => {
            let mut out = format!(
                "{} on {} (batch {}, replication {}, budget {}, offload {})\n\
                 cycles: {} ({:.3} us at {} GHz); first image {} cycles ({:.3} us)\n\
                 steady state: {:.0} cycles per image, {:.1} images/s (simulated over {} images; bound {:.0} cycles, {}); batch {:.1} images/s\n\
                 energy: {:.3} uJ ({:.3} uJ dynamic + {:.3} uJ static; {:.3} uJ per image; steady state {:.3} uJ per image); {:.3} TOPS/W over {} MACs\n\
                 hardware: {} crossbars in {} PEs, {} tiles, {} chip(s); digital unit busy {:.1}%; {} events\n\n",
                r.workload,
                r.arch,
                r.batch,
                r.replication,
                r.replication_budget,
                r.offload,
                thousands(r.metrics.total_cycles),
                r.metrics.run_ns / 1e3,
                r.clock_ghz,
                thousands(r.metrics.first_image_cycles),
                r.metrics.latency_ns / 1e3,
                r.metrics.steady_state_cycles_per_image,
                r.metrics.throughput_images_per_s,
                r.metrics.steady_state_images,
                r.metrics.steady_state_bound_cycles_per_image,
                r.metrics.bottleneck,
                r.metrics.measured_images_per_s,
                r.metrics.energy_pj / 1e6,
                r.metrics.dynamic_energy_pj / 1e6,
                r.metrics.static_energy_pj / 1e6,
                r.metrics.energy_per_image_pj / 1e6,
                r.metrics.steady_state_energy_per_image_pj / 1e6,
                r.metrics.tops_per_w,
                thousands(r.metrics.macs),
                thousands(r.metrics.crossbars),
                thousands(u64::from(r.metrics.pes)),
                r.metrics.tiles,
                r.metrics.chips,
                100.0 * r.metrics.digital_utilization,
                thousands(r.metrics.events)
            );
            let mut t = Table::new(&[
                ("layer", Align::Left),
                ("op", Align::Left),
                ("target", Align::Left),
                ("xbars", Align::Right),
                ("repl", Align::Right),
                ("util%", Align::Right),
                ("start", Align::Right),
                ("end", Align::Right),
                ("cycles", Align::Right),
                ("bound", Align::Left),
                ("energy nJ", Align::Right),
                ("tiles", Align::Right),
                ("chips", Align::Left),
                ("offchip B", Align::Right),
            ]);
            // Every layer, views (flatten, reshape) and fused activations included.
            for l in &r.layers {
                t.row(vec![
                    l.name.clone(),
                    l.op.to_owned(),
                    l.target.to_owned(),
                    thousands(l.crossbars),
                    if l.replicas > 0 { l.replicas.to_string() } else { String::new() },
                    l.utilization.map(|u| format!("{:.1}", u * 100.0)).unwrap_or_default(),
                    thousands(l.start_cycle),
                    thousands(l.end_cycle),
                    thousands(l.cycles),
                    l.bound.unwrap_or_default().to_owned(),
                    format!("{:.2}", l.energy_pj / 1e3),
                    l.tiles.to_string(),
                    chip_list(&l.chips),
                    thousands(l.offchip_bytes),
                ]);
            }
            out.push_str(&t.render());
            out.push_str(
                "util%: weight cells used / cells of the layer's crossbars (layers on crossbars only); \
                 tiles, chips: where the layer's work sits (an ALU layer's on its producer's replica tiles); offchip B: bytes it sends between chips\n",
            );
            out.push_str(
                "bound: the resource of a crossbar layer busy for at least half its span, or input (it mostly waited)",
            );
            let mut bounds: Vec<(&str, usize)> = Vec::new();
            for b in r.layers.iter().filter_map(|l| l.bound) {
                match bounds.iter_mut().find(|(n, _)| *n == b) {
                    Some((_, c)) => *c += 1,
                    None => bounds.push((b, 1)),
                }
            }
            if !bounds.is_empty() {
                let list: Vec<String> = bounds.iter().map(|(n, c)| format!("{c} {n}")).collect();
                out.push_str(&format!(": {}", list.join(", ")));
            }
            out.push('\n');
            let mut c =
                Table::new(&[("component", Align::Left), ("energy nJ", Align::Right), ("share%", Align::Right)]);
            for (name, e) in &r.energy_by_component {
                let e = *e;
                c.row(vec![name.clone(), format!("{:.2}", e / 1e3), format!("{:.1}", 100.0 * e / r.metrics.energy_pj)]);
            }
            out.push('\n');
            out.push_str(&c.render());
            out.push_str(&format!(
                "\nbuffers: peak {} B; {} stall cycles; {} B spilled off-chip\n",
                thousands(r.metrics.peak_buffer_bytes),
                thousands(r.metrics.buffer_stall_cycles),
                thousands(r.metrics.spilled_bytes)
            ));
            let mut b = Table::new(&[
                ("buffer", Align::Left),
                ("capacity B", Align::Right),
                ("peak B", Align::Right),
                ("peak%", Align::Right),
                ("min B", Align::Right),
                ("spilled", Align::Right),
            ]);
            for row in &r.buffers {
                b.row(vec![
                    row.buffer.clone(),
                    thousands(row.capacity_bytes),
                    thousands(row.peak_bytes),
                    format!("{:.1}", 100.0 * row.peak_bytes as f64 / row.capacity_bytes.max(1) as f64),
                    thousands(row.min_bytes),
                    row.spilled_edges.to_string(),
                ]);
            }
            out.push_str(&b.render());
            if let Some(m) = &r.remap {
                out.push_str(&format!(
                    "\nremap {}: {} spare rows, {} spare cols per crossbar; index tables {} + {} bits per entry, {} B per crossbar, \
                     {:.5} mm2 over {} crossbars; spare cells {:.5} mm2; table reads {:.3} nJ, spare-cell reads {:.3} nJ; \
                     {} extra crossbars, {} extra cycles\n",
                    m.mode,
                    m.spare_rows,
                    m.spare_cols,
                    m.row_index_bits,
                    m.col_index_bits,
                    m.table_bytes_per_crossbar,
                    m.table_area_mm2,
                    thousands(m.crossbars),
                    m.spare_area_mm2,
                    m.table_energy_pj / 1e3,
                    m.spare_read_energy_pj / 1e3,
                    m.extra_crossbars,
                    m.extra_cycles
                ));
            }
            if let Some(f) = &r.faults {
                out.push_str(&format!(
                    "\nfaults ({} model; {}):\n{}",
                    f.fault_model,
                    f.convention,
                    layer_table(&f.layers)
                ));
            }
            Ok(out)
        }
    }
}

/// Chips as the table and CSV print them: `3`, `0-2` (a run), or `0;4` (separate).
fn chip_list(chips: &[u32]) -> String {
    match chips {
        [] => String::new(),
        [c] => c.to_string(),
        [a, .., b] if (*b - *a) as usize + 1 == chips.len() => format!("{a}-{b}"),
        _ => chips.iter().map(u32::to_string).collect::<Vec<_>>().join(";"),
    }
}
