//! ONNX import: the committed fixtures (built by tools/onnx_fixtures.py) and
//! models built here with the prost types, including malformed ones.

use std::path::PathBuf;

use prost::Message;
use rramsim_graph::onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto, attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
};
use rramsim_graph::{Activation, Axis, Op, PadMode, Padding, Params, ResizeCoord, fold_batchnorm, import_onnx, zoo};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/onnx").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn resnet20_fixture_matches_the_zoo() {
    let imported = import_onnx("resnet20.onnx", &fixture("resnet20.onnx")).unwrap();
    let reference = fold_batchnorm(&zoo("resnet20").unwrap()).unwrap();
    assert_eq!(imported.len(), reference.len());
    for (a, b) in imported.ids().zip(reference.ids()) {
        let (la, lb) = (imported.layer(a), reference.layer(b));
        assert_eq!(la.name, lb.name);
        assert_eq!(la.op, lb.op, "{}", la.name);
        assert_eq!(la.inputs, lb.inputs, "{}", la.name);
        assert_eq!(imported.output_shape(a), reference.output_shape(b), "{}", la.name);
        assert_eq!(imported.stats(a), reference.stats(b), "{}", la.name);
        // Every weighted layer carries its (folded) weights and a bias.
        if la.op.has_weights() {
            let Some(Params::Dense { weight, bias: Some(bias) }) = &la.params else { panic!("{}", la.name) };
            assert_eq!(weight.len() as u64, imported.stats(a).weights);
            assert_eq!(bias.len(), imported.output_shape(a).channels);
        }
    }
    assert_eq!(imported.total_stats(), reference.total_stats());
    assert_eq!(imported.total_stats().macs, 40_813_184);
}

#[test]
fn mixed_ops_fixture_covers_every_supported_op() {
    let net = import_onnx("mixed_ops.onnx", &fixture("mixed_ops.onnx")).unwrap();
    let kind = |name: &str| net.layer(net.find(name).unwrap_or_else(|| panic!("no layer {name}"))).op.kind_name();
    assert_eq!(kind("stem"), "conv2d"); // stem.bn folded into it
    assert!(net.find("stem.bn").is_none());
    assert_eq!(kind("stem.relu6"), "relu6"); // Clip(0, 6)
    assert_eq!(kind("post_add.bn"), "batchnorm"); // after an add: kept
    assert_eq!(kind("reshape"), "flatten"); // Reshape to [1, -1]
    // Dropout and Identity pass values through and are not layers.
    assert!(net.find("dropout").is_none() && net.find("identity").is_none());
    assert_eq!(net.layer(net.find("reshape").unwrap()).inputs, ["concat"]);
    let Op::Conv2d(dw) = &net.layer(net.find("dw").unwrap()).op else { panic!() };
    assert_eq!((dw.groups, dw.bias), (8, true));
    let Op::Pool(avg) = &net.layer(net.find("avgpool").unwrap()).op else { panic!() };
    assert!(!avg.count_include_pad);
    let fc1 = net.layer(net.find("fc1").unwrap());
    let Some(Params::Dense { bias: Some(bias), .. }) = &fc1.params else { panic!("fc1 has no bias") };
    assert_eq!(bias, &vec![0.25; 12]); // ConstantOfShape bias folded into the MatMul
    assert_eq!(net.output_shape(net.find("concat").unwrap()).channels, 16);
    assert_eq!(net.output_shape(net.outputs()[0]).channels, 5);
}

/// The PyTorch-style ViT export (opset 17, dynamic batch) imports as the zoo's
/// `vit_tiny`: the same weighted layers (token-wise MatMuls as 1x1 convs with
/// their bias Adds folded) and attention products; its shape sub-graphs fold away
/// and its transposes and head reshapes move no value.
#[test]
fn vit_fixture_matches_the_zoo_transformer() {
    let imported = import_onnx("vit_tiny.onnx", &fixture("vit_tiny.onnx")).unwrap();
    let reference = zoo("vit_tiny").unwrap();
    assert_eq!(imported.total_stats(), reference.total_stats());
    for id in reference.ids() {
        let want = reference.layer(id);
        if !(want.op.has_weights() || matches!(want.op, Op::MatMul { .. } | Op::Softmax { .. } | Op::LayerNorm { .. }))
        {
            continue;
        }
        let got = imported.find(&want.name).map(|i| (imported.layer(i), imported.stats(i), imported.output_shape(i)));
        let (layer, stats, shape) = got.unwrap_or_else(|| panic!("no layer {}", want.name));
        assert_eq!(layer.op, want.op, "{}", want.name);
        assert_eq!((stats, shape), (reference.stats(id), reference.output_shape(id)), "{}", want.name);
    }
    let kinds = |k: &str| imported.layers().filter(|l| l.op.kind_name() == k).count();
    assert_eq!(kinds("transpose"), 0);
    assert_eq!(kinds("reshape"), 1 + 2 * 4); // tokens; per block q, k, v heads and the merge
    assert!(imported.layers().all(|l| !l.name.ends_with(".shape") && !l.name.ends_with(".target")));
    // GELU in its erf form: x/√2, erf, +1, x·, ·0.5.
    let kind = |name: &str| imported.layer(imported.find(name).unwrap()).op.kind_name();
    let gelu = ["mlp.div", "mlp.erf", "mlp.erf_add", "mlp.mul", "mlp.act"].map(|n| kind(&format!("blocks.0.{n}")));
    assert_eq!(gelu, ["scale", "erf", "scale", "mul", "scale"]);
    assert_eq!(kind("pos_add"), "scale");
    assert_eq!(kind("pool"), "global_avgpool"); // ReduceMean over the tokens
}

/// tf2onnx's NHWC wrappers: the transposes between the two convs cancel; the
/// one into the first conv and the one before Keras' NHWC flatten move values.
#[test]
fn tf2onnx_transposes_cancel_or_become_layers() {
    let net = import_onnx("tf2onnx_nhwc.onnx", &fixture("tf2onnx_nhwc.onnx")).unwrap();
    let transposes: Vec<&str> =
        net.layers().filter(|l| matches!(l.op, Op::Transpose { .. })).map(|l| l.name.as_str()).collect();
    assert_eq!(transposes, ["conv1.transpose", "flatten.transpose"]);
    assert_eq!(net.layer(net.find("conv2").unwrap()).inputs, ["conv1/Relu"]);
    let Op::Transpose { perm } = net.layer(net.find("conv1.transpose").unwrap()).op else { panic!() };
    assert_eq!(perm, [2, 0, 1]); // H×W×C → C×H×W
    // ZeroPadding2D's Pad on the NHWC value folds into conv2's padding.
    let Op::Conv2d(conv2) = &net.layer(net.find("conv2").unwrap()).op else { panic!() };
    assert_eq!(conv2.padding, Padding { top: 0, left: 0, bottom: 1, right: 1 });
    let sm = net.layer(net.find("dense/Softmax").unwrap());
    assert_eq!(sm.op, Op::Softmax { axis: Axis::Channels, log: false });
}

/// PyTorch's F.interpolate at opset 13 (nearest by scales, bilinear with and
/// without align_corners, to sizes read partly from a Shape) and opset-9 Upsample.
#[test]
fn resize_and_upsample_fixtures_import() {
    let net = import_onnx("torch_unet_resize.onnx", &fixture("torch_unet_resize.onnx")).unwrap();
    let op = |name: &str| net.layer(net.find(name).unwrap()).op.clone();
    let shape = |name: &str| net.output_shape(net.find(name).unwrap()).to_string();
    assert_eq!(op("up1"), Op::Resize { size: [8, 8], linear: false, coord: ResizeCoord::Asymmetric, round: false });
    assert_eq!(op("up2"), Op::Resize { size: [16, 16], linear: true, coord: ResizeCoord::HalfPixel, round: false });
    assert_eq!(op("up3"), Op::Resize { size: [20, 12], linear: true, coord: ResizeCoord::AlignCorners, round: false });
    assert_eq!([shape("up1"), shape("up2"), shape("up3")], ["12x8x8", "8x16x16", "4x20x12"]);
    let net = import_onnx("upsample_opset9.onnx", &fixture("upsample_opset9.onnx")).unwrap();
    let op = |name: &str| net.layer(net.find(name).unwrap()).op.clone();
    assert_eq!(op("up"), Op::Resize { size: [6, 6], linear: false, coord: ResizeCoord::Asymmetric, round: false });
    assert_eq!(op("up2"), Op::Resize { size: [12, 18], linear: true, coord: ResizeCoord::Asymmetric, round: false });
}

/// An opset-7 Upsample keeps its scales in an attribute; opset-11 Resize
/// defaults to half-pixel coordinates rounded to the nearest.
#[test]
fn upsample_attribute_scales_and_resize_defaults() {
    let mut bytes = model(
        vec![conv_input()],
        vec![node("Upsample", "up", &["x"], vec![attr_floats("scales", &[1.0, 1.0, 2.0, 3.0])])],
        vec![],
    );
    let mut m = ModelProto::decode(bytes.as_slice()).unwrap();
    m.opset_import[0].version = Some(7);
    bytes = m.encode_to_vec();
    let net = import_onnx("m", &bytes).unwrap();
    assert_eq!(net.output_shape(net.find("up").unwrap()).to_string(), "4x16x24");
    let net = import_onnx(
        "m",
        &model(
            vec![conv_input()],
            vec![node("Resize", "r", &["x", "", "s"], vec![])],
            vec![floats("s", &[4], &[1.0, 1.0, 2.0, 2.0], true)],
        ),
    )
    .unwrap();
    let r = net.layer(net.find("r").unwrap());
    assert_eq!(r.op, Op::Resize { size: [16, 16], linear: false, coord: ResizeCoord::HalfPixel, round: true });
}

/// PyTorch's reflection, replication and non-zero constant padding become `pad`
/// layers; opset 10 keeps pads and the value in attributes.
#[test]
fn pad_layers_import() {
    let net = import_onnx("torch_pad_split.onnx", &fixture("torch_pad_split.onnx")).unwrap();
    let op = |name: &str| net.layer(net.find(name).unwrap()).op.clone();
    let p = |t, l, b, r| Padding { top: t, left: l, bottom: b, right: r };
    assert_eq!(op("pad1"), Op::Pad { padding: p(1, 2, 1, 2), mode: PadMode::Reflect, value: 0.0 });
    assert_eq!(op("pad2"), Op::Pad { padding: p(2, 1, 0, 1), mode: PadMode::Edge, value: 0.0 });
    assert_eq!(op("pad3"), Op::Pad { padding: p(1, 1, 1, 1), mode: PadMode::Constant, value: 0.5 });
    assert_eq!(net.output_shape(net.find("pad1").unwrap()).to_string(), "3x14x16");
    // torch.split with sizes, torch.chunk without: one channel slice per output.
    assert_eq!(op("split.0"), Op::ChannelSlice { start: 0, len: 3 });
    assert_eq!(op("split.1"), Op::ChannelSlice { start: 3, len: 5 });
    assert_eq!(op("chunk.1"), Op::ChannelSlice { start: 4, len: 4 });
    assert_eq!(net.layer(net.find("ca").unwrap()).inputs, ["split.0"]);
    assert_eq!(net.layer(net.find("chunk_sum").unwrap()).inputs, ["chunk.0", "chunk.1"]);
    let mut m = ModelProto::decode(
        model(
            vec![conv_input()],
            vec![node(
                "Pad",
                "p",
                &["x"],
                vec![attr_ints("pads", &[0, 0, 1, 0, 0, 0, 0, 3]), attr_str("mode", "reflect")],
            )],
            vec![],
        )
        .as_slice(),
    )
    .unwrap();
    m.opset_import[0].version = Some(10);
    let net = import_onnx("m", &m.encode_to_vec()).unwrap();
    assert_eq!(net.output_shape(net.find("p").unwrap()).to_string(), "4x9x11");
}

/// Caffe2's opset-7 forms: initializers listed as graph inputs, LRN, Sum,
/// Softmax with the old default axis 1.
#[test]
fn caffe2_opset7_fixture_imports() {
    let net = import_onnx("caffe2_opset7.onnx", &fixture("caffe2_opset7.onnx")).unwrap();
    let op = |name: &str| net.layer(net.find(name).unwrap()).op.clone();
    assert_eq!(op("norm1"), Op::Lrn { size: 5, alpha: 1e-4, beta: 0.75, bias: 1.0 });
    assert_eq!(op("res"), Op::Add);
    assert_eq!(op("prob"), Op::Softmax { axis: Axis::Channels, log: false });
    assert!(net.find("drop6").is_none());
}

/// MobileNetV3-style pieces: HardSwish, an SE gate multiplied per channel, SiLU
/// as Sigmoid × x, constant normalisation as scale layers, GlobalMaxPool.
#[test]
fn torch_mobile_ops_fixture_imports() {
    let net = import_onnx("torch_mobile_ops.onnx", &fixture("torch_mobile_ops.onnx")).unwrap();
    let kind = |name: &str| net.layer(net.find(name).unwrap()).op.kind_name();
    let names = ["norm.sub", "norm.div", "stem.act", "se.gate", "se.scale", "silu", "tanh", "gmp", "log_softmax"];
    assert_eq!(
        names.map(kind),
        ["scale", "scale", "hard_swish", "hard_sigmoid", "mul", "mul", "tanh", "global_maxpool", "log_softmax"]
    );
    let Some(Params::Affine { scale, shift }) = &net.layer(net.find("norm.div").unwrap()).params else { panic!() };
    assert_eq!((scale.len(), shift.len()), (3, 1)); // per channel: 1/std; no shift
    assert_eq!(net.layer(net.find("se.scale").unwrap()).inputs, ["stem.act", "se.gate"]);
}

#[test]
fn typed_fields_fixture_reads_float_data_and_attribute_clip() {
    let net = import_onnx("typed_fields.onnx", &fixture("typed_fields.onnx")).unwrap();
    let clip = &net.layer(net.find("clip").unwrap()).op;
    assert_eq!(*clip, Op::Activation(Activation::Clip { min: -1.0, max: 1.0 }));
    let fc = net.layer(net.find("fc").unwrap());
    let Some(Params::Dense { weight, bias: Some(bias) }) = &fc.params else { panic!() };
    assert_eq!(weight.len(), 144 * 3);
    // beta = 2 scales the bias [0.5, -0.5, 1.0].
    assert_eq!(bias, &vec![1.0, -1.0, 2.0]);
}

// ---- models built with the prost types ----

fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(i),
        ..Default::default()
    }
}

fn attr_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: ints.to_vec(),
        ..Default::default()
    }
}

fn attr_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(f),
        ..Default::default()
    }
}

fn attr_str(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::String as i32),
        s: Some(s.as_bytes().to_vec()),
        ..Default::default()
    }
}

fn attr_floats(name: &str, floats: &[f32]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Floats as i32),
        floats: floats.to_vec(),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs.iter().map(|s| (*s).to_owned()).collect(),
        output: vec![name.to_owned()],
        attribute: attrs,
        ..Default::default()
    }
}

fn floats(name: &str, dims: &[i64], data: &[f32], raw: bool) -> TensorProto {
    let mut t = TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(DataType::Float as i32),
        ..Default::default()
    };
    if raw {
        t.raw_data = Some(data.iter().flat_map(|v| v.to_le_bytes()).collect());
    } else {
        t.float_data = data.to_vec();
    }
    t
}

fn value_info(name: &str, dims: &[Option<i64>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Some(v) => tensor_shape_proto::dimension::Value::DimValue(*v),
                None => tensor_shape_proto::dimension::Value::DimParam("N".into()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn model(inputs: Vec<ValueInfoProto>, nodes: Vec<NodeProto>, inits: Vec<TensorProto>) -> Vec<u8> {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(13) }],
        graph: Some(GraphProto {
            name: Some("built".into()),
            node: nodes,
            initializer: inits,
            input: inputs,
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// x[1, 2] → Gemm(B = [[1, 2, 3], [4, 5, 6]] stored [in, out], alpha 2, C, beta 0.5).
fn gemm_model(raw: bool) -> Vec<u8> {
    model(
        vec![value_info("x", &[None, Some(2)])],
        vec![node("Gemm", "fc", &["x", "B", "C"], vec![attr_float("alpha", 2.0), attr_float("beta", 0.5)])],
        vec![floats("B", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], raw), floats("C", &[3], &[2.0, 4.0, 6.0], raw)],
    )
}

#[test]
fn gemm_weights_are_transposed_and_scaled() {
    for raw in [true, false] {
        let net = import_onnx("gemm", &gemm_model(raw)).unwrap();
        let fc = net.layer(net.find("fc").unwrap());
        let Some(Params::Dense { weight, bias }) = &fc.params else { panic!() };
        // weight[o][i] = alpha · B[i][o]
        assert_eq!(weight, &vec![2.0, 8.0, 4.0, 10.0, 6.0, 12.0], "raw_data = {raw}");
        assert_eq!(bias.as_deref(), Some(&[1.0, 2.0, 3.0][..]));
    }
}

fn conv_input() -> ValueInfoProto {
    value_info("x", &[None, Some(4), Some(8), Some(8)])
}

fn conv_weight() -> TensorProto {
    floats("W", &[2, 4, 3, 3], &[0.5; 72], true)
}

/// (description, model bytes, expected node, expected op, text in the message)
type BadModel = (&'static str, Vec<u8>, Option<&'static str>, Option<&'static str>, &'static str);

fn bad_models() -> Vec<BadModel> {
    let good = gemm_model(true);
    let mut external = conv_weight();
    external.data_location = Some(rramsim_graph::onnx::proto::tensor_proto::DataLocation::External as i32);
    let mut half = conv_weight();
    half.data_type = Some(DataType::Float16 as i32);
    let mut short = conv_weight();
    short.raw_data.as_mut().unwrap().truncate(100);
    vec![
        (
            "unsupported op fixture",
            fixture("unsupported_op.onnx"),
            Some("hardmax"),
            Some("Hardmax"),
            "unsupported op `Hardmax`; rramsim imports Conv, Gemm, MatMul",
        ),
        ("declared shape disagrees", fixture("wrong_value_info.onnx"), Some("conv"), Some("Conv"), "declared 2x8x8"),
        ("truncated file", good[..good.len() / 2].to_vec(), None, None, "not a valid ONNX model"),
        ("not protobuf", b"\xff\xff\xff\xff garbage".to_vec(), None, None, "not a valid ONNX model"),
        ("no graph", ModelProto::default().encode_to_vec(), None, None, "no graph"),
        (
            "undefined operand",
            model(vec![conv_input()], vec![node("Relu", "r", &["nowhere"], vec![])], vec![]),
            Some("r"),
            Some("Relu"),
            "operand `nowhere`",
        ),
        (
            "weights from an activation",
            model(vec![conv_input()], vec![node("Conv", "c", &["x", "x"], vec![])], vec![]),
            Some("c"),
            Some("Conv"),
            "must be a constant",
        ),
        (
            "two graph inputs",
            model(vec![conv_input(), value_info("y", &[None, Some(3)])], vec![], vec![]),
            None,
            None,
            "2 inputs (x, y)",
        ),
        (
            "dynamic input shape",
            model(vec![value_info("x", &[None, Some(3), None, None])], vec![], vec![]),
            None,
            None,
            "static shape",
        ),
        (
            "external tensor data",
            model(vec![conv_input()], vec![node("Conv", "c", &["x", "W"], vec![])], vec![external]),
            None,
            None,
            "external file",
        ),
        (
            "float16 initializer",
            model(vec![conv_input()], vec![node("Conv", "c", &["x", "W"], vec![])], vec![half]),
            None,
            None,
            "FLOAT16",
        ),
        (
            "raw_data shorter than dims",
            model(vec![conv_input()], vec![node("Conv", "c", &["x", "W"], vec![])], vec![short]),
            None,
            None,
            "has 25 values but its dims [2, 4, 3, 3] need 72",
        ),
        (
            "flatten on axis 2",
            model(vec![conv_input()], vec![node("Flatten", "f", &["x"], vec![attr_int("axis", 2)])], vec![]),
            Some("f"),
            Some("Flatten"),
            "axis=1",
        ),
        (
            "auto_pad SAME_UPPER",
            model(
                vec![conv_input()],
                vec![node("Conv", "c", &["x", "W"], vec![attr_str("auto_pad", "SAME_UPPER")])],
                vec![conv_weight()],
            ),
            Some("c"),
            Some("Conv"),
            "auto_pad SAME_UPPER",
        ),
        (
            "groups do not divide the channels",
            model(
                vec![value_info("x", &[None, Some(3), Some(8), Some(8)])],
                vec![node("Conv", "c", &["x", "W"], vec![attr_int("group", 2)])],
                vec![floats("W", &[2, 1, 3, 3], &[0.5; 18], true)],
            ),
            Some("c"),
            Some("Conv"),
            "not divisible into 2 groups",
        ),
        (
            "pool without kernel_shape",
            model(vec![conv_input()], vec![node("MaxPool", "p", &["x"], vec![attr_ints("strides", &[2, 2])])], vec![]),
            Some("p"),
            Some("MaxPool"),
            "kernel_shape",
        ),
        (
            "reshape to an unsupported shape",
            model(
                vec![conv_input()],
                vec![node("Reshape", "r", &["x", "s"], vec![])],
                vec![TensorProto {
                    name: Some("s".into()),
                    dims: vec![3],
                    data_type: Some(DataType::Int64 as i32),
                    int64_data: vec![1, -1, -1],
                    ..Default::default()
                }],
            ),
            Some("r"),
            Some("Reshape"),
            "target shape [1, -1, -1] has an invalid dimension -1",
        ),
        (
            "a pad read by something other than a conv",
            model(
                vec![conv_input()],
                vec![
                    node("Pad", "p", &["x"], vec![attr_ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1])]),
                    node("Relu", "r", &["p"], vec![]),
                ],
                vec![],
            ),
            Some("r"),
            Some("Relu"),
            "folds a zero Pad into the padding of a following Conv only",
        ),
        (
            "a split of the height",
            model(
                vec![conv_input()],
                vec![NodeProto {
                    output: vec!["a".into(), "b".into()],
                    ..node("Split", "s", &["x"], vec![attr_int("axis", 2)])
                }],
                vec![],
            ),
            Some("s"),
            Some("Split"),
            "splitting axis 2 of a 4x8x8 tensor is not supported",
        ),
        (
            "split sizes that do not add up",
            model(
                vec![conv_input()],
                vec![NodeProto {
                    output: vec!["a".into(), "b".into()],
                    ..node("Split", "s", &["x", "k"], vec![attr_int("axis", 1)])
                }],
                vec![TensorProto {
                    name: Some("k".into()),
                    dims: vec![2],
                    data_type: Some(DataType::Int64 as i32),
                    int64_data: vec![1, 2],
                    ..Default::default()
                }],
            ),
            Some("s"),
            Some("Split"),
            "split sizes [1, 2] do not divide 4 channels into 2 outputs",
        ),
        (
            "a wrap pad",
            model(
                vec![conv_input()],
                vec![node(
                    "Pad",
                    "p",
                    &["x"],
                    vec![attr_ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1]), attr_str("mode", "wrap")],
                )],
                vec![],
            ),
            Some("p"),
            Some("Pad"),
            "mode `wrap` is not supported (constant, reflect, edge)",
        ),
        (
            "a reflect pad as wide as the input",
            model(
                vec![conv_input()],
                vec![node(
                    "Pad",
                    "p",
                    &["x"],
                    vec![attr_ints("pads", &[0, 0, 8, 0, 0, 0, 0, 0]), attr_str("mode", "reflect")],
                )],
                vec![],
            ),
            Some("p"),
            Some("Pad"),
            "reflect padding must be smaller than the input's 8x8 plane",
        ),
        (
            "a cubic resize",
            model(
                vec![conv_input()],
                vec![node("Resize", "r", &["x", "", "s"], vec![attr_str("mode", "cubic")])],
                vec![floats("s", &[4], &[1.0, 1.0, 2.0, 2.0], true)],
            ),
            Some("r"),
            Some("Resize"),
            "mode `cubic` is not supported (nearest, linear)",
        ),
        (
            "a resize of the channels",
            model(
                vec![conv_input()],
                vec![node("Resize", "r", &["x", "", "s"], vec![])],
                vec![floats("s", &[4], &[1.0, 2.0, 2.0, 2.0], true)],
            ),
            Some("r"),
            Some("Resize"),
            "only the height and width can be resized",
        ),
        (
            "a resize by a fractional length",
            model(
                vec![conv_input()],
                vec![node("Resize", "r", &["x", "", "s"], vec![])],
                vec![floats("s", &[4], &[1.0, 1.0, 1.3, 2.0], true)],
            ),
            Some("r"),
            Some("Resize"),
            "does not give a whole length; export with sizes",
        ),
        (
            "a tf_crop_and_resize",
            model(
                vec![conv_input()],
                vec![node(
                    "Resize",
                    "r",
                    &["x", "", "s"],
                    vec![attr_str("coordinate_transformation_mode", "tf_crop_and_resize")],
                )],
                vec![floats("s", &[4], &[1.0, 1.0, 2.0, 2.0], true)],
            ),
            Some("r"),
            Some("Resize"),
            "coordinate_transformation_mode `tf_crop_and_resize` is not supported",
        ),
        (
            "a constant divided by an activation",
            model(
                vec![conv_input()],
                vec![node("Div", "d", &["k", "x"], vec![])],
                vec![floats("k", &[1], &[1.0], false)],
            ),
            Some("d"),
            Some("Div"),
            "dividing a constant by an activation is not supported",
        ),
    ]
}

#[test]
fn bad_models_give_errors_naming_the_node() {
    for (what, bytes, node, op, needle) in bad_models() {
        let result = std::panic::catch_unwind(|| import_onnx("m.onnx", &bytes));
        let err = match result {
            Ok(Ok(_)) => panic!("{what}: imported a bad model"),
            Ok(Err(e)) => e,
            Err(_) => panic!("{what}: panicked"),
        };
        assert_eq!(err.node.as_deref(), node, "{what}: {err}");
        assert_eq!(err.op.as_deref(), op, "{what}: {err}");
        assert!(err.to_string().contains(needle), "{what}: `{err}` should contain `{needle}`");
    }
}

/// Export then import gives back the same layers, shapes and parameters
/// (Linear layers gain the Flatten node Gemm needs; Add becomes Sum).
#[test]
fn export_round_trips_through_the_importer() {
    for name in ["resnet20.onnx", "mixed_ops.onnx", "typed_fields.onnx"] {
        let net = import_onnx(name, &fixture(name)).unwrap();
        let bytes = rramsim_graph::export_onnx(&net).unwrap();
        let back = import_onnx("exported", &bytes).unwrap();
        let weighted = |n: &rramsim_graph::Network| -> Vec<(String, Option<Params>, rramsim_graph::Shape)> {
            n.ids()
                .filter(|&id| n.layer(id).params.is_some())
                .map(|id| (n.layer(id).name.clone(), n.layer(id).params.clone(), n.output_shape(id)))
                .collect()
        };
        assert_eq!(weighted(&net), weighted(&back), "{name}");
        assert_eq!(net.total_stats(), back.total_stats(), "{name}");
        let ops = |n: &rramsim_graph::Network| -> Vec<&'static str> {
            n.layers().map(|l| l.op.kind_name()).filter(|k| *k != "flatten").collect()
        };
        assert_eq!(ops(&net), ops(&back), "{name}");
    }
    // Structure-only networks have nothing to export.
    let err = rramsim_graph::export_onnx(&zoo("resnet20").unwrap()).unwrap_err();
    assert!(err.to_string().contains("no trained weights"), "{err}");
}
