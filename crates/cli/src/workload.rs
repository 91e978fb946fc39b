//! `rramsim workload …`: the `show` and `export` commands, and the workload
//! arguments other commands share.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rramsim::WorkloadReport;

use crate::error::{CliError, CliResult};
use crate::output::{Align, Format, Table, csv_field, thousands, write_atomic};

#[derive(Debug, Subcommand)]
pub enum WorkloadCommand {
    /// Print a network's layers with shapes, weights and MACs.
    Show {
        #[command(flatten)]
        source: WorkloadArgs,
        /// Output format.
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
    /// A zoo name (resnet20, vgg13, mobilenetv2, resnet18, resnet50, vgg16,
    /// vit_tiny, vgg8), a workload `.toml` file or an `.onnx` file.
    pub workload: String,
    /// Scale every hidden layer's channel count by this factor.
    #[arg(long, value_name = "FACTOR", allow_negative_numbers = true)]
    pub widen: Option<f64>,
    /// Replace 1x1 projection shortcuts by KxK convolutions (K odd).
    #[arg(long, value_name = "K")]
    pub shortcut_kernel: Option<usize>,
}

impl WorkloadArgs {
    /// The facade's workload specification.
    pub fn spec(&self) -> rramsim::WorkloadSpec {
        rramsim::WorkloadSpec {
            source: self.workload.clone(),
            widen: self.widen,
            shortcut_kernel: self.shortcut_kernel,
        }
    }
}

pub fn run(cmd: WorkloadCommand) -> CliResult<()> {
    match cmd {
        WorkloadCommand::Show { source, format } => {
            let net = source.spec().load()?;
            print!("{}", render(&rramsim::workload_report(&net), format)?);
            Ok(())
        }
        WorkloadCommand::Export { source, output } => {
            rramsim::io::check_output("-o", &output, &[Path::new(&source.workload)])?;
            let (text, layers) = rramsim::export_toml(&source.spec())?;
            write_atomic(&output, text.as_bytes())?;
            eprintln!("wrote {} ({layers} layers)", output.display());
            Ok(())
        }
    }
}

fn shape_text(d: [usize; 3]) -> String {
    format!("{}x{}x{}", d[0], d[1], d[2])
}

fn render(r: &WorkloadReport, format: Format) -> CliResult<String> {
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
