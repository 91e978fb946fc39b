//! `rramsim study`: the system-level cost study of the drop-connect work — runtime
//! and energy of widened networks and of offload policies, against width 1.0,
//! everything on RRAM, 1x1 shortcuts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use rramsim::Arch;
use rramsim::study::{StudyReport, StudyRow, StudySpec, run_study};

use crate::error::{CliError, CliResult};
use crate::faults::RunFaultArgs;
use crate::output::{Align, Format, Table, csv_field, thousands, write_atomic};
use crate::run::ReplicationArg;

#[derive(Debug, Args)]
pub struct StudyArgs {
    /// Architecture: a preset name or a `.toml` file.
    #[arg(long)]
    pub arch: String,
    /// A zoo name, a workload `.toml` file or an `.onnx` file.
    #[arg(long)]
    pub workload: String,
    /// Width multipliers.
    #[arg(long, value_delimiter = ',', default_value = "1.0,1.2,1.6", allow_negative_numbers = true)]
    pub widths: Vec<f64>,
    /// Offload policies (all-rram, pointwise, all-digital, layers=A+B, auto[:F]).
    #[arg(long, value_delimiter = ',', default_value = "all-rram,pointwise")]
    pub offload: Vec<String>,
    /// Shortcut kernel sizes (1 keeps the 1x1 projections).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub shortcut_kernel: Vec<usize>,
    /// How layers are replicated on the crossbars (as `run --replication`).
    #[arg(long, value_enum, default_value_t = ReplicationArg::Balanced)]
    pub replication: ReplicationArg,
    /// Inputs simulated back to back per configuration.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also draw runtime and energy change per configuration as an SVG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub faults: RunFaultArgs,
}

pub fn run(args: StudyArgs) -> CliResult<()> {
    if let Some(path) = &args.plot {
        let inputs = [Some(Path::new(&args.arch)), Some(Path::new(&args.workload)), args.faults.faults.as_deref()];
        rramsim::io::check_output("--plot", path, &inputs.into_iter().flatten().collect::<Vec<_>>())?;
    }
    let arch = Arch::load(&args.arch)?;
    let spec = StudySpec {
        workload: args.workload.clone(),
        widths: args.widths.clone(),
        offload: args.offload.clone(),
        shortcut_kernels: args.shortcut_kernel.clone(),
        replication: args.replication.into(),
        batch: args.batch,
        faults: args.faults.spec()?,
    };
    let report = run_study(&arch, &spec)?;
    if let Some(path) = &args.plot {
        write_atomic(path, svg(&report).as_bytes())?;
    }
    print!("{}", render(&report, args.format)?);
    Ok(())
}

fn label(r: &StudyRow) -> String {
    let mut s = format!("x{} {}", r.width, r.offload);
    if r.shortcut_kernel != 1 {
        let _ = write!(s, " k{}", r.shortcut_kernel);
    }
    s
}

fn render(r: &StudyReport, format: Format) -> CliResult<String> {
    match format {
        Format::Json => Ok(serde_json::to_string_pretty(r).map_err(CliError::internal)? + "\n"),
        Format::Csv => {
            let mut out = String::from(
                "width,offload,shortcut_kernel,total_cycles,latency_ns,throughput_images_per_s,energy_pj,steady_state_energy_per_image_pj,crossbars,tiles,digital_utilization,runtime_change_pct,energy_change_pct\n",
            );
            for row in &r.rows {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{:.3},{:.3},{:.1},{:.1},{},{},{:.4},{:.3},{:.3}",
                    row.width,
                    csv_field(&row.offload),
                    row.shortcut_kernel,
                    row.total_cycles,
                    row.latency_ns,
                    row.throughput_images_per_s,
                    row.energy_pj,
                    row.steady_state_energy_per_image_pj,
                    row.crossbars,
                    row.tiles,
                    row.digital_utilization,
                    row.runtime_change_pct,
                    row.energy_change_pct
                );
            }
            Ok(out)
        }
        Format::Table => {
            let mut t = Table::new(&[
                ("width", Align::Right),
                ("offload", Align::Left),
                ("k", Align::Right),
                ("cycles", Align::Right),
                ("latency us", Align::Right),
                ("images/s", Align::Right),
                ("energy uJ", Align::Right),
                ("uJ/image", Align::Right),
                ("xbars", Align::Right),
                ("tiles", Align::Right),
                ("digital%", Align::Right),
                ("runtime %", Align::Right),
                ("energy %", Align::Right),
            ]);
            for row in &r.rows {
                t.row(vec![
                    format!("{}", row.width),
                    row.offload.clone(),
                    row.shortcut_kernel.to_string(),
                    thousands(row.total_cycles),
                    format!("{:.2}", row.latency_ns / 1e3),
                    format!("{:.0}", row.throughput_images_per_s),
                    format!("{:.2}", row.energy_pj / 1e6),
                    format!("{:.2}", row.steady_state_energy_per_image_pj / 1e6),
                    thousands(row.crossbars),
                    row.tiles.to_string(),
                    format!("{:.1}", 100.0 * row.digital_utilization),
                    format!("{:+.1}", row.runtime_change_pct),
                    format!("{:+.1}", row.energy_change_pct),
                ]);
            }
            Ok(format!(
                "cost study: {} on {} (batch {}); changes against {}\n\n{}",
                r.workload,
                r.arch,
                r.batch,
                r.baseline,
                t.render()
            ))
        }
    }
}

/// Grouped bars of runtime and energy change per configuration.
fn svg(r: &StudyReport) -> String {
    let n = r.rows.len().max(1);
    let (left, top, bar, gap, height) = (70.0, 40.0, 18.0, 22.0, 300.0);
    let width = (left + n as f64 * (2.0 * bar + gap) + 40.0).max(640.0);
    let values: Vec<f64> = r.rows.iter().flat_map(|row| [row.runtime_change_pct, row.energy_change_pct]).collect();
    let max = values.iter().copied().fold(10.0f64, f64::max);
    let min = values.iter().copied().fold(0.0f64, f64::min);
    // A 1-2-5 tick step giving about eight ticks; the axis spans whole steps.
    let raw = (max - min) / 8.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
    let (lo, hi) = ((min / step).floor() * step, (max / step).ceil() * step);
    let y = |v: f64| top + (hi - v) / (hi - lo) * height;
    let mut s = String::new();
    let total_h = top + height + 140.0;
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{total_h:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="20" font-size="14">{} on {}: change vs width 1.0 / all-rram / 1x1 shortcuts (%)</text>"#,
        r.workload, r.arch
    );
    let mut v = lo;
    while v <= hi + 1e-9 {
        let yy = y(v);
        let _ =
            writeln!(s, r##"<line x1="{left}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/>"##, width - 30.0);
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{v:.0}</text>"#, left - 6.0, yy + 4.0);
        v += step;
    }
    let _ = writeln!(
        s,
        r#"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="black"/>"#,
        width - 30.0,
        y(0.0),
        y(0.0)
    );
    for (i, row) in r.rows.iter().enumerate() {
        let x0 = left + 10.0 + i as f64 * (2.0 * bar + gap);
        for (j, (val, color)) in
            [(row.runtime_change_pct, "#4e79a7"), (row.energy_change_pct, "#f28e2b")].iter().enumerate()
        {
            let (y0, y1) = (y(val.max(0.0)), y(val.min(0.0)));
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{y0:.1}" width="{bar}" height="{:.1}" fill="{color}"><title>{}: {val:+.1}%</title></rect>"#,
                x0 + j as f64 * bar,
                (y1 - y0).max(0.5),
                label(row)
            );
        }
        let lx = x0 + bar;
        let ly = top + height + 12.0;
        let _ = writeln!(
            s,
            r#"<text x="{lx:.1}" y="{ly:.1}" transform="rotate(45 {lx:.1} {ly:.1})">{}</text>"#,
            label(row)
        );
    }
    let ly = total_h - 12.0;
    let _ = writeln!(s, r##"<rect x="{left}" y="{:.1}" width="12" height="12" fill="#4e79a7"/>"##, ly - 10.0);
    let _ = writeln!(s, r#"<text x="{:.1}" y="{ly:.1}">runtime</text>"#, left + 16.0);
    let _ =
        writeln!(s, r##"<rect x="{:.1}" y="{:.1}" width="12" height="12" fill="#f28e2b"/>"##, left + 80.0, ly - 10.0);
    let _ = writeln!(s, r#"<text x="{:.1}" y="{ly:.1}">energy</text>"#, left + 96.0);
    s.push_str("</svg>\n");
    s
}
