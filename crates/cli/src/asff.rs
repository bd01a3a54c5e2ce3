//! Findings in the AWS Security Finding Format as JSON (PascalCase field names, as AWS tools
//! write them) mapped onto Tributary's typed `Finding`. Fields the typed finding does not carry
//! are skipped and named, so an import can say what it left out; values of the wrong shape fail
//! the finding with a message naming the field.

use std::collections::HashMap;

use serde_json::{Map, Value};
use tributary_proto::collector::v1 as pb;

/// A finding mapped from ASFF JSON, and the fields it skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The typed finding.
    pub finding: pb::Finding,
    /// The paths of fields the typed finding does not carry (`Network`, `Resources.Partition2`).
    pub ignored_fields: Vec<String>,
}

/// Why an ASFF finding could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    /// The finding's `Id`, when it has one.
    pub id: String,
    /// What was wrong, naming the field.
    pub message: String,
}

/// Maps one ASFF finding object.
pub fn finding_from_asff(value: &Value) -> Result<Mapped, MappingError> {
    let id = value
        .get("Id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut reader = Reader::default();
    let finding = reader.finding(value).map_err(|message| MappingError {
        id: id.clone(),
        message,
    })?;
    Ok(Mapped {
        finding,
        ignored_fields: reader.ignored,
    })
}

type Field<T> = Result<T, String>;

#[derive(Default)]
struct Reader {
    ignored: Vec<String>,
}

impl Reader {
    fn object<'a>(&self, value: &'a Value, path: &str) -> Field<&'a Map<String, Value>> {
        value
            .as_object()
            .ok_or_else(|| format!("{path} must be a JSON object"))
    }

    fn ignore(&mut self, path: &str, key: &str) {
        self.ignored.push(if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        });
    }

    fn finding(&mut self, value: &Value) -> Field<pb::Finding> {
        let fields = self.object(value, "the finding")?;
        let mut finding = pb::Finding::default();
        for (key, value) in fields {
            match key.as_str() {
                "SchemaVersion" => finding.schema_version = string(value, key)?,
                "Id" => finding.id = string(value, key)?,
                "ProductArn" => finding.product_arn = string(value, key)?,
                "ProductName" => finding.product_name = string(value, key)?,
                "CompanyName" => finding.company_name = string(value, key)?,
                "GeneratorId" => finding.generator_id = string(value, key)?,
                "AwsAccountId" => finding.aws_account_id = string(value, key)?,
                "Region" => finding.region = string(value, key)?,
                "Types" => finding.types = strings(value, key)?,
                "FirstObservedAt" => finding.first_observed_at = Some(timestamp(value, key)?),
                "LastObservedAt" => finding.last_observed_at = Some(timestamp(value, key)?),
                "CreatedAt" => finding.created_at = Some(timestamp(value, key)?),
                "UpdatedAt" => finding.updated_at = Some(timestamp(value, key)?),
                "ProcessedAt" => finding.processed_at = Some(timestamp(value, key)?),
                "Severity" => finding.severity = Some(self.severity(value, key)?),
                "Confidence" => finding.confidence = Some(integer(value, key)?),
                "Criticality" => finding.criticality = Some(integer(value, key)?),
                "Title" => finding.title = string(value, key)?,
                "Description" => finding.description = string(value, key)?,
                "Remediation" => finding.remediation = Some(self.remediation(value, key)?),
                "SourceUrl" => finding.source_url = string(value, key)?,
                "ProductFields" => finding.product_fields = string_map(value, key)?,
                "UserDefinedFields" => finding.user_defined_fields = string_map(value, key)?,
                "Resources" => {
                    let items = array(value, key)?;
                    finding.resources = items
                        .iter()
                        .enumerate()
                        .map(|(index, item)| self.resource(item, &format!("Resources[{index}]")))
                        .collect::<Field<_>>()?;
                }
                "Compliance" => finding.compliance = Some(self.compliance(value, key)?),
                "VerificationState" => {
                    finding.verification_state = enumeration(value, key, |name| {
                        pb::VerificationState::from_str_name(&format!("VERIFICATION_STATE_{name}"))
                            .map(|state| state as i32)
                    })?;
                }
                "Workflow" => finding.workflow = Some(self.workflow(value, key)?),
                "WorkflowState" => {
                    finding.workflow_state = enumeration(value, key, |name| {
                        pb::WorkflowState::from_str_name(&format!("WORKFLOW_STATE_{name}"))
                            .map(|state| state as i32)
                    })?;
                }
                "RecordState" => {
                    finding.record_state = enumeration(value, key, |name| {
                        pb::RecordState::from_str_name(&format!("RECORD_STATE_{name}"))
                            .map(|state| state as i32)
                    })?;
                }
                "RelatedFindings" => finding.related_findings = self.related(value, key)?,
                "Note" => finding.note = Some(self.note(value, key)?),
                "FindingProviderFields" => {
                    finding.finding_provider_fields = Some(self.provider_fields(value, key)?);
                }
                "Sample" => {
                    finding.sample = value
                        .as_bool()
                        .ok_or_else(|| format!("{key} must be true or false"))?;
                }
                other => self.ignore("", other),
            }
        }
        Ok(finding)
    }

    fn severity(&mut self, value: &Value, path: &str) -> Field<pb::FindingSeverity> {
        let mut severity = pb::FindingSeverity::default();
        for (key, value) in self.object(value, path)? {
            let field = format!("{path}.{key}");
            match key.as_str() {
                "Label" => severity.label = severity_label(value, &field)?,
                "Normalized" => severity.normalized = Some(integer(value, &field)?),
                "Original" => severity.original = string(value, &field)?,
                "Product" => severity.product = Some(number(value, &field)?),
                other => self.ignore(path, other),
            }
        }
        Ok(severity)
    }

    fn remediation(&mut self, value: &Value, path: &str) -> Field<pb::FindingRemediation> {
        let mut remediation = pb::FindingRemediation::default();
        for (key, value) in self.object(value, path)? {
            match key.as_str() {
                "Recommendation" => {
                    let field = format!("{path}.Recommendation");
                    let mut recommendation = pb::FindingRecommendation::default();
                    for (key, value) in self.object(value, &field)? {
                        match key.as_str() {
                            "Text" => {
                                recommendation.text = string(value, &format!("{field}.Text"))?
                            }
                            "Url" => recommendation.url = string(value, &format!("{field}.Url"))?,
                            other => self.ignore(&field, other),
                        }
                    }
                    remediation.recommendation = Some(recommendation);
                }
                other => self.ignore(path, other),
            }
        }
        Ok(remediation)
    }

    fn resource(&mut self, value: &Value, path: &str) -> Field<pb::FindingResource> {
        let mut resource = pb::FindingResource::default();
        for (key, value) in self.object(value, path)? {
            let field = format!("{path}.{key}");
            match key.as_str() {
                "Type" => resource.r#type = string(value, &field)?,
                "Id" => resource.id = string(value, &field)?,
                "Partition" => resource.partition = string(value, &field)?,
                "Region" => resource.region = string(value, &field)?,
                "Tags" => resource.tags = string_map(value, &field)?,
                "Details" => {
                    let details = self.object(value, &field)?;
                    resource.details = Some(to_struct(details));
                }
                // Ignored-field counts name the attribute once, not once per resource index.
                other => self.ignore("Resources", other),
            }
        }
        Ok(resource)
    }

    fn compliance(&mut self, value: &Value, path: &str) -> Field<pb::FindingCompliance> {
        let mut compliance = pb::FindingCompliance::default();
        for (key, value) in self.object(value, path)? {
            let field = format!("{path}.{key}");
            match key.as_str() {
                "Status" => {
                    compliance.status = enumeration(value, &field, |name| {
                        pb::ComplianceStatus::from_str_name(&format!("COMPLIANCE_STATUS_{name}"))
                            .map(|status| status as i32)
                    })?;
                }
                "SecurityControlId" => compliance.security_control_id = string(value, &field)?,
                "AssociatedStandards" => {
                    for (index, item) in array(value, &field)?.iter().enumerate() {
                        let item_path = format!("{field}[{index}]");
                        let mut standard = pb::FindingAssociatedStandard::default();
                        for (key, value) in self.object(item, &item_path)? {
                            match key.as_str() {
                                "StandardsId" => {
                                    standard.standards_id =
                                        string(value, &format!("{item_path}.StandardsId"))?;
                                }
                                other => self.ignore(&field, other),
                            }
                        }
                        compliance.associated_standards.push(standard);
                    }
                }
                "StatusReasons" => {
                    for (index, item) in array(value, &field)?.iter().enumerate() {
                        let item_path = format!("{field}[{index}]");
                        let mut reason = pb::FindingStatusReason::default();
                        for (key, value) in self.object(item, &item_path)? {
                            match key.as_str() {
                                "ReasonCode" => {
                                    reason.reason_code =
                                        string(value, &format!("{item_path}.ReasonCode"))?;
                                }
                                "Description" => {
                                    reason.description =
                                        string(value, &format!("{item_path}.Description"))?;
                                }
                                other => self.ignore(&field, other),
                            }
                        }
                        compliance.status_reasons.push(reason);
                    }
                }
                other => self.ignore(path, other),
            }
        }
        Ok(compliance)
    }

    fn workflow(&mut self, value: &Value, path: &str) -> Field<pb::FindingWorkflow> {
        let mut workflow = pb::FindingWorkflow::default();
        for (key, value) in self.object(value, path)? {
            match key.as_str() {
                "Status" => {
                    workflow.status = enumeration(value, &format!("{path}.Status"), |name| {
                        pb::WorkflowStatus::from_str_name(&format!("WORKFLOW_STATUS_{name}"))
                            .map(|status| status as i32)
                    })?;
                }
                other => self.ignore(path, other),
            }
        }
        Ok(workflow)
    }

    fn related(&mut self, value: &Value, path: &str) -> Field<Vec<pb::FindingRelatedFinding>> {
        let mut related = Vec::new();
        for (index, item) in array(value, path)?.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            let mut finding = pb::FindingRelatedFinding::default();
            for (key, value) in self.object(item, &item_path)? {
                match key.as_str() {
                    "ProductArn" => {
                        finding.product_arn = string(value, &format!("{item_path}.ProductArn"))?;
                    }
                    "Id" => finding.id = string(value, &format!("{item_path}.Id"))?,
                    other => self.ignore(path, other),
                }
            }
            related.push(finding);
        }
        Ok(related)
    }

    fn note(&mut self, value: &Value, path: &str) -> Field<pb::FindingNote> {
        let mut note = pb::FindingNote::default();
        for (key, value) in self.object(value, path)? {
            let field = format!("{path}.{key}");
            match key.as_str() {
                "Text" => note.text = string(value, &field)?,
                "UpdatedBy" => note.updated_by = string(value, &field)?,
                "UpdatedAt" => note.updated_at = Some(timestamp(value, &field)?),
                other => self.ignore(path, other),
            }
        }
        Ok(note)
    }

    fn provider_fields(&mut self, value: &Value, path: &str) -> Field<pb::FindingProviderFields> {
        let mut fields = pb::FindingProviderFields::default();
        for (key, value) in self.object(value, path)? {
            let field = format!("{path}.{key}");
            match key.as_str() {
                "Confidence" => fields.confidence = Some(integer(value, &field)?),
                "Criticality" => fields.criticality = Some(integer(value, &field)?),
                "RelatedFindings" => fields.related_findings = self.related(value, &field)?,
                "Severity" => fields.severity = Some(self.severity(value, &field)?),
                "Types" => fields.types = strings(value, &field)?,
                other => self.ignore(path, other),
            }
        }
        Ok(fields)
    }
}

fn string(value: &Value, field: &str) -> Field<String> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{field} must be a string"))
}

fn array<'a>(value: &'a Value, field: &str) -> Field<&'a Vec<Value>> {
    value
        .as_array()
        .ok_or_else(|| format!("{field} must be a JSON array"))
}

fn strings(value: &Value, field: &str) -> Field<Vec<String>> {
    array(value, field)?
        .iter()
        .enumerate()
        .map(|(index, item)| string(item, &format!("{field}[{index}]")))
        .collect()
}

fn string_map(value: &Value, field: &str) -> Field<HashMap<String, String>> {
    value
        .as_object()
        .ok_or_else(|| format!("{field} must be a JSON object of strings"))?
        .iter()
        .map(|(key, value)| Ok((key.clone(), string(value, &format!("{field}.{key}"))?)))
        .collect()
}

fn integer(value: &Value, field: &str) -> Field<i32> {
    value
        .as_i64()
        .and_then(|number| i32::try_from(number).ok())
        .ok_or_else(|| format!("{field} must be a whole number"))
}

fn number(value: &Value, field: &str) -> Field<f64> {
    value
        .as_f64()
        .ok_or_else(|| format!("{field} must be a number"))
}

fn enumeration(value: &Value, field: &str, parse: impl Fn(&str) -> Option<i32>) -> Field<i32> {
    let name = string(value, field)?;
    parse(&name).ok_or_else(|| format!("{field} has an unknown value {name:?}"))
}

fn severity_label(value: &Value, field: &str) -> Field<i32> {
    enumeration(value, field, |name| {
        pb::SeverityLabel::from_str_name(&format!("SEVERITY_LABEL_{name}"))
            .map(|label| label as i32)
    })
}

/// An ASFF timestamp: RFC 3339 (`2024-05-01T12:00:00.123Z`), or without an offset read as UTC.
fn timestamp(value: &Value, field: &str) -> Field<prost_types::Timestamp> {
    let text = string(value, field)?;
    let parsed = chrono::DateTime::parse_from_rfc3339(&text)
        .map(|time| time.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|time| time.and_utc())
        })
        .map_err(|_| {
            format!("{field} must be an ISO 8601 time such as 2024-05-01T12:00:00Z, not {text:?}")
        })?;
    Ok(prost_types::Timestamp {
        seconds: parsed.timestamp(),
        nanos: i32::try_from(parsed.timestamp_subsec_nanos()).unwrap_or(0),
    })
}

/// A JSON object as a `google.protobuf.Struct`.
pub fn to_struct(fields: &Map<String, Value>) -> prost_types::Struct {
    prost_types::Struct {
        fields: fields
            .iter()
            .map(|(key, value)| (key.clone(), to_value(value)))
            .collect(),
    }
}

fn to_value(value: &Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(flag) => Kind::BoolValue(*flag),
        Value::Number(number) => Kind::NumberValue(number.as_f64().unwrap_or_default()),
        Value::String(text) => Kind::StringValue(text.clone()),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(to_value).collect(),
        }),
        Value::Object(fields) => Kind::StructValue(to_struct(fields)),
    };
    prost_types::Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn guardduty() -> Value {
        json!({
            "SchemaVersion": "2018-10-08",
            "Id": "arn:aws:guardduty:us-east-1:111111111111:detector/d1/finding/f1",
            "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty",
            "GeneratorId": "arn:aws:guardduty:us-east-1:111111111111:detector/d1",
            "AwsAccountId": "111111111111",
            "Types": ["TTPs/Command and Control/Backdoor:EC2-C&CActivity.B"],
            "CreatedAt": "2024-05-01T12:00:00.123Z",
            "UpdatedAt": "2024-05-02T08:30:00Z",
            "Severity": {"Label": "HIGH", "Normalized": 70, "Original": "8.0"},
            "Confidence": 80,
            "Title": "EC2 instance is querying a command and control server",
            "Description": "i-0abc is querying a domain associated with a C&C server.",
            "Remediation": {"Recommendation": {"Text": "Isolate the instance", "Url": "https://docs.aws.amazon.com/guardduty"}},
            "ProductFields": {"detectorId": "d1"},
            "Resources": [{
                "Type": "AwsEc2Instance",
                "Id": "arn:aws:ec2:us-east-1:111111111111:instance/i-0abc",
                "Partition": "aws",
                "Region": "us-east-1",
                "Tags": {"Stage": "prod"},
                "Details": {"AwsEc2Instance": {"Type": "t3.large", "IpV4Addresses": ["10.0.0.4"]}}
            }],
            "Compliance": {"Status": "FAILED", "SecurityControlId": "EC2.8",
                "AssociatedStandards": [{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"}]},
            "Workflow": {"Status": "NEW"},
            "RecordState": "ACTIVE",
            "Note": {"Text": "triage", "UpdatedBy": "oncall", "UpdatedAt": "2024-05-02T09:00:00Z"},
            "FindingProviderFields": {"Severity": {"Label": "HIGH", "Original": "8.0"}, "Types": ["TTPs"]},
            "Network": {"Direction": "OUT"},
            "Action": {"ActionType": "DNS_REQUEST"}
        })
    }

    #[test]
    fn asff_fields_map_onto_the_typed_finding() {
        let mapped = finding_from_asff(&guardduty()).expect("a valid finding maps");
        let finding = mapped.finding;
        assert_eq!(finding.aws_account_id, "111111111111");
        assert_eq!(
            finding.severity.as_ref().map(|severity| severity.label),
            Some(pb::SeverityLabel::High as i32)
        );
        assert_eq!(finding.confidence, Some(80));
        let created = finding.created_at.expect("CreatedAt");
        assert_eq!(
            (created.seconds, created.nanos),
            (1_714_564_800, 123_000_000)
        );
        assert_eq!(finding.resources[0].tags["Stage"], "prod");
        let details = finding.resources[0].details.as_ref().expect("details");
        assert!(details.fields.contains_key("AwsEc2Instance"));
        let compliance = finding.compliance.expect("compliance");
        assert_eq!(compliance.status, pb::ComplianceStatus::Failed as i32);
        assert_eq!(compliance.security_control_id, "EC2.8");
        assert_eq!(
            finding.workflow.map(|workflow| workflow.status),
            Some(pb::WorkflowStatus::New as i32)
        );
        assert_eq!(finding.record_state, pb::RecordState::Active as i32);
        assert_eq!(finding.note.expect("note").updated_by, "oncall");
        let mut ignored = mapped.ignored_fields;
        ignored.sort();
        assert_eq!(ignored, vec!["Action".to_string(), "Network".to_string()]);
    }

    #[test]
    fn a_value_of_the_wrong_shape_names_the_field() {
        let mut finding = guardduty();
        finding["Severity"]["Label"] = json!("SEVERE");
        let error = finding_from_asff(&finding).expect_err("an unknown label fails");
        assert_eq!(
            error.id,
            "arn:aws:guardduty:us-east-1:111111111111:detector/d1/finding/f1"
        );
        assert!(
            error.message.contains("Severity.Label"),
            "{}",
            error.message
        );

        let mut finding = guardduty();
        finding["UpdatedAt"] = json!("yesterday");
        let error = finding_from_asff(&finding).expect_err("a bad time fails");
        assert!(error.message.contains("UpdatedAt"), "{}", error.message);
    }
}
