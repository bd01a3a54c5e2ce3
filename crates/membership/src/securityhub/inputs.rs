//! Validated Security Hub inputs: each wire request becomes a domain input once, reporting every
//! bad field as a `BadRequest` violation with reason `InvalidInputException`.

use std::collections::{BTreeMap, HashMap};

use tributary_proto::{membership::v1 as pb, types::v1 as types_pb};
use tributary_runtime::{
    Violations,
    ids::{truncate_for_message, validate_account_id, validate_region_name},
};

use crate::{error::Result, organizations::validate_email};

use super::reason;

/// The most accounts one per-account call takes.
pub const MAX_ACCOUNTS_PER_CALL: usize = 50;
/// The most tags on a hub.
pub const MAX_TAGS: usize = 50;

/// Which control findings a hub generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlFindingGenerator {
    /// One finding per security control (consolidated control findings).
    SecurityControl,
    /// One finding per control per standard.
    StandardControl,
}

impl ControlFindingGenerator {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlFindingGenerator::SecurityControl => "SECURITY_CONTROL",
            ControlFindingGenerator::StandardControl => "STANDARD_CONTROL",
        }
    }

    /// Parses a stored name; anything else reads as the default, `SECURITY_CONTROL`.
    pub fn from_stored(stored: &str) -> Self {
        if stored == "STANDARD_CONTROL" {
            ControlFindingGenerator::StandardControl
        } else {
            ControlFindingGenerator::SecurityControl
        }
    }
}

/// Which standards automatically enabled organization accounts get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoEnableStandards {
    /// No standard.
    None,
    /// The default standards.
    Default,
}

impl AutoEnableStandards {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoEnableStandards::None => "NONE",
            AutoEnableStandards::Default => "DEFAULT",
        }
    }

    /// Parses a stored name; anything else reads as `DEFAULT`, the AWS default.
    pub fn from_stored(stored: &str) -> Self {
        if stored == "NONE" {
            AutoEnableStandards::None
        } else {
            AutoEnableStandards::Default
        }
    }
}

/// The ARN of an account's hub in a region.
pub fn hub_arn(region: &str, account_id: &str) -> String {
    format!("arn:aws:securityhub:{region}:{account_id}:hub/default")
}

fn finish(violations: Violations) -> Result<()> {
    Ok(violations.finish_with(reason::INVALID_INPUT)?)
}

fn check_region(violations: &mut Violations, region: &str) {
    if region.is_empty() {
        violations.add(
            "region",
            "is required: a registered region such as \"us-east-1\"",
        );
    } else {
        violations.check("region", validate_region_name(region));
    }
}

/// Checks a list of 1-50 distinct account ids named `field`.
fn check_account_ids(violations: &mut Violations, field: &str, account_ids: &[String]) {
    if account_ids.is_empty() || account_ids.len() > MAX_ACCOUNTS_PER_CALL {
        violations.add(
            field,
            format!(
                "must list 1-{MAX_ACCOUNTS_PER_CALL} account ids, got {}",
                account_ids.len()
            ),
        );
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, account_id) in account_ids.iter().enumerate() {
        let path = format!("{field}[{index}]");
        if let Err(description) = validate_account_id(account_id) {
            violations.add(path, description);
        } else if let Some(first) = seen.insert(account_id, index) {
            violations.add(
                path,
                format!("repeats {field}[{first}]; list each account once"),
            );
            seen.insert(account_id, first);
        }
    }
}

fn check_one_account_id(violations: &mut Violations, field: &str, account_id: &str) {
    if account_id.is_empty() {
        violations.add(field, "is required: a 12-digit account id");
    } else {
        violations.check(field, validate_account_id(account_id));
    }
}

fn generator(
    violations: &mut Violations,
    field: &str,
    value: i32,
) -> Option<ControlFindingGenerator> {
    match pb::ControlFindingGenerator::try_from(value) {
        Ok(pb::ControlFindingGenerator::Unspecified) => None,
        Ok(pb::ControlFindingGenerator::SecurityControl) => {
            Some(ControlFindingGenerator::SecurityControl)
        }
        Ok(pb::ControlFindingGenerator::StandardControl) => {
            Some(ControlFindingGenerator::StandardControl)
        }
        Err(_) => {
            violations.add(
                field,
                format!("must be SECURITY_CONTROL or STANDARD_CONTROL, got {value}"),
            );
            None
        }
    }
}

/// Tag keys are 1-128 characters, unique, and do not start with "aws:"; values 0-256 characters.
fn check_tags(violations: &mut Violations, tags: &[types_pb::Tag]) -> BTreeMap<String, String> {
    if tags.len() > MAX_TAGS {
        violations.add(
            "tags",
            format!("must have at most {MAX_TAGS} tags, got {}", tags.len()),
        );
    }
    let mut checked = BTreeMap::new();
    let mut first_index: HashMap<&str, usize> = HashMap::new();
    for (index, tag) in tags.iter().enumerate() {
        let key_length = tag.key.chars().count();
        if !(1..=128).contains(&key_length) {
            violations.add(
                format!("tags[{index}].key"),
                format!("must be 1-128 characters, got {key_length}"),
            );
        } else if tag.key.to_ascii_lowercase().starts_with("aws:") {
            violations.add(
                format!("tags[{index}].key"),
                "must not start with \"aws:\", which is reserved",
            );
        } else if tag.key.chars().any(char::is_control) {
            violations.add(
                format!("tags[{index}].key"),
                "must not contain control characters",
            );
        } else if let Some(first) = first_index.insert(&tag.key, index) {
            violations.add(
                format!("tags[{index}].key"),
                format!("repeats tags[{first}].key; tag keys must be unique"),
            );
            first_index.insert(&tag.key, first);
        }
        let value_length = tag.value.chars().count();
        if value_length > 256 {
            violations.add(
                format!("tags[{index}].value"),
                format!("must be at most 256 characters, got {value_length}"),
            );
        } else if tag.value.chars().any(char::is_control) {
            violations.add(
                format!("tags[{index}].value"),
                "must not contain control characters",
            );
        }
        checked.insert(tag.key.clone(), tag.value.clone());
    }
    checked
}

/// Validates a request that only names a region.
pub fn region_only(region: &str) -> Result<String> {
    let mut violations = Violations::new();
    check_region(&mut violations, region);
    finish(violations)?;
    Ok(region.to_string())
}

/// A region and a list of 1-50 distinct account ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountList {
    pub region: String,
    pub account_ids: Vec<String>,
}

impl AccountList {
    /// Validates every field.
    pub fn new(region: String, account_ids: Vec<String>) -> Result<Self> {
        let mut violations = Violations::new();
        check_region(&mut violations, &region);
        check_account_ids(&mut violations, "account_ids", &account_ids);
        finish(violations)?;
        Ok(Self {
            region,
            account_ids,
        })
    }
}

/// `EnableSecurityHub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnableHub {
    pub region: String,
    pub tags: BTreeMap<String, String>,
    pub enable_default_standards: bool,
    pub control_finding_generator: ControlFindingGenerator,
}

impl TryFrom<pb::EnableSecurityHubRequest> for EnableHub {
    type Error = crate::error::Error;

    fn try_from(request: pb::EnableSecurityHubRequest) -> Result<Self> {
        let mut violations = Violations::new();
        check_region(&mut violations, &request.region);
        let tags = check_tags(&mut violations, &request.tags);
        let control_finding_generator = generator(
            &mut violations,
            "control_finding_generator",
            request.control_finding_generator,
        );
        finish(violations)?;
        Ok(Self {
            region: request.region,
            tags,
            enable_default_standards: request.enable_default_standards.unwrap_or(true),
            control_finding_generator: control_finding_generator
                .unwrap_or(ControlFindingGenerator::SecurityControl),
        })
    }
}

/// `UpdateSecurityHubConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateHub {
    pub region: String,
    pub auto_enable_controls: Option<bool>,
    pub control_finding_generator: Option<ControlFindingGenerator>,
}

impl TryFrom<pb::UpdateSecurityHubConfigurationRequest> for UpdateHub {
    type Error = crate::error::Error;

    fn try_from(request: pb::UpdateSecurityHubConfigurationRequest) -> Result<Self> {
        let mut violations = Violations::new();
        check_region(&mut violations, &request.region);
        let control_finding_generator = generator(
            &mut violations,
            "control_finding_generator",
            request.control_finding_generator,
        );
        finish(violations)?;
        Ok(Self {
            region: request.region,
            auto_enable_controls: request.auto_enable_controls,
            control_finding_generator,
        })
    }
}

/// `DescribeHub`: the region and, optionally, the hub's ARN split into region and account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeHubInput {
    pub region: String,
    pub hub_arn: Option<(String, String)>,
}

/// Splits "arn:aws:securityhub:<region>:<account id>:hub/default" into region and account.
pub fn parse_hub_arn(arn: &str) -> std::result::Result<(String, String), String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let shaped = parts.len() == 6
        && parts[0] == "arn"
        && parts[1] == "aws"
        && parts[2] == "securityhub"
        && validate_region_name(parts[3]).is_ok()
        && validate_account_id(parts[4]).is_ok()
        && parts[5] == "hub/default";
    if shaped {
        Ok((parts[3].to_string(), parts[4].to_string()))
    } else {
        Err(format!(
            "must be a hub ARN such as \"arn:aws:securityhub:us-east-1:123456789012:hub/default\", got {:?}",
            truncate_for_message(arn)
        ))
    }
}

impl DescribeHubInput {
    /// Validates every field.
    pub fn new(region: String, hub_arn: &str) -> Result<Self> {
        let mut violations = Violations::new();
        check_region(&mut violations, &region);
        let parsed = if hub_arn.is_empty() {
            None
        } else {
            match parse_hub_arn(hub_arn) {
                Ok(parsed) => Some(parsed),
                Err(description) => {
                    violations.add("hub_arn", description);
                    None
                }
            }
        };
        finish(violations)?;
        Ok(Self {
            region,
            hub_arn: parsed,
        })
    }
}

/// `EnableOrganizationAdminAccount` and `DisableOrganizationAdminAccount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccount {
    pub region: String,
    pub admin_account_id: String,
}

impl AdminAccount {
    /// Validates every field.
    pub fn new(region: String, admin_account_id: String) -> Result<Self> {
        let mut violations = Violations::new();
        check_region(&mut violations, &region);
        check_one_account_id(&mut violations, "admin_account_id", &admin_account_id);
        finish(violations)?;
        Ok(Self {
            region,
            admin_account_id,
        })
    }
}

/// `UpdateOrganizationConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationConfigurationUpdate {
    pub region: String,
    pub auto_enable: bool,
    pub auto_enable_standards: Option<AutoEnableStandards>,
}

impl TryFrom<pb::UpdateOrganizationConfigurationRequest> for OrganizationConfigurationUpdate {
    type Error = crate::error::Error;

    fn try_from(request: pb::UpdateOrganizationConfigurationRequest) -> Result<Self> {
        let mut violations = Violations::new();
        check_region(&mut violations, &request.region);
        let auto_enable_standards =
            match pb::AutoEnableStandards::try_from(request.auto_enable_standards) {
                Ok(pb::AutoEnableStandards::Unspecified) => None,
                Ok(pb::AutoEnableStandards::None) => Some(AutoEnableStandards::None),
                Ok(pb::AutoEnableStandards::Default) => Some(AutoEnableStandards::Default),
                Err(_) => {
                    violations.add(
                        "auto_enable_standards",
                        format!(
                            "must be NONE or DEFAULT, got {}",
                            request.auto_enable_standards
                        ),
                    );
                    None
                }
            };
        finish(violations)?;
        Ok(Self {
            region: request.region,
            auto_enable: request.auto_enable,
            auto_enable_standards,
        })
    }
}

/// One account to add as a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    pub account_id: String,
    /// Empty when not given.
    pub email: String,
}

/// `CreateMembers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateMembersInput {
    pub region: String,
    pub members: Vec<NewMember>,
}

impl TryFrom<pb::CreateMembersRequest> for CreateMembersInput {
    type Error = crate::error::Error;

    fn try_from(request: pb::CreateMembersRequest) -> Result<Self> {
        let mut violations = Violations::new();
        check_region(&mut violations, &request.region);
        let count = request.account_details.len();
        if count == 0 || count > MAX_ACCOUNTS_PER_CALL {
            violations.add(
                "account_details",
                format!("must list 1-{MAX_ACCOUNTS_PER_CALL} accounts, got {count}"),
            );
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (index, details) in request.account_details.iter().enumerate() {
            let path = format!("account_details[{index}].account_id");
            if details.account_id.is_empty() {
                violations.add(path, "is required: a 12-digit account id");
            } else if let Err(description) = validate_account_id(&details.account_id) {
                violations.add(path, description);
            } else if let Some(first) = seen.insert(&details.account_id, index) {
                violations.add(
                    path,
                    format!("repeats account_details[{first}].account_id; list each account once"),
                );
                seen.insert(&details.account_id, first);
            }
            if !details.email.is_empty() {
                violations.check(
                    format!("account_details[{index}].email"),
                    validate_email(&details.email),
                );
            }
        }
        finish(violations)?;
        Ok(Self {
            region: request.region,
            members: request
                .account_details
                .into_iter()
                .map(|details| NewMember {
                    account_id: details.account_id,
                    email: details.email,
                })
                .collect(),
        })
    }
}

/// An invitation id: 32 lowercase hexadecimal characters, as issued by `InviteMembers`.
pub fn validate_invitation_id(invitation_id: &str) -> std::result::Result<(), String> {
    if invitation_id.len() == 32
        && invitation_id
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
    {
        Ok(())
    } else {
        Err(format!(
            "must be an invitation id from ListInvitations (32 lowercase hexadecimal characters), got {:?}",
            truncate_for_message(invitation_id)
        ))
    }
}

/// `AcceptAdministratorInvitation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptInvitation {
    pub region: String,
    pub administrator_id: String,
    pub invitation_id: String,
}

impl AcceptInvitation {
    /// Validates every field.
    pub fn new(region: String, administrator_id: String, invitation_id: String) -> Result<Self> {
        let mut violations = Violations::new();
        check_region(&mut violations, &region);
        check_one_account_id(&mut violations, "administrator_id", &administrator_id);
        violations.check("invitation_id", validate_invitation_id(&invitation_id));
        finish(violations)?;
        Ok(Self {
            region,
            administrator_id,
            invitation_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn fields_and_reason(result: Result<impl std::fmt::Debug>) -> (Vec<String>, &'static str) {
        match result {
            Err(Error::Runtime(tributary_runtime::Error::InvalidInput {
                violations,
                reason,
                ..
            })) => (
                violations
                    .into_iter()
                    .map(|violation| violation.field)
                    .collect(),
                reason,
            ),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    fn tag(key: &str, value: &str) -> types_pb::Tag {
        types_pb::Tag {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn enable_defaults_to_default_standards_and_security_control_findings() {
        let input = EnableHub::try_from(pb::EnableSecurityHubRequest {
            region: "us-east-1".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(input.enable_default_standards);
        assert_eq!(
            input.control_finding_generator,
            ControlFindingGenerator::SecurityControl
        );
        let input = EnableHub::try_from(pb::EnableSecurityHubRequest {
            region: "us-east-1".into(),
            enable_default_standards: Some(false),
            control_finding_generator: pb::ControlFindingGenerator::StandardControl as i32,
            tags: vec![tag("team", "security"), tag("cost", "")],
        })
        .unwrap();
        assert!(!input.enable_default_standards);
        assert_eq!(
            input.control_finding_generator,
            ControlFindingGenerator::StandardControl
        );
        assert_eq!(input.tags.len(), 2);
    }

    #[test]
    fn enable_reports_every_bad_field_as_invalid_input() {
        let mut tags = vec![
            tag("", "x"),
            tag("aws:reserved", "x"),
            tag("dup", "1"),
            tag("dup", "2"),
            tag("long", &"v".repeat(257)),
            tag(&"k".repeat(129), ""),
        ];
        let (fields, reason) =
            fields_and_reason(EnableHub::try_from(pb::EnableSecurityHubRequest {
                region: "US-EAST-1".into(),
                tags: tags.clone(),
                enable_default_standards: None,
                control_finding_generator: 9,
            }));
        assert_eq!(reason, "InvalidInputException");
        assert_eq!(
            fields,
            [
                "region",
                "tags[0].key",
                "tags[1].key",
                "tags[3].key",
                "tags[4].value",
                "tags[5].key",
                "control_finding_generator"
            ]
        );
        tags = (0..51)
            .map(|index| tag(&format!("k{index}"), "v"))
            .collect();
        let (fields, _) = fields_and_reason(EnableHub::try_from(pb::EnableSecurityHubRequest {
            region: String::new(),
            tags,
            ..Default::default()
        }));
        assert_eq!(fields, ["region", "tags"]);
    }

    #[test]
    fn account_lists_are_bounded_valid_and_distinct() {
        assert!(AccountList::new("eu-west-1".into(), vec!["111111111111".into()]).is_ok());
        let (fields, reason) = fields_and_reason(AccountList::new("eu-west-1".into(), vec![]));
        assert_eq!(reason, "InvalidInputException");
        assert_eq!(fields, ["account_ids"]);
        let (fields, _) = fields_and_reason(AccountList::new(
            "eu-west-1".into(),
            vec![
                "111111111111".into(),
                "12".into(),
                "111111111111".into(),
                "111111111111".into(),
            ],
        ));
        assert_eq!(
            fields,
            ["account_ids[1]", "account_ids[2]", "account_ids[3]"]
        );
        let many = (0..51).map(|index| format!("{:012}", index + 1)).collect();
        let (fields, _) = fields_and_reason(AccountList::new("eu-west-1".into(), many));
        assert_eq!(fields, ["account_ids"]);
    }

    #[test]
    fn create_members_checks_ids_emails_and_duplicates() {
        let details = |account_id: &str, email: &str| pb::AccountDetails {
            account_id: account_id.into(),
            email: email.into(),
        };
        let input = CreateMembersInput::try_from(pb::CreateMembersRequest {
            region: "us-east-1".into(),
            account_details: vec![details("111111111111", "ops@example.com")],
        })
        .unwrap();
        assert_eq!(input.members[0].email, "ops@example.com");
        let (fields, _) =
            fields_and_reason(CreateMembersInput::try_from(pb::CreateMembersRequest {
                region: "us-east-1".into(),
                account_details: vec![
                    details("", ""),
                    details("111111111111", "not-an-email"),
                    details("111111111111", ""),
                ],
            }));
        assert_eq!(
            fields,
            [
                "account_details[0].account_id",
                "account_details[1].email",
                "account_details[2].account_id"
            ]
        );
        let (fields, _) =
            fields_and_reason(CreateMembersInput::try_from(pb::CreateMembersRequest {
                region: "us-east-1".into(),
                account_details: vec![],
            }));
        assert_eq!(fields, ["account_details"]);
    }

    #[test]
    fn hub_arns_and_invitation_ids_have_their_shapes() {
        assert_eq!(
            parse_hub_arn(&hub_arn("eu-west-1", "111111111111")).unwrap(),
            ("eu-west-1".to_string(), "111111111111".to_string())
        );
        for bad in [
            "",
            "arn:aws:securityhub:eu-west-1:111111111111:hub/other",
            "arn:aws:securityhub:eu-west-1:1111:hub/default",
            "arn:aws:config:eu-west-1:111111111111:hub/default",
            "arn:aws:securityhub:EU:111111111111:hub/default",
        ] {
            assert!(parse_hub_arn(bad).is_err(), "{bad}");
        }
        assert!(validate_invitation_id("0123456789abcdef0123456789abcdef").is_ok());
        for bad in ["", "0123", "0123456789ABCDEF0123456789ABCDEF"] {
            assert!(validate_invitation_id(bad).is_err(), "{bad}");
        }
        let (fields, _) =
            fields_and_reason(AcceptInvitation::new("x".into(), "".into(), "nope".into()));
        assert_eq!(fields, ["region", "administrator_id", "invitation_id"]);
        let (fields, _) = fields_and_reason(DescribeHubInput::new("us-east-1".into(), "arn:x"));
        assert_eq!(fields, ["hub_arn"]);
    }

    #[test]
    fn organization_configuration_standards_are_checked() {
        let update =
            OrganizationConfigurationUpdate::try_from(pb::UpdateOrganizationConfigurationRequest {
                region: "us-east-1".into(),
                auto_enable: true,
                auto_enable_standards: pb::AutoEnableStandards::None as i32,
            })
            .unwrap();
        assert_eq!(
            update.auto_enable_standards,
            Some(AutoEnableStandards::None)
        );
        let (fields, _) = fields_and_reason(OrganizationConfigurationUpdate::try_from(
            pb::UpdateOrganizationConfigurationRequest {
                region: "us-east-1".into(),
                auto_enable: true,
                auto_enable_standards: 7,
            },
        ));
        assert_eq!(fields, ["auto_enable_standards"]);
        let (fields, _) = fields_and_reason(AdminAccount::new("".into(), "abc".into()));
        assert_eq!(fields, ["region", "admin_account_id"]);
    }

    #[test]
    fn stored_enum_names_round_trip() {
        for generator in [
            ControlFindingGenerator::SecurityControl,
            ControlFindingGenerator::StandardControl,
        ] {
            assert_eq!(
                ControlFindingGenerator::from_stored(generator.as_str()),
                generator
            );
        }
        for standards in [AutoEnableStandards::None, AutoEnableStandards::Default] {
            assert_eq!(
                AutoEnableStandards::from_stored(standards.as_str()),
                standards
            );
        }
    }
}
