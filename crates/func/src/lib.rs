//! Functional (numerical) inference for rramsim: accuracy under faults is
//! measured, not assumed.
//!
//! - [`Functional`]: runs a [`rramsim_graph::Network`] with weights numerically,
//!   one image per rayon task (im2col + GEMM through `matrixmultiply`); weights
//!   may have several replicas (pixel `p` uses replica `p mod R`, as the engine
//!   schedules them), inputs may be quantized, and crossbar partial sums clipped.
//! - [`hardware_weights`]: the weights of a mapped network on an architecture:
//!   quantized per the arch config, replaced by each replica's effective weights
//!   under a fault map (cell or weight-zero model) for layers on crossbars, and
//!   fault-free for layers on the digital unit.
//! - [`data`]: Fashion-MNIST (IDX) and CIFAR-10 (binary) readers.
//! - [`npy`]: `.npy` float32 arrays for `rramsim infer`.
//!
//! Errors: [`FuncError`] (building and running a model, hardware weights; its
//! `is_input` tells bad input from an internal error), [`data::DataError`] and
//! [`npy::NpyError`] (file contents, always bad input).
//!
//! The crate reads dataset files and nothing else; results are identical on any
//! thread count.

pub mod data;
mod device;
mod error;
mod gemm;
mod hardware;
mod model;
pub mod npy;
mod ops;

pub use data::{DataError, DataSpec, Dataset, Split};
pub use device::{Analog, AnalogReplica, DeviceOptions, row_chunks};
pub use error::FuncError;
/// The GEMM of functional inference, shared with `rramsim-train`'s kernels.
pub use gemm::{Strides, sgemm};
pub use hardware::{BuildStats, HardwareOptions, adc_clip_fraction, hardware_weights, hardware_weights_remapped};
pub use model::{Clip, Functional, LayerWeights, Scratch, argmax};
