//! Sweep result tables: one row per point, written and read as CSV, JSON or
//! Parquet (chosen by the file extension). Columns: `index`, one per axis,
//! `status` (`ok` or `invalid`), `error`, then the metrics (empty when a point is
//! invalid or a metric does not apply). Schema version 1.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::write_atomic;

pub const SCHEMA_VERSION: u32 = 1;

/// Metric columns, in order.
pub const METRICS: [&str; 11] = [
    "total_cycles",
    "latency_ns",
    "throughput_images_per_s",
    "energy_pj",
    "tops_per_w",
    "crossbars",
    "tiles",
    "chips",
    "digital_utilization",
    "seed",
    "weights_changed_fraction",
];

/// An axis value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Num(f64),
    Text(String),
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
    rows: Vec<Row>,
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

pub fn write_rows(path: &Path, axes: &[String], rows: &[Row]) -> Result<()> {
    let bytes = match kind(path)? {
        Kind::Json => {
            let f = JsonFile { schema_version: SCHEMA_VERSION, rows: rows.to_vec() };
            serde_json::to_vec_pretty(&f).map_err(Error::internal)?
        }
        Kind::Csv => {
            let mut out = format!("# rramsim sweep results, schema {SCHEMA_VERSION}\nindex");
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
        Kind::Parquet => parquet_bytes(axes, rows)?,
    };
    write_atomic(path, &bytes)
}

pub fn read_rows(path: &Path) -> Result<Vec<Row>> {
    let name = path.display().to_string();
    let bad = |m: String| Error::input(format!("{name}: {m}"));
    match kind(path)? {
        Kind::Json => {
            let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
            let f: JsonFile = serde_json::from_str(&text).map_err(|e| bad(format!("not a sweep result file: {e}")))?;
            if f.schema_version != SCHEMA_VERSION {
                return Err(bad(format!("schema version {} is not {SCHEMA_VERSION}", f.schema_version)));
            }
            Ok(f.rows)
        }
        Kind::Csv => {
            let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
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
            Ok(rows)
        }
        Kind::Parquet => read_parquet(path).map_err(bad),
    }
}

#[cfg(feature = "parquet")]
fn parquet_bytes(axes: &[String], rows: &[Row]) -> Result<Vec<u8>> {
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
    let metadata = std::collections::HashMap::from([("rramsim.schema_version".to_owned(), SCHEMA_VERSION.to_string())]);
    let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(Error::internal)?;
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, schema, None).map_err(Error::internal)?;
    writer.write(&batch).map_err(Error::internal)?;
    writer.close().map_err(Error::internal)?;
    Ok(out)
}

#[cfg(feature = "parquet")]
fn read_parquet(path: &Path) -> std::result::Result<Vec<Row>, String> {
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
    Ok(rows)
}

#[cfg(not(feature = "parquet"))]
fn parquet_bytes(_: &[String], _: &[Row]) -> Result<Vec<u8>> {
    Err(Error::input("this rramsim was built without the `parquet` feature; write .csv or .json"))
}

#[cfg(not(feature = "parquet"))]
fn read_parquet(_: &Path) -> std::result::Result<Vec<Row>, String> {
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
