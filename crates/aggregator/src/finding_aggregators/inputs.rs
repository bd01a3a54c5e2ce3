//! Validation of finding aggregator requests: wire messages become domain inputs here, reporting
//! every bad field at once with Security Hub's `InvalidInputException`. Whether regions are
//! registered, whether the owner's hub is enabled and whether it already has an aggregator needs
//! membership and the store, so the domain checks those afterwards.

use std::{collections::BTreeSet, fmt};

use tributary_proto::{aggregator::v1 as pb, membership::v1 as membership_pb};
use tributary_runtime::{
    Violations,
    auth::{Caller, Principal},
    ids::{truncate_for_message, validate_account_id, validate_region_name},
};

use crate::error::{Error, Result};

/// AWS exception names of finding aggregators besides the shared ones.
pub mod reason {
    /// Bad input, or a state of the account that forbids the call (Security Hub's catch-all).
    pub const INVALID_INPUT: &str = "InvalidInputException";
    /// The account has not enabled Security Hub in the region.
    pub const INVALID_ACCESS: &str = "InvalidAccessException";
    /// The account already has its one finding aggregator.
    pub const LIMIT_EXCEEDED: &str = "LimitExceededException";
}

/// What Security Hub answers a member that tries to create an aggregator.
pub const MEMBER_CANNOT_CREATE: &str =
    "A finding aggregator cannot be created by a member account.";

/// How a finding aggregator links regions (AWS RegionLinkingMode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkingMode {
    /// Every registered region, now and later.
    AllRegions,
    /// Every registered region, now and later, except the listed ones.
    AllRegionsExceptSpecified,
    /// Exactly the listed regions.
    SpecifiedRegions,
    /// No linked region: only the home region.
    NoRegions,
}

impl LinkingMode {
    /// The stored name (the AWS name).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkingMode::AllRegions => "ALL_REGIONS",
            LinkingMode::AllRegionsExceptSpecified => "ALL_REGIONS_EXCEPT_SPECIFIED",
            LinkingMode::SpecifiedRegions => "SPECIFIED_REGIONS",
            LinkingMode::NoRegions => "NO_REGIONS",
        }
    }

    /// Reads a stored name; `None` for anything this version did not write.
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "ALL_REGIONS" => Some(LinkingMode::AllRegions),
            "ALL_REGIONS_EXCEPT_SPECIFIED" => Some(LinkingMode::AllRegionsExceptSpecified),
            "SPECIFIED_REGIONS" => Some(LinkingMode::SpecifiedRegions),
            "NO_REGIONS" => Some(LinkingMode::NoRegions),
            _ => None,
        }
    }

    fn from_wire(value: i32) -> Option<Self> {
        match pb::RegionLinkingMode::try_from(value).ok()? {
            pb::RegionLinkingMode::AllRegions => Some(LinkingMode::AllRegions),
            pb::RegionLinkingMode::AllRegionsExceptSpecified => {
                Some(LinkingMode::AllRegionsExceptSpecified)
            }
            pb::RegionLinkingMode::SpecifiedRegions => Some(LinkingMode::SpecifiedRegions),
            pb::RegionLinkingMode::NoRegions => Some(LinkingMode::NoRegions),
            pb::RegionLinkingMode::Unspecified => None,
        }
    }

    /// The wire form of this API.
    pub fn to_proto(self) -> pb::RegionLinkingMode {
        match self {
            LinkingMode::AllRegions => pb::RegionLinkingMode::AllRegions,
            LinkingMode::AllRegionsExceptSpecified => {
                pb::RegionLinkingMode::AllRegionsExceptSpecified
            }
            LinkingMode::SpecifiedRegions => pb::RegionLinkingMode::SpecifiedRegions,
            LinkingMode::NoRegions => pb::RegionLinkingMode::NoRegions,
        }
    }

    /// The wire form of membership's declarations.
    pub fn to_membership(self) -> membership_pb::RegionLinkingMode {
        match self {
            LinkingMode::AllRegions => membership_pb::RegionLinkingMode::AllRegions,
            LinkingMode::AllRegionsExceptSpecified => {
                membership_pb::RegionLinkingMode::AllRegionsExceptSpecified
            }
            LinkingMode::SpecifiedRegions => membership_pb::RegionLinkingMode::SpecifiedRegions,
            LinkingMode::NoRegions => membership_pb::RegionLinkingMode::NoRegions,
        }
    }

    /// True when the mode links `region` (a region other than the home region) given the listed
    /// regions.
    pub fn links(self, region: &str, listed: &[String]) -> bool {
        let is_listed = listed.iter().any(|listed| listed == region);
        match self {
            LinkingMode::AllRegions => true,
            LinkingMode::AllRegionsExceptSpecified => !is_listed,
            LinkingMode::SpecifiedRegions => is_listed,
            LinkingMode::NoRegions => false,
        }
    }
}

impl fmt::Display for LinkingMode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A validated linking mode with its region list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linking {
    /// The mode.
    pub mode: LinkingMode,
    /// The exclusion or inclusion list, sorted and unique; empty for ALL_REGIONS and NO_REGIONS.
    pub regions: Vec<String>,
}

/// Checks `region_linking_mode` and `regions` against the rules of spec §1.2 (`home_region` is
/// `None` when it is itself malformed, so listing it cannot be judged).
fn check_linking(
    violations: &mut Violations,
    home_region: Option<&str>,
    mode: i32,
    regions: &[String],
) -> Option<Linking> {
    let mode = LinkingMode::from_wire(mode);
    if mode.is_none() {
        violations.add(
            "region_linking_mode",
            "must be ALL_REGIONS, ALL_REGIONS_EXCEPT_SPECIFIED, SPECIFIED_REGIONS or NO_REGIONS",
        );
    }
    let mut listed = BTreeSet::new();
    for (index, region) in regions.iter().enumerate() {
        let field = format!("regions[{index}]");
        if let Err(problem) = validate_region_name(region) {
            violations.add(field, problem);
        } else if Some(region.as_str()) == home_region {
            violations.add(
                field,
                format!(
                    "{region} is the home region, which is never linked: it is where findings are \
                     aggregated"
                ),
            );
        } else if !listed.insert(region.clone()) {
            violations.add(field, format!("lists {region} more than once"));
        }
    }
    match mode {
        Some(mode @ (LinkingMode::AllRegions | LinkingMode::NoRegions)) if !regions.is_empty() => {
            violations.add(
                "regions",
                format!("must be empty when region_linking_mode is {mode}"),
            );
        }
        Some(mode @ (LinkingMode::AllRegionsExceptSpecified | LinkingMode::SpecifiedRegions))
            if regions.is_empty() =>
        {
            violations.add(
                "regions",
                format!("must list at least one region when region_linking_mode is {mode}"),
            );
        }
        _ => {}
    }
    mode.map(|mode| Linking {
        mode,
        regions: listed.into_iter().collect(),
    })
}

fn check_calling_region(violations: &mut Violations, region: &str) -> bool {
    match validate_region_name(region) {
        Ok(()) => true,
        Err(problem) => {
            violations.add("region", problem);
            false
        }
    }
}

fn finish(violations: Violations) -> Result<()> {
    Ok(violations.finish_with(reason::INVALID_INPUT)?)
}

/// A finding aggregator's ARN: `arn:aws:securityhub:<home region>:<account>:finding-aggregator/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatorArn {
    /// The home region.
    pub home_region: String,
    /// The owner account.
    pub owner_account_id: String,
    /// The random id.
    pub aggregator_id: String,
}

const ARN_PREFIX: &str = "arn:aws:securityhub:";
const ARN_RESOURCE: &str = "finding-aggregator/";
const MAX_AGGREGATOR_ID: usize = 64;

impl AggregatorArn {
    /// A new ARN with a random version-4 UUID as its id.
    pub fn generate(home_region: &str, owner_account_id: &str) -> Self {
        Self {
            home_region: home_region.to_string(),
            owner_account_id: owner_account_id.to_string(),
            aggregator_id: random_uuid(),
        }
    }

    /// Reads an ARN, describing what is wrong with a malformed one.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let shape = || {
            format!(
                "must be a finding aggregator ARN such as \
                 \"arn:aws:securityhub:us-east-1:111122223333:finding-aggregator/<id>\", got {:?}",
                truncate_for_message(text)
            )
        };
        let rest = text.strip_prefix(ARN_PREFIX).ok_or_else(shape)?;
        let mut parts = rest.splitn(3, ':');
        let (Some(home_region), Some(owner_account_id), Some(resource)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(shape());
        };
        let aggregator_id = resource.strip_prefix(ARN_RESOURCE).ok_or_else(shape)?;
        let id_shaped = !aggregator_id.is_empty()
            && aggregator_id.len() <= MAX_AGGREGATOR_ID
            && aggregator_id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
        if validate_region_name(home_region).is_err()
            || validate_account_id(owner_account_id).is_err()
            || !id_shaped
        {
            return Err(shape());
        }
        Ok(Self {
            home_region: home_region.to_string(),
            owner_account_id: owner_account_id.to_string(),
            aggregator_id: aggregator_id.to_string(),
        })
    }
}

impl fmt::Display for AggregatorArn {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{ARN_PREFIX}{}:{}:{ARN_RESOURCE}{}",
            self.home_region, self.owner_account_id, self.aggregator_id
        )
    }
}

/// A random version-4 UUID in its usual lowercase form.
fn random_uuid() -> String {
    let mut hex: Vec<char> = tributary_runtime::db::random_hex(16).chars().collect();
    // Version 4 in the 13th digit; the RFC 4122 variant (8, 9, a or b) in the 17th.
    hex[12] = '4';
    hex[16] = match hex[16].to_digit(16).unwrap_or(0) & 0x3 {
        0 => '8',
        1 => '9',
        2 => 'a',
        _ => 'b',
    };
    let hex: String = hex.into_iter().collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn check_arn(violations: &mut Violations, text: &str) -> Option<AggregatorArn> {
    match AggregatorArn::parse(text) {
        Ok(arn) => Some(arn),
        Err(problem) => {
            violations.add("finding_aggregator_arn", problem);
            None
        }
    }
}

/// A validated CreateFindingAggregator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAggregator {
    /// The owner as the request named it (empty: the caller's own account).
    pub requested_owner: String,
    /// The region the call is made in: the new home region.
    pub home_region: String,
    /// The linking mode and list.
    pub linking: Linking,
    /// The regions as the request listed them, so later checks name `regions[i]` correctly.
    pub requested_regions: Vec<String>,
    /// Whether replication copies existing findings of newly linked regions.
    pub backfill_existing_findings: bool,
}

impl TryFrom<pb::CreateFindingAggregatorRequest> for CreateAggregator {
    type Error = Error;

    fn try_from(request: pb::CreateFindingAggregatorRequest) -> Result<Self> {
        let mut violations = Violations::new();
        if !request.owner_account_id.is_empty() {
            violations.check(
                "owner_account_id",
                validate_account_id(&request.owner_account_id),
            );
        }
        let home_shaped = check_calling_region(&mut violations, &request.region);
        let linking = check_linking(
            &mut violations,
            home_shaped.then_some(request.region.as_str()),
            request.region_linking_mode,
            &request.regions,
        );
        finish(violations)?;
        Ok(Self {
            requested_owner: request.owner_account_id,
            home_region: request.region,
            linking: linking.ok_or_else(lost_violation)?,
            requested_regions: request.regions,
            backfill_existing_findings: request.backfill_existing_findings,
        })
    }
}

/// A validated UpdateFindingAggregator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateAggregator {
    /// The aggregator.
    pub arn: AggregatorArn,
    /// The region the call is made in.
    pub region: String,
    /// The new linking mode and list.
    pub linking: Linking,
    /// The regions as the request listed them, so later checks name `regions[i]` correctly.
    pub requested_regions: Vec<String>,
}

impl TryFrom<pb::UpdateFindingAggregatorRequest> for UpdateAggregator {
    type Error = Error;

    fn try_from(request: pb::UpdateFindingAggregatorRequest) -> Result<Self> {
        let mut violations = Violations::new();
        let arn = check_arn(&mut violations, &request.finding_aggregator_arn);
        check_calling_region(&mut violations, &request.region);
        // The home region is the ARN's; only it cannot be listed.
        let linking = check_linking(
            &mut violations,
            arn.as_ref().map(|arn| arn.home_region.as_str()),
            request.region_linking_mode,
            &request.regions,
        );
        finish(violations)?;
        Ok(Self {
            arn: arn.ok_or_else(lost_violation)?,
            region: request.region,
            linking: linking.ok_or_else(lost_violation)?,
            requested_regions: request.regions,
        })
    }
}

/// A validated DeleteFindingAggregator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteAggregator {
    /// The aggregator.
    pub arn: AggregatorArn,
    /// The region the call is made in.
    pub region: String,
}

impl TryFrom<pb::DeleteFindingAggregatorRequest> for DeleteAggregator {
    type Error = Error;

    fn try_from(request: pb::DeleteFindingAggregatorRequest) -> Result<Self> {
        let mut violations = Violations::new();
        let arn = check_arn(&mut violations, &request.finding_aggregator_arn);
        check_calling_region(&mut violations, &request.region);
        finish(violations)?;
        Ok(Self {
            arn: arn.ok_or_else(lost_violation)?,
            region: request.region,
        })
    }
}

/// Validates a GetFindingAggregator ARN.
pub fn parse_arn(text: &str) -> Result<AggregatorArn> {
    let mut violations = Violations::new();
    let arn = check_arn(&mut violations, text);
    finish(violations)?;
    arn.ok_or_else(lost_violation)
}

fn lost_violation() -> Error {
    Error::Corrupt("a validated field was lost".into())
}

/// The account a request acts for: an account principal's own account (the request may name it
/// or leave it empty), or for service and operator principals the account the request names.
pub fn acting_owner(caller: &Caller, requested: &str) -> Result<String> {
    match own_account(caller) {
        Some(account_id) => {
            if requested.is_empty() || requested == account_id {
                Ok(account_id.to_string())
            } else {
                Err(foreign_account(account_id, requested))
            }
        }
        None if requested.is_empty() => Err(Error::invalid_field(
            reason::INVALID_INPUT,
            "owner_account_id",
            "is required for service and operator keys: name the 12-digit account that owns the \
             finding aggregator",
        )),
        None => {
            validate_account_id(requested).map_err(|problem| {
                Error::invalid_field(reason::INVALID_INPUT, "owner_account_id", problem)
            })?;
            Ok(requested.to_string())
        }
    }
}

/// Fails with `AccessDeniedException` unless the caller may manage and read `owner_account_id`'s
/// aggregator: the account itself, or a service or operator.
pub fn require_owner_access(caller: &Caller, owner_account_id: &str) -> Result<()> {
    match own_account(caller) {
        Some(account_id) if account_id != owner_account_id => {
            Err(foreign_account(account_id, owner_account_id))
        }
        _ => Ok(()),
    }
}

/// The account an account or organization-management principal acts as; `None` for services and
/// operators, which act for every account.
pub fn own_account(caller: &Caller) -> Option<&str> {
    match &caller.principal {
        Principal::Account { account_id }
        | Principal::OrganizationManagement { account_id, .. } => Some(account_id),
        Principal::Operator | Principal::Service { .. } => None,
    }
}

fn foreign_account(own: &str, other: &str) -> Error {
    Error::access_denied(format!(
        "this key acts for account {own} and may not manage or read the finding aggregator of \
         account {}",
        truncate_for_message(other)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violated(result: Result<impl fmt::Debug>) -> Vec<String> {
        match result {
            Err(Error::Runtime(tributary_runtime::Error::InvalidInput {
                reason: found,
                violations,
                ..
            })) => {
                assert_eq!(found, reason::INVALID_INPUT);
                violations
                    .into_iter()
                    .map(|violation| violation.field)
                    .collect()
            }
            other => panic!("expected InvalidInputException, got {other:?}"),
        }
    }

    fn create(mode: pb::RegionLinkingMode, regions: &[&str]) -> pb::CreateFindingAggregatorRequest {
        pb::CreateFindingAggregatorRequest {
            owner_account_id: String::new(),
            region: "us-east-1".into(),
            region_linking_mode: mode as i32,
            regions: regions.iter().map(|region| region.to_string()).collect(),
            backfill_existing_findings: false,
        }
    }

    #[test]
    fn each_mode_follows_its_region_list_rule() {
        use pb::RegionLinkingMode::*;
        for (mode, regions) in [
            (AllRegions, &[][..]),
            (NoRegions, &[]),
            (AllRegionsExceptSpecified, &["eu-west-1"]),
            (SpecifiedRegions, &["eu-west-1", "ap-southeast-2"]),
        ] {
            let input = CreateAggregator::try_from(create(mode, regions)).unwrap();
            assert_eq!(input.linking.mode.to_proto(), mode);
        }
        for (mode, regions) in [
            (AllRegions, &["eu-west-1"][..]),
            (NoRegions, &["eu-west-1"]),
            (AllRegionsExceptSpecified, &[]),
            (SpecifiedRegions, &[]),
        ] {
            assert_eq!(
                violated(CreateAggregator::try_from(create(mode, regions))),
                ["regions"],
                "{mode:?} with {regions:?}"
            );
        }
        assert_eq!(
            violated(CreateAggregator::try_from(create(Unspecified, &[]))),
            ["region_linking_mode"]
        );
        let mut unknown = create(AllRegions, &[]);
        unknown.region_linking_mode = 42;
        assert_eq!(
            violated(CreateAggregator::try_from(unknown)),
            ["region_linking_mode"]
        );
    }

    #[test]
    fn listed_regions_are_well_formed_unique_and_not_home() {
        let request = create(
            pb::RegionLinkingMode::SpecifiedRegions,
            &["us-east-1", "eu-west-1", "eu-west-1", "Mars"],
        );
        assert_eq!(
            violated(CreateAggregator::try_from(request)),
            ["regions[0]", "regions[2]", "regions[3]"]
        );
        let sorted = CreateAggregator::try_from(create(
            pb::RegionLinkingMode::SpecifiedRegions,
            &["us-west-2", "eu-west-1"],
        ))
        .unwrap();
        assert_eq!(sorted.linking.regions, ["eu-west-1", "us-west-2"]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut request = create(pb::RegionLinkingMode::Unspecified, &["x"]);
        request.owner_account_id = "12".into();
        request.region = "nowhere".into();
        assert_eq!(
            violated(CreateAggregator::try_from(request)),
            [
                "owner_account_id",
                "region",
                "region_linking_mode",
                "regions[0]"
            ]
        );
    }

    #[test]
    fn update_judges_the_home_region_by_the_arn() {
        let arn = "arn:aws:securityhub:eu-west-1:111122223333:finding-aggregator/abc-123";
        let update = |regions: &[&str]| pb::UpdateFindingAggregatorRequest {
            finding_aggregator_arn: arn.into(),
            region: "eu-west-1".into(),
            region_linking_mode: pb::RegionLinkingMode::SpecifiedRegions as i32,
            regions: regions.iter().map(|region| region.to_string()).collect(),
        };
        assert!(UpdateAggregator::try_from(update(&["us-east-1"])).is_ok());
        assert_eq!(
            violated(UpdateAggregator::try_from(update(&["eu-west-1"]))),
            ["regions[0]"]
        );
    }

    #[test]
    fn arns_round_trip_and_malformed_ones_are_refused() {
        let arn = AggregatorArn::generate("us-east-1", "111122223333");
        let text = arn.to_string();
        assert!(
            text.starts_with("arn:aws:securityhub:us-east-1:111122223333:finding-aggregator/"),
            "{text}"
        );
        assert_eq!(AggregatorArn::parse(&text).unwrap(), arn);
        let id = &arn.aggregator_id;
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4", "a version-4 UUID: {id}");
        assert!("89ab".contains(&id[19..20]), "the RFC 4122 variant: {id}");
        assert_ne!(
            AggregatorArn::generate("us-east-1", "111122223333"),
            arn,
            "ids are random"
        );
        for bad in [
            "",
            "arn:aws:securityhub:us-east-1:111122223333:finding-aggregator/",
            "arn:aws:securityhub:us-east-1:1111:finding-aggregator/x",
            "arn:aws:securityhub:useast:111122223333:finding-aggregator/x",
            "arn:aws:securityhub:us-east-1:111122223333:hub/default",
            "arn:aws:config:us-east-1:111122223333:finding-aggregator/x",
            "arn:aws:securityhub:us-east-1:111122223333:finding-aggregator/a/b",
        ] {
            assert!(AggregatorArn::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn modes_link_regions_as_documented() {
        let listed = vec!["eu-west-1".to_string()];
        assert!(LinkingMode::AllRegions.links("eu-west-1", &[]));
        assert!(!LinkingMode::AllRegionsExceptSpecified.links("eu-west-1", &listed));
        assert!(LinkingMode::AllRegionsExceptSpecified.links("ap-southeast-2", &listed));
        assert!(LinkingMode::SpecifiedRegions.links("eu-west-1", &listed));
        assert!(!LinkingMode::SpecifiedRegions.links("ap-southeast-2", &listed));
        assert!(!LinkingMode::NoRegions.links("eu-west-1", &[]));
        for mode in [
            LinkingMode::AllRegions,
            LinkingMode::AllRegionsExceptSpecified,
            LinkingMode::SpecifiedRegions,
            LinkingMode::NoRegions,
        ] {
            assert_eq!(LinkingMode::parse(mode.as_str()), Some(mode));
        }
    }

    #[test]
    fn account_keys_act_only_for_their_own_account() {
        let account = Caller {
            key_id: "k".into(),
            principal: Principal::Account {
                account_id: "111111111111".into(),
            },
        };
        assert_eq!(acting_owner(&account, "").unwrap(), "111111111111");
        assert_eq!(
            acting_owner(&account, "111111111111").unwrap(),
            "111111111111"
        );
        assert!(matches!(
            acting_owner(&account, "222222222222"),
            Err(Error::Runtime(
                tributary_runtime::Error::PermissionDenied { .. }
            ))
        ));
        assert!(require_owner_access(&account, "222222222222").is_err());
        let operator = Caller {
            key_id: "k".into(),
            principal: Principal::Operator,
        };
        assert_eq!(violated(acting_owner(&operator, "")), ["owner_account_id"]);
        assert_eq!(
            acting_owner(&operator, "222222222222").unwrap(),
            "222222222222"
        );
        assert!(require_owner_access(&operator, "222222222222").is_ok());
    }
}
