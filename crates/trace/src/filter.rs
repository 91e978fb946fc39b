//! Event filters, so a large network's trace stays loadable: by layer name
//! (exact, or with `*` wildcards), by cycle window, and by hierarchy depth.

use rramsim_engine::{Event, Level};

use crate::error::FilterError;

/// Which events to keep. The default keeps everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Per layer index: keep? `None` keeps every layer.
    pub layers: Option<Vec<bool>>,
    /// Keep events overlapping `[from, to)` (an instant at `from` counts).
    pub window: Option<(u64, u64)>,
    /// Deepest level kept.
    pub level: Level,
    /// The spec it was parsed from, for the trace header.
    pub description: String,
}

impl Default for Filter {
    fn default() -> Self {
        Filter { layers: None, window: None, level: Level::Xbar, description: String::new() }
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters.
pub fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

impl Filter {
    /// Builds a filter from its command-line form: layer patterns (each must
    /// match a layer of `names`), a window `A..B` in cycles, a level name.
    pub fn parse(
        layers: &[String],
        window: Option<&str>,
        level: Option<&str>,
        names: &[String],
    ) -> Result<Self, FilterError> {
        let mut desc = Vec::new();
        let layers = if layers.is_empty() {
            None
        } else {
            let mut keep = vec![false; names.len()];
            for pattern in layers.iter().flat_map(|l| l.split(',')).filter(|p| !p.is_empty()) {
                let mut any = false;
                for (i, n) in names.iter().enumerate() {
                    if glob(pattern, n) {
                        keep[i] = true;
                        any = true;
                    }
                }
                if !any {
                    return Err(FilterError::NoLayer {
                        pattern: pattern.to_owned(),
                        near: names.iter().take(8).cloned().collect(),
                        more: names.len() > 8,
                    });
                }
            }
            desc.push(format!("layers={}", layers.join(",")));
            Some(keep)
        };
        let window = match window {
            None => None,
            Some(w) => {
                let bad = || FilterError::Window(w.to_owned());
                let (a, b) = w.split_once("..").ok_or_else(bad)?;
                let from: u64 = if a.is_empty() { 0 } else { a.trim().parse().map_err(|_| bad())? };
                let to: u64 = if b.is_empty() { u64::MAX } else { b.trim().parse().map_err(|_| bad())? };
                if from >= to {
                    return Err(FilterError::EmptyWindow(w.to_owned()));
                }
                desc.push(format!("window={w}"));
                Some((from, to))
            }
        };
        let level = match level {
            None => Level::Xbar,
            Some(l) => {
                desc.push(format!("level={l}"));
                Level::from_name(l).ok_or_else(|| FilterError::Level(l.to_owned()))?
            }
        };
        Ok(Filter { layers, window, level, description: desc.join(" ") })
    }

    #[inline]
    pub fn passes(&self, e: &Event) -> bool {
        if e.kind.level() > self.level {
            return false;
        }
        if let Some(keep) = &self.layers {
            if !keep.get(e.layer as usize).copied().unwrap_or(false) {
                return false;
            }
        }
        if let Some((from, to)) = self.window {
            if !(e.start < to && (e.end > from || e.start == from)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rramsim_engine::{EventKind, Unit};

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob("conv1", "conv1"));
        assert!(!glob("conv1", "conv10"));
        assert!(glob("layer1.*", "layer1.0.conv1"));
        assert!(glob("*conv1", "layer1.0.conv1"));
        assert!(glob("layer*.conv*", "layer2.1.conv2"));
        assert!(!glob("layer*.bn", "layer2.1.conv2"));
        assert!(glob("*", "x"));
    }

    #[test]
    fn filters_by_layer_window_and_level() {
        let names: Vec<String> = ["input", "conv1", "layer1.0.conv1"].iter().map(|s| s.to_string()).collect();
        let f = Filter::parse(&["layer1.*".into()], Some("100..200"), Some("pe"), &names).unwrap();
        let e = |kind, layer, start, end| Event {
            kind,
            unit: Unit::Tile { tile: 0 },
            layer,
            image: 0,
            start,
            end,
            amount: 1,
        };
        assert!(f.passes(&e(EventKind::Item, 2, 150, 160)));
        assert!(f.passes(&e(EventKind::Mvm, 2, 50, 101)), "overlaps the window");
        assert!(!f.passes(&e(EventKind::Item, 2, 50, 100)), "ends as the window opens");
        assert!(!f.passes(&e(EventKind::Item, 2, 200, 210)));
        assert!(!f.passes(&e(EventKind::Item, 1, 150, 160)), "other layer");
        assert!(!f.passes(&e(EventKind::Dac, 2, 150, 160)), "deeper than pe");
        let err = Filter::parse(&["nope".into()], None, None, &names).unwrap_err();
        assert!(matches!(err, FilterError::NoLayer { more: false, .. }), "{err}");
        assert!(err.to_string().contains("matches no layer (layers: input, conv1, layer1.0.conv1)"), "{err}");
        assert_eq!(Filter::parse(&[], Some("5..5"), None, &names), Err(FilterError::EmptyWindow("5..5".into())));
        assert_eq!(Filter::parse(&[], Some("x..5"), None, &names), Err(FilterError::Window("x..5".into())));
        assert_eq!(Filter::parse(&[], None, Some("chip"), &names), Err(FilterError::Level("chip".into())));
        assert_eq!(Filter::parse(&[], Some("..5"), None, &names).unwrap().window, Some((0, 5)));
    }
}
