//! The architecture format: presets load, resolved values follow the sources,
//! and bad configurations give located errors.

use rramsim_hw::{Action, SignedEncoding, load_arch_toml, peak_figures};

fn preset_text(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../arch-configs/{name}.toml", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn isaac_preset_resolves_to_the_papers_figures() {
    let (arch, warnings) = load_arch_toml("isaac.toml", &preset_text("isaac")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(arch.crossbar.read_latency.get(), 120); // 100 ns at 1.2 GHz
    assert_eq!(arch.adc_stage(128).get(), 120); // 128 conversions at 1.28 GS/s, rounded once
    assert_eq!(arch.weights_per_crossbar_row(), 16);
    assert_eq!(arch.input_steps(), 16);
    assert_eq!(arch.encoding, SignedEncoding::OffsetDigital);
    assert_eq!(arch.crossbars_per_chip(), 16_128);
    assert_eq!(arch.column_sum_bits(), 9); // 128 · 1 · 3 = 384
    assert_eq!(arch.energy[Action::AdcConversion].0, 1.5625);
    let peak = peak_figures(&arch);
    // The PE energies reproduce Table I's 289 mW for 12 IMAs, i.e. 48.55 W per chip.
    assert!((peak.pe_power.0 / 168.0 - 289.0).abs() < 1.0, "{}", peak.pe_power.0 / 168.0);
    // Tile area 0.372 mm^2 (Table I).
    assert!((arch.tile_area().0 - 0.372).abs() < 0.001, "{}", arch.tile_area().0);
    // The per-component breakdown adds up to the chip.
    let sum: f64 = arch.chip_area_breakdown().iter().map(|(_, a)| a.0).sum();
    assert!((sum - arch.chip_area().0).abs() < 1e-9, "{sum} vs {}", arch.chip_area().0);
}

#[test]
fn neurosim_preset_warns_about_clipping() {
    let (arch, warnings) = load_arch_toml("neurosim-8b.toml", &preset_text("neurosim-8b")).unwrap();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].key, "pe.adc.bits");
    assert_eq!(arch.columns_per_weight(), 8); // 4 slices, differential
    assert_eq!(arch.adc_stage(128).get(), 8); // 16 ADCs, 8 columns each, 1 ns
    assert_eq!(arch.crossbar.r_off_ohm, Some(900_000.0));
}

/// Replaces the first line starting with `prefix` (inside `[table]`) by `line`.
fn edit(text: &str, table: &str, prefix: &str, line: &str) -> String {
    let mut out = Vec::new();
    let mut in_table = false;
    let mut done = false;
    for l in text.lines() {
        if l.starts_with('[') {
            in_table = l.trim() == format!("[{table}]");
        }
        if in_table && !done && l.starts_with(prefix) {
            out.push(line.to_owned());
            done = true;
        } else {
            out.push(l.to_owned());
        }
    }
    assert!(done, "no `{prefix}` in [{table}]");
    out.join("\n") + "\n"
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.starts_with(needle)).unwrap() + 1
}

#[test]
fn bad_configs_give_located_errors() {
    let base = preset_text("isaac");
    // (table, key prefix, replacement line, expected key, text in the message)
    let cases: Vec<(&str, &str, &str, Option<&str>, &str)> = vec![
        ("crossbar", "rows =", "rows = 0", Some("crossbar.rows"), "at least 1"),
        ("crossbar", "cols =", "cols = 4", Some("crossbar.cols"), "cannot hold one 16-bit weight"),
        ("pe.adc", "bits =", "bits = 6", Some("pe.adc.bits"), "cannot resolve the column sum"),
        ("crossbar", "read_latency =", "read_latency = 100", None, "a latency with its unit"),
        ("crossbar", "read_latency =", "read_latency = { us = 1 }", None, "unknown field `us`"),
        ("clock", "ghz =", "ghz = -1.2", Some("clock.ghz"), "finite number > 0"),
        (
            "precision",
            "signed_encoding =",
            "signed_encoding = \"twos\"",
            Some("precision.signed_encoding"),
            "unknown encoding `twos`",
        ),
        ("noc", "topology =", "topology = \"torus\"", Some("noc.topology"), "unknown topology `torus`"),
        ("digital", "dataflow =", "dataflow = \"row-stationary\"", Some("digital.dataflow"), "unknown dataflow"),
        (
            "pe.adc",
            "per_crossbar =",
            "per_crossbar = 129",
            Some("pe.adc.per_crossbar"),
            "more ADCs (129) than crossbar columns (128)",
        ),
        ("crossbar", "bits_per_cell =", "bits_per_cell = 2.5", None, "invalid type: floating point"),
        ("tile", "pes =", "pes = { value = 12, sorce = \"x\" }", None, "unknown field `sorce`"),
        (
            "crossbar",
            "rows =",
            "rows = 128\nrows_per_read = 256",
            Some("crossbar.rows_per_read"),
            "cannot exceed crossbar.rows",
        ),
        ("tile.buffer", "kib =", "kibs = 64", None, "unknown field `kibs`"),
        (
            "pe.adc",
            "conversion_time =",
            "conversion_time = { ns = 0 }",
            Some("pe.adc.conversion_time"),
            "greater than zero",
        ),
    ];
    for (table, prefix, line, key, needle) in cases {
        let text = edit(&base, table, prefix, line);
        let first_line = line.lines().last().unwrap();
        let expected_line = line_of(&text, first_line);
        let err = match load_arch_toml("bad.toml", &text) {
            Ok(_) => panic!("[{table}] {line}: accepted"),
            Err(e) => e,
        };
        let shown = err.to_string();
        assert_eq!(err.line, expected_line, "[{table}] {line}: {shown}");
        assert!(shown.starts_with(&format!("bad.toml:{expected_line}:")), "{shown}");
        if let Some(key) = key {
            assert_eq!(err.key.as_deref(), Some(key), "{shown}");
        }
        assert!(shown.contains(needle), "[{table}] {line}: `{shown}` should contain `{needle}`");
    }
}

#[test]
fn missing_tables_and_syntax_errors_are_reported() {
    let base = preset_text("isaac");
    let without_digital: String = base.split("[digital]").next().unwrap().to_owned();
    let err = load_arch_toml("x.toml", &without_digital).unwrap_err();
    assert!(err.to_string().contains("missing field `digital`"), "{err}");
    let err = load_arch_toml("x.toml", "[clock\nghz = 1").unwrap_err();
    assert_eq!(err.line, 1, "{err}");
}
