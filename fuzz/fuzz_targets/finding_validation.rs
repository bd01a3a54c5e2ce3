//! BatchImportFindings' per-finding checks: any protobuf-encoded `Finding` is validated without
//! panicking; one that passes normalises to a complete, self-consistent finding (normalising
//! twice changes nothing) whose filter index derives without panicking and holds no NUL (which
//! PostgreSQL text cannot store).

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use tributary_collector::findings::inputs::{normalise, parse_product_arn, validate};
use tributary_proto::collector::v1 as pb;
use tributary_securityhub::{index::FindingIndex, merge::FieldGroup};

fuzz_target!(|data: &[u8]| {
    let Ok(finding) = pb::Finding::decode(data) else {
        return;
    };
    // The collector's own region when the ARN names one, so validation gets past the region check.
    let region = parse_product_arn(&finding.product_arn)
        .map_or("us-east-1", |(region, _, _)| region)
        .to_string();
    for region in [region.as_str(), "eu-west-1"] {
        let verdict = validate(&finding, region);
        if let Err(refusal) = &verdict {
            assert!(
                matches!(refusal.code, "InvalidInput" | "FindingSizeExceeded"),
                "{refusal:?}"
            );
            assert!(!refusal.message.is_empty());
        }
        let mut normalised = finding.clone();
        normalise(&mut normalised, region);
        let mut twice = normalised.clone();
        normalise(&mut twice, region);
        assert_eq!(twice, normalised, "normalising is idempotent");
        assert_eq!(normalised.region, region);
        let index = FindingIndex::of(&normalised);
        assert_eq!(index.key[0], normalised.aws_account_id);
        if verdict.is_ok() {
            // PostgreSQL text cannot hold NUL: a valid finding's stored text never does.
            let texts =
                index
                    .key
                    .iter()
                    .map(String::as_str)
                    .chain(index.columns.iter().filter_map(|(_, value)| match value {
                        sea_orm::Value::String(Some(text)) => Some(text.as_str()),
                        _ => None,
                    }));
            let rows = index
                .values
                .iter()
                .flat_map(|row| [row.key.as_str(), row.value.as_str()]);
            assert!(
                texts.chain(rows).all(|text| !text.contains('\0')),
                "NUL in stored text"
            );
        }
        let _ = FieldGroup::changed(&finding, &normalised);
        if verdict.is_ok() {
            let provider = normalised
                .finding_provider_fields
                .as_ref()
                .expect("normalising fills finding_provider_fields");
            assert_eq!(provider.severity, normalised.severity);
            assert_eq!(provider.types, normalised.types);
            assert_eq!(provider.confidence, normalised.confidence);
            assert_eq!(provider.criticality, normalised.criticality);
            let severity = normalised
                .severity
                .as_ref()
                .expect("a valid finding has a severity");
            assert_ne!(severity.label, pb::SeverityLabel::Unspecified as i32);
            assert!(
                severity
                    .normalized
                    .is_some_and(|score| (0..=100).contains(&score))
            );
            assert_ne!(normalised.record_state, pb::RecordState::Unspecified as i32);
            assert!(!normalised.company_name.is_empty() && !normalised.product_name.is_empty());
        }
    }
});
