//! Hostile input (issue 17): sizes from input that would overflow a product or
//! allocate past the memory budget are refused with exit 2 and a message naming
//! the file, key, layer, tensor or option — never an abort, an OOM kill or a
//! silently wrong figure.

use crate::{assert_bad_input, path_str, rramsim, scratch};

/// Writes `text` to `name` in a scratch directory for `test`.
fn file(test: &str, name: &str, text: &[u8]) -> std::path::PathBuf {
    let path = scratch(test).join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A two-layer workload: an input of `shape` and a 3x3 conv with `padding`.
fn conv_workload(shape: &str, padding: &str) -> String {
    format!(
        "[network]\nname = \"hostile\"\n\n[[layer]]\nname = \"input\"\nop = \"input\"\nshape = {shape}\n\n\
         [[layer]]\nname = \"conv1\"\nop = \"conv2d\"\ninputs = [\"input\"]\nout_channels = 16\nkernel = 3\npadding = {padding}\n"
    )
}

#[test]
fn workload_input_of_3e18_values_is_refused() {
    let w = file("bounds-input", "w.toml", conv_workload("[3, 1000000000, 1000000000]", "1").as_bytes());
    let o = rramsim(&["run", "--arch", "isaac", "--workload", path_str(&w)]);
    assert_bad_input(&o, "w.toml:7:9: key `layer[0].shape`: layer `input`: the output's values per sample");
    assert_bad_input(&o, "exceeds the limit of 2^48");
}

#[test]
fn conv_padding_of_2_pow_63_is_an_overflow_not_a_4x4_output() {
    let w = file("bounds-padding", "w.toml", conv_workload("[3, 8, 8]", "9223372036854775807").as_bytes());
    let o = rramsim(&["workload", "show", path_str(&w)]);
    assert_bad_input(&o, "key `layer[1].padding`: layer `conv1`: the padded input size overflows");
}

#[test]
fn widening_past_2_pow_48_weights_is_refused_at_any_factor() {
    // 1e8 and 1e9 both overflow: neither may report a (wrapped) weight count.
    for factor in ["100000000", "1000000000"] {
        let o = rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--widen", factor]);
        assert_bad_input(&o, "--widen: layer `");
        assert_bad_input(&o, "exceeds the limit of 2^48");
    }
}

#[test]
fn a_batch_of_a_billion_is_refused_before_simulating() {
    let o = rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--batch", "1000000000"]);
    assert_bad_input(&o, "--batch 1000000000 on a node of 8 chips");
    assert_bad_input(&o, "more than the budget of 4.0 GiB (raise it with --max-memory)");
}

#[test]
fn max_memory_overrides_the_budget() {
    // The default runs resnet20; a 64 KiB budget refuses its engine state.
    let o = rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--max-memory", "64K"]);
    assert_bad_input(&o, "more than the budget of 64.0 KiB");
    let o = rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--max-memory", "lots"]);
    assert_bad_input(&o, "`lots` is not a byte size");
}

#[test]
fn an_architecture_with_a_million_chips_is_refused_by_the_budget() {
    let preset = std::fs::read_to_string(crate::root().join("arch-configs/isaac.toml")).unwrap();
    let text = preset.replacen("chips = { value = 8,", "chips = { value = 1000000,", 1);
    assert_ne!(text, preset, "the preset's chips key moved");
    let arch = file("bounds-chips", "a.toml", text.as_bytes());
    let o = rramsim(&["run", "--arch", path_str(&arch), "--workload", "resnet20"]);
    assert_bad_input(&o, "--batch 1 on a node of 1000000 chips");
    assert_bad_input(&o, "more than the budget");
}

#[test]
fn onnx_constant_of_shape_of_10_pow_12_is_refused() {
    let o = rramsim(&["workload", "show", "tests/fixtures/hostile/constant_of_shape_bomb.onnx"]);
    assert_bad_input(
        &o,
        "constant_of_shape_bomb.onnx: node `bomb` (op ConstantOfShape): the shape of dims [1000000, 1000000] needs 7.3 TiB",
    );
}

#[test]
fn onnx_weight_dims_wrapping_to_zero_are_refused() {
    let o = rramsim(&["workload", "show", "tests/fixtures/hostile/wrapping_weight_dims.onnx"]);
    assert_bad_input(&o, "tensor `fc.weight`: the product of the dims [4294967296, 4294967296] overflows");
}

/// FNV-1a 64, the checksum of fault-map payloads (rramsim_core::codec).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[test]
fn fault_map_lengths_are_checked_against_the_file_and_the_budget() {
    // The payload length field says 2^40: refused against the file's size.
    let mut bytes = b"RRFM\x01\x00\x00\x00".to_vec();
    bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
    bytes.extend_from_slice(&[0; 16]);
    let map = file("bounds-faultmap", "len.faults", &bytes);
    assert_bad_input(
        &rramsim(&["faults", "stats", path_str(&map)]),
        "truncated file: 8 payload bytes of 1099511627776",
    );

    // A payload with a valid checksum whose record-offset list claims 2^40
    // entries (bincode standard: varint 253 = a following u64).
    let mut payload = Vec::new();
    let string = |p: &mut Vec<u8>, s: &str| {
        p.push(s.len() as u8);
        p.extend_from_slice(s.as_bytes());
    };
    string(&mut payload, "0.1.0");
    payload.extend_from_slice(&[1, 1, 1, 1, 8, 8, 1]); // chips … cols, crossbars
    string(&mut payload, "imported");
    payload.extend_from_slice(&[0; 16]); // rate, sa1_fraction
    string(&mut payload, "");
    payload.push(0); // seed
    payload.push(253);
    payload.extend_from_slice(&(1u64 << 40).to_le_bytes());
    let mut bytes = b"RRFM\x01\x00\x00\x00".to_vec();
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(&fnv1a(&payload).to_le_bytes());
    let map = file("bounds-faultmap-claim", "claim.faults", &bytes);
    assert_bad_input(
        &rramsim(&["faults", "stats", path_str(&map)]),
        "corrupt payload: a length prefix claims more memory",
    );
}

#[test]
fn fault_csv_on_a_crossbar_past_2_pow_32_cells_is_refused() {
    let preset = std::fs::read_to_string(crate::root().join("arch-configs/neurosim-8b.toml")).unwrap();
    let mut text = String::new();
    let mut in_crossbar = false;
    for line in preset.lines() {
        if line.starts_with('[') {
            in_crossbar = line.trim() == "[crossbar]";
        }
        if in_crossbar && (line.starts_with("rows =") || line.starts_with("cols =")) {
            let (key, _) = line.split_once('=').unwrap();
            text.push_str(&format!("{key}= {{ value = 65536 }}\n"));
        } else {
            text.push_str(line);
            text.push('\n');
        }
    }
    let dir = scratch("bounds-csv");
    let arch = dir.join("wide.toml");
    std::fs::write(&arch, text).unwrap();
    let csv = dir.join("m.csv");
    std::fs::write(&csv, "tile,pe,crossbar,row,col,type\n0,0,0,65535,65535,SA1\n").unwrap();
    let out = dir.join("m.faults");
    let o = rramsim(&["faults", "import", path_str(&csv), "--arch", path_str(&arch), "-o", path_str(&out)]);
    assert_bad_input(&o, "a crossbar of 65536x65536 has 4294967296 cells; fault maps index at most 2^32 - 1 cells");
    assert!(!out.exists());
}

#[test]
fn trace_header_lengths_are_refused_before_allocating() {
    // A header whose layer list claims 2^40 entries (bincode standard varints).
    let mut head = vec![5];
    head.extend_from_slice(b"0.1.0");
    head.extend_from_slice(&[0, 0]); // config_hash, seed: None
    head.extend_from_slice(&1.0f64.to_le_bytes());
    head.extend_from_slice(&[1, b'a', 1, b'w', 1, 0]); // arch, workload, batch, offload
    head.push(253);
    head.extend_from_slice(&(1u64 << 40).to_le_bytes());
    let mut bytes = b"RRTRACE\0\x01\x00\x00\x00".to_vec();
    bytes.extend_from_slice(&(head.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&head);
    let trace = file("bounds-trace", "t.rtrace", &bytes);
    let o = rramsim(&["trace", "summary", path_str(&trace)]);
    assert_bad_input(&o, "t.rtrace");
    assert_bad_input(&o, "LimitExceeded");
}

#[test]
fn sweep_axes_multiplying_past_2_pow_64_or_the_budget_are_refused() {
    let dir = scratch("bounds-sweep");
    let run = |name: &str, axes: &str| {
        let p = dir.join(name);
        std::fs::write(&p, format!("arch = \"isaac\"\n[axes]\nworkload = [\"resnet20\"]\n{axes}")).unwrap();
        let out = dir.join(format!("{name}.csv"));
        let o = rramsim(&["sweep", path_str(&p), "-o", path_str(&out)]);
        assert!(!out.exists(), "no results file for a refused spec");
        o
    };
    // Four axes of 65,536 values: 2^64 points, which wraps to 0 in 64 bits.
    let range = "{ from = 1, to = 65536, step = 1 }";
    let four = format!(
        "\"pe.adc.bits\" = {range}\n\"crossbar.rows\" = {range}\nfault_seed = {range}\n\"tile.pes\" = {range}\n"
    );
    assert_bad_input(&run("wrap.toml", &four), "wrap.toml: the axes' lengths (");
    assert_bad_input(&run("wrap.toml", &four), "pe.adc.bits: 65536");
    assert_bad_input(&run("wrap.toml", &four), "multiply past 2^64 points");
    // Two axes of 10^6: 10^12 points, past the memory budget.
    let big = "{ from = 1, to = 1000000, step = 1 }";
    let two = format!("fault_seed = {big}\n\"crossbar.rows\" = {big}\n");
    assert_bad_input(&run("big.toml", &two), "big.toml: 1000000000000 sweep points (a result row each) needs");
    // An infinite range.
    assert_bad_input(
        &run("inf.toml", "fault_seed = { from = 0, to = inf, step = 1 }\n"),
        "axis `fault_seed` has inf values",
    );
}

/// The ISAAC preset with `from` (the start of one line) replaced by `to`.
fn isaac_with(test: &str, from: &str, to: &str) -> std::path::PathBuf {
    let preset = std::fs::read_to_string(crate::root().join("arch-configs/isaac.toml")).unwrap();
    let text = preset.replacen(from, to, 1);
    assert_ne!(text, preset, "the preset no longer has `{from}`");
    file(test, "a.toml", text.as_bytes())
}

#[test]
fn a_hop_latency_of_2_pow_64_is_refused_not_a_0_cycle_run() {
    let arch =
        isaac_with("bounds-hop", "hop_latency = { cycles = 2,", "hop_latency = { cycles = 18446744073709551615,");
    let o = rramsim(&["run", "--arch", path_str(&arch), "--workload", "resnet20"]);
    assert_bad_input(&o, "a.toml: `noc.hop_latency` of 18446744073709551615 cycles is more than the 2^32 cycles");
}

#[test]
fn an_energy_of_1e308_pj_is_refused_not_printed_as_inf() {
    let arch =
        isaac_with("bounds-energy", "flit_hop_energy_pj = { value = 4.375,", "flit_hop_energy_pj = { value = 1e308,");
    for args in [&["run", "--arch", path_str(&arch), "--workload", "resnet20"][..], &["check", path_str(&arch)][..]] {
        let o = rramsim(args);
        assert_bad_input(&o, "a.toml: the energy of one `noc_flit_hop` is 1e308 pJ");
        assert!(!crate::stdout(&o).contains("inf"));
    }
}

#[test]
fn infer_compares_full_shapes_and_npy_dims_are_checked() {
    let dir = scratch("bounds-infer");
    let model = "tests/fixtures/onnx/typed_fields.onnx"; // NCHW [N, 2, 6, 6]
    let (x, y) = (dir.join("x.npy"), dir.join("y.npy"));
    // NHWC [2, 6, 6, 2]: the same 72 values per image, in the wrong layout.
    std::fs::write(&x, rramsim::accuracy::npy::write_f32(&[2, 6, 6, 2], &[0.5; 144])).unwrap();
    let o = rramsim(&["infer", "--model", model, "--input", path_str(&x), "-o", path_str(&y)]);
    assert_bad_input(&o, "x.npy: shape [2, 6, 6, 2] is not [N, 2, 6, 6]");
    // Dims whose byte count wraps to zero in 64 bits, with no data.
    let mut npy = rramsim::accuracy::npy::write_f32(&[1], &[0.0]);
    let text = String::from_utf8_lossy(&npy[10..]).replace("(1,)", "(4611686018427387904, 4)");
    npy.truncate(10);
    npy.extend_from_slice(text.trim_end_matches(|c| c != '\n').as_bytes());
    let header_len = (npy.len() - 10) as u16;
    npy[8..10].copy_from_slice(&header_len.to_le_bytes());
    std::fs::write(&x, &npy).unwrap();
    let o = rramsim(&["infer", "--model", model, "--input", path_str(&x), "-o", path_str(&y)]);
    assert_bad_input(&o, "x.npy: .npy shape [4611686018427387904, 4] has more values than can be counted");
    assert!(!y.exists());
}

#[test]
fn a_64_bit_adc_is_refused_and_a_16_bit_adc_does_not_clip_inference_to_zeros() {
    let dir = scratch("bounds-adc");
    let model = "tests/fixtures/onnx/typed_fields.onnx";
    let preset = std::fs::read_to_string(crate::root().join("arch-configs/neurosim-8b.toml")).unwrap();
    let (x, float, adc) = (dir.join("x.npy"), dir.join("f.npy"), dir.join("a.npy"));
    let values: Vec<f32> = (0..72).map(|i| (i % 7) as f32 / 7.0).collect();
    std::fs::write(&x, rramsim::accuracy::npy::write_f32(&[1, 2, 6, 6], &values)).unwrap();
    let o = rramsim(&["infer", "--model", model, "--input", path_str(&x), "-o", path_str(&float)]);
    assert_eq!(o.status.code(), Some(0), "{}", crate::stderr(&o));
    let with_adc_bits = |bits: u32| -> String {
        let mut in_adc = false;
        preset
            .lines()
            .map(|l| {
                if l.starts_with('[') {
                    in_adc = l.trim() == "[pe.adc]";
                }
                if in_adc && l.starts_with("bits =") {
                    format!("bits = {{ value = {bits} }}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect()
    };
    // A 64-bit ADC is refused as physically impossible (exit 2, the key and range).
    let arch = dir.join("adc64.toml");
    std::fs::write(&arch, with_adc_bits(64)).unwrap();
    let infer = |arch: &std::path::Path| {
        rramsim(&[
            "infer",
            "--model",
            model,
            "--arch",
            path_str(arch),
            "--device",
            "approx",
            "--adc-clip",
            "--input",
            path_str(&x),
            "-o",
            path_str(&adc),
        ])
    };
    assert_bad_input(&infer(&arch), "pe.adc.bits");
    assert!(!adc.exists());
    // The widest accepted ADC (16 bits) through the first-order clip: its clip
    // levels are computed in f64, so nothing clips to zero.
    let arch = dir.join("adc16.toml");
    std::fs::write(&arch, with_adc_bits(16)).unwrap();
    let o = infer(&arch);
    assert_eq!(o.status.code(), Some(0), "{}", crate::stderr(&o));
    let (_, f) = rramsim::accuracy::npy::read_f32(&std::fs::read(&float).unwrap()).unwrap();
    let (_, a) = rramsim::accuracy::npy::read_f32(&std::fs::read(&adc).unwrap()).unwrap();
    assert!(a.iter().any(|&v| v != 0.0), "a 16-bit ADC clips nothing: {a:?}");
    // 8-bit weights on crossbars stay close to the float model.
    for (p, q) in f.iter().zip(&a) {
        assert!((p - q).abs() < 0.1 * (1.0 + p.abs()), "float {f:?} vs crossbar {a:?}");
    }
}
