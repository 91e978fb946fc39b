//! The CLI's error type and the one place errors become exit codes: bad input
//! 2, internal error 1, a check that found differences 3 (`run
//! --check-baseline`, `trace diff`).

use std::fmt;

#[derive(Debug)]
pub enum CliError {
    /// A failure of the pipeline: bad input (exit 2) or internal (exit 1).
    Run(rramsim::Error),
    /// A comparison found differences (the report is already printed): exit code 3.
    Differs(String),
}

impl CliError {
    pub fn input(message: impl fmt::Display) -> Self {
        Self::Run(rramsim::Error::input(message))
    }

    pub fn internal(message: impl fmt::Display) -> Self {
        Self::Run(rramsim::Error::internal(message))
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Run(e) => e.exit_code(),
            Self::Differs(_) => 3,
        }
    }
}

impl From<rramsim::Error> for CliError {
    fn from(e: rramsim::Error) -> Self {
        Self::Run(e)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Run(e) => e.fmt(f),
            Self::Differs(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CliError {}

pub type CliResult<T> = Result<T, CliError>;
