//! The error model: how any Tributary error becomes a `tonic::Status` carrying the gRPC code, a
//! `google.rpc.ErrorInfo` whose reason is the AWS exception name, and `google.rpc.BadRequest`
//! field violations for validation errors.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every error Tributary returns.
pub const ERROR_DOMAIN: &str = "tributary";

/// AWS exception names shared by every service.
pub mod reason {
    /// A field has a bad value.
    pub const INVALID_PARAMETER_VALUE: &str = "InvalidParameterValueException";
    /// A page size is out of range.
    pub const INVALID_LIMIT: &str = "InvalidLimitException";
    /// A page token was not issued by this server for this call.
    pub const INVALID_NEXT_TOKEN: &str = "InvalidNextTokenException";
    /// No `authorization` metadata was sent.
    pub const MISSING_AUTHENTICATION_TOKEN: &str = "MissingAuthenticationTokenException";
    /// The key is unknown or revoked.
    pub const UNRECOGNIZED_CLIENT: &str = "UnrecognizedClientException";
    /// The principal may not make this call.
    pub const ACCESS_DENIED: &str = "AccessDeniedException";
    /// A named resource does not exist.
    pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFoundException";
    /// A dependency (another service, the database) cannot be reached.
    pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailableException";
    /// Something failed on the server side.
    pub const INTERNAL_FAILURE: &str = "InternalFailure";
}

/// One invalid field of a request, named by its path (`items[3].resource_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field in the request message.
    pub field: String,
    /// What is wrong and what would be right.
    pub description: String,
}

/// Collects every bad field of a request so the caller hears about all of them at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Starts an empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a bad field.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Records the violation of a validator's result, if any.
    pub fn check(&mut self, field: impl Into<String>, result: Result<(), String>) {
        if let Err(description) = result {
            self.add(field, description);
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Fails with `InvalidParameterValueException` when any field was recorded.
    pub fn finish(self) -> Result<(), Error> {
        self.finish_with(reason::INVALID_PARAMETER_VALUE)
    }

    /// Fails with the given AWS exception name when any field was recorded.
    pub fn finish_with(self, reason: &'static str) -> Result<(), Error> {
        if self.0.is_empty() {
            return Ok(());
        }
        let message = self
            .0
            .iter()
            .map(|violation| format!("{}: {}", violation.field, violation.description))
            .collect::<Vec<_>>()
            .join("; ");
        Err(Error::InvalidInput {
            reason,
            message,
            violations: self.0,
        })
    }
}

/// Errors of the shared runtime. Service crates wrap it in their own error enum.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed.
    #[error("{message}")]
    InvalidInput {
        reason: &'static str,
        message: String,
        violations: Vec<FieldViolation>,
    },
    /// The caller did not prove who it is.
    #[error("{message}")]
    Unauthenticated {
        reason: &'static str,
        message: String,
    },
    /// The caller may not do this.
    #[error("{message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    /// A dependency cannot be reached; retrying later may succeed.
    #[error("{0}")]
    Unavailable(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// The configuration is unusable.
    #[error("configuration error: {0}")]
    Config(String),
    /// Start-up or I/O failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The gRPC server failed.
    #[error("transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
}

impl Error {
    /// A single-field validation error with `InvalidParameterValueException`.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut violations = Violations::new();
        violations.add(field, description);
        match violations.finish() {
            Err(error) => error,
            Ok(()) => unreachable!("a violation was just recorded"),
        }
    }

    /// The caller lacks the right principal for a call.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Error::PermissionDenied {
            reason: reason::ACCESS_DENIED,
            message: message.into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidInput {
                reason,
                message,
                violations,
            } => status(Code::InvalidArgument, reason, message, &violations),
            Error::Unauthenticated { reason, message } => {
                status(Code::Unauthenticated, reason, message, &[])
            }
            Error::PermissionDenied { reason, message } => {
                status(Code::PermissionDenied, reason, message, &[])
            }
            Error::Unavailable(message) => {
                status(Code::Unavailable, reason::SERVICE_UNAVAILABLE, message, &[])
            }
            Error::Database(ref db_error) if is_connection_error(db_error) => status(
                Code::Unavailable,
                reason::SERVICE_UNAVAILABLE,
                "the database is unavailable; retry later",
                &[],
            ),
            other => internal(&other),
        }
    }
}

/// True for database errors that mean "cannot reach the database" rather than a bug.
pub fn is_connection_error(error: &sea_orm::DbErr) -> bool {
    matches!(
        error,
        sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_)
    )
}

/// Builds a status with the AWS exception name as `ErrorInfo.reason` and, when given, the bad
/// fields as `BadRequest` violations. Every error a service returns goes through here.
pub fn status(
    code: Code,
    reason: &str,
    message: impl Into<String>,
    violations: &[FieldViolation],
) -> Status {
    let mut details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
    if !violations.is_empty() {
        details.set_bad_request(
            violations
                .iter()
                .map(|violation| {
                    tonic_types::FieldViolation::new(&violation.field, &violation.description)
                })
                .collect::<Vec<_>>(),
        );
    }
    Status::with_error_details(code, message, details)
}

/// Logs a server-side failure once and returns a status that reveals nothing of it.
pub fn internal(error: &dyn std::fmt::Display) -> Status {
    tracing::error!(error = %error, "request failed on the server side");
    status(
        Code::Internal,
        reason::INTERNAL_FAILURE,
        "the request failed on the server side; it has been logged",
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_become_invalid_argument_with_reason_and_fields() {
        let mut violations = Violations::new();
        violations.add("items[3].resource_id", "must be 1-768 characters");
        violations.add("page_size", "must be at most 100");
        let status = Status::from(violations.finish().unwrap_err());

        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let info = details.error_info().expect("error info is attached");
        assert_eq!(info.reason, reason::INVALID_PARAMETER_VALUE);
        assert_eq!(info.domain, ERROR_DOMAIN);
        let fields: Vec<_> = details
            .bad_request()
            .expect("bad request is attached")
            .field_violations
            .iter()
            .map(|violation| violation.field.clone())
            .collect();
        assert_eq!(fields, ["items[3].resource_id", "page_size"]);
        assert!(
            status
                .message()
                .contains("items[3].resource_id: must be 1-768")
        );
    }

    #[test]
    fn empty_violations_pass() {
        assert!(Violations::new().finish().is_ok());
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status = Status::from(Error::Config("secret path /etc/x".into()));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("/etc/x"));
    }
}
