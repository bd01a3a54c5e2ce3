//! The collector's errors and their one mapping to gRPC statuses.

use tonic::Status;

/// Everything a collector call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Validation, authentication and other shared failures.
    #[error(transparent)]
    Runtime(#[from] tributary_runtime::Error),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}

/// The collector's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Runtime(runtime) => runtime.into(),
            Error::Database(db_error) => tributary_runtime::Error::Database(db_error).into(),
        }
    }
}
