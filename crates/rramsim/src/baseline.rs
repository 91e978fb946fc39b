//! Baselines for users' own regression tests: a run's figures (total and
//! per-layer cycles, action counts, energy) locked in a JSON file, and the
//! comparison of a later run against them within a relative tolerance.

use std::collections::BTreeMap;

use rramsim_hw::Action;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::{Outcome, Prepared};

pub const FORMAT: &str = "rramsim-baseline";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineLayer {
    pub name: String,
    pub start: u64,
    pub end: u64,
    pub cycles: u64,
    pub items: u64,
    pub energy_pj: f64,
    /// Non-zero action counts by action name.
    pub actions: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub format: String,
    pub version: u32,
    pub simulator_version: String,
    pub config_hash: String,
    pub arch: String,
    pub workload: String,
    pub batch: u32,
    pub offload: String,
    pub total_cycles: u64,
    pub energy_pj: f64,
    pub actions: BTreeMap<String, u64>,
    pub layers: Vec<BaselineLayer>,
}

fn actions_map(a: &rramsim_hw::ActionCounts) -> BTreeMap<String, u64> {
    Action::ALL.iter().filter(|&&k| a[k] > 0).map(|&k| (k.name().to_owned(), a[k])).collect()
}

/// The lockable figures of a run.
pub fn baseline_of(run: &Prepared, outcome: &Outcome) -> Baseline {
    let (net, arch, result) = (&run.net, &run.arch, &outcome.result);
    Baseline {
        format: FORMAT.to_owned(),
        version: VERSION,
        simulator_version: crate::VERSION.to_owned(),
        config_hash: format!("{:016x}", run.config_hash),
        arch: arch.name.clone(),
        workload: run.workload.clone(),
        batch: run.batch,
        offload: run.offload_name(),
        total_cycles: result.total_cycles.get(),
        energy_pj: result.energy(arch).0,
        actions: actions_map(&result.actions),
        layers: net
            .ids()
            .map(|id| {
                let l = &result.layers[id.0];
                BaselineLayer {
                    name: net.layer(id).name.clone(),
                    start: l.start.get(),
                    end: l.end.get(),
                    cycles: l.span().get(),
                    items: l.items,
                    energy_pj: arch.energy.energy(&l.actions).0,
                    actions: actions_map(&l.actions),
                }
            })
            .collect(),
    }
}

impl Baseline {
    /// The baseline file's text (pretty JSON).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self).map_err(Error::internal)? + "\n")
    }

    /// Parses a baseline file's text; `label` names it in errors.
    pub fn from_json(label: &str, text: &str) -> Result<Baseline> {
        let b: Baseline = serde_json::from_str(text)
            .map_err(|e| Error::input(format!("{label}:{}:{}: not a baseline file: {e}", e.line(), e.column())))?;
        if b.format != FORMAT {
            return Err(Error::input(format!("{label}: format `{}` is not `{FORMAT}`", b.format)));
        }
        if b.version != VERSION {
            return Err(Error::input(format!(
                "{label}: baseline version {} is not readable by this rramsim (reads version {VERSION})",
                b.version
            )));
        }
        // Totals must be finite numbers (a hand-edited or foreign file).
        let bad = std::iter::once(("energy_pj", b.energy_pj))
            .chain(b.layers.iter().map(|l| ("layers[].energy_pj", l.energy_pj)))
            .find(|(_, e)| !(e.is_finite() && *e >= 0.0));
        if let Some((key, e)) = bad {
            return Err(Error::input(format!("{label}: `{key}` is {e}, not a finite non-negative energy")));
        }
        Ok(b)
    }
}

/// A relative tolerance: a non-negative number (0: exact).
pub fn check_tolerance(tolerance: f64) -> Result<f64> {
    if tolerance.is_finite() && tolerance >= 0.0 {
        Ok(tolerance)
    } else {
        Err(Error::input(format!("--tolerance must be a non-negative number, got {tolerance}")))
    }
}

/// A figure that moved beyond the tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    /// `total` or a layer name.
    pub scope: String,
    pub figure: String,
    pub baseline: Option<f64>,
    pub now: Option<f64>,
}

/// Compares every locked figure; `tolerance` is relative (0: exact).
pub fn compare(base: &Baseline, now: &Baseline, tolerance: f64) -> Vec<Moved> {
    let mut moved = Vec::new();
    let mut check = |scope: &str, figure: &str, a: Option<f64>, b: Option<f64>| {
        let ok = match (a, b) {
            (Some(a), Some(b)) => (b - a).abs() <= tolerance * a.abs(),
            (None, None) => true,
            _ => false,
        };
        if !ok {
            moved.push(Moved { scope: scope.to_owned(), figure: figure.to_owned(), baseline: a, now: b });
        }
    };
    // Action counts compare as numbers, absent = 0.
    let actions = |a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>| -> Vec<(String, f64, f64)> {
        a.keys()
            .chain(b.keys().filter(|k| !a.contains_key(*k)))
            .map(|k| (k.clone(), a.get(k).copied().unwrap_or(0) as f64, b.get(k).copied().unwrap_or(0) as f64))
            .collect()
    };
    check("total", "cycles", Some(base.total_cycles as f64), Some(now.total_cycles as f64));
    check("total", "energy_pj", Some(base.energy_pj), Some(now.energy_pj));
    for (k, x, y) in actions(&base.actions, &now.actions) {
        check("total", &k, Some(x), Some(y));
    }
    let by_name: BTreeMap<&str, &BaselineLayer> = now.layers.iter().map(|l| (l.name.as_str(), l)).collect();
    for a in &base.layers {
        match by_name.get(a.name.as_str()) {
            None => check(&a.name, "layer", Some(1.0), None),
            Some(b) => {
                for (f, x, y) in [
                    ("start", a.start, b.start),
                    ("end", a.end, b.end),
                    ("cycles", a.cycles, b.cycles),
                    ("items", a.items, b.items),
                ] {
                    check(&a.name, f, Some(x as f64), Some(y as f64));
                }
                check(&a.name, "energy_pj", Some(a.energy_pj), Some(b.energy_pj));
                for (k, x, y) in actions(&a.actions, &b.actions) {
                    check(&a.name, &k, Some(x), Some(y));
                }
            }
        }
    }
    let names: std::collections::BTreeSet<&str> = base.layers.iter().map(|l| l.name.as_str()).collect();
    for b in now.layers.iter().filter(|l| !names.contains(l.name.as_str())) {
        check(&b.name, "layer", None, Some(1.0));
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Baseline {
        Baseline {
            format: FORMAT.into(),
            version: VERSION,
            simulator_version: "0.1.0".into(),
            config_hash: "00".into(),
            arch: "a".into(),
            workload: "w".into(),
            batch: 1,
            offload: "all-rram".into(),
            total_cycles: 1000,
            energy_pj: 50.0,
            actions: BTreeMap::from([("adc".to_owned(), 10)]),
            layers: vec![BaselineLayer {
                name: "conv1".into(),
                start: 0,
                end: 900,
                cycles: 900,
                items: 64,
                energy_pj: 40.0,
                actions: BTreeMap::from([("adc".to_owned(), 10)]),
            }],
        }
    }

    #[test]
    fn json_round_trips_and_checks_format() {
        let a = base();
        assert_eq!(Baseline::from_json("b.json", &a.to_json().unwrap()).unwrap(), a);
        let mut b = base();
        b.version = 99;
        let e = Baseline::from_json("b.json", &b.to_json().unwrap()).unwrap_err();
        assert!(e.is_input() && e.to_string().contains("version 99"), "{e}");
        assert!(Baseline::from_json("b.json", "{").unwrap_err().to_string().starts_with("b.json:1:"));
    }

    #[test]
    fn exact_and_relative_tolerances() {
        let a = base();
        assert!(compare(&a, &a, 0.0).is_empty());
        let mut b = base();
        b.total_cycles = 1010;
        b.layers[0].end = 910;
        b.layers[0].cycles = 910;
        let moved = compare(&a, &b, 0.0);
        assert_eq!(moved.len(), 3, "{moved:?}");
        assert_eq!((moved[1].scope.as_str(), moved[1].figure.as_str()), ("conv1", "end"));
        assert!(compare(&a, &b, 0.02).is_empty(), "1% moves are within 2%");
        let mut c = base();
        c.layers[0].name = "renamed".into();
        c.actions.insert("dac".into(), 3);
        let moved = compare(&a, &c, 0.5);
        let figures: Vec<_> = moved.iter().map(|m| format!("{}:{}", m.scope, m.figure)).collect();
        assert_eq!(figures, ["total:dac", "conv1:layer", "renamed:layer"]);
    }
}
