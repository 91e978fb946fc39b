//! Options shared by every entry point (run, study, sweep, eval, infer, the
//! Python package), each validated once, here, so that the same bad value is
//! refused the same way wherever it is given.

use std::path::PathBuf;

use rramsim_fault::{Distribution, FaultMap, FaultModel, GenParams, Geometry, storage};
use rramsim_hw::ArchParams;
use rramsim_map::{Offload, Replication};

use crate::error::{Error, Result};

/// `balanced` or `none`.
pub fn parse_replication(name: &str) -> Result<Replication> {
    match name {
        "balanced" => Ok(Replication::Balanced),
        "none" => Ok(Replication::None),
        other => Err(Error::input(format!("replication: unknown `{other}`; expected balanced or none"))),
    }
}

/// `cell` or `weight-zero`.
pub fn parse_fault_model(name: &str) -> Result<FaultModel> {
    match name {
        "cell" => Ok(FaultModel::Cell),
        "weight-zero" => Ok(FaultModel::WeightZero),
        other => Err(Error::input(format!("fault model: unknown `{other}`; expected cell or weight-zero"))),
    }
}

/// `uniform`, `clustered`, `rows` or `cols`.
pub fn parse_distribution(name: &str) -> Result<Distribution> {
    Distribution::from_name(name).ok_or_else(|| {
        Error::input(format!("distribution: unknown `{name}`; expected uniform, clustered, rows or cols"))
    })
}

/// A batch size: at least one input.
pub fn check_batch(batch: u64) -> Result<u32> {
    match u32::try_from(batch) {
        Ok(b) if b >= 1 => Ok(b),
        _ => Err(Error::input(format!("batch must be between 1 and {}, got {batch}", u32::MAX))),
    }
}

/// A replication budget value (`max_replicas`, `chip_budget`): a whole number
/// of at least 1. `what` names the option or key.
pub fn check_budget(what: &str, value: f64) -> Result<u32> {
    if value.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&value) {
        Ok(value as u32)
    } else {
        Err(Error::input(format!("{what} must be a whole number of at least 1, got {value}")))
    }
}

/// A width multiplier: a positive, finite number.
pub fn check_width(width: f64) -> Result<f64> {
    if width.is_finite() && width > 0.0 {
        Ok(width)
    } else {
        Err(Error::input(format!("width must be a positive number, got {width}")))
    }
}

/// A probability named `what`, in [0, 1].
pub fn check_probability(what: &str, p: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&p) { Ok(p) } else { Err(Error::input(format!("{what} must be in [0, 1], got {p}"))) }
}

/// An offload policy: which layers run on the fault-free digital unit.
#[derive(Debug, Clone, PartialEq)]
pub enum OffloadSpec {
    Fixed(Offload),
    /// Fault-aware: offload the layers with the largest fault-induced weight error
    /// while the digital unit's cycles stay within `budget` × the all-RRAM cycles
    /// per image.
    Auto {
        budget: f64,
    },
}

impl OffloadSpec {
    /// `all-rram`, `pointwise`, `all-digital`, `layers=NAME,NAME,…` (or `+`
    /// between names) or `auto[:F]`.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::input(format!(
                "--offload: unknown policy `{text}`; expected all-rram, pointwise, all-digital, layers=NAME,… or auto[:F]"
            ))
        };
        Ok(match text {
            "all-rram" => OffloadSpec::Fixed(Offload::AllRram),
            "pointwise" => OffloadSpec::Fixed(Offload::Pointwise),
            "all-digital" => OffloadSpec::Fixed(Offload::AllDigital),
            "auto" => OffloadSpec::Auto { budget: 0.5 },
            t if t.starts_with("auto:") => {
                let f: f64 = t[5..].parse().map_err(|_| bad())?;
                if !(f.is_finite() && f > 0.0) {
                    return Err(Error::input(format!("--offload: auto budget must be positive, got {f}")));
                }
                OffloadSpec::Auto { budget: f }
            }
            t if t.starts_with("layers=") => {
                let names: Vec<String> = t[7..]
                    .trim_matches(['[', ']'])
                    .split([',', '+'])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if names.is_empty() {
                    return Err(Error::input("--offload: layers= needs at least one layer name"));
                }
                OffloadSpec::Fixed(Offload::Layers(names))
            }
            _ => return Err(bad()),
        })
    }

    /// A policy that needs no fault map (functional inference and training
    /// choose their layers before any map exists).
    pub fn parse_fixed(text: &str) -> Result<Offload> {
        match Self::parse(text)? {
            OffloadSpec::Fixed(o) => Ok(o),
            OffloadSpec::Auto { .. } => Err(Error::input(
                "--offload auto is not available here: give all-rram, pointwise, all-digital or layers=",
            )),
        }
    }
}

/// Where a run's fault map comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultSource {
    /// A fault map file (`rramsim faults gen` or `faults import`).
    File(PathBuf),
    /// Generated over the chips the all-RRAM mapping uses.
    Generate(GenParams),
}

/// A validated fault specification: where the map comes from and how stuck
/// cells act on weights.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    pub source: FaultSource,
    pub model: FaultModel,
}

impl FaultSpec {
    /// Generated maps: `rate` is the fraction of faulty cells, `sa1_fraction` the
    /// fraction of faults that are SA1; both in [0, 1].
    pub fn generated(
        rate: f64,
        sa1_fraction: f64,
        distribution: Distribution,
        seed: u64,
        model: FaultModel,
    ) -> Result<Self> {
        check_probability("fault rate", rate)?;
        check_probability("SA1 fraction", sa1_fraction)?;
        let params = GenParams { rate, sa1_fraction, distribution, seed };
        Ok(FaultSpec { source: FaultSource::Generate(params), model })
    }

    /// A map read from `path`.
    pub fn file(path: impl Into<PathBuf>, model: FaultModel) -> Self {
        FaultSpec { source: FaultSource::File(path.into()), model }
    }

    /// The generator seed, for generated maps.
    pub fn seed(&self) -> Option<u64> {
        match &self.source {
            FaultSource::Generate(p) => Some(p.seed),
            FaultSource::File(_) => None,
        }
    }

    /// The map: read (and checked against `arch`'s geometry) or generated over
    /// `chips` chips.
    pub fn materialize(&self, arch: &ArchParams, chips: u32) -> Result<FaultMap> {
        let geometry = Geometry::of(arch);
        match &self.source {
            FaultSource::File(path) => {
                let map = read_fault_map(path)?;
                storage::check_geometry(&map, &geometry)
                    .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
                Ok(map)
            }
            FaultSource::Generate(params) => {
                rramsim_fault::generate(geometry, chips.max(1), *params).map_err(Error::from)
            }
        }
    }
}

/// Reads a fault map file.
pub fn read_fault_map(path: &std::path::Path) -> Result<FaultMap> {
    let bytes = crate::io::read_bytes(path)?;
    storage::from_bytes(&bytes).map_err(|e| Error::input(format!("{}: {e}", path.display())))
}

/// How a fault rate is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatePer {
    /// The fraction of faulty cells (as `faults gen` takes it).
    Cell,
    /// The fraction of weights with at least one faulty cell.
    Weight,
}

impl RatePer {
    /// `(cell rate, weight rate)` for `rate` given per `self`, with `cells`
    /// cells per weight: a weight is faulty when any of its cells is,
    /// `w = 1 − (1 − c)^cells`.
    pub fn rates(self, rate: f64, cells: u32) -> Result<(f64, f64)> {
        check_probability("fault rate", rate)?;
        let cells = f64::from(cells.max(1));
        Ok(match self {
            RatePer::Cell => (rate, 1.0 - (1.0 - rate).powf(cells)),
            RatePer::Weight => (1.0 - (1.0 - rate).powf(1.0 / cells), rate),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_are_checked_alike() {
        for bad in [-0.1, 1.1, f64::NAN, f64::INFINITY] {
            assert!(FaultSpec::generated(bad, 0.5, Distribution::Uniform, 1, FaultModel::Cell).is_err(), "{bad}");
            assert!(FaultSpec::generated(0.1, bad, Distribution::Uniform, 1, FaultModel::Cell).is_err(), "{bad}");
            assert!(RatePer::Cell.rates(bad, 8).is_err());
        }
        for ok in [0.0, 0.3, 1.0] {
            assert!(FaultSpec::generated(ok, 0.5, Distribution::Uniform, 1, FaultModel::Cell).is_ok());
        }
    }

    #[test]
    fn weight_and_cell_rates_invert() {
        let (c, w) = RatePer::Weight.rates(0.2, 8).unwrap();
        let (c2, w2) = RatePer::Cell.rates(c, 8).unwrap();
        assert!((w - 0.2).abs() < 1e-12 && (w2 - 0.2).abs() < 1e-12 && (c - c2).abs() < 1e-15);
    }

    #[test]
    fn offload_policies_parse() {
        assert_eq!(OffloadSpec::parse("pointwise").unwrap(), OffloadSpec::Fixed(Offload::Pointwise));
        assert_eq!(
            OffloadSpec::parse("layers=a+b").unwrap(),
            OffloadSpec::Fixed(Offload::Layers(vec!["a".into(), "b".into()]))
        );
        assert_eq!(OffloadSpec::parse("auto:0.25").unwrap(), OffloadSpec::Auto { budget: 0.25 });
        for bad in ["auto:-1", "auto:x", "layers=", "nope"] {
            assert!(OffloadSpec::parse(bad).is_err(), "{bad}");
        }
        assert!(OffloadSpec::parse_fixed("auto").is_err());
    }
}
