//! `rramsim faults …`: generate, import, export and inspect stuck-at fault maps,
//! and the fault options of `rramsim run`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use rramsim_fault::{
    CONVENTION, Distribution, FaultMap, FaultModel, GenParams, Geometry, LayerFaultStats, Origin, crossbar_counts,
    generate, layer_stats, storage, summarize,
};
use rramsim_graph::Network;
use rramsim_hw::ArchParams;
use rramsim_map::{Mapping, MappingOptions, map_network};
use serde::Serialize;

use crate::arch::load_arch;
use crate::error::{CliError, CliResult};
use crate::output::{Align, Format, Table, thousands, write_atomic};
use crate::run::{ReplicationArg, RunWorkload};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DistributionArg {
    Uniform,
    Clustered,
    Rows,
    Cols,
}

impl From<DistributionArg> for Distribution {
    fn from(d: DistributionArg) -> Self {
        match d {
            DistributionArg::Uniform => Distribution::Uniform,
            DistributionArg::Clustered => Distribution::Clustered,
            DistributionArg::Rows => Distribution::Rows,
            DistributionArg::Cols => Distribution::Cols,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FaultModelArg {
    /// Stuck cells read their stuck level through the weight encoding.
    Cell,
    /// A weight with any faulty cell contributes zero (the drop-connect study).
    WeightZero,
}

impl From<FaultModelArg> for FaultModel {
    fn from(m: FaultModelArg) -> Self {
        match m {
            FaultModelArg::Cell => FaultModel::Cell,
            FaultModelArg::WeightZero => FaultModel::WeightZero,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum FaultsCommand {
    /// Generate a fault map for an architecture.
    Gen(GenArgs),
    /// Statistics of a fault map, per layer when a workload is given.
    Stats(StatsArgs),
    /// Build a fault map from a CSV list of faulty cells (tile,pe,crossbar,row,col,type).
    Import {
        csv: PathBuf,
        #[arg(long)]
        arch: String,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Write a fault map as a CSV list of faulty cells.
    Export {
        map: PathBuf,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Architecture: a preset name or a `.toml` file.
    #[arg(long)]
    pub arch: String,
    /// Expected fraction of faulty cells.
    #[arg(long)]
    pub rate: f64,
    /// Fraction of faults that are SA1.
    #[arg(long, default_value_t = 0.5)]
    pub sa1_fraction: f64,
    #[arg(long, value_enum, default_value_t = DistributionArg::Uniform)]
    pub distribution: DistributionArg,
    #[arg(long)]
    pub seed: u64,
    /// Chips to cover (default 1; the node's later chips need more).
    #[arg(long, default_value_t = 1)]
    pub chips: u32,
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    pub map: PathBuf,
    /// Architecture the map is for (needed with --workload).
    #[arg(long)]
    pub arch: Option<String>,
    /// A workload to map, for per-layer statistics.
    #[arg(long)]
    pub workload: Option<String>,
    #[arg(long, value_enum, default_value_t = ReplicationArg::Balanced)]
    pub replication: ReplicationArg,
    #[arg(long, value_enum, default_value_t = FaultModelArg::Cell)]
    pub fault_model: FaultModelArg,
    /// List every crossbar's SA0/SA1 counts (JSON `crossbar_counts`, or CSV rows).
    #[arg(long)]
    pub per_crossbar: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct CrossbarRow {
    tile: u32,
    pe: u32,
    crossbar: u32,
    sa0: u64,
    sa1: u64,
}

/// The fault options of `rramsim run`.
#[derive(Debug, Args)]
pub struct RunFaultArgs {
    /// A fault map file.
    #[arg(long, conflicts_with = "fault_rate")]
    pub faults: Option<PathBuf>,
    /// Generate a fault map at this rate (with --seed).
    #[arg(long, requires = "seed")]
    pub fault_rate: Option<f64>,
    #[arg(long, default_value_t = 0.5, requires = "fault_rate")]
    pub sa1_fraction: f64,
    #[arg(long, value_enum, default_value_t = DistributionArg::Uniform, requires = "fault_rate")]
    pub distribution: DistributionArg,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, value_enum, default_value_t = FaultModelArg::Cell)]
    pub fault_model: FaultModelArg,
}

fn read_map(path: &PathBuf) -> CliResult<FaultMap> {
    let bytes = std::fs::read(path).map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
    storage::from_bytes(&bytes).map_err(|e| CliError::input(format!("{}: {e}", path.display())))
}

fn gen_params(rate: f64, sa1_fraction: f64, distribution: DistributionArg, seed: u64) -> CliResult<GenParams> {
    let p = GenParams { rate, sa1_fraction, distribution: distribution.into(), seed };
    p.validate().map_err(CliError::input)?;
    Ok(p)
}

/// The fault map a run uses, if any: loaded (and checked against `arch`) or
/// generated over the chips the mapping uses.
pub fn run_fault_map(args: &RunFaultArgs, arch: &ArchParams, mapping: &Mapping) -> CliResult<Option<FaultMap>> {
    let geometry = Geometry::of(arch);
    if let Some(path) = &args.faults {
        let map = read_map(path)?;
        storage::check_geometry(&map, &geometry).map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
        return Ok(Some(map));
    }
    let Some(rate) = args.fault_rate else { return Ok(None) };
    let seed = args.seed.expect("clap requires --seed with --fault-rate");
    let params = gen_params(rate, args.sa1_fraction, args.distribution, seed)?;
    generate(geometry, mapping.chips_used.max(1), params).map(Some).map_err(CliError::input)
}

#[derive(Debug, Serialize)]
pub struct LayerFaultRow {
    pub name: String,
    pub replicas: u32,
    pub weights: u64,
    pub faulty_cells: u64,
    pub sa0: u64,
    pub sa1: u64,
    pub unused_faulty_cells: u64,
    pub off_block_sa1: u64,
    pub weights_changed: u64,
    pub changed_fraction: f64,
    pub mean_rel_dw: f64,
    pub max_rel_dw: f64,
    pub synthetic_weights: bool,
}

pub fn layer_rows(net: &Network, stats: &[LayerFaultStats]) -> Vec<LayerFaultRow> {
    stats
        .iter()
        .map(|s| LayerFaultRow {
            name: net.layer(s.layer).name.clone(),
            replicas: s.replicas,
            weights: s.weights,
            faulty_cells: s.tally.used_faulty_cells,
            sa0: s.tally.sa0,
            sa1: s.tally.sa1,
            unused_faulty_cells: s.tally.unused_faulty_cells,
            off_block_sa1: s.tally.off_block_faults,
            weights_changed: s.weights_changed,
            changed_fraction: s.changed_fraction(),
            mean_rel_dw: s.mean_rel_dw,
            max_rel_dw: s.max_rel_dw,
            synthetic_weights: s.synthetic_weights,
        })
        .collect()
}

/// Per-layer statistics of `map` for a run; the seed of synthetic weights is the
/// generator's seed (or 0 for imported maps).
pub fn run_layer_stats(
    net: &Network,
    arch: &ArchParams,
    mapping: &Mapping,
    map: &FaultMap,
    model: FaultModel,
) -> CliResult<Vec<LayerFaultStats>> {
    let seed = match &map.origin {
        Origin::Generated(p) => p.seed,
        Origin::Imported => 0,
    };
    layer_stats(net, arch, mapping, map, model, seed).map_err(CliError::input)
}

#[derive(Debug, Serialize)]
pub struct OriginReport {
    pub kind: &'static str,
    pub rate: Option<f64>,
    pub sa1_fraction: Option<f64>,
    pub distribution: Option<&'static str>,
    pub seed: Option<u64>,
}

pub fn origin_report(origin: &Origin) -> OriginReport {
    match origin {
        Origin::Generated(p) => OriginReport {
            kind: "generated",
            rate: Some(p.rate),
            sa1_fraction: Some(p.sa1_fraction),
            distribution: Some(p.distribution.name()),
            seed: Some(p.seed),
        },
        Origin::Imported => {
            OriginReport { kind: "imported", rate: None, sa1_fraction: None, distribution: None, seed: None }
        }
    }
}

#[derive(Debug, Serialize)]
struct StatsReport {
    convention: &'static str,
    origin: OriginReport,
    chips_covered: usize,
    crossbars: u64,
    cells: u64,
    faulty_cells: u64,
    sa0: u64,
    sa1: u64,
    fault_rate: f64,
    faulty_crossbars: u64,
    max_faults_per_crossbar: u64,
    encoded_bytes: usize,
    sparse_crossbars: usize,
    dense_crossbars: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    crossbar_counts: Option<Vec<CrossbarRow>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault_model: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<Vec<LayerFaultRow>>,
}

pub fn run(cmd: FaultsCommand) -> CliResult<()> {
    match cmd {
        FaultsCommand::Gen(a) => {
            let (arch, _) = load_arch(&a.arch)?;
            let params = gen_params(a.rate, a.sa1_fraction, a.distribution, a.seed)?;
            let map = generate(Geometry::of(&arch), a.chips, params).map_err(CliError::input)?;
            write_atomic(&a.output, &storage::to_bytes(&map))?;
            let s = summarize(
                &crossbar_counts(&map).map_err(CliError::internal)?,
                map.geometry.cells_per_crossbar() as u64,
            );
            eprintln!(
                "wrote {}: {} crossbars, {} faulty cells ({} SA0, {} SA1); {CONVENTION}",
                a.output.display(),
                s.crossbars,
                s.sa0 + s.sa1,
                s.sa0,
                s.sa1
            );
            Ok(())
        }
        FaultsCommand::Import { csv, arch, output } => {
            let (arch, _) = load_arch(&arch)?;
            let text = std::fs::read_to_string(&csv)
                .map_err(|e| CliError::input(format!("cannot read {}: {e}", csv.display())))?;
            let map = storage::from_csv(&text, Geometry::of(&arch))
                .map_err(|e| CliError::input(format!("{}:{}: {}", csv.display(), e.line, e.kind)))?;
            write_atomic(&output, &storage::to_bytes(&map))?;
            eprintln!("wrote {} ({} crossbars)", output.display(), map.crossbars());
            Ok(())
        }
        FaultsCommand::Export { map, output } => {
            let m = read_map(&map)?;
            write_atomic(&output, storage::to_csv(&m).as_bytes())
        }
        FaultsCommand::Stats(a) => stats(a),
    }
}

fn stats(a: StatsArgs) -> CliResult<()> {
    let map = read_map(&a.map)?;
    let counts = crossbar_counts(&map).map_err(CliError::internal)?;
    let s = summarize(&counts, map.geometry.cells_per_crossbar() as u64);
    let model: FaultModel = a.fault_model.into();
    let layers = match (&a.arch, &a.workload) {
        (Some(arch), Some(workload)) => {
            let (arch, _) = load_arch(arch)?;
            storage::check_geometry(&map, &Geometry::of(&arch))
                .map_err(|e| CliError::input(format!("{}: {e}", a.map.display())))?;
            let net = RunWorkload { workload: workload.clone(), widen: None, shortcut_kernel: None }.load()?;
            let mapping =
                map_network(&net, &arch, &MappingOptions::rram(a.replication.into())).map_err(CliError::input)?;
            let stats = run_layer_stats(&net, &arch, &mapping, &map, model)?;
            Some(layer_rows(&net, &stats))
        }
        (None, None) => None,
        _ => return Err(CliError::input("--arch and --workload go together")),
    };
    let (sparse, dense) = map.encodings();
    let r = StatsReport {
        convention: CONVENTION,
        origin: origin_report(&map.origin),
        chips_covered: map.chips(),
        crossbars: s.crossbars,
        cells: s.cells,
        faulty_cells: s.sa0 + s.sa1,
        sa0: s.sa0,
        sa1: s.sa1,
        fault_rate: (s.sa0 + s.sa1) as f64 / s.cells as f64,
        faulty_crossbars: s.faulty_crossbars,
        max_faults_per_crossbar: s.max_per_crossbar,
        encoded_bytes: map.encoded_bytes(),
        sparse_crossbars: sparse,
        dense_crossbars: dense,
        crossbar_counts: a.per_crossbar.then(|| {
            counts
                .iter()
                .map(|c| CrossbarRow { tile: c.id.tile, pe: c.id.pe, crossbar: c.id.crossbar, sa0: c.sa0, sa1: c.sa1 })
                .collect()
        }),
        fault_model: layers.as_ref().map(|_| model.name()),
        layers,
    };
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&r).map_err(CliError::internal)?),
        Format::Csv => {
            let mut out = String::from(
                "layer,replicas,weights,faulty_cells,sa0,sa1,weights_changed,changed_fraction,mean_rel_dw,max_rel_dw\n",
            );
            for l in r.layers.iter().flatten() {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{}\n",
                    crate::workload::csv_field(&l.name),
                    l.replicas,
                    l.weights,
                    l.faulty_cells,
                    l.sa0,
                    l.sa1,
                    l.weights_changed,
                    l.changed_fraction,
                    l.mean_rel_dw,
                    l.max_rel_dw
                ));
            }
            print!("{out}");
        }
        Format::Table => {
            let origin = match &map.origin {
                Origin::Generated(p) => format!(
                    "generated: rate {}, SA1 fraction {}, {} distribution, seed {}",
                    p.rate,
                    p.sa1_fraction,
                    p.distribution.name(),
                    p.seed
                ),
                Origin::Imported => "imported from a list of faulty cells".to_owned(),
            };
            print!(
                "fault map ({origin})\nconvention: {CONVENTION}\n{} crossbars ({} chip(s)), {} cells: {} faulty ({:.4}%): {} SA0, {} SA1\n\
                 {} crossbars have faults, at most {} in one; stored in {} bytes ({} sparse, {} dense records)\n",
                thousands(r.crossbars),
                r.chips_covered,
                thousands(r.cells),
                thousands(r.faulty_cells),
                100.0 * r.fault_rate,
                thousands(r.sa0),
                thousands(r.sa1),
                thousands(r.faulty_crossbars),
                r.max_faults_per_crossbar,
                thousands(r.encoded_bytes as u64),
                sparse,
                dense
            );
            if let Some(rows) = &r.crossbar_counts {
                let mut t = Table::new(&[
                    ("tile", Align::Right),
                    ("pe", Align::Right),
                    ("crossbar", Align::Right),
                    ("SA0", Align::Right),
                    ("SA1", Align::Right),
                ]);
                for c in rows {
                    t.row(vec![
                        c.tile.to_string(),
                        c.pe.to_string(),
                        c.crossbar.to_string(),
                        c.sa0.to_string(),
                        c.sa1.to_string(),
                    ]);
                }
                println!("\nper crossbar:\n{}", t.render());
            }
            if let Some(layers) = &r.layers {
                println!("\nper layer ({} fault model):\n{}", model.name(), layer_table(layers));
            }
        }
    }
    Ok(())
}

/// The per-layer fault table shared by `faults stats` and `run`.
pub fn layer_table(layers: &[LayerFaultRow]) -> String {
    let mut t = Table::new(&[
        ("layer", Align::Left),
        ("faulty cells", Align::Right),
        ("SA0", Align::Right),
        ("SA1", Align::Right),
        ("weights changed", Align::Right),
        ("changed%", Align::Right),
        ("mean|dw|/range", Align::Right),
        ("max|dw|/range", Align::Right),
    ]);
    for l in layers {
        t.row(vec![
            l.name.clone(),
            thousands(l.faulty_cells),
            thousands(l.sa0),
            thousands(l.sa1),
            thousands(l.weights_changed),
            format!("{:.2}", 100.0 * l.changed_fraction),
            format!("{:.2e}", l.mean_rel_dw),
            format!("{:.3}", l.max_rel_dw),
        ]);
    }
    let mut out = t.render();
    if layers.iter().any(|l| l.synthetic_weights) {
        out.push_str("(weights: seeded synthetic He-normal values; the network carries no trained weights)\n");
    }
    out
}
