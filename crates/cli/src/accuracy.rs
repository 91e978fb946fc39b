//! `rramsim train`, `rramsim eval` and `rramsim infer`: accuracy under faults.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use rramsim::RatePer;
use rramsim::accuracy::{DeviceMode, EvalReport, EvalSpec, InferSpec, Inference, npy};

use crate::error::{CliError, CliResult};
use crate::faults::{DistributionArg, FaultModelArg, RemapArg};
use crate::output::{Format, csv_field, progress_bar, thousands, write_atomic};
use crate::run::ReplicationArg;

#[derive(Debug, Args)]
#[cfg_attr(not(feature = "train"), allow(dead_code))]
pub struct TrainArgs {
    /// The model family: resnet-mini (1x1 projection shortcuts) or mobilenet-mini (pointwise convs).
    #[arg(long)]
    pub model: String,
    /// Channel width multiplier.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub width: f64,
    /// Drop-connect rate: the fraction of RRAM-bound weights zeroed at every step.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub drop_connect: f64,
    /// Offload policy the model is trained for (its digital-unit layers are not masked).
    #[arg(long, default_value = "all-rram")]
    pub offload: String,
    /// Passes over the training set.
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Dataset: fashion-mnist[:DIR] or cifar10:DIR.
    #[arg(long, default_value = "fashion-mnist")]
    pub data: String,
    /// Use the first N training images.
    #[arg(long)]
    pub train_images: Option<usize>,
    /// Images per training step (mini-batch size).
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Learning rate of the Adam optimizer.
    #[arg(long, default_value_t = 0.003, allow_negative_numbers = true)]
    pub lr: f64,
    /// Learning-rate schedule: constant, cosine (to 0 over all steps) or step:EPOCHS:GAMMA.
    #[arg(long, default_value = "constant")]
    pub lr_schedule: String,
    /// Kept weights of a drop-connect mask: none (as faults leave them) or inverted (÷ 1 − p, as dropout).
    #[arg(long, default_value = "none")]
    pub mask_scaling: String,
    /// Noise-aware training: Gaussian noise on RRAM-bound weights, sigma relative to each layer's max |w|.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub weight_noise: f64,
    /// Augmentation: random crop with this much zero padding (pixels; 0 = off).
    #[arg(long, default_value_t = 0)]
    pub crop_pad: usize,
    /// Augmentation: random horizontal flips.
    #[arg(long)]
    pub hflip: bool,
    /// Kernel of resnet-mini's projection shortcuts: 1 (the family's 1x1) or an odd K
    /// (3: the study's 3x3-shortcut variant, which stays on RRAM under `pointwise`).
    #[arg(long, default_value_t = 1)]
    pub shortcut_kernel: usize,
    /// Seed of the weight initialization, data shuffling and drop-connect masks.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output ONNX file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format of the training report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[cfg(not(feature = "train"))]
pub fn train(_: TrainArgs) -> CliResult<()> {
    Err(CliError::input(
        "this rramsim was built without the `train` feature; rebuild with `--features train` (or `--all-features`)",
    ))
}

#[cfg(feature = "train")]
pub fn train(args: TrainArgs) -> CliResult<()> {
    // Fail before training, not after, when the output cannot be written.
    // The dataset's files are the inputs (`fashion-mnist:DIR`, `cifar10:DIR`).
    let data_files: Vec<PathBuf> = match args.data.split_once(':') {
        Some((_, dir)) => std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    rramsim::io::check_output("-o", &args.output, &data_files.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    let spec = rramsim::accuracy::TrainSpec {
        model: args.model.clone(),
        width: args.width,
        drop_connect: args.drop_connect,
        offload: args.offload.clone(),
        epochs: args.epochs,
        data: args.data.clone(),
        train_images: args.train_images,
        batch_size: args.batch_size,
        lr: args.lr,
        lr_schedule: args.lr_schedule.clone(),
        mask_scaling: args.mask_scaling.clone(),
        weight_noise: args.weight_noise,
        crop_pad: args.crop_pad,
        hflip: args.hflip,
        shortcut_kernel: args.shortcut_kernel,
        seed: args.seed,
    };
    let progress = progress_bar(0, "steps")?;
    let (bytes, report) = rramsim::accuracy::train(&spec, &mut |done, total| {
        progress.set_length(total);
        progress.set_position(done);
    })?;
    progress.finish_and_clear();
    write_atomic(&args.output, &bytes)?;
    let output = args.output.display().to_string();
    match args.format {
        Format::Json => {
            let mut doc = serde_json::to_value(&report).map_err(CliError::internal)?;
            doc["output"] = serde_json::Value::String(output);
            println!("{}", serde_json::to_string_pretty(&doc).map_err(CliError::internal)?);
        }
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
                report.seconds
            );
            let defaults = report.mask_scaling == "none"
                && report.weight_noise == 0.0
                && report.lr_schedule == "constant"
                && report.crop_pad == 0
                && !report.hflip
                && report.shortcut_kernel == 1;
            if !defaults {
                println!(
                    "variant: mask scaling {}, weight noise {}, lr schedule {}, crop padding {}, flips {}, shortcut kernel {}",
                    report.mask_scaling,
                    report.weight_noise,
                    report.lr_schedule,
                    report.crop_pad,
                    if report.hflip { "on" } else { "off" },
                    report.shortcut_kernel
                );
            }
            for (i, (loss, acc)) in report.loss.iter().zip(&report.train_accuracy).enumerate() {
                println!("epoch {}: loss {loss:.4}, train accuracy {:.2}%", i + 1, 100.0 * acc);
            }
            if let Some(a) = report.test_accuracy_float {
                println!("test accuracy (float, fault-free): {:.2}%", 100.0 * a);
            }
            println!("wrote {output}");
        }
    }
    Ok(())
}

/// How `--fault-rate` is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RatePerArg {
    /// The fraction of faulty cells (as `faults gen` takes it).
    Cell,
    /// The fraction of weights with at least one faulty cell: converted to a cell
    /// rate with the architecture's cells per weight, 1 − (1 − r)^(1/cells).
    Weight,
}

/// How crossbar layers are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    /// The architecture's [device] model, on/off ratio and the bit-exact periphery
    /// (each DAC step, weight column and row group through the ADC).
    Exact,
    /// The device model, fast: conductances folded into one weight per weight
    /// per device sample, read noise and the ADC applied once per row group's
    /// sum (per-read ADC rounding and saturation not modelled; with --adc-clip
    /// the first-order saturation bound); much faster.
    Approx,
    /// Ideal integer cells.
    Off,
}

impl From<DeviceArg> for DeviceMode {
    fn from(d: DeviceArg) -> Self {
        match d {
            DeviceArg::Exact => DeviceMode::Exact,
            DeviceArg::Approx => DeviceMode::Approx,
            DeviceArg::Off => DeviceMode::Off,
        }
    }
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
    /// Dataset: fashion-mnist[:DIR] or cifar10:DIR.
    #[arg(long, default_value = "fashion-mnist")]
    pub data: String,
    /// Evaluate on the first N test images.
    #[arg(long)]
    pub images: Option<usize>,
    /// Architecture (quantization, mapping, fault-map geometry). Without it:
    /// float, fault-free inference.
    #[arg(long)]
    pub arch: Option<String>,
    /// Layers on the fault-free digital unit: all-rram, pointwise, all-digital, layers=NAME,… or auto[:F].
    #[arg(long, default_value = "all-rram")]
    pub offload: String,
    /// How layers are replicated on the crossbars (as `run --replication`).
    #[arg(long, value_enum, default_value_t = ReplicationArg::Balanced)]
    pub replication: ReplicationArg,
    /// Fault rate, per cell unless --rate-per weight; 0 or absent: fault-free hardware.
    #[arg(long, allow_negative_numbers = true)]
    pub fault_rate: Option<f64>,
    /// Whether --fault-rate is per cell or per weight.
    #[arg(long, value_enum, default_value_t = RatePerArg::Cell)]
    pub rate_per: RatePerArg,
    /// Fraction of faulty cells stuck at 1 (SA1); the rest are stuck at 0.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub sa1_fraction: f64,
    /// Spatial distribution of the faulty cells over each crossbar.
    #[arg(long, value_enum, default_value_t = DistributionArg::Uniform)]
    pub distribution: DistributionArg,
    /// How a stuck cell changes its weight.
    #[arg(long, value_enum, default_value_t = FaultModelArg::Cell)]
    pub fault_model: FaultModelArg,
    /// Fault maps (Monte Carlo samples).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub seeds: u32,
    /// Base seed; map i uses splitmix(seed + i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Clip crossbar partial sums to the ADC range (first-order model, with
    /// --device approx or off; the exact periphery clips by itself).
    #[arg(long)]
    pub adc_clip: bool,
    /// The device model with --arch: exact (default), approx (fast) or off.
    #[arg(long, value_enum, default_value_t = DeviceArg::Exact)]
    pub device: DeviceArg,
    /// Seconds since the weights were programmed (drift); default: the
    /// architecture's device.drift_t0_s.
    #[arg(long, allow_negative_numbers = true)]
    pub time: Option<f64>,
    /// Fault-aware placement per fault map: permute each crossbar's rows (and
    /// columns) so stuck cells fall under the weights they hurt least, using
    /// the architecture's spare rows/columns.
    #[arg(long, value_enum, default_value_t = RemapArg::None)]
    pub remap: RemapArg,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn eval(args: EvalArgs) -> CliResult<()> {
    let spec = EvalSpec {
        model: args.model.clone(),
        weights: args.weights.clone(),
        data: args.data.clone(),
        images: args.images,
        arch: args.arch.clone(),
        offload: args.offload.clone(),
        replication: args.replication.into(),
        fault_rate: args.fault_rate.unwrap_or(0.0),
        rate_per: match args.rate_per {
            RatePerArg::Cell => RatePer::Cell,
            RatePerArg::Weight => RatePer::Weight,
        },
        sa1_fraction: args.sa1_fraction,
        distribution: args.distribution.into(),
        fault_model: args.fault_model.into(),
        seeds: args.seeds,
        seed: args.seed,
        adc_clip: args.adc_clip,
        device: args.device.into(),
        time_s: args.time,
        remap: args.remap.into(),
    };
    let progress = progress_bar(u64::from(args.seeds), "samples")?;
    let report = rramsim::accuracy::eval(&spec, &mut |done, _| progress.set_position(done))?;
    progress.finish_and_clear();
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    print_eval(&args, &report)
}

fn print_eval(args: &EvalArgs, report: &EvalReport) -> CliResult<()> {
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(report).map_err(CliError::internal)?),
        Format::Csv => {
            println!(
                "model,arch,offload,fault_model,cell_fault_rate,weight_fault_rate,seeds,accuracy_float,accuracy_fault_free,accuracy_mean,accuracy_std,accuracy_min,remap"
            );
            println!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(&report.model),
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
                report.accuracy_min,
                report.remap
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
            if let Some(d) = &report.device {
                println!(
                    "device ({}): program σ {:?}, read σ {}, drift ν {} at {} s (t0 {} s), wire {} Ω, r_on {} Ω, r_off {} Ω, {}-bit ADC, {}-bit DAC",
                    d.mode,
                    d.params.program_sigma,
                    d.params.read_sigma,
                    d.params.drift_nu,
                    d.time_s,
                    d.params.drift_t0_s,
                    d.params.wire_ohm,
                    d.r_on_ohm.map_or("∞".into(), |v| v.to_string()),
                    d.r_off_ohm.map_or("∞".into(), |v| v.to_string()),
                    d.adc_bits,
                    d.dac_bits
                );
            }
            if report.seeds > 0 && report.cell_fault_rate > 0.0 {
                println!(
                    "faults: {:.4} of cells ({:.4} of weights), SA1 fraction {}, {} model ({}); {:.4} of weight copies changed",
                    report.cell_fault_rate,
                    report.weight_fault_rate,
                    report.sa1_fraction,
                    report.fault_model,
                    report.convention,
                    report.weights_changed
                );
            }
            if report.seeds > 0 && report.cell_fault_rate > 0.0 && report.remap != "none" {
                let i = report.remap_objective_identity.max(1) as f64;
                println!(
                    "remap {}: fault objective {} -> {} ({:.1}% removed), {:.1} crossbars permuted per map, {:.3} s per map",
                    report.remap,
                    report.remap_objective_identity,
                    report.remap_objective,
                    100.0 * (1.0 - report.remap_objective as f64 / i),
                    report.remap_crossbars_permuted,
                    report.remap_seconds
                );
            } else if report.remap != "none" {
                println!("remap {}: no effect (no faults): identity placement", report.remap);
            }
            if report.seeds > 0 {
                println!(
                    "accuracy over {} samples (fault maps and device variation): {:.2}% ± {:.2}% (min {:.2}%, max {:.2}%)",
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
    /// Layers on the fault-free digital unit: all-rram, pointwise, all-digital, layers=NAME,… or auto[:F].
    #[arg(long, default_value = "all-rram")]
    pub offload: String,
    /// Fraction of faulty cells (per cell), with --arch; absent: fault-free.
    #[arg(long, allow_negative_numbers = true)]
    pub fault_rate: Option<f64>,
    /// Seeds the fault map and the device variation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Fraction of faulty cells stuck at 1 (SA1); the rest are stuck at 0.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub sa1_fraction: f64,
    /// How a stuck cell changes its weight.
    #[arg(long, value_enum, default_value_t = FaultModelArg::Cell)]
    pub fault_model: FaultModelArg,
    /// Clip crossbar partial sums to the ADC range (first-order model).
    #[arg(long)]
    pub adc_clip: bool,
    /// The device model with --arch: exact (default), approx (fast) or off.
    #[arg(long, value_enum, default_value_t = DeviceArg::Exact)]
    pub device: DeviceArg,
    /// Seconds since the weights were programmed (drift).
    #[arg(long, allow_negative_numbers = true)]
    pub time: Option<f64>,
}

pub fn infer(args: InferArgs) -> CliResult<()> {
    let mut inputs = vec![args.input.as_path(), Path::new(&args.model)];
    inputs.extend(args.weights.as_deref().map(Path::new));
    inputs.extend(args.arch.as_deref().map(Path::new));
    rramsim::io::check_output("-o", &args.output, &inputs)?;
    let spec = InferSpec {
        model: args.model.clone(),
        weights: args.weights.clone(),
        arch: args.arch.clone(),
        offload: args.offload.clone(),
        fault_rate: args.fault_rate,
        seed: args.seed,
        sa1_fraction: args.sa1_fraction,
        fault_model: args.fault_model.into(),
        adc_clip: args.adc_clip,
        device: args.device.into(),
        time_s: args.time,
    };
    let bytes = rramsim::io::read_bytes(&args.input)?;
    let label = args.input.display();
    let (shape, values) = npy::read_f32(&bytes).map_err(|e| CliError::input(format!("{label}: {e}")))?;
    let model = Inference::new(&spec)?;
    let t0 = Instant::now();
    let (outs, out_shape) = model.run(&shape, &values).map_err(|e| e.context(&label))?;
    let seconds = t0.elapsed().as_secs_f64();
    write_atomic(&args.output, &npy::write_f32(&out_shape, &outs))?;
    eprintln!(
        "wrote {}: {} images in {:.3} s ({:.0} images/s)",
        args.output.display(),
        out_shape[0],
        seconds,
        out_shape[0] as f64 / seconds
    );
    Ok(())
}
