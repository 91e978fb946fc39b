//! Design-space sweeps. A spec names axes (architecture parameters by TOML
//! path, workload, width, shortcut kernel, offload policy, fault rate and seed);
//! their cartesian product (last axis fastest) — or an explicit list of points —
//! is run in parallel. Every point reports the check model's peak figures of
//! one chip (`peak_tops`, `peak_power_w`, `chip_area_mm2`, `peak_tops_per_w` (the bound
//! `check` prints), `peak_tops_per_w_full_rate` (Table-I style), `peak_tops_per_mm2`); a point with a `workload` also runs it, a spec without
//! one is a sweep of the check model alone. Each point's seed is derived from
//! its index, so results do not depend on the thread count, and the cluster
//! contract (list, one point, a shard, merge) lets any existing scheduler
//! (Dask, Slurm) run the points.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use rramsim_core::{SourceError, splitmix};
use rramsim_fault::{Distribution, FaultModel};
use rramsim_map::{Replication, ReplicationBudget};
use serde::Deserialize;

use crate::arch::Arch;
use crate::error::{Error, Result};
use crate::experiment::{RunOptions, prepare};
use crate::options::{
    FaultSpec, OffloadSpec, check_batch, check_budget, check_probability, check_width, parse_distribution,
    parse_fault_model, parse_replication,
};
use crate::results::{Row, Value};
use crate::workload::WorkloadSpec;

/// An `[axes]` entry or a `[[point]]` value, with where the spec writes it
/// (axes run, and columns appear, in the order the spec writes them).
type Spanned = toml::Spanned<toml::Value>;

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
    axes: BTreeMap<String, Spanned>,
    /// …or an explicit list of points (`[[point]]` tables), not both.
    #[serde(default)]
    point: Vec<BTreeMap<String, Spanned>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    batch: Option<u32>,
    replication: Option<String>,
    /// Replication budget: most replicas per layer, chips the mapping may use.
    max_replicas: Option<f64>,
    chip_budget: Option<f64>,
    sa1_fraction: Option<f64>,
    distribution: Option<String>,
    fault_model: Option<String>,
    /// Base of the per-point seeds.
    seed: Option<u64>,
}

/// Axes that are not architecture parameters.
const POINT_AXES: [&str; 8] =
    ["workload", "width", "shortcut_kernel", "offload", "fault_rate", "fault_seed", "max_replicas", "chip_budget"];

/// A validated spec.
#[derive(Debug)]
pub struct Spec {
    arch_text: String,
    arch_label: String,
    /// Axis name → values, in the order the spec writes them.
    axes: Vec<(String, Vec<Value>)>,
    /// Explicit points, when the spec lists them instead of axes.
    points: Option<Vec<BTreeMap<String, Value>>>,
    batch: u32,
    replication: Replication,
    budget: ReplicationBudget,
    sa1_fraction: f64,
    distribution: Distribution,
    fault_model: FaultModel,
    seed: u64,
    /// Files the spec reads (its architecture file, workload files).
    inputs: Vec<std::path::PathBuf>,
    /// A hash of the canonical spec (see [`Spec::identity`]).
    identity: String,
}

fn spec_err(file: &str, source: &str, span: Option<std::ops::Range<usize>>, key: Option<&str>, msg: String) -> Error {
    Error::input(SourceError::at(file, source, span, key.map(str::to_owned), msg))
}

fn to_value(file: &str, key: &str, v: &toml::Value) -> Result<Value> {
    match v {
        toml::Value::Integer(i) => Ok(Value::Num(*i as f64)),
        toml::Value::Float(f) => Ok(Value::Num(*f)),
        toml::Value::String(s) => Ok(Value::Text(s.clone())),
        other => Err(Error::input(format!("{file}: axis `{key}`: values must be numbers or strings, got {other}"))),
    }
}

/// Expands `[a, b]` or `{ from, to, step }` (inclusive) into values.
fn axis_values(file: &str, key: &str, v: &toml::Value) -> Result<Vec<Value>> {
    match v {
        toml::Value::Array(items) => {
            if items.is_empty() {
                return Err(Error::input(format!("{file}: axis `{key}` has no values")));
            }
            items.iter().map(|i| to_value(file, key, i)).collect()
        }
        toml::Value::Table(t) => {
            let num = |k: &str| -> Result<f64> {
                match t.get(k) {
                    Some(toml::Value::Integer(i)) => Ok(*i as f64),
                    Some(toml::Value::Float(f)) => Ok(*f),
                    _ => Err(Error::input(format!(
                        "{file}: axis `{key}`: a range needs numeric `from`, `to` and `step`"
                    ))),
                }
            };
            if let Some(extra) = t.keys().find(|k| !["from", "to", "step"].contains(&k.as_str())) {
                return Err(Error::input(format!("{file}: axis `{key}`: unknown range key `{extra}`")));
            }
            let (from, to, step) = (num("from")?, num("to")?, num("step")?);
            if step.is_nan() || step <= 0.0 || to < from {
                return Err(Error::input(format!("{file}: axis `{key}`: need step > 0 and to >= from")));
            }
            // Counted in f64 before the cast: an infinite or huge range is refused,
            // not saturated to usize::MAX and wrapped by the + 1.
            let n = ((to - from) / step + 1e-9).floor() + 1.0;
            if n.is_nan() || n > 1e6 {
                return Err(Error::input(format!("{file}: axis `{key}` has {n} values, more than 1000000")));
            }
            let n = n as usize;
            Ok((0..n).map(|i| Value::Num(from + i as f64 * step)).collect())
        }
        single => Ok(vec![to_value(file, key, single)?]),
    }
}

impl Spec {
    /// Reads a spec file; an architecture path in it is relative to the file.
    pub fn load(path: &Path) -> Result<Spec> {
        let text = crate::io::read_text(path)?;
        Self::parse(&path.display().to_string(), &text, path.parent().unwrap_or(Path::new(".")))
    }

    /// Parses spec text; `file` names it in errors and architecture paths are
    /// relative to `base`.
    pub fn parse(file: &str, text: &str, base: &Path) -> Result<Spec> {
        let file = file.to_owned();
        let base_dir = base;
        let raw: RawSpec = toml::from_str(text)
            .map_err(|e| spec_err(&file, text, e.span(), None, e.message().trim_end().to_owned()))?;
        let (arch_text, arch_label) = match rramsim_hw::preset(&raw.arch) {
            Some(t) => (t.to_owned(), format!("<preset {}>", raw.arch)),
            None => {
                let p = base.join(&raw.arch);
                let t = std::fs::read_to_string(&p).map_err(|e| {
                    Error::input(format!("{file}: arch `{}`: cannot read {}: {e}", raw.arch, p.display()))
                })?;
                (t, p.display().to_string())
            }
        };
        // The base architecture must be valid on its own.
        Arch::from_text(&arch_label, &arch_text)?;
        let base: toml::Table = toml::from_str(&arch_text).map_err(|e| Error::input(format!("{arch_label}: {e}")))?;
        let number = |v: &Value| -> Result<f64> {
            match v {
                Value::Num(x) => Ok(*x),
                Value::Text(t) => Err(Error::input(format!("{file}: `{t}` is not a number"))),
            }
        };
        let check = |key: &str, values: &[Value]| -> Result<()> {
            if !POINT_AXES.contains(&key) {
                // An architecture parameter: it must exist in the base config.
                let mut probe = base.clone();
                set_path(&mut probe, key, &values[0])
                    .map_err(|e| Error::input(format!("{file}: axis `{key}`: {e}")))?;
            }
            // Point axes are validated as every entry point validates them.
            let at = |e: Error| e.context(format!("{file}: axis `{key}`"));
            for v in values {
                match key {
                    "offload" => drop(OffloadSpec::parse(&v.text()).map_err(at)?),
                    "fault_rate" => drop(check_probability("fault rate", number(v)?).map_err(at)?),
                    "width" => drop(check_width(number(v)?).map_err(at)?),
                    "shortcut_kernel" | "fault_seed" => {
                        let x = number(v)?;
                        if !(x.fract() == 0.0 && x >= 1.0 - f64::from(u8::from(key == "fault_seed")) && x < 9e15) {
                            return Err(at(Error::input(format!("expected a whole number, got {}", v.text()))));
                        }
                    }
                    _ => {}
                }
            }
            Ok(())
        };
        let mut axes = Vec::new();
        let mut written: Vec<(&String, &Spanned)> = raw.axes.iter().collect();
        written.sort_by_key(|(_, v)| v.span().start);
        for (key, v) in written {
            let values = axis_values(&file, key, v.get_ref())?;
            check(key, &values)?;
            axes.push((key.clone(), values));
        }
        check_point_count(&file, &axes)?;
        let points = if raw.point.is_empty() {
            None
        } else {
            if !axes.is_empty() {
                return Err(Error::input(format!("{file}: give either [axes] or [[point]] tables, not both")));
            }
            let mut pts = Vec::new();
            for (i, table) in raw.point.iter().enumerate() {
                let mut p = BTreeMap::new();
                for (key, v) in table {
                    let value = to_value(&file, key, v.get_ref())?;
                    check(key, std::slice::from_ref(&value)).map_err(|e| Error::input(format!("point {i}: {e}")))?;
                    p.insert(key.clone(), value);
                }
                if let Some(k) = p.keys().find(|k| POINT_AXES.contains(&k.as_str()))
                    && !p.contains_key("workload")
                {
                    return Err(Error::input(format!("{file}: point {i} needs a `workload` for `{k}`")));
                }
                pts.push(p);
            }
            // Columns: every key any point names, in the order they first appear.
            let mut keys: Vec<(usize, &String)> =
                raw.point.iter().flat_map(|t| t.iter().map(|(k, v)| (v.span().start, k))).collect();
            keys.sort();
            let mut seen = std::collections::HashSet::new();
            axes = keys.into_iter().filter(|(_, k)| seen.insert(*k)).map(|(_, k)| (k.clone(), Vec::new())).collect();
            Some(pts)
        };
        let o = raw.options;
        let file_ref = file.as_str();
        let at = |key: &'static str| move |e: Error| e.context(format!("{file_ref}: options.{key}"));
        let replication =
            parse_replication(o.replication.as_deref().unwrap_or("balanced")).map_err(at("replication"))?;
        let budget = ReplicationBudget {
            max_replicas: o
                .max_replicas
                .map(|v| check_budget("max_replicas", v))
                .transpose()
                .map_err(at("max_replicas"))?,
            chips: o.chip_budget.map(|v| check_budget("chip_budget", v)).transpose().map_err(at("chip_budget"))?,
        };
        let distribution =
            parse_distribution(o.distribution.as_deref().unwrap_or("uniform")).map_err(at("distribution"))?;
        let fault_model = parse_fault_model(o.fault_model.as_deref().unwrap_or("cell")).map_err(at("fault_model"))?;
        let batch = check_batch(u64::from(o.batch.unwrap_or(1))).map_err(at("batch"))?;
        let sa1_fraction =
            check_probability("SA1 fraction", o.sa1_fraction.unwrap_or(0.5)).map_err(at("sa1_fraction"))?;
        // Without a workload a point runs only the check model (peak figures);
        // the other point axes describe a run and need one.
        if points.is_none()
            && !axes.iter().any(|(k, _)| k == "workload")
            && let Some((k, _)) = axes.iter().find(|(k, _)| POINT_AXES.contains(&k.as_str()))
        {
            return Err(Error::input(format!("{file}: the axes need a `workload` for `{k}`")));
        }
        let mut inputs: Vec<std::path::PathBuf> = Vec::new();
        if rramsim_hw::preset(&raw.arch).is_none() {
            inputs.push(base_dir.join(&raw.arch));
        }
        let workloads = axes.iter().filter(|(k, _)| k == "workload").flat_map(|(_, v)| v.iter());
        let point_workloads = points.iter().flatten().filter_map(|p| p.get("workload"));
        inputs.extend(workloads.chain(point_workloads).map(|w| std::path::PathBuf::from(w.text())));
        let mut spec = Spec {
            arch_text,
            arch_label,
            axes,
            points,
            batch,
            replication,
            budget,
            sa1_fraction,
            distribution,
            fault_model,
            seed: o.seed.unwrap_or(0),
            inputs,
            identity: String::new(),
        };
        spec.identity = spec.canonical_hash(&base)?;
        Ok(spec)
    }

    /// FNV-1a (64 bit) of the canonical spec: the resolved base architecture
    /// (as a TOML table, so comments and layout do not count), the axes in
    /// order with their expanded values or the explicit points, and every
    /// option with its default applied, and the contents of the workload files
    /// it reads (a zoo name reads none). Two specs with the same identity have
    /// the same points with the same results (with the same rramsim).
    fn canonical_hash(&self, arch: &toml::Table) -> Result<String> {
        let fnv = |bytes: &[u8]| {
            bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
        };
        let mut files = Vec::new();
        for p in self.inputs.iter().filter(|p| p.is_file()) {
            files.push(format!("{:016x}", fnv(&crate::io::read_bytes(p)?)));
        }
        let mut canonical = serde_json::json!({
            "version": crate::VERSION,
            "files": files,
            "arch": arch,
            "axes": self.axes,
            "points": self.points,
            "batch": self.batch,
            "replication": format!("{:?}", self.replication),
            "sa1_fraction": self.sa1_fraction,
            "distribution": format!("{:?}", self.distribution),
            "fault_model": format!("{:?}", self.fault_model),
            "seed": self.seed,
        });
        // Only when set, so specs without a budget keep their identity.
        if self.budget != ReplicationBudget::default() {
            canonical["budget"] = serde_json::json!(self.budget.name());
        }
        let bytes = serde_json::to_vec(&canonical).map_err(Error::internal)?;
        Ok(format!("{:016x}", fnv(&bytes)))
    }

    /// The spec's identity, stored with its results: resuming into, or merging,
    /// results of another spec is refused.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Files the spec reads (an output must not be one of them).
    pub fn input_files(&self) -> &[std::path::PathBuf] {
        &self.inputs
    }

    /// Point `index` as one JSON line, `{"index": …, "point": {…}}`, its axes in
    /// spec order and whole numbers printed as integers.
    pub fn point_json(&self, index: usize) -> String {
        let point = self.point(index);
        let fields: Vec<String> = self
            .axes
            .iter()
            .filter_map(|(k, _)| {
                let v = point.get(k)?;
                Some(format!("{}:{}", serde_json::Value::from(k.as_str()), serde_json::to_string(v).ok()?))
            })
            .collect();
        format!("{{\"index\":{index},\"point\":{{{}}}}}", fields.join(","))
    }

    /// Whether the spec has no points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of points.
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

/// The axes' product of lengths must not overflow, and the result rows of all
/// its points (kept until written) must fit the memory budget.
fn check_point_count(file: &str, axes: &[(String, Vec<Value>)]) -> Result<()> {
    let Some(points) = axes.iter().try_fold(1usize, |n, (_, v)| n.checked_mul(v.len())) else {
        let lengths: Vec<String> = axes.iter().map(|(k, v)| format!("{k}: {}", v.len())).collect();
        return Err(Error::input(format!(
            "{file}: the axes' lengths ({}) multiply past 2^64 points",
            lengths.join(", ")
        )));
    };
    // A row: its fixed part, and map entries (key, value, node share) for the
    // point's axes and the metrics (fewer than 32).
    let row_bytes = std::mem::size_of::<crate::results::Row>() + (axes.len() + 32) * 96;
    rramsim_core::budget::check(
        format_args!("{file}: {points} sweep points (a result row each)"),
        points as u128,
        row_bytes as u128,
    )?;
    Ok(())
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
                // A switch (`pe.adc.flip_encoding`) is swept as "true" / "false".
                (toml::Value::Boolean(_), toml::Value::String(b)) if b == "true" || b == "false" => {
                    toml::Value::Boolean(b == "true")
                }
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
            // One line (a located error's first line names the key): result
            // rows are read back line by line on resume and merge.
            row.error = e.to_string().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
        }
    }
    row
}

fn evaluate(spec: &Spec, index: usize, point: &BTreeMap<String, Value>) -> Result<BTreeMap<String, f64>> {
    let mut table: toml::Table = toml::from_str(&spec.arch_text).map_err(Error::internal)?;
    for (k, v) in point {
        if !POINT_AXES.contains(&k.as_str()) {
            set_path(&mut table, k, v).map_err(Error::input)?;
        }
    }
    let text = toml::to_string(&table).map_err(Error::internal)?;
    // The point's row names the axes; the message alone says what is wrong.
    let (params, warnings) =
        rramsim_hw::load_arch_toml(&spec.arch_label, &text).map_err(|e| Error::input(e.message))?;
    let arch = Arch { params, warnings, label: spec.arch_label.clone(), text };
    // The check model's peak figures (one chip), for every point.
    let peak = crate::arch::check(&arch);
    let mut out = BTreeMap::new();
    out.insert("peak_tops".into(), peak.peak_tops);
    out.insert("peak_power_w".into(), peak.peak_power_w);
    out.insert("chip_area_mm2".into(), peak.area_mm2.chip);
    out.insert("peak_tops_per_w".into(), peak.tops_per_w);
    out.insert("peak_tops_per_w_full_rate".into(), peak.tops_per_w_full_rate);
    out.insert("peak_tops_per_mm2".into(), peak.tops_per_mm2);
    let Some(workload) = point.get("workload") else { return Ok(out) };
    let num = |k: &str| point.get(k).map(Value::num);
    let workload = WorkloadSpec::new(workload.text())
        .widened(num("width"))
        .with_shortcut_kernel(num("shortcut_kernel").map(|k| k as usize));
    let net = workload.load()?;
    let offload = OffloadSpec::parse(&point.get("offload").map(Value::text).unwrap_or_else(|| "all-rram".into()))?;
    let fault_rate = num("fault_rate").unwrap_or(0.0);
    // 53 bits, so the seed survives a Float64 results column exactly.
    let seed = match num("fault_seed") {
        Some(s) => s as u64,
        None => splitmix(spec.seed ^ splitmix(index as u64)) >> 11,
    };
    let faults = (fault_rate > 0.0)
        .then(|| FaultSpec::generated(fault_rate, spec.sa1_fraction, spec.distribution, seed, spec.fault_model))
        .transpose()?;
    let budget = ReplicationBudget {
        max_replicas: num("max_replicas")
            .map(|v| check_budget("max_replicas", v))
            .transpose()?
            .or(spec.budget.max_replicas),
        chips: num("chip_budget").map(|v| check_budget("chip_budget", v)).transpose()?.or(spec.budget.chips),
    };
    let options =
        RunOptions { offload, replication: spec.replication, budget, batch: spec.batch, faults, ..Default::default() };
    let run = prepare(&arch, net, &workload.label(), &options)?;
    let m = run.simulate()?.metrics;
    out.insert("total_cycles".into(), m.total_cycles as f64);
    out.insert("latency_ns".into(), m.latency_ns);
    out.insert("throughput_images_per_s".into(), m.throughput_images_per_s);
    out.insert("energy_pj".into(), m.energy_pj);
    out.insert("steady_state_energy_per_image_pj".into(), m.steady_state_energy_per_image_pj);
    out.insert("tops_per_w".into(), m.tops_per_w);
    out.insert("crossbars".into(), m.crossbars as f64);
    out.insert("tiles".into(), f64::from(m.tiles));
    out.insert("chips".into(), f64::from(m.chips));
    out.insert("digital_utilization".into(), m.digital_utilization);
    out.insert("seed".into(), seed as f64);
    if let Some(stats) = run.fault_stats()? {
        let weights: u64 = stats.iter().map(|s| s.weights).sum();
        let changed: u64 = stats.iter().map(|s| s.weights_changed).sum();
        out.insert("weights_changed_fraction".into(), if weights > 0 { changed as f64 / weights as f64 } else { 0.0 });
    }
    Ok(out)
}

/// Runs the points `indices` of `spec` in parallel; `progress` is called once
/// per finished point (from any thread). Rows come in the order of `indices`.
pub fn run_points(spec: &Spec, indices: &[usize], progress: &(dyn Fn() + Sync)) -> Vec<Row> {
    indices
        .par_iter()
        .map(|&i| {
            let r = run_point(spec, i);
            progress();
            r
        })
        .collect()
}

/// Runs the points `indices` of `spec` in parallel and hands every finished
/// row to `finished` at once (from any thread; a [`crate::results::Journal`]
/// appends it durably), so a killed sweep keeps its finished points. Stops at
/// the first error `finished` returns. Rows come in the order of `indices`.
pub fn run_points_with(
    spec: &Spec,
    indices: &[usize],
    finished: &(dyn Fn(&Row) -> Result<()> + Sync),
) -> Result<Vec<Row>> {
    indices
        .par_iter()
        .map(|&i| {
            let r = run_point(spec, i);
            finished(&r)?;
            Ok(r)
        })
        .collect()
}

/// Parses a `--shard I/N` selector.
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let bad = || Error::input(format!("--shard: expected I/N with 0 <= I < N, got `{s}`"));
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Merges result rows of shards or points: sorted by point index, duplicates
/// dropped, a point with two different results refused.
pub fn merge_rows(mut rows: Vec<Row>) -> Result<Vec<Row>> {
    rows.sort_by_key(|r| r.index);
    for w in rows.windows(2) {
        if w[0].index == w[1].index && w[0] != w[1] {
            return Err(Error::input(format!("point {} appears twice with different results", w[0].index)));
        }
    }
    rows.dedup();
    Ok(rows)
}
