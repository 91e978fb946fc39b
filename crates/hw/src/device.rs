//! The `[device]` section of an architecture file: non-ideal RRAM cell
//! behaviour for functional inference (`rramsim-func`). Every key is optional;
//! an absent section is an ideal device.
//!
//! ```toml
//! [device]
//! program_sigma = 0.05          # or one value per level: [0.0, 0.08, 0.06, 0.04]
//! read_sigma = 0.01
//! drift_nu = 0.05
//! drift_t0_s = 1.0
//! wire_ohm = 1.0
//! ```

use std::ops::Range;

use rramsim_core::SourceError;
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// `program_sigma`: one value for every level, or one per level.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawSigma {
    One(f64),
    PerLevel(Vec<f64>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDevice {
    program_sigma: Option<Spanned<RawSigma>>,
    read_sigma: Option<Spanned<f64>>,
    drift_nu: Option<Spanned<f64>>,
    drift_t0_s: Option<Spanned<f64>>,
    wire_ohm: Option<Spanned<f64>>,
}

/// Resolved device non-idealities (all zero: an ideal device).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceParams {
    /// Relative standard deviation of a programmed conductance, drawn once per
    /// cell: one value for every level, or one per level (`2^bits_per_cell`).
    pub program_sigma: Vec<f64>,
    /// Relative standard deviation of a cell's read current, drawn per read.
    pub read_sigma: f64,
    /// Drift exponent ν of G(t) = G(t0)·(t/t0)^−ν, in [0, 1).
    pub drift_nu: f64,
    /// Time of the programmed (reference) conductance, seconds.
    pub drift_t0_s: f64,
    /// Wire resistance per cell segment of a row or column, ohms.
    pub wire_ohm: f64,
}

impl Default for DeviceParams {
    fn default() -> Self {
        DeviceParams { program_sigma: vec![0.0], read_sigma: 0.0, drift_nu: 0.0, drift_t0_s: 1.0, wire_ohm: 0.0 }
    }
}

impl DeviceParams {
    /// The programming σ of a cell at `level`.
    pub fn program_sigma_at(&self, level: usize) -> f64 {
        match self.program_sigma.as_slice() {
            [one] => *one,
            per => per.get(level).copied().unwrap_or(0.0),
        }
    }

    /// G(t)/G(t0) for `t` seconds after programming; times before `t0` read the
    /// programmed conductance (as aihwkit's `max(t, t0)`).
    pub fn drift_factor(&self, t: f64) -> f64 {
        (t.max(self.drift_t0_s) / self.drift_t0_s).powf(-self.drift_nu)
    }
}

/// Checks the raw section; `levels` is `2^bits_per_cell`.
pub(crate) fn resolve_device(
    file: &str,
    source: &str,
    raw: Option<&RawDevice>,
    levels: usize,
    has_r_on: bool,
) -> Result<DeviceParams, SourceError> {
    let mut d = DeviceParams::default();
    let Some(raw) = raw else { return Ok(d) };
    let err = |span: Range<usize>, key: &str, msg: String| {
        SourceError::at(file, source, Some(span), Some(format!("device.{key}")), msg)
    };
    let range = |v: &Spanned<f64>, key: &str, lo: f64, hi: Option<f64>, open_hi: bool| {
        let x = *v.get_ref();
        let ok = x.is_finite() && x >= lo && hi.is_none_or(|h| if open_hi { x < h } else { x <= h });
        if ok {
            Ok(x)
        } else {
            let want = match hi {
                Some(h) => format!("in [{lo}, {h})"),
                None => format!("a finite number ≥ {lo}"),
            };
            Err(err(v.span(), key, format!("must be {want}, got {x}")))
        }
    };
    if let Some(s) = &raw.program_sigma {
        let values = match s.get_ref() {
            RawSigma::One(x) => vec![*x],
            RawSigma::PerLevel(v) => {
                if v.len() != levels {
                    return Err(err(
                        s.span(),
                        "program_sigma",
                        format!("needs one value per level ({levels} for these cells), got {}", v.len()),
                    ));
                }
                v.clone()
            }
        };
        if let Some(bad) = values.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
            return Err(err(s.span(), "program_sigma", format!("must be finite numbers ≥ 0, got {bad}")));
        }
        d.program_sigma = values;
    }
    if let Some(v) = &raw.read_sigma {
        d.read_sigma = range(v, "read_sigma", 0.0, None, false)?;
    }
    if let Some(v) = &raw.drift_nu {
        d.drift_nu = range(v, "drift_nu", 0.0, Some(1.0), true)?;
    }
    if let Some(v) = &raw.drift_t0_s {
        let x = range(v, "drift_t0_s", 0.0, None, false)?;
        if x == 0.0 {
            return Err(err(v.span(), "drift_t0_s", "must be a finite number > 0, got 0".into()));
        }
        d.drift_t0_s = x;
    }
    if let Some(v) = &raw.wire_ohm {
        d.wire_ohm = range(v, "wire_ohm", 0.0, None, false)?;
        if d.wire_ohm > 0.0 && !has_r_on {
            let msg = "needs crossbar.r_on_ohm (IR drop depends on the cells' absolute conductance)".to_owned();
            return Err(err(v.span(), "wire_ohm", msg));
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, levels: usize) -> Result<DeviceParams, SourceError> {
        #[derive(Deserialize)]
        struct Doc {
            device: RawDevice,
        }
        let doc: Doc = toml::from_str(text).unwrap();
        resolve_device("a.toml", text, Some(&doc.device), levels, true)
    }

    #[test]
    fn values_and_ranges() {
        let d = parse("[device]\nprogram_sigma = [0.0, 0.1, 0.2, 0.3]\ndrift_nu = 0.1\nwire_ohm = 2.5\n", 4).unwrap();
        assert_eq!(d.program_sigma_at(2), 0.2);
        assert_eq!(d.wire_ohm, 2.5);
        assert!((d.drift_factor(10.0) - 10f64.powf(-0.1)).abs() < 1e-12);
        assert_eq!(d.drift_factor(0.5), 1.0);
        for (text, key) in [
            ("[device]\nprogram_sigma = -0.1\n", "device.program_sigma"),
            ("[device]\nprogram_sigma = [0.1, 0.2]\n", "device.program_sigma"),
            ("[device]\nread_sigma = -1.0\n", "device.read_sigma"),
            ("[device]\ndrift_nu = 1.0\n", "device.drift_nu"),
            ("[device]\ndrift_nu = -0.1\n", "device.drift_nu"),
            ("[device]\ndrift_t0_s = 0.0\n", "device.drift_t0_s"),
            ("[device]\nwire_ohm = -2.0\n", "device.wire_ohm"),
        ] {
            let e = parse(text, 4).unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
        assert!(parse("[device]\ndrift_nu = 1.5\n", 4).unwrap_err().to_string().contains("[0, 1)"));
    }
}
