//! `rramsim train`, `rramsim eval` and `rramsim infer`: accuracy under faults.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use rramsim_fault::{Distribution, FaultModel, GenParams, Geometry, generate, splitmix};
use rramsim_func::{DataSpec, Dataset, Functional, HardwareOptions, Split, hardware_weights};
use rramsim_graph::Network;
use rramsim_hw::ArchParams;
use rramsim_map::{MappingOptions, Offload, map_network};
use serde::Serialize;

use crate::arch::load_arch;
use crate::error::{CliError, CliResult};
use crate::faults::{DistributionArg, FaultModelArg};
use crate::output::{Format, progress_bar, thousands, write_atomic};
use crate::run::{OffloadSpec, ReplicationArg};
use crate::workload::WorkloadArgs;

fn fixed_offload(text: &str) -> CliResult<Offload> {
    match OffloadSpec::parse(text)? {
        OffloadSpec::Fixed(o) => Ok(o),
        OffloadSpec::Auto { .. } => Err(CliError::input(
            "--offload auto is not available here: give all-rram, pointwise, all-digital or layers=",
        )),
    }
}

fn data(spec: &str, split: Split, limit: Option<usize>) -> CliResult<Dataset> {
    let spec = DataSpec::parse(spec).map_err(|e| CliError::input(format!("--data: {e}")))?;
    let d = spec.load(split).map_err(CliError::input)?;
    Ok(match limit {
        Some(n) => d.truncated(n),
        None => d,
    })
}

fn load_model(path: &str) -> CliResult<Network> {
    WorkloadArgs { workload: path.to_owned(), widen: None, shortcut_kernel: None }.load()
}

/// `model` (any workload), with the parameters of the same-named layers of the
/// ONNX file `weights` when given.
fn load_with_weights(model: &str, weights: Option<&str>) -> CliResult<Network> {
    let net = load_model(model)?;
    let Some(weights) = weights else { return Ok(net) };
    let source = load_model(weights)?;
    let mut b = net.to_builder();
    for id in net.ids() {
        let layer = net.layer(id);
        if !(layer.op.has_weights() || matches!(layer.op, rramsim_graph::Op::BatchNorm(_))) {
            continue;
        }
        let found = source.find(&layer.name).and_then(|s| source.layer(s).params.clone()).ok_or_else(|| {
            CliError::input(format!("--weights {weights}: no parameters for layer `{}` of {model}", layer.name))
        })?;
        b.layer_mut(&layer.name).expect("the layer exists").params = Some(found);
    }
    // Building checks every parameter's size against its layer.
    b.build().map_err(|e| CliError::input(format!("--weights {weights}: {e}")))
}

#[derive(Debug, Args)]
#[cfg_attr(not(feature = "train"), allow(dead_code))]
pub struct TrainArgs {
    /// The model family: resnet-mini (1x1 projection shortcuts) or mobilenet-mini (pointwise convs).
    #[arg(long)]
    pub model: String,
    /// Channel width multiplier.
    #[arg(long, default_value_t = 1.0)]
    pub width: f64,
    /// Drop-connect rate: the fraction of RRAM-bound weights zeroed at every step.
    #[arg(long, default_value_t = 0.0)]
    pub drop_connect: f64,
    /// Offload policy the model is trained for (its digital-unit layers are not masked).
    #[arg(long, default_value = "all-rram")]
    pub offload: String,
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Dataset: fashion-mnist[:DIR] or cifar10:DIR.
    #[arg(long, default_value = "fashion-mnist")]
    pub data: String,
    /// Use the first N training images.
    #[arg(long)]
    pub train_images: Option<usize>,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0.003)]
    pub lr: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output ONNX file.
    #[arg(short, long)]
    pub output: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[cfg(feature = "train")]
#[derive(Debug, Serialize)]
struct TrainReport {
    model: String,
    width: f64,
    drop_connect: f64,
    offload: String,
    masked_layers: Vec<String>,
    epochs: usize,
    train_images: usize,
    seed: u64,
    seconds: f64,
    loss: Vec<f64>,
    train_accuracy: Vec<f64>,
    test_accuracy_float: Option<f64>,
    output: String,
}

#[cfg(not(feature = "train"))]
pub fn train(_: TrainArgs) -> CliResult<()> {
    Err(CliError::input("this rramsim was built without the `train` feature (candle); rebuild with default features"))
}

#[cfg(feature = "train")]
pub fn train(args: TrainArgs) -> CliResult<()> {
    let offload = fixed_offload(&args.offload)?;
    // Fail before training, not after, when the output cannot be written.
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
        return Err(CliError::input(format!(
            "cannot write {}: directory {} does not exist",
            args.output.display(),
            dir.display()
        )));
    }
    if !(args.width.is_finite() && args.width > 0.0) {
        return Err(CliError::input(format!("--width must be positive, got {}", args.width)));
    }
    let train_set = data(&args.data, Split::Train, args.train_images)?;
    let input = rramsim_graph::Shape::new(train_set.channels, train_set.height, train_set.width);
    let structure = rramsim_train::family(&args.model, args.width, input).map_err(CliError::input)?;
    let cfg = rramsim_train::TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        drop_connect: args.drop_connect,
        offload: offload.clone(),
        seed: args.seed,
    };
    let masked: Vec<String> = structure
        .ids()
        .filter(|&id| structure.layer(id).op.has_weights() && !offload.offloads(&structure, id))
        .map(|id| structure.layer(id).name.clone())
        .collect();
    let start = Instant::now();
    let progress = progress_bar(0, "steps")?;
    let (trained, epochs) = rramsim_train::train(&structure, &train_set, &cfg, |done, total| {
        progress.set_length(total as u64);
        progress.set_position(done as u64);
    })
    .map_err(CliError::input)?;
    progress.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let bytes = rramsim_graph::export_onnx(&trained).map_err(CliError::internal)?;
    write_atomic(&args.output, &bytes)?;
    // A quick check of the exported model: re-import it and measure float accuracy.
    let test_accuracy_float = match data(&args.data, Split::Test, None) {
        Ok(test) => {
            let net = load_model(&args.output.to_string_lossy())?;
            let f = Functional::float(&net).map_err(CliError::internal)?;
            Some(f.accuracy(&test.images, &test.labels).map_err(CliError::internal)?)
        }
        Err(_) => None,
    };
    let report = TrainReport {
        model: args.model,
        width: args.width,
        drop_connect: args.drop_connect,
        offload: offload.name(),
        masked_layers: masked,
        epochs: args.epochs,
        train_images: train_set.len(),
        seed: args.seed,
        seconds,
        loss: epochs.iter().map(|e| e.loss).collect(),
        train_accuracy: epochs.iter().map(|e| e.train_accuracy).collect(),
        test_accuracy_float,
        output: args.output.display().to_string(),
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report).map_err(CliError::internal)?),
        _ => {
            println!(
                "trained {} ×{} (drop-connect {}, offload {}, {} masked layers) on {} images, {} epoch(s) in {:.1} s",
                report.model,
                report.width,
                report.drop_connect,
                report.offload,
                report.masked_layers.len(),
                report.train_images,
                report.epochs,
                seconds
            );
            for e in &epochs {
                println!("epoch {}: loss {:.4}, train accuracy {:.2}%", e.epoch, e.loss, 100.0 * e.train_accuracy);
            }
            if let Some(a) = report.test_accuracy_float {
                println!("test accuracy (float, fault-free): {:.2}%", 100.0 * a);
            }
            println!("wrote {}", report.output);
        }
    }
    Ok(())
}

/// How `--fault-rate` is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RatePer {
    /// The fraction of faulty cells (as `faults gen` takes it).
    Cell,
    /// The fraction of weights with at least one faulty cell: converted to a cell
    /// rate with the architecture's cells per weight, 1 − (1 − r)^(1/cells).
    Weight,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A model with weights (an `.onnx` file), or any workload with --weights.
    #[arg(long)]
    pub model: String,
    /// Take the parameters from this ONNX file's same-named layers (e.g. a zoo
    /// network with weights trained elsewhere).
    #[arg(long)]
    pub weights: Option<String>,
    #[arg(long, default_value = "fashion-mnist")]
    pub data: String,
    /// Evaluate on the first N test images.
    #[arg(long)]
    pub images: Option<usize>,
    /// Architecture (quantization, mapping, fault-map geometry). Without it:
    /// float, fault-free inference.
    #[arg(long)]
    pub arch: Option<String>,
    #[arg(long, default_value = "all-rram")]
    pub offload: String,
    #[arg(long, value_enum, default_value_t = ReplicationArg::Balanced)]
    pub replication: ReplicationArg,
    /// Fault rate (see --rate-per); 0 or absent: fault-free hardware.
    #[arg(long)]
    pub fault_rate: Option<f64>,
    #[arg(long, value_enum, default_value_t = RatePer::Cell)]
    pub rate_per: RatePer,
    #[arg(long, default_value_t = 0.5)]
    pub sa1_fraction: f64,
    #[arg(long, value_enum, default_value_t = DistributionArg::Uniform)]
    pub distribution: DistributionArg,
    #[arg(long, value_enum, default_value_t = FaultModelArg::Cell)]
    pub fault_model: FaultModelArg,
    /// Fault maps (Monte Carlo samples).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub seeds: u32,
    /// Base seed; map i uses splitmix(seed + i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Clip crossbar partial sums to the ADC range (first-order model).
    #[arg(long)]
    pub adc_clip: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct EvalReport {
    model: String,
    data: String,
    images: usize,
    arch: Option<String>,
    offload: String,
    fault_model: &'static str,
    convention: &'static str,
    cell_fault_rate: f64,
    weight_fault_rate: f64,
    sa1_fraction: f64,
    seeds: u32,
    accuracy_float: f64,
    accuracy_fault_free: f64,
    accuracy_mean: f64,
    accuracy_std: f64,
    accuracy_min: f64,
    accuracy_max: f64,
    accuracy_per_seed: Vec<f64>,
    /// Measured fraction of weight copies a fault changed (mean over seeds).
    weights_changed: f64,
    images_per_s: f64,
}

pub fn eval(args: EvalArgs) -> CliResult<()> {
    let rate = args.fault_rate.unwrap_or(0.0);
    if !(0.0..1.0).contains(&rate) {
        return Err(CliError::input(format!("--fault-rate must be in [0, 1), got {rate}")));
    }
    let net = load_with_weights(&args.model, args.weights.as_deref())?;
    let test = data(&args.data, Split::Test, args.images)?;
    let float = Functional::float(&net).map_err(CliError::input)?;
    let t0 = Instant::now();
    let accuracy_float = float.accuracy(&test.images, &test.labels).map_err(CliError::input)?;
    let float_rate = test.len() as f64 / t0.elapsed().as_secs_f64();
    let Some(arch_name) = &args.arch else {
        if rate > 0.0 {
            return Err(CliError::input("--fault-rate needs --arch (the crossbars the faults are in)"));
        }
        return print_eval(&args, &test, None, EvalNumbers::float_only(accuracy_float, float_rate));
    };
    let (arch, _) = load_arch(arch_name)?;
    let offload = fixed_offload(&args.offload)?;
    let replication = args.replication.into();
    let mapping = map_network(&net, &arch, &MappingOptions { replication, offload }).map_err(CliError::input)?;
    let rram = map_network(&net, &arch, &MappingOptions::rram(replication)).map_err(CliError::input)?;
    let options = HardwareOptions { adc_clip: args.adc_clip };
    // Cells per weight: every column a weight occupies (G+ and G− slices).
    let cells = f64::from(arch.columns_per_weight());
    let (cell_rate, weight_rate) = match args.rate_per {
        RatePer::Cell => (rate, 1.0 - (1.0 - rate).powf(cells)),
        RatePer::Weight => (1.0 - (1.0 - rate).powf(1.0 / cells), rate),
    };
    let (fault_free, _) = hardware_weights(&net, &arch, &mapping, None, options).map_err(CliError::input)?;
    let fault_free = Functional::with_weights(&net, fault_free).map_err(CliError::internal)?;
    let t0 = Instant::now();
    let accuracy_fault_free = fault_free.accuracy(&test.images, &test.labels).map_err(CliError::input)?;
    let images_per_s = test.len() as f64 / t0.elapsed().as_secs_f64();
    let mut per_seed = Vec::new();
    let mut changed = 0.0;
    if cell_rate > 0.0 {
        let model: FaultModel = args.fault_model.into();
        let geometry = Geometry::of(&arch);
        let progress = progress_bar(u64::from(args.seeds), "fault maps")?;
        for i in 0..args.seeds {
            let params = GenParams {
                rate: cell_rate,
                sa1_fraction: args.sa1_fraction,
                distribution: Distribution::from(args.distribution),
                seed: splitmix(args.seed.wrapping_add(u64::from(i))),
            };
            let map = generate(geometry, rram.chips_used.max(1), params).map_err(CliError::input)?;
            let (weights, stats) =
                hardware_weights(&net, &arch, &mapping, Some((&map, model)), options).map_err(CliError::input)?;
            let f = Functional::with_weights(&net, weights).map_err(CliError::internal)?;
            per_seed.push(f.accuracy(&test.images, &test.labels).map_err(CliError::input)?);
            changed += stats.weights_changed as f64 / stats.weights.max(1) as f64;
            progress.inc(1);
        }
        progress.finish_and_clear();
        changed /= f64::from(args.seeds);
    }
    let numbers =
        EvalNumbers { accuracy_float, accuracy_fault_free, per_seed, cell_rate, weight_rate, changed, images_per_s };
    print_eval(&args, &test, Some(&arch), numbers)
}

#[derive(Debug)]
struct EvalNumbers {
    accuracy_float: f64,
    accuracy_fault_free: f64,
    per_seed: Vec<f64>,
    cell_rate: f64,
    weight_rate: f64,
    changed: f64,
    images_per_s: f64,
}

impl EvalNumbers {
    fn float_only(a: f64, images_per_s: f64) -> Self {
        EvalNumbers {
            accuracy_float: a,
            accuracy_fault_free: a,
            per_seed: Vec::new(),
            cell_rate: 0.0,
            weight_rate: 0.0,
            changed: 0.0,
            images_per_s,
        }
    }
}

fn print_eval(args: &EvalArgs, test: &Dataset, arch: Option<&ArchParams>, n: EvalNumbers) -> CliResult<()> {
    let samples = if n.per_seed.is_empty() { vec![n.accuracy_fault_free] } else { n.per_seed.clone() };
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let std = if samples.len() > 1 {
        (samples.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (samples.len() - 1) as f64).sqrt()
    } else {
        0.0
    };
    let report = EvalReport {
        model: args.model.clone(),
        data: test.name.clone(),
        images: test.len(),
        arch: arch.map(|a| a.name.clone()),
        offload: if arch.is_some() { args.offload.clone() } else { "none (float)".into() },
        fault_model: FaultModel::from(args.fault_model).name(),
        convention: rramsim_fault::CONVENTION,
        cell_fault_rate: n.cell_rate,
        weight_fault_rate: n.weight_rate,
        sa1_fraction: args.sa1_fraction,
        seeds: if n.per_seed.is_empty() { 0 } else { args.seeds },
        accuracy_float: n.accuracy_float,
        accuracy_fault_free: n.accuracy_fault_free,
        accuracy_mean: mean,
        accuracy_std: std,
        accuracy_min: samples.iter().copied().fold(f64::INFINITY, f64::min),
        accuracy_max: samples.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        accuracy_per_seed: n.per_seed,
        weights_changed: n.changed,
        images_per_s: n.images_per_s,
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report).map_err(CliError::internal)?),
        Format::Csv => {
            println!(
                "model,arch,offload,fault_model,cell_fault_rate,weight_fault_rate,seeds,accuracy_float,accuracy_fault_free,accuracy_mean,accuracy_std,accuracy_min"
            );
            println!(
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                crate::workload::csv_field(&report.model),
                report.arch.clone().unwrap_or_default(),
                report.offload,
                report.fault_model,
                report.cell_fault_rate,
                report.weight_fault_rate,
                report.seeds,
                report.accuracy_float,
                report.accuracy_fault_free,
                report.accuracy_mean,
                report.accuracy_std,
                report.accuracy_min
            );
        }
        Format::Table => {
            println!("{} on {} ({} test images)", report.model, report.data, thousands(report.images as u64));
            println!("float, fault-free: {:.2}%", 100.0 * report.accuracy_float);
            if let Some(a) = &report.arch {
                println!(
                    "{a}, quantized, fault-free (offload {}): {:.2}%  [{:.0} images/s]",
                    report.offload,
                    100.0 * report.accuracy_fault_free,
                    report.images_per_s
                );
            }
            if report.seeds > 0 {
                println!(
                    "faults: {:.4} of cells ({:.4} of weights), SA1 fraction {}, {} model ({}); {:.4} of weight copies changed",
                    report.cell_fault_rate,
                    report.weight_fault_rate,
                    report.sa1_fraction,
                    report.fault_model,
                    report.convention,
                    report.weights_changed
                );
                println!(
                    "accuracy over {} fault maps: {:.2}% ± {:.2}% (min {:.2}%, max {:.2}%)",
                    report.seeds,
                    100.0 * report.accuracy_mean,
                    100.0 * report.accuracy_std,
                    100.0 * report.accuracy_min,
                    100.0 * report.accuracy_max
                );
            }
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct InferArgs {
    /// A model with weights (an `.onnx` file), or any workload with --weights.
    #[arg(long)]
    pub model: String,
    /// Take the parameters from this ONNX file's same-named layers.
    #[arg(long)]
    pub weights: Option<String>,
    /// Input images: a float32 `.npy` array `[N, C, H, W]` (or one `[C, H, W]` image).
    #[arg(long)]
    pub input: PathBuf,
    /// Output `.npy` file `[N, outputs]`.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Run on this architecture's quantized (and, with --fault-rate, faulty) crossbars.
    #[arg(long)]
    pub arch: Option<String>,
    #[arg(long, default_value = "all-rram")]
    pub offload: String,
    #[arg(long)]
    pub fault_rate: Option<f64>,
    #[arg(long, default_value_t = 1, requires = "fault_rate")]
    pub seed: u64,
    #[arg(long, default_value_t = 0.5)]
    pub sa1_fraction: f64,
    #[arg(long, value_enum, default_value_t = FaultModelArg::Cell)]
    pub fault_model: FaultModelArg,
    #[arg(long)]
    pub adc_clip: bool,
}

pub fn infer(args: InferArgs) -> CliResult<()> {
    let net = load_with_weights(&args.model, args.weights.as_deref())?;
    let bytes = std::fs::read(&args.input)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", args.input.display())))?;
    let (shape, values) =
        rramsim_func::npy::read_f32(&bytes).map_err(|e| CliError::input(format!("{}: {e}", args.input.display())))?;
    let f = match &args.arch {
        None => {
            if args.fault_rate.is_some() {
                return Err(CliError::input("--fault-rate needs --arch"));
            }
            Functional::float(&net).map_err(CliError::input)?
        }
        Some(a) => {
            let (arch, _) = load_arch(a)?;
            let offload = fixed_offload(&args.offload)?;
            let mapping =
                map_network(&net, &arch, &MappingOptions { replication: rramsim_map::Replication::Balanced, offload })
                    .map_err(CliError::input)?;
            let map = match args.fault_rate {
                Some(rate) => {
                    let rram = map_network(&net, &arch, &MappingOptions::rram(rramsim_map::Replication::Balanced))
                        .map_err(CliError::input)?;
                    let params = GenParams {
                        rate,
                        sa1_fraction: args.sa1_fraction,
                        distribution: Distribution::Uniform,
                        seed: args.seed,
                    };
                    Some(generate(Geometry::of(&arch), rram.chips_used.max(1), params).map_err(CliError::input)?)
                }
                None => None,
            };
            let model: FaultModel = args.fault_model.into();
            let options = HardwareOptions { adc_clip: args.adc_clip };
            let (w, _) = hardware_weights(&net, &arch, &mapping, map.as_ref().map(|m| (m, model)), options)
                .map_err(CliError::input)?;
            Functional::with_weights(&net, w).map_err(CliError::internal)?
        }
    };
    let per = f.input_shape().elements();
    let expect = |s: &[usize]| -> bool { s.iter().skip(s.len().saturating_sub(3)).product::<usize>() == per };
    if !(matches!(shape.len(), 3 | 4) && expect(&shape)) {
        let s = f.input_shape();
        return Err(CliError::input(format!(
            "{}: shape {shape:?} is not [N, {}, {}, {}]",
            args.input.display(),
            s.channels,
            s.height,
            s.width
        )));
    }
    let t0 = Instant::now();
    let outs = f.forward_batch(&values).map_err(CliError::input)?;
    let seconds = t0.elapsed().as_secs_f64();
    let flat: Vec<f32> = outs.iter().flatten().copied().collect();
    write_atomic(&args.output, &rramsim_func::npy::write_f32(&[outs.len(), f.output_len()], &flat))?;
    eprintln!(
        "wrote {}: {} images in {:.3} s ({:.0} images/s)",
        args.output.display(),
        outs.len(),
        seconds,
        outs.len() as f64 / seconds
    );
    Ok(())
}
