//! Loading architecture configurations (preset names or TOML files) and the
//! `rramsim check` command.

use std::path::Path;

use clap::Args;
use rramsim_hw::{Action, ArchParams, ConfigWarning, NocTopology, load_arch_toml, peak_figures};
use serde::Serialize;

use crate::error::{CliError, CliResult};
use crate::output::{Align, Format, Table};

/// Presets compiled into the binary, so `--arch isaac` works from any directory.
pub const PRESETS: [(&str, &str); 2] = [
    ("isaac", include_str!("../../../arch-configs/isaac.toml")),
    ("neurosim-8b", include_str!("../../../arch-configs/neurosim-8b.toml")),
];

/// A preset name or a path to an architecture TOML file.
pub fn load_arch(spec: &str) -> CliResult<(ArchParams, Vec<ConfigWarning>)> {
    let path = Path::new(spec);
    let is_file = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if is_file {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::input(format!("cannot read {spec}: {e}")))?;
        return load_arch_toml(spec, &text).map_err(CliError::input);
    }
    match PRESETS.iter().find(|(name, _)| *name == spec) {
        Some((name, text)) => load_arch_toml(&format!("<preset {name}>"), text).map_err(CliError::input),
        None => {
            let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            Err(CliError::input(format!(
                "unknown architecture `{spec}`: expected a preset ({}) or a .toml file",
                names.join(", ")
            )))
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A preset name (isaac, neurosim-8b) or an architecture `.toml` file.
    pub arch: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct CheckReport {
    name: String,
    description: String,
    clock_ghz: f64,
    chips: u32,
    tiles_per_chip: u32,
    pes_per_tile: u32,
    crossbars_per_pe: u32,
    crossbars_per_chip: u64,
    crossbar: String,
    weight_bits: u32,
    activation_bits: u32,
    signed_encoding: &'static str,
    columns_per_weight: u32,
    weights_per_crossbar_row: u32,
    input_steps: u32,
    noc: String,
    stage_cycles: StageReport,
    energy_pj: Vec<(String, f64)>,
    area_mm2: AreaReport,
    peak_tops: f64,
    peak_power_w: f64,
    peak_pe_power_w: f64,
    tops_per_w: f64,
    tops_per_mm2: f64,
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
struct StageReport {
    dac: u64,
    crossbar_read: u64,
    sample_hold: u64,
    adc_all_columns: u64,
    shift_add: u64,
    initiation_interval: u64,
    step_latency: u64,
}

#[derive(Debug, Serialize)]
struct AreaReport {
    tile: f64,
    chip: f64,
    node: f64,
    /// Per component, one chip.
    chip_by_component: Vec<(String, f64)>,
}

fn report(arch: &ArchParams, warnings: &[ConfigWarning]) -> CheckReport {
    let peak = peak_figures(arch);
    let s = peak.stages;
    let noc = match arch.noc.topology {
        NocTopology::Mesh { width, height, concentration } => {
            format!(
                "mesh {width}x{height} routers, {concentration} tiles per router, {}-byte flits",
                arch.noc.flit_bytes
            )
        }
        NocTopology::Bus => format!("bus, {}-byte flits", arch.noc.flit_bytes),
    };
    CheckReport {
        name: arch.name.clone(),
        description: arch.description.clone(),
        clock_ghz: arch.clock.ghz(),
        chips: arch.node.chips,
        tiles_per_chip: arch.tiles_per_chip,
        pes_per_tile: arch.tile.pes,
        crossbars_per_pe: arch.pe.crossbars,
        crossbars_per_chip: arch.crossbars_per_chip(),
        crossbar: format!(
            "{}x{} cells of {} bits, {} ADC(s) of {} bits, {}-bit DACs",
            arch.crossbar.rows,
            arch.crossbar.cols,
            arch.crossbar.bits_per_cell,
            arch.pe.adc.per_crossbar,
            arch.pe.adc.bits,
            arch.pe.dac_bits
        ),
        weight_bits: arch.weight_bits,
        activation_bits: arch.activation_bits,
        signed_encoding: arch.encoding.name(),
        columns_per_weight: arch.columns_per_weight(),
        weights_per_crossbar_row: arch.weights_per_crossbar_row(),
        input_steps: arch.input_steps(),
        noc,
        stage_cycles: StageReport {
            dac: s.dac.get(),
            crossbar_read: s.read.get(),
            sample_hold: s.sample_hold.get(),
            adc_all_columns: s.adc.get(),
            shift_add: s.shift_add.get(),
            initiation_interval: s.interval().get(),
            step_latency: s.latency().get(),
        },
        energy_pj: Action::ALL.iter().map(|&a| (a.name().to_owned(), arch.energy[a].0)).collect(),
        area_mm2: AreaReport {
            tile: arch.tile_area().0,
            chip: arch.chip_area().0,
            node: arch.chip_area().0 * f64::from(arch.node.chips),
            chip_by_component: arch
                .chip_area_breakdown()
                .into_iter()
                .map(|(c, a)| (c.name().to_owned(), a.0))
                .collect(),
        },
        peak_tops: peak.tops,
        peak_power_w: peak.power.0 / 1e3,
        peak_pe_power_w: peak.pe_power.0 / 1e3,
        tops_per_w: peak.tops_per_watt,
        tops_per_mm2: peak.tops_per_mm2,
        warnings: warnings.iter().map(|w| format!("{}: {}", w.key, w.message)).collect(),
    }
}

pub fn run_check(args: CheckArgs) -> CliResult<()> {
    let (arch, warnings) = load_arch(&args.arch)?;
    let r = report(&arch, &warnings);
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&r).map_err(CliError::internal)? + "\n",
        Format::Csv => {
            let mut out = String::from("key,value\n");
            let json = serde_json::to_value(&r).map_err(CliError::internal)?;
            flatten_csv("", &json, &mut out);
            out
        }
        Format::Table => render_table(&r),
    };
    print!("{text}");
    Ok(())
}

fn flatten_csv(prefix: &str, v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten_csv(&key, v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    // (name, value) pairs
                    serde_json::Value::Array(pair) if pair.len() == 2 && pair[0].is_string() => {
                        flatten_csv(&format!("{prefix}.{}", pair[0].as_str().unwrap_or_default()), &pair[1], out);
                    }
                    other => flatten_csv(&format!("{prefix}.{i}"), other, out),
                }
            }
        }
        serde_json::Value::String(s) => out.push_str(&format!("{prefix},\"{}\"\n", s.replace('"', "\"\""))),
        other => out.push_str(&format!("{prefix},{other}\n")),
    }
}

fn render_table(r: &CheckReport) -> String {
    let mut out = format!("architecture {}: {}\n", r.name, r.description);
    for w in &r.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out.push_str(&format!(
        "\n{} chip(s) x {} tiles x {} PEs x {} crossbars = {} crossbars per chip\n\
         crossbar: {}\n\
         precision: {}-bit weights ({} encoding, {} columns each, {} weights per crossbar row), \
         {}-bit activations in {} input steps\n\
         NoC: {}\nclock: {} GHz\n\n",
        r.chips,
        r.tiles_per_chip,
        r.pes_per_tile,
        r.crossbars_per_pe,
        r.crossbars_per_chip,
        r.crossbar,
        r.weight_bits,
        r.signed_encoding,
        r.columns_per_weight,
        r.weights_per_crossbar_row,
        r.activation_bits,
        r.input_steps,
        r.noc,
        r.clock_ghz
    ));
    let s = &r.stage_cycles;
    let mut t = Table::new(&[("stage of one input step", Align::Left), ("cycles", Align::Right)]);
    for (name, c) in [
        ("DAC", s.dac),
        ("crossbar read", s.crossbar_read),
        ("sample-and-hold", s.sample_hold),
        ("ADC (all columns)", s.adc_all_columns),
        ("shift-and-add", s.shift_add),
    ] {
        t.row(vec![name.to_owned(), c.to_string()]);
    }
    t.footer(vec!["initiation interval".to_owned(), s.initiation_interval.to_string()]);
    t.footer(vec!["step latency".to_owned(), s.step_latency.to_string()]);
    out.push_str(&t.render());
    let mut e = Table::new(&[("action", Align::Left), ("energy (pJ)", Align::Right)]);
    for (name, pj) in &r.energy_pj {
        e.row(vec![name.clone(), format!("{pj:.6}")]);
    }
    out.push('\n');
    out.push_str(&e.render());
    let mut a =
        Table::new(&[("component", Align::Left), ("area per chip (mm^2)", Align::Right), ("share%", Align::Right)]);
    for (name, mm2) in &r.area_mm2.chip_by_component {
        a.row(vec![name.clone(), format!("{mm2:.4}"), format!("{:.1}", 100.0 * mm2 / r.area_mm2.chip)]);
    }
    out.push('\n');
    out.push_str(&a.render());
    out.push_str(&format!(
        "\narea: tile {:.4} mm^2, chip {:.2} mm^2, node {:.2} mm^2\n\
         peak (one chip): {:.2} TOPS, {:.2} W ({:.2} W in the PEs), {:.1} GOPS/W, {:.1} GOPS/mm^2\n",
        r.area_mm2.tile,
        r.area_mm2.chip,
        r.area_mm2.node,
        r.peak_tops,
        r.peak_power_w,
        r.peak_pe_power_w,
        r.tops_per_w * 1e3,
        r.tops_per_mm2 * 1e3
    ));
    out
}
