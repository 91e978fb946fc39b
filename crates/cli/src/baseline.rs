//! Baselines for users' own regression tests: `run --save-baseline` locks a
//! run's figures in a JSON file; `run --check-baseline` compares a new run
//! against it and fails (exit 3) with a per-layer diff when a figure moved.

use std::collections::BTreeMap;
use std::path::Path;

use rramsim_engine::SimResult;
use rramsim_graph::Network;
use rramsim_hw::{Action, ArchParams};
use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};
use crate::output::{Align, Table, write_atomic};

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
pub fn baseline_of(
    net: &Network,
    arch: &ArchParams,
    result: &SimResult,
    workload: &str,
    batch: u32,
    offload: &str,
    config_hash: u64,
) -> Baseline {
    Baseline {
        format: FORMAT.to_owned(),
        version: VERSION,
        simulator_version: env!("CARGO_PKG_VERSION").to_owned(),
        config_hash: format!("{config_hash:016x}"),
        arch: arch.name.clone(),
        workload: workload.to_owned(),
        batch,
        offload: offload.to_owned(),
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

pub fn save(path: &Path, b: &Baseline) -> CliResult<()> {
    let text = serde_json::to_string_pretty(b).map_err(CliError::internal)? + "\n";
    write_atomic(path, text.as_bytes())
}

pub fn load(path: &Path) -> CliResult<Baseline> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::input(format!("--check-baseline: cannot read {}: {e}", path.display())))?;
    let b: Baseline = serde_json::from_str(&text).map_err(|e| {
        CliError::input(format!("{}:{}:{}: not a baseline file: {e}", path.display(), e.line(), e.column()))
    })?;
    if b.format != FORMAT {
        return Err(CliError::input(format!("{}: format `{}` is not `{FORMAT}`", path.display(), b.format)));
    }
    if b.version != VERSION {
        return Err(CliError::input(format!(
            "{}: baseline version {} is not readable by this rramsim (reads version {VERSION})",
            path.display(),
            b.version
        )));
    }
    Ok(b)
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

/// Renders the comparison for a terminal.
pub fn report(path: &Path, base: &Baseline, now: &Baseline, tolerance: f64, moved: &[Moved]) -> String {
    let mut out = String::new();
    if base.config_hash != now.config_hash {
        out.push_str(&format!(
            "note: the configuration changed since the baseline (config hash {} -> {})\n",
            base.config_hash, now.config_hash
        ));
    }
    if base.simulator_version != now.simulator_version {
        out.push_str(&format!(
            "note: baseline written by rramsim {}, this is {}\n",
            base.simulator_version, now.simulator_version
        ));
    }
    if moved.is_empty() {
        out.push_str(&format!(
            "baseline {}: ok, every locked figure within tolerance {tolerance} ({} layers)\n",
            path.display(),
            base.layers.len()
        ));
        return out;
    }
    out.push_str(&format!(
        "baseline {}: {} figure(s) moved beyond tolerance {tolerance}:\n",
        path.display(),
        moved.len()
    ));
    let mut t = Table::new(&[
        ("layer", Align::Left),
        ("figure", Align::Left),
        ("baseline", Align::Right),
        ("now", Align::Right),
        ("delta", Align::Right),
        ("delta%", Align::Right),
    ]);
    let show = |v: Option<f64>| match v {
        None => "(absent)".to_owned(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Some(v) => format!("{v:.6}"),
    };
    for m in moved {
        let (delta, pct) = match (m.baseline, m.now) {
            (Some(a), Some(b)) => (
                show(Some(b - a)),
                if a != 0.0 { format!("{:+.3}", 100.0 * (b - a) / a.abs()) } else { "new".to_owned() },
            ),
            _ => (String::new(), String::new()),
        };
        t.row(vec![m.scope.clone(), m.figure.clone(), show(m.baseline), show(m.now), delta, pct]);
    }
    out.push_str(&t.render());
    out
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
        let text = report(Path::new("b.json"), &a, &c, 0.5, &moved);
        assert!(text.contains("3 figure(s) moved") && text.contains("(absent)"), "{text}");
    }
}
