//! The aggregator's errors and their one mapping to gRPC statuses.

use tonic::Status;

/// Everything an aggregator call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Validation, authentication and other shared failures.
    #[error(transparent)]
    Runtime(#[from] tributary_runtime::Error),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// A named resource does not exist (NOT_FOUND).
    #[error("{message}")]
    NotFound {
        reason: &'static str,
        message: String,
    },
    /// The system is not in a state that allows the call (FAILED_PRECONDITION).
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
    /// A limit would be exceeded (RESOURCE_EXHAUSTED).
    #[error("{message}")]
    LimitExceeded {
        reason: &'static str,
        message: String,
    },
    /// The caller may not do this, with an AWS exception name other than `AccessDeniedException`
    /// (PERMISSION_DENIED).
    #[error("{message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    /// Stored data could not be read back; a bug or a damaged database.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

/// The aggregator's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// NOT_FOUND with an AWS exception name.
    pub fn not_found(reason: &'static str, message: impl Into<String>) -> Self {
        Error::NotFound {
            reason,
            message: message.into(),
        }
    }

    /// FAILED_PRECONDITION with an AWS exception name.
    pub fn failed_precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Error::FailedPrecondition {
            reason,
            message: message.into(),
        }
    }

    /// RESOURCE_EXHAUSTED with an AWS exception name.
    pub fn limit_exceeded(reason: &'static str, message: impl Into<String>) -> Self {
        Error::LimitExceeded {
            reason,
            message: message.into(),
        }
    }

    /// PERMISSION_DENIED with `AccessDeniedException`.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Error::Runtime(tributary_runtime::Error::access_denied(message))
    }

    /// INVALID_ARGUMENT naming one field, with the given AWS exception name.
    pub fn invalid_field(
        reason: &'static str,
        field: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        let mut violations = tributary_runtime::Violations::new();
        violations.add(field, description);
        match violations.finish_with(reason) {
            Err(error) => Error::Runtime(error),
            Ok(()) => Error::Corrupt("a recorded violation was lost".into()),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Runtime(runtime) => runtime.into(),
            Error::Database(db_error) => tributary_runtime::Error::Database(db_error).into(),
            Error::NotFound { reason, message } => {
                tributary_runtime::error::status(tonic::Code::NotFound, reason, message, &[])
            }
            Error::FailedPrecondition { reason, message } => tributary_runtime::error::status(
                tonic::Code::FailedPrecondition,
                reason,
                message,
                &[],
            ),
            Error::LimitExceeded { reason, message } => tributary_runtime::error::status(
                tonic::Code::ResourceExhausted,
                reason,
                message,
                &[],
            ),
            Error::PermissionDenied { reason, message } => tributary_runtime::error::status(
                tonic::Code::PermissionDenied,
                reason,
                message,
                &[],
            ),
            Error::Corrupt(message) => tributary_runtime::error::internal(&message),
        }
    }
}
