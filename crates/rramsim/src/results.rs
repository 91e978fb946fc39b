//! Sweep result tables: one row per point, written and read as CSV, JSON or
//! Parquet (chosen by the file extension). Columns: `index`, one per axis,
//! `status` (`ok` or `invalid`), `error`, then the metrics (empty when a point is
//! invalid or a metric does not apply). Schema version 1. Each file records the
//! identity of the spec that produced it (see `Spec::identity`): a CSV comment
//! line, a JSON `spec` field, the Parquet key `rramsim.spec`.
//!
//! While a sweep runs, every finished point is appended to a [`Journal`] beside
//! the results file (JSON lines, flushed and synced per row), so a killed sweep
//! resumes with all its finished points.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::write_atomic;

pub const SCHEMA_VERSION: u32 = 1;

/// Metric columns, in order.
pub const METRICS: [&str; 18] = [
    "peak_tops",
    "peak_power_w",
    "chip_area_mm2",
    "peak_tops_per_w",
    "peak_tops_per_w_full_rate",
    "peak_tops_per_mm2",
    "total_cycles",
    "latency_ns",
    "throughput_images_per_s",
    "energy_pj",
    "steady_state_energy_per_image_pj",
    "tops_per_w",
    "crossbars",
    "tiles",
    "chips",
    "digital_utilization",
    "seed",
    "weights_changed_fraction",
];

/// An axis value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Num(f64),
    Text(String),
}

/// Whole numbers serialize as integers (`64`, not `64.0`).
impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Value::Num(x) if x.fract() == 0.0 && x.abs() < 9e15 => s.serialize_i64(*x as i64),
            Value::Num(x) => s.serialize_f64(*x),
            Value::Text(t) => s.serialize_str(t),
        }
    }
}

impl Value {
    pub fn num(&self) -> f64 {
        match self {
            Value::Num(x) => *x,
            Value::Text(s) => s.parse().unwrap_or(f64::NAN),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Value::Num(x) => x.to_string(),
            Value::Text(s) => s.clone(),
        }
    }

    fn parse(s: &str) -> Value {
        match s.parse::<f64>() {
            Ok(x) => Value::Num(x),
            Err(_) => Value::Text(s.to_owned()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub index: u64,
    pub point: BTreeMap<String, Value>,
    pub status: String,
    pub error: String,
    pub metrics: BTreeMap<String, f64>,
}

impl Row {
    pub fn new(index: u64, point: BTreeMap<String, Value>) -> Self {
        Row { index, point, status: "ok".into(), error: String::new(), metrics: BTreeMap::new() }
    }
}

#[derive(Serialize, Deserialize)]
struct JsonFile {
    schema_version: u32,
    /// The identity of the spec that produced the rows.
    #[serde(default)]
    spec: Option<String>,
    /// The axis columns, in spec order.
    #[serde(default)]
    axes: Vec<String>,
    rows: Vec<Row>,
}

/// A results file: the spec's identity, the axis columns in spec order, and
/// one row per point.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Results {
    /// `None` for a file written before identities were recorded.
    pub spec: Option<String>,
    pub axes: Vec<String>,
    pub rows: Vec<Row>,
}

/// Fails unless `path` has a results extension (checked before a sweep runs).
pub fn check_results_path(path: &Path) -> Result<()> {
    kind(path).map(drop)
}

/// Refuses results of another spec than `identity`; `what` names the file.
pub fn check_identity(what: &Path, found: Option<&str>, identity: &str) -> Result<()> {
    match found {
        Some(id) if id == identity => Ok(()),
        Some(id) => Err(Error::input(format!(
            "{}: these results belong to another sweep spec (identity {id}, this spec is {identity}); \
             write to a new file, or delete it to start over",
            what.display()
        ))),
        None => Err(Error::input(format!(
            "{}: these results record no spec identity (an older rramsim wrote them), so they cannot be \
             resumed safely; write to a new file",
            what.display()
        ))),
    }
}

/// The durable record of a running sweep: `<results>.journal`, a JSON line
/// naming the spec's identity, then one JSON line per finished point, each
/// flushed and synced to disk before the next. Removed once the results file
/// is written.
#[derive(Debug)]
pub struct Journal {
    path: std::path::PathBuf,
    file: std::sync::Mutex<std::fs::File>,
}

#[derive(Serialize, Deserialize)]
struct JournalHeader {
    rramsim_sweep_journal: u32,
    spec: String,
}

impl Journal {
    /// The journal of the results file `results`.
    pub fn path_of(results: &Path) -> std::path::PathBuf {
        let mut p = results.as_os_str().to_owned();
        p.push(".journal");
        p.into()
    }

    /// Opens (or creates) the journal of `results` for the spec `identity`,
    /// returning the rows it already holds. A journal of another spec is
    /// refused; a last line cut short by a kill is dropped.
    pub fn open(results: &Path, identity: &str) -> Result<(Journal, Vec<Row>)> {
        use std::io::Write;
        let path = Self::path_of(results);
        let name = path.display().to_string();
        let io = |e: std::io::Error| Error::input(format!("{name}: {e}"));
        let mut rows = Vec::new();
        if path.exists() {
            let text = crate::io::read_text(&path)?;
            let mut lines = text.split_inclusive('\n');
            let header: JournalHeader = lines
                .next()
                .and_then(|l| serde_json::from_str(l).ok())
                .ok_or_else(|| Error::input(format!("{name}: not a sweep journal (delete it to start over)")))?;
            check_identity(&path, Some(&header.spec), identity)?;
            for (n, line) in lines.enumerate() {
                match serde_json::from_str::<Row>(line) {
                    Ok(row) => rows.push(row),
                    // Only the last line can be cut short by a kill.
                    Err(_) if !line.ends_with('\n') => break,
                    Err(e) => return Err(Error::input(format!("{name}: line {}: {e}", n + 2))),
                }
            }
            // Rewrite without a cut-short line, so appends start on a fresh line.
            let mut body = serde_json::to_string(&header).map_err(Error::internal)? + "\n";
            for r in &rows {
                body += &(serde_json::to_string(r).map_err(Error::internal)? + "\n");
            }
            crate::io::write_atomic(&path, body.as_bytes())?;
        } else {
            let header = JournalHeader { rramsim_sweep_journal: 1, spec: identity.to_owned() };
            let mut f = std::fs::File::create(&path).map_err(io)?;
            writeln!(f, "{}", serde_json::to_string(&header).map_err(Error::internal)?).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        let file = std::fs::OpenOptions::new().append(true).open(&path).map_err(io)?;
        Ok((Journal { path, file: std::sync::Mutex::new(file) }, rows))
    }

    /// Appends one finished point and syncs it to disk.
    pub fn append(&self, row: &Row) -> Result<()> {
        use std::io::Write;
        let line = serde_json::to_string(row).map_err(Error::internal)? + "\n";
        let io = |e: std::io::Error| Error::input(format!("{}: {e}", self.path.display()));
        let mut f = self.file.lock().map_err(|_| Error::internal("journal lock poisoned"))?;
        f.write_all(line.as_bytes()).map_err(io)?;
        f.sync_data().map_err(io)
    }

    /// Removes the journal (after the results file holds every row).
    pub fn remove(self) -> Result<()> {
        std::fs::remove_file(&self.path).map_err(|e| Error::input(format!("{}: {e}", self.path.display())))
    }
}

enum Kind {
    Csv,
    Json,
    Parquet,
}

fn kind(path: &Path) -> Result<Kind> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("csv") => Ok(Kind::Csv),
        Some("json") => Ok(Kind::Json),
        Some("parquet") => Ok(Kind::Parquet),
        _ => Err(Error::input(format!("{}: results go to a .parquet, .csv or .json file", path.display()))),
    }
}

/// Quotes a CSV field when it holds a comma, quote or newline (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// Splits one CSV line, honouring RFC 4180 quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Writes a results file (atomically: complete or untouched).
pub fn write_rows(path: &Path, results: &Results) -> Result<()> {
    let Results { spec, axes, rows } = results;
    let bytes = match kind(path)? {
        Kind::Json => {
            let f =
                JsonFile { schema_version: SCHEMA_VERSION, spec: spec.clone(), axes: axes.clone(), rows: rows.clone() };
            serde_json::to_vec_pretty(&f).map_err(Error::internal)?
        }
        Kind::Csv => {
            let mut out = format!("# rramsim sweep results, schema {SCHEMA_VERSION}");
            if let Some(id) = spec {
                out.push_str(&format!(", spec {id}"));
            }
            out.push_str("\nindex");
            for a in axes {
                out.push(',');
                out.push_str(&csv_field(a));
            }
            out.push_str(",status,error");
            for m in METRICS {
                out.push(',');
                out.push_str(m);
            }
            out.push('\n');
            for r in rows {
                out.push_str(&r.index.to_string());
                for a in axes {
                    out.push(',');
                    out.push_str(&r.point.get(a).map(|v| csv_field(&v.text())).unwrap_or_default());
                }
                out.push(',');
                out.push_str(&r.status);
                out.push(',');
                out.push_str(&csv_field(&r.error));
                for m in METRICS {
                    out.push(',');
                    if let Some(v) = r.metrics.get(m) {
                        out.push_str(&v.to_string());
                    }
                }
                out.push('\n');
            }
            out.into_bytes()
        }
        Kind::Parquet => parquet_bytes(spec.as_deref(), axes, rows)?,
    };
    write_atomic(path, &bytes)
}

/// Reads a results file written by [`write_rows`].
pub fn read_rows(path: &Path) -> Result<Results> {
    let name = path.display().to_string();
    let bad = |m: String| Error::input(format!("{name}: {m}"));
    match kind(path)? {
        Kind::Json => {
            let text = crate::io::read_text(path)?;
            let f: JsonFile = serde_json::from_str(&text).map_err(|e| bad(format!("not a sweep result file: {e}")))?;
            if f.schema_version != SCHEMA_VERSION {
                return Err(bad(format!("schema version {} is not {SCHEMA_VERSION}", f.schema_version)));
            }
            let axes = if f.axes.is_empty() {
                f.rows.first().map(|r| r.point.keys().cloned().collect()).unwrap_or_default()
            } else {
                f.axes
            };
            Ok(Results { spec: f.spec, axes, rows: f.rows })
        }
        Kind::Csv => {
            let text = crate::io::read_text(path)?;
            let spec = text
                .lines()
                .take_while(|l| l.starts_with('#'))
                .find_map(|l| l.split(", spec ").nth(1).map(|id| id.trim().to_owned()));
            let mut lines = text.lines().filter(|l| !l.starts_with('#'));
            let header = split_csv(lines.next().ok_or_else(|| bad("empty file".into()))?);
            let status_at =
                header.iter().position(|h| h == "status").ok_or_else(|| bad("no `status` column".into()))?;
            if header.first().map(String::as_str) != Some("index")
                || header.get(status_at + 1).map(String::as_str) != Some("error")
            {
                return Err(bad("not a sweep result file (expected index, axes, status, error, metrics)".into()));
            }
            let mut rows = Vec::new();
            for (n, line) in lines.enumerate() {
                let f = split_csv(line);
                if f.len() != header.len() {
                    return Err(bad(format!("row {}: {} fields, expected {}", n + 1, f.len(), header.len())));
                }
                let index = f[0].parse().map_err(|_| bad(format!("row {}: bad index `{}`", n + 1, f[0])))?;
                // An empty cell is an axis the point does not set.
                let point = (1..status_at)
                    .filter(|&i| !f[i].is_empty())
                    .map(|i| (header[i].clone(), Value::parse(&f[i])))
                    .collect();
                let mut metrics = BTreeMap::new();
                for i in status_at + 2..header.len() {
                    if !f[i].is_empty() {
                        let v =
                            f[i].parse().map_err(|_| bad(format!("row {}: `{}` is not a number", n + 1, header[i])))?;
                        metrics.insert(header[i].clone(), v);
                    }
                }
                rows.push(Row { index, point, status: f[status_at].clone(), error: f[status_at + 1].clone(), metrics });
            }
            Ok(Results { spec, axes: header[1..status_at].to_vec(), rows })
        }
        Kind::Parquet => read_parquet(path).map_err(bad),
    }
}

#[cfg(feature = "parquet")]
fn parquet_bytes(spec: Option<&str>, axes: &[String], rows: &[Row]) -> Result<Vec<u8>> {
    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;

    let numeric = |a: &String| rows.iter().all(|r| matches!(r.point.get(a), Some(Value::Num(_))));
    let mut fields = vec![Field::new("index", DataType::UInt64, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.index)))];
    for a in axes {
        if numeric(a) {
            fields.push(Field::new(a, DataType::Float64, true));
            columns.push(Arc::new(rows.iter().map(|r| r.point.get(a).map(Value::num)).collect::<Float64Array>()));
        } else {
            fields.push(Field::new(a, DataType::Utf8, true));
            columns.push(Arc::new(rows.iter().map(|r| r.point.get(a).map(Value::text)).collect::<StringArray>()));
        }
    }
    fields.push(Field::new("status", DataType::Utf8, false));
    columns.push(Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.status.as_str()))));
    fields.push(Field::new("error", DataType::Utf8, false));
    columns.push(Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.error.as_str()))));
    for m in METRICS {
        fields.push(Field::new(m, DataType::Float64, true));
        columns.push(Arc::new(rows.iter().map(|r| r.metrics.get(m).copied()).collect::<Float64Array>()));
    }
    let mut metadata =
        std::collections::HashMap::from([("rramsim.schema_version".to_owned(), SCHEMA_VERSION.to_string())]);
    if let Some(id) = spec {
        metadata.insert("rramsim.spec".to_owned(), id.to_owned());
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(Error::internal)?;
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, schema, None).map_err(Error::internal)?;
    writer.write(&batch).map_err(Error::internal)?;
    writer.close().map_err(Error::internal)?;
    Ok(out)
}

#[cfg(feature = "parquet")]
fn read_parquet(path: &Path) -> std::result::Result<Results, String> {
    use arrow_array::{Array, Float64Array, StringArray, UInt64Array};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| format!("not a Parquet file: {e}"))?;
    let schema = builder.schema().clone();
    match schema.metadata().get("rramsim.schema_version") {
        Some(v) if *v == SCHEMA_VERSION.to_string() => {}
        Some(v) => return Err(format!("schema version {v} is not {SCHEMA_VERSION}")),
        None => return Err("not a sweep result file (no rramsim.schema_version)".into()),
    }
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let status_at = names.iter().position(|n| n == "status").ok_or("no `status` column")?;
    let spec = schema.metadata().get("rramsim.spec").cloned();
    let reader = builder.build().map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let col = |i: usize| batch.column(i).clone();
        let index = col(0);
        let index = index.as_any().downcast_ref::<UInt64Array>().ok_or("`index` is not UInt64")?;
        for r in 0..batch.num_rows() {
            let mut point = BTreeMap::new();
            for (i, name) in names.iter().enumerate().take(status_at).skip(1) {
                let c = col(i);
                let v = if let Some(f) = c.as_any().downcast_ref::<Float64Array>() {
                    (!f.is_null(r)).then(|| Value::Num(f.value(r)))
                } else if let Some(s) = c.as_any().downcast_ref::<StringArray>() {
                    (!s.is_null(r)).then(|| Value::Text(s.value(r).to_owned()))
                } else {
                    return Err(format!("axis column `{name}` has an unsupported type"));
                };
                if let Some(v) = v {
                    point.insert(name.clone(), v);
                }
            }
            let text = |i: usize| -> std::result::Result<String, String> {
                let c = col(i);
                let s = c.as_any().downcast_ref::<StringArray>().ok_or(format!("`{}` is not text", names[i]))?;
                Ok(s.value(r).to_owned())
            };
            let mut metrics = BTreeMap::new();
            for (i, name) in names.iter().enumerate().skip(status_at + 2) {
                let c = col(i);
                let f = c.as_any().downcast_ref::<Float64Array>().ok_or(format!("`{name}` is not Float64"))?;
                if !f.is_null(r) {
                    metrics.insert(name.clone(), f.value(r));
                }
            }
            rows.push(Row {
                index: index.value(r),
                point,
                status: text(status_at)?,
                error: text(status_at + 1)?,
                metrics,
            });
        }
    }
    Ok(Results { spec, axes: names[1..status_at].to_vec(), rows })
}

#[cfg(not(feature = "parquet"))]
fn parquet_bytes(_: Option<&str>, _: &[String], _: &[Row]) -> Result<Vec<u8>> {
    Err(Error::input("this rramsim was built without the `parquet` feature; write .csv or .json"))
}

#[cfg(not(feature = "parquet"))]
fn read_parquet(_: &Path) -> std::result::Result<Results, String> {
    Err("this rramsim was built without the `parquet` feature".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_split_with_quotes() {
        assert_eq!(split_csv(r#"1,"a,b",,"say ""hi""""#), vec!["1", "a,b", "", r#"say "hi""#]);
    }
}
