//! Shared types of rramsim that every other crate may use.
//!
//! Units as types ([`Cycle`], [`PicoJoule`], [`Nanoseconds`], [`MilliWatt`],
//! [`SquareMm`], [`Bytes`], and the [`Clock`] that converts time to cycles), and
//! [`budget`], the memory budget of allocations sized by input, and
//! [`SourceError`], an error located in a text source (file, line, column,
//! key) that every loader of user input produces, so the CLI prints them all the
//! same way. This crate reads no files and knows no serde format: loaders hand it
//! the source text and a byte span.
//!
//! ```
//! use rramsim_core::SourceError;
//!
//! let src = "[network]\nname = 3\n";
//! let e = SourceError::at("w.toml", src, Some(17..18), None, "expected a string");
//! assert!(e.to_string().starts_with("w.toml:2:8: expected a string"));
//! ```

pub mod budget;
pub mod codec;
mod diag;
pub mod rng;
mod units;

pub use diag::{SourceError, line_col};
pub use rng::splitmix;
pub use units::{Bytes, Clock, Cycle, MilliWatt, Nanoseconds, PicoJoule, SquareMm};
