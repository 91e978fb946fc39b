//! Networks from any source — a zoo name, a workload `.toml` file, an `.onnx`
//! file or workload TOML text — loaded in the one canonical order: read →
//! BatchNorm folded → shortcut kernel replaced → widened.

use std::path::Path;

use rramsim_graph::{Network, Op, Shape};
use serde::Serialize;

use crate::error::{Error, Result};

/// Where a network comes from and how to transform it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkloadSpec {
    /// A zoo name, a `.toml` or `.onnx` path, or workload TOML text.
    pub source: String,
    /// Scale every hidden layer's channel count by this factor.
    pub widen: Option<f64>,
    /// Replace 1x1 projection shortcuts by K×K convolutions.
    pub shortcut_kernel: Option<usize>,
}

impl WorkloadSpec {
    /// The network as written, without transforms.
    pub fn new(source: impl Into<String>) -> Self {
        WorkloadSpec { source: source.into(), widen: None, shortcut_kernel: None }
    }

    /// With the width factor `f` (1.0 or `None`: unchanged).
    pub fn widened(mut self, f: Option<f64>) -> Self {
        self.widen = f.filter(|&f| f != 1.0);
        self
    }

    /// With 1x1 projection shortcuts replaced by `k`×`k` convs (1 or `None`: unchanged).
    pub fn with_shortcut_kernel(mut self, k: Option<usize>) -> Self {
        self.shortcut_kernel = k.filter(|&k| k != 1);
        self
    }

    /// Applies the requested transforms, in the order shortcut kernel, then widen.
    pub fn transform(&self, mut net: Network) -> Result<Network> {
        if let Some(k) = self.shortcut_kernel {
            net =
                rramsim_graph::shortcut_kernel(&net, k).map_err(|e| Error::input(format!("--shortcut-kernel: {e}")))?;
        }
        if let Some(f) = self.widen {
            net = rramsim_graph::widen(&net, f).map_err(|e| Error::input(format!("--widen: {e}")))?;
        }
        Ok(net)
    }

    /// The network as simulated: loaded, BatchNorm folded, transforms applied.
    pub fn load(&self) -> Result<Network> {
        let net = load_raw(&self.source)?;
        let net = rramsim_graph::fold_batchnorm(&net).map_err(|e| Error::input(format!("{}: {e}", self.label())))?;
        self.transform(net)
    }

    /// How reports name the workload: the source, or `<workload text>`.
    pub fn label(&self) -> String {
        if is_text(&self.source) { "<workload text>".to_owned() } else { self.source.clone() }
    }
}

fn is_text(source: &str) -> bool {
    source.contains('\n')
}

/// Reads a network as written (BatchNorm layers kept), without transforms.
pub fn load_raw(source: &str) -> Result<Network> {
    if is_text(source) {
        return rramsim_graph::load_workload_toml("<workload text>", source).map_err(Error::input);
    }
    let path = Path::new(source);
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("toml") => {
            let text = crate::io::read_text(path)?;
            rramsim_graph::load_workload_toml(source, &text).map_err(Error::input)
        }
        Some("onnx") => {
            let bytes = crate::io::read_bytes(path)?;
            rramsim_graph::import_onnx(source, &bytes).map_err(|e| Error::input(format!("{source}: {e}")))
        }
        _ => rramsim_graph::zoo(source).ok_or_else(|| {
            Error::input(format!(
                "unknown workload `{source}`: expected a zoo name ({}), a .toml file or an .onnx file",
                rramsim_graph::ZOO_NAMES.join(", ")
            ))
        }),
    }
}

/// `model` (any workload, BatchNorm folded), with the parameters of the
/// same-named layers of the ONNX file `weights` when given.
pub fn load_with_weights(model: &str, weights: Option<&str>) -> Result<Network> {
    let net = WorkloadSpec::new(model).load()?;
    let Some(weights) = weights else { return Ok(net) };
    let source = WorkloadSpec::new(weights).load()?;
    let mut b = net.to_builder();
    for id in net.ids() {
        let layer = net.layer(id);
        if !(layer.op.has_weights() || matches!(layer.op, Op::BatchNorm(_))) {
            continue;
        }
        let found = source.find(&layer.name).and_then(|s| source.layer(s).params.clone()).ok_or_else(|| {
            Error::input(format!("--weights {weights}: no parameters for layer `{}` of {model}", layer.name))
        })?;
        b.layer_mut(&layer.name).expect("the layer exists").params = Some(found);
    }
    // Building checks every parameter's size against its layer.
    b.build().map_err(|e| Error::input(format!("--weights {weights}: {e}")))
}

/// The network in the workload TOML format, BatchNorm layers kept (the file
/// describes the network as trained), transforms applied.
pub fn export_toml(spec: &WorkloadSpec) -> Result<(String, usize)> {
    let net = spec.transform(load_raw(&spec.source)?)?;
    let description = rramsim_graph::zoo_description(&spec.source);
    Ok((rramsim_graph::to_workload_toml(&net, description), net.len()))
}

/// One layer of `rramsim workload show`.
#[derive(Debug, Clone, Serialize)]
pub struct LayerRow {
    pub name: String,
    pub op: &'static str,
    pub inputs: Vec<String>,
    pub input_shape: Option<[usize; 3]>,
    pub output_shape: [usize; 3],
    pub weights: u64,
    pub biases: u64,
    pub macs: u64,
}

/// What `rramsim workload show` reports (its `--format json` document).
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadReport {
    pub name: String,
    pub input_shape: [usize; 3],
    pub layer_count: usize,
    pub total_weights: u64,
    pub total_biases: u64,
    pub total_macs: u64,
    pub layers: Vec<LayerRow>,
}

fn dims(s: Shape) -> [usize; 3] {
    [s.channels, s.height, s.width]
}

/// Per-layer shapes, weights and MACs of a network.
pub fn report(net: &Network) -> WorkloadReport {
    let layers: Vec<LayerRow> = net
        .ids()
        .map(|id| {
            let layer = net.layer(id);
            let stats = net.stats(id);
            LayerRow {
                name: layer.name.clone(),
                op: layer.op.kind_name(),
                inputs: layer.inputs.clone(),
                input_shape: net.input_shapes(id).first().copied().map(dims),
                output_shape: dims(net.output_shape(id)),
                weights: stats.weights,
                biases: stats.biases,
                macs: stats.macs,
            }
        })
        .collect();
    let total = net.total_stats();
    let input_shape = match net.layer(net.input()).op {
        Op::Input { shape } => dims(shape),
        _ => unreachable!("input() returns the input layer"),
    };
    WorkloadReport {
        name: net.name().to_owned(),
        input_shape,
        layer_count: net.len(),
        total_weights: total.weights,
        total_biases: total.biases,
        total_macs: total.macs,
        layers,
    }
}
