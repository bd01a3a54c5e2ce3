//! What a finding contributes to the filter index: the values of the findings table's attribute
//! columns and the finding-values rows of its multi-valued attributes, derived from the finding
//! alone, and the statements that store them next to the finding (same transaction).

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
};

use prost::Message;
use sea_orm::{
    ConnectionTrait, DbErr, Value,
    sea_query::{Expr, ExprTrait, Query},
};
use tributary_proto::collector::v1 as pb;

use crate::{
    attributes::{self, Kind, RESOURCE_DETAILS},
    controls::Bucket,
    filter::{ip_key, micros},
    schema::{CONTROL_BUCKET, KEY_COLUMNS, Tables},
};

/// How many characters of a key or value the values table indexes (`key_head`, `value_head`):
/// PostgreSQL refuses index entries above ~2.7 KB, and the full text stays in `key` / `value`.
pub const HEAD_CHARS: usize = 64;
/// Rows written per INSERT, well under both backends' bound-parameter limits.
const INSERT_CHUNK: usize = 500;

/// The first [`HEAD_CHARS`] characters of `text`.
pub fn head(text: &str) -> String {
    text.chars().take(HEAD_CHARS).collect()
}

/// One finding-values row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ValueRow {
    /// The attribute's AWS name.
    pub attribute: &'static str,
    /// The map key for map attributes, the sortable address for IP attributes, else empty.
    pub key: String,
    /// The value (an IP address in canonical text).
    pub value: String,
}

/// A finding's contribution to its control's status: its control id and bucket, when it counts.
pub type ControlContribution = Option<(String, Bucket)>;

/// Everything a finding contributes to the index.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingIndex {
    /// `account_id`, `product_arn`, `finding_id`.
    pub key: [String; 3],
    /// Attribute columns (key columns excluded) and the control bucket, with their values.
    pub columns: Vec<(&'static str, Value)>,
    /// Multi-valued attributes, sorted and without duplicates.
    pub values: Vec<ValueRow>,
    /// The finding's contribution to its control's status.
    pub control: ControlContribution,
}

fn enum_name(full: &'static str, prefix: &str) -> &'static str {
    match full.strip_prefix(prefix) {
        Some("UNSPECIFIED") | None => "",
        Some(name) => name,
    }
}

/// The AWS name of a severity label; an unset label reads as INFORMATIONAL, as it is stored.
pub fn severity_label_name(label: i32) -> &'static str {
    match pb::SeverityLabel::try_from(label).unwrap_or_default() {
        pb::SeverityLabel::Unspecified => "INFORMATIONAL",
        label => enum_name(label.as_str_name(), "SEVERITY_LABEL_"),
    }
}

/// The AWS name of a record state; unset reads as ACTIVE.
pub fn record_state_name(state: i32) -> &'static str {
    match pb::RecordState::try_from(state).unwrap_or_default() {
        pb::RecordState::Archived => "ARCHIVED",
        _ => "ACTIVE",
    }
}

/// The AWS name of a finding's workflow status; unset reads as NEW.
pub fn workflow_status_name(finding: &pb::Finding) -> &'static str {
    let status = finding
        .workflow
        .as_ref()
        .map_or(0, |workflow| workflow.status);
    match pb::WorkflowStatus::try_from(status).unwrap_or_default() {
        pb::WorkflowStatus::Unspecified => "NEW",
        status => enum_name(status.as_str_name(), "WORKFLOW_STATUS_"),
    }
}

/// The AWS name of a finding's compliance status; empty when it has none.
pub fn compliance_status_name(finding: &pb::Finding) -> &'static str {
    let status = finding
        .compliance
        .as_ref()
        .map_or(0, |compliance| compliance.status);
    pb::ComplianceStatus::try_from(status).map_or("", |status| {
        enum_name(status.as_str_name(), "COMPLIANCE_STATUS_")
    })
}

/// How a finding counts towards its control's status (spec §3.11): only ACTIVE findings that are
/// not SUPPRESSED and carry a control id and a compliance status count.
pub fn control_contribution(finding: &pb::Finding) -> ControlContribution {
    let compliance = finding.compliance.as_ref()?;
    if compliance.security_control_id.is_empty()
        || record_state_name(finding.record_state) != "ACTIVE"
        || workflow_status_name(finding) == "SUPPRESSED"
    {
        return None;
    }
    let bucket = match pb::ComplianceStatus::try_from(compliance.status).ok()? {
        pb::ComplianceStatus::Passed => Bucket::Passed,
        pb::ComplianceStatus::Failed => Bucket::Failed,
        pb::ComplianceStatus::Warning | pb::ComplianceStatus::NotAvailable => Bucket::Unknown,
        pb::ComplianceStatus::Unspecified => return None,
    };
    Some((compliance.security_control_id.clone(), bucket))
}

fn text(value: &str) -> Value {
    Value::from(value.to_string())
}

fn number(value: Option<f64>) -> Value {
    Value::Double(value)
}

fn integer(value: Option<i32>) -> Value {
    number(value.map(f64::from))
}

fn instant(value: Option<&prost_types::Timestamp>) -> Value {
    Value::BigInt(value.map(micros))
}

/// The value of attribute column `column` for `finding`.
fn column_value(finding: &pb::Finding, column: &str) -> Value {
    let provider = finding.finding_provider_fields.as_ref();
    let provider_severity = provider.and_then(|provider| provider.severity.as_ref());
    let severity = finding.severity.as_ref();
    let note = finding.note.as_ref();
    let compliance = finding.compliance.as_ref();
    match column {
        "account_id" => text(&finding.aws_account_id),
        "product_arn" => text(&finding.product_arn),
        "finding_id" => text(&finding.id),
        "region" => text(&finding.region),
        "product_name" => text(&finding.product_name),
        "company_name" => text(&finding.company_name),
        "generator_id" => text(&finding.generator_id),
        "title" => text(&finding.title),
        "description" => text(&finding.description),
        "severity_label" => text(severity_label_name(
            severity.map_or(0, |severity| severity.label),
        )),
        "record_state" => text(record_state_name(finding.record_state)),
        "workflow_status" => text(workflow_status_name(finding)),
        "workflow_state" => text(
            pb::WorkflowState::try_from(finding.workflow_state).map_or("", |state| {
                enum_name(state.as_str_name(), "WORKFLOW_STATE_")
            }),
        ),
        "verification_state" => text(
            pb::VerificationState::try_from(finding.verification_state).map_or("", |state| {
                enum_name(state.as_str_name(), "VERIFICATION_STATE_")
            }),
        ),
        "compliance_status" => text(compliance_status_name(finding)),
        "compliance_security_control_id" => {
            text(compliance.map_or("", |compliance| compliance.security_control_id.as_str()))
        }
        "note_text" => text(note.map_or("", |note| note.text.as_str())),
        "note_updated_by" => text(note.map_or("", |note| note.updated_by.as_str())),
        "source_url" => text(&finding.source_url),
        "recommendation_text" => text(
            finding
                .remediation
                .as_ref()
                .and_then(|remediation| remediation.recommendation.as_ref())
                .map_or("", |recommendation| recommendation.text.as_str()),
        ),
        "fpf_severity_label" => text(
            provider_severity
                .filter(|severity| severity.label != 0)
                .map_or("", |severity| severity_label_name(severity.label)),
        ),
        "fpf_severity_original" => {
            text(provider_severity.map_or("", |severity| severity.original.as_str()))
        }
        "severity_normalized" => integer(severity.and_then(|severity| severity.normalized)),
        "severity_product" => number(severity.and_then(|severity| severity.product)),
        "confidence" => integer(finding.confidence),
        "criticality" => integer(finding.criticality),
        "fpf_confidence" => integer(provider.and_then(|provider| provider.confidence)),
        "fpf_criticality" => integer(provider.and_then(|provider| provider.criticality)),
        "first_observed_at_micros" => instant(finding.first_observed_at.as_ref()),
        "last_observed_at_micros" => instant(finding.last_observed_at.as_ref()),
        "created_at_micros" => instant(finding.created_at.as_ref()),
        "updated_at_micros" => Value::BigInt(Some(finding.updated_at.as_ref().map_or(0, micros))),
        "note_updated_at_micros" => instant(note.and_then(|note| note.updated_at.as_ref())),
        "sample" => Value::Bool(Some(finding.sample)),
        other => unreachable!("attribute column {other} has no derivation"),
    }
}

/// The struct value at `path` under `fields`.
fn detail<'a>(
    fields: &'a BTreeMap<String, prost_types::Value>,
    path: &[&str],
) -> Option<&'a prost_types::value::Kind> {
    let (last, parents) = path.split_last()?;
    let mut fields = fields;
    for key in parents {
        match fields.get(*key)?.kind.as_ref()? {
            prost_types::value::Kind::StructValue(inner) => fields = &inner.fields,
            _ => return None,
        }
    }
    fields.get(*last)?.kind.as_ref()
}

/// The strings of a detail: a string, or the strings of a list.
fn detail_strings(kind: &prost_types::value::Kind) -> Vec<&str> {
    match kind {
        prost_types::value::Kind::StringValue(value) => vec![value.as_str()],
        prost_types::value::Kind::ListValue(list) => list
            .values
            .iter()
            .filter_map(|value| match value.kind.as_ref()? {
                prost_types::value::Kind::StringValue(value) => Some(value.as_str()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn value_rows(finding: &pb::Finding) -> Vec<ValueRow> {
    let mut rows = BTreeSet::new();
    let mut add = |attribute: &'static str, key: &str, value: &str| {
        if !value.is_empty() {
            rows.insert(ValueRow {
                attribute,
                key: key.to_string(),
                value: value.to_string(),
            });
        }
    };
    for kind in &finding.types {
        add("Type", "", kind);
    }
    for related in &finding.related_findings {
        add("RelatedFindingsId", "", &related.id);
        add("RelatedFindingsProductArn", "", &related.product_arn);
    }
    if let Some(provider) = &finding.finding_provider_fields {
        for kind in &provider.types {
            add("FindingProviderFieldsTypes", "", kind);
        }
        for related in &provider.related_findings {
            add("FindingProviderFieldsRelatedFindingsId", "", &related.id);
            add(
                "FindingProviderFieldsRelatedFindingsProductArn",
                "",
                &related.product_arn,
            );
        }
    }
    if let Some(compliance) = &finding.compliance {
        for standard in &compliance.associated_standards {
            add(
                "ComplianceAssociatedStandardsId",
                "",
                &standard.standards_id,
            );
        }
    }
    for (key, value) in &finding.product_fields {
        add("ProductFields", key, value);
    }
    for (key, value) in &finding.user_defined_fields {
        add("UserDefinedFields", key, value);
    }
    for resource in &finding.resources {
        add("ResourceType", "", &resource.r#type);
        add("ResourceId", "", &resource.id);
        add("ResourcePartition", "", &resource.partition);
        add("ResourceRegion", "", &resource.region);
        for (key, value) in &resource.tags {
            add("ResourceTags", key, value);
        }
        let Some(details) = &resource.details else {
            continue;
        };
        if let Some(prost_types::value::Kind::StructValue(other)) =
            detail(&details.fields, &["Other"])
        {
            for (key, value) in &other.fields {
                if let Some(prost_types::value::Kind::StringValue(value)) = &value.kind {
                    add("ResourceDetailsOther", key, value);
                }
            }
        }
        for (attribute, path) in RESOURCE_DETAILS {
            let Some(kind) = detail(&details.fields, path) else {
                continue;
            };
            let is_ip =
                attributes::attribute(attribute).is_some_and(|found| found.kind == Kind::Ip);
            for value in detail_strings(kind) {
                if is_ip {
                    if let Ok(address) = value.trim().parse::<IpAddr>() {
                        add(attribute, &ip_key(address), &address.to_string());
                    }
                } else {
                    add(attribute, "", value);
                }
            }
        }
    }
    rows.into_iter().collect()
}

impl FindingIndex {
    /// Derives the index of `finding` as stored.
    pub fn of(finding: &pb::Finding) -> Self {
        let mut columns: Vec<(&'static str, Value)> = attributes::columns()
            .filter(|(column, _)| !KEY_COLUMNS.contains(column))
            .map(|(column, _)| (column, column_value(finding, column)))
            .collect();
        let control = control_contribution(finding);
        columns.push((
            CONTROL_BUCKET,
            text(control.as_ref().map_or("", |(_, bucket)| bucket.as_str())),
        ));
        Self {
            key: [
                finding.aws_account_id.clone(),
                finding.product_arn.clone(),
                finding.id.clone(),
            ],
            columns,
            values: value_rows(finding),
            control,
        }
    }
}

/// How a write changed a finding's contribution to control statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlChange {
    /// The account.
    pub account_id: String,
    /// Before the write.
    pub before: ControlContribution,
    /// After the write.
    pub after: ControlContribution,
}

impl ControlChange {
    /// True when some control's counts change.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

fn key_condition(tables: &Tables, alias: Option<&'static str>, key: &[String; 3]) -> Expr {
    let column = |name: &'static str| match alias {
        Some(alias) => Expr::col((alias, name)),
        None => Expr::col((tables.findings, name)),
    };
    column(KEY_COLUMNS[0])
        .eq(key[0].as_str())
        .and(column(KEY_COLUMNS[1]).eq(key[1].as_str()))
        .and(column(KEY_COLUMNS[2]).eq(key[2].as_str()))
}

/// The stored contribution of the finding with `key` (none when it is not stored yet).
async fn stored_contribution(
    connection: &impl ConnectionTrait,
    tables: &Tables,
    key: &[String; 3],
) -> Result<ControlContribution, DbErr> {
    let select = Query::select()
        .column("compliance_security_control_id")
        .column(CONTROL_BUCKET)
        .from(tables.findings)
        .and_where(key_condition(tables, None, key))
        .to_owned();
    let Some(row) = connection.query_one(&select).await? else {
        return Ok(None);
    };
    let control_id: String = row.try_get("", "compliance_security_control_id")?;
    let bucket: String = row.try_get("", CONTROL_BUCKET)?;
    Ok(Bucket::parse(&bucket).map(|bucket| (control_id, bucket)))
}

async fn delete_values(
    connection: &impl ConnectionTrait,
    tables: &Tables,
    key: &[String; 3],
) -> Result<(), DbErr> {
    let delete = Query::delete()
        .from_table(tables.values)
        .cond_where(
            Expr::col(KEY_COLUMNS[0])
                .eq(key[0].as_str())
                .and(Expr::col(KEY_COLUMNS[1]).eq(key[1].as_str()))
                .and(Expr::col(KEY_COLUMNS[2]).eq(key[2].as_str())),
        )
        .to_owned();
    connection.execute(&delete).await?;
    Ok(())
}

/// Stores `index` for a finding whose row (key and payload) the caller has just written in the
/// same transaction: sets the attribute columns, replaces the finding-values rows, and reports
/// how the finding's control contribution changed (read from the stored row first).
pub async fn write(
    connection: &impl ConnectionTrait,
    tables: &Tables,
    index: &FindingIndex,
) -> Result<ControlChange, DbErr> {
    let before = stored_contribution(connection, tables, &index.key).await?;
    store(connection, tables, index, before, true).await
}

/// Like [`write`], for a caller that holds the index of the finding as stored before this write
/// (`previous`; `None` for a new finding): nothing is read, and the finding-values rows are
/// rewritten only when they change.
pub async fn write_over(
    connection: &impl ConnectionTrait,
    tables: &Tables,
    index: &FindingIndex,
    previous: Option<&FindingIndex>,
) -> Result<ControlChange, DbErr> {
    let before = previous.and_then(|previous| previous.control.clone());
    let values_changed = previous.is_none_or(|previous| previous.values != index.values);
    store(connection, tables, index, before, values_changed).await
}

async fn store(
    connection: &impl ConnectionTrait,
    tables: &Tables,
    index: &FindingIndex,
    before: ControlContribution,
    values_changed: bool,
) -> Result<ControlChange, DbErr> {
    let update = Query::update()
        .table(tables.findings)
        .values(
            index
                .columns
                .iter()
                .map(|(column, value)| (*column, Expr::val(value.clone()))),
        )
        .and_where(key_condition(tables, None, &index.key))
        .to_owned();
    connection.execute(&update).await?;
    if !values_changed {
        return Ok(ControlChange {
            account_id: index.key[0].clone(),
            before,
            after: index.control.clone(),
        });
    }
    delete_values(connection, tables, &index.key).await?;
    for chunk in index.values.chunks(INSERT_CHUNK) {
        let mut insert = Query::insert()
            .into_table(tables.values)
            .columns([
                "account_id",
                "product_arn",
                "finding_id",
                "attribute",
                "key",
                "key_head",
                "value",
                "value_head",
            ])
            .to_owned();
        for row in chunk {
            insert
                .values([
                    index.key[0].as_str().into(),
                    index.key[1].as_str().into(),
                    index.key[2].as_str().into(),
                    row.attribute.into(),
                    row.key.as_str().into(),
                    head(&row.key).into(),
                    row.value.as_str().into(),
                    head(&row.value).into(),
                ])
                .map_err(|error| DbErr::Custom(error.to_string()))?;
        }
        connection.execute(&insert).await?;
    }
    Ok(ControlChange {
        account_id: index.key[0].clone(),
        before,
        after: index.control.clone(),
    })
}

/// Forgets the index of the finding with `key` (account, product ARN, id) before the caller
/// deletes its row: removes its finding-values rows and reports the control contribution it
/// loses.
pub async fn remove(
    connection: &impl ConnectionTrait,
    tables: &Tables,
    key: &[String; 3],
) -> Result<ControlChange, DbErr> {
    let before = stored_contribution(connection, tables, key).await?;
    delete_values(connection, tables, key).await?;
    Ok(ControlChange {
        account_id: key[0].clone(),
        before,
        after: None,
    })
}

/// Derives and stores the index of every stored finding (decoding each payload), in key order
/// and pages of `page` rows: for migrations that add the index to existing findings.
pub async fn rebuild(
    connection: &impl ConnectionTrait,
    tables: &Tables,
    page: u64,
) -> Result<u64, DbErr> {
    let mut after: Option<[String; 3]> = None;
    let mut count = 0;
    loop {
        let mut select = Query::select()
            .columns(KEY_COLUMNS)
            .column(tables.payload)
            .from(tables.findings)
            .order_by(KEY_COLUMNS[0], sea_orm::sea_query::Order::Asc)
            .order_by(KEY_COLUMNS[1], sea_orm::sea_query::Order::Asc)
            .order_by(KEY_COLUMNS[2], sea_orm::sea_query::Order::Asc)
            .limit(page)
            .to_owned();
        if let Some(last) = &after {
            select.cond_where(crate::query::after_key(None, last));
        }
        let rows = connection.query_all(&select).await?;
        let Some(last) = rows.last() else {
            return Ok(count);
        };
        after = Some([
            last.try_get("", KEY_COLUMNS[0])?,
            last.try_get("", KEY_COLUMNS[1])?,
            last.try_get("", KEY_COLUMNS[2])?,
        ]);
        for row in &rows {
            let payload: Vec<u8> = row.try_get("", tables.payload)?;
            let finding = pb::Finding::decode(payload.as_slice())
                .map_err(|error| DbErr::Custom(format!("stored finding: {error}")))?;
            write(connection, tables, &FindingIndex::of(&finding)).await?;
            count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(value: &str) -> prost_types::Value {
        prost_types::Value {
            kind: Some(prost_types::value::Kind::StringValue(value.into())),
        }
    }

    fn object(fields: Vec<(&str, prost_types::Value)>) -> prost_types::Value {
        prost_types::Value {
            kind: Some(prost_types::value::Kind::StructValue(prost_types::Struct {
                fields: fields
                    .into_iter()
                    .map(|(key, value)| (key.to_string(), value))
                    .collect(),
            })),
        }
    }

    fn finding() -> pb::Finding {
        let details = prost_types::Struct {
            fields: [
                (
                    "AwsEc2Instance".to_string(),
                    object(vec![
                        ("ImageId", string("ami-1")),
                        (
                            "IpV4Addresses",
                            prost_types::Value {
                                kind: Some(prost_types::value::Kind::ListValue(
                                    prost_types::ListValue {
                                        values: vec![string("10.0.0.1"), string("not an address")],
                                    },
                                )),
                            },
                        ),
                    ]),
                ),
                ("Other".to_string(), object(vec![("team", string("blue"))])),
            ]
            .into_iter()
            .collect(),
        };
        pb::Finding {
            id: "f-1".into(),
            product_arn: "arn:aws:securityhub:us-east-1::product/aws/securityhub".into(),
            aws_account_id: "111111111111".into(),
            region: "us-east-1".into(),
            title: "title".into(),
            types: vec!["TTPs".into(), "TTPs".into(), "Effects".into()],
            severity: Some(pb::FindingSeverity {
                label: pb::SeverityLabel::High as i32,
                normalized: Some(70),
                ..Default::default()
            }),
            updated_at: Some(prost_types::Timestamp {
                seconds: 2,
                nanos: 5_000,
            }),
            compliance: Some(pb::FindingCompliance {
                status: pb::ComplianceStatus::Failed as i32,
                security_control_id: "S3.1".into(),
                ..Default::default()
            }),
            resources: vec![pb::FindingResource {
                r#type: "AwsEc2Instance".into(),
                id: "i-1".into(),
                tags: [("env".to_string(), "prod".to_string())]
                    .into_iter()
                    .collect(),
                details: Some(details),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn column<'a>(index: &'a FindingIndex, name: &str) -> &'a Value {
        &index
            .columns
            .iter()
            .find(|(column, _)| *column == name)
            .unwrap_or_else(|| panic!("column {name}"))
            .1
    }

    #[test]
    fn scalar_attributes_fill_their_columns() {
        let index = FindingIndex::of(&finding());
        assert_eq!(index.key[2], "f-1");
        assert_eq!(column(&index, "severity_label"), &text("HIGH"));
        assert_eq!(
            column(&index, "severity_normalized"),
            &Value::Double(Some(70.0))
        );
        assert_eq!(column(&index, "confidence"), &Value::Double(None));
        assert_eq!(
            column(&index, "updated_at_micros"),
            &Value::BigInt(Some(2_000_005))
        );
        assert_eq!(column(&index, "record_state"), &text("ACTIVE"));
        assert_eq!(column(&index, "workflow_status"), &text("NEW"));
        assert_eq!(column(&index, "compliance_status"), &text("FAILED"));
        assert_eq!(column(&index, "verification_state"), &text(""));
        assert_eq!(column(&index, CONTROL_BUCKET), &text("FAILED"));
        assert!(
            !index
                .columns
                .iter()
                .any(|(column, _)| KEY_COLUMNS.contains(column)),
            "key columns are the caller's"
        );
    }

    #[test]
    fn multi_valued_attributes_become_unique_rows() {
        let rows: Vec<(String, String, String)> = FindingIndex::of(&finding())
            .values
            .into_iter()
            .map(|row| (row.attribute.to_string(), row.key, row.value))
            .collect();
        let row = |attribute: &str, key: &str, value: &str| {
            (attribute.to_string(), key.to_string(), value.to_string())
        };
        assert_eq!(
            rows,
            [
                row("ResourceAwsEc2InstanceImageId", "", "ami-1"),
                row(
                    "ResourceAwsEc2InstanceIpV4Addresses",
                    "40a000001",
                    "10.0.0.1"
                ),
                row("ResourceDetailsOther", "team", "blue"),
                row("ResourceId", "", "i-1"),
                row("ResourceTags", "env", "prod"),
                row("ResourceType", "", "AwsEc2Instance"),
                row("Type", "", "Effects"),
                row("Type", "", "TTPs"),
            ]
        );
    }

    #[test]
    fn only_active_unsuppressed_control_findings_count() {
        let mut control = finding();
        assert_eq!(
            control_contribution(&control),
            Some(("S3.1".into(), Bucket::Failed))
        );
        control.workflow = Some(pb::FindingWorkflow {
            status: pb::WorkflowStatus::Suppressed as i32,
        });
        assert_eq!(control_contribution(&control), None);
        let mut archived = finding();
        archived.record_state = pb::RecordState::Archived as i32;
        assert_eq!(control_contribution(&archived), None);
        let mut warning = finding();
        warning.compliance.as_mut().unwrap().status = pb::ComplianceStatus::NotAvailable as i32;
        assert_eq!(
            control_contribution(&warning),
            Some(("S3.1".into(), Bucket::Unknown))
        );
        let mut plain = finding();
        plain.compliance = None;
        assert_eq!(control_contribution(&plain), None);
    }

    #[test]
    fn heads_cut_long_text_by_characters() {
        let long = "é".repeat(HEAD_CHARS + 5);
        assert_eq!(head(&long).chars().count(), HEAD_CHARS);
        assert_eq!(head("short"), "short");
    }
}
