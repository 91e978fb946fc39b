//! The architecture format: presets load, resolved values follow the sources,
//! and bad configurations give located errors.

use rramsim_hw::{Action, Component, SignedEncoding, load_arch_toml, peak_figures};

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
    assert_eq!(arch.energy[Action::AdcConversion].0, 1.40625);
    let peak = peak_figures(&arch);
    // The PE energies plus the PE components' static power reproduce Table I's
    // 289 mW for 12 IMAs, i.e. 48.55 W per chip.
    let pe_static: f64 = arch
        .leakage
        .by_component
        .iter()
        .filter(|(c, _)| matches!(c, Component::Dac | Component::SampleHold | Component::Adc | Component::ShiftAdd))
        .map(|(_, mw)| mw.0)
        .sum();
    let pe_tile = peak.pe_power.0 / 168.0 + pe_static;
    assert!((pe_tile - 289.0).abs() < 1.0, "{pe_tile}");
    // Static power: PUMA's leakage of 96 ADCs, 12288 DACs and S&H, 48 S&A, the eDRAM and 2 sigmoids.
    assert!((arch.leakage.tile.0 - 24.7639).abs() < 1e-3, "{}", arch.leakage.tile.0);
    assert!((peak.static_power.0 - 168.0 * arch.leakage.tile.0).abs() < 1e-6);
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
    assert_eq!(arch.columns_per_weight(), 8); // 8 one-bit slices, offset column
    assert_eq!(arch.usable_columns(), 120); // one 8-column offset set per crossbar
    assert_eq!(arch.adc_stage(128).get(), 8); // 16 ADCs, 8 columns each, 1 ns
    assert_eq!(arch.crossbar.r_off_ohm, Some(1_700_000.0)); // DNN+NeuroSim V1.4: 100e3 * 17
}

#[test]
fn puma_preset_shares_each_adc_between_four_crossbars() {
    let (arch, warnings) = load_arch_toml("puma.toml", &preset_text("puma")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(arch.pe.adc.shared_by, 4);
    assert_eq!(arch.crossbars_per_chip(), 168 * 8 * 16);
    // Timing: one crossbar alone converts 128 columns in 25 ns; a replica
    // using a whole sharing group waits for 4 x 128 conversions (100 ns).
    assert_eq!(arch.adc_stage(128).get(), 25);
    assert_eq!(arch.adc_stage_shared(128, 2).get(), 50);
    assert_eq!(arch.adc_stage_shared(128, 16).get(), 100);
    assert_eq!(peak_figures(&arch).stages.adc.get(), 100);
    // Area and static power count 4 ADCs per core of 16 crossbars.
    let adc_area = arch.chip_area_breakdown().into_iter().find(|(c, _)| *c == Component::Adc).unwrap().1;
    assert!((adc_area.0 - 0.0012 * 4.0 * 8.0 * 168.0).abs() < 1e-9, "{}", adc_area.0);
    let adc_static = arch.leakage.by_component.iter().find(|(c, _)| *c == Component::Adc).unwrap().1;
    assert!((adc_static.0 - 0.2 * 4.0 * 8.0).abs() < 1e-9, "{}", adc_static.0);
    // Unshared, the same chip has 4x the ADCs and an ADC stage of one crossbar.
    let text = edit(&preset_text("puma"), "pe.adc", "shared_by =", "shared_by = 1");
    let alone = load_arch_toml("p.toml", &text).unwrap().0;
    assert!(alone.chip_area().0 > arch.chip_area().0);
    assert!(alone.leakage.tile.0 > arch.leakage.tile.0);
    assert_eq!(peak_figures(&alone).stages.adc.get(), 25);
}

#[test]
fn adc_sharing_is_checked() {
    let text = preset_text("puma");
    for (line, needle) in [
        ("shared_by = 3", "must divide pe.crossbars (16)"),
        ("shared_by = 0", "at least 1"),
        ("shared_by = 32", "must divide pe.crossbars (16)"),
    ] {
        let err = load_arch_toml("bad.toml", &edit(&text, "pe.adc", "shared_by =", line)).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("pe.adc.shared_by"), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }
    let both = edit(&text, "pe.adc", "per_crossbar =", "per_crossbar = 2");
    let err = load_arch_toml("bad.toml", &both).unwrap_err();
    assert!(err.to_string().contains("needs pe.adc.per_crossbar = 1"), "{err}");
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
        ("crossbar", "rows =", "rows = 0", Some("crossbar.rows"), "accepted range [1, 65536]"),
        ("crossbar", "cols =", "cols = 4", Some("crossbar.cols"), "cannot hold one 16-bit weight"),
        ("pe.adc", "bits =", "bits = 6", Some("pe.adc.bits"), "cannot resolve the column sum"),
        ("crossbar", "read_latency =", "read_latency = 100", None, "a latency with its unit"),
        ("crossbar", "read_latency =", "read_latency = { us = 1 }", None, "unknown field `us`"),
        ("clock", "ghz =", "ghz = -1.2", Some("clock.ghz"), "accepted range (0, 100]"),
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
        // 2^29 PEs of 8 crossbars: crossbar numbers within a tile overflow 32 bits.
        ("tile", "pes =", "pes = 536870912", Some("tile.pes"), "exceed 4294967295 crossbars per tile"),
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

fn isaac_with(edits: &[(&str, &str, &str)]) -> rramsim_hw::ArchParams {
    let mut text = preset_text("isaac");
    for (table, prefix, line) in edits {
        text = edit(&text, table, prefix, line);
    }
    load_arch_toml("isaac.toml", &text).unwrap().0
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1e-12)
}

#[test]
fn figures_follow_the_scaling_laws_away_from_the_calibration_point() {
    let base = isaac_with(&[]);
    let e = |a: &rramsim_hw::ArchParams, act: Action| a.energy[act].0;
    // SAR ADC at 10 bits: (2^10 + 4^10/2^10) / (2^8 + 4^8/2^10) = 2048 / 320.
    let adc10 = isaac_with(&[("pe.adc", "bits =", "bits = 10")]);
    assert!(close(e(&adc10, Action::AdcConversion), 1.40625 * 2048.0 / 320.0));
    assert!(close(adc10.area.adc.0, 0.0012 * 4.0));
    assert!(close(adc10.pe.adc.conversion_time.0, 0.78125 * 10.0 / 8.0));
    assert!(close(e(&adc10, Action::SampleHold), e(&base, Action::SampleHold) * 16.0));
    // Flash: 2^b − 1 comparators, conversion time independent of bits.
    let flash = isaac_with(&[("pe.adc", "bits =", "bits = 10\nkind = \"flash\"")]);
    assert!(close(e(&flash, Action::AdcConversion), 1.40625 * 1023.0 / 255.0));
    assert!(close(flash.pe.adc.conversion_time.0, 0.78125));
    // DAC: 2^b − 1 unit elements.
    let dac2 = isaac_with(&[("pe.adc", "bits =", "bits = 10"), ("pe.dac", "bits =", "bits = 2")]);
    assert!(close(e(&dac2, Action::DacConversion), 0.350625 * 3.0));
    assert!(close(dac2.area.dac.0, 1.66e-7 * 3.0));
    // Crossbar: read energy by rows driven × columns, area by cells.
    let big = isaac_with(&[("pe.adc", "bits =", "bits = 10"), ("crossbar", "rows =", "rows = 256")]);
    assert!(close(e(&big, Action::CrossbarRead), 60.0));
    assert!(close(big.area.crossbar.0, 0.00005));
    // Buffer: energy per byte by √capacity, area by capacity.
    let buf = isaac_with(&[("tile.buffer", "kib =", "kib = 256")]);
    assert!(close(e(&buf, Action::BufferReadByte), 0.659 * 2.0));
    assert!(close(buf.area.buffer.0, 0.1762 * 4.0));
    // Router: energy by flit width, area by its square.
    let noc = isaac_with(&[("noc", "flit_bytes =", "flit_bytes = 64")]);
    assert!(close(e(&noc, Action::NocFlitHop), 4.375 * 2.0));
    assert!(close(noc.area.router.0, 0.151 * 4.0));
    // Node 32 → 16 nm: CMOS energy × 1/2, area × 1/4; RRAM reads and off-chip links unchanged.
    let n16 = isaac_with(&[("technology", "node_nm =", "node_nm = 16")]);
    assert!(close(e(&n16, Action::AdcConversion), 1.40625 / 2.0));
    assert!(close(n16.area.adc.0, 0.0012 / 4.0));
    assert_eq!(e(&n16, Action::CrossbarRead), 30.0);
    assert_eq!(e(&n16, Action::OffchipByte), 406.25);
    assert!(peak_figures(&n16).power.0 < peak_figures(&base).power.0);
    assert!(n16.chip_area().0 < base.chip_area().0);
}

#[test]
fn crossbar_read_energy_follows_cell_conductance_and_read_voltage() {
    let text = preset_text("neurosim-8b");
    let load = |t: &str| load_arch_toml("n.toml", t).unwrap().0;
    let base = load(&text);
    let e0 = 11.9; // the preset's figure at its own 0.55 V, 100 kOhm / 1.7 MOhm
    assert_eq!(base.energy[Action::CrossbarRead].0, e0);
    let v = load(&edit(&text, "crossbar", "read_voltage_v =", "read_voltage_v = 1.1"));
    assert!(close(v.energy[Action::CrossbarRead].0, 4.0 * e0));
    let hi = load(&edit(&text, "crossbar", "r_on_ohm =", "r_on_ohm = 50000"));
    let g = |on: f64, off: f64| (1.0 / on + 1.0 / off) / 2.0;
    assert!(close(hi.energy[Action::CrossbarRead].0, e0 * g(5e4, 1.7e6) / g(1e5, 1.7e6)));
}

#[test]
fn impossible_values_are_refused_and_unusual_ones_warned() {
    let base = preset_text("isaac");
    for (table, prefix, line, key) in [
        ("clock", "ghz =", "ghz = 1e23", "clock.ghz"),
        ("technology", "node_nm =", "node_nm = 0", "technology.node_nm"),
        ("pe.adc", "bits =", "bits = 64", "pe.adc.bits"),
        ("tile.buffer", "kib =", "kib = 0", "tile.buffer.kib"),
        ("pe.dac", "bits =", "bits = 17", "pe.dac.bits"),
        // Calibration points share their design key's physical range (the
        // scaling laws divide by them).
        ("calibration", "adc_bits =", "adc_bits = 4294967295", "calibration.adc_bits"),
        ("calibration", "sram_kib =", "sram_kib = 1e-300", "calibration.sram_kib"),
        ("calibration", "alu_lanes =", "alu_lanes = 100000", "calibration.alu_lanes"),
    ] {
        let err = load_arch_toml("bad.toml", &edit(&base, table, prefix, line)).unwrap_err();
        assert_eq!(err.key.as_deref(), Some(key), "{err}");
        assert!(err.to_string().contains("accepted range"), "{err}");
    }
    let (_, warnings) = load_arch_toml("w.toml", &edit(&base, "technology", "node_nm =", "node_nm = 5")).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].key, "technology.node_nm");
}

/// Everything the mapper, the engine and the reports read from an architecture.
fn figures(a: &rramsim_hw::ArchParams) -> String {
    let gemm = rramsim_hw::Gemm { k: 300, m: 70, p: 500, groups: 1 };
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {} {} {:?} {:?}",
        peak_figures(a),
        a.energy,
        a.chip_area_breakdown(),
        a.leakage,
        a.tile,
        a.noc,
        a.node,
        a.pe,
        rramsim_hw::systolic_cycles(&a.digital, gemm),
        a.digital.sram.0,
        a.crossbars_per_chip(),
        (a.weights_per_crossbar_row(), a.column_sum_bits(), a.input_steps(), a.encoding, a.adc_flip_encoding),
        (a.crossbar.r_on_ohm, a.crossbar.r_off_ohm, a.digital.clock.ghz()),
    )
}

/// Every numeric leaf of the table (`a.b.c`), with its unit key when it is a
/// `{ value | ns | cycles = … }` table.
fn numeric_keys(t: &toml::Table, prefix: &str, out: &mut Vec<(String, Option<&'static str>)>) {
    for (k, v) in t {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Integer(_) | toml::Value::Float(_) => out.push((key, None)),
            toml::Value::Table(inner) => match ["value", "ns", "cycles"].into_iter().find(|u| inner.contains_key(*u)) {
                Some(unit) => out.push((key, Some(unit))),
                None => numeric_keys(inner, &key, out),
            },
            _ => {}
        }
    }
}

fn perturbed(text: &str, key: &str, unit: Option<&str>, factor: f64) -> String {
    let mut doc: toml::Table = text.parse().unwrap();
    let parts: Vec<&str> = key.split('.').collect();
    let mut t = &mut doc;
    for p in &parts[..parts.len() - 1] {
        t = t.get_mut(*p).unwrap().as_table_mut().unwrap();
    }
    let mut slot = t.get_mut(parts[parts.len() - 1]).unwrap();
    if let Some(u) = unit {
        slot = slot.as_table_mut().unwrap().get_mut(u).unwrap();
    }
    *slot = match slot {
        toml::Value::Integer(i) if *i == 0 => toml::Value::Integer(1),
        toml::Value::Integer(i) => toml::Value::Integer(((*i as f64) * factor).round().max(1.0) as i64),
        toml::Value::Float(x) if *x == 0.0 => toml::Value::Float(factor),
        toml::Value::Float(x) => toml::Value::Float(*x * factor),
        _ => unreachable!(),
    };
    toml::to_string(&doc).unwrap()
}

/// No dead keys: perturbing any numeric key of either preset moves at least one
/// figure the mapper, the engine or a report reads (or the key is declared
/// metadata, which no preset has among its numbers). Each key is changed ×2
/// (else ×0.5, ×1.5; 0 becomes 1); a value the loader refuses moves validity.
#[test]
fn every_key_moves_a_figure() {
    for name in ["isaac", "neurosim-8b", "puma"] {
        let text = preset_text(name);
        let base = figures(&load_arch_toml("p.toml", &text).unwrap().0);
        let mut keys = Vec::new();
        numeric_keys(&text.parse().unwrap(), "", &mut keys);
        assert!(keys.len() > 80, "{}", keys.len());
        for (key, unit) in keys {
            let unchanged = toml::to_string(&text.parse::<toml::Table>().unwrap()).unwrap();
            // The first perturbation that changes the value; a refused one moves validity.
            let moved =
                [2.0, 0.5, 1.5].iter().map(|&f| perturbed(&text, &key, unit, f)).find(|t| *t != unchanged).map(|t| {
                    match load_arch_toml("p.toml", &t) {
                        Ok((arch, _)) => figures(&arch) != base,
                        Err(_) => true,
                    }
                });
            // Calibration keys move figures only when the design differs from them,
            // which a perturbation of the calibration point itself makes it do.
            assert_eq!(moved, Some(true), "{name}: `{key}` moves nothing (or no perturbation is valid)");
        }
    }
}

/// Every numeric key of every preset has a row in `KEY_EFFECTS`, and doubling
/// it moves each figure of its row in the documented direction (or is refused,
/// where the row says an increase may be).
#[test]
fn every_key_moves_its_documented_figures_in_the_documented_direction() {
    use rramsim_hw::{Dir, Figure, key_effect};
    let mut checked = 0;
    let mut failures = Vec::new();
    for name in ["isaac", "neurosim-8b", "puma"] {
        let text = preset_text(name);
        let base = load_arch_toml("p.toml", &text).unwrap().0;
        let mut keys = Vec::new();
        numeric_keys(&text.parse().unwrap(), "", &mut keys);
        for (key, unit) in keys {
            let row = key_effect(&key).unwrap_or_else(|| panic!("{name}: `{key}` has no row in KEY_EFFECTS"));
            assert!(!row.moves.is_empty(), "{name}: numeric `{key}` is declared metadata");
            let t = perturbed(&text, &key, unit, 2.0);
            match load_arch_toml("p.toml", &t) {
                Err(e) => {
                    if !row.moves.iter().any(|(f, _)| *f == Figure::Validity) {
                        failures.push(format!("{name}: doubling `{key}` is refused ({e}) but its row does not say so"));
                    }
                }
                Ok((arch, _)) => {
                    for (f, dir) in row.moves {
                        let (Some(b), Some(v)) = (f.value(&base), f.value(&arch)) else { continue };
                        // A figure the preset leaves at zero (no leakage given) has nothing to scale.
                        if b == 0.0 && v == 0.0 {
                            continue;
                        }
                        // Where a preset's own choices make a documented effect inapplicable:
                        // a flash ADC converts in a flat time whatever its bits (KEY_EFFECTS'
                        // step latency is the SAR law); a fixed `rows_per_read` reads that many
                        // rows per step however tall the array (energy per read and peak TOPS
                        // stay); neurosim-8b gives its tile leakage as one estimated total
                        // (`tile.leakage_mw`) and no per-component leakage to scale.
                        let flash = base.pe.adc.kind == rramsim_hw::AdcKind::Flash;
                        if (flash && key == "pe.adc.bits" && *f == Figure::StepLatency)
                            || (key == "crossbar.rows" && arch.crossbar.rows_per_read != arch.crossbar.rows)
                            || (name == "neurosim-8b" && *f == Figure::TileStatic)
                        {
                            continue;
                        }
                        let ok = match dir {
                            Dir::Up => v > b,
                            Dir::Down => v < b,
                        };
                        if !ok {
                            failures.push(format!(
                                "{name}: doubling `{key}` moves {} from {b} to {v}, documented {dir:?}",
                                f.name()
                            ));
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 200, "{checked}");
}

/// `arch-configs/README.md` renders the same table.
#[test]
fn readme_renders_the_key_effects_table() {
    let readme =
        std::fs::read_to_string(format!("{}/../../arch-configs/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let table = rramsim_hw::key_effects_markdown();
    assert!(readme.contains(&table), "arch-configs/README.md lacks the current table:\n{table}");
}

/// Documented directions of the main cost keys.
#[test]
fn cost_keys_move_their_figures_in_the_documented_direction() {
    let base = isaac_with(&[]);
    let adc = isaac_with(&[("pe.adc", "bits =", "bits = 10")]);
    assert!(adc.energy[Action::AdcConversion].0 > base.energy[Action::AdcConversion].0);
    assert!(adc.chip_area().0 > base.chip_area().0);
    assert!(adc.leakage.tile.0 > base.leakage.tile.0);
    let small = isaac_with(&[("tile.buffer", "kib =", "kib = 1")]);
    assert!(small.energy[Action::BufferReadByte].0 < base.energy[Action::BufferReadByte].0);
    // Spare rows and columns (KEY_EFFECTS; not in any preset, so checked here).
    for spare in ["spare_rows = 8", "spare_cols = 8"] {
        let s = isaac_with(&[("crossbar", "rows =", &format!("rows = 128\n{spare}"))]);
        assert!(s.energy[Action::CrossbarRead].0 > base.energy[Action::CrossbarRead].0, "{spare}");
        assert!(s.chip_area().0 > base.chip_area().0, "{spare}");
    }
    assert!(small.chip_area().0 < base.chip_area().0);
    let n16 = isaac_with(&[("technology", "node_nm =", "node_nm = 16")]);
    assert!(n16.leakage.tile.0 < base.leakage.tile.0);
    assert!(peak_figures(&n16).tops_per_watt > peak_figures(&base).tops_per_watt);
}
