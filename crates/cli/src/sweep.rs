//! `rramsim sweep`: design-space sweeps. A spec names axes (architecture
//! parameters by path, workload, width, shortcut kernel, offload policy, fault
//! rate and seed); their cartesian product is run in parallel. Each point's seed
//! is derived from its index, so results do not depend on the thread count, and
//! the cluster contract (`--list`, `--point`, `--shard`, `merge`) lets any
//! existing scheduler (Dask, Slurm) run the points.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rayon::prelude::*;
use rramsim_core::SourceError;
use rramsim_fault::{Distribution, FaultModel, GenParams, Geometry, generate, splitmix};
use rramsim_hw::load_arch_toml;
use rramsim_map::{MappingOptions, Replication, map_network};
use serde::Deserialize;

use crate::arch::PRESETS;
use crate::error::{CliError, CliResult};
use crate::faults::run_layer_stats;
use crate::results::{Row, Value, read_rows, write_rows};
use crate::run::{OffloadSpec, RunWorkload, resolve_offload, simulate_network};

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub merge: Option<SweepCommand>,
    /// The sweep spec (TOML).
    pub spec: Option<PathBuf>,
    /// Results file: .parquet, .csv or .json. Points already in it are skipped.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Print the points as JSON lines and exit.
    #[arg(long, conflicts_with_all = ["point", "shard"])]
    pub list: bool,
    /// Run only point `I`.
    #[arg(long, value_name = "I", conflicts_with = "shard")]
    pub point: Option<usize>,
    /// Run only the points whose index is `I` modulo `N` (`I/N`).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Merge result files of shards or points into one (sorted by point index).
    Merge {
        inputs: Vec<PathBuf>,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

/// The spec file's raw form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    /// Base architecture: a preset name or a path relative to the spec.
    arch: String,
    #[serde(default)]
    options: RawOptions,
    /// Axes whose cartesian product is swept…
    #[serde(default)]
    axes: toml::Table,
    /// …or an explicit list of points (`[[point]]` tables), not both.
    #[serde(default)]
    point: Vec<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    batch: Option<u32>,
    replication: Option<String>,
    sa1_fraction: Option<f64>,
    distribution: Option<String>,
    fault_model: Option<String>,
    /// Base of the per-point seeds.
    seed: Option<u64>,
}

/// Axes that are not architecture parameters.
const POINT_AXES: [&str; 6] = ["workload", "width", "shortcut_kernel", "offload", "fault_rate", "fault_seed"];

/// A validated spec.
#[derive(Debug)]
pub struct Spec {
    arch_text: String,
    arch_label: String,
    /// Axis name → values, in spec order (sorted by name: TOML tables are).
    axes: Vec<(String, Vec<Value>)>,
    /// Explicit points, when the spec lists them instead of axes.
    points: Option<Vec<BTreeMap<String, Value>>>,
    batch: u32,
    replication: Replication,
    sa1_fraction: f64,
    distribution: Distribution,
    fault_model: FaultModel,
    seed: u64,
}

fn spec_err(
    file: &str,
    source: &str,
    span: Option<std::ops::Range<usize>>,
    key: Option<&str>,
    msg: String,
) -> CliError {
    CliError::input(SourceError::at(file, source, span, key.map(str::to_owned), msg))
}

fn to_value(file: &str, key: &str, v: &toml::Value) -> CliResult<Value> {
    match v {
        toml::Value::Integer(i) => Ok(Value::Num(*i as f64)),
        toml::Value::Float(f) => Ok(Value::Num(*f)),
        toml::Value::String(s) => Ok(Value::Text(s.clone())),
        other => Err(CliError::input(format!("{file}: axis `{key}`: values must be numbers or strings, got {other}"))),
    }
}

/// Expands `[a, b]` or `{ from, to, step }` (inclusive) into values.
fn axis_values(file: &str, key: &str, v: &toml::Value) -> CliResult<Vec<Value>> {
    match v {
        toml::Value::Array(items) => {
            if items.is_empty() {
                return Err(CliError::input(format!("{file}: axis `{key}` has no values")));
            }
            items.iter().map(|i| to_value(file, key, i)).collect()
        }
        toml::Value::Table(t) => {
            let num = |k: &str| -> CliResult<f64> {
                match t.get(k) {
                    Some(toml::Value::Integer(i)) => Ok(*i as f64),
                    Some(toml::Value::Float(f)) => Ok(*f),
                    _ => Err(CliError::input(format!(
                        "{file}: axis `{key}`: a range needs numeric `from`, `to` and `step`"
                    ))),
                }
            };
            if let Some(extra) = t.keys().find(|k| !["from", "to", "step"].contains(&k.as_str())) {
                return Err(CliError::input(format!("{file}: axis `{key}`: unknown range key `{extra}`")));
            }
            let (from, to, step) = (num("from")?, num("to")?, num("step")?);
            if step.is_nan() || step <= 0.0 || to < from {
                return Err(CliError::input(format!("{file}: axis `{key}`: need step > 0 and to >= from")));
            }
            let n = ((to - from) / step + 1e-9).floor() as usize + 1;
            if n > 1_000_000 {
                return Err(CliError::input(format!("{file}: axis `{key}` has {n} values")));
            }
            Ok((0..n).map(|i| Value::Num(from + i as f64 * step)).collect())
        }
        single => Ok(vec![to_value(file, key, single)?]),
    }
}

impl Spec {
    pub fn load(path: &Path) -> CliResult<Spec> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CliError::input(format!("cannot read {file}: {e}")))?;
        let raw: RawSpec = toml::from_str(&text)
            .map_err(|e| spec_err(&file, &text, e.span(), None, e.message().trim_end().to_owned()))?;
        let (arch_text, arch_label) = match PRESETS.iter().find(|(n, _)| *n == raw.arch) {
            Some((name, t)) => ((*t).to_owned(), format!("<preset {name}>")),
            None => {
                let p = path.parent().unwrap_or(Path::new(".")).join(&raw.arch);
                let t = std::fs::read_to_string(&p).map_err(|e| {
                    CliError::input(format!("{file}: arch `{}`: cannot read {}: {e}", raw.arch, p.display()))
                })?;
                (t, p.display().to_string())
            }
        };
        // The base architecture must be valid on its own.
        load_arch_toml(&arch_label, &arch_text).map_err(CliError::input)?;
        let base: toml::Table =
            toml::from_str(&arch_text).map_err(|e| CliError::input(format!("{arch_label}: {e}")))?;
        let check = |key: &str, values: &[Value]| -> CliResult<()> {
            if !POINT_AXES.contains(&key) {
                // An architecture parameter: it must exist in the base config.
                let mut probe = base.clone();
                set_path(&mut probe, key, &values[0])
                    .map_err(|e| CliError::input(format!("{file}: axis `{key}`: {e}")))?;
            }
            if key == "offload" {
                for v in values {
                    OffloadSpec::parse(&v.text())?;
                }
            }
            Ok(())
        };
        let mut axes = Vec::new();
        for (key, v) in &raw.axes {
            let values = axis_values(&file, key, v)?;
            check(key, &values)?;
            axes.push((key.clone(), values));
        }
        let points = if raw.point.is_empty() {
            None
        } else {
            if !axes.is_empty() {
                return Err(CliError::input(format!("{file}: give either [axes] or [[point]] tables, not both")));
            }
            let mut pts = Vec::new();
            for (i, table) in raw.point.iter().enumerate() {
                let mut p = BTreeMap::new();
                for (key, v) in table {
                    let value = to_value(&file, key, v)?;
                    check(key, std::slice::from_ref(&value)).map_err(|e| CliError::input(format!("point {i}: {e}")))?;
                    p.insert(key.clone(), value);
                }
                if !p.contains_key("workload") {
                    return Err(CliError::input(format!("{file}: point {i} needs a `workload`")));
                }
                pts.push(p);
            }
            // Columns: every key any point names.
            let mut keys: Vec<String> = pts.iter().flat_map(|p| p.keys().cloned()).collect();
            keys.sort();
            keys.dedup();
            axes = keys.into_iter().map(|k| (k, Vec::new())).collect();
            Some(pts)
        };
        let o = raw.options;
        let replication = match o.replication.as_deref().unwrap_or("balanced") {
            "balanced" => Replication::Balanced,
            "none" => Replication::None,
            other => return Err(CliError::input(format!("{file}: options.replication: unknown `{other}`"))),
        };
        let distribution = match o.distribution.as_deref() {
            None => Distribution::Uniform,
            Some(d) => Distribution::from_name(d)
                .ok_or_else(|| CliError::input(format!("{file}: options.distribution: unknown `{d}`")))?,
        };
        let fault_model = match o.fault_model.as_deref().unwrap_or("cell") {
            "cell" => FaultModel::Cell,
            "weight-zero" => FaultModel::WeightZero,
            other => return Err(CliError::input(format!("{file}: options.fault_model: unknown `{other}`"))),
        };
        if points.is_none() && !axes.iter().any(|(k, _)| k == "workload") {
            return Err(CliError::input(format!("{file}: the axes need a `workload`")));
        }
        Ok(Spec {
            arch_text,
            arch_label,
            axes,
            points,
            batch: o.batch.unwrap_or(1).max(1),
            replication,
            sa1_fraction: o.sa1_fraction.unwrap_or(0.5),
            distribution,
            fault_model,
            seed: o.seed.unwrap_or(0),
        })
    }

    pub fn len(&self) -> usize {
        match &self.points {
            Some(p) => p.len(),
            None => self.axes.iter().map(|(_, v)| v.len()).product(),
        }
    }

    /// Point `index`: an explicit point, or of the cartesian product (last axis
    /// fastest).
    pub fn point(&self, index: usize) -> BTreeMap<String, Value> {
        if let Some(points) = &self.points {
            return points[index].clone();
        }
        let mut rest = index;
        let mut out = BTreeMap::new();
        for (key, values) in self.axes.iter().rev() {
            out.insert(key.clone(), values[rest % values.len()].clone());
            rest /= values.len();
        }
        out
    }

    pub fn axis_names(&self) -> Vec<String> {
        self.axes.iter().map(|(k, _)| k.clone()).collect()
    }
}

/// Sets `a.b.c` in a TOML table, keeping the leaf's form (`{ value = … }`,
/// `{ ns = … }`/`{ cycles = … }` or bare).
fn set_path(table: &mut toml::Table, path: &str, value: &Value) -> Result<(), String> {
    let parts: Vec<&str> = path.split('.').collect();
    let (leaf, tables) = parts.split_last().ok_or("empty path")?;
    let mut t = table;
    for p in tables {
        t = match t.get_mut(*p) {
            Some(toml::Value::Table(inner)) => inner,
            _ => return Err(format!("the architecture has no table `{p}`")),
        };
    }
    let new = match value {
        Value::Num(x) if x.fract() == 0.0 && x.abs() < 9e15 => toml::Value::Integer(*x as i64),
        Value::Num(x) => toml::Value::Float(*x),
        Value::Text(s) => toml::Value::String(s.clone()),
    };
    match t.get_mut(*leaf) {
        None => Err(format!("the architecture has no key `{leaf}` there")),
        Some(toml::Value::Table(inner)) => {
            let unit = ["value", "ns", "cycles"].into_iter().find(|k| inner.contains_key(*k));
            let Some(unit) = unit else { return Err(format!("`{leaf}` is a table, not a parameter")) };
            // A float latency in cycles is not an integer count.
            let new = match (unit, &new) {
                ("ns" | "value", toml::Value::Integer(i)) if inner.get(unit).is_some_and(toml::Value::is_float) => {
                    toml::Value::Float(*i as f64)
                }
                _ => new,
            };
            inner.insert(unit.to_owned(), new);
            Ok(())
        }
        Some(slot) => {
            let new = match (&*slot, &new) {
                (toml::Value::Float(_), toml::Value::Integer(i)) => toml::Value::Float(*i as f64),
                _ => new,
            };
            *slot = new;
            Ok(())
        }
    }
}

/// Runs one point; model errors (an invalid architecture, a network that does
/// not fit) become an `invalid` row, not a failure of the sweep.
pub fn run_point(spec: &Spec, index: usize) -> Row {
    let point = spec.point(index);
    let mut row = Row::new(index as u64, point.clone());
    match evaluate(spec, index, &point) {
        Ok(metrics) => row.metrics = metrics,
        Err(e) => {
            row.status = "invalid".into();
            row.error = e.to_string();
        }
    }
    row
}

fn evaluate(spec: &Spec, index: usize, point: &BTreeMap<String, Value>) -> CliResult<BTreeMap<String, f64>> {
    let mut table: toml::Table = toml::from_str(&spec.arch_text).map_err(CliError::internal)?;
    for (k, v) in point {
        if !POINT_AXES.contains(&k.as_str()) {
            set_path(&mut table, k, v).map_err(CliError::input)?;
        }
    }
    let text = toml::to_string(&table).map_err(CliError::internal)?;
    let (arch, _) = load_arch_toml(&spec.arch_label, &text).map_err(|e| CliError::input(e.message))?;
    let num = |k: &str| point.get(k).map(Value::num);
    let width = num("width").unwrap_or(1.0);
    let kernel = num("shortcut_kernel").unwrap_or(1.0) as usize;
    let net = RunWorkload {
        workload: point["workload"].text(),
        widen: (width != 1.0).then_some(width),
        shortcut_kernel: (kernel != 1).then_some(kernel),
    }
    .load()?;
    let offload = OffloadSpec::parse(&point.get("offload").map(Value::text).unwrap_or_else(|| "all-rram".into()))?;
    let fault_rate = num("fault_rate").unwrap_or(0.0);
    // 53 bits, so the seed survives a Float64 results column exactly.
    let seed = match num("fault_seed") {
        Some(s) => s as u64,
        None => splitmix(spec.seed ^ splitmix(index as u64)) >> 11,
    };
    let rram = map_network(&net, &arch, &MappingOptions::rram(spec.replication)).map_err(CliError::input)?;
    let fault_map = if fault_rate > 0.0 {
        let params =
            GenParams { rate: fault_rate, sa1_fraction: spec.sa1_fraction, distribution: spec.distribution, seed };
        Some(generate(Geometry::of(&arch), rram.chips_used.max(1), params).map_err(CliError::input)?)
    } else {
        None
    };
    let offload = resolve_offload(&offload, &net, &arch, spec.replication, fault_map.as_ref(), spec.fault_model)?;
    let options = MappingOptions { replication: spec.replication, offload };
    let (mapping, result) = simulate_network(&net, &arch, &options, spec.batch)?;
    let energy = result.energy(&arch).0;
    let macs: u64 = result.layers.iter().map(|l| l.macs).sum();
    let mut m = BTreeMap::new();
    m.insert("total_cycles".into(), result.total_cycles.get() as f64);
    m.insert("latency_ns".into(), result.latency(&arch).0);
    m.insert("throughput_images_per_s".into(), arch.clock.ghz() * 1e9 / result.cycles_per_image());
    m.insert("energy_pj".into(), energy);
    m.insert("tops_per_w".into(), 2.0 * macs as f64 / energy);
    m.insert("crossbars".into(), mapping.crossbars_used as f64);
    m.insert("tiles".into(), f64::from(mapping.tiles_used));
    m.insert("chips".into(), f64::from(mapping.chips_used));
    m.insert("digital_utilization".into(), result.digital_utilization());
    m.insert("seed".into(), seed as f64);
    if let Some(map) = &fault_map {
        let stats = run_layer_stats(&net, &arch, &mapping, map, spec.fault_model)?;
        let weights: u64 = stats.iter().map(|s| s.weights).sum();
        let changed: u64 = stats.iter().map(|s| s.weights_changed).sum();
        m.insert("weights_changed_fraction".into(), if weights > 0 { changed as f64 / weights as f64 } else { 0.0 });
    }
    Ok(m)
}

fn parse_shard(s: &str) -> CliResult<(usize, usize)> {
    let bad = || CliError::input(format!("--shard: expected I/N with 0 <= I < N, got `{s}`"));
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

pub fn run(args: SweepArgs) -> CliResult<()> {
    if let Some(SweepCommand::Merge { inputs, output }) = args.merge {
        return merge(&inputs, &output);
    }
    let spec_path = args.spec.ok_or_else(|| CliError::input("sweep needs a spec file (or `sweep merge`)"))?;
    let spec = Spec::load(&spec_path)?;
    let total = spec.len();
    if args.list {
        for i in 0..total {
            let line = serde_json::json!({ "index": i, "point": spec.point(i) });
            println!("{line}");
        }
        return Ok(());
    }
    let output = args.output.ok_or_else(|| CliError::input("sweep needs -o results.parquet|csv|json"))?;
    let selected: Vec<usize> = match (args.point, &args.shard) {
        (Some(i), _) if i >= total => {
            return Err(CliError::input(format!("--point {i}: the sweep has {total} points (0..{total})")));
        }
        (Some(i), _) => vec![i],
        (None, Some(s)) => {
            let (i, n) = parse_shard(s)?;
            (0..total).filter(|p| p % n == i).collect()
        }
        (None, None) => (0..total).collect(),
    };
    // Resume: points already in the output are kept, not run again.
    let mut rows = if output.exists() { read_rows(&output)? } else { Vec::new() };
    let done: std::collections::HashSet<u64> = rows.iter().map(|r| r.index).collect();
    let todo: Vec<usize> = selected.into_iter().filter(|i| !done.contains(&(*i as u64))).collect();
    let bar = crate::output::progress_bar(todo.len() as u64, "points")?;
    let new_rows: Vec<Row> = todo
        .par_iter()
        .map(|&i| {
            let r = run_point(&spec, i);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let invalid = new_rows.iter().filter(|r| r.status != "ok").count();
    rows.extend(new_rows);
    rows.sort_by_key(|r| r.index);
    write_rows(&output, &spec.axis_names(), &rows)?;
    eprintln!(
        "wrote {}: {} points ({} run now, {} kept, {invalid} invalid)",
        output.display(),
        rows.len(),
        todo.len(),
        done.len()
    );
    Ok(())
}

fn merge(inputs: &[PathBuf], output: &Path) -> CliResult<()> {
    if inputs.is_empty() {
        return Err(CliError::input("sweep merge needs input files"));
    }
    let mut rows: Vec<Row> = Vec::new();
    for p in inputs {
        rows.extend(read_rows(p)?);
    }
    rows.sort_by_key(|r| r.index);
    for w in rows.windows(2) {
        if w[0].index == w[1].index && w[0] != w[1] {
            return Err(CliError::input(format!("point {} appears twice with different results", w[0].index)));
        }
    }
    rows.dedup();
    let axes: Vec<String> = rows.first().map(|r| r.point.keys().cloned().collect()).unwrap_or_default();
    write_rows(output, &axes, &rows)?;
    eprintln!("wrote {} ({} points from {} files)", output.display(), rows.len(), inputs.len());
    Ok(())
}
