//! Membership's errors and their one mapping to gRPC statuses.

use tonic::{Code, Status};
use tributary_runtime::error::status;

/// Everything a membership call can fail with. Each variant carries the AWS exception name users
/// know (`AccountNotFoundException`, `ResourceConflictException`, ...) as `reason`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Validation, authentication, permission and other shared failures.
    #[error(transparent)]
    Runtime(#[from] tributary_runtime::Error),
    /// A named resource does not exist (NOT_FOUND).
    #[error("{message}")]
    NotFound {
        reason: &'static str,
        message: String,
    },
    /// The resource already exists (ALREADY_EXISTS).
    #[error("{message}")]
    AlreadyExists {
        reason: &'static str,
        message: String,
    },
    /// The system is not in a state that allows the call (FAILED_PRECONDITION).
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
    /// The caller may not do this (PERMISSION_DENIED) with a specific AWS name such as
    /// `OrganizationAccessDeniedException`.
    #[error("{message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    /// A limit would be exceeded (RESOURCE_EXHAUSTED).
    #[error("{message}")]
    LimitExceeded {
        reason: &'static str,
        message: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}

/// Membership's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// NOT_FOUND with an AWS exception name.
    pub fn not_found(reason: &'static str, message: impl Into<String>) -> Self {
        Error::NotFound {
            reason,
            message: message.into(),
        }
    }

    /// ALREADY_EXISTS with an AWS exception name.
    pub fn already_exists(reason: &'static str, message: impl Into<String>) -> Self {
        Error::AlreadyExists {
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

    /// PERMISSION_DENIED with an AWS exception name.
    pub fn permission_denied(reason: &'static str, message: impl Into<String>) -> Self {
        Error::PermissionDenied {
            reason,
            message: message.into(),
        }
    }

    /// PERMISSION_DENIED with `AccessDeniedException`.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Error::Runtime(tributary_runtime::Error::access_denied(message))
    }

    /// RESOURCE_EXHAUSTED with an AWS exception name.
    pub fn limit_exceeded(reason: &'static str, message: impl Into<String>) -> Self {
        Error::LimitExceeded {
            reason,
            message: message.into(),
        }
    }

    /// INVALID_ARGUMENT naming one field, with `InvalidParameterValueException`.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::Runtime(tributary_runtime::Error::invalid_field(field, description))
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Runtime(runtime) => runtime.into(),
            Error::NotFound { reason, message } => status(Code::NotFound, reason, message, &[]),
            Error::AlreadyExists { reason, message } => {
                status(Code::AlreadyExists, reason, message, &[])
            }
            Error::FailedPrecondition { reason, message } => {
                status(Code::FailedPrecondition, reason, message, &[])
            }
            Error::PermissionDenied { reason, message } => {
                status(Code::PermissionDenied, reason, message, &[])
            }
            Error::LimitExceeded { reason, message } => {
                status(Code::ResourceExhausted, reason, message, &[])
            }
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
