//! ONNX export of a [`Network`] with parameters, through the committed prost
//! types: what `rramsim train` writes, so trained models import like any other.
//!
//! Opset 13, IR version 7, float32 initializers in `raw_data`, input
//! `[N, C, H, W]` with a symbolic batch. Each layer becomes one node named after
//! it ; its output
//! value carries the layer's name, so errors and traces name the same things.
//! A Linear layer is preceded by a Flatten node (`<name>.flatten`), as Gemm
//! takes a 2-D input.

use prost::Message;

use super::OnnxError;
use super::proto::{
    self, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto,
    TypeProto, ValueInfoProto,
};
use crate::layer::{Activation, Op, Params, PoolKind};
use crate::network::Network;

const OPSET: i64 = 13;
const IR_VERSION: i64 = 7;
const FLOAT: i32 = 1;

fn ints(name: &str, v: &[usize]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::attribute_proto::AttributeType::Ints as i32),
        ints: v.iter().map(|&x| x as i64).collect(),
        ..Default::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::attribute_proto::AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::attribute_proto::AttributeType::Float as i32),
        f: Some(v),
        ..Default::default()
    }
}

fn tensor(name: &str, dims: &[usize], data: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(FLOAT),
        raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    use proto::tensor_shape_proto::{Dimension, dimension};
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(n) => dimension::Value::DimValue(*n as i64),
                None => dimension::Value::DimParam("N".into()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(proto::type_proto::Value::TensorType(proto::type_proto::Tensor {
                elem_type: Some(FLOAT),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: Vec<String>, output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs,
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

/// Serializes `net` (every weighted layer must have parameters) as an ONNX model.
pub fn export_onnx(net: &Network) -> Result<Vec<u8>, OnnxError> {
    let mut nodes = Vec::new();
    let mut init = Vec::new();
    let err = |name: &str, m: String| OnnxError { node: Some(name.to_owned()), op: None, message: m };
    for id in net.ids() {
        let layer = net.layer(id);
        let name = layer.name.as_str();
        let inputs: Vec<String> = net.inputs(id).iter().map(|&p| net.layer(p).name.clone()).collect();
        let in_shape = net.input_shapes(id).first().copied();
        let dense = || match &layer.params {
            Some(Params::Dense { weight, bias }) => Ok((weight, bias)),
            _ => Err(err(name, "has no trained weights to export".into())),
        };
        match &layer.op {
            Op::Input { .. } => {}
            Op::Conv2d(c) => {
                let (w, b) = dense()?;
                let s = in_shape.expect("a conv has an input");
                let dims = [c.out_channels, s.channels / c.groups, c.kernel[0], c.kernel[1]];
                init.push(tensor(&format!("{name}.weight"), &dims, w));
                let mut ins = vec![inputs[0].clone(), format!("{name}.weight")];
                if let Some(b) = b {
                    init.push(tensor(&format!("{name}.bias"), &[c.out_channels], b));
                    ins.push(format!("{name}.bias"));
                }
                let p = c.padding;
                nodes.push(node(
                    "Conv",
                    name,
                    ins,
                    name,
                    vec![
                        ints("kernel_shape", &c.kernel),
                        ints("strides", &c.stride),
                        ints("pads", &[p.top, p.left, p.bottom, p.right]),
                        ints("dilations", &c.dilation),
                        int("group", c.groups as i64),
                    ],
                ));
            }
            Op::Linear(l) => {
                let (w, b) = dense()?;
                let s = in_shape.expect("a linear layer has an input");
                // Gemm takes [N, K]: flatten whatever comes in (a no-op on 2-D values).
                let flat = format!("{name}.flatten");
                nodes.push(node("Flatten", &flat, vec![inputs[0].clone()], &flat, vec![int("axis", 1)]));
                let x = flat;
                init.push(tensor(&format!("{name}.weight"), &[l.out_features, s.elements()], w));
                let mut ins = vec![x, format!("{name}.weight")];
                if let Some(b) = b {
                    init.push(tensor(&format!("{name}.bias"), &[l.out_features], b));
                    ins.push(format!("{name}.bias"));
                }
                nodes.push(node("Gemm", name, ins, name, vec![int("transB", 1)]));
            }
            Op::BatchNorm(bn) => {
                let Some(Params::BatchNorm { gamma, beta, mean, var }) = &layer.params else {
                    return Err(err(name, "has no trained statistics to export".into()));
                };
                let c = gamma.len();
                let mut ins = vec![inputs[0].clone()];
                for (suffix, v) in [("scale", gamma), ("bias", beta), ("mean", mean), ("var", var)] {
                    let n = format!("{name}.{suffix}");
                    init.push(tensor(&n, &[c], v));
                    ins.push(n);
                }
                nodes.push(node("BatchNormalization", name, ins, name, vec![float("epsilon", bn.eps)]));
            }
            Op::Activation(Activation::Relu) => nodes.push(node("Relu", name, inputs, name, vec![])),
            Op::Activation(a @ (Activation::Relu6 | Activation::Clip { .. })) => {
                let (lo, hi) = match a {
                    Activation::Clip { min, max } => (*min, *max),
                    _ => (0.0, 6.0),
                };
                let (lo_n, hi_n) = (format!("{name}.min"), format!("{name}.max"));
                init.push(tensor(&lo_n, &[], &[lo]));
                init.push(tensor(&hi_n, &[], &[hi]));
                nodes.push(node("Clip", name, vec![inputs[0].clone(), lo_n, hi_n], name, vec![]));
            }
            Op::Pool(p) => {
                let op = if p.kind == PoolKind::Max { "MaxPool" } else { "AveragePool" };
                let pd = p.padding;
                let mut attrs = vec![
                    ints("kernel_shape", &p.kernel),
                    ints("strides", &p.stride),
                    ints("pads", &[pd.top, pd.left, pd.bottom, pd.right]),
                    int("ceil_mode", i64::from(p.ceil_mode)),
                ];
                if p.kind == PoolKind::Avg {
                    attrs.push(int("count_include_pad", i64::from(p.count_include_pad)));
                }
                nodes.push(node(op, name, inputs, name, attrs));
            }
            Op::GlobalAvgPool => nodes.push(node("GlobalAveragePool", name, inputs, name, vec![])),
            Op::Add => nodes.push(node("Sum", name, inputs, name, vec![])),
            Op::Concat => nodes.push(node("Concat", name, inputs, name, vec![int("axis", 1)])),
            Op::Flatten => nodes.push(node("Flatten", name, inputs, name, vec![int("axis", 1)])),
            Op::Reshape { shape } => {
                let n = format!("{name}.shape");
                init.push(TensorProto {
                    name: Some(n.clone()),
                    dims: vec![4],
                    data_type: Some(7),
                    int64_data: vec![-1, shape.channels as i64, shape.height as i64, shape.width as i64],
                    ..Default::default()
                });
                nodes.push(node("Reshape", name, vec![inputs[0].clone(), n], name, vec![]));
            }
            Op::Identity | Op::Dropout { .. } => nodes.push(node("Identity", name, inputs, name, vec![])),
            // What `rramsim train` produces is a CNN; the transformer-era kinds are import-only.
            Op::Activation(_)
            | Op::Scale
            | Op::Mul
            | Op::Softmax { .. }
            | Op::LayerNorm { .. }
            | Op::MatMul { .. }
            | Op::GlobalMaxPool
            | Op::Transpose { .. }
            | Op::Lrn { .. }
            | Op::Resize { .. }
            | Op::Pad { .. }
            | Op::ChannelSlice { .. } => {
                return Err(err(name, format!("export of `{}` layers is not supported", layer.op.kind_name())));
            }
        }
    }
    let input = net.input();
    let s = net.output_shape(input);
    let outputs = net.outputs();
    let [out] = outputs.as_slice() else {
        return Err(OnnxError::model(format!("export needs one output layer, the network has {}", outputs.len())));
    };
    let os = net.output_shape(*out);
    let out_dims: Vec<Option<usize>> = if os.height == 1 && os.width == 1 {
        vec![None, Some(os.channels)]
    } else {
        vec![None, Some(os.channels), Some(os.height), Some(os.width)]
    };
    let model = ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(OPSET) }],
        producer_name: Some("rramsim".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(GraphProto {
            name: Some(net.name().into()),
            node: nodes,
            initializer: init,
            input: vec![value_info(&net.layer(input).name, &[None, Some(s.channels), Some(s.height), Some(s.width)])],
            output: vec![value_info(&net.layer(*out).name, &out_dims)],
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok(model.encode_to_vec())
}
