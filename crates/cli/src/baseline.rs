//! `run --save-baseline` and `run --check-baseline`: baseline files written and
//! read, and the comparison rendered (the figures and the comparison are
//! `rramsim::baseline`).

use std::path::Path;

use rramsim::baseline::{Baseline, Moved};

use crate::error::CliResult;
use crate::output::{Align, Table, write_atomic};

pub fn save(path: &Path, b: &Baseline) -> CliResult<()> {
    write_atomic(path, b.to_json()?.as_bytes())
}

pub fn load(path: &Path) -> CliResult<Baseline> {
    let text = rramsim::io::read_text(path).map_err(|e| e.context("--check-baseline"))?;
    Ok(Baseline::from_json(&path.display().to_string(), &text)?)
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
