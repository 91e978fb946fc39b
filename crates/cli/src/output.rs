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

/// A progress bar on stderr: `{bar} pos/len <what>, rate, eta`.
pub fn progress_bar(len: u64, what: &str) -> CliResult<indicatif::ProgressBar> {
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    let template = format!("{{bar:40}} {{pos}}/{{len}} {what}, {{per_sec}}, eta {{eta}}");
    bar.set_style(indicatif::ProgressStyle::with_template(&template).map_err(CliError::internal)?);
    Ok(bar)
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
