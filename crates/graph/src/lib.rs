//! The network-graph frontend of rramsim.
//!
//! A network is a DAG of [`Layer`]s on petgraph ([`Network`]), built and validated
//! by [`NetworkBuilder`]: names resolved, topological order fixed, every shape
//! inferred, weight and MAC counts available per layer. Networks come from the
//! workload TOML format ([`load_workload_toml`]), ONNX files ([`import_onnx`]) or the
//! built-in zoo ([`zoo`]), and are changed only by transforms that return new
//! networks ([`fold_batchnorm`], [`widen`], [`shortcut_kernel`]).
//!
//! ```
//! use rramsim_graph::{fold_batchnorm, widen, zoo};
//!
//! let net = fold_batchnorm(&zoo("resnet20").unwrap()).unwrap();
//! assert_eq!(net.total_stats().macs, 40_813_184);
//! let wide = widen(&net, 1.2).unwrap();
//! assert!(wide.total_stats().weights > net.total_stats().weights);
//! ```
//!
//! This crate knows nothing about hardware, and reads no files: loaders take the
//! source text or bytes and a name to report errors against.

mod error;
mod layer;
mod network;
pub mod onnx;
mod transform;
mod workload;
mod zoo;

pub use error::GraphError;
pub use layer::{
    Activation, Axis, BatchNorm, Conv2d, Layer, Linear, Op, PadMode, Padding, Params, Pool, PoolKind, ResizeCoord,
    Shape,
};
pub use network::{LayerId, LayerStats, MAX_COUNT, Network, NetworkBuilder};
pub use onnx::{OnnxError, export_onnx, import_onnx};
pub use transform::{fold_batchnorm, projection_shortcuts, shortcut_kernel, widen};
pub use workload::{load_workload_toml, to_workload_toml};
pub use zoo::{ZOO_NAMES, zoo, zoo_description};
