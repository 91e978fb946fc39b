//! Errors of functional inference: building a [`crate::Functional`] and
//! running it, and building a mapped network's hardware weights.
//!
//! [`FuncError::is_input`] tells bad input (a network without trained weights,
//! images of the wrong size, a fault map too small) from an internal error
//! (weights a caller built that do not fit the network, a fault record that
//! does not decode). Dataset and `.npy` readers have their own errors,
//! [`crate::data::DataError`] and [`crate::npy::NpyError`], always bad input.

use rramsim_fault::FaultError;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum FuncError {
    #[error("layer `{layer}` has no trained weights (use an ONNX model with initializers)")]
    NoTrainedWeights { layer: String },
    #[error("{entries} weight entries for {layers} layers")]
    WeightEntries { entries: usize, layers: usize },
    #[error("layer `{layer}`: weights do not have {count} values")]
    WeightCount { layer: String, count: usize },
    #[error("layer `{layer}`: bias does not have {count} values")]
    BiasCount { layer: String, count: usize },
    #[error("layer `{layer}` has no weights")]
    NoWeights { layer: String },
    #[error("BatchNorm layer `{layer}` has no statistics")]
    NoStatistics { layer: String },
    #[error("functional inference needs one output layer, the network has {0}")]
    Outputs(usize),
    #[error("input has {values} values, the network takes {expected} ({channels}×{height}×{width})")]
    InputSize { values: usize, expected: usize, channels: usize, height: usize, width: usize },
    #[error("{values} values is not a whole number of {image}-value images")]
    PartialImage { values: usize, image: usize },
    #[error("{labels} labels for {values} values of {image}-value images")]
    LabelCount { labels: usize, values: usize, image: usize },
    #[error("layer `{layer}`: {source}")]
    Faults { layer: String, source: FaultError },
}

impl FuncError {
    /// True for the caller's bad input, false for an internal error.
    pub fn is_input(&self) -> bool {
        match self {
            Self::WeightEntries { .. } | Self::WeightCount { .. } | Self::BiasCount { .. } | Self::NoWeights { .. } => {
                false
            }
            Self::Faults { source, .. } => source.is_input(),
            _ => true,
        }
    }
}
