//! `rramsim workload show|export`.

use serde_json::Value;

use crate::{assert_bad_input, path_str, root, rramsim, scratch, stderr, stdout};

fn show_json(args: &[&str]) -> Value {
    crate::json_of(&["workload", "show"], args)
}

#[test]
fn show_json_has_totals_and_layers() {
    let v = show_json(&["resnet20"]);
    assert_eq!(v["total_weights"], 270_896);
    assert_eq!(v["total_macs"], 40_813_184);
    let layers = v["layers"].as_array().unwrap();
    let sum = |key: &str| layers.iter().map(|l| l[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum("weights"), 270_896);
    assert_eq!(sum("macs"), 40_813_184);
    for l in layers {
        for key in ["name", "op", "weights", "macs", "output_shape"] {
            assert!(!l[key].is_null(), "layer without `{key}`: {l}");
        }
    }
    let conv1 = layers.iter().find(|l| l["name"] == "conv1").unwrap();
    assert_eq!(conv1["op"], "conv2d");
    assert_eq!(conv1["output_shape"], serde_json::json!([16, 32, 32]));
}

#[test]
fn show_table_snapshot_resnet20() {
    let o = rramsim(&["workload", "show", "resnet20"]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("workload_show_resnet20", stdout(&o));
}

#[test]
fn zoo_totals_snapshot() {
    let mut lines = String::new();
    for name in ["resnet20", "vgg13", "mobilenetv2", "resnet18", "resnet50", "vgg16", "vgg8"] {
        let v = show_json(&[name]);
        lines.push_str(&format!(
            "{name}: layers={} weights={} biases={} macs={}\n",
            v["layer_count"], v["total_weights"], v["total_biases"], v["total_macs"]
        ));
    }
    insta::assert_snapshot!("zoo_totals", lines);
}

#[test]
fn show_csv_has_a_row_per_layer() {
    let o = rramsim(&["workload", "show", "vgg13", "--format", "csv"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("name,op,inputs,input_shape,output_shape,weights,biases,macs"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), show_json(&["vgg13"])["layer_count"].as_u64().unwrap() as usize);
    let macs: u64 = rows.iter().map(|r| r.rsplit(',').next().unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(macs, 228_267_008);
}

#[test]
fn widen_and_shortcut_kernel_flags_transform_the_network() {
    let base = show_json(&["resnet20"]);
    let k3 = show_json(&["resnet20", "--shortcut-kernel", "3"]);
    assert_eq!(k3["total_weights"].as_u64().unwrap() - base["total_weights"].as_u64().unwrap(), (512 + 2048) * 8);
    let wide = show_json(&["resnet20", "--widen", "1.6"]);
    let layers = wide["layers"].as_array().unwrap();
    let fc = layers.iter().find(|l| l["name"] == "fc").unwrap();
    // 64 · 1.6 = 102.4 → 102 input features, 10 classes.
    assert_eq!(fc["weights"], 1020);
    assert_bad_input(&rramsim(&["workload", "show", "resnet20", "--widen", "-1"]), "--widen");
    assert_bad_input(&rramsim(&["workload", "show", "resnet20", "--shortcut-kernel", "2"]), "must be odd");
}

#[test]
fn toml_file_and_onnx_file_match_the_zoo() {
    let zoo = show_json(&["resnet20"]);
    let toml = show_json(&["workloads/resnet20.toml"]);
    let onnx = show_json(&["tests/fixtures/onnx/resnet20.onnx"]);
    for other in [&toml, &onnx] {
        assert_eq!(other["total_weights"], zoo["total_weights"]);
        assert_eq!(other["total_macs"], zoo["total_macs"]);
        assert_eq!(other["layer_count"], zoo["layer_count"]);
    }
}

#[test]
fn export_writes_the_committed_file() {
    let dir = scratch("export");
    let out = dir.join("r20.toml");
    let o = rramsim(&["workload", "export", "resnet20", "-o", path_str(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let written = std::fs::read_to_string(&out).unwrap();
    let committed = std::fs::read_to_string(root().join("workloads/resnet20.toml")).unwrap();
    assert_eq!(written, committed);
    // The exported file loads back to the same network.
    let back = show_json(&[path_str(&out)]);
    assert_eq!(back["total_macs"], 40_813_184);
}

#[test]
fn failed_export_leaves_no_file() {
    let dir = scratch("failed-export");
    let out = dir.join("never.toml");
    assert_bad_input(
        &rramsim(&["workload", "export", "resnet21", "-o", path_str(&out)]),
        "unknown workload `resnet21`",
    );
    assert_bad_input(
        &rramsim(&["workload", "export", "resnet20", "--shortcut-kernel", "4", "-o", path_str(&out)]),
        "--shortcut-kernel",
    );
    assert!(!out.exists());
    let missing_dir = dir.join("no/such/dir/x.toml");
    assert_bad_input(&rramsim(&["workload", "export", "resnet20", "-o", path_str(&missing_dir)]), "does not exist");
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn bad_workload_inputs_exit_two_with_locations() {
    let dir = scratch("bad-inputs");
    let bad_toml = dir.join("bad.toml");
    std::fs::write(
        &bad_toml,
        "[network]\nname = \"x\"\n\n[[layer]]\nname = \"input\"\nop = \"input\"\nshape = [3, 8]\n",
    )
    .unwrap();
    assert_bad_input(&rramsim(&["workload", "show", path_str(&bad_toml)]), "bad.toml:7:9: key `layer[0].shape`");
    let bad_onnx = dir.join("bad.onnx");
    std::fs::write(&bad_onnx, b"definitely not protobuf").unwrap();
    assert_bad_input(&rramsim(&["workload", "show", path_str(&bad_onnx)]), "not a valid ONNX model");
    assert_bad_input(
        &rramsim(&["workload", "show", "tests/fixtures/onnx/unsupported_op.onnx"]),
        "node `hardmax` (op Hardmax): unsupported op `Hardmax`; rramsim imports Conv, Gemm, MatMul",
    );
    assert_bad_input(&rramsim(&["workload", "show", "missing.toml"]), "cannot read missing.toml");
    assert_bad_input(&rramsim(&["workload", "show", "alexnet"]), "expected a zoo name (resnet20");
}

/// A UNet-style decoder with nearest and bilinear Resize layers runs end to end:
/// the resizes run on the tile ALU with a cost; a bad resize mode is a located error.
/// The padding and Split fixture runs too.
#[test]
fn run_resize_fixture_on_the_tile_alu() {
    let r = crate::json_of(&["run"], &["--arch", "isaac", "--workload", "tests/fixtures/onnx/torch_unet_resize.onnx"]);
    let layers = r["layers"].as_array().unwrap();
    let resizes: Vec<_> = layers.iter().filter(|l| l["op"] == "resize").collect();
    assert_eq!(resizes.len(), 3);
    for l in resizes {
        assert_eq!(l["target"], "tile", "{l}");
        assert!(l["cycles"].as_u64().unwrap() > 0 && l["energy_pj"].as_f64().unwrap() > 0.0, "{l}");
    }
    // Pads run on the ALU; the outputs of a Split are views of their producer.
    let r = crate::json_of(&["run"], &["--arch", "isaac", "--workload", "tests/fixtures/onnx/torch_pad_split.onnx"]);
    let layers = r["layers"].as_array().unwrap();
    let target = |op: &str| layers.iter().filter(|l| l["op"] == op).map(|l| l["target"].clone()).collect::<Vec<_>>();
    assert_eq!(target("pad"), ["tile"; 3]);
    assert_eq!(target("channel_slice"), ["view"; 4]);
    let dir = scratch("bad-resize");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[network]\nname = \"x\"\n\n[[layer]]\nname = \"input\"\nop = \"input\"\nshape = [3, 8, 8]\n\n\
         [[layer]]\nname = \"up\"\nop = \"resize\"\ninputs = [\"input\"]\nsize = 16\nmode = \"cubic\"\n",
    )
    .unwrap();
    assert_bad_input(
        &rramsim(&["run", "--arch", "isaac", "--workload", path_str(&bad)]),
        "bad.toml:14:8: key `layer[1].mode`",
    );
}
