//! The checked-in API reference (`docs/api.md`) matches what the proto comments render to, and
//! carries the RPC comments readers look for.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use tributary_cli::api_docs::{REGENERATE, render_tributary};

#[test]
fn checked_in_reference_is_current() {
    let rendered = render_tributary().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/api.md");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        rendered == checked_in,
        "docs/api.md is out of date with proto/; regenerate it with `{REGENERATE}`"
    );
}

#[test]
fn reference_carries_rpc_comments_and_signatures() {
    let rendered = render_tributary().unwrap();
    for expected in [
        "### service `SecurityHubService`",
        "Creates or updates up to 100 findings.",
        "`BatchImportFindings`([`BatchImportFindingsRequest`]",
        "returns (stream ",
        "## `tributary/membership/v1/access.proto`",
    ] {
        assert!(rendered.contains(expected), "missing {expected:?}");
    }
    assert!(
        !rendered.contains("## `google/"),
        "imports from google.* are left out"
    );
}
