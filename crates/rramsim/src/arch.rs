//! Architectures: presets, files and TOML text resolved into validated
//! [`ArchParams`], and the figures `rramsim check` reports.

use std::path::Path;

use rramsim_hw::{Action, ArchParams, Component, ConfigWarning, NocTopology, load_arch_toml, peak_figures};
use serde::Serialize;

use crate::error::{Error, Result};

/// A loaded, validated architecture with the text it came from.
#[derive(Debug, Clone)]
pub struct Arch {
    pub params: ArchParams,
    /// Warnings about unusual but valid values.
    pub warnings: Vec<ConfigWarning>,
    /// How errors and reports name it: the file path or `<preset NAME>`.
    pub label: String,
    /// The TOML source (sweeps override keys in it).
    pub text: String,
}

impl Arch {
    /// A preset name (`isaac`, `neurosim-8b`), a path to a `.toml` file, or
    /// TOML text (anything with a line break).
    pub fn load(spec: &str) -> Result<Arch> {
        if spec.contains('\n') {
            return Self::from_text("<architecture text>", spec);
        }
        let path = Path::new(spec);
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
            let text = crate::io::read_text(path)?;
            return Self::from_text(spec, &text);
        }
        match rramsim_hw::preset(spec) {
            Some(text) => Self::from_text(&format!("<preset {spec}>"), text),
            None => Err(Error::input(format!(
                "unknown architecture `{spec}`: expected a preset ({}) or a .toml file",
                rramsim_hw::preset_names().join(", ")
            ))),
        }
    }

    /// Parses and validates TOML text; `label` names it in errors.
    pub fn from_text(label: &str, text: &str) -> Result<Arch> {
        let (params, warnings) = load_arch_toml(label, text).map_err(Error::input)?;
        check_magnitudes(label, &params)?;
        Ok(Arch { params, warnings, label: label.to_owned(), text: text.to_owned() })
    }

    /// The warnings as `key: message` lines.
    pub fn warning_lines(&self) -> Vec<String> {
        self.warnings.iter().map(|w| format!("{}: {}", w.key, w.message)).collect()
    }
}

/// The largest latency in cycles a run accepts (about 4.3 s at 1 GHz).
const MAX_LATENCY_CYCLES: u64 = 1 << 32;
/// The largest energy per action a run accepts, in pJ (1 kJ).
const MAX_ACTION_ENERGY_PJ: f64 = 1e15;

/// Overflow guards, not physical ranges: with every latency below 2^32 cycles
/// and every energy per action below 10^15 pJ, cycle sums of runs (fewer than
/// 2^31 sequential steps) stay inside `u64` and energy totals (at most 2^64
/// actions) stay finite, so a result can neither wrap to a short run nor print
/// `inf`.
fn check_magnitudes(label: &str, a: &ArchParams) -> Result<()> {
    let latencies = [
        ("crossbar.read_latency", a.crossbar.read_latency),
        ("pe.dac.latency", a.pe.dac_latency),
        ("pe.sample_hold.latency", a.pe.sample_hold_latency),
        ("pe.shift_add.latency", a.pe.shift_add_latency),
        ("tile.buffer.latency", a.tile.buffer.latency),
        ("tile.adder.latency", a.tile.adder.latency),
        ("tile.alu.latency", a.tile.alu.latency),
        ("noc.hop_latency", a.noc.hop_latency),
        ("node.offchip_latency", a.node.offchip_latency),
        (
            "pe.adc.conversion_time (the ADC stage of a crossbar)",
            a.adc_stage_shared(a.crossbar.cols, a.pe.adc.shared_by),
        ),
    ];
    for (key, cycles) in latencies {
        if cycles.get() > MAX_LATENCY_CYCLES {
            return Err(Error::input(format!(
                "{label}: `{key}` of {} cycles is more than the 2^32 cycles a run can add up without overflow",
                cycles.get()
            )));
        }
    }
    for action in Action::ALL {
        let pj = a.energy[action];
        if !(pj.0.is_finite() && pj.0.abs() <= MAX_ACTION_ENERGY_PJ) {
            return Err(Error::input(format!(
                "{label}: the energy of one `{}` is {:e} pJ; runs need at most 1e15 pJ per action for finite totals",
                action.name(),
                pj.0
            )));
        }
    }
    Ok(())
}

/// What `rramsim check` reports (its `--format json` document).
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub name: String,
    pub description: String,
    pub clock_ghz: f64,
    pub chips: u32,
    pub tiles_per_chip: u32,
    pub pes_per_tile: u32,
    pub crossbars_per_pe: u32,
    pub crossbars_per_chip: u64,
    pub crossbar: String,
    pub weight_bits: u32,
    pub activation_bits: u32,
    pub signed_encoding: &'static str,
    pub columns_per_weight: u32,
    pub weights_per_crossbar_row: u32,
    pub input_steps: u32,
    pub noc: String,
    pub stage_cycles: StageReport,
    pub energy_pj: Vec<(String, f64)>,
    pub area_mm2: AreaReport,
    pub peak_tops: f64,
    pub peak_power_w: f64,
    pub peak_pe_power_w: f64,
    /// The static part of `peak_power_w`.
    pub peak_static_power_w: f64,
    /// The headline efficiency: the most TOPS/W a run on the crossbars can
    /// reach (every crossbar fully used, PE dynamic + every tile's static
    /// power only), so no run reports more.
    pub tops_per_w: f64,
    /// The same bound (kept for scripts that read it by this name).
    pub tops_per_w_bound: f64,
    /// `peak_tops / peak_power_w`: every tile unit (buffers, adder, ALU,
    /// router) and the off-chip links at full rate as well, the way ISAAC's
    /// Table I adds up power (0.577 on isaac). Not a bound: a run that leaves
    /// the buffers, NoC or links idle reports more.
    pub tops_per_w_full_rate: f64,
    pub tops_per_mm2: f64,
    /// Per component: energy per action, area, static power and the keys each follows.
    pub components: Vec<ComponentReport>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentReport {
    pub name: &'static str,
    /// `(action, pJ)` of every action charged to the component.
    pub energy_pj_per_action: Vec<(String, f64)>,
    pub area_mm2_per_chip: f64,
    /// Static power of one chip (only tile and digital-unit leakage is modelled).
    pub static_mw_per_chip: f64,
    pub depends_on: Vec<&'static str>,
    /// `(parameter, value)` of what its figures follow, resolved for this design.
    pub parameters: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    pub dac: u64,
    pub crossbar_read: u64,
    pub sample_hold: u64,
    pub adc_all_columns: u64,
    pub shift_add: u64,
    pub initiation_interval: u64,
    pub step_latency: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaReport {
    pub tile: f64,
    pub chip: f64,
    pub node: f64,
    /// Per component, one chip.
    pub chip_by_component: Vec<(String, f64)>,
}

/// The resolved parameters and peak figures of an architecture.
pub fn check(arch: &Arch) -> CheckReport {
    let a = &arch.params;
    let peak = peak_figures(a);
    let s = peak.stages;
    let noc = match a.noc.topology {
        NocTopology::Mesh { width, height, concentration } => {
            format!("mesh {width}x{height} routers, {concentration} tiles per router, {}-byte flits", a.noc.flit_bytes)
        }
        NocTopology::Bus => format!("bus, {}-byte flits", a.noc.flit_bytes),
    };
    CheckReport {
        name: a.name.clone(),
        description: a.description.clone(),
        clock_ghz: a.clock.ghz(),
        chips: a.node.chips,
        tiles_per_chip: a.tiles_per_chip,
        pes_per_tile: a.tile.pes,
        crossbars_per_pe: a.pe.crossbars,
        crossbars_per_chip: a.crossbars_per_chip(),
        crossbar: format!(
            "{}x{} cells of {} bits, {} of {} bits, {}-bit DACs{}",
            a.crossbar.rows,
            a.crossbar.cols,
            a.crossbar.bits_per_cell,
            if a.pe.adc.shared_by > 1 {
                format!("1 ADC per {} crossbars", a.pe.adc.shared_by)
            } else {
                format!("{} ADC(s)", a.pe.adc.per_crossbar)
            },
            a.pe.adc.bits,
            a.pe.dac_bits,
            spare_text(a)
        ),
        weight_bits: a.weight_bits,
        activation_bits: a.activation_bits,
        signed_encoding: a.encoding.name(),
        columns_per_weight: a.columns_per_weight(),
        weights_per_crossbar_row: a.weights_per_crossbar_row(),
        input_steps: a.input_steps(),
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
        energy_pj: Action::ALL.iter().map(|&act| (act.name().to_owned(), a.energy[act].0)).collect(),
        area_mm2: AreaReport {
            tile: a.tile_area().0,
            chip: a.chip_area().0,
            node: a.chip_area().0 * f64::from(a.node.chips),
            chip_by_component: a.chip_area_breakdown().into_iter().map(|(c, x)| (c.name().to_owned(), x.0)).collect(),
        },
        peak_tops: peak.tops,
        peak_power_w: peak.power.0 / 1e3,
        peak_pe_power_w: peak.pe_power.0 / 1e3,
        peak_static_power_w: peak.static_power.0 / 1e3,
        tops_per_w: peak.tops_per_watt_bound,
        tops_per_w_bound: peak.tops_per_watt_bound,
        tops_per_w_full_rate: peak.tops_per_watt,
        tops_per_mm2: peak.tops_per_mm2,
        components: components(a),
        warnings: arch.warning_lines(),
    }
}

fn components(a: &ArchParams) -> Vec<ComponentReport> {
    let areas = a.chip_area_breakdown();
    Component::ALL
        .iter()
        .map(|&c| ComponentReport {
            name: c.name(),
            energy_pj_per_action: Action::ALL
                .iter()
                .filter(|act| act.component() == c)
                .map(|&act| (act.name().to_owned(), a.energy[act].0))
                .collect(),
            area_mm2_per_chip: areas.iter().find(|(k, _)| *k == c).map_or(0.0, |(_, x)| x.0),
            static_mw_per_chip: static_mw(a, c),
            depends_on: c.depends_on().to_vec(),
            parameters: parameters(a, c),
        })
        .collect()
}

/// The resolved values a component's energy, area, timing and static power follow.
fn parameters(a: &ArchParams, c: Component) -> Vec<(String, String)> {
    let node = a.node_nm.map_or_else(|| "not given (no node scaling)".to_owned(), |n| format!("{n} nm"));
    let kv = |k: &str, v: String| (k.to_owned(), v);
    let adc = &a.pe.adc;
    match c {
        Component::Dac => vec![
            kv("bits", a.pe.dac_bits.to_string()),
            kv("per_crossbar", a.crossbar.rows.to_string()),
            kv("node", node),
        ],
        Component::Crossbar => vec![
            kv("rows x cols", format!("{}x{}", a.crossbar.rows, a.crossbar.cols)),
            kv("rows_per_read", a.crossbar.rows_per_read.to_string()),
            kv("bits_per_cell", a.crossbar.bits_per_cell.to_string()),
            kv(
                "r_on/r_off",
                match (a.crossbar.r_on_ohm, a.crossbar.r_off_ohm) {
                    (Some(on), Some(off)) => format!("{on}/{off} ohm"),
                    _ => "not given".to_owned(),
                },
            ),
            kv("read_pulse", format!("{} cycles", a.crossbar.read_latency.get())),
            kv("node (area)", node),
        ],
        Component::SampleHold => {
            vec![
                kv("adc_bits", adc.bits.to_string()),
                kv("per_crossbar", a.crossbar.cols.to_string()),
                kv("node", node),
            ]
        }
        Component::Adc => vec![
            kv("kind", adc.kind.name().to_owned()),
            kv("bits", adc.bits.to_string()),
            kv("sample_rate", format!("{:.4} GS/s", 1.0 / adc.conversion_time.0)),
            kv("per_crossbar", adc.per_crossbar.to_string()),
            kv("shared_by", adc.shared_by.to_string()),
            kv("node", node),
        ],
        Component::ShiftAdd => {
            vec![kv("width", format!("{} bits", adc.bits + a.activation_bits)), kv("node", node)]
        }
        Component::PeRegisters => vec![kv("dac_bits", a.pe.dac_bits.to_string()), kv("node", node)],
        Component::TileAdder => vec![
            kv("lanes", a.tile.adder.lanes.to_string()),
            kv("width", format!("{} bits", a.activation_bits)),
            kv("node", node),
        ],
        Component::Alu => vec![
            kv("lanes", a.tile.alu.lanes.to_string()),
            kv("width", format!("{} bits", a.activation_bits)),
            kv("node", node),
        ],
        Component::Buffer => vec![
            kv("capacity", format!("{} B", a.tile.buffer.capacity.0)),
            kv(
                "ports",
                format!("{}/{} B per cycle", a.tile.buffer.read_bytes_per_cycle, a.tile.buffer.write_bytes_per_cycle),
            ),
            kv("node", node),
        ],
        Component::Noc => vec![
            kv("flit", format!("{} B", a.noc.flit_bytes)),
            kv("routers", a.routers_per_chip().to_string()),
            kv("node", node),
        ],
        Component::Offchip => {
            vec![kv("bandwidth", format!("{:.3} B per cycle", a.node.offchip_bytes_per_cycle))]
        }
        Component::Digital => vec![
            kv("array", format!("{}x{}", a.digital.rows, a.digital.cols)),
            kv("sram", format!("{} B", a.digital.sram.0)),
            kv("node", node),
        ],
        Component::Leakage => vec![kv("tiles", a.tiles_per_chip.to_string())],
    }
}

/// Static power of one chip charged to `c`; the `leakage` row holds what no
/// component claims (`tile.leakage_mw`, `digital.leakage_mw`).
fn static_mw(a: &ArchParams, c: Component) -> f64 {
    let tiles = f64::from(a.tiles_per_chip);
    // fold from +0.0 (an empty f64 sum is −0.0).
    let of = |c: Component| a.leakage.by_component.iter().filter(|(k, _)| *k == c).fold(0.0, |acc, (_, mw)| acc + mw.0);
    match c {
        Component::Leakage => {
            let claimed = a.leakage.by_component.iter().fold(0.0, |acc, (_, mw)| acc + mw.0);
            (a.leakage.tile.0 - claimed) * tiles + a.leakage.digital.0
        }
        _ => of(c) * tiles,
    }
}

/// The spare rows and columns and a remap's index tables, when the crossbar has spares.
fn spare_text(a: &ArchParams) -> String {
    let x = &a.crossbar;
    if x.spare_rows == 0 && x.spare_cols == 0 {
        return String::new();
    }
    let hw = rramsim_hw::remap::RemapHardware::of(a, true, x.spare_cols > 0).expect("rows remapped");
    format!(
        "; + {} spare rows, {} spare cols ({:.6} mm2 of spare cells); remap index tables {} B ({:.6} mm2) per crossbar",
        x.spare_rows, x.spare_cols, hw.spare_area_mm2, hw.table_bytes, hw.table_area_mm2
    )
}
