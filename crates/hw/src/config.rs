//! The architecture TOML format: raw serde types (private) and their conversion
//! into [`ArchParams`] with located errors. The format is documented in
//! `arch-configs/README.md`.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use rramsim_core::{Bytes, Clock, Cycle, MilliWatt, Nanoseconds, PicoJoule, SourceError, SquareMm};
use serde::Deserialize;
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, Visitor};
use toml::Spanned;

use crate::energy::{Action, EnergyTable};
use crate::params::*;

/// A number given bare (`rows = 128`) or with its source
/// (`rows = { value = 128, source = "ISAAC Table I" }`).
#[derive(Debug)]
struct Sourced<T> {
    value: T,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sourced<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Sourced<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, or a table { value = …, source = \"…\" }")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Sourced { value: T::deserialize(v.into_deserializer())? })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Sourced { value: T::deserialize(v.into_deserializer())? })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Sourced { value: T::deserialize(v.into_deserializer())? })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut value = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "value" => value = Some(map.next_value::<T>()?),
                        "source" => {
                            map.next_value::<String>()?;
                        }
                        other => return Err(de::Error::unknown_field(other, &["value", "source"])),
                    }
                }
                let value = value.ok_or_else(|| de::Error::missing_field("value"))?;
                Ok(Sourced { value })
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A latency: `{ ns = 100, source = "…" }` or `{ cycles = 120 }`.
#[derive(Debug, Clone, Copy)]
enum RawLatency {
    Ns(f64),
    Cycles(u64),
}

impl<'de> Deserialize<'de> for RawLatency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawLatency;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a latency with its unit: { ns = … } or { cycles = … } (and an optional source)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut value = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "ns" | "cycles" if value.is_some() => {
                            return Err(de::Error::custom("give the latency in `ns` or in `cycles`, not both"));
                        }
                        "ns" => value = Some(RawLatency::Ns(map.next_value()?)),
                        "cycles" => value = Some(RawLatency::Cycles(map.next_value()?)),
                        "source" => {
                            map.next_value::<String>()?;
                        }
                        other => return Err(de::Error::unknown_field(other, &["ns", "cycles", "source"])),
                    }
                }
                value.ok_or_else(|| de::Error::custom("a latency needs `ns = …` or `cycles = …`"))
            }
        }
        d.deserialize_any(V)
    }
}

type N<T> = Spanned<Sourced<T>>;
type Lat = Spanned<RawLatency>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArch {
    name: String,
    #[serde(default)]
    description: String,
    clock: RawClock,
    node: RawNode,
    chip: RawChip,
    noc: RawNoc,
    tile: RawTile,
    pe: RawPe,
    crossbar: RawCrossbar,
    precision: RawPrecision,
    digital: RawDigital,
    #[serde(default)]
    device: Option<crate::device::RawDevice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClock {
    ghz: N<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    chips: N<i64>,
    offchip_bandwidth_gb_per_s: N<f64>,
    offchip_latency: Lat,
    offchip_energy_pj_per_byte: N<f64>,
    offchip_area_mm2: N<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChip {
    tiles: N<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNoc {
    topology: Spanned<String>,
    concentration: Option<N<i64>>,
    flit_bytes: N<i64>,
    hop_latency: Lat,
    flit_hop_energy_pj: N<f64>,
    router_area_mm2: N<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTile {
    pes: N<i64>,
    leakage_mw: N<f64>,
    buffer: RawBuffer,
    adder: RawVectorUnit,
    alu: RawVectorUnit,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuffer {
    kib: N<f64>,
    read_bytes_per_cycle: N<i64>,
    write_bytes_per_cycle: N<i64>,
    latency: Lat,
    read_energy_pj_per_byte: N<f64>,
    write_energy_pj_per_byte: N<f64>,
    area_mm2: N<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVectorUnit {
    lanes: N<i64>,
    latency: Lat,
    energy_pj_per_op: N<f64>,
    area_mm2: N<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPe {
    crossbars: N<i64>,
    input_register_energy_pj_per_byte: N<f64>,
    output_register_energy_pj_per_byte: N<f64>,
    registers_area_mm2: N<f64>,
    dac: RawDac,
    sample_hold: RawStage,
    adc: RawAdc,
    shift_add: RawStage,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDac {
    bits: N<i64>,
    latency: Lat,
    energy_pj: N<f64>,
    area_mm2: N<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    latency: Lat,
    energy_pj: N<f64>,
    area_mm2: N<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdc {
    bits: N<i64>,
    per_crossbar: N<i64>,
    conversion_time: Lat,
    energy_pj: N<f64>,
    area_mm2: N<f64>,
    #[serde(default)]
    flip_encoding: Option<Spanned<bool>>,
    #[serde(default)]
    allow_clipping: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCrossbar {
    rows: N<i64>,
    cols: N<i64>,
    bits_per_cell: N<i64>,
    rows_per_read: Option<N<i64>>,
    read_latency: Lat,
    read_energy_pj: N<f64>,
    area_mm2: N<f64>,
    r_on_ohm: Option<N<f64>>,
    r_off_ohm: Option<N<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrecision {
    weight_bits: N<i64>,
    activation_bits: N<i64>,
    signed_encoding: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigital {
    rows: N<i64>,
    cols: N<i64>,
    dataflow: Spanned<String>,
    sram_kib: N<f64>,
    clock_ghz: N<f64>,
    mac_energy_pj: N<f64>,
    sram_energy_pj_per_byte: N<f64>,
    leakage_mw: N<f64>,
    area_mm2: N<f64>,
}

/// Warnings a valid configuration may carry (printed by `rramsim check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    pub key: String,
    pub message: String,
}

/// Converts raw values, remembering the file for error locations.
struct Resolver<'a> {
    file: &'a str,
    source: &'a str,
    warnings: Vec<ConfigWarning>,
}

impl Resolver<'_> {
    fn err(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> SourceError {
        SourceError::at(self.file, self.source, Some(span), Some(key.to_owned()), message)
    }

    /// An integer ≥ `min` that fits in u32.
    fn int(&self, key: &str, v: &N<i64>, min: i64) -> Result<u32, SourceError> {
        let x = v.get_ref().value;
        if x < min || x > i64::from(u32::MAX) {
            return Err(self.err(v.span(), key, format!("must be an integer of at least {min}, got {x}")));
        }
        Ok(x as u32)
    }

    /// A finite number > 0 (or ≥ 0 when `zero_ok`).
    fn num(&self, key: &str, v: &N<f64>, zero_ok: bool) -> Result<f64, SourceError> {
        let x = v.get_ref().value;
        let ok = x.is_finite() && (x > 0.0 || (zero_ok && x == 0.0));
        if !ok {
            let want = if zero_ok { "a finite number ≥ 0" } else { "a finite number > 0" };
            return Err(self.err(v.span(), key, format!("must be {want}, got {x}")));
        }
        Ok(x)
    }

    fn energy(&self, key: &str, v: &N<f64>) -> Result<PicoJoule, SourceError> {
        self.num(key, v, true).map(PicoJoule)
    }

    fn area(&self, key: &str, v: &N<f64>) -> Result<SquareMm, SourceError> {
        self.num(key, v, true).map(SquareMm)
    }

    fn time(&self, key: &str, v: &Lat, clock: &Clock) -> Result<Nanoseconds, SourceError> {
        match *v.get_ref() {
            RawLatency::Ns(ns) if ns.is_finite() && ns >= 0.0 => Ok(Nanoseconds(ns)),
            RawLatency::Ns(ns) => Err(self.err(v.span(), key, format!("must be a finite number of ns ≥ 0, got {ns}"))),
            RawLatency::Cycles(c) => Ok(clock.to_ns(Cycle(c))),
        }
    }

    fn latency(&self, key: &str, v: &Lat, clock: &Clock) -> Result<Cycle, SourceError> {
        Ok(clock.cycles_ceil(self.time(key, v, clock)?))
    }
}

/// Parses and checks an architecture file. `file` names it in error messages.
pub fn load_arch_toml(file: &str, source: &str) -> Result<(ArchParams, Vec<ConfigWarning>), SourceError> {
    let raw: RawArch = toml::from_str(source)
        .map_err(|e| SourceError::at(file, source, e.span(), None, e.message().trim_end().to_owned()))?;
    let mut r = Resolver { file, source, warnings: Vec::new() };
    let params = resolve(&mut r, &raw)?;
    Ok((params, r.warnings))
}

fn resolve(r: &mut Resolver<'_>, raw: &RawArch) -> Result<ArchParams, SourceError> {
    let ghz = r.num("clock.ghz", &raw.clock.ghz, false)?;
    let clock = Clock::from_ghz(ghz).expect("checked positive and finite");

    // Crossbar and precision.
    let x = &raw.crossbar;
    let rows = r.int("crossbar.rows", &x.rows, 1)?;
    let cols = r.int("crossbar.cols", &x.cols, 1)?;
    let bits_per_cell = r.int("crossbar.bits_per_cell", &x.bits_per_cell, 1)?;
    if bits_per_cell > 8 {
        return Err(r.err(x.bits_per_cell.span(), "crossbar.bits_per_cell", "at most 8 bits per cell are supported"));
    }
    let rows_per_read = match &x.rows_per_read {
        Some(v) => {
            let n = r.int("crossbar.rows_per_read", v, 1)?;
            if n > rows {
                return Err(r.err(v.span(), "crossbar.rows_per_read", format!("cannot exceed crossbar.rows ({rows})")));
            }
            n
        }
        None => rows,
    };
    let r_on = x.r_on_ohm.as_ref().map(|v| r.num("crossbar.r_on_ohm", v, false)).transpose()?;
    let r_off = x.r_off_ohm.as_ref().map(|v| r.num("crossbar.r_off_ohm", v, false)).transpose()?;
    if let (Some(on), Some(off), Some(v)) = (r_on, r_off, &x.r_off_ohm) {
        if off <= on {
            return Err(r.err(v.span(), "crossbar.r_off_ohm", format!("must exceed r_on_ohm ({on} Ω), got {off} Ω")));
        }
    }
    let p = &raw.precision;
    let weight_bits = r.int("precision.weight_bits", &p.weight_bits, 2)?;
    let activation_bits = r.int("precision.activation_bits", &p.activation_bits, 1)?;
    if weight_bits > 32 || activation_bits > 32 {
        let (key, v) = if weight_bits > 32 {
            ("precision.weight_bits", &p.weight_bits)
        } else {
            ("precision.activation_bits", &p.activation_bits)
        };
        return Err(r.err(v.span(), key, "at most 32 bits are supported"));
    }
    let encoding = match p.signed_encoding.get_ref().as_str() {
        "differential" => SignedEncoding::Differential,
        "offset-column" => SignedEncoding::OffsetColumn,
        "offset-digital" => SignedEncoding::OffsetDigital,
        other => {
            return Err(r.err(
                p.signed_encoding.span(),
                "precision.signed_encoding",
                format!("unknown encoding `{other}`; expected differential, offset-column or offset-digital"),
            ));
        }
    };

    // PE.
    let pe = &raw.pe;
    let dac_bits = r.int("pe.dac.bits", &pe.dac.bits, 1)?;
    if dac_bits > 16 {
        return Err(r.err(pe.dac.bits.span(), "pe.dac.bits", "at most 16-bit DACs are supported"));
    }
    let adc_bits = r.int("pe.adc.bits", &pe.adc.bits, 1)?;
    let adc_per_crossbar = r.int("pe.adc.per_crossbar", &pe.adc.per_crossbar, 1)?;
    if adc_per_crossbar > cols {
        return Err(r.err(
            pe.adc.per_crossbar.span(),
            "pe.adc.per_crossbar",
            format!("more ADCs ({adc_per_crossbar}) than crossbar columns ({cols})"),
        ));
    }
    let conversion_time = r.time("pe.adc.conversion_time", &pe.adc.conversion_time, &clock)?;
    if conversion_time.0 == 0.0 {
        return Err(r.err(pe.adc.conversion_time.span(), "pe.adc.conversion_time", "must be greater than zero"));
    }
    let flip = pe.adc.flip_encoding.as_ref().is_some_and(|b| *b.get_ref());
    let clipping = pe.adc.allow_clipping.as_ref().is_some_and(|b| *b.get_ref());

    let params_pe = PeParams {
        crossbars: r.int("pe.crossbars", &pe.crossbars, 1)?,
        dac_bits,
        dac_latency: r.latency("pe.dac.latency", &pe.dac.latency, &clock)?,
        sample_hold_latency: r.latency("pe.sample_hold.latency", &pe.sample_hold.latency, &clock)?,
        adc: AdcParams { bits: adc_bits, per_crossbar: adc_per_crossbar, conversion_time },
        shift_add_latency: r.latency("pe.shift_add.latency", &pe.shift_add.latency, &clock)?,
    };
    let read_latency = r.latency("crossbar.read_latency", &x.read_latency, &clock)?;
    if read_latency == Cycle::ZERO {
        return Err(r.err(x.read_latency.span(), "crossbar.read_latency", "must be at least one cycle"));
    }

    // Tile and chip.
    let t = &raw.tile;
    let b = &t.buffer;
    let kib = r.num("tile.buffer.kib", &b.kib, false)?;
    let tile = TileParams {
        pes: r.int("tile.pes", &t.pes, 1)?,
        buffer: BufferParams {
            capacity: Bytes((kib * 1024.0).round() as u64),
            read_bytes_per_cycle: r.int("tile.buffer.read_bytes_per_cycle", &b.read_bytes_per_cycle, 1)?,
            write_bytes_per_cycle: r.int("tile.buffer.write_bytes_per_cycle", &b.write_bytes_per_cycle, 1)?,
            latency: r.latency("tile.buffer.latency", &b.latency, &clock)?,
        },
        adder: VectorUnitParams {
            lanes: r.int("tile.adder.lanes", &t.adder.lanes, 1)?,
            latency: r.latency("tile.adder.latency", &t.adder.latency, &clock)?,
        },
        alu: VectorUnitParams {
            lanes: r.int("tile.alu.lanes", &t.alu.lanes, 1)?,
            latency: r.latency("tile.alu.latency", &t.alu.latency, &clock)?,
        },
    };
    let tiles_per_chip = r.int("chip.tiles", &raw.chip.tiles, 1)?;
    let n = &raw.noc;
    let topology = match n.topology.get_ref().as_str() {
        "mesh" => {
            let concentration = match &n.concentration {
                Some(v) => r.int("noc.concentration", v, 1)?,
                None => {
                    return Err(r.err(
                        n.topology.span(),
                        "noc.concentration",
                        "a mesh needs `concentration` (tiles per router)",
                    ));
                }
            };
            let routers = tiles_per_chip.div_ceil(concentration);
            let width = (f64::from(routers).sqrt().ceil() as u32).max(1);
            NocTopology::Mesh { width, height: routers.div_ceil(width), concentration }
        }
        "bus" => {
            if let Some(v) = &n.concentration {
                return Err(r.err(
                    v.span(),
                    "noc.concentration",
                    "a bus has no routers to share: remove `concentration`",
                ));
            }
            NocTopology::Bus
        }
        other => {
            return Err(r.err(
                n.topology.span(),
                "noc.topology",
                format!("unknown topology `{other}`; expected mesh or bus"),
            ));
        }
    };
    let noc = NocParams {
        topology,
        flit_bytes: r.int("noc.flit_bytes", &n.flit_bytes, 1)?,
        hop_latency: r.latency("noc.hop_latency", &n.hop_latency, &clock)?,
    };
    let nd = &raw.node;
    let gbps = r.num("node.offchip_bandwidth_gb_per_s", &nd.offchip_bandwidth_gb_per_s, false)?;
    let node = NodeParams {
        chips: r.int("node.chips", &nd.chips, 1)?,
        // GB/s ÷ (cycles/s) = bytes per cycle.
        offchip_bytes_per_cycle: gbps / ghz,
        offchip_latency: r.latency("node.offchip_latency", &nd.offchip_latency, &clock)?,
    };

    // Digital unit.
    let d = &raw.digital;
    let digital_ghz = r.num("digital.clock_ghz", &d.clock_ghz, false)?;
    let dataflow = match d.dataflow.get_ref().as_str() {
        "weight-stationary" | "ws" => Dataflow::WeightStationary,
        "output-stationary" | "os" => Dataflow::OutputStationary,
        "input-stationary" | "is" => Dataflow::InputStationary,
        other => {
            return Err(r.err(
                d.dataflow.span(),
                "digital.dataflow",
                format!(
                    "unknown dataflow `{other}`; expected weight-stationary, output-stationary or input-stationary"
                ),
            ));
        }
    };
    let digital = DigitalParams {
        rows: r.int("digital.rows", &d.rows, 1)?,
        cols: r.int("digital.cols", &d.cols, 1)?,
        dataflow,
        sram: Bytes((r.num("digital.sram_kib", &d.sram_kib, false)? * 1024.0).round() as u64),
        clock: Clock::from_ghz(digital_ghz).expect("checked positive and finite"),
    };

    let mut table = [PicoJoule(0.0); Action::COUNT];
    let mut set = |a: Action, v: PicoJoule| table[a as usize] = v;
    set(Action::DacConversion, r.energy("pe.dac.energy_pj", &pe.dac.energy_pj)?);
    set(Action::CrossbarRead, r.energy("crossbar.read_energy_pj", &x.read_energy_pj)?);
    set(Action::SampleHold, r.energy("pe.sample_hold.energy_pj", &pe.sample_hold.energy_pj)?);
    set(Action::AdcConversion, r.energy("pe.adc.energy_pj", &pe.adc.energy_pj)?);
    set(Action::ShiftAdd, r.energy("pe.shift_add.energy_pj", &pe.shift_add.energy_pj)?);
    set(
        Action::InputRegisterByte,
        r.energy("pe.input_register_energy_pj_per_byte", &pe.input_register_energy_pj_per_byte)?,
    );
    set(
        Action::OutputRegisterByte,
        r.energy("pe.output_register_energy_pj_per_byte", &pe.output_register_energy_pj_per_byte)?,
    );
    set(Action::TileAdd, r.energy("tile.adder.energy_pj_per_op", &t.adder.energy_pj_per_op)?);
    set(Action::AluOp, r.energy("tile.alu.energy_pj_per_op", &t.alu.energy_pj_per_op)?);
    set(Action::BufferReadByte, r.energy("tile.buffer.read_energy_pj_per_byte", &b.read_energy_pj_per_byte)?);
    set(Action::BufferWriteByte, r.energy("tile.buffer.write_energy_pj_per_byte", &b.write_energy_pj_per_byte)?);
    set(Action::NocFlitHop, r.energy("noc.flit_hop_energy_pj", &n.flit_hop_energy_pj)?);
    set(Action::OffchipByte, r.energy("node.offchip_energy_pj_per_byte", &nd.offchip_energy_pj_per_byte)?);
    set(Action::DigitalMac, r.energy("digital.mac_energy_pj", &d.mac_energy_pj)?);
    set(Action::DigitalSramByte, r.energy("digital.sram_energy_pj_per_byte", &d.sram_energy_pj_per_byte)?);

    let area = AreaParams {
        crossbar: r.area("crossbar.area_mm2", &x.area_mm2)?,
        dac: r.area("pe.dac.area_mm2", &pe.dac.area_mm2)?,
        sample_hold: r.area("pe.sample_hold.area_mm2", &pe.sample_hold.area_mm2)?,
        adc: r.area("pe.adc.area_mm2", &pe.adc.area_mm2)?,
        shift_add: r.area("pe.shift_add.area_mm2", &pe.shift_add.area_mm2)?,
        pe_registers: r.area("pe.registers_area_mm2", &pe.registers_area_mm2)?,
        buffer: r.area("tile.buffer.area_mm2", &b.area_mm2)?,
        tile_adder: r.area("tile.adder.area_mm2", &t.adder.area_mm2)?,
        alu: r.area("tile.alu.area_mm2", &t.alu.area_mm2)?,
        router: r.area("noc.router_area_mm2", &n.router_area_mm2)?,
        offchip: r.area("node.offchip_area_mm2", &nd.offchip_area_mm2)?,
        digital: r.area("digital.area_mm2", &d.area_mm2)?,
    };
    let leakage = LeakageParams {
        tile: MilliWatt(r.num("tile.leakage_mw", &t.leakage_mw, true)?),
        digital: MilliWatt(r.num("digital.leakage_mw", &d.leakage_mw, true)?),
    };

    let params = ArchParams {
        name: raw.name.clone(),
        description: raw.description.clone(),
        clock,
        node,
        tiles_per_chip,
        noc,
        tile,
        pe: params_pe,
        crossbar: CrossbarParams {
            rows,
            cols,
            bits_per_cell,
            rows_per_read,
            read_latency,
            r_on_ohm: r_on,
            r_off_ohm: r_off,
        },
        weight_bits,
        activation_bits,
        encoding,
        adc_flip_encoding: flip,
        digital,
        device: crate::device::resolve_device(
            r.file,
            r.source,
            raw.device.as_ref(),
            1usize << bits_per_cell,
            r_on.is_some(),
        )?,
        energy: EnergyTable(table),
        leakage,
        area,
    };

    // Cross-parameter checks.
    if params.weights_per_crossbar_row() == 0 {
        let needed = params.columns_per_weight() + (params.crossbar.cols - params.usable_columns());
        return Err(r.err(
            x.cols.span(),
            "crossbar.cols",
            format!(
                "{cols} columns cannot hold one {weight_bits}-bit weight in {}-bit cells with {} encoding (needs {needed})",
                bits_per_cell,
                encoding.name()
            ),
        ));
    }
    let needed = params.column_sum_bits() - u32::from(flip);
    if adc_bits < needed {
        let message = format!(
            "a {adc_bits}-bit ADC cannot resolve the column sum of {rows_per_read} rows × {dac_bits}-bit inputs × \
             {bits_per_cell}-bit cells (needs {needed} bits{})",
            if flip { " with flip encoding" } else { "" }
        );
        if clipping {
            r.warnings.push(ConfigWarning {
                key: "pe.adc.bits".into(),
                message: format!("{message}; large column sums will clip (allow_clipping = true)"),
            });
        } else {
            return Err(r.err(
                pe.adc.bits.span(),
                "pe.adc.bits",
                format!("{message}; raise the bits, lower crossbar.rows_per_read, or set pe.adc.allow_clipping = true"),
            ));
        }
    }
    Ok(params)
}
