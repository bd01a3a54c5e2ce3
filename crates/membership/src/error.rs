//! Membership's errors and their one mapping to gRPC statuses.

use tonic::{Code, Status};
use tributary_runtime::error::status;

/// Everything a membership call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Validation, authentication and other shared failures.
    #[error(transparent)]
    Runtime(#[from] tributary_runtime::Error),
    /// A named resource does not exist.
    #[error("{message}")]
    NotFound {
        reason: &'static str,
        message: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}

/// Membership's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Runtime(runtime) => runtime.into(),
            Error::NotFound { reason, message } => status(Code::NotFound, reason, message, &[]),
            Error::Database(db_error) => tributary_runtime::Error::Database(db_error).into(),
        }
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(error: sea_orm::TransactionError<Error>) -> Self {
        match error {
            sea_orm::TransactionError::Connection(db_error) => Error::Database(db_error),
            sea_orm::TransactionError::Transaction(error) => error,
        }
    }
}
