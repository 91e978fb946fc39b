//! `rramsim._rramsim`: the compiled half of the `rramsim` Python package, a
//! thin layer over the `rramsim` facade crate.
//!
//! Conventions:
//! - every function translates its arguments into the facade's validated
//!   options (the same validation as the CLI's) and returns the facade's report
//!   as JSON text, which the pure-Python package (python/rramsim/) turns into
//!   dicts and pandas DataFrames — so figures are the CLI's `--format json`
//!   figures, key for key;
//! - errors reach Python as [`InputError`] (bad input: the CLI's exit code 2)
//!   or [`RramsimError`] (internal), with the facade's located message, never a
//!   panic;
//! - simulations, sweeps and inference run inside `py.detach(..)`, so other
//!   Python threads keep running meanwhile.

use std::path::{Path, PathBuf};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use rramsim::accuracy::{DeviceMode, EvalSpec, InferSpec, Inference};
use rramsim::faults::StatsOn;
use rramsim::options::{check_batch, check_budget, parse_distribution, parse_fault_model, parse_replication};
use rramsim::study::StudySpec;
use rramsim::sweep::Spec;
use rramsim::{Arch, Experiment, FaultSpec, OffloadSpec, RatePer, RunOptions, WorkloadSpec};

create_exception!(rramsim, RramsimError, PyException, "Base class of every error raised by rramsim.");
create_exception!(
    rramsim,
    InputError,
    RramsimError,
    "Bad input: a malformed file, an unknown name or an out-of-range value. \
     The message says where (file:line:column, the key, layer or argument at fault)."
);

fn to_py(e: rramsim::Error) -> PyErr {
    if e.is_input() { InputError::new_err(e.to_string()) } else { RramsimError::new_err(e.to_string()) }
}

fn json(value: &impl serde::Serialize) -> rramsim::Result<String> {
    serde_json::to_string(value).map_err(rramsim::Error::internal)
}

/// The version of the Rust crates this module was built from.
#[pyfunction]
fn version() -> &'static str {
    rramsim::VERSION
}

/// The architecture presets' names.
#[pyfunction]
fn presets() -> Vec<&'static str> {
    rramsim::model::preset_names()
}

/// The zoo networks' names.
#[pyfunction]
fn zoo() -> Vec<&'static str> {
    rramsim::model::ZOO_NAMES.to_vec()
}

/// An optional fault specification from keyword arguments: a map file, or a
/// generated map (rate and seed), as `rramsim run` takes them.
#[allow(clippy::too_many_arguments)]
fn fault_spec(
    faults: Option<PathBuf>,
    fault_rate: Option<f64>,
    seed: Option<u64>,
    sa1_fraction: f64,
    distribution: &str,
    fault_model: &str,
) -> rramsim::Result<Option<FaultSpec>> {
    let model = parse_fault_model(fault_model)?;
    match (faults, fault_rate) {
        (Some(_), Some(_)) => Err(rramsim::Error::input("give either faults= (a map file) or fault_rate=, not both")),
        (Some(path), None) => Ok(Some(FaultSpec::file(path, model))),
        (None, Some(rate)) => {
            let seed = seed.ok_or_else(|| rramsim::Error::input("fault_rate= needs seed="))?;
            Ok(Some(FaultSpec::generated(rate, sa1_fraction, parse_distribution(distribution)?, seed, model)?))
        }
        (None, None) => Ok(None),
    }
}

/// Maps `workload` onto `arch` and simulates it; returns `rramsim run
/// --format json`'s document.
#[pyfunction]
#[pyo3(signature = (
    arch, workload, *, batch = 1, offload = "all-rram", replication = "balanced", widen = None,
    shortcut_kernel = None, faults = None, fault_rate = None, seed = None, sa1_fraction = 0.5,
    distribution = "uniform", fault_model = "cell", trace = None, max_replicas = None, chip_budget = None,
    remap = "none"
))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    arch: String,
    workload: String,
    batch: u64,
    offload: &str,
    replication: &str,
    widen: Option<f64>,
    shortcut_kernel: Option<usize>,
    faults: Option<PathBuf>,
    fault_rate: Option<f64>,
    seed: Option<u64>,
    sa1_fraction: f64,
    distribution: &str,
    fault_model: &str,
    trace: Option<PathBuf>,
    max_replicas: Option<i64>,
    chip_budget: Option<i64>,
    remap: &str,
) -> PyResult<String> {
    // As `run --remap`: the remapping's hardware cost beside the run's figures.
    let remap = rramsim::model::RemapMode::parse(remap)
        .ok_or_else(|| rramsim::Error::input(format!("remap: unknown `{remap}`; expected none, rows or rows+cols")))
        .map_err(to_py)?;
    let experiment = (|| {
        // As `--max-replicas` / `--chip-budget`: whole numbers of at least 1.
        let budget = |what: &str, v: Option<i64>| v.map(|v| check_budget(what, v as f64)).transpose();
        Ok::<_, rramsim::Error>(Experiment {
            arch,
            workload: WorkloadSpec { source: workload, widen, shortcut_kernel },
            options: RunOptions {
                offload: OffloadSpec::parse(offload)?,
                replication: parse_replication(replication)?,
                budget: rramsim::model::ReplicationBudget {
                    max_replicas: budget("max_replicas", max_replicas)?,
                    chips: budget("chip_budget", chip_budget)?,
                },
                batch: check_batch(batch)?,
                faults: fault_spec(faults, fault_rate, seed, sa1_fraction, distribution, fault_model)?,
                remap,
            },
        })
    })()
    .map_err(to_py)?;
    py.detach(|| {
        let run = experiment.prepare()?;
        let outcome = match &trace {
            None => run.simulate()?,
            Some(path) => run.simulate_traced(path, &rramsim::trace::FilterSpec::default())?.0,
        };
        json(&run.report(&outcome)?)
    })
    .map_err(to_py)
}

/// `rramsim check --format json`: resolved parameters and peak figures.
#[pyfunction]
fn check(py: Python<'_>, arch: String) -> PyResult<String> {
    py.detach(|| json(&rramsim::check(&Arch::load(&arch)?))).map_err(to_py)
}

/// `rramsim workload show --format json`: layers, shapes, weights, MACs.
#[pyfunction]
#[pyo3(signature = (workload, *, widen = None, shortcut_kernel = None))]
fn workload(py: Python<'_>, workload: String, widen: Option<f64>, shortcut_kernel: Option<usize>) -> PyResult<String> {
    py.detach(|| {
        let net = WorkloadSpec { source: workload, widen, shortcut_kernel }.load()?;
        json(&rramsim::workload_report(&net))
    })
    .map_err(to_py)
}

/// `rramsim study --format json`: the widening / offload cost study.
#[pyfunction]
#[pyo3(signature = (
    arch, workload, *, widths = vec![1.0, 1.2, 1.6], offload = vec!["all-rram".to_owned(), "pointwise".to_owned()],
    shortcut_kernels = vec![1], replication = "balanced", batch = 1, faults = None, fault_rate = None, seed = None,
    sa1_fraction = 0.5, distribution = "uniform", fault_model = "cell"
))]
#[allow(clippy::too_many_arguments)]
fn study(
    py: Python<'_>,
    arch: String,
    workload: String,
    widths: Vec<f64>,
    offload: Vec<String>,
    shortcut_kernels: Vec<usize>,
    replication: &str,
    batch: u64,
    faults: Option<PathBuf>,
    fault_rate: Option<f64>,
    seed: Option<u64>,
    sa1_fraction: f64,
    distribution: &str,
    fault_model: &str,
) -> PyResult<String> {
    let spec = (|| {
        Ok::<_, rramsim::Error>(StudySpec {
            workload,
            widths,
            offload,
            shortcut_kernels,
            replication: parse_replication(replication)?,
            batch: check_batch(batch)?,
            faults: fault_spec(faults, fault_rate, seed, sa1_fraction, distribution, fault_model)?,
        })
    })()
    .map_err(to_py)?;
    py.detach(|| json(&rramsim::study::run_study(&Arch::load(&arch)?, &spec)?)).map_err(to_py)
}

/// A JSON object's entries in their written order (serde_json's map sorts them).
struct Ordered(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table of axes")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut m: M) -> Result<Ordered, M::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = m.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// A sweep spec given as JSON: the axes in their order, the rest as it is.
#[derive(serde::Deserialize)]
struct JsonSpec {
    axes: Option<Ordered>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

/// Runs a sweep spec — a file path, TOML text, or (`is_json`) a JSON object —
/// and returns its rows (index, point, status, error, metrics) and axis names.
#[pyfunction]
#[pyo3(signature = (spec, *, is_json = false, base_dir = None))]
fn sweep(py: Python<'_>, spec: String, is_json: bool, base_dir: Option<PathBuf>) -> PyResult<String> {
    py.detach(|| {
        let base = base_dir.unwrap_or_else(|| PathBuf::from("."));
        let spec = if is_json {
            let bad = |e: &dyn std::fmt::Display| rramsim::Error::input(format!("sweep spec: {e}"));
            let value: JsonSpec = serde_json::from_str(&spec).map_err(|e| bad(&e))?;
            let table = toml::Value::try_from(value.rest).map_err(|e| bad(&format!("not expressible as TOML: {e}")))?;
            let mut text = toml::to_string(&table).map_err(|e| bad(&e))?;
            // The axes as the dict orders them (they run, and columns appear, in that order).
            if let Some(Ordered(axes)) = value.axes {
                text.push_str("\n[axes]\n");
                for (key, v) in axes {
                    let v = toml::Value::try_from(v).map_err(|e| bad(&format!("axis `{key}`: {e}")))?;
                    text.push_str(&format!("{} = {v}\n", toml::Value::String(key)));
                }
            }
            Spec::parse("<sweep spec>", &text, &base)?
        } else if spec.contains('\n') {
            Spec::parse("<sweep spec>", &spec, &base)?
        } else {
            Spec::load(Path::new(&spec))?
        };
        let indices: Vec<usize> = (0..spec.len()).collect();
        let rows = rramsim::sweep::run_points(&spec, &indices, &|| {});
        json(&serde_json::json!({ "axes": spec.axis_names(), "metrics": rramsim::results::METRICS, "rows": rows }))
    })
    .map_err(to_py)
}

/// Generates a fault map over `chips` chips of `arch`, writes it to `output`
/// when given, and returns `rramsim faults stats --format json` of it.
#[pyfunction]
#[pyo3(signature = (arch, rate, *, seed, sa1_fraction = 0.5, distribution = "uniform", chips = 1, output = None))]
#[allow(clippy::too_many_arguments)]
fn faults_generate(
    py: Python<'_>,
    arch: String,
    rate: f64,
    seed: u64,
    sa1_fraction: f64,
    distribution: &str,
    chips: u32,
    output: Option<PathBuf>,
) -> PyResult<String> {
    let spec = parse_distribution(distribution)
        .and_then(|d| FaultSpec::generated(rate, sa1_fraction, d, seed, rramsim::model::FaultModel::Cell))
        .map_err(to_py)?;
    py.detach(|| {
        let arch = Arch::load(&arch)?;
        let map = rramsim::faults::generate(&arch.params, &spec, chips)?;
        let label = match &output {
            Some(path) => {
                rramsim::io::write_atomic(path, &rramsim::faults::to_bytes(&map))?;
                path.display().to_string()
            }
            None => "<generated map>".to_owned(),
        };
        json(&rramsim::faults::stats(&map, &label, None, false)?)
    })
    .map_err(to_py)
}

/// `rramsim faults stats --format json` of a map file; with `arch` and
/// `workload`, per-layer statistics of the mapped workload.
#[pyfunction]
#[pyo3(signature = (path, *, arch = None, workload = None, replication = "balanced", fault_model = "cell", per_crossbar = false))]
fn faults_stats(
    py: Python<'_>,
    path: PathBuf,
    arch: Option<String>,
    workload: Option<String>,
    replication: &str,
    fault_model: &str,
    per_crossbar: bool,
) -> PyResult<String> {
    let (replication, model) =
        parse_replication(replication).and_then(|r| Ok((r, parse_fault_model(fault_model)?))).map_err(to_py)?;
    py.detach(|| {
        let map = rramsim::faults::read(&path)?;
        let arch = match (&arch, &workload) {
            (Some(a), Some(_)) => Some(Arch::load(a)?),
            (None, None) => None,
            _ => return Err(rramsim::Error::input("arch= and workload= go together")),
        };
        let on = match (&arch, &workload) {
            (Some(arch), Some(workload)) => Some(StatsOn { arch, workload, replication, model }),
            _ => None,
        };
        json(&rramsim::faults::stats(&map, &path.display().to_string(), on, per_crossbar)?)
    })
    .map_err(to_py)
}

/// `rramsim eval --format json`: float, quantized fault-free and Monte Carlo
/// accuracy over fault maps.
#[pyfunction]
#[pyo3(signature = (
    model, *, data = "fashion-mnist".to_owned(), images = None, arch = None, offload = "all-rram".to_owned(),
    replication = "balanced", fault_rate = 0.0, rate_per = "cell", sa1_fraction = 0.5, distribution = "uniform",
    fault_model = "cell", seeds = 10, seed = 1, adc_clip = false, weights = None, device = "exact", time = None,
    remap = "none"
))]
#[allow(clippy::too_many_arguments)]
fn eval(
    py: Python<'_>,
    model: String,
    data: String,
    images: Option<usize>,
    arch: Option<String>,
    offload: String,
    replication: &str,
    fault_rate: f64,
    rate_per: &str,
    sa1_fraction: f64,
    distribution: &str,
    fault_model: &str,
    seeds: u32,
    seed: u64,
    adc_clip: bool,
    weights: Option<String>,
    device: &str,
    time: Option<f64>,
    remap: &str,
) -> PyResult<String> {
    let spec = (|| {
        Ok::<_, rramsim::Error>(EvalSpec {
            remap: rramsim::model::RemapMode::parse(remap).ok_or_else(|| {
                rramsim::Error::input(format!("remap: unknown `{remap}`; expected none, rows or rows+cols"))
            })?,
            model,
            weights,
            data,
            images,
            arch,
            offload,
            replication: parse_replication(replication)?,
            fault_rate,
            rate_per: match rate_per {
                "cell" => RatePer::Cell,
                "weight" => RatePer::Weight,
                other => {
                    return Err(rramsim::Error::input(format!("rate_per: unknown `{other}`; expected cell or weight")));
                }
            },
            sa1_fraction,
            distribution: parse_distribution(distribution)?,
            fault_model: parse_fault_model(fault_model)?,
            seeds,
            seed,
            adc_clip,
            device: DeviceMode::parse(device)?,
            time_s: time,
        })
    })()
    .map_err(to_py)?;
    py.detach(|| json(&rramsim::accuracy::eval(&spec, &mut |_, _| {})?)).map_err(to_py)
}

/// Functional inference of a float32 batch given as raw little-endian bytes
/// and its shape; returns the outputs' bytes and `[N, outputs]`.
#[pyfunction]
#[pyo3(signature = (
    model, data, shape, *, weights = None, arch = None, offload = "all-rram".to_owned(), fault_rate = None, seed = 1,
    sa1_fraction = 0.5, fault_model = "cell", adc_clip = false, device = "exact", time = None
))]
#[allow(clippy::too_many_arguments)]
fn infer(
    py: Python<'_>,
    model: String,
    data: Vec<u8>,
    shape: Vec<usize>,
    weights: Option<String>,
    arch: Option<String>,
    offload: String,
    fault_rate: Option<f64>,
    seed: u64,
    sa1_fraction: f64,
    fault_model: &str,
    adc_clip: bool,
    device: &str,
    time: Option<f64>,
) -> PyResult<(Vec<u8>, [usize; 2])> {
    let fault_model = parse_fault_model(fault_model).map_err(to_py)?;
    let device = DeviceMode::parse(device).map_err(to_py)?;
    py.detach(|| {
        if data.len() % 4 != 0 {
            return Err(rramsim::Error::input(format!("{} bytes are not float32 values", data.len())));
        }
        let values: Vec<f32> = data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let spec = InferSpec {
            model,
            weights,
            arch,
            offload,
            fault_rate,
            seed,
            sa1_fraction,
            fault_model,
            adc_clip,
            device,
            time_s: time,
        };
        let (outs, out_shape) = Inference::new(&spec)?.run(&shape, &values)?;
        Ok((outs.iter().flat_map(|v| v.to_le_bytes()).collect(), out_shape))
    })
    .map_err(to_py)
}

#[pymodule]
fn _rramsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("RramsimError", py.get_type::<RramsimError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(presets, m)?)?;
    m.add_function(wrap_pyfunction!(zoo, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(workload, m)?)?;
    m.add_function(wrap_pyfunction!(study, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(faults_generate, m)?)?;
    m.add_function(wrap_pyfunction!(faults_stats, m)?)?;
    m.add_function(wrap_pyfunction!(eval, m)?)?;
    m.add_function(wrap_pyfunction!(infer, m)?)?;
    Ok(())
}
