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

use crate::energy::{Action, Component, EnergyTable};
use crate::params::*;
use crate::scaling::{self, AdcKind, Calibration, NodeScale};

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
/// `(component, key, leakage_mw per instance, size law, instances per tile)`.
type LeakSpec<'a> = (Component, &'static str, &'a Option<N<f64>>, f64, f64);

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
    technology: Option<RawTechnology>,
    #[serde(default)]
    pipeline: Option<RawPipeline>,
    #[serde(default)]
    calibration: Option<RawCalibration>,
    #[serde(default)]
    device: Option<crate::device::RawDevice>,
}

/// `[pipeline]`: ISAAC-style stage slots per layer (issue 14 item 7).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    stages_per_layer: N<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTechnology {
    node_nm: N<f64>,
}

/// The parameters the file's sourced figures hold at; each defaults to the
/// design's own value (no scaling).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCalibration {
    #[serde(default)]
    source: Option<String>,
    node_nm: Option<N<f64>>,
    adc_bits: Option<N<i64>>,
    dac_bits: Option<N<i64>>,
    crossbar_rows: Option<N<i64>>,
    crossbar_cols: Option<N<i64>>,
    rows_per_read: Option<N<i64>>,
    r_on_ohm: Option<N<f64>>,
    r_off_ohm: Option<N<f64>>,
    read_voltage_v: Option<N<f64>>,
    read_pulse_ns: Option<N<f64>>,
    activation_bits: Option<N<i64>>,
    adder_lanes: Option<N<i64>>,
    alu_lanes: Option<N<i64>>,
    buffer_kib: Option<N<f64>>,
    sram_kib: Option<N<f64>>,
    flit_bytes: Option<N<i64>>,
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
    /// Static power per instance (optional, default 0).
    #[serde(default)]
    leakage_mw: Option<N<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVectorUnit {
    lanes: N<i64>,
    latency: Lat,
    energy_pj_per_op: N<f64>,
    area_mm2: N<f64>,
    /// Static power per instance (optional, default 0).
    #[serde(default)]
    leakage_mw: Option<N<f64>>,
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
    /// Static power per instance (optional, default 0).
    #[serde(default)]
    leakage_mw: Option<N<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    latency: Lat,
    energy_pj: N<f64>,
    area_mm2: N<f64>,
    /// Static power per instance (optional, default 0).
    #[serde(default)]
    leakage_mw: Option<N<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdc {
    bits: N<i64>,
    per_crossbar: N<i64>,
    /// Crossbars one ADC serves (optional, default 1; needs `per_crossbar = 1`).
    #[serde(default)]
    shared_by: Option<N<i64>>,
    conversion_time: Lat,
    energy_pj: N<f64>,
    area_mm2: N<f64>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    flip_encoding: Option<Spanned<bool>>,
    #[serde(default)]
    allow_clipping: Option<Spanned<bool>>,
    /// Static power per instance (optional, default 0).
    #[serde(default)]
    leakage_mw: Option<N<f64>>,
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
    read_voltage_v: Option<N<f64>>,
    spare_rows: Option<N<i64>>,
    spare_cols: Option<N<i64>>,
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

/// An inclusive range `[lo, hi]` (with an open low end when `open_lo`).
#[derive(Debug, Clone, Copy)]
struct Limits {
    lo: f64,
    hi: f64,
    open_lo: bool,
}

const fn within(lo: f64, hi: f64) -> Limits {
    Limits { lo, hi, open_lo: false }
}

const fn above(lo: f64, hi: f64) -> Limits {
    Limits { lo, hi, open_lo: true }
}

impl Limits {
    fn contains(self, x: f64) -> bool {
        x.is_finite() && x <= self.hi && if self.open_lo { x > self.lo } else { x >= self.lo }
    }
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = if self.open_lo { "(" } else { "[" };
        write!(f, "{open}{}, {}]", self.lo, self.hi)
    }
}

/// Physically possible and published ranges of the keys with one, as
/// `(key, hard, published)`. Hard limits: a clock beyond 100 GHz, a node below
/// 1 nm or above 1 µm, an ADC or DAC above 16 bits, more than 8 bits per cell
/// have never been built; published: the span of Murmann's ADC survey (SAR
/// 4–16 bits), Stillmaker & Baas's nodes (7–180 nm), RRAM crossbar papers
/// (ISAAC, PRIME, NeuroSim: ≤ 1024 rows, ≤ 4 bits per cell, 1 kΩ–10 MΩ cells,
/// on/off ratio ≥ 2, read voltages 0.05–1.5 V).
const RANGES: &[(&str, Limits, Limits)] = &[
    ("clock.ghz", above(0.0, 100.0), within(0.01, 5.0)),
    ("digital.clock_ghz", above(0.0, 100.0), within(0.01, 5.0)),
    ("technology.node_nm", within(1.0, 1000.0), within(7.0, 180.0)),
    ("pe.adc.bits", within(1.0, 16.0), within(1.0, 14.0)),
    ("pe.dac.bits", within(1.0, 16.0), within(1.0, 8.0)),
    ("crossbar.bits_per_cell", within(1.0, 8.0), within(1.0, 4.0)),
    ("crossbar.rows", within(1.0, 65536.0), within(8.0, 1024.0)),
    ("crossbar.cols", within(1.0, 65536.0), within(8.0, 1024.0)),
    ("crossbar.r_on_ohm", above(0.0, 1e12), within(1e3, 1e7)),
    ("crossbar.r_off_ohm", above(0.0, 1e12), within(2e3, 1e9)),
    ("crossbar.read_voltage_v", above(0.0, 10.0), within(0.05, 1.5)),
    // At least one byte.
    ("tile.buffer.kib", within(1.0 / 1024.0, 1048576.0), within(1.0, 16384.0)),
    ("digital.sram_kib", within(1.0 / 1024.0, 1048576.0), within(1.0, 65536.0)),
    ("noc.flit_bytes", within(1.0, 4096.0), within(4.0, 128.0)),
    ("precision.weight_bits", within(2.0, 32.0), within(2.0, 16.0)),
    ("precision.activation_bits", within(1.0, 32.0), within(1.0, 16.0)),
    // ISAAC's 22 stages per layer (Shafiee et al. 2016, §V) is the deepest published.
    ("pipeline.stages_per_layer", within(1.0, 1024.0), within(1.0, 64.0)),
];

fn limits(key: &str) -> (Limits, Limits) {
    let (_, hard, published) = RANGES.iter().find(|(k, _, _)| *k == key).expect("a key with ranges");
    (*hard, *published)
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

    /// Refuses `x` outside the physically possible `hard` range (exit 2 with
    /// the key and the range) and warns outside the `published` one.
    fn range(
        &mut self,
        key: &str,
        span: Range<usize>,
        x: f64,
        hard: Limits,
        published: Limits,
    ) -> Result<(), SourceError> {
        if !hard.contains(x) {
            return Err(self.err(span, key, format!("{x} is physically impossible here; accepted range {hard}")));
        }
        if !published.contains(x) {
            self.warnings.push(ConfigWarning {
                key: key.to_owned(),
                message: format!("{x} is outside the published range {published}; the scaling laws are extrapolated"),
            });
        }
        Ok(())
    }

    fn energy(&self, key: &str, v: &N<f64>) -> Result<PicoJoule, SourceError> {
        self.num(key, v, true).map(PicoJoule)
    }

    fn area(&self, key: &str, v: &N<f64>) -> Result<SquareMm, SourceError> {
        self.num(key, v, true).map(SquareMm)
    }

    /// `int` or `num` plus the key's [`RANGES`] check.
    fn ranged_int(&mut self, key: &str, v: &N<i64>) -> Result<u32, SourceError> {
        let (hard, published) = limits(key);
        self.range(key, v.span(), v.get_ref().value as f64, hard, published)?;
        self.int(key, v, hard.lo as i64)
    }

    fn ranged_num(&mut self, key: &str, v: &N<f64>) -> Result<f64, SourceError> {
        let (hard, published) = limits(key);
        self.range(key, v.span(), v.get_ref().value, hard, published)?;
        self.num(key, v, false)
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
    let ghz = r.ranged_num("clock.ghz", &raw.clock.ghz)?;
    let clock = Clock::from_ghz(ghz).expect("checked positive and finite");

    // Crossbar and precision.
    let x = &raw.crossbar;
    let rows = r.ranged_int("crossbar.rows", &x.rows)?;
    let cols = r.ranged_int("crossbar.cols", &x.cols)?;
    let bits_per_cell = r.ranged_int("crossbar.bits_per_cell", &x.bits_per_cell)?;
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
    // Spare rows and columns for fault-aware remapping: at most as many as the
    // crossbar's rows / columns (a spare set larger than the array is a second array).
    let spare = |key: &str, v: &Option<N<i64>>, max: u32| -> Result<u32, SourceError> {
        let Some(v) = v else { return Ok(0) };
        let n = v.get_ref().value;
        if n < 0 || n > i64::from(max) {
            return Err(r.err(v.span(), key, format!("must be an integer from 0 to {max}, got {n}")));
        }
        Ok(n as u32)
    };
    let spare_rows = spare("crossbar.spare_rows", &x.spare_rows, rows)?;
    let spare_cols = spare("crossbar.spare_cols", &x.spare_cols, cols)?;
    let r_on = x.r_on_ohm.as_ref().map(|v| r.ranged_num("crossbar.r_on_ohm", v)).transpose()?;
    let r_off = x.r_off_ohm.as_ref().map(|v| r.ranged_num("crossbar.r_off_ohm", v)).transpose()?;
    if let (Some(on), Some(off), Some(v)) = (r_on, r_off, &x.r_off_ohm) {
        if off <= on {
            return Err(r.err(v.span(), "crossbar.r_off_ohm", format!("must exceed r_on_ohm ({on} Ω), got {off} Ω")));
        }
    }
    let p = &raw.precision;
    let weight_bits = r.ranged_int("precision.weight_bits", &p.weight_bits)?;
    let activation_bits = r.ranged_int("precision.activation_bits", &p.activation_bits)?;
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
    let dac_bits = r.ranged_int("pe.dac.bits", &pe.dac.bits)?;
    let adc_bits = r.ranged_int("pe.adc.bits", &pe.adc.bits)?;
    let adc_per_crossbar = r.int("pe.adc.per_crossbar", &pe.adc.per_crossbar, 1)?;
    if adc_per_crossbar > cols {
        return Err(r.err(
            pe.adc.per_crossbar.span(),
            "pe.adc.per_crossbar",
            format!("more ADCs ({adc_per_crossbar}) than crossbar columns ({cols})"),
        ));
    }
    let pe_crossbars = r.int("pe.crossbars", &pe.crossbars, 1)?;
    let adc_shared_by = match &pe.adc.shared_by {
        Some(v) => {
            let n = r.int("pe.adc.shared_by", v, 1)?;
            if n > 1 && adc_per_crossbar > 1 {
                return Err(r.err(
                    v.span(),
                    "pe.adc.shared_by",
                    format!("an ADC shared by {n} crossbars needs pe.adc.per_crossbar = 1, got {adc_per_crossbar}"),
                ));
            }
            if pe_crossbars % n != 0 {
                return Err(r.err(
                    v.span(),
                    "pe.adc.shared_by",
                    format!("must divide pe.crossbars ({pe_crossbars}) so every ADC serves whole crossbars, got {n}"),
                ));
            }
            n
        }
        None => 1,
    };
    let conversion_time = r.time("pe.adc.conversion_time", &pe.adc.conversion_time, &clock)?;
    if conversion_time.0 == 0.0 {
        return Err(r.err(pe.adc.conversion_time.span(), "pe.adc.conversion_time", "must be greater than zero"));
    }
    let adc_kind = match pe.adc.kind.as_ref().map(|k| (k.get_ref().as_str(), k.span())) {
        None | Some(("sar", _)) => AdcKind::Sar,
        Some(("flash", _)) => AdcKind::Flash,
        Some((other, span)) => {
            return Err(r.err(span, "pe.adc.kind", format!("unknown ADC kind `{other}`; expected sar or flash")));
        }
    };
    let flip = pe.adc.flip_encoding.as_ref().is_some_and(|b| *b.get_ref());
    let clipping = pe.adc.allow_clipping.as_ref().is_some_and(|b| *b.get_ref());

    let params_pe = PeParams {
        crossbars: pe_crossbars,
        dac_bits,
        dac_latency: r.latency("pe.dac.latency", &pe.dac.latency, &clock)?,
        sample_hold_latency: r.latency("pe.sample_hold.latency", &pe.sample_hold.latency, &clock)?,
        adc: AdcParams {
            kind: adc_kind,
            bits: adc_bits,
            per_crossbar: adc_per_crossbar,
            shared_by: adc_shared_by,
            conversion_time,
        },
        shift_add_latency: r.latency("pe.shift_add.latency", &pe.shift_add.latency, &clock)?,
    };
    let read_latency = r.latency("crossbar.read_latency", &x.read_latency, &clock)?;
    if read_latency == Cycle::ZERO {
        return Err(r.err(x.read_latency.span(), "crossbar.read_latency", "must be at least one cycle"));
    }

    // Tile and chip.
    let t = &raw.tile;
    let b = &t.buffer;
    let kib = r.ranged_num("tile.buffer.kib", &b.kib)?;
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
    // Crossbars are numbered in 32 bits within a tile.
    if u64::from(tile.pes) * u64::from(pe_crossbars) > u64::from(u32::MAX) {
        return Err(r.err(
            t.pes.span(),
            "tile.pes",
            format!("{} PEs of {pe_crossbars} crossbars exceed {} crossbars per tile", tile.pes, u32::MAX),
        ));
    }
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
        flit_bytes: r.ranged_int("noc.flit_bytes", &n.flit_bytes)?,
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
    let digital_ghz = r.ranged_num("digital.clock_ghz", &d.clock_ghz)?;
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
        sram: Bytes((r.ranged_num("digital.sram_kib", &d.sram_kib)? * 1024.0).round() as u64),
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
        by_component: Vec::new(),
        tile: MilliWatt(r.num("tile.leakage_mw", &t.leakage_mw, true)?),
        digital: MilliWatt(r.num("digital.leakage_mw", &d.leakage_mw, true)?),
    };

    let stages_per_layer = match &raw.pipeline {
        Some(p) => r.ranged_int("pipeline.stages_per_layer", &p.stages_per_layer)?,
        None => 1,
    };
    let params = ArchParams {
        stages_per_layer,
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
            spare_rows,
            spare_cols,
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
        node_nm: None,
        calibration: None,
    };

    let mut params = params;
    calibrate(r, raw, &mut params)?;
    // Spare cells enlarge every array: area and read energy (longer bit and word
    // lines) scale with the physical cell count.
    let spare_factor = params.crossbar.physical_cells() as f64 / (f64::from(rows) * f64::from(cols));
    params.area.crossbar.0 *= spare_factor;
    params.energy.0[Action::CrossbarRead as usize].0 *= spare_factor;

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

/// The design key whose physical range a `[calibration]` key shares (`None`:
/// the lanes, which are counted in 1..=65536).
fn calibration_design_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "node_nm" => "technology.node_nm",
        "adc_bits" => "pe.adc.bits",
        "dac_bits" => "pe.dac.bits",
        "crossbar_rows" | "rows_per_read" => "crossbar.rows",
        "crossbar_cols" => "crossbar.cols",
        "r_on_ohm" => "crossbar.r_on_ohm",
        "r_off_ohm" => "crossbar.r_off_ohm",
        "read_voltage_v" => "crossbar.read_voltage_v",
        "activation_bits" => "precision.activation_bits",
        "buffer_kib" => "tile.buffer.kib",
        "sram_kib" => "digital.sram_kib",
        "flit_bytes" => "noc.flit_bytes",
        _ => return None,
    })
}

/// Resolves `[technology]` and `[calibration]` and scales every sourced figure
/// from the calibration point to the design (see [`crate::scaling`]).
fn calibrate(r: &mut Resolver<'_>, raw: &RawArch, p: &mut ArchParams) -> Result<(), SourceError> {
    let x = &raw.crossbar;
    let node_nm = match &raw.technology {
        Some(t) => Some(r.ranged_num("technology.node_nm", &t.node_nm)?),
        None => None,
    };
    let design_r = match (&x.r_on_ohm, &x.r_off_ohm) {
        (Some(_), Some(_)) => p.crossbar.r_on_ohm.zip(p.crossbar.r_off_ohm),
        _ => None,
    };
    let read_voltage = match &x.read_voltage_v {
        Some(v) => Some(r.ranged_num("crossbar.read_voltage_v", v)?),
        None => None,
    };
    let pulse_ns = r.time("crossbar.read_latency", &x.read_latency, &p.clock)?.0;
    let empty = RawCalibration::default();
    let c = raw.calibration.as_ref().unwrap_or(&empty);
    // A calibration value must lie in the physically possible range of the
    // design key it stands for (the laws divide by it).
    let possible = |r: &Resolver<'_>, key: &str, span: Range<usize>, x: f64| {
        let hard = match calibration_design_key(key) {
            Some(design) => limits(design).0,
            None => within(1.0, 65536.0),
        };
        match hard.contains(x) {
            true => Ok(()),
            false => Err(r.err(
                span,
                &format!("calibration.{key}"),
                format!("{x} is physically impossible here; accepted range {hard}"),
            )),
        }
    };
    let int = |r: &Resolver<'_>, key: &str, v: &Option<N<i64>>, own: u32| match v {
        Some(v) => {
            possible(r, key, v.span(), v.get_ref().value as f64)?;
            r.int(&format!("calibration.{key}"), v, 1)
        }
        None => Ok(own),
    };
    let num = |r: &Resolver<'_>, key: &str, v: &Option<N<f64>>, own: Option<f64>| match v {
        Some(v) => {
            let x = r.num(&format!("calibration.{key}"), v, false)?;
            if key != "read_pulse_ns" {
                possible(r, key, v.span(), x)?;
            } else if x > 1e9 {
                return Err(r.err(v.span(), "calibration.read_pulse_ns", format!("{x} ns is more than a second")));
            }
            Ok(Some(x))
        }
        None => Ok(own),
    };
    let cal_r = match (num(r, "r_on_ohm", &c.r_on_ohm, None)?, num(r, "r_off_ohm", &c.r_off_ohm, None)?) {
        (Some(on), Some(off)) => Some((on, off)),
        (None, None) => design_r,
        _ => {
            let span = c.r_on_ohm.as_ref().or(c.r_off_ohm.as_ref()).map(|v| v.span()).unwrap_or(0..0);
            return Err(r.err(span, "calibration.r_on_ohm", "give both r_on_ohm and r_off_ohm, or neither"));
        }
    };
    let buffer_kib = p.tile.buffer.capacity.0 as f64 / 1024.0;
    let sram_kib = p.digital.sram.0 as f64 / 1024.0;
    let cal = Calibration {
        node_nm: num(r, "node_nm", &c.node_nm, node_nm)?.unwrap_or(0.0),
        adc_bits: int(r, "adc_bits", &c.adc_bits, p.pe.adc.bits)?,
        dac_bits: int(r, "dac_bits", &c.dac_bits, p.pe.dac_bits)?,
        rows_per_read: int(r, "rows_per_read", &c.rows_per_read, p.crossbar.rows_per_read)?,
        crossbar_rows: int(r, "crossbar_rows", &c.crossbar_rows, p.crossbar.rows)?,
        crossbar_cols: int(r, "crossbar_cols", &c.crossbar_cols, p.crossbar.cols)?,
        r_on_off_ohm: cal_r,
        read_voltage_v: num(r, "read_voltage_v", &c.read_voltage_v, read_voltage)?.unwrap_or(1.0),
        read_pulse_ns: num(r, "read_pulse_ns", &c.read_pulse_ns, Some(pulse_ns))?.unwrap_or(pulse_ns),
        activation_bits: int(r, "activation_bits", &c.activation_bits, p.activation_bits)?,
        adder_lanes: int(r, "adder_lanes", &c.adder_lanes, p.tile.adder.lanes)?,
        alu_lanes: int(r, "alu_lanes", &c.alu_lanes, p.tile.alu.lanes)?,
        buffer_kib: num(r, "buffer_kib", &c.buffer_kib, Some(buffer_kib))?.unwrap_or(buffer_kib),
        sram_kib: num(r, "sram_kib", &c.sram_kib, Some(sram_kib))?.unwrap_or(sram_kib),
        flit_bytes: int(r, "flit_bytes", &c.flit_bytes, p.noc.flit_bytes)?,
    };
    if c.source.is_none() && raw.calibration.is_some() {
        r.warnings.push(ConfigWarning {
            key: "calibration.source".into(),
            message: "the calibration point has no `source`".into(),
        });
    }
    if node_nm.is_some() != (cal.node_nm > 0.0) {
        let span = c.node_nm.as_ref().map(|v| v.span()).unwrap_or(0..0);
        return Err(r.err(span, "calibration.node_nm", "give [technology] node_nm too, or neither"));
    }
    let node = match node_nm {
        Some(to) => NodeScale::between(cal.node_nm, to),
        None => NodeScale { area: 1.0, delay: 1.0, energy: 1.0 },
    };

    let e = &mut p.energy.0;
    let a = &mut p.area;
    let scale = |e: &mut [rramsim_core::PicoJoule; Action::COUNT], act: Action, f: f64| e[act as usize].0 *= f;

    let kind = p.pe.adc.kind;
    let (b, cb) = (p.pe.adc.bits, cal.adc_bits);
    let adc_e = scaling::adc_energy_law(kind, b) / scaling::adc_energy_law(kind, cb);
    scale(e, Action::AdcConversion, adc_e * node.energy);
    a.adc.0 *= scaling::adc_area_law(kind, b) / scaling::adc_area_law(kind, cb) * node.area;
    p.pe.adc.conversion_time.0 *= scaling::adc_time_law(kind, b) / scaling::adc_time_law(kind, cb) * node.delay;

    let dac = scaling::dac_law(p.pe.dac_bits) / scaling::dac_law(cal.dac_bits);
    scale(e, Action::DacConversion, dac * node.energy);
    a.dac.0 *= dac * node.area;

    let sh = scaling::sample_hold_law(b) / scaling::sample_hold_law(cb);
    scale(e, Action::SampleHold, sh * node.energy);
    a.sample_hold.0 *= sh * node.area;

    let acc = f64::from(b + p.activation_bits) / f64::from(cb + cal.activation_bits);
    scale(e, Action::ShiftAdd, acc * node.energy);
    a.shift_add.0 *= acc * node.area;

    let g = |rs: Option<(f64, f64)>| rs.map_or(1.0, |(on, off)| scaling::mean_conductance(on, off));
    let read = scaling::crossbar_read_law(
        p.crossbar.rows_per_read,
        p.crossbar.cols,
        g(design_r),
        read_voltage.unwrap_or(cal.read_voltage_v),
        pulse_ns,
    ) / scaling::crossbar_read_law(
        cal.rows_per_read,
        cal.crossbar_cols,
        g(cal.r_on_off_ohm.filter(|_| design_r.is_some())),
        cal.read_voltage_v,
        cal.read_pulse_ns,
    );
    scale(e, Action::CrossbarRead, read);
    let cells = f64::from(p.crossbar.rows) * f64::from(p.crossbar.cols);
    let cal_cells = f64::from(cal.crossbar_rows) * f64::from(cal.crossbar_cols);
    a.crossbar.0 *= cells / cal_cells * node.area;

    scale(e, Action::InputRegisterByte, node.energy);
    scale(e, Action::OutputRegisterByte, node.energy);
    a.pe_registers.0 *= node.area;

    let width = f64::from(p.activation_bits) / f64::from(cal.activation_bits);
    scale(e, Action::TileAdd, width * node.energy);
    scale(e, Action::AluOp, width * node.energy);
    a.tile_adder.0 *= width * f64::from(p.tile.adder.lanes) / f64::from(cal.adder_lanes) * node.area;
    a.alu.0 *= width * f64::from(p.tile.alu.lanes) / f64::from(cal.alu_lanes) * node.area;

    let buf = scaling::memory_energy_law(buffer_kib) / scaling::memory_energy_law(cal.buffer_kib);
    scale(e, Action::BufferReadByte, buf * node.energy);
    scale(e, Action::BufferWriteByte, buf * node.energy);
    a.buffer.0 *= buffer_kib / cal.buffer_kib * node.area;

    let flit = f64::from(p.noc.flit_bytes) / f64::from(cal.flit_bytes);
    scale(e, Action::NocFlitHop, flit * node.energy);
    a.router.0 *= flit * flit * node.area;

    scale(e, Action::DigitalMac, node.energy);
    let sram = scaling::memory_energy_law(sram_kib) / scaling::memory_energy_law(cal.sram_kib);
    scale(e, Action::DigitalSramByte, sram * node.energy);
    a.digital.0 *= node.area;

    // Static power per instance, scaled as the instance's area (more devices
    // leak more) and by the node as switching energy (leakage current ∝ device
    // width ∝ F at a held supply: an estimate, stated in arch-configs/README.md).
    let pe = &raw.pe;
    let t = &raw.tile;
    let xbars = f64::from(p.pe.crossbars) * f64::from(p.tile.pes);
    let adc_area = scaling::adc_area_law(kind, b) / scaling::adc_area_law(kind, cb);
    let units: [LeakSpec<'_>; 7] = [
        (Component::Dac, "pe.dac.leakage_mw", &pe.dac.leakage_mw, dac, xbars * f64::from(p.crossbar.rows)),
        (
            Component::SampleHold,
            "pe.sample_hold.leakage_mw",
            &pe.sample_hold.leakage_mw,
            sh,
            xbars * f64::from(p.crossbar.cols),
        ),
        (Component::Adc, "pe.adc.leakage_mw", &pe.adc.leakage_mw, adc_area, xbars * p.adcs_per_crossbar()),
        (Component::ShiftAdd, "pe.shift_add.leakage_mw", &pe.shift_add.leakage_mw, acc, f64::from(p.tile.pes)),
        (Component::Buffer, "tile.buffer.leakage_mw", &t.buffer.leakage_mw, buffer_kib / cal.buffer_kib, 1.0),
        (
            Component::TileAdder,
            "tile.adder.leakage_mw",
            &t.adder.leakage_mw,
            width * f64::from(p.tile.adder.lanes) / f64::from(cal.adder_lanes),
            1.0,
        ),
        (
            Component::Alu,
            "tile.alu.leakage_mw",
            &t.alu.leakage_mw,
            width * f64::from(p.tile.alu.lanes) / f64::from(cal.alu_lanes),
            1.0,
        ),
    ];
    for (component, key, value, law, per_tile) in units {
        let Some(v) = value else { continue };
        let mw = MilliWatt(r.num(key, v, true)? * law * node.energy * per_tile);
        p.leakage.tile.0 += mw.0;
        p.leakage.by_component.push((component, mw));
    }

    p.calibration = Some(cal);
    p.node_nm = node_nm;
    Ok(())
}
