//! The workload TOML format: round trips, committed zoo files, located errors.

use std::path::PathBuf;

use rramsim_graph::{ZOO_NAMES, load_workload_toml, to_workload_toml, zoo, zoo_description};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn zoo_round_trips_through_the_format() {
    for name in ZOO_NAMES {
        let net = zoo(name).unwrap();
        let text = to_workload_toml(&net, zoo_description(name));
        let back = load_workload_toml(name, &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.name(), net.name());
        assert_eq!(back.len(), net.len());
        for (a, b) in net.layers().zip(back.layers()) {
            assert_eq!(a, b);
        }
    }
}

/// Resize layers (nearest and bilinear, every coordinate mode) and pad layers
/// (constant, reflect, edge) and channel slices round trip.
#[test]
fn resize_and_pad_layers_round_trip_through_the_format() {
    for (file, needle) in
        [("torch_unet_resize", "coordinates = \"align_corners\""), ("torch_pad_split", "mode = \"edge\"")]
    {
        let path = repo_root().join(format!("tests/fixtures/onnx/{file}.onnx"));
        let net = rramsim_graph::import_onnx(file, &std::fs::read(path).unwrap()).unwrap();
        let text = to_workload_toml(&net, None);
        assert!(text.contains(needle), "{text}");
        let back = load_workload_toml(file, &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.len(), net.len());
        for ((a, b), id) in net.layers().zip(back.layers()).zip(net.ids()) {
            assert_eq!((&a.name, a.op.kind_name(), &a.inputs), (&b.name, b.op.kind_name(), &b.inputs));
            if matches!(a.op.kind_name(), "resize" | "pad" | "channel_slice") {
                assert_eq!(a.op, b.op);
            }
            assert_eq!(net.output_shape(id), back.output_shape(id));
        }
    }
}

/// `workloads/<name>.toml` is the zoo network as exported; regenerate with
/// `rramsim workload export <name> -o workloads/<name>.toml`.
#[test]
fn committed_zoo_files_match_the_zoo() {
    for name in ZOO_NAMES {
        let path = repo_root().join("workloads").join(format!("{name}.toml"));
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expected = to_workload_toml(&zoo(name).unwrap(), zoo_description(name));
        assert!(committed == expected, "{} is stale: re-export it", path.display());
    }
}

const GOOD: &str = r#"[network]
name = "tiny"

[[layer]]
name = "input"
op = "input"
shape = [3, 8, 8]

[[layer]]
name = "conv"
op = "conv2d"
inputs = ["input"]
out_channels = 4
kernel = 3
padding = 1
"#;

#[test]
fn a_minimal_file_loads_with_defaults() {
    let net = load_workload_toml("tiny.toml", GOOD).unwrap();
    let conv = net.layer(net.find("conv").unwrap());
    let rramsim_graph::Op::Conv2d(c) = &conv.op else { panic!() };
    assert_eq!((c.stride, c.dilation, c.groups, c.bias), ([1, 1], [1, 1], 1, false));
    assert_eq!(net.output_shape(net.find("conv").unwrap()), rramsim_graph::Shape::new(4, 8, 8));
}

/// (description, file text, expected line (0: no position), expected key, text in the message)
type BadCase = (&'static str, String, usize, Option<&'static str>, &'static str);

fn bad_cases() -> Vec<BadCase> {
    let with = |extra: &str| format!("{GOOD}{extra}");
    vec![
        ("TOML syntax", "[network]\nname = \"x\"\n[[layer]\nname = 1\n".into(), 3, None, ""),
        ("unknown top-level key", format!("{GOOD}\n[extra]\nx = 1\n"), 0, None, "unknown field `extra`"),
        ("missing [network]", "[[layer]]\nname = \"input\"\nop = \"input\"\nshape = [1]\n".into(), 0, None, "network"),
        (
            "misspelled layer key",
            with("\n[[layer]]\nname = \"r\"\nop = \"relu\"\ninputs = [\"conv\"]\nkernal = 3\n"),
            21,
            None,
            "unknown field `kernal`",
        ),
        (
            "unknown op",
            with("\n[[layer]]\nname = \"r\"\nop = \"conv3d\"\ninputs = [\"conv\"]\n"),
            19,
            Some("layer[2].op"),
            "unknown op `conv3d`",
        ),
        (
            "key not valid for the op",
            with("\n[[layer]]\nname = \"r\"\nop = \"relu\"\ninputs = [\"conv\"]\ngroups = 2\n"),
            21,
            Some("layer[2].groups"),
            "op `relu` has no key `groups`",
        ),
        (
            "missing required key",
            with("\n[[layer]]\nname = \"c2\"\nop = \"conv2d\"\ninputs = [\"conv\"]\nkernel = 3\n"),
            17,
            Some("layer[2].out_channels"),
            "needs the key `out_channels`",
        ),
        (
            "wrong value type",
            with(
                "\n[[layer]]\nname = \"c2\"\nop = \"conv2d\"\ninputs = [\"conv\"]\nout_channels = 2\nkernel = \"3\"\n",
            ),
            22,
            Some("layer[2].kernel"),
            "expected an integer or a list of integers, got the string \"3\"",
        ),
        (
            "negative stride",
            with("\n[[layer]]\nname = \"p\"\nop = \"maxpool\"\ninputs = [\"conv\"]\nkernel = 2\nstride = -1\n"),
            22,
            Some("layer[2].stride"),
            "non-negative integer",
        ),
        (
            "padding of three values",
            with("\n[[layer]]\nname = \"p\"\nop = \"avgpool\"\ninputs = [\"conv\"]\nkernel = 2\npadding = [1, 1, 1]\n"),
            22,
            Some("layer[2].padding"),
            "got 3 values",
        ),
        (
            "undefined input",
            with("\n[[layer]]\nname = \"r\"\nop = \"relu\"\ninputs = [\"conv9\"]\n"),
            20,
            Some("layer[2].inputs"),
            "input `conv9` is not a layer",
        ),
        (
            "duplicate name",
            with("\n[[layer]]\nname = \"conv\"\nop = \"relu\"\ninputs = [\"input\"]\n"),
            18,
            Some("layer[2].name"),
            "must be unique",
        ),
        (
            "add of different shapes",
            with("\n[[layer]]\nname = \"s\"\nop = \"add\"\ninputs = [\"conv\", \"input\"]\n"),
            20,
            Some("layer[2].inputs"),
            "same shape, got 4x8x8 and 3x8x8",
        ),
        (
            "channels not divisible by groups",
            with(
                "\n[[layer]]\nname = \"g\"\nop = \"conv2d\"\ninputs = [\"conv\"]\nout_channels = 6\nkernel = 1\ngroups = 3\n",
            ),
            23,
            Some("layer[2].groups"),
            "not divisible into 3 groups",
        ),
        (
            "a cycle",
            with(
                "\n[[layer]]\nname = \"a\"\nop = \"relu\"\ninputs = [\"b\"]\n\n[[layer]]\nname = \"b\"\nop = \"relu\"\ninputs = [\"a\"]\n",
            ),
            20,
            Some("layer[2].inputs"),
            "cycle",
        ),
        (
            "resize mode",
            with("\n[[layer]]\nname = \"r\"\nop = \"resize\"\ninputs = [\"conv\"]\nsize = 4\nmode = \"cubic\"\n"),
            22,
            Some("layer[2].mode"),
            "expected one of \"nearest\", \"linear\", got",
        ),
        (
            "input layer with inputs",
            "[network]\nname = \"x\"\n[[layer]]\nname = \"input\"\nop = \"input\"\ninputs = [\"y\"]\nshape = [1]\n"
                .into(),
            6,
            Some("layer[0].inputs"),
            "takes no inputs",
        ),
    ]
}

#[test]
fn bad_workloads_give_located_errors() {
    let mut failures = Vec::new();
    for (what, text, line, key, needle) in bad_cases() {
        let result = std::panic::catch_unwind(|| load_workload_toml("bad.toml", &text));
        let err = match result {
            Ok(Ok(_)) => panic!("{what}: loaded a bad workload"),
            Ok(Err(e)) => e,
            Err(_) => panic!("{what}: panicked"),
        };
        let shown = err.to_string();
        let located = line == 0 || (err.line == line && shown.starts_with(&format!("bad.toml:{line}:")));
        if err.file != "bad.toml" || !located || err.key.as_deref() != key || !shown.contains(needle) {
            failures.push(format!(
                "{what}: expected line {line}, key {key:?}, text `{needle}`; got key {:?}:\n{shown}",
                err.key
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
