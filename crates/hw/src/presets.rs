//! The architecture presets, compiled in so that `isaac` works from any
//! directory and from the Python package. Each is a TOML file under
//! `arch-configs/` with a source for every number.

/// `(name, TOML text)` of every preset, in the order they are listed to users.
pub const PRESETS: [(&str, &str); 3] = [
    ("isaac", include_str!("../../../arch-configs/isaac.toml")),
    ("neurosim-8b", include_str!("../../../arch-configs/neurosim-8b.toml")),
    ("puma", include_str!("../../../arch-configs/puma.toml")),
];

/// The TOML text of preset `name`.
pub fn preset(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// The preset names, in order.
pub fn preset_names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).collect()
}
