//! Flat tables of a trace for pandas and polars: one of events, one of per-layer
//! statistics, as CSV or Parquet (behind the default-on `parquet` feature).
//! Both are written streaming, in batches.
//!
//! Events: `kind, level, unit, tile, layer, layer_name, image, start, end,
//! cycles, amount, amount_unit`. Layers: `layer, name, op, target, start, end,
//! cycles, items, macs, energy_pj`, then `energy_<component>_pj` and
//! `n_<action>` columns. The schema version is [`SCHEMA_VERSION`]: a `#`
//! comment on the first line of a CSV file, key `rramsim.schema_version` in
//! Parquet metadata (with `rramsim.table` = `trace-events` or `trace-layers`).

use std::io::{Read, Write};

#[cfg(feature = "parquet")]
use rramsim_engine::Event;

use crate::error::TraceError;
use crate::filter::Filter;
use crate::format::{Header, LayerStats, Record, TraceReader};

pub const SCHEMA_VERSION: u32 = 1;

/// Rows a conversion wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableStats {
    pub events: u64,
    pub layers: u64,
}

/// The columns of the layer table after the fixed ones.
fn layer_extra_columns(h: &Header) -> Vec<String> {
    h.components.iter().map(|c| format!("energy_{c}_pj")).chain(h.actions.iter().map(|a| format!("n_{a}"))).collect()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// Writes the events as CSV to `events` and the layer statistics to `layers`.
pub fn to_csv<R: Read, W: Write, V: Write>(
    reader: &mut TraceReader<R>,
    filter: &Filter,
    events: &mut W,
    layers: &mut V,
) -> Result<TableStats, TraceError> {
    let io = TraceError::Write;
    let h = reader.header.clone();
    writeln!(events, "# rramsim trace events, schema {SCHEMA_VERSION}").map_err(io)?;
    writeln!(events, "kind,level,unit,tile,layer,layer_name,image,start,end,cycles,amount,amount_unit").map_err(io)?;
    let names: Vec<String> = h.layers.iter().map(|l| csv_field(&l.name)).collect();
    let mut stats = TableStats::default();
    let mut rows: Vec<LayerStats> = Vec::new();
    while let Some(r) = reader.next_record()? {
        match r {
            Record::Event(e) if filter.passes(&e) => {
                writeln!(
                    events,
                    "{},{},{},{},{},{},{},{},{},{},{},{}",
                    e.kind.name(),
                    e.kind.level().name(),
                    e.unit,
                    e.unit.tile().map(|t| t.to_string()).unwrap_or_default(),
                    e.layer,
                    names[e.layer as usize],
                    e.image,
                    e.start,
                    e.end,
                    e.end - e.start,
                    e.amount,
                    e.kind.amount_unit()
                )
                .map_err(io)?;
                stats.events += 1;
            }
            Record::Event(_) => {}
            Record::Layer(l) => rows.push(l),
        }
    }
    writeln!(layers, "# rramsim trace layers, schema {SCHEMA_VERSION}").map_err(io)?;
    let mut head = vec!["layer,name,op,target,start,end,cycles,items,macs,energy_pj".to_owned()];
    head.extend(layer_extra_columns(&h));
    writeln!(layers, "{}", head.join(",")).map_err(io)?;
    for l in &rows {
        let info = &h.layers[l.layer as usize];
        let mut line = format!(
            "{},{},{},{},{},{},{},{},{},{}",
            l.layer,
            csv_field(&info.name),
            info.op,
            info.target,
            l.start,
            l.end,
            l.end - l.start,
            l.items,
            l.macs,
            l.energy_total()
        );
        for v in &l.energy_pj {
            line.push_str(&format!(",{v}"));
        }
        for v in &l.actions {
            line.push_str(&format!(",{v}"));
        }
        writeln!(layers, "{line}").map_err(io)?;
        stats.layers += 1;
    }
    Ok(stats)
}

#[cfg(feature = "parquet")]
mod pq {
    use std::collections::HashMap;
    use std::sync::Arc;

    use arrow_array::builder::{StringBuilder, UInt32Builder, UInt64Builder};
    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
    use arrow_schema::{DataType, Field, Schema, SchemaRef};
    use parquet::arrow::ArrowWriter;

    use super::*;

    const BATCH: usize = 1 << 16;

    fn schema(fields: Vec<Field>, table: &str) -> SchemaRef {
        let metadata = HashMap::from([
            ("rramsim.schema_version".to_owned(), SCHEMA_VERSION.to_string()),
            ("rramsim.table".to_owned(), table.to_owned()),
        ]);
        Arc::new(Schema::new_with_metadata(fields, metadata))
    }

    #[derive(Default)]
    struct EventColumns {
        kind: StringBuilder,
        level: StringBuilder,
        unit: StringBuilder,
        tile: UInt32Builder,
        layer: UInt32Builder,
        layer_name: StringBuilder,
        image: UInt32Builder,
        start: UInt64Builder,
        end: UInt64Builder,
        cycles: UInt64Builder,
        amount: UInt64Builder,
        amount_unit: StringBuilder,
        rows: usize,
    }

    impl EventColumns {
        fn push(&mut self, e: &Event, name: &str) {
            self.kind.append_value(e.kind.name());
            self.level.append_value(e.kind.level().name());
            self.unit.append_value(e.unit.to_string());
            self.tile.append_option(e.unit.tile());
            self.layer.append_value(e.layer);
            self.layer_name.append_value(name);
            self.image.append_value(e.image);
            self.start.append_value(e.start);
            self.end.append_value(e.end);
            self.cycles.append_value(e.end - e.start);
            self.amount.append_value(e.amount);
            self.amount_unit.append_value(e.kind.amount_unit());
            self.rows += 1;
        }

        fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch, TraceError> {
            self.rows = 0;
            let cols: Vec<ArrayRef> = vec![
                Arc::new(self.kind.finish()),
                Arc::new(self.level.finish()),
                Arc::new(self.unit.finish()),
                Arc::new(self.tile.finish()),
                Arc::new(self.layer.finish()),
                Arc::new(self.layer_name.finish()),
                Arc::new(self.image.finish()),
                Arc::new(self.start.finish()),
                Arc::new(self.end.finish()),
                Arc::new(self.cycles.finish()),
                Arc::new(self.amount.finish()),
                Arc::new(self.amount_unit.finish()),
            ];
            RecordBatch::try_new(schema.clone(), cols).map_err(TraceError::Arrow)
        }
    }

    pub fn to_parquet<R: Read, W: Write + Send, V: Write + Send>(
        reader: &mut TraceReader<R>,
        filter: &Filter,
        events: W,
        layers: V,
    ) -> Result<TableStats, TraceError> {
        let err = TraceError::Parquet;
        let h = reader.header.clone();
        let text = |n: &str| Field::new(n, DataType::Utf8, false);
        let u32f = |n: &str| Field::new(n, DataType::UInt32, false);
        let u64f = |n: &str| Field::new(n, DataType::UInt64, false);
        let ev_schema = schema(
            vec![
                text("kind"),
                text("level"),
                text("unit"),
                Field::new("tile", DataType::UInt32, true),
                u32f("layer"),
                text("layer_name"),
                u32f("image"),
                u64f("start"),
                u64f("end"),
                u64f("cycles"),
                u64f("amount"),
                text("amount_unit"),
            ],
            "trace-events",
        );
        let mut writer = ArrowWriter::try_new(events, ev_schema.clone(), None).map_err(err)?;
        let mut cols = EventColumns::default();
        let mut stats = TableStats::default();
        let mut rows: Vec<LayerStats> = Vec::new();
        while let Some(r) = reader.next_record()? {
            match r {
                Record::Event(e) if filter.passes(&e) => {
                    cols.push(&e, &h.layers[e.layer as usize].name);
                    stats.events += 1;
                    if cols.rows == BATCH {
                        writer.write(&cols.finish(&ev_schema)?).map_err(err)?;
                    }
                }
                Record::Event(_) => {}
                Record::Layer(l) => rows.push(l),
            }
        }
        writer.write(&cols.finish(&ev_schema)?).map_err(err)?;
        writer.close().map_err(err)?;

        let mut fields = vec![
            u32f("layer"),
            text("name"),
            text("op"),
            text("target"),
            u64f("start"),
            u64f("end"),
            u64f("cycles"),
            u64f("items"),
            u64f("macs"),
            Field::new("energy_pj", DataType::Float64, false),
        ];
        let extra = layer_extra_columns(&h);
        for (i, c) in extra.iter().enumerate() {
            let dt = if i < h.components.len() { DataType::Float64 } else { DataType::UInt64 };
            fields.push(Field::new(c, dt, false));
        }
        let l_schema = schema(fields, "trace-layers");
        let info = |l: &LayerStats| &h.layers[l.layer as usize];
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from_iter_values(rows.iter().map(|l| l.layer))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|l| info(l).name.as_str()))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|l| info(l).op.as_str()))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|l| info(l).target.as_str()))),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|l| l.start))),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|l| l.end))),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|l| l.end - l.start))),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|l| l.items))),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|l| l.macs))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(LayerStats::energy_total))),
        ];
        for c in 0..h.components.len() {
            columns.push(Arc::new(Float64Array::from_iter_values(rows.iter().map(|l| l.energy_pj[c]))));
        }
        for a in 0..h.actions.len() {
            columns.push(Arc::new(UInt64Array::from_iter_values(rows.iter().map(|l| l.actions[a]))));
        }
        let batch = RecordBatch::try_new(l_schema.clone(), columns).map_err(TraceError::Arrow)?;
        let mut writer = ArrowWriter::try_new(layers, l_schema, None).map_err(err)?;
        writer.write(&batch).map_err(err)?;
        writer.close().map_err(err)?;
        stats.layers = rows.len() as u64;
        Ok(stats)
    }
}

#[cfg(feature = "parquet")]
pub use pq::to_parquet;

/// Without the `parquet` feature: an error that says so.
#[cfg(not(feature = "parquet"))]
pub fn to_parquet<R: Read, W: Write + Send, V: Write + Send>(
    _: &mut TraceReader<R>,
    _: &Filter,
    _: W,
    _: V,
) -> Result<TableStats, TraceError> {
    Err(TraceError::NoParquet)
}
