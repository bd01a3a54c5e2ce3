//! The filter attributes of GetFindings and insights (AWS `AwsSecurityFindingFilters` names) and
//! where each is stored: single-valued attributes in an indexed column of the findings table,
//! multi-valued ones (types, resources, tags, ...) as rows of the finding-values table.

/// What kind of filter an attribute takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `StringFilter`.
    String,
    /// `NumberFilter`; stored as a nullable double.
    Number,
    /// `DateFilter`; stored as nullable microseconds since the epoch.
    Date,
    /// `MapFilter`; stored as values-table rows with a key.
    Map,
    /// `BooleanFilter`.
    Boolean,
    /// `IpFilter`; stored as values-table rows whose key is the address in sortable form.
    Ip,
}

/// Where an attribute's values live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Storage {
    /// A column of the findings table; absent strings are stored as `''`, absent numbers and
    /// dates as NULL.
    Column(&'static str),
    /// Rows of the finding-values table whose `attribute` is the attribute's name.
    Values,
}

/// One filter attribute.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// The AWS name, such as `SeverityLabel`.
    pub name: &'static str,
    /// The filter it takes.
    pub kind: Kind,
    /// Where it is stored.
    pub storage: Storage,
}

impl Attribute {
    /// True for single-valued attributes, which can sort results.
    pub fn sortable(&self) -> bool {
        matches!(self.storage, Storage::Column(_)) && self.kind != Kind::Boolean
    }

    /// True for attributes an insight can group findings by: strings and IP addresses.
    pub fn groupable(&self) -> bool {
        matches!(self.kind, Kind::String | Kind::Ip)
    }
}

const fn column(name: &'static str, kind: Kind, column: &'static str) -> Attribute {
    Attribute {
        name,
        kind,
        storage: Storage::Column(column),
    }
}

const fn values(name: &'static str, kind: Kind) -> Attribute {
    Attribute {
        name,
        kind,
        storage: Storage::Values,
    }
}

/// Every attribute, in AWS name order.
pub static ATTRIBUTES: &[Attribute] = &[
    column("AwsAccountId", Kind::String, "account_id"),
    column("CompanyName", Kind::String, "company_name"),
    values("ComplianceAssociatedStandardsId", Kind::String),
    column(
        "ComplianceSecurityControlId",
        Kind::String,
        "compliance_security_control_id",
    ),
    column("ComplianceStatus", Kind::String, "compliance_status"),
    column("Confidence", Kind::Number, "confidence"),
    column("CreatedAt", Kind::Date, "created_at_micros"),
    column("Criticality", Kind::Number, "criticality"),
    column("Description", Kind::String, "description"),
    column(
        "FindingProviderFieldsConfidence",
        Kind::Number,
        "fpf_confidence",
    ),
    column(
        "FindingProviderFieldsCriticality",
        Kind::Number,
        "fpf_criticality",
    ),
    values("FindingProviderFieldsRelatedFindingsId", Kind::String),
    values(
        "FindingProviderFieldsRelatedFindingsProductArn",
        Kind::String,
    ),
    column(
        "FindingProviderFieldsSeverityLabel",
        Kind::String,
        "fpf_severity_label",
    ),
    column(
        "FindingProviderFieldsSeverityOriginal",
        Kind::String,
        "fpf_severity_original",
    ),
    values("FindingProviderFieldsTypes", Kind::String),
    column("FirstObservedAt", Kind::Date, "first_observed_at_micros"),
    column("GeneratorId", Kind::String, "generator_id"),
    column("Id", Kind::String, "finding_id"),
    column("LastObservedAt", Kind::Date, "last_observed_at_micros"),
    column("NoteText", Kind::String, "note_text"),
    column("NoteUpdatedAt", Kind::Date, "note_updated_at_micros"),
    column("NoteUpdatedBy", Kind::String, "note_updated_by"),
    column("ProductArn", Kind::String, "product_arn"),
    values("ProductFields", Kind::Map),
    column("ProductName", Kind::String, "product_name"),
    column("RecommendationText", Kind::String, "recommendation_text"),
    column("RecordState", Kind::String, "record_state"),
    column("Region", Kind::String, "region"),
    values("RelatedFindingsId", Kind::String),
    values("RelatedFindingsProductArn", Kind::String),
    values("ResourceAwsEc2InstanceIamInstanceProfileArn", Kind::String),
    values("ResourceAwsEc2InstanceImageId", Kind::String),
    values("ResourceAwsEc2InstanceIpV4Addresses", Kind::Ip),
    values("ResourceAwsEc2InstanceIpV6Addresses", Kind::Ip),
    values("ResourceAwsEc2InstanceKeyName", Kind::String),
    values("ResourceAwsEc2InstanceSubnetId", Kind::String),
    values("ResourceAwsEc2InstanceType", Kind::String),
    values("ResourceAwsEc2InstanceVpcId", Kind::String),
    values("ResourceAwsIamAccessKeyPrincipalName", Kind::String),
    values("ResourceAwsIamAccessKeyStatus", Kind::String),
    values("ResourceAwsIamAccessKeyUserName", Kind::String),
    values("ResourceAwsIamUserUserName", Kind::String),
    values("ResourceAwsS3BucketOwnerId", Kind::String),
    values("ResourceAwsS3BucketOwnerName", Kind::String),
    values("ResourceContainerImageId", Kind::String),
    values("ResourceContainerImageName", Kind::String),
    values("ResourceContainerName", Kind::String),
    values("ResourceDetailsOther", Kind::Map),
    values("ResourceId", Kind::String),
    values("ResourcePartition", Kind::String),
    values("ResourceRegion", Kind::String),
    values("ResourceTags", Kind::Map),
    values("ResourceType", Kind::String),
    column("Sample", Kind::Boolean, "sample"),
    column("SeverityLabel", Kind::String, "severity_label"),
    column("SeverityNormalized", Kind::Number, "severity_normalized"),
    column("SeverityProduct", Kind::Number, "severity_product"),
    column("SourceUrl", Kind::String, "source_url"),
    column("Title", Kind::String, "title"),
    values("Type", Kind::String),
    column("UpdatedAt", Kind::Date, "updated_at_micros"),
    values("UserDefinedFields", Kind::Map),
    column("VerificationState", Kind::String, "verification_state"),
    column("WorkflowState", Kind::String, "workflow_state"),
    column("WorkflowStatus", Kind::String, "workflow_status"),
];

/// Values-table attributes read from a resource's `Details`: the attribute and the path of
/// object keys to a string or a list of strings.
pub(crate) static RESOURCE_DETAILS: &[(&str, &[&str])] = &[
    (
        "ResourceAwsEc2InstanceIamInstanceProfileArn",
        &["AwsEc2Instance", "IamInstanceProfileArn"],
    ),
    (
        "ResourceAwsEc2InstanceImageId",
        &["AwsEc2Instance", "ImageId"],
    ),
    (
        "ResourceAwsEc2InstanceIpV4Addresses",
        &["AwsEc2Instance", "IpV4Addresses"],
    ),
    (
        "ResourceAwsEc2InstanceIpV6Addresses",
        &["AwsEc2Instance", "IpV6Addresses"],
    ),
    (
        "ResourceAwsEc2InstanceKeyName",
        &["AwsEc2Instance", "KeyName"],
    ),
    (
        "ResourceAwsEc2InstanceSubnetId",
        &["AwsEc2Instance", "SubnetId"],
    ),
    ("ResourceAwsEc2InstanceType", &["AwsEc2Instance", "Type"]),
    ("ResourceAwsEc2InstanceVpcId", &["AwsEc2Instance", "VpcId"]),
    (
        "ResourceAwsIamAccessKeyPrincipalName",
        &["AwsIamAccessKey", "PrincipalName"],
    ),
    (
        "ResourceAwsIamAccessKeyStatus",
        &["AwsIamAccessKey", "Status"],
    ),
    (
        "ResourceAwsIamAccessKeyUserName",
        &["AwsIamAccessKey", "UserName"],
    ),
    ("ResourceAwsIamUserUserName", &["AwsIamUser", "UserName"]),
    ("ResourceAwsS3BucketOwnerId", &["AwsS3Bucket", "OwnerId"]),
    (
        "ResourceAwsS3BucketOwnerName",
        &["AwsS3Bucket", "OwnerName"],
    ),
    ("ResourceContainerImageId", &["Container", "ImageId"]),
    ("ResourceContainerImageName", &["Container", "ImageName"]),
    ("ResourceContainerName", &["Container", "Name"]),
];

/// The attribute named `name` (the AWS name, case-sensitive).
pub fn attribute(name: &str) -> Option<&'static Attribute> {
    ATTRIBUTES
        .binary_search_by(|attribute| attribute.name.cmp(name))
        .ok()
        .map(|index| &ATTRIBUTES[index])
}

/// The names of the findings-table columns that hold attributes.
pub fn columns() -> impl Iterator<Item = (&'static str, Kind)> {
    ATTRIBUTES
        .iter()
        .filter_map(|attribute| match attribute.storage {
            Storage::Column(column) => Some((column, attribute.kind)),
            Storage::Values => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_sorted_unique_and_found_by_name() {
        for pair in ATTRIBUTES.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} >= {}",
                pair[0].name,
                pair[1].name
            );
        }
        for attribute in ATTRIBUTES {
            assert_eq!(super::attribute(attribute.name), Some(attribute));
        }
        assert_eq!(super::attribute("severitylabel"), None);
    }

    #[test]
    fn resource_detail_attributes_are_values_attributes() {
        for (name, path) in RESOURCE_DETAILS {
            let attribute = attribute(name).expect("a catalogued attribute");
            assert_eq!(attribute.storage, Storage::Values, "{name}");
            assert!(path.len() >= 2);
        }
    }

    #[test]
    fn only_single_valued_non_boolean_attributes_sort() {
        assert!(attribute("UpdatedAt").unwrap().sortable());
        assert!(attribute("Title").unwrap().sortable());
        assert!(!attribute("Type").unwrap().sortable());
        assert!(!attribute("Sample").unwrap().sortable());
        assert!(attribute("ResourceId").unwrap().groupable());
        assert!(!attribute("ResourceTags").unwrap().groupable());
    }
}
