//! `rramsim faults …`: generate, import, export and inspect stuck-at fault maps,
//! and the fault options of `rramsim run`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use rramsim::faults::{FAULT_CONVENTION as CONVENTION, LayerFaultRow, StatsOn};
use rramsim::model::{Distribution, FaultModel};
use rramsim::{Arch, FaultSpec};

use crate::error::{CliError, CliResult};
use crate::output::{Align, Format, Table, csv_field, thousands, write_atomic};
use crate::run::ReplicationArg;

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

/// Fault-aware placement (`rramsim_fault::remap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RemapArg {
    /// Identity placement.
    None,
    /// Permute each crossbar's rows.
    Rows,
    /// Permute rows and columns.
    #[value(name = "rows+cols")]
    RowsCols,
}

impl From<RemapArg> for rramsim::model::RemapMode {
    fn from(m: RemapArg) -> Self {
        match m {
            RemapArg::None => Self::None,
            RemapArg::Rows => Self::Rows,
            RemapArg::RowsCols => Self::RowsCols,
        }
    }
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
        /// CSV of faulty cells: tile,pe,crossbar,row,col,type (SA0 or SA1).
        csv: PathBuf,
        /// Architecture the map is for: a preset name or a `.toml` file.
        #[arg(long)]
        arch: String,
        /// Fault map file to write.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Write a fault map as a CSV list of faulty cells.
    Export {
        /// Fault map file to read.
        map: PathBuf,
        /// CSV file to write.
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
    #[arg(long, allow_negative_numbers = true)]
    pub rate: f64,
    /// Fraction of faults that are SA1.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub sa1_fraction: f64,
    /// Spatial distribution of the faulty cells over each crossbar.
    #[arg(long, value_enum, default_value_t = DistributionArg::Uniform)]
    pub distribution: DistributionArg,
    /// Seed of the fault map (the same seed gives the same map).
    #[arg(long)]
    pub seed: u64,
    /// Chips to cover (default 1; the node's later chips need more).
    #[arg(long, default_value_t = 1)]
    pub chips: u32,
    /// Fault map file to write.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Fault map file to read.
    pub map: PathBuf,
    /// Architecture the map is for (needed with --workload).
    #[arg(long)]
    pub arch: Option<String>,
    /// A workload to map, for per-layer statistics.
    #[arg(long)]
    pub workload: Option<String>,
    /// How layers are replicated on the crossbars (as `run --replication`).
    #[arg(long, value_enum, default_value_t = ReplicationArg::Balanced)]
    pub replication: ReplicationArg,
    /// How a stuck cell changes its weight.
    #[arg(long, value_enum, default_value_t = FaultModelArg::Cell)]
    pub fault_model: FaultModelArg,
    /// List every crossbar's SA0/SA1 counts (JSON `crossbar_counts`, or CSV rows).
    #[arg(long)]
    pub per_crossbar: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The fault options of `rramsim run`.
#[derive(Debug, Args)]
pub struct RunFaultArgs {
    /// A fault map file.
    #[arg(long, conflicts_with = "fault_rate")]
    pub faults: Option<PathBuf>,
    /// Generate a fault map with this fraction of faulty cells (a rate per cell; with --seed).
    #[arg(long, requires = "seed", allow_negative_numbers = true)]
    pub fault_rate: Option<f64>,
    /// Fraction of faulty cells stuck at 1 (SA1); the rest are stuck at 0.
    #[arg(long, default_value_t = 0.5, requires = "fault_rate", allow_negative_numbers = true)]
    pub sa1_fraction: f64,
    /// Spatial distribution of the faulty cells over each crossbar.
    #[arg(long, value_enum, default_value_t = DistributionArg::Uniform, requires = "fault_rate")]
    pub distribution: DistributionArg,
    /// Seed of the generated fault map (required with --fault-rate).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How a stuck cell changes its weight.
    #[arg(long, value_enum, default_value_t = FaultModelArg::Cell)]
    pub fault_model: FaultModelArg,
}

impl RunFaultArgs {
    /// The validated fault specification, if the run has faults.
    pub fn spec(&self) -> CliResult<Option<FaultSpec>> {
        let model = self.fault_model.into();
        if let Some(path) = &self.faults {
            return Ok(Some(FaultSpec::file(path, model)));
        }
        let Some(rate) = self.fault_rate else { return Ok(None) };
        let seed = self.seed.ok_or_else(|| CliError::input("--fault-rate needs --seed"))?;
        Ok(Some(FaultSpec::generated(rate, self.sa1_fraction, self.distribution.into(), seed, model)?))
    }
}

pub fn run(cmd: FaultsCommand) -> CliResult<()> {
    match cmd {
        FaultsCommand::Gen(a) => {
            rramsim::io::check_output("-o", &a.output, &[Path::new(&a.arch)])?;
            let arch = Arch::load(&a.arch)?;
            let spec = FaultSpec::generated(a.rate, a.sa1_fraction, a.distribution.into(), a.seed, FaultModel::Cell)?;
            let map = rramsim::faults::generate(&arch.params, &spec, a.chips)?;
            write_atomic(&a.output, &rramsim::faults::to_bytes(&map))?;
            let s = rramsim::faults::stats(&map, &a.output.display().to_string(), None, false)?;
            eprintln!(
                "wrote {}: {} crossbars, {} faulty cells ({} SA0, {} SA1); {CONVENTION}",
                a.output.display(),
                s.crossbars,
                s.faulty_cells,
                s.sa0,
                s.sa1
            );
            Ok(())
        }
        FaultsCommand::Import { csv, arch, output } => {
            rramsim::io::check_output("-o", &output, &[&csv, Path::new(&arch)])?;
            let arch = Arch::load(&arch)?;
            let text = rramsim::io::read_text(&csv)?;
            let map = rramsim::faults::from_csv(&csv.display().to_string(), &text, &arch.params)?;
            write_atomic(&output, &rramsim::faults::to_bytes(&map))?;
            eprintln!("wrote {} ({} crossbars)", output.display(), map.crossbars());
            Ok(())
        }
        FaultsCommand::Export { map, output } => {
            rramsim::io::check_output("-o", &output, &[&map])?;
            let m = rramsim::faults::read(&map)?;
            write_atomic(&output, rramsim::faults::to_csv(&m).as_bytes())
        }
        FaultsCommand::Stats(a) => stats(a),
    }
}

fn stats(a: StatsArgs) -> CliResult<()> {
    let map = rramsim::faults::read(&a.map)?;
    let model: FaultModel = a.fault_model.into();
    let arch = match (&a.arch, &a.workload) {
        (Some(arch), Some(_)) => Some(Arch::load(arch)?),
        (None, None) => None,
        _ => return Err(CliError::input("--arch and --workload go together")),
    };
    let on = match (&arch, &a.workload) {
        (Some(arch), Some(workload)) => Some(StatsOn { arch, workload, replication: a.replication.into(), model }),
        _ => None,
    };
    let r = rramsim::faults::stats(&map, &a.map.display().to_string(), on, a.per_crossbar)?;
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&r).map_err(CliError::internal)?),
        Format::Csv => {
            let mut out = String::from(
                "layer,replicas,weights,faulty_cells,sa0,sa1,weights_changed,changed_fraction,mean_rel_dw,max_rel_dw\n",
            );
            for l in r.layers.iter().flatten() {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{}\n",
                    csv_field(&l.name),
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
            print!(
                "fault map ({})\nconvention: {CONVENTION}\n{} crossbars ({} chip(s)), {} cells: {} faulty ({:.4}%): {} SA0, {} SA1\n\
                 {} crossbars have faults, at most {} in one; stored in {} bytes ({} sparse, {} dense records)\n",
                r.origin.describe(),
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
                r.sparse_crossbars,
                r.dense_crossbars
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
