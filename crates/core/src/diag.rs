//! Errors located in a text source.

use std::fmt;
use std::ops::Range;

/// 1-based line and column (in characters) of byte offset `offset` in `source`.
/// Offsets past the end point just after the last character.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (line, column)
}

/// An error in a user's input file, with where it is and what was expected.
///
/// Displayed as `file:line:column: message`, then the offending source line
/// with a caret under the column, so editors and humans can jump to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The file's name as the user gave it (or a label such as `<zoo:resnet20>`).
    pub file: String,
    /// 1-based; 0 when the error has no position (e.g. an empty file).
    pub line: usize,
    pub column: usize,
    /// Dotted path of the key at fault, e.g. `layer[3].kernel`, when known.
    pub key: Option<String>,
    pub message: String,
    /// The source line at `line`, for display.
    pub snippet: Option<String>,
}

impl SourceError {
    /// An error at byte span `span` of `source` (the start of the span is reported).
    pub fn at(
        file: &str,
        source: &str,
        span: Option<Range<usize>>,
        key: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column, snippet) = match span {
            Some(span) => {
                let (line, column) = line_col(source, span.start);
                let snippet = source.lines().nth(line - 1).map(str::to_owned);
                (line, column, snippet)
            }
            None => (0, 0, None),
        };
        Self { file: file.to_owned(), line, column, key, message: message.into(), snippet }
    }

    /// An error about the file as a whole (no position).
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        Self::at(file, "", None, None, message)
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        } else {
            write!(f, "{}: ", self.file)?;
        }
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(snippet) = &self.snippet {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            let caret_pad: String = snippet
                .chars()
                .take(self.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n{pad} |\n{gutter} | {snippet}\n{pad} | {caret_pad}^")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let s = "ab\ncd\néf";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 2), (1, 3));
        assert_eq!(line_col(s, 3), (2, 1));
        assert_eq!(line_col(s, 6), (3, 1));
        // 'é' is two bytes: the column counts characters.
        assert_eq!(line_col(s, 8), (3, 2));
        assert_eq!(line_col(s, 100), (3, 3));
    }

    #[test]
    fn display_points_at_the_column() {
        let src = "a = 1\nkernel = -3\n";
        let e =
            SourceError::at("w.toml", src, Some(15..17), Some("layer[0].kernel".into()), "expected a positive integer");
        let text = e.to_string();
        assert!(text.starts_with("w.toml:2:10: key `layer[0].kernel`: expected a positive integer"), "{text}");
        assert!(text.contains("2 | kernel = -3\n  |          ^"), "{text}");
    }
}
