//! `run --trace` and `rramsim trace convert|summary|diff`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use rramsim::trace::{FilterSpec, layers_path, open};
use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::output::{Align, Format, Table, csv_field, thousands, write_atomic_with};

/// Event filters (shared by `run --trace` and the `trace` commands).
#[derive(Debug, Clone, Args, Default, PartialEq, Eq)]
pub struct FilterArgs {
    /// Keep only these layers (names; `*` matches any run of characters;
    /// repeat or separate by commas).
    #[arg(long = "trace-layer", value_name = "NAME")]
    pub layers: Vec<String>,
    /// Keep only events overlapping this cycle window, `FROM..TO` (either end may be omitted).
    #[arg(long = "trace-window", value_name = "FROM..TO")]
    pub window: Option<String>,
    /// Deepest hierarchy level kept: tile (items, buffers, adder, ALU, links,
    /// digital unit), pe (+ matrix-vector multiplies), xbar (+ DAC, array, ADC,
    /// shift-and-add stages; the default).
    #[arg(long = "trace-level", value_name = "LEVEL")]
    pub level: Option<String>,
}

impl FilterArgs {
    pub fn spec(&self) -> FilterSpec {
        FilterSpec { layers: self.layers.clone(), window: self.window.clone(), level: self.level.clone() }
    }
}

#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Convert a binary trace to Chrome Trace Event JSON (Perfetto), Parquet or CSV.
    Convert(ConvertArgs),
    /// Per-layer and per-unit totals and the busiest resources of a trace.
    Summary(SummaryArgs),
    /// Compare two traces: header, first differing event, per-layer deltas (exit 3 if they differ).
    Diff(DiffArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertTo {
    /// Chrome Trace Event JSON (opens in ui.perfetto.dev and chrome://tracing).
    Chrome,
    /// Parquet: events to OUT, per-layer statistics to OUT with `.layers` before the extension.
    Parquet,
    /// CSV: as Parquet.
    Csv,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// A `.rtrace` file written by `rramsim run --trace`.
    pub input: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    pub to: ConvertTo,
    /// Output file.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// A `.rtrace` file written by `rramsim run --trace`.
    pub input: PathBuf,
    /// Resources listed as busiest.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The expected trace (`.rtrace`).
    pub a: PathBuf,
    /// The trace compared with it (`.rtrace`).
    pub b: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(cmd: TraceCommand) -> CliResult<()> {
    match cmd {
        TraceCommand::Convert(args) => convert(args),
        TraceCommand::Summary(args) => summary(args),
        TraceCommand::Diff(args) => diff(args),
    }
}

fn convert(args: ConvertArgs) -> CliResult<()> {
    rramsim::io::check_output("-o", &args.output, &[&args.input])?;
    if args.to != ConvertTo::Chrome {
        rramsim::io::check_output("-o", &layers_path(&args.output), &[&args.input])?;
    }
    let mut reader = open(&args.input)?;
    let names: Vec<String> = reader.header.layers.iter().map(|l| l.name.clone()).collect();
    let filter = args.filter.spec().build(&names)?;
    let bad = |e: rramsim::trace::TraceError| CliError::from(rramsim::Error::from(e).context(args.input.display()));
    match args.to {
        ConvertTo::Chrome => {
            let stats =
                write_atomic_with(&args.output, |w| rramsim::trace::to_chrome(&mut reader, &filter, w).map_err(bad))?;
            eprintln!(
                "wrote {}: {} events on {} threads of {} processes, {} counter samples",
                args.output.display(),
                stats.events,
                stats.threads,
                stats.processes,
                stats.counters
            );
        }
        ConvertTo::Csv | ConvertTo::Parquet => {
            let layers = layers_path(&args.output);
            // The layer table is written second; both files appear only if both succeed.
            let stats = write_atomic_with(&args.output, |events| {
                write_atomic_with(&layers, |l| match args.to {
                    ConvertTo::Csv => rramsim::trace::to_csv(&mut reader, &filter, events, l).map_err(bad),
                    _ => rramsim::trace::to_parquet(&mut reader, &filter, &mut *events, &mut *l).map_err(bad),
                })
            })?;
            eprintln!(
                "wrote {} ({} events) and {} ({} layers)",
                args.output.display(),
                stats.events,
                layers.display(),
                stats.layers
            );
        }
    }
    Ok(())
}

fn summary(args: SummaryArgs) -> CliResult<()> {
    let mut reader = open(&args.input)?;
    let names: Vec<String> = reader.header.layers.iter().map(|l| l.name.clone()).collect();
    let filter = args.filter.spec().build(&names)?;
    let s = rramsim::trace::summarize(&mut reader, &filter)
        .map_err(|e| CliError::input(format!("{}: {e}", args.input.display())))?;
    let h = &reader.header;
    match args.format {
        Format::Json => {
            let doc = json!({
                "simulator_version": h.simulator_version,
                "format": format!("{}.{}", rramsim::trace::FORMAT_MAJOR, reader.minor),
                "config_hash": format!("{:016x}", h.config_hash),
                "arch": h.arch, "workload": h.workload, "batch": h.batch, "offload": h.offload,
                "seed": h.seed, "clock_ghz": h.clock_ghz, "filter": h.filter,
                "events": s.events, "skipped_records": s.skipped, "total_cycles": s.total_cycles,
                "energy_pj": s.energy_pj,
                "energy_by_component": s.energy_by_component.iter().map(|(c, e)| (c.clone(), json!(e))).collect::<serde_json::Map<_, _>>(),
                "layers": s.layers.iter().map(|l| json!({
                    "name": l.name, "op": l.op, "target": l.target, "start": l.start, "end": l.end,
                    "cycles": l.end - l.start, "items": l.items, "energy_pj": l.energy_pj, "events": l.events,
                })).collect::<Vec<_>>(),
                "units": s.units.iter().map(|u| json!({
                    "unit": u.unit, "kind": u.kind, "events": u.events, "busy_cycles": u.busy_cycles,
                    "amount": u.amount, "amount_unit": u.amount_unit, "utilization": u.utilization,
                })).collect::<Vec<_>>(),
                "busiest": s.busiest(args.top).iter().map(|u| json!({"unit": u.unit, "kind": u.kind, "utilization": u.utilization})).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&doc).map_err(CliError::internal)?);
        }
        Format::Csv => {
            println!("name,op,target,start,end,cycles,items,energy_pj,events");
            for l in &s.layers {
                println!(
                    "{},{},{},{},{},{},{},{},{}",
                    csv_field(&l.name),
                    l.op,
                    l.target,
                    l.start,
                    l.end,
                    l.end - l.start,
                    l.items,
                    l.energy_pj,
                    l.events
                );
            }
        }
        Format::Table => {
            println!(
                "{} on {} (batch {}, offload {}); rramsim {}, trace format {}.{}, config {:016x}{}",
                h.workload,
                h.arch,
                h.batch,
                h.offload,
                h.simulator_version,
                rramsim::trace::FORMAT_MAJOR,
                reader.minor,
                h.config_hash,
                if h.filter.is_empty() { String::new() } else { format!(", written with filter {}", h.filter) }
            );
            println!(
                "{} events; {} cycles; {:.3} uJ dynamic{}\n",
                thousands(s.events),
                thousands(s.total_cycles),
                s.energy_pj / 1e6,
                if s.skipped > 0 { format!("; {} records of unknown kinds skipped", s.skipped) } else { String::new() }
            );
            let mut t = Table::new(&[
                ("layer", Align::Left),
                ("target", Align::Left),
                ("start", Align::Right),
                ("end", Align::Right),
                ("cycles", Align::Right),
                ("items", Align::Right),
                ("energy nJ", Align::Right),
                ("events", Align::Right),
            ]);
            for l in s.layers.iter().filter(|l| l.target != "view") {
                t.row(vec![
                    l.name.clone(),
                    l.target.clone(),
                    thousands(l.start),
                    thousands(l.end),
                    thousands(l.end - l.start),
                    thousands(l.items),
                    format!("{:.2}", l.energy_pj / 1e3),
                    thousands(l.events),
                ]);
            }
            print!("{}", t.render());
            let mut c =
                Table::new(&[("component", Align::Left), ("energy nJ", Align::Right), ("share%", Align::Right)]);
            for (name, e) in s.energy_by_component.iter().filter(|(_, e)| *e > 0.0) {
                c.row(vec![name.clone(), format!("{:.2}", e / 1e3), format!("{:.1}", 100.0 * e / s.energy_pj)]);
            }
            print!("\n{}", c.render());
            let mut b = Table::new(&[
                ("busiest unit", Align::Left),
                ("kind", Align::Left),
                ("events", Align::Right),
                ("busy cycles", Align::Right),
                ("busy%", Align::Right),
                ("amount", Align::Right),
            ]);
            for u in s.busiest(args.top) {
                b.row(vec![
                    u.unit.clone(),
                    u.kind.to_owned(),
                    thousands(u.events),
                    thousands(u.busy_cycles),
                    format!("{:.1}", 100.0 * u.utilization),
                    format!("{} {}", thousands(u.amount), u.amount_unit),
                ]);
            }
            print!("\n{}", b.render());
        }
    }
    Ok(())
}

fn diff(args: DiffArgs) -> CliResult<()> {
    let mut a = open(&args.a)?;
    let mut b = open(&args.b)?;
    let d = rramsim::trace::diff(&mut a, &mut b).map_err(CliError::input)?;
    // Whole-run totals of each trace (the diff lists only the layers that moved).
    let totals = |path: &PathBuf| -> CliResult<(u64, f64)> {
        let mut r = open(path)?;
        let names: Vec<String> = r.header.layers.iter().map(|l| l.name.clone()).collect();
        let filter = FilterArgs::default().spec().build(&names)?;
        let s = rramsim::trace::summarize(&mut r, &filter)
            .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
        Ok((s.total_cycles, s.energy_pj))
    };
    let ((cycles_a, energy_a), (cycles_b, energy_b)) = (totals(&args.a)?, totals(&args.b)?);
    let show = |e: &Option<(rramsim::trace::Event, String)>| match e {
        None => "(none: the trace ended)".to_owned(),
        Some((e, layer)) => format!(
            "{} {} layer {} image {} cycles {}..{} amount {}",
            e.kind.name(),
            e.unit,
            layer,
            e.image,
            e.start,
            e.end,
            e.amount
        ),
    };
    match args.format {
        Format::Json => {
            let doc = json!({
                "identical": d.identical(),
                "total_cycles": [cycles_a, cycles_b],
                "energy_pj": [energy_a, energy_b],
                "header": d.header.iter().map(|(f, x, y)| json!({"field": f, "a": x, "b": y})).collect::<Vec<_>>(),
                "events": [d.events.0, d.events.1],
                "first_event": d.first_event.as_ref().map(|f| json!({"index": f.index, "a": show(&f.a), "b": show(&f.b)})),
                "layers": d.layers.iter().map(|l| json!({
                    "name": l.name, "start": [l.start.0, l.start.1], "end": [l.end.0, l.end.1],
                    "cycles": [l.cycles.0, l.cycles.1], "cycles_delta": l.cycles.1 as i64 - l.cycles.0 as i64,
                    "energy_pj": [l.energy_pj.0, l.energy_pj.1],
                })).collect::<Vec<_>>(),
                "unmatched_layers": d.unmatched,
            });
            println!("{}", serde_json::to_string_pretty(&doc).map_err(CliError::internal)?);
        }
        Format::Table | Format::Csv => {
            if d.identical() {
                println!("identical: {} events, same header and per-layer figures", thousands(d.events.0));
                return Ok(());
            }
            for (f, x, y) in &d.header {
                println!("header {f}: {x} -> {y}");
            }
            println!(
                "total: {} -> {} cycles ({:+}, {:+.3}%); {:.3} -> {:.3} uJ dynamic energy ({:+.3}%)",
                thousands(cycles_a),
                thousands(cycles_b),
                cycles_b as i64 - cycles_a as i64,
                pct(cycles_a as f64, cycles_b as f64),
                energy_a / 1e6,
                energy_b / 1e6,
                pct(energy_a, energy_b)
            );
            println!("events: {} -> {}", thousands(d.events.0), thousands(d.events.1));
            if let Some(f) = &d.first_event {
                println!("first differing event #{}:\n  a: {}\n  b: {}", f.index, show(&f.a), show(&f.b));
            }
            if !d.layers.is_empty() {
                let mut t = Table::new(&[
                    ("layer", Align::Left),
                    ("start a", Align::Right),
                    ("start b", Align::Right),
                    ("cycles a", Align::Right),
                    ("cycles b", Align::Right),
                    ("delta", Align::Right),
                    ("energy delta%", Align::Right),
                ]);
                for l in &d.layers {
                    t.row(vec![
                        l.name.clone(),
                        thousands(l.start.0),
                        thousands(l.start.1),
                        thousands(l.cycles.0),
                        thousands(l.cycles.1),
                        format!("{:+}", l.cycles.1 as i64 - l.cycles.0 as i64),
                        format!("{:+.3}", pct(l.energy_pj.0, l.energy_pj.1)),
                    ]);
                }
                print!("{}", t.render());
            }
            for n in &d.unmatched {
                println!("layer {n} is in only one trace");
            }
        }
    }
    if d.identical() {
        Ok(())
    } else {
        Err(CliError::Differs(format!("{} and {} differ (exit code 3)", args.a.display(), args.b.display())))
    }
}

fn pct(a: f64, b: f64) -> f64 {
    if a == 0.0 { if b == 0.0 { 0.0 } else { f64::INFINITY } } else { 100.0 * (b - a) / a }
}
