//! The GetFindings filter language (AWS `AwsSecurityFindingFilters`, spec §3.9): validation of
//! the wire filters and sort criteria into [`Filters`] and [`Sort`], which [`crate::query`]
//! compiles to indexed SQL.
//!
//! Rules: at most [`MAX_ATTRIBUTES`] attributes, each with at most [`MAX_FILTERS`] filters;
//! different attributes are ANDed; on one string attribute positive comparisons (EQUALS, PREFIX,
//! CONTAINS) are ORed and negative ones (NOT_EQUALS, PREFIX_NOT_EQUALS, NOT_CONTAINS) ANDed;
//! CONTAINS and NOT_CONTAINS mix with nothing else, EQUALS not with NOT_EQUALS or
//! PREFIX_NOT_EQUALS; CONTAINS_WORD is rejected. Map filters follow the same rules per key. Several
//! number, date, boolean or IP filters on one attribute are ORed.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
};

use tributary_proto::collector::v1 as pb;
use tributary_runtime::{Error, Violations};

use crate::attributes::{Attribute, Kind, attribute};

/// The AWS exception name of every filter violation.
pub const INVALID_INPUT: &str = "InvalidInputException";
/// Attributes one filter object may name.
pub const MAX_ATTRIBUTES: usize = 10;
/// Filters one attribute may carry.
pub const MAX_FILTERS: usize = 20;
/// Sort keys one request may give.
pub const MAX_SORT_KEYS: usize = 5;
/// The longest DateRange, in days (a century).
pub const MAX_DATE_RANGE_DAYS: i32 = 36_500;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// One positive string comparison; negative comparisons are stored as the positive comparison
/// they exclude.
#[derive(Debug, Clone, PartialEq)]
pub enum StringTest {
    /// Equal to the value.
    Equals(String),
    /// Starts with the value.
    Prefix(String),
    /// Contains the value.
    Contains(String),
}

impl StringTest {
    /// Whether `candidate` passes (the reference semantics the SQL implements).
    pub fn matches(&self, candidate: &str) -> bool {
        match self {
            StringTest::Equals(value) => candidate == value,
            StringTest::Prefix(value) => candidate.starts_with(value.as_str()),
            StringTest::Contains(value) => candidate.contains(value.as_str()),
        }
    }
}

/// Bounds of one NumberFilter; all given bounds must hold.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NumberRange {
    /// At least.
    pub gte: Option<f64>,
    /// At most.
    pub lte: Option<f64>,
    /// More than.
    pub gt: Option<f64>,
    /// Less than.
    pub lt: Option<f64>,
    /// Exactly.
    pub eq: Option<f64>,
}

impl NumberRange {
    /// Whether `value` lies in the range.
    pub fn contains(&self, value: f64) -> bool {
        self.gte.is_none_or(|bound| value >= bound)
            && self.lte.is_none_or(|bound| value <= bound)
            && self.gt.is_none_or(|bound| value > bound)
            && self.lt.is_none_or(|bound| value < bound)
            && self.eq.is_none_or(|bound| value == bound)
    }
}

/// One DateFilter, in microseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTest {
    /// Between fixed instants, inclusive; an absent bound is open.
    Between {
        /// At or after.
        start: Option<i64>,
        /// At or before.
        end: Option<i64>,
    },
    /// Within the last `days` days, up to now.
    Within {
        /// How many days.
        days: i64,
    },
    /// Earlier than `days` days ago.
    OlderThan {
        /// How many days.
        days: i64,
    },
}

impl DateTest {
    /// The inclusive bounds at `now` (microseconds).
    pub fn bounds(&self, now: i64) -> (Option<i64>, Option<i64>) {
        match *self {
            DateTest::Between { start, end } => (start, end),
            DateTest::Within { days } => (
                Some(now.saturating_sub(days.saturating_mul(MICROS_PER_DAY))),
                Some(now),
            ),
            DateTest::OlderThan { days } => (
                None,
                Some(
                    now.saturating_sub(days.saturating_mul(MICROS_PER_DAY))
                        .saturating_sub(1),
                ),
            ),
        }
    }
}

/// One IpFilter: the inclusive range of sortable address keys it covers (see [`ip_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRange {
    /// The network's first address.
    pub low: String,
    /// The network's last address.
    pub high: String,
}

/// What one attribute's filters require.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// String attribute: any positive test (or none given) and no negative test.
    String {
        /// ORed.
        positive: Vec<StringTest>,
        /// Excluded (ANDed NOT).
        negative: Vec<StringTest>,
    },
    /// Map attribute: tests on the value of a key.
    Map {
        /// ORed (key, test).
        positive: Vec<(String, StringTest)>,
        /// Excluded (key, test).
        negative: Vec<(String, StringTest)>,
    },
    /// Number attribute: ORed ranges.
    Number(Vec<NumberRange>),
    /// Date attribute: ORed spans.
    Date(Vec<DateTest>),
    /// Boolean attribute: ORed values.
    Boolean(Vec<bool>),
    /// IP attribute: ORed networks.
    Ip(Vec<IpRange>),
}

/// One filtered attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    /// The attribute.
    pub attribute: &'static Attribute,
    /// What it must satisfy.
    pub test: Test,
}

/// Validated filters: every criterion must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filters {
    /// One per filtered attribute, in attribute-name order.
    pub criteria: Vec<Criterion>,
}

impl Filters {
    /// Validates wire filters; violations name fields under `prefix` (such as `filters`) and fail
    /// with INVALID_ARGUMENT `InvalidInputException`.
    pub fn parse(filters: &pb::FindingFilters, prefix: &str) -> Result<Self, Error> {
        let mut violations = Violations::new();
        let filters = parse_into(filters, prefix, &mut violations);
        violations.finish_with(INVALID_INPUT)?;
        Ok(filters)
    }

    /// The criterion on `name`, if any.
    pub fn criterion(&self, name: &str) -> Option<&Criterion> {
        self.criteria
            .iter()
            .find(|criterion| criterion.attribute.name == name)
    }

    /// The account ids named by the AwsAccountId filter when it holds only EQUALS comparisons.
    pub fn equal_account_ids(&self) -> Option<Vec<String>> {
        match &self.criterion("AwsAccountId")?.test {
            Test::String { positive, negative } if negative.is_empty() => positive
                .iter()
                .map(|test| match test {
                    StringTest::Equals(value) => Some(value.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }

    /// A stable text of the filters, which page tokens are bound to.
    pub fn fingerprint(&self) -> String {
        format!("{:?}", self.criteria)
    }
}

/// The wire filters of one attribute.
enum Given<'a> {
    String(&'a [pb::StringFilter]),
    Number(&'a [pb::NumberFilter]),
    Date(&'a [pb::DateFilter]),
    Map(&'a [pb::MapFilter]),
    Boolean(&'a [pb::BooleanFilter]),
    Ip(&'a [pb::IpFilter]),
}

impl Given<'_> {
    fn len(&self) -> usize {
        match self {
            Given::String(filters) => filters.len(),
            Given::Number(filters) => filters.len(),
            Given::Date(filters) => filters.len(),
            Given::Map(filters) => filters.len(),
            Given::Boolean(filters) => filters.len(),
            Given::Ip(filters) => filters.len(),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Given::String(_) => Kind::String,
            Given::Number(_) => Kind::Number,
            Given::Date(_) => Kind::Date,
            Given::Map(_) => Kind::Map,
            Given::Boolean(_) => Kind::Boolean,
            Given::Ip(_) => Kind::Ip,
        }
    }
}

macro_rules! given {
    ($filters:expr; $($variant:ident $name:literal $field:ident,)*) => {
        vec![$(($name, Given::$variant(&$filters.$field))),*]
    };
}

/// Every attribute of the wire filters, by AWS name.
fn given(filters: &pb::FindingFilters) -> Vec<(&'static str, Given<'_>)> {
    given!(filters;
        String "ProductArn" product_arn,
        String "AwsAccountId" aws_account_id,
        String "Id" id,
        String "GeneratorId" generator_id,
        String "Region" region,
        String "Type" r#type,
        Date "FirstObservedAt" first_observed_at,
        Date "LastObservedAt" last_observed_at,
        Date "CreatedAt" created_at,
        Date "UpdatedAt" updated_at,
        Number "SeverityProduct" severity_product,
        Number "SeverityNormalized" severity_normalized,
        String "SeverityLabel" severity_label,
        Number "Confidence" confidence,
        Number "Criticality" criticality,
        String "Title" title,
        String "Description" description,
        String "RecommendationText" recommendation_text,
        String "SourceUrl" source_url,
        Map "ProductFields" product_fields,
        String "ProductName" product_name,
        String "CompanyName" company_name,
        Map "UserDefinedFields" user_defined_fields,
        String "ResourceType" resource_type,
        String "ResourceId" resource_id,
        String "ResourcePartition" resource_partition,
        String "ResourceRegion" resource_region,
        Map "ResourceTags" resource_tags,
        String "ResourceAwsEc2InstanceType" resource_aws_ec2_instance_type,
        String "ResourceAwsEc2InstanceImageId" resource_aws_ec2_instance_image_id,
        Ip "ResourceAwsEc2InstanceIpV4Addresses" resource_aws_ec2_instance_ip_v4_addresses,
        Ip "ResourceAwsEc2InstanceIpV6Addresses" resource_aws_ec2_instance_ip_v6_addresses,
        String "ResourceAwsEc2InstanceKeyName" resource_aws_ec2_instance_key_name,
        String "ResourceAwsEc2InstanceIamInstanceProfileArn" resource_aws_ec2_instance_iam_instance_profile_arn,
        String "ResourceAwsEc2InstanceVpcId" resource_aws_ec2_instance_vpc_id,
        String "ResourceAwsEc2InstanceSubnetId" resource_aws_ec2_instance_subnet_id,
        String "ResourceAwsS3BucketOwnerId" resource_aws_s3_bucket_owner_id,
        String "ResourceAwsS3BucketOwnerName" resource_aws_s3_bucket_owner_name,
        String "ResourceAwsIamAccessKeyUserName" resource_aws_iam_access_key_user_name,
        String "ResourceAwsIamAccessKeyPrincipalName" resource_aws_iam_access_key_principal_name,
        String "ResourceAwsIamAccessKeyStatus" resource_aws_iam_access_key_status,
        String "ResourceAwsIamUserUserName" resource_aws_iam_user_user_name,
        String "ResourceContainerName" resource_container_name,
        String "ResourceContainerImageId" resource_container_image_id,
        String "ResourceContainerImageName" resource_container_image_name,
        Map "ResourceDetailsOther" resource_details_other,
        String "ComplianceStatus" compliance_status,
        String "VerificationState" verification_state,
        String "WorkflowState" workflow_state,
        String "WorkflowStatus" workflow_status,
        String "RecordState" record_state,
        String "RelatedFindingsProductArn" related_findings_product_arn,
        String "RelatedFindingsId" related_findings_id,
        String "NoteText" note_text,
        Date "NoteUpdatedAt" note_updated_at,
        String "NoteUpdatedBy" note_updated_by,
        Number "FindingProviderFieldsConfidence" finding_provider_fields_confidence,
        Number "FindingProviderFieldsCriticality" finding_provider_fields_criticality,
        String "FindingProviderFieldsRelatedFindingsId" finding_provider_fields_related_findings_id,
        String "FindingProviderFieldsRelatedFindingsProductArn" finding_provider_fields_related_findings_product_arn,
        String "FindingProviderFieldsSeverityLabel" finding_provider_fields_severity_label,
        String "FindingProviderFieldsSeverityOriginal" finding_provider_fields_severity_original,
        String "FindingProviderFieldsTypes" finding_provider_fields_types,
        Boolean "Sample" sample,
        String "ComplianceSecurityControlId" compliance_security_control_id,
        String "ComplianceAssociatedStandardsId" compliance_associated_standards_id,
    )
}

/// The wire field of an AWS attribute name: `ResourceAwsEc2InstanceIpV4Addresses` →
/// `resource_aws_ec2_instance_ip_v4_addresses`.
pub fn field_name(attribute: &str) -> String {
    let mut field = String::with_capacity(attribute.len() + 8);
    for (index, character) in attribute.chars().enumerate() {
        if character.is_ascii_uppercase() {
            if index > 0 {
                field.push('_');
            }
            field.push(character.to_ascii_lowercase());
        } else {
            field.push(character);
        }
    }
    field
}

fn parse_into(filters: &pb::FindingFilters, prefix: &str, violations: &mut Violations) -> Filters {
    let given: Vec<_> = given(filters)
        .into_iter()
        .filter(|(_, given)| given.len() > 0)
        .collect();
    if given.len() > MAX_ATTRIBUTES {
        violations.add(
            prefix,
            format!(
                "names {} attributes; at most {MAX_ATTRIBUTES} attributes may be filtered at once",
                given.len()
            ),
        );
    }
    let mut criteria = Vec::with_capacity(given.len());
    for (name, filters) in given {
        let Some(attribute) = attribute(name).filter(|attribute| attribute.kind == filters.kind())
        else {
            violations.add(
                format!("{prefix}.{}", field_name(name)),
                "is not a filterable attribute",
            );
            continue;
        };
        let field = format!("{prefix}.{}", field_name(name));
        if filters.len() > MAX_FILTERS {
            violations.add(
                &field,
                format!(
                    "holds {} filters; at most {MAX_FILTERS} are allowed per attribute",
                    filters.len()
                ),
            );
            continue;
        }
        let test = match filters {
            Given::String(filters) => string_test(filters, &field, violations),
            Given::Map(filters) => map_test(filters, &field, violations),
            Given::Number(filters) => number_test(filters, &field, violations),
            Given::Date(filters) => date_test(filters, &field, violations),
            Given::Boolean(filters) => Some(Test::Boolean(
                filters.iter().map(|filter| filter.value).collect(),
            )),
            Given::Ip(filters) => ip_test(filters, &field, violations),
        };
        if let Some(test) = test {
            criteria.push(Criterion { attribute, test });
        }
    }
    criteria.sort_by_key(|criterion| criterion.attribute.name);
    Filters { criteria }
}

/// A comparison's polarity and the positive test it stands for.
fn comparison(
    comparison: i32,
    value: &str,
    map: bool,
) -> Result<(pb::StringFilterComparison, bool, StringTest), String> {
    use pb::StringFilterComparison as C;
    let parsed = C::try_from(comparison).unwrap_or(C::Unspecified);
    let value = value.to_string();
    match parsed {
        C::Equals => Ok((parsed, true, StringTest::Equals(value))),
        C::NotEquals => Ok((parsed, false, StringTest::Equals(value))),
        C::Contains => Ok((parsed, true, StringTest::Contains(value))),
        C::NotContains => Ok((parsed, false, StringTest::Contains(value))),
        C::Prefix if !map => Ok((parsed, true, StringTest::Prefix(value))),
        C::PrefixNotEquals if !map => Ok((parsed, false, StringTest::Prefix(value))),
        C::ContainsWord => Err("CONTAINS_WORD is only for the V2 finding APIs".into()),
        _ if map => Err("must be EQUALS, NOT_EQUALS, CONTAINS or NOT_CONTAINS".into()),
        _ => Err(
            "must be EQUALS, PREFIX, NOT_EQUALS, PREFIX_NOT_EQUALS, CONTAINS or NOT_CONTAINS"
                .into(),
        ),
    }
}

/// Why a set of comparisons on one attribute (or one map key) may not be combined.
fn mix_error(comparisons: &BTreeSet<i32>) -> Option<&'static str> {
    use pb::StringFilterComparison as C;
    let has = |comparison: C| comparisons.contains(&(comparison as i32));
    if has(C::Contains) && comparisons.len() > 1 {
        return Some("CONTAINS cannot be combined with other comparisons on one attribute");
    }
    if has(C::NotContains) && comparisons.len() > 1 {
        return Some("NOT_CONTAINS cannot be combined with other comparisons on one attribute");
    }
    if has(C::Equals) && (has(C::NotEquals) || has(C::PrefixNotEquals)) {
        return Some("EQUALS cannot be combined with NOT_EQUALS or PREFIX_NOT_EQUALS");
    }
    None
}

/// Why a filter text cannot be compared: blank, or holding NUL, which PostgreSQL text can neither
/// store nor be compared with (the query would fail on the server instead of being refused).
fn text_problem(value: &str) -> Option<&'static str> {
    if value.trim().is_empty() {
        Some("must not be blank")
    } else if value.contains('\0') {
        Some("must not contain NUL characters")
    } else {
        None
    }
}

fn string_test(
    filters: &[pb::StringFilter],
    field: &str,
    violations: &mut Violations,
) -> Option<Test> {
    let mut positive = Vec::new();
    let mut negative = Vec::new();
    let mut comparisons = BTreeSet::new();
    let mut valid = true;
    for (index, filter) in filters.iter().enumerate() {
        if let Some(problem) = text_problem(&filter.value) {
            violations.add(format!("{field}[{index}].value"), problem);
            valid = false;
        }
        match comparison(filter.comparison, &filter.value, false) {
            Ok((parsed, is_positive, test)) => {
                comparisons.insert(parsed as i32);
                if is_positive {
                    positive.push(test);
                } else {
                    negative.push(test);
                }
            }
            Err(message) => {
                violations.add(format!("{field}[{index}].comparison"), message);
                valid = false;
            }
        }
    }
    if let Some(message) = mix_error(&comparisons) {
        violations.add(field, message);
        valid = false;
    }
    valid.then_some(Test::String { positive, negative })
}

fn map_test(filters: &[pb::MapFilter], field: &str, violations: &mut Violations) -> Option<Test> {
    let mut positive = Vec::new();
    let mut negative = Vec::new();
    let mut comparisons: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    let mut valid = true;
    for (index, filter) in filters.iter().enumerate() {
        if let Some(problem) = text_problem(&filter.key) {
            violations.add(format!("{field}[{index}].key"), problem);
            valid = false;
        }
        if let Some(problem) = text_problem(&filter.value) {
            violations.add(format!("{field}[{index}].value"), problem);
            valid = false;
        }
        match comparison(filter.comparison, &filter.value, true) {
            Ok((parsed, is_positive, test)) => {
                comparisons
                    .entry(filter.key.as_str())
                    .or_default()
                    .insert(parsed as i32);
                let entry = (filter.key.clone(), test);
                if is_positive {
                    positive.push(entry);
                } else {
                    negative.push(entry);
                }
            }
            Err(message) => {
                violations.add(format!("{field}[{index}].comparison"), message);
                valid = false;
            }
        }
    }
    for (key, comparisons) in &comparisons {
        if let Some(message) = mix_error(comparisons) {
            violations.add(field, format!("key {key:?}: {message}"));
            valid = false;
        }
    }
    valid.then_some(Test::Map { positive, negative })
}

fn number_test(
    filters: &[pb::NumberFilter],
    field: &str,
    violations: &mut Violations,
) -> Option<Test> {
    let mut ranges = Vec::with_capacity(filters.len());
    let mut valid = true;
    for (index, filter) in filters.iter().enumerate() {
        let range = NumberRange {
            gte: filter.gte,
            lte: filter.lte,
            gt: filter.gt,
            lt: filter.lt,
            eq: filter.eq,
        };
        let bounds = [range.gte, range.lte, range.gt, range.lt, range.eq];
        if bounds.iter().all(Option::is_none) {
            violations.add(
                format!("{field}[{index}]"),
                "must give at least one of gte, lte, gt, lt and eq",
            );
            valid = false;
        } else if bounds.iter().flatten().any(|bound| !bound.is_finite()) {
            violations.add(format!("{field}[{index}]"), "bounds must be finite numbers");
            valid = false;
        }
        ranges.push(range);
    }
    valid.then_some(Test::Number(ranges))
}

/// Microseconds since the epoch of a protobuf timestamp.
pub fn micros(timestamp: &prost_types::Timestamp) -> i64 {
    timestamp
        .seconds
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(timestamp.nanos / 1000))
}

fn date_test(filters: &[pb::DateFilter], field: &str, violations: &mut Violations) -> Option<Test> {
    let mut tests = Vec::with_capacity(filters.len());
    let mut valid = true;
    for (index, filter) in filters.iter().enumerate() {
        let at = format!("{field}[{index}]");
        let fixed = filter.start.is_some() || filter.end.is_some();
        match (&filter.date_range, fixed) {
            (Some(_), true) => {
                violations.add(&at, "give start/end or date_range, not both");
                valid = false;
            }
            (None, false) => {
                violations.add(&at, "must give start, end or date_range");
                valid = false;
            }
            (None, true) => {
                let start = filter.start.as_ref().map(micros);
                let end = filter.end.as_ref().map(micros);
                if let (Some(start), Some(end)) = (start, end)
                    && start > end
                {
                    violations.add(format!("{at}.end"), "must not be before start");
                    valid = false;
                }
                tests.push(DateTest::Between { start, end });
            }
            (Some(range), false) => {
                if !(1..=MAX_DATE_RANGE_DAYS).contains(&range.value) {
                    violations.add(
                        format!("{at}.date_range.value"),
                        format!("must be 1-{MAX_DATE_RANGE_DAYS}"),
                    );
                    valid = false;
                }
                if !matches!(
                    pb::DateRangeUnit::try_from(range.unit),
                    Ok(pb::DateRangeUnit::Unspecified | pb::DateRangeUnit::Days)
                ) {
                    violations.add(format!("{at}.date_range.unit"), "must be DAYS");
                    valid = false;
                }
                let days = i64::from(range.value);
                match pb::DateRangeComparison::try_from(range.comparison) {
                    Ok(pb::DateRangeComparison::Unspecified | pb::DateRangeComparison::Within) => {
                        tests.push(DateTest::Within { days });
                    }
                    Ok(pb::DateRangeComparison::OlderThan) => {
                        tests.push(DateTest::OlderThan { days });
                    }
                    Err(_) => {
                        violations.add(
                            format!("{at}.date_range.comparison"),
                            "must be WITHIN or OLDER_THAN",
                        );
                        valid = false;
                    }
                }
            }
        }
    }
    valid.then_some(Test::Date(tests))
}

/// The sortable key of an address: `4` and 8 hex digits for IPv4, `6` and 32 for IPv6, so keys
/// of one family compare like the addresses.
pub fn ip_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(address) => format!("4{:08x}", u32::from(address)),
        IpAddr::V6(address) => format!("6{:032x}", u128::from(address)),
    }
}

/// The range of keys a CIDR network covers; `None` when it is not a network.
pub fn cidr_range(cidr: &str) -> Option<IpRange> {
    let (address, length) = match cidr.split_once('/') {
        Some((address, length)) => (address, Some(length)),
        None => (cidr, None),
    };
    let address: IpAddr = address.trim().parse().ok()?;
    let bits: u32 = if address.is_ipv4() { 32 } else { 128 };
    let length: u32 = match length {
        Some(length) => length
            .trim()
            .parse()
            .ok()
            .filter(|length| *length <= bits)?,
        None => bits,
    };
    let (low, high) = match address {
        IpAddr::V4(address) => {
            let mask = u32::MAX.checked_shl(32 - length).unwrap_or(0);
            let network = u32::from(address) & mask;
            (
                IpAddr::from(std::net::Ipv4Addr::from(network)),
                IpAddr::from(std::net::Ipv4Addr::from(network | !mask)),
            )
        }
        IpAddr::V6(address) => {
            let mask = u128::MAX.checked_shl(128 - length).unwrap_or(0);
            let network = u128::from(address) & mask;
            (
                IpAddr::from(std::net::Ipv6Addr::from(network)),
                IpAddr::from(std::net::Ipv6Addr::from(network | !mask)),
            )
        }
    };
    Some(IpRange {
        low: ip_key(low),
        high: ip_key(high),
    })
}

fn ip_test(filters: &[pb::IpFilter], field: &str, violations: &mut Violations) -> Option<Test> {
    let mut ranges = Vec::with_capacity(filters.len());
    for (index, filter) in filters.iter().enumerate() {
        match cidr_range(&filter.cidr) {
            Some(range) => ranges.push(range),
            None => violations.add(
                format!("{field}[{index}].cidr"),
                "must be an IPv4 or IPv6 network such as 10.0.0.0/8",
            ),
        }
    }
    (ranges.len() == filters.len()).then_some(Test::Ip(ranges))
}

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    /// A single-valued attribute.
    pub attribute: &'static Attribute,
    /// Largest first.
    pub descending: bool,
}

/// The order of results; ties are always broken by account, product ARN and id ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// Most significant first; never empty.
    pub keys: Vec<SortKey>,
}

impl Default for Sort {
    /// UpdatedAt, newest first.
    fn default() -> Self {
        Self {
            keys: vec![SortKey {
                attribute: attribute("UpdatedAt").expect("UpdatedAt is catalogued"),
                descending: true,
            }],
        }
    }
}

impl Sort {
    /// Validates wire sort criteria (empty: UpdatedAt descending); violations name
    /// `sort_criteria[i]` and fail with `InvalidInputException`.
    pub fn parse(criteria: &[pb::SortCriterion]) -> Result<Self, Error> {
        if criteria.is_empty() {
            return Ok(Self::default());
        }
        let mut violations = Violations::new();
        if criteria.len() > MAX_SORT_KEYS {
            violations.add(
                "sort_criteria",
                format!("at most {MAX_SORT_KEYS} sort keys are allowed"),
            );
        }
        let mut keys: Vec<SortKey> = Vec::with_capacity(criteria.len());
        for (index, criterion) in criteria.iter().enumerate() {
            let descending = match pb::SortOrder::try_from(criterion.sort_order) {
                Ok(pb::SortOrder::Descending) => true,
                Ok(pb::SortOrder::Ascending | pb::SortOrder::Unspecified) => false,
                Err(_) => {
                    violations.add(
                        format!("sort_criteria[{index}].sort_order"),
                        "must be ASCENDING or DESCENDING",
                    );
                    continue;
                }
            };
            match attribute(&criterion.field).filter(|attribute| attribute.sortable()) {
                Some(attribute) if keys.iter().any(|key| key.attribute == attribute) => {
                    violations.add(
                        format!("sort_criteria[{index}].field"),
                        format!("{} is already a sort key", attribute.name),
                    );
                }
                Some(attribute) => keys.push(SortKey {
                    attribute,
                    descending,
                }),
                None => violations.add(
                    format!("sort_criteria[{index}].field"),
                    format!(
                        "{:?} is not a sortable attribute; use a single-valued filter attribute \
                         such as UpdatedAt, SeverityNormalized or Title",
                        criterion.field
                    ),
                ),
            }
        }
        violations.finish_with(INVALID_INPUT)?;
        Ok(Self { keys })
    }

    /// A stable text of the sort, which page tokens are bound to.
    pub fn fingerprint(&self) -> String {
        self.keys
            .iter()
            .map(|key| format!("{}:{}", key.attribute.name, key.descending))
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::StringFilterComparison as C;

    fn string(value: &str, comparison: C) -> pb::StringFilter {
        pb::StringFilter {
            value: value.into(),
            comparison: comparison as i32,
        }
    }

    fn invalid_fields(filters: &pb::FindingFilters) -> Vec<String> {
        match Filters::parse(filters, "filters") {
            Err(Error::InvalidInput {
                reason, violations, ..
            }) => {
                assert_eq!(reason, INVALID_INPUT);
                violations
                    .into_iter()
                    .map(|violation| violation.field)
                    .collect()
            }
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn field_names_follow_the_wire_names() {
        assert_eq!(field_name("AwsAccountId"), "aws_account_id");
        assert_eq!(
            field_name("ResourceAwsEc2InstanceIpV4Addresses"),
            "resource_aws_ec2_instance_ip_v4_addresses"
        );
        assert_eq!(
            field_name("ResourceAwsS3BucketOwnerId"),
            "resource_aws_s3_bucket_owner_id"
        );
    }

    #[test]
    fn every_wire_attribute_is_catalogued_with_its_kind() {
        let filters = pb::FindingFilters::default();
        let given = given(&filters);
        let mut names = BTreeSet::new();
        for (name, filters) in &given {
            let attribute = attribute(name).unwrap_or_else(|| panic!("{name} is catalogued"));
            assert_eq!(attribute.kind, filters.kind(), "{name}");
            assert!(names.insert(*name), "{name} twice");
        }
        assert_eq!(
            names.len(),
            crate::attributes::ATTRIBUTES.len(),
            "every catalogued attribute is on the wire"
        );
    }

    #[test]
    fn allowed_mixes_parse_and_polarity_is_kept() {
        let filters = pb::FindingFilters {
            title: vec![
                string("a", C::Prefix),
                string("ab", C::NotEquals),
                string("ac", C::PrefixNotEquals),
            ],
            severity_label: vec![string("HIGH", C::Equals), string("CRIT", C::Prefix)],
            ..Default::default()
        };
        let parsed = Filters::parse(&filters, "filters").unwrap();
        assert_eq!(
            parsed.criterion("Title").unwrap().test,
            Test::String {
                positive: vec![StringTest::Prefix("a".into())],
                negative: vec![
                    StringTest::Equals("ab".into()),
                    StringTest::Prefix("ac".into())
                ],
            }
        );
        assert_eq!(parsed.criteria.len(), 2);
    }

    #[test]
    fn rejected_mixes_name_the_attribute() {
        for mix in [
            vec![C::Contains, C::NotContains],
            vec![C::Contains, C::Equals],
            vec![C::NotContains, C::NotEquals],
            vec![C::Equals, C::NotEquals],
            vec![C::Equals, C::PrefixNotEquals],
        ] {
            let filters = pb::FindingFilters {
                title: mix
                    .iter()
                    .map(|comparison| string("x", *comparison))
                    .collect(),
                ..Default::default()
            };
            assert_eq!(invalid_fields(&filters), ["filters.title"], "{mix:?}");
        }
    }

    #[test]
    fn bad_values_and_limits_are_refused() {
        let filters = pb::FindingFilters {
            title: vec![string(" ", C::Equals), string("x", C::ContainsWord)],
            resource_tags: vec![pb::MapFilter {
                key: "env".into(),
                value: "prod".into(),
                comparison: C::Prefix as i32,
            }],
            confidence: vec![pb::NumberFilter::default()],
            updated_at: vec![pb::DateFilter {
                start: Some(prost_types::Timestamp {
                    seconds: 10,
                    nanos: 0,
                }),
                date_range: Some(pb::DateRange {
                    value: 1,
                    ..Default::default()
                }),
                ..Default::default()
            }],
            resource_aws_ec2_instance_ip_v4_addresses: vec![pb::IpFilter {
                cidr: "10.0.0.0/33".into(),
            }],
            ..Default::default()
        };
        assert_eq!(
            invalid_fields(&filters),
            [
                "filters.updated_at[0]",
                "filters.confidence[0]",
                "filters.title[0].value",
                "filters.title[1].comparison",
                "filters.resource_tags[0].comparison",
                "filters.resource_aws_ec2_instance_ip_v4_addresses[0].cidr",
            ]
        );
        let too_many_values = pb::FindingFilters {
            title: vec![string("x", C::Equals); MAX_FILTERS + 1],
            ..Default::default()
        };
        assert_eq!(invalid_fields(&too_many_values), ["filters.title"]);
        let one = vec![string("x", C::Equals)];
        let too_many_attributes = pb::FindingFilters {
            title: one.clone(),
            description: one.clone(),
            id: one.clone(),
            region: one.clone(),
            product_arn: one.clone(),
            product_name: one.clone(),
            company_name: one.clone(),
            generator_id: one.clone(),
            source_url: one.clone(),
            note_text: one.clone(),
            record_state: one,
            ..Default::default()
        };
        assert_eq!(invalid_fields(&too_many_attributes), ["filters"]);
    }

    #[test]
    fn nul_characters_are_refused() {
        // PostgreSQL text cannot hold NUL: such a value failed the query on the server
        // (Internal) instead of being refused as bad input.
        let filters = pb::FindingFilters {
            title: vec![string("a\0b", C::Equals)],
            resource_tags: vec![pb::MapFilter {
                key: "env\0".into(),
                value: "\0".into(),
                comparison: C::Equals as i32,
            }],
            ..Default::default()
        };
        assert_eq!(
            invalid_fields(&filters),
            [
                "filters.title[0].value",
                "filters.resource_tags[0].key",
                "filters.resource_tags[0].value",
            ]
        );
    }

    #[test]
    fn cidr_networks_cover_their_addresses() {
        let range = cidr_range("10.1.0.0/16").unwrap();
        let key = |address: &str| ip_key(address.parse().unwrap());
        assert!(range.low <= key("10.1.0.0") && key("10.1.255.255") <= range.high);
        assert!(key("10.2.0.0") > range.high && key("10.0.255.255") < range.low);
        let single = cidr_range("192.168.0.1").unwrap();
        assert_eq!(single.low, single.high);
        let v6 = cidr_range("2001:db8::/32").unwrap();
        assert!(v6.low <= key("2001:db8::1") && key("2001:db8::1") <= v6.high);
        assert!(key("10.0.0.1") < v6.low, "families never overlap");
        assert_eq!(
            cidr_range("0.0.0.0/0").unwrap().high,
            key("255.255.255.255")
        );
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0/8", "::/129"] {
            assert_eq!(cidr_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn sorts_default_to_newest_first_and_refuse_multi_valued_keys() {
        assert_eq!(Sort::parse(&[]).unwrap(), Sort::default());
        let sort = Sort::parse(&[pb::SortCriterion {
            field: "SeverityNormalized".into(),
            sort_order: pb::SortOrder::Descending as i32,
        }])
        .unwrap();
        assert!(sort.keys[0].descending);
        for field in ["Type", "Nope", "Sample"] {
            assert!(
                Sort::parse(&[pb::SortCriterion {
                    field: field.into(),
                    sort_order: 0,
                }])
                .is_err(),
                "{field}"
            );
        }
    }

    #[test]
    fn date_ranges_resolve_against_now() {
        let day = MICROS_PER_DAY;
        assert_eq!(
            DateTest::Within { days: 2 }.bounds(10 * day),
            (Some(8 * day), Some(10 * day))
        );
        assert_eq!(
            DateTest::OlderThan { days: 2 }.bounds(10 * day),
            (None, Some(8 * day - 1))
        );
    }
}
