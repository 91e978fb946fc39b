//! The facade's error: every failure is either the caller's input (a bad
//! configuration, workload, file, option or argument — the CLI's exit code 2, a
//! Python `InputError`) or internal (a bug or an environment failure such as a
//! full disk — exit code 1). Messages are complete and located: they name the
//! file, line, key, layer or option at fault, so front ends print them as they
//! are.

/// A failure of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Bad input: configuration, workload, file contents, option or argument.
    #[error("{0}")]
    Input(String),
    /// A bug or an environment failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Bad input, with a message that says what and where.
    pub fn input(message: impl std::fmt::Display) -> Self {
        Self::Input(message.to_string())
    }

    /// An internal failure.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal(message.to_string())
    }

    /// Whether the caller's input is at fault.
    pub fn is_input(&self) -> bool {
        matches!(self, Self::Input(_))
    }

    /// The process exit code of this error: 2 bad input, 1 internal.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Input(_) => 2,
            Self::Internal(_) => 1,
        }
    }

    /// The message without the `internal error:` prefix.
    pub fn message(&self) -> &str {
        match self {
            Self::Input(m) | Self::Internal(m) => m,
        }
    }

    /// The same error with `context: ` in front of its message.
    pub fn context(self, context: impl std::fmt::Display) -> Self {
        match self {
            Self::Input(m) => Self::Input(format!("{context}: {m}")),
            Self::Internal(m) => Self::Internal(format!("{context}: {m}")),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Model crates' errors keep their own judgement of who is at fault.
macro_rules! judged {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                if e.is_input() { Self::input(e) } else { Self::internal(e) }
            }
        }
    )*};
}

judged!(rramsim_map::MapError, rramsim_fault::FaultError, rramsim_func::FuncError, rramsim_trace::TraceError,);

#[cfg(feature = "train")]
judged!(rramsim_train::TrainError);

/// Errors that are always the input's fault (files, located sources, graphs).
macro_rules! input {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self::input(e)
            }
        }
    )*};
}

input!(
    rramsim_core::SourceError,
    rramsim_core::budget::OverBudget,
    rramsim_graph::GraphError,
    rramsim_graph::OnnxError,
    rramsim_fault::storage::StorageError,
    rramsim_func::DataError,
    rramsim_func::npy::NpyError,
    rramsim_trace::FilterError,
);
