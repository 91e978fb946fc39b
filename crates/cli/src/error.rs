//! The CLI's error type: every failure is the user's input (exit 2), an
//! internal error (exit 1), or a check that found differences (exit 3:
//! `run --check-baseline`, `trace diff`).

use std::fmt;

#[derive(Debug)]
pub enum CliError {
    /// Bad configuration, workload, file or argument: exit code 2.
    Input(String),
    /// A bug or an environment failure (e.g. a full disk): exit code 1.
    Internal(String),
    /// A comparison found differences (the report is already printed): exit code 3.
    Differs(String),
}

impl CliError {
    pub fn input(message: impl fmt::Display) -> Self {
        Self::Input(message.to_string())
    }

    pub fn internal(message: impl fmt::Display) -> Self {
        Self::Internal(message.to_string())
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Input(_) => 2,
            Self::Internal(_) => 1,
            Self::Differs(_) => 3,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input(m) => f.write_str(m),
            Self::Internal(m) => write!(f, "internal error: {m}"),
            Self::Differs(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CliError {}

pub type CliResult<T> = Result<T, CliError>;
