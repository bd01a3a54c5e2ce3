//! How failed calls are reported: the gRPC code, the AWS exception name the service put in its
//! `google.rpc.ErrorInfo`, the message, and every `google.rpc.BadRequest` field violation.

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The canonical name of a gRPC code (`INVALID_ARGUMENT`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The AWS exception name of a status (its `ErrorInfo.reason`), if it carries one.
pub fn reason(status: &Status) -> Option<String> {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .filter(|reason| !reason.is_empty())
}

/// A status in one line, `INVALID_ARGUMENT InvalidInputException: message`, followed by one
/// indented line per field violation.
pub fn describe_status(status: &Status) -> String {
    let mut text = code_name(status.code()).to_string();
    if let Some(reason) = reason(status) {
        text.push(' ');
        text.push_str(&reason);
    }
    if !status.message().is_empty() {
        text.push_str(": ");
        text.push_str(status.message());
    }
    if status.code() == Code::Unavailable && reason(status).is_none() {
        // No service answered at all: the usual cause is that nothing runs there.
        text.push_str(" (is the service running? `tributary up` starts everything locally)");
    }
    if let Some(bad_request) = status.get_details_bad_request() {
        for violation in bad_request.field_violations {
            text.push_str(&format!(
                "\n  {}: {}",
                violation.field, violation.description
            ));
        }
    }
    text
}

/// An error as the CLI prints it: what was being done, then the gRPC failure in full when one
/// caused it.
pub fn describe(error: &anyhow::Error) -> String {
    let mut contexts = Vec::new();
    for cause in error.chain() {
        if let Some(status) = cause.downcast_ref::<Status>() {
            contexts.push(describe_status(status));
            return contexts.join(": ");
        }
        contexts.push(cause.to_string());
    }
    format!("{error:#}")
}

/// The `Status` behind an error, if a call failed.
pub fn status_of(error: &anyhow::Error) -> Option<&Status> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<Status>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;
    use tonic_types::ErrorDetails;

    #[test]
    fn a_failed_call_names_code_reason_and_fields() {
        let mut details = ErrorDetails::with_error_info(
            "InvalidInputException",
            "tributary",
            std::collections::HashMap::new(),
        );
        details.add_bad_request_violation("findings", "must hold 1-100 findings");
        let status =
            Status::with_error_details(Code::InvalidArgument, "the request is invalid", details);
        let error = Err::<(), _>(status)
            .context("importing findings")
            .expect_err("an error");
        assert_eq!(
            describe(&error),
            "importing findings: INVALID_ARGUMENT InvalidInputException: the request is invalid\n  \
             findings: must hold 1-100 findings"
        );
    }
}
