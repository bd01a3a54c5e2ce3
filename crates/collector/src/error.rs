//! The collector's errors and their one mapping to gRPC statuses.

use tonic::{Code, Status};
use tributary_runtime::error::status;

/// AWS exception names the collector returns besides the shared ones in
/// [`tributary_runtime::error::reason`].
pub mod reason {
    /// A request breaks a documented limit or shape (lengths, patterns, counts, JSON).
    pub const VALIDATION: &str = "ValidationException";
    /// The account's configuration recorder is not running, so it accepts no new data.
    pub const NO_RUNNING_CONFIGURATION_RECORDER: &str = "NoRunningConfigurationRecorderException";
    /// The named configuration recorder does not exist.
    pub const NO_SUCH_CONFIGURATION_RECORDER: &str = "NoSuchConfigurationRecorderException";
    /// The account already has a configuration recorder with another name.
    pub const MAX_NUMBER_OF_CONFIGURATION_RECORDERS_EXCEEDED: &str =
        "MaxNumberOfConfigurationRecordersExceededException";
    /// A recording group contradicts itself.
    pub const INVALID_RECORDING_GROUP: &str = "InvalidRecordingGroupException";
    /// The resource was never recorded (or, where documented, is deleted).
    pub const RESOURCE_NOT_DISCOVERED: &str = "ResourceNotDiscoveredException";
    /// A history window ends before it starts.
    pub const INVALID_TIME_RANGE: &str = "InvalidTimeRangeException";
    /// A change-log cursor is below the compaction horizon.
    pub const CURSOR_EXPIRED: &str = "CursorExpiredException";
    /// The aggregator a change-log stream replicates for is not entitled to an account here.
    pub const AUTHORIZATION_NOT_FOUND: &str = "AuthorizationNotFoundException";
    /// Membership knows no such Config aggregator.
    pub const NO_SUCH_CONFIGURATION_AGGREGATOR: &str = "NoSuchConfigurationAggregatorException";
    /// The named Config rule does not exist.
    pub const NO_SUCH_CONFIG_RULE: &str = "NoSuchConfigRuleException";
    /// The named conformance pack does not exist.
    pub const NO_SUCH_CONFORMANCE_PACK: &str = "NoSuchConformancePackException";
    /// A filter names a rule that is not part of the conformance pack.
    pub const NO_SUCH_CONFIG_RULE_IN_CONFORMANCE_PACK: &str =
        "NoSuchConfigRuleInConformancePackException";
    /// The resource is in use by another (a rule held by a conformance pack).
    pub const RESOURCE_IN_USE: &str = "ResourceInUseException";
    /// The account already has the most Config rules allowed in this region.
    pub const MAX_NUMBER_OF_CONFIG_RULES_EXCEEDED: &str = "MaxNumberOfConfigRulesExceededException";
    /// The account already has the most conformance packs allowed in this region.
    pub const MAX_NUMBER_OF_CONFORMANCE_PACKS_EXCEEDED: &str =
        "MaxNumberOfConformancePacksExceededException";
    /// A BatchImportFindings request breaks a whole-request limit.
    pub const INVALID_INPUT: &str = "InvalidInputException";
    /// The account's Security Hub is not enabled in this region.
    pub const INVALID_ACCESS: &str = "InvalidAccessException";
    /// The resource already exists (a product subscription enabled twice).
    pub const RESOURCE_CONFLICT: &str = "ResourceConflictException";
    /// An account already has the most resources of a kind allowed (custom insights).
    pub const LIMIT_EXCEEDED: &str = "LimitExceededException";
}

/// Everything a collector call can fail with. Each variant with a `reason` carries the AWS
/// exception name users know.
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
    /// The resource already exists (ALREADY_EXISTS).
    #[error("{message}")]
    Conflict {
        reason: &'static str,
        message: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Stored data could not be read back; a bug or a damaged database.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

/// The collector's result type.
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
            Error::NotFound { reason, message } => status(Code::NotFound, reason, message, &[]),
            Error::FailedPrecondition { reason, message } => {
                status(Code::FailedPrecondition, reason, message, &[])
            }
            Error::LimitExceeded { reason, message } => {
                status(Code::ResourceExhausted, reason, message, &[])
            }
            Error::Conflict { reason, message } => {
                status(Code::AlreadyExists, reason, message, &[])
            }
            Error::Database(db_error) => tributary_runtime::Error::Database(db_error).into(),
            Error::Corrupt(message) => tributary_runtime::error::internal(&message),
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
