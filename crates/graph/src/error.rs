//! Errors of graph construction and transforms.

use std::fmt;

/// A structural or shape error, naming the layer (and, where it is one key's
/// fault, that key) so that file-level loaders can point at the source location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// The layer at fault; `None` for network-wide problems (e.g. no input).
    pub layer: Option<String>,
    /// The layer key at fault, in workload-format spelling (`"inputs"`, `"kernel"`).
    pub key: Option<&'static str>,
    pub message: String,
}

impl GraphError {
    pub fn network(message: impl Into<String>) -> Self {
        Self { layer: None, key: None, message: message.into() }
    }

    pub fn layer(layer: &str, message: impl Into<String>) -> Self {
        Self { layer: Some(layer.to_owned()), key: None, message: message.into() }
    }

    pub fn layer_key(layer: &str, key: &'static str, message: impl Into<String>) -> Self {
        Self { layer: Some(layer.to_owned()), key: Some(key), message: message.into() }
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(layer) = &self.layer {
            write!(f, "layer `{layer}`: ")?;
        }
        if let Some(key) = self.key {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for GraphError {}
