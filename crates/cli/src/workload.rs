//! `rramsim workload …`: loading networks from any source, and the `show` and
//! `export` commands.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rramsim_graph::{Network, Op, Shape};
use serde::Serialize;

use crate::error::{CliError, CliResult};
use crate::output::{Align, Format, Table, thousands, write_atomic};

#[derive(Debug, Subcommand)]
pub enum WorkloadCommand {
    /// Print a network's layers with shapes, weights and MACs.
    Show {
        #[command(flatten)]
        source: WorkloadArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write a network in the workload TOML format.
    Export {
        #[command(flatten)]
        source: WorkloadArgs,
        /// Destination file.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

/// Where a network comes from and how to transform it.
#[derive(Debug, Args)]
pub struct WorkloadArgs {
    /// A zoo name (resnet20, vgg13, mobilenetv2, resnet18, resnet50, vgg16), a
    /// workload `.toml` file or an `.onnx` file.
    pub workload: String,
    /// Scale every hidden layer's channel count by this factor.
    #[arg(long, value_name = "FACTOR", allow_negative_numbers = true)]
    pub widen: Option<f64>,
    /// Replace 1x1 projection shortcuts by KxK convolutions (K odd).
    #[arg(long, value_name = "K")]
    pub shortcut_kernel: Option<usize>,
}

/// Reads a network as written (BatchNorm layers kept), without transforms.
pub fn load_raw(source: &str) -> CliResult<Network> {
    let path = Path::new(source);
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("toml") => {
            let text =
                std::fs::read_to_string(path).map_err(|e| CliError::input(format!("cannot read {source}: {e}")))?;
            rramsim_graph::load_workload_toml(source, &text).map_err(CliError::input)
        }
        Some("onnx") => {
            let bytes = std::fs::read(path).map_err(|e| CliError::input(format!("cannot read {source}: {e}")))?;
            rramsim_graph::import_onnx(source, &bytes).map_err(|e| CliError::input(format!("{source}: {e}")))
        }
        _ => rramsim_graph::zoo(source).ok_or_else(|| {
            CliError::input(format!(
                "unknown workload `{source}`: expected a zoo name ({}), a .toml file or an .onnx file",
                rramsim_graph::ZOO_NAMES.join(", ")
            ))
        }),
    }
}

impl WorkloadArgs {
    /// Applies the requested transforms, in the order shortcut kernel, then widen.
    fn transform(&self, mut net: Network) -> CliResult<Network> {
        if let Some(k) = self.shortcut_kernel {
            net = rramsim_graph::shortcut_kernel(&net, k)
                .map_err(|e| CliError::input(format!("--shortcut-kernel: {e}")))?;
        }
        if let Some(f) = self.widen {
            net = rramsim_graph::widen(&net, f).map_err(|e| CliError::input(format!("--widen: {e}")))?;
        }
        Ok(net)
    }

    /// The network as simulated: loaded, BatchNorm folded, transforms applied.
    pub fn load(&self) -> CliResult<Network> {
        let net = load_raw(&self.workload)?;
        let net =
            rramsim_graph::fold_batchnorm(&net).map_err(|e| CliError::input(format!("{}: {e}", self.workload)))?;
        self.transform(net)
    }
}

pub fn run(cmd: WorkloadCommand) -> CliResult<()> {
    match cmd {
        WorkloadCommand::Show { source, format } => {
            let net = source.load()?;
            print!("{}", render(&net, format)?);
            Ok(())
        }
        WorkloadCommand::Export { source, output } => {
            // Export keeps BatchNorm layers: the file describes the network as trained.
            let net = source.transform(load_raw(&source.workload)?)?;
            let description = rramsim_graph::zoo_description(&source.workload);
            let text = rramsim_graph::to_workload_toml(&net, description);
            write_atomic(&output, text.as_bytes())?;
            eprintln!("wrote {} ({} layers)", output.display(), net.len());
            Ok(())
        }
    }
}

#[derive(Debug, Serialize)]
struct LayerRow {
    name: String,
    op: &'static str,
    inputs: Vec<String>,
    input_shape: Option<[usize; 3]>,
    output_shape: [usize; 3],
    weights: u64,
    biases: u64,
    macs: u64,
}

#[derive(Debug, Serialize)]
struct WorkloadReport {
    name: String,
    input_shape: [usize; 3],
    layer_count: usize,
    total_weights: u64,
    total_biases: u64,
    total_macs: u64,
    layers: Vec<LayerRow>,
}

fn dims(s: Shape) -> [usize; 3] {
    [s.channels, s.height, s.width]
}

fn report(net: &Network) -> WorkloadReport {
    let layers: Vec<LayerRow> = net
        .ids()
        .map(|id| {
            let layer = net.layer(id);
            let stats = net.stats(id);
            LayerRow {
                name: layer.name.clone(),
                op: layer.op.kind_name(),
                inputs: layer.inputs.clone(),
                input_shape: net.input_shapes(id).first().copied().map(dims),
                output_shape: dims(net.output_shape(id)),
                weights: stats.weights,
                biases: stats.biases,
                macs: stats.macs,
            }
        })
        .collect();
    let total = net.total_stats();
    let input_shape = match net.layer(net.input()).op {
        Op::Input { shape } => dims(shape),
        _ => unreachable!("input() returns the input layer"),
    };
    WorkloadReport {
        name: net.name().to_owned(),
        input_shape,
        layer_count: net.len(),
        total_weights: total.weights,
        total_biases: total.biases,
        total_macs: total.macs,
        layers,
    }
}

fn shape_text(d: [usize; 3]) -> String {
    format!("{}x{}x{}", d[0], d[1], d[2])
}

fn render(net: &Network, format: Format) -> CliResult<String> {
    let r = report(net);
    match format {
        Format::Json => serde_json::to_string_pretty(&r).map(|s| s + "\n").map_err(CliError::internal),
        Format::Csv => {
            let mut out = String::from("name,op,inputs,input_shape,output_shape,weights,biases,macs\n");
            for l in &r.layers {
                let fields = [
                    csv_field(&l.name),
                    l.op.to_owned(),
                    csv_field(&l.inputs.join(" ")),
                    l.input_shape.map(shape_text).unwrap_or_default(),
                    shape_text(l.output_shape),
                    l.weights.to_string(),
                    l.biases.to_string(),
                    l.macs.to_string(),
                ];
                out.push_str(&fields.join(","));
                out.push('\n');
            }
            Ok(out)
        }
        Format::Table => {
            let mut t = Table::new(&[
                ("layer", Align::Left),
                ("op", Align::Left),
                ("input", Align::Right),
                ("output", Align::Right),
                ("weights", Align::Right),
                ("MACs", Align::Right),
            ]);
            for l in &r.layers {
                t.row(vec![
                    l.name.clone(),
                    l.op.to_owned(),
                    l.input_shape.map(shape_text).unwrap_or_default(),
                    shape_text(l.output_shape),
                    thousands(l.weights),
                    thousands(l.macs),
                ]);
            }
            t.footer(vec![
                format!("total ({} layers)", r.layer_count),
                String::new(),
                String::new(),
                String::new(),
                thousands(r.total_weights),
                thousands(r.total_macs),
            ]);
            Ok(format!(
                "network {}: {} weights (+{} biases), {} MACs per input\n\n{}",
                r.name,
                thousands(r.total_weights),
                thousands(r.total_biases),
                thousands(r.total_macs),
                t.render()
            ))
        }
    }
}

/// Quotes a CSV field when it holds a comma, quote or newline (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}
