//! Accuracy under faults: functional inference of a trained network on an
//! architecture's quantized crossbars, Monte Carlo over fault-map seeds
//! (`eval`), inference of a batch (`infer`) and drop-connect training
//! (`train`, behind the `train` feature).

use std::time::Instant;

use rramsim_fault::{Distribution, FaultModel, splitmix};
use rramsim_fault::{RemapMode, RemapStats};
use rramsim_func::{
    DataSpec, Dataset, DeviceOptions, Functional, HardwareOptions, Split, hardware_weights, hardware_weights_remapped,
};
use rramsim_graph::{Network, Shape};
use rramsim_map::{MappingOptions, Replication, map_network};
use serde::Serialize;

use crate::arch::Arch;
use crate::error::{Error, Result};
use crate::options::{FaultSpec, OffloadSpec, RatePer, check_probability};
use crate::workload::load_with_weights;

pub use rramsim_func::npy;

/// A dataset split, `fashion-mnist[:DIR]` or `cifar10:DIR`, optionally the
/// first `limit` images.
pub fn load_data(spec: &str, split: Split, limit: Option<usize>) -> Result<Dataset> {
    let spec = DataSpec::parse(spec).map_err(|e| Error::input(format!("--data: {e}")))?;
    let d = spec.load(split).map_err(Error::from)?;
    Ok(match limit {
        Some(n) => d.truncated(n),
        None => d,
    })
}

pub use rramsim_func::Split as DataSplit;

/// How crossbar layers are read (with an architecture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceMode {
    /// The `[device]` model, the on/off ratio and the bit-exact periphery.
    #[default]
    Exact,
    /// The device model, fast: conductances folded into one weight per weight
    /// per device sample, the ADC on each row group's sum, read noise once per
    /// output (no per-read ADC rounding or saturation).
    Approx,
    /// Ideal integer cells (the model before the device model).
    Off,
}

impl DeviceMode {
    pub fn name(self) -> &'static str {
        match self {
            DeviceMode::Exact => "exact",
            DeviceMode::Approx => "approx",
            DeviceMode::Off => "off",
        }
    }

    /// `exact`, `approx` or `off`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "exact" => Ok(DeviceMode::Exact),
            "approx" => Ok(DeviceMode::Approx),
            "off" => Ok(DeviceMode::Off),
            other => Err(Error::input(format!("device: unknown `{other}`; expected exact, approx or off"))),
        }
    }

    /// The functional model's options for device sample `seed` at `time_s`.
    fn options(self, time_s: Option<f64>, seed: u64) -> Result<Option<DeviceOptions>> {
        let time_s = time_s.unwrap_or(0.0);
        if !(time_s.is_finite() && time_s >= 0.0) {
            return Err(Error::input(format!("--time must be a finite number of seconds ≥ 0, got {time_s}")));
        }
        Ok(match self {
            DeviceMode::Off => None,
            m => Some(DeviceOptions { time_s, seed, exact: m == DeviceMode::Exact }),
        })
    }
}

/// The device parameters an evaluation used (its `--format json` `device`).
#[derive(Debug, Clone, Serialize)]
pub struct DeviceReport {
    pub mode: &'static str,
    /// Seconds since programming (drift); times before `drift_t0_s` read as `drift_t0_s`.
    pub time_s: f64,
    #[serde(flatten)]
    pub params: rramsim_hw::DeviceParams,
    pub r_on_ohm: Option<f64>,
    pub r_off_ohm: Option<f64>,
    pub bits_per_cell: u32,
    pub weight_bits: u32,
    pub activation_bits: u32,
    pub dac_bits: u32,
    pub adc_bits: u32,
    pub rows_per_read: u32,
    pub adc_flip_encoding: bool,
    pub signed_encoding: &'static str,
}

impl DeviceReport {
    fn new(mode: DeviceMode, time_s: Option<f64>, arch: &rramsim_hw::ArchParams) -> Self {
        DeviceReport {
            mode: mode.name(),
            time_s: time_s.unwrap_or(arch.device.drift_t0_s),
            params: arch.device.clone(),
            r_on_ohm: arch.crossbar.r_on_ohm,
            r_off_ohm: arch.crossbar.r_off_ohm,
            bits_per_cell: arch.crossbar.bits_per_cell,
            weight_bits: arch.weight_bits,
            activation_bits: arch.activation_bits,
            dac_bits: arch.pe.dac_bits,
            adc_bits: arch.pe.adc.bits,
            rows_per_read: arch.crossbar.rows_per_read,
            adc_flip_encoding: arch.adc_flip_encoding,
            signed_encoding: arch.encoding.name(),
        }
    }
}

/// Whether device samples differ by seed (programming variation or read noise).
fn stochastic(arch: &rramsim_hw::ArchParams, mode: DeviceMode) -> bool {
    let d = &arch.device;
    mode != DeviceMode::Off
        && (d.program_sigma.iter().any(|s| *s > 0.0) || (mode == DeviceMode::Exact && d.read_sigma > 0.0))
}

/// What `eval` measures.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSpec {
    /// A model with weights (an `.onnx` file), or any workload with `weights`.
    pub model: String,
    /// Parameters from this ONNX file's same-named layers.
    pub weights: Option<String>,
    /// `fashion-mnist[:DIR]` or `cifar10:DIR`.
    pub data: String,
    /// The first N test images.
    pub images: Option<usize>,
    /// Without an architecture: float, fault-free inference only.
    pub arch: Option<String>,
    pub offload: String,
    pub replication: Replication,
    /// Fault rate per `rate_per`; 0: fault-free hardware.
    pub fault_rate: f64,
    pub rate_per: RatePer,
    pub sa1_fraction: f64,
    pub distribution: Distribution,
    pub fault_model: FaultModel,
    /// Fault maps (Monte Carlo samples), at least 1.
    pub seeds: u32,
    /// Map `i` uses `splitmix(seed + i)`.
    pub seed: u64,
    /// Clip crossbar partial sums to the ADC range (first-order model; only
    /// without the exact device model, whose ADC clips by itself).
    pub adc_clip: bool,
    pub device: DeviceMode,
    /// Seconds since programming (`None`: `drift_t0_s`).
    pub time_s: Option<f64>,
    /// Fault-aware placement of each crossbar's rows (and columns) per fault map.
    pub remap: RemapMode,
}

impl EvalSpec {
    /// Float accuracy of `model` on Fashion-MNIST, with the documented defaults
    /// of `rramsim eval` for everything else.
    pub fn new(model: impl Into<String>) -> Self {
        EvalSpec {
            model: model.into(),
            weights: None,
            data: "fashion-mnist".into(),
            images: None,
            arch: None,
            offload: "all-rram".into(),
            replication: Replication::Balanced,
            fault_rate: 0.0,
            rate_per: RatePer::Cell,
            sa1_fraction: 0.5,
            distribution: Distribution::Uniform,
            fault_model: FaultModel::Cell,
            seeds: 10,
            seed: 1,
            adc_clip: false,
            device: DeviceMode::Exact,
            time_s: None,
            remap: RemapMode::None,
        }
    }
}

/// What `eval` reports (its `--format json` document).
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub model: String,
    pub data: String,
    pub images: usize,
    pub arch: Option<String>,
    pub offload: String,
    pub fault_model: &'static str,
    pub convention: &'static str,
    pub cell_fault_rate: f64,
    pub weight_fault_rate: f64,
    pub sa1_fraction: f64,
    pub seeds: u32,
    pub accuracy_float: f64,
    pub accuracy_fault_free: f64,
    pub accuracy_mean: f64,
    pub accuracy_std: f64,
    pub accuracy_min: f64,
    pub accuracy_max: f64,
    pub accuracy_per_seed: Vec<f64>,
    /// The device model used (with an architecture).
    pub device: Option<DeviceReport>,
    /// Measured fraction of weight copies a fault changed (mean over seeds).
    pub weights_changed: f64,
    pub images_per_s: f64,
    /// `none`, `rows` or `rows+cols`.
    pub remap: &'static str,
    /// Σ over faulty cells of the weight change they cause (quantized units),
    /// identity placement and remapped, summed over seeds (0 without `--remap`:
    /// the identity placement needs no search).
    pub remap_objective_identity: u64,
    pub remap_objective: u64,
    /// Crossbars a remap permuted, mean over seeds.
    pub remap_crossbars_permuted: f64,
    /// Seconds spent computing placements, mean over seeds.
    pub remap_seconds: f64,
    /// What the caller should know and the numbers do not say: the
    /// architecture's warnings (`key: message`) and options that had no effect.
    pub warnings: Vec<String>,
}

/// Accuracy of a trained model: float, quantized fault-free on the
/// architecture (device sample `splitmix(seed)`, without stuck-at faults), and
/// mean ± std (min, max) over `seeds` samples of fault maps and device
/// variation together (sample `i` uses `splitmix(seed + i)` for both).
/// `progress(done, total)` is called after each fault map.
pub fn eval(spec: &EvalSpec, progress: &mut dyn FnMut(u64, u64)) -> Result<EvalReport> {
    check_probability("fault rate", spec.fault_rate)?;
    check_probability("SA1 fraction", spec.sa1_fraction)?;
    if spec.seeds == 0 {
        return Err(Error::input("--seeds must be at least 1"));
    }
    let offload = OffloadSpec::parse_fixed(&spec.offload)?;
    let net = load_with_weights(&spec.model, spec.weights.as_deref())?;
    let test = load_data(&spec.data, Split::Test, spec.images)?;
    let float = Functional::float(&net).map_err(Error::from)?;
    let t0 = Instant::now();
    let accuracy_float = float.accuracy(&test.images, &test.labels).map_err(Error::from)?;
    let float_rate = test.len() as f64 / t0.elapsed().as_secs_f64();
    let mut numbers = Numbers {
        accuracy_float,
        accuracy_fault_free: accuracy_float,
        per_seed: Vec::new(),
        cell_rate: 0.0,
        weight_rate: 0.0,
        changed: 0.0,
        images_per_s: float_rate,
        device: None,
        remap: RemapStats::default(),
        remap_seconds: 0.0,
    };
    let Some(arch_spec) = &spec.arch else {
        if spec.fault_rate > 0.0 {
            return Err(Error::input("--fault-rate needs --arch (the crossbars the faults are in)"));
        }
        if spec.time_s.is_some() {
            return Err(Error::input("--time needs --arch (the device model is the architecture's)"));
        }
        return Ok(numbers.report(spec, &test, None));
    };
    let arch = Arch::load(arch_spec)?;
    let params = &arch.params;
    let replication = spec.replication;
    let mapping = map_network(&net, params, &MappingOptions { replication, offload, budget: Default::default() })
        .map_err(Error::from)?;
    let rram = map_network(&net, params, &MappingOptions::rram(replication)).map_err(Error::from)?;
    let device = |seed| spec.device.options(spec.time_s, seed);
    device(0)?;
    let options =
        |seed| -> Result<HardwareOptions> { Ok(HardwareOptions { adc_clip: spec.adc_clip, device: device(seed)? }) };
    // Cells per weight: every column a weight occupies (G+ and G− slices).
    let (cell_rate, weight_rate) = spec.rate_per.rates(spec.fault_rate, params.columns_per_weight())?;
    let (fault_free, _) =
        hardware_weights(&net, params, &mapping, None, options(splitmix(spec.seed))?).map_err(Error::from)?;
    let fault_free = Functional::with_weights(&net, fault_free).map_err(Error::from)?;
    let t0 = Instant::now();
    numbers.accuracy_fault_free = fault_free.accuracy(&test.images, &test.labels).map_err(Error::from)?;
    numbers.images_per_s = test.len() as f64 / t0.elapsed().as_secs_f64();
    numbers.cell_rate = cell_rate;
    numbers.weight_rate = weight_rate;
    numbers.device = (spec.device != DeviceMode::Off).then(|| DeviceReport::new(spec.device, spec.time_s, params));
    if cell_rate > 0.0 || stochastic(params, spec.device) {
        for i in 0..spec.seeds {
            let seed = splitmix(spec.seed.wrapping_add(u64::from(i)));
            let map = if cell_rate > 0.0 {
                let faults =
                    FaultSpec::generated(cell_rate, spec.sa1_fraction, spec.distribution, seed, spec.fault_model)?;
                Some(faults.materialize(params, rram.chips_used)?)
            } else {
                None
            };
            let faults = map.as_ref().map(|m| (m, spec.fault_model));
            if i == 0 && faults.is_none() {
                // Device variation alone: sample 0 has the fault-free run's seed
                // and weights, so its accuracy is the one just measured.
                numbers.per_seed.push(numbers.accuracy_fault_free);
                progress(1, u64::from(spec.seeds));
                continue;
            }
            let t_remap = Instant::now();
            let (weights, stats) =
                hardware_weights_remapped(&net, params, &mapping, faults, spec.remap, options(seed)?)
                    .map_err(Error::from)?;
            numbers.remap_seconds += t_remap.elapsed().as_secs_f64();
            numbers.remap.add(&stats.remap);
            let f = Functional::with_weights(&net, weights).map_err(Error::from)?;
            numbers.per_seed.push(f.accuracy(&test.images, &test.labels).map_err(Error::from)?);
            numbers.changed += stats.weights_changed as f64 / stats.weights.max(1) as f64;
            progress(u64::from(i) + 1, u64::from(spec.seeds));
        }
        numbers.changed /= f64::from(spec.seeds);
        numbers.remap_seconds /= f64::from(spec.seeds);
    }
    Ok(numbers.report(spec, &test, Some(&arch)))
}

#[derive(Debug)]
struct Numbers {
    accuracy_float: f64,
    accuracy_fault_free: f64,
    per_seed: Vec<f64>,
    cell_rate: f64,
    weight_rate: f64,
    changed: f64,
    images_per_s: f64,
    device: Option<DeviceReport>,
    remap: RemapStats,
    remap_seconds: f64,
}

impl Numbers {
    fn report(self, spec: &EvalSpec, test: &Dataset, arch: Option<&Arch>) -> EvalReport {
        let samples = if self.per_seed.is_empty() { vec![self.accuracy_fault_free] } else { self.per_seed.clone() };
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        let std = if samples.len() > 1 {
            (samples.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (samples.len() - 1) as f64).sqrt()
        } else {
            0.0
        };
        EvalReport {
            model: spec.model.clone(),
            data: test.name.clone(),
            images: test.len(),
            arch: arch.map(|a| a.params.name.clone()),
            offload: if arch.is_some() { spec.offload.clone() } else { "none (float)".into() },
            fault_model: spec.fault_model.name(),
            convention: rramsim_fault::CONVENTION,
            cell_fault_rate: self.cell_rate,
            weight_fault_rate: self.weight_rate,
            sa1_fraction: spec.sa1_fraction,
            seeds: if self.per_seed.is_empty() { 0 } else { spec.seeds },
            accuracy_float: self.accuracy_float,
            accuracy_fault_free: self.accuracy_fault_free,
            accuracy_mean: mean,
            accuracy_std: std,
            accuracy_min: samples.iter().copied().fold(f64::INFINITY, f64::min),
            accuracy_max: samples.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            accuracy_per_seed: self.per_seed,
            device: self.device,
            weights_changed: self.changed,
            images_per_s: self.images_per_s,
            remap: spec.remap.name(),
            remap_objective_identity: self.remap.identity_cost,
            remap_objective: self.remap.remapped_cost,
            remap_crossbars_permuted: self.remap.crossbars_permuted as f64 / f64::from(spec.seeds.max(1)),
            remap_seconds: self.remap_seconds,
            warnings: warnings(spec, arch),
        }
    }
}

/// The architecture's warnings, then a `remap` without faults (every crossbar
/// keeps the identity placement).
fn warnings(spec: &EvalSpec, arch: Option<&Arch>) -> Vec<String> {
    let mut out = arch.map(Arch::warning_lines).unwrap_or_default();
    if spec.remap != RemapMode::None && spec.fault_rate == 0.0 {
        out.push(format!(
            "remap {} has no effect without faults (fault rate 0): every crossbar keeps the identity placement",
            spec.remap.name()
        ));
    }
    out
}

/// How `infer` realises a model.
#[derive(Debug, Clone, PartialEq)]
pub struct InferSpec {
    pub model: String,
    pub weights: Option<String>,
    /// Without an architecture: float inference.
    pub arch: Option<String>,
    pub offload: String,
    /// A fault map generated at this cell rate (needs `arch`).
    pub fault_rate: Option<f64>,
    pub seed: u64,
    pub sa1_fraction: f64,
    pub fault_model: FaultModel,
    pub adc_clip: bool,
    pub device: DeviceMode,
    pub time_s: Option<f64>,
}

impl InferSpec {
    /// Float inference of `model`; the documented defaults of `rramsim infer`.
    pub fn new(model: impl Into<String>) -> Self {
        InferSpec {
            model: model.into(),
            weights: None,
            arch: None,
            offload: "all-rram".into(),
            fault_rate: None,
            seed: 1,
            sa1_fraction: 0.5,
            fault_model: FaultModel::Cell,
            adc_clip: false,
            device: DeviceMode::Exact,
            time_s: None,
        }
    }
}

/// A model ready to run on batches of images.
#[derive(Debug)]
pub struct Inference {
    model: Functional,
}

impl Inference {
    /// Builds the float or hardware model `spec` describes.
    pub fn new(spec: &InferSpec) -> Result<Inference> {
        let net = load_with_weights(&spec.model, spec.weights.as_deref())?;
        let model = match &spec.arch {
            None => {
                if spec.fault_rate.is_some() {
                    return Err(Error::input("--fault-rate needs --arch"));
                }
                if spec.time_s.is_some() {
                    return Err(Error::input("--time needs --arch"));
                }
                Functional::float(&net).map_err(Error::from)?
            }
            Some(a) => hardware_model(&net, &Arch::load(a)?, spec)?,
        };
        Ok(Inference { model })
    }

    /// Per-image input shape.
    pub fn input_shape(&self) -> Shape {
        self.model.input_shape()
    }

    /// Outputs per image.
    pub fn output_len(&self) -> usize {
        self.model.output_len()
    }

    /// Runs a float32 batch of `shape` `[N, C, H, W]` (or one `[C, H, W]` image);
    /// returns `[N, outputs]` values. The shape must match the model's input
    /// exactly (an NHWC array is refused, not reinterpreted).
    pub fn run(&self, shape: &[usize], values: &[f32]) -> Result<(Vec<f32>, [usize; 2])> {
        let s = self.input_shape();
        let expected = [s.channels, s.height, s.width];
        let ok = match shape {
            [c, h, w] => [*c, *h, *w] == expected,
            [_, c, h, w] => [*c, *h, *w] == expected,
            _ => false,
        };
        let elements = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if !ok || elements != Some(values.len()) {
            return Err(Error::input(format!("shape {shape:?} is not [N, {}, {}, {}]", s.channels, s.height, s.width)));
        }
        let outs = self.model.forward_batch(values).map_err(Error::from)?;
        let n = outs.len();
        Ok((outs.into_iter().flatten().collect(), [n, self.output_len()]))
    }
}

fn hardware_model(net: &Network, arch: &Arch, spec: &InferSpec) -> Result<Functional> {
    let params = &arch.params;
    let offload = OffloadSpec::parse_fixed(&spec.offload)?;
    let mapping = map_network(
        net,
        params,
        &MappingOptions { replication: Replication::Balanced, offload, budget: Default::default() },
    )
    .map_err(Error::from)?;
    let map = match spec.fault_rate {
        Some(rate) => {
            let rram = map_network(net, params, &MappingOptions::rram(Replication::Balanced)).map_err(Error::from)?;
            let faults =
                FaultSpec::generated(rate, spec.sa1_fraction, Distribution::Uniform, spec.seed, spec.fault_model)?;
            Some(faults.materialize(params, rram.chips_used)?)
        }
        None => None,
    };
    let options = HardwareOptions { adc_clip: spec.adc_clip, device: spec.device.options(spec.time_s, spec.seed)? };
    let (w, _) = hardware_weights(net, params, &mapping, map.as_ref().map(|m| (m, spec.fault_model)), options)
        .map_err(Error::from)?;
    Functional::with_weights(net, w).map_err(Error::from)
}

#[cfg(feature = "train")]
pub use training::{TrainReport, TrainSpec, train};

#[cfg(feature = "train")]
mod training {
    use std::time::Instant;

    use rramsim_func::{Functional, Split};
    use serde::Serialize;

    use super::load_data;
    use crate::error::{Error, Result};
    use crate::options::{OffloadSpec, check_width};

    /// What to train.
    #[derive(Debug, Clone, PartialEq)]
    pub struct TrainSpec {
        /// `resnet-mini` or `mobilenet-mini`.
        pub model: String,
        pub width: f64,
        /// Fraction of RRAM-bound weights zeroed at every step.
        pub drop_connect: f64,
        /// The policy the model is trained for (its digital-unit layers are not masked).
        pub offload: String,
        pub epochs: usize,
        pub data: String,
        pub train_images: Option<usize>,
        pub batch_size: usize,
        pub lr: f64,
        /// `constant`, `cosine` or `step:EPOCHS:GAMMA`.
        pub lr_schedule: String,
        /// Kept weights of a mask: `none` (as faults leave them) or `inverted` (÷ 1 − p).
        pub mask_scaling: String,
        /// Noise-aware training: Gaussian weight noise of this sigma relative to
        /// each RRAM-bound layer's largest |weight| (0: off).
        pub weight_noise: f64,
        /// Random crop with this much zero padding (0: off).
        pub crop_pad: usize,
        /// Random horizontal flips.
        pub hflip: bool,
        /// Kernel of the residual blocks' projection shortcuts (1: the family's
        /// 1x1; 3: the study's 3x3-shortcut variant, which keeps them off the
        /// digital unit under the `pointwise` policy).
        pub shortcut_kernel: usize,
        pub seed: u64,
    }

    /// What `train` reports (its `--format json` document, without the output path).
    #[derive(Debug, Clone, Serialize)]
    pub struct TrainReport {
        pub model: String,
        pub width: f64,
        pub drop_connect: f64,
        pub mask_scaling: String,
        pub weight_noise: f64,
        pub lr_schedule: String,
        pub crop_pad: usize,
        pub hflip: bool,
        pub shortcut_kernel: usize,
        pub offload: String,
        pub masked_layers: Vec<String>,
        pub epochs: usize,
        pub train_images: usize,
        pub seed: u64,
        pub seconds: f64,
        pub loss: Vec<f64>,
        pub train_accuracy: Vec<f64>,
        pub test_accuracy_float: Option<f64>,
    }

    /// Trains the model and returns its ONNX bytes and the report (with the
    /// float test accuracy of the exported model, re-imported, when the test
    /// split is available). `progress(done, total)` is called per step.
    pub fn train(spec: &TrainSpec, progress: &mut dyn FnMut(u64, u64)) -> Result<(Vec<u8>, TrainReport)> {
        let offload = OffloadSpec::parse_fixed(&spec.offload)?;
        check_width(spec.width).map_err(|e| e.context("--width"))?;
        let train_set = load_data(&spec.data, Split::Train, spec.train_images)?;
        let input = rramsim_graph::Shape::new(train_set.channels, train_set.height, train_set.width);
        let structure = rramsim_train::family(&spec.model, spec.width, input).map_err(Error::from)?;
        let structure = if spec.shortcut_kernel == 1 {
            structure
        } else {
            rramsim_graph::shortcut_kernel(&structure, spec.shortcut_kernel)
                .map_err(|e| Error::input(e.to_string()).context("--shortcut-kernel"))?
        };
        let schedule =
            rramsim_train::LrSchedule::parse(&spec.lr_schedule).map_err(|e| Error::from(e).context("--lr-schedule"))?;
        let scaling = rramsim_train::MaskScaling::parse(&spec.mask_scaling).ok_or_else(|| {
            Error::input(format!(
                "--mask-scaling: unknown `{}`; expected one of {}",
                spec.mask_scaling,
                rramsim_train::MaskScaling::NAMES.join(", ")
            ))
        })?;
        let cfg = rramsim_train::TrainConfig {
            epochs: spec.epochs,
            batch_size: spec.batch_size,
            lr: spec.lr,
            schedule,
            drop_connect: spec.drop_connect,
            scaling,
            weight_noise: spec.weight_noise,
            augment: rramsim_train::Augment { crop_pad: spec.crop_pad, hflip: spec.hflip },
            offload: offload.clone(),
            seed: spec.seed,
        };
        let masked: Vec<String> = structure
            .ids()
            .filter(|&id| structure.layer(id).op.has_weights() && !offload.offloads(&structure, id))
            .map(|id| structure.layer(id).name.clone())
            .collect();
        let start = Instant::now();
        let (trained, epochs) =
            rramsim_train::train(&structure, &train_set, &cfg, |done, total| progress(done as u64, total as u64))
                .map_err(Error::from)?;
        let seconds = start.elapsed().as_secs_f64();
        let bytes = rramsim_graph::export_onnx(&trained).map_err(Error::internal)?;
        // A check of the exported model: re-import it and measure float accuracy.
        let test_accuracy_float = match load_data(&spec.data, Split::Test, None) {
            Ok(test) => {
                let net = rramsim_graph::import_onnx("<trained model>", &bytes).map_err(Error::internal)?;
                let net = rramsim_graph::fold_batchnorm(&net).map_err(Error::internal)?;
                let f = Functional::float(&net).map_err(Error::internal)?;
                Some(f.accuracy(&test.images, &test.labels).map_err(Error::internal)?)
            }
            Err(_) => None,
        };
        let report = TrainReport {
            model: spec.model.clone(),
            width: spec.width,
            drop_connect: spec.drop_connect,
            mask_scaling: scaling.name().to_owned(),
            weight_noise: spec.weight_noise,
            lr_schedule: schedule.name(),
            crop_pad: spec.crop_pad,
            hflip: spec.hflip,
            shortcut_kernel: spec.shortcut_kernel,
            offload: offload.name(),
            masked_layers: masked,
            epochs: spec.epochs,
            train_images: train_set.len(),
            seed: spec.seed,
            seconds,
            loss: epochs.iter().map(|e| e.loss).collect(),
            train_accuracy: epochs.iter().map(|e| e.train_accuracy).collect(),
            test_accuracy_float,
        };
        Ok((bytes, report))
    }
}
