//! Validation and normalisation of imported findings (spec §3.3, §3.4) and of GetFindings input.

use prost::Message;
use tributary_proto::collector::v1 as pb;

use tributary_securityhub::index::FindingIndex;

use super::state;

/// The ASFF version accepted.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// Findings per BatchImportFindings call.
pub const MAX_FINDINGS: usize = 100;
pub use tributary_securityhub::update::MAX_FINDING_BYTES;
/// Encoded size of one BatchImportFindings request.
pub const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;
/// The change-log key `<product arn>|<id>` must fit the log's key column.
pub const MAX_KEY_CHARS: usize = 1024;

pub use tributary_securityhub::update::Refusal;

fn non_blank(field: &str, value: &str, min: usize, max: usize) -> Result<(), Refusal> {
    let length = value.chars().count();
    if length < min || length > max || (min > 0 && value.trim().is_empty()) {
        return Err(Refusal::invalid(format!(
            "{field} must be {min}-{max} characters and not blank"
        )));
    }
    Ok(())
}

fn score(field: &str, value: Option<i32>) -> Result<(), Refusal> {
    match value {
        Some(value) if !(0..=100).contains(&value) => {
            Err(Refusal::invalid(format!("{field} must be 0-100")))
        }
        _ => Ok(()),
    }
}

/// The region segment of a product ARN
/// (`arn:<partition>:securityhub:<region>:<account?>:product/<company>/<product>`) and its company
/// and product names.
pub fn parse_product_arn(product_arn: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = product_arn.splitn(6, ':').collect();
    let [arn, partition, service, region, _account, resource] = parts.as_slice() else {
        return None;
    };
    if *arn != "arn" || partition.is_empty() || *service != "securityhub" || region.is_empty() {
        return None;
    }
    let mut path = resource.strip_prefix("product/")?.splitn(2, '/');
    let company = path.next().filter(|company| !company.is_empty())?;
    let product = path.next().filter(|product| !product.is_empty())?;
    Some((region, company, product))
}

/// Checks one imported finding against the required attributes and limits.
pub fn validate(finding: &pb::Finding, region: &str) -> Result<(), Refusal> {
    if finding.encoded_len() > MAX_FINDING_BYTES {
        return Err(Refusal {
            code: "FindingSizeExceeded",
            message: format!("the finding is larger than {MAX_FINDING_BYTES} bytes encoded"),
        });
    }
    if finding.schema_version != SCHEMA_VERSION {
        return Err(Refusal::invalid(format!(
            "schema_version must be {SCHEMA_VERSION}"
        )));
    }
    non_blank("id", &finding.id, 1, 512)?;
    non_blank("product_arn", &finding.product_arn, 12, 2048)?;
    let Some((arn_region, _, _)) = parse_product_arn(&finding.product_arn) else {
        return Err(Refusal::invalid(
            "product_arn must look like arn:<partition>:securityhub:<region>:<account>:product/<company>/<product>",
        ));
    };
    if arn_region != region {
        return Err(Refusal::invalid(format!(
            "product_arn names region {arn_region}; this collector serves {region}"
        )));
    }
    if finding.product_arn.chars().count() + 1 + finding.id.chars().count() > MAX_KEY_CHARS {
        return Err(Refusal::invalid(format!(
            "product_arn and id together must be at most {} characters",
            MAX_KEY_CHARS - 1
        )));
    }
    non_blank("generator_id", &finding.generator_id, 1, 512)?;
    tributary_runtime::ids::validate_account_id(&finding.aws_account_id)
        .map_err(|message| Refusal::invalid(format!("aws_account_id {message}")))?;
    if finding.created_at.is_none() {
        return Err(Refusal::invalid("created_at is required"));
    }
    if finding.updated_at.is_none() {
        return Err(Refusal::invalid("updated_at is required"));
    }
    non_blank("title", &finding.title, 1, 256)?;
    non_blank("description", &finding.description, 1, 1024)?;
    if finding.resources.is_empty() || finding.resources.len() > 32 {
        return Err(Refusal::invalid("resources must hold 1-32 resources"));
    }
    for (index, resource) in finding.resources.iter().enumerate() {
        non_blank(
            &format!("resources[{index}].type"),
            &resource.r#type,
            1,
            256,
        )?;
        non_blank(&format!("resources[{index}].id"), &resource.id, 1, 512)?;
    }
    // The control id is an indexed column (control statuses are keyed by it), so it is bounded
    // like the other identifiers rather than left to the finding's overall size limit.
    if let Some(compliance) = &finding.compliance {
        non_blank(
            "compliance.security_control_id",
            &compliance.security_control_id,
            0,
            256,
        )?;
    }
    let provider = finding.finding_provider_fields.as_ref();
    let severity_given = |severity: Option<&pb::FindingSeverity>| {
        severity.is_some_and(|severity| {
            severity.label != pb::SeverityLabel::Unspecified as i32 || severity.normalized.is_some()
        })
    };
    if !severity_given(finding.severity.as_ref())
        && !severity_given(provider.and_then(|provider| provider.severity.as_ref()))
    {
        return Err(Refusal::invalid(
            "severity (label or normalized) is required, at top level or in finding_provider_fields",
        ));
    }
    for severity in [
        finding.severity.as_ref(),
        provider.and_then(|provider| provider.severity.as_ref()),
    ]
    .into_iter()
    .flatten()
    {
        if pb::SeverityLabel::try_from(severity.label).is_err() {
            return Err(Refusal::invalid("severity.label is not a known label"));
        }
        score("severity.normalized", severity.normalized)?;
        non_blank("severity.original", &severity.original, 0, 64)?;
    }
    if finding.types.is_empty() && provider.is_none_or(|provider| provider.types.is_empty()) {
        return Err(Refusal::invalid(
            "types is required, at top level or in finding_provider_fields",
        ));
    }
    for types in [
        Some(&finding.types),
        provider.map(|provider| &provider.types),
    ]
    .into_iter()
    .flatten()
    {
        if types.len() > 50 {
            return Err(Refusal::invalid("types must hold at most 50 types"));
        }
        for kind in types {
            non_blank("types[]", kind, 1, 512)?;
        }
    }
    score("confidence", finding.confidence)?;
    score("criticality", finding.criticality)?;
    if let Some(provider) = provider {
        score("finding_provider_fields.confidence", provider.confidence)?;
        score("finding_provider_fields.criticality", provider.criticality)?;
        if provider.related_findings.len() > 10 {
            return Err(Refusal::invalid(
                "finding_provider_fields.related_findings must hold at most 10 findings",
            ));
        }
    }
    if finding.related_findings.len() > 10 {
        return Err(Refusal::invalid(
            "related_findings must hold at most 10 findings",
        ));
    }
    for (name, fields, max_value) in [
        ("product_fields", &finding.product_fields, 2048),
        ("user_defined_fields", &finding.user_defined_fields, 1024),
    ] {
        if fields.len() > 50 {
            return Err(Refusal::invalid(format!(
                "{name} must hold at most 50 pairs"
            )));
        }
        for (key, value) in fields {
            non_blank(&format!("{name} key"), key, 1, 128)?;
            non_blank(&format!("{name}[{key}]"), value, 0, max_value)?;
        }
    }
    if finding
        .product_fields
        .keys()
        .any(|key| key.starts_with("aws/"))
    {
        return Err(Refusal::invalid(
            "product_fields keys starting aws/ are reserved",
        ));
    }
    if let Some(note) = &finding.note {
        non_blank("note.text", &note.text, 1, 512)?;
        non_blank("note.updated_by", &note.updated_by, 1, 512)?;
        if note.updated_at.is_none() {
            return Err(Refusal::invalid("note.updated_at is required"));
        }
    }
    for (field, value, valid) in [
        (
            "record_state",
            finding.record_state,
            pb::RecordState::try_from(finding.record_state).is_ok(),
        ),
        (
            "verification_state",
            finding.verification_state,
            pb::VerificationState::try_from(finding.verification_state).is_ok(),
        ),
        (
            "workflow_state",
            finding.workflow_state,
            pb::WorkflowState::try_from(finding.workflow_state).is_ok(),
        ),
        (
            "workflow.status",
            finding
                .workflow
                .as_ref()
                .map_or(0, |workflow| workflow.status),
            finding
                .workflow
                .as_ref()
                .is_none_or(|workflow| pb::WorkflowStatus::try_from(workflow.status).is_ok()),
        ),
        (
            "compliance.status",
            finding
                .compliance
                .as_ref()
                .map_or(0, |compliance| compliance.status),
            finding
                .compliance
                .as_ref()
                .is_none_or(|compliance| pb::ComplianceStatus::try_from(compliance.status).is_ok()),
        ),
    ] {
        if !valid {
            return Err(Refusal::invalid(format!(
                "{field} {value} is not a known value"
            )));
        }
    }
    if let Some(name) = text_with_nul(finding) {
        return Err(Refusal::invalid(format!(
            "{name} must not contain NUL characters"
        )));
    }
    Ok(())
}

/// The first stored text of `finding` (its key, attribute columns and filter-index rows) that
/// holds NUL, which PostgreSQL text cannot store: such a finding would fail the whole import on
/// the server instead of being refused alone.
fn text_with_nul(finding: &pb::Finding) -> Option<&'static str> {
    let index = FindingIndex::of(finding);
    let nul = |text: &str| text.contains('\0');
    if let Some(position) = index.key.iter().position(|text| nul(text)) {
        return Some(["aws_account_id", "product_arn", "id"][position]);
    }
    let column = index
        .columns
        .iter()
        .find(|(_, value)| matches!(value, sea_orm::Value::String(Some(text)) if nul(text)));
    if let Some((name, _)) = column {
        return Some(name);
    }
    index
        .values
        .iter()
        .find(|row| nul(&row.key) || nul(&row.value))
        .map(|row| row.attribute)
}

/// Applies the provider-fields precedence and severity completion, and the server-set fields.
pub fn normalise(finding: &mut pb::Finding, region: &str) {
    let provider = finding
        .finding_provider_fields
        .get_or_insert_with(Default::default);
    // Provider fields win; a missing one is copied from the top level.
    match &provider.severity {
        Some(severity)
            if severity.label != pb::SeverityLabel::Unspecified as i32
                || severity.normalized.is_some() =>
        {
            finding.severity = Some(severity.clone());
        }
        _ => provider.severity = finding.severity.clone(),
    }
    if provider.types.is_empty() {
        provider.types = finding.types.clone();
    } else {
        finding.types = provider.types.clone();
    }
    match provider.confidence {
        Some(confidence) => finding.confidence = Some(confidence),
        None => provider.confidence = finding.confidence,
    }
    match provider.criticality {
        Some(criticality) => finding.criticality = Some(criticality),
        None => provider.criticality = finding.criticality,
    }
    if provider.related_findings.is_empty() {
        provider.related_findings = finding.related_findings.clone();
    } else {
        finding.related_findings = provider.related_findings.clone();
    }
    for severity in [finding.severity.as_mut(), provider.severity.as_mut()]
        .into_iter()
        .flatten()
    {
        state::complete_severity(severity);
    }
    if finding.record_state == pb::RecordState::Unspecified as i32 {
        finding.record_state = pb::RecordState::Active as i32;
    }
    if let Some((_, company, product)) = parse_product_arn(&finding.product_arn) {
        let (company, product) = (company.to_string(), product.to_string());
        if finding.company_name.is_empty() {
            finding.company_name = company;
        }
        if finding.product_name.is_empty() {
            finding.product_name = product;
        }
    }
    finding.region = region.to_string();
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn valid() -> pb::Finding {
        pb::Finding {
            schema_version: SCHEMA_VERSION.into(),
            id: "finding-1".into(),
            product_arn: "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default"
                .into(),
            generator_id: "check-1".into(),
            aws_account_id: "111111111111".into(),
            types: vec!["Software and Configuration Checks".into()],
            created_at: Some(prost_types::Timestamp {
                seconds: 1,
                nanos: 0,
            }),
            updated_at: Some(prost_types::Timestamp {
                seconds: 1,
                nanos: 0,
            }),
            severity: Some(pb::FindingSeverity {
                label: pb::SeverityLabel::High as i32,
                ..Default::default()
            }),
            title: "title".into(),
            description: "description".into(),
            resources: vec![pb::FindingResource {
                r#type: "Other".into(),
                id: "resource".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_finding_is_valid_and_gains_server_fields() {
        let mut finding = valid();
        assert_eq!(validate(&finding, "us-east-1"), Ok(()));
        normalise(&mut finding, "us-east-1");
        assert_eq!(finding.region, "us-east-1");
        assert_eq!(finding.company_name, "111111111111");
        assert_eq!(finding.product_name, "default");
        assert_eq!(finding.record_state, pb::RecordState::Active as i32);
        let provider = finding.finding_provider_fields.unwrap();
        assert_eq!(provider.severity.unwrap().normalized, Some(70));
        assert_eq!(provider.types, finding.types);
    }

    #[test]
    fn missing_or_bad_required_attributes_are_refused() {
        let cases: Vec<fn(&mut pb::Finding)> = vec![
            |finding| finding.schema_version = "2020-01-01".into(),
            |finding| finding.id = " ".into(),
            |finding| finding.product_arn = "arn:aws:s3:::bucket".into(),
            |finding| {
                finding.product_arn = "arn:aws:securityhub:eu-west-1::product/aws/guardduty".into();
            },
            |finding| finding.aws_account_id = "12".into(),
            |finding| finding.updated_at = None,
            |finding| finding.created_at = None,
            |finding| finding.title = String::new(),
            |finding| finding.description = "x".repeat(1025),
            |finding| finding.resources.clear(),
            |finding| finding.severity = None,
            |finding| finding.types.clear(),
            |finding| finding.confidence = Some(101),
            |finding| {
                finding.compliance = Some(pb::FindingCompliance {
                    security_control_id: "S".repeat(257),
                    ..Default::default()
                });
            },
            |finding| {
                finding
                    .product_fields
                    .insert("aws/securityhub/FindingId".into(), "x".into());
            },
        ];
        for (index, case) in cases.into_iter().enumerate() {
            let mut finding = valid();
            case(&mut finding);
            let refusal = validate(&finding, "us-east-1").expect_err("refused");
            assert_eq!(refusal.code, "InvalidInput", "case {index}: {refusal:?}");
        }
    }

    #[test]
    fn nul_characters_in_stored_text_are_refused() {
        // PostgreSQL text cannot hold NUL: one such finding failed the whole import with
        // Internal instead of being refused alone.
        type Edit = fn(&mut pb::Finding);
        let cases: Vec<(&str, Edit)> = vec![
            ("title", |finding| finding.title = "ti\0tle".into()),
            ("id", |finding| finding.id = "finding\0".into()),
            ("ResourceId", |finding| {
                finding.resources[0].id = "\0".into()
            }),
            ("ResourceTags", |finding| {
                finding.resources[0]
                    .tags
                    .insert("env".into(), "pr\0d".into());
            }),
        ];
        for (name, case) in cases {
            let mut finding = valid();
            case(&mut finding);
            let refusal = validate(&finding, "us-east-1").expect_err(name);
            assert_eq!(refusal.code, "InvalidInput");
            assert_eq!(
                refusal.message,
                format!("{name} must not contain NUL characters")
            );
        }
    }

    #[test]
    fn oversize_findings_are_refused_by_size() {
        let mut finding = valid();
        finding.description = "x".repeat(MAX_FINDING_BYTES);
        assert_eq!(
            validate(&finding, "us-east-1").map_err(|refusal| refusal.code),
            Err("FindingSizeExceeded")
        );
    }
}
