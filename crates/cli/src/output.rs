//! Output helpers: atomic file writes and aligned text tables.

use std::path::Path;

use crate::error::{CliError, CliResult};

/// Output formats shared by the reporting commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON document for scripts.
    Json,
    /// Comma-separated rows with a header.
    Csv,
}

/// Writes `bytes` to `path` atomically (complete or untouched).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> CliResult<()> {
    Ok(rramsim::io::write_atomic(path, bytes)?)
}

/// Progress on stderr: a bar (`{bar} pos/len <what>, rate, eta`) on a
/// terminal; otherwise (a log file, CI) a line `progress: <what> pos/len (p%)`
/// at every tenth of the work, so long runs show they are alive.
#[derive(Debug)]
pub struct Progress {
    bar: indicatif::ProgressBar,
    lines: Option<std::sync::Mutex<ProgressLines>>,
}

/// The state of non-terminal progress lines.
#[derive(Debug)]
struct ProgressLines {
    what: String,
    len: u64,
    /// The last tenth printed.
    printed: Option<u64>,
}

impl ProgressLines {
    /// The line to print at position `pos`, if it reaches a new tenth.
    fn line(&mut self, pos: u64) -> Option<String> {
        if self.len == 0 {
            return None;
        }
        let tenth = pos.min(self.len).saturating_mul(10) / self.len;
        if self.printed.is_some_and(|t| t >= tenth) {
            return None;
        }
        self.printed = Some(tenth);
        Some(format!("progress: {} {pos}/{} ({}%)", self.what, self.len, tenth * 10))
    }
}

impl Progress {
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        self.report(self.bar.position());
    }

    #[cfg(feature = "train")]
    pub fn set_length(&self, len: u64) {
        self.bar.set_length(len);
        if let Some(lines) = &self.lines
            && let Ok(mut l) = lines.lock()
        {
            l.len = len;
        }
    }

    pub fn set_position(&self, pos: u64) {
        self.bar.set_position(pos);
        self.report(pos);
    }

    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }

    fn report(&self, pos: u64) {
        if let Some(lines) = &self.lines
            && let Ok(mut l) = lines.lock()
            && let Some(line) = l.line(pos)
        {
            eprintln!("{line}");
        }
    }
}

/// Progress of `len` units of `what` on stderr (see [`Progress`]).
pub fn progress_bar(len: u64, what: &str) -> CliResult<Progress> {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let target =
        if terminal { indicatif::ProgressDrawTarget::stderr() } else { indicatif::ProgressDrawTarget::hidden() };
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), target);
    let template = format!("{{bar:40}} {{pos}}/{{len}} {what}, {{per_sec}}, eta {{eta}}");
    bar.set_style(indicatif::ProgressStyle::with_template(&template).map_err(CliError::internal)?);
    let lines = (!terminal).then(|| std::sync::Mutex::new(ProgressLines { what: what.to_owned(), len, printed: None }));
    Ok(Progress { bar, lines })
}

pub use rramsim::io::write_atomic_with;

/// Quotes a CSV field when it holds a comma, quote or newline (RFC 4180).
pub use rramsim::results::csv_field;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A plain-text table: a header, rows, and optional footer rows below a rule.
#[derive(Debug)]
pub struct Table {
    header: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
    footer: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[(&str, Align)]) -> Self {
        Self {
            header: header.iter().map(|(h, a)| ((*h).to_owned(), *a)).collect(),
            rows: Vec::new(),
            footer: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    pub fn footer(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.footer.push(cells);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|(h, _)| h.chars().count()).collect();
        for row in self.rows.iter().chain(&self.footer) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| -> String {
            let parts: Vec<String> = cells
                .iter()
                .zip(&widths)
                .zip(&self.header)
                .map(|((c, &w), (_, align))| match align {
                    Align::Left => format!("{c:<w$}"),
                    Align::Right => format!("{c:>w$}"),
                })
                .collect();
            parts.join("  ").trim_end().to_owned()
        };
        let header: Vec<String> = self.header.iter().map(|(h, _)| h.clone()).collect();
        let rule = "-".repeat(widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1));
        let mut out = String::new();
        out.push_str(&line(&header));
        out.push('\n');
        out.push_str(&rule);
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        if !self.footer.is_empty() {
            out.push_str(&rule);
            out.push('\n');
            for row in &self.footer {
                out.push_str(&line(row));
                out.push('\n');
            }
        }
        out
    }
}

/// `12345678` → `12,345,678`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_come_at_every_tenth() {
        let mut l = ProgressLines { what: "steps".into(), len: 20, printed: None };
        let lines: Vec<String> = (0..=20).filter_map(|p| l.line(p)).collect();
        assert_eq!(lines.len(), 11);
        assert_eq!(lines[0], "progress: steps 0/20 (0%)");
        assert_eq!(lines[1], "progress: steps 2/20 (10%)");
        assert_eq!(lines[10], "progress: steps 20/20 (100%)");
        // Repeated positions print nothing new.
        assert_eq!(l.line(20), None);
        let mut empty = ProgressLines { what: "x".into(), len: 0, printed: None };
        assert_eq!(empty.line(0), None);
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(40_813_184), "40,813,184");
    }

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(&[("name", Align::Left), ("n", Align::Right)]);
        t.row(vec!["a".into(), "10".into()]);
        t.footer(vec!["total".into(), "1000".into()]);
        assert_eq!(t.render(), "name      n\n-----------\na        10\n-----------\ntotal  1000\n");
    }

    #[test]
    fn write_atomic_refuses_missing_directory() {
        let err = write_atomic(Path::new("/nonexistent-dir-rramsim/x.toml"), b"x").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("does not exist"));
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
