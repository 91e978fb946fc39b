//! `rramsim check`: an architecture's resolved parameters and peak figures.

use clap::Args;
use rramsim::{Arch, CheckReport};

use crate::error::{CliError, CliResult};
use crate::output::{Align, Format, Table};

/// Loads an architecture and logs its warnings.
pub fn load_arch(spec: &str) -> CliResult<Arch> {
    let arch = Arch::load(spec)?;
    for w in arch.warning_lines() {
        tracing::warn!("{w}");
    }
    Ok(arch)
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A preset name (isaac, neurosim-8b, puma) or an architecture `.toml` file.
    pub arch: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run_check(args: CheckArgs) -> CliResult<()> {
    let r = rramsim::check(&Arch::load(&args.arch)?);
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
    let mut c = Table::new(&[
        ("component", Align::Left),
        ("energy per action (pJ)", Align::Left),
        ("area/chip (mm^2)", Align::Right),
        ("static/chip (mW)", Align::Right),
        ("parameters it follows", Align::Left),
    ]);
    for comp in &r.components {
        let energy: Vec<String> =
            comp.energy_pj_per_action.iter().map(|(name, pj)| format!("{name} {pj:.4}")).collect();
        c.row(vec![
            comp.name.to_owned(),
            energy.join(", "),
            format!("{:.4}", comp.area_mm2_per_chip),
            format!("{:.1}", comp.static_mw_per_chip),
            comp.parameters.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
        ]);
    }
    out.push('\n');
    out.push_str(&c.render());
    out.push_str(&format!(
        "\narea: tile {:.4} mm^2, chip {:.2} mm^2, node {:.2} mm^2\n\
         peak (one chip): {:.2} TOPS, {:.2} W ({:.2} W in the PEs, {:.2} W static), {:.1} GOPS/mm^2\n\
         peak efficiency (a bound: no run on the crossbars reports more): {:.1} GOPS/W\n\
         efficiency with every tile unit and link at full rate (Table-I style, not a bound): {:.1} GOPS/W\n",
        r.area_mm2.tile,
        r.area_mm2.chip,
        r.area_mm2.node,
        r.peak_tops,
        r.peak_power_w,
        r.peak_pe_power_w,
        r.peak_static_power_w,
        r.tops_per_mm2 * 1e3,
        r.tops_per_w * 1e3,
        r.tops_per_w_full_rate * 1e3
    ));
    out
}
