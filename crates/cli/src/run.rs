//! `rramsim run`: map a network onto an architecture and simulate it.

use clap::{Args, ValueEnum};
use rramsim_engine::{SimOptions, SimResult, simulate};
use rramsim_graph::Network;
use rramsim_hw::ArchParams;
use rramsim_map::{Mapping, MappingOptions, Offload, Placement, Replication, map_network};
use serde::Serialize;

use std::path::PathBuf;

use crate::arch::load_arch;
use crate::baseline;
use crate::error::{CliError, CliResult};
use crate::faults::{
    LayerFaultRow, OriginReport, RunFaultArgs, layer_rows, layer_table, origin_report, run_fault_map, run_layer_stats,
};
use crate::output::{Align, Format, Table, thousands};
use crate::trace::{FilterArgs, TraceContext, config_hash, simulate_traced};
use crate::workload::WorkloadArgs;

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
    /// Architecture: a preset name (isaac, neurosim-8b) or a `.toml` file.
    #[arg(long)]
    pub arch: String,
    #[command(flatten)]
    pub workload: RunWorkload,
    /// Inputs simulated back to back.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
    #[arg(long, value_enum, default_value_t = ReplicationArg::Balanced)]
    pub replication: ReplicationArg,
    /// Layers on the fault-free digital unit: all-rram, pointwise, all-digital,
    /// layers=NAME,NAME,… or auto[:F] (needs a fault map; see README).
    #[arg(long, default_value = "all-rram")]
    pub offload: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
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
    pub fn load(&self) -> CliResult<Network> {
        WorkloadArgs { workload: self.workload.clone(), widen: self.widen, shortcut_kernel: self.shortcut_kernel }
            .load()
    }
}

#[derive(Debug, Serialize)]
pub struct LayerRow {
    pub name: String,
    pub op: &'static str,
    /// `rram` (crossbars), `tile` (tile ALU), `fused` or `view` (no work of its own).
    pub target: &'static str,
    pub crossbars: u64,
    pub replicas: u32,
    pub utilization: Option<f64>,
    pub start_cycle: u64,
    pub end_cycle: u64,
    pub cycles: u64,
    pub macs: u64,
    pub energy_pj: f64,
    /// The layer's dynamic energy per component (leakage is reported for the run).
    pub energy_by_component: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct RunReport {
    pub arch: String,
    pub workload: String,
    pub batch: u32,
    pub replication: &'static str,
    pub offload: String,
    pub clock_ghz: f64,
    pub total_cycles: u64,
    pub latency_ns: f64,
    pub first_image_cycles: u64,
    pub cycles_per_image: f64,
    pub throughput_images_per_s: f64,
    pub energy_pj: f64,
    pub energy_per_image_pj: f64,
    pub energy_by_component: serde_json::Map<String, serde_json::Value>,
    pub macs: u64,
    pub tops_per_w: f64,
    pub crossbars: u64,
    pub pes: u32,
    pub tiles: u32,
    pub chips: u32,
    pub digital_utilization: f64,
    pub events: u64,
    pub layers: Vec<LayerRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<RunFaults>,
}

/// Fault statistics of a run with a fault map.
#[derive(Debug, Serialize)]
pub struct RunFaults {
    pub convention: &'static str,
    pub origin: OriginReport,
    pub fault_model: &'static str,
    pub layers: Vec<LayerFaultRow>,
}

/// An offload policy as given on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum OffloadSpec {
    Fixed(Offload),
    /// Fault-aware: offload the layers with the largest fault-induced weight error
    /// while the digital unit's cycles stay within `budget` × the all-RRAM cycles
    /// per image.
    Auto {
        budget: f64,
    },
}

impl OffloadSpec {
    pub fn parse(text: &str) -> CliResult<Self> {
        let bad = || {
            CliError::input(format!(
                "--offload: unknown policy `{text}`; expected all-rram, pointwise, all-digital, layers=NAME,… or auto[:F]"
            ))
        };
        Ok(match text {
            "all-rram" => OffloadSpec::Fixed(Offload::AllRram),
            "pointwise" => OffloadSpec::Fixed(Offload::Pointwise),
            "all-digital" => OffloadSpec::Fixed(Offload::AllDigital),
            "auto" => OffloadSpec::Auto { budget: 0.5 },
            t if t.starts_with("auto:") => {
                let f: f64 = t[5..].parse().map_err(|_| bad())?;
                if !(f.is_finite() && f > 0.0) {
                    return Err(CliError::input(format!("--offload: auto budget must be positive, got {f}")));
                }
                OffloadSpec::Auto { budget: f }
            }
            t if t.starts_with("layers=") => {
                let names: Vec<String> = t[7..]
                    .trim_matches(['[', ']'])
                    .split([',', '+'])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if names.is_empty() {
                    return Err(CliError::input("--offload: layers= needs at least one layer name"));
                }
                OffloadSpec::Fixed(Offload::Layers(names))
            }
            _ => return Err(bad()),
        })
    }
}

/// Resolves `auto` to a layer list using the fault map's per-layer error on the
/// all-RRAM mapping and the digital unit's cycles per layer.
pub fn resolve_offload(
    spec: &OffloadSpec,
    net: &Network,
    arch: &ArchParams,
    replication: Replication,
    faults: Option<&rramsim_fault::FaultMap>,
    model: rramsim_fault::FaultModel,
) -> CliResult<Offload> {
    let budget = match spec {
        OffloadSpec::Fixed(o) => return Ok(o.clone()),
        OffloadSpec::Auto { budget } => *budget,
    };
    let Some(map) = faults else {
        return Err(CliError::input("--offload auto ranks layers by their faults: give --faults or --fault-rate"));
    };
    let (rram, result) = simulate_network(net, arch, &MappingOptions::rram(replication), 1)?;
    let stats = run_layer_stats(net, arch, &rram, map, model)?;
    let all_digital = map_network(net, arch, &MappingOptions { replication, offload: Offload::AllDigital })
        .map_err(CliError::input)?;
    let candidates: Vec<_> = stats
        .iter()
        .map(|s| {
            let cycles = match all_digital.layer(s.layer).placement {
                Placement::Digital { cycles, .. } => cycles,
                _ => u64::MAX / 4,
            };
            // Total relative weight error of the layer over its replicas.
            (s.layer, s.mean_rel_dw * s.weights as f64, cycles)
        })
        .collect();
    let budget_cycles = (budget * result.cycles_per_image()) as u64;
    let chosen = rramsim_map::auto_offload(&candidates, budget_cycles);
    Ok(Offload::Layers(chosen.iter().map(|&id| net.layer(id).name.clone()).collect()))
}

/// Maps and simulates; the one path every command that simulates goes through.
pub fn simulate_network(
    net: &Network,
    arch: &ArchParams,
    options: &MappingOptions,
    batch: u32,
) -> CliResult<(Mapping, SimResult)> {
    let mapping = map_network(net, arch, options).map_err(CliError::input)?;
    let result = simulate(net, arch, &mapping, SimOptions { batch });
    Ok((mapping, result))
}

pub fn build_report(
    net: &Network,
    arch: &ArchParams,
    mapping: &Mapping,
    result: &SimResult,
    workload: &str,
    batch: u32,
) -> RunReport {
    let energy = result.energy(arch).0;
    let macs: u64 = result.layers.iter().map(|l| l.macs).sum();
    let mut by_component = serde_json::Map::new();
    for (c, e) in result.energy_by_component(arch) {
        by_component.insert(c.name().to_owned(), serde_json::json!(e.0));
    }
    let layers = net
        .ids()
        .map(|id| {
            let l = &result.layers[id.0];
            let m = mapping.layer(id);
            let target = crate::trace::target_name(&m.placement);
            let utilization = match &m.placement {
                Placement::Crossbars { layout, .. } => Some(layout.utilization),
                _ => None,
            };
            LayerRow {
                name: net.layer(id).name.clone(),
                op: net.layer(id).op.kind_name(),
                target,
                crossbars: m.crossbars(),
                replicas: m.replicas(),
                utilization,
                start_cycle: l.start.get(),
                end_cycle: l.end.get(),
                cycles: l.span().get(),
                macs: l.macs,
                energy_pj: arch.energy.energy(&l.actions).0,
                energy_by_component: arch
                    .energy
                    .by_component(&l.actions)
                    .into_iter()
                    .filter(|(_, e)| e.0 > 0.0)
                    .map(|(c, e)| (c.name().to_owned(), serde_json::json!(e.0)))
                    .collect(),
            }
        })
        .collect();
    let cycles_per_image = result.cycles_per_image();
    RunReport {
        arch: arch.name.clone(),
        workload: workload.to_owned(),
        batch,
        replication: mapping.replication.name(),
        offload: "all-rram".to_owned(),
        clock_ghz: arch.clock.ghz(),
        total_cycles: result.total_cycles.get(),
        latency_ns: result.latency(arch).0,
        first_image_cycles: result.first_latency().get(),
        cycles_per_image,
        throughput_images_per_s: arch.clock.ghz() * 1e9 / cycles_per_image,
        energy_pj: energy,
        energy_per_image_pj: energy / f64::from(batch),
        energy_by_component: by_component,
        macs,
        // 2 ops per MAC; ops per pJ = TOPS/W.
        tops_per_w: 2.0 * macs as f64 / energy,
        crossbars: mapping.crossbars_used,
        pes: mapping.pes_used,
        tiles: mapping.tiles_used,
        chips: mapping.chips_used,
        digital_utilization: result.digital_utilization(),
        events: result.events,
        layers,
        faults: None,
    }
}

pub fn run(args: RunArgs) -> CliResult<()> {
    let (arch, warnings) = load_arch(&args.arch)?;
    for w in &warnings {
        tracing::warn!("{}: {}", w.key, w.message);
    }
    let net = args.workload.load()?;
    let spec = OffloadSpec::parse(&args.offload)?;
    let replication: Replication = args.replication.into();
    let model = args.faults.fault_model.into();
    // The fault map covers the chips of the all-RRAM mapping (the largest).
    let rram = map_network(&net, &arch, &MappingOptions::rram(replication)).map_err(CliError::input)?;
    let fault_map = run_fault_map(&args.faults, &arch, &rram)?;
    let offload = resolve_offload(&spec, &net, &arch, replication, fault_map.as_ref(), model)?;
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        return Err(CliError::input(format!("--tolerance must be a non-negative number, got {}", args.tolerance)));
    }
    // Read the baseline before simulating: a bad file fails fast.
    let base = args.check_baseline.as_deref().map(baseline::load).transpose()?;
    if args.trace.is_none() && args.trace_filter != FilterArgs::default() {
        return Err(CliError::input("--trace-layer/--trace-window/--trace-level filter a trace: give --trace FILE"));
    }
    let options = MappingOptions { replication, offload };
    let seed = fault_map.as_ref().and(args.faults.seed);
    let hash = config_hash(&net, &arch, &options, args.batch, seed);
    let workload = &args.workload.workload;
    let (mapping, result) = match &args.trace {
        None => simulate_network(&net, &arch, &options, args.batch)?,
        Some(path) => {
            let mapping = map_network(&net, &arch, &options).map_err(CliError::input)?;
            let ctx = TraceContext {
                net: &net,
                arch: &arch,
                mapping: &mapping,
                workload,
                batch: args.batch,
                offload: options.offload.name(),
                config_hash: hash,
                seed,
            };
            let (result, events) = simulate_traced(&ctx, path, &args.trace_filter)?;
            tracing::info!("trace {}: {events} events", path.display());
            (mapping, result)
        }
    };
    let mut report = build_report(&net, &arch, &mapping, &result, workload, args.batch);
    report.offload = options.offload.name();
    let now = baseline::baseline_of(&net, &arch, &result, workload, args.batch, &report.offload, hash);
    if let Some(map) = fault_map {
        let stats = run_layer_stats(&net, &arch, &mapping, &map, model)?;
        report.faults = Some(RunFaults {
            convention: rramsim_fault::CONVENTION,
            origin: origin_report(&map.origin),
            fault_model: model.name(),
            layers: layer_rows(&net, &stats),
        });
    }
    print!("{}", render(&report, args.format)?);
    if let Some(path) = &args.save_baseline {
        baseline::save(path, &now)?;
        eprintln!("baseline {}: saved ({} layers, {} cycles)", path.display(), now.layers.len(), now.total_cycles);
    }
    if let (Some(path), Some(base)) = (&args.check_baseline, &base) {
        let moved = baseline::compare(base, &now, args.tolerance);
        eprint!("{}", baseline::report(path, base, &now, args.tolerance, &moved));
        if !moved.is_empty() {
            return Err(CliError::Differs(format!(
                "{} figure(s) moved beyond tolerance {} versus {}",
                moved.len(),
                args.tolerance,
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
                "name,op,target,crossbars,replicas,utilization,start_cycle,end_cycle,cycles,macs,energy_pj\n",
            );
            for l in &r.layers {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{}\n",
                    crate::workload::csv_field(&l.name),
                    l.op,
                    l.target,
                    l.crossbars,
                    l.replicas,
                    l.utilization.map(|u| format!("{u:.6}")).unwrap_or_default(),
                    l.start_cycle,
                    l.end_cycle,
                    l.cycles,
                    l.macs,
                    l.energy_pj
                ));
            }
            Ok(out)
        }
        Format::Table => {
            let mut out = format!(
                "{} on {} (batch {}, replication {}, offload {})\n\
                 cycles: {} ({:.3} us at {} GHz); first image {} cycles; {:.1} images/s\n\
                 energy: {:.3} uJ ({:.3} uJ per image); {:.3} TOPS/W over {} MACs\n\
                 hardware: {} crossbars in {} PEs, {} tiles, {} chip(s); digital unit busy {:.1}%; {} events\n\n",
                r.workload,
                r.arch,
                r.batch,
                r.replication,
                r.offload,
                thousands(r.total_cycles),
                r.latency_ns / 1e3,
                r.clock_ghz,
                thousands(r.first_image_cycles),
                r.throughput_images_per_s,
                r.energy_pj / 1e6,
                r.energy_per_image_pj / 1e6,
                r.tops_per_w,
                thousands(r.macs),
                thousands(r.crossbars),
                thousands(u64::from(r.pes)),
                r.tiles,
                r.chips,
                100.0 * r.digital_utilization,
                thousands(r.events)
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
                ("energy nJ", Align::Right),
            ]);
            for l in r.layers.iter().filter(|l| l.target != "view") {
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
                    format!("{:.2}", l.energy_pj / 1e3),
                ]);
            }
            out.push_str(&t.render());
            let mut c =
                Table::new(&[("component", Align::Left), ("energy nJ", Align::Right), ("share%", Align::Right)]);
            for (name, v) in &r.energy_by_component {
                let e = v.as_f64().unwrap_or(0.0);
                c.row(vec![name.clone(), format!("{:.2}", e / 1e3), format!("{:.1}", 100.0 * e / r.energy_pj)]);
            }
            out.push('\n');
            out.push_str(&c.render());
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
