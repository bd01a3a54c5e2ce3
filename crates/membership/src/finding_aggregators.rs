//! Finding aggregator declarations and their entitlements: the owner's own data from the home
//! region and every linked region where it has the hub enabled, plus, for an administrator, each
//! member that is an enabled member *in that region* with the hub enabled there (DESIGN §5,
//! Security Hub spec §2.6).

use std::collections::BTreeSet;

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, ModelTrait};
use tributary_proto::membership::v1 as pb;
use tributary_runtime::{
    Violations,
    auth::Caller,
    ids::{validate_account_id, validate_region_name},
};

use crate::{
    entitlements::{EntitlementPair, PairStatus, sort_pairs},
    error::{Error, Result},
    events::{ChangeTx, Changes, Event},
    organizations::{AccountStatus, find_account, require_account},
    regions::{registered_regions, require_region},
    securityhub::{self, MemberStatus},
    store::finding_aggregators as table,
};

/// Security Hub's name for bad input.
const INVALID_INPUT: &str = "InvalidInputException";

/// How a finding aggregator links regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkingMode {
    AllRegions,
    AllRegionsExceptSpecified,
    SpecifiedRegions,
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

    fn parse(stored: &str) -> Self {
        match stored {
            "ALL_REGIONS" => LinkingMode::AllRegions,
            "ALL_REGIONS_EXCEPT_SPECIFIED" => LinkingMode::AllRegionsExceptSpecified,
            "SPECIFIED_REGIONS" => LinkingMode::SpecifiedRegions,
            _ => LinkingMode::NoRegions,
        }
    }

    /// The wire form.
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
}

/// A validated finding aggregator declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingAggregatorDeclaration {
    pub owner_account_id: String,
    pub home_region: String,
    pub mode: LinkingMode,
    /// Listed regions, sorted and unique.
    pub regions: Vec<String>,
}

impl TryFrom<pb::FindingAggregatorDeclaration> for FindingAggregatorDeclaration {
    type Error = Error;

    fn try_from(message: pb::FindingAggregatorDeclaration) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check(
            "declaration.owner_account_id",
            validate_account_id(&message.owner_account_id),
        );
        violations.check(
            "declaration.home_region",
            validate_region_name(&message.home_region),
        );
        let mode = match message.region_linking_mode() {
            pb::RegionLinkingMode::AllRegions => Some(LinkingMode::AllRegions),
            pb::RegionLinkingMode::AllRegionsExceptSpecified => {
                Some(LinkingMode::AllRegionsExceptSpecified)
            }
            pb::RegionLinkingMode::SpecifiedRegions => Some(LinkingMode::SpecifiedRegions),
            pb::RegionLinkingMode::NoRegions => Some(LinkingMode::NoRegions),
            pb::RegionLinkingMode::Unspecified => {
                violations.add(
                    "declaration.region_linking_mode",
                    "must be ALL_REGIONS, ALL_REGIONS_EXCEPT_SPECIFIED, SPECIFIED_REGIONS or NO_REGIONS",
                );
                None
            }
        };
        let mut regions = BTreeSet::new();
        for (index, region) in message.regions.iter().enumerate() {
            let field = format!("declaration.regions[{index}]");
            if let Err(problem) = validate_region_name(region) {
                violations.add(field, problem);
            } else if *region == message.home_region {
                violations.add(
                    field,
                    "must not be the home region, which is always aggregated",
                );
            } else if !regions.insert(region.clone()) {
                violations.add(field, format!("lists {region} twice"));
            }
        }
        match mode {
            Some(LinkingMode::AllRegions | LinkingMode::NoRegions)
                if !message.regions.is_empty() =>
            {
                violations.add(
                    "declaration.regions",
                    "must be empty when region_linking_mode is ALL_REGIONS or NO_REGIONS",
                );
            }
            Some(LinkingMode::AllRegionsExceptSpecified | LinkingMode::SpecifiedRegions)
                if message.regions.is_empty() =>
            {
                violations.add(
                    "declaration.regions",
                    "must list at least one region when region_linking_mode is ALL_REGIONS_EXCEPT_SPECIFIED or SPECIFIED_REGIONS",
                );
            }
            _ => {}
        }
        violations.finish_with(INVALID_INPUT)?;
        Ok(Self {
            owner_account_id: message.owner_account_id,
            home_region: message.home_region,
            mode: mode.unwrap_or(LinkingMode::NoRegions),
            regions: regions.into_iter().collect(),
        })
    }
}

/// The regions a declaration covers right now: the home region plus the linked ones among the
/// registered regions (so "all regions" includes regions registered later).
pub fn covered_regions(
    home_region: &str,
    mode: LinkingMode,
    listed: &[String],
    registered: &[String],
) -> BTreeSet<String> {
    let mut covered: BTreeSet<String> = match mode {
        LinkingMode::AllRegions => registered.iter().cloned().collect(),
        LinkingMode::AllRegionsExceptSpecified => registered
            .iter()
            .filter(|region| !listed.contains(region))
            .cloned()
            .collect(),
        LinkingMode::SpecifiedRegions => registered
            .iter()
            .filter(|region| listed.contains(region))
            .cloned()
            .collect(),
        LinkingMode::NoRegions => BTreeSet::new(),
    };
    covered.insert(home_region.to_string());
    covered
}

/// Why a region cannot be deregistered because of finding aggregators: one lives there or lists it.
pub async fn region_in_use(db: &impl ConnectionTrait, name: &str) -> Result<Option<String>> {
    let declarations = table::Entity::find().all(db).await?;
    let using = declarations
        .iter()
        .filter(|row| {
            row.home_region == name || row.regions.split(',').any(|region| region == name)
        })
        .count();
    Ok((using > 0).then(|| format!("{using} finding aggregator(s) live in it or list it")))
}

/// Called when `account_id` becomes an enabled member in `region`. A finding aggregator it owns
/// with that home region is withdrawn: members inherit their administrator's aggregation, and a
/// later disassociation does not bring the old aggregator back.
pub async fn on_became_member(change: &mut ChangeTx, account_id: &str, region: &str) -> Result<()> {
    let Some(row) = table::Entity::find_by_id(account_id.to_string())
        .one(change.tx())
        .await?
    else {
        return Ok(());
    };
    if row.home_region != region {
        return Ok(());
    }
    row.delete(change.tx()).await?;
    change.record(
        Event::new("finding_aggregator.withdrawn")
            .account(account_id)
            .region(region),
    );
    tracing::info!(account = %account_id, region = %region, "finding aggregator withdrawn: its owner became a member");
    Ok(())
}

/// Finding aggregator declarations.
pub struct FindingAggregators {
    changes: Changes,
}

impl FindingAggregators {
    /// Declarations behind `changes`.
    pub fn new(changes: Changes) -> Self {
        Self { changes }
    }

    /// Records (or replaces) the owner's finding aggregator. Members cannot own one.
    pub async fn declare(
        &self,
        caller: &Caller,
        declaration: FindingAggregatorDeclaration,
    ) -> Result<u64> {
        caller.require_service_or_operator()?;
        let mut change = self.changes.begin().await?;
        let owner = require_account(change.tx(), &declaration.owner_account_id).await?;
        if AccountStatus::parse(&owner.status) != AccountStatus::Active {
            return Err(Error::failed_precondition(
                INVALID_INPUT,
                format!(
                    "account {} is {}",
                    owner.account_id,
                    owner.status.to_lowercase()
                ),
            ));
        }
        require_region(change.tx(), &declaration.home_region).await?;
        for region in &declaration.regions {
            require_region(change.tx(), region).await?;
        }
        if let Some(administrator) = securityhub::administrator_of(
            change.tx(),
            &declaration.owner_account_id,
            &declaration.home_region,
        )
        .await?
        {
            return Err(Error::access_denied(format!(
                "account {} is a member of administrator {administrator} in {}; members inherit their \
                 administrator's aggregation and cannot create their own",
                declaration.owner_account_id, declaration.home_region
            )));
        }
        let now = tributary_runtime::time::now();
        let existing = table::Entity::find_by_id(declaration.owner_account_id.clone())
            .one(change.tx())
            .await?;
        let regions = declaration.regions.join(",");
        match existing {
            Some(row) => {
                let mut active: table::ActiveModel = row.into();
                active.home_region = Set(declaration.home_region.clone());
                active.linking_mode = Set(declaration.mode.as_str().to_string());
                active.regions = Set(regions);
                active.updated_at = Set(now);
                active.update(change.tx()).await?;
            }
            None => {
                table::ActiveModel {
                    owner_account_id: Set(declaration.owner_account_id.clone()),
                    home_region: Set(declaration.home_region.clone()),
                    linking_mode: Set(declaration.mode.as_str().to_string()),
                    regions: Set(regions),
                    declared_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(change.tx())
                .await?;
            }
        }
        change.record(
            Event::new("finding_aggregator.declared")
                .account(&declaration.owner_account_id)
                .region(&declaration.home_region),
        );
        change.commit().await
    }

    /// Removes the owner's declaration; idempotent.
    pub async fn withdraw(&self, caller: &Caller, owner_account_id: &str) -> Result<()> {
        caller.require_service_or_operator()?;
        crate::organizations::check_account_id("owner_account_id", owner_account_id)?;
        let mut change = self.changes.begin().await?;
        if let Some(row) = table::Entity::find_by_id(owner_account_id.to_string())
            .one(change.tx())
            .await?
        {
            let home_region = row.home_region.clone();
            row.delete(change.tx()).await?;
            change.record(
                Event::new("finding_aggregator.withdrawn")
                    .account(owner_account_id)
                    .region(home_region),
            );
        }
        change.commit().await?;
        Ok(())
    }

    /// The pairs the owner's finding aggregator may hold now, with the revision read.
    pub async fn resolve(
        &self,
        caller: &Caller,
        owner_account_id: &str,
    ) -> Result<(Vec<EntitlementPair>, u64)> {
        caller.require_service_or_operator()?;
        crate::organizations::check_account_id(
            "finding_aggregator_owner_account_id",
            owner_account_id,
        )?;
        let revision = self.changes.head();
        let db = self.changes.db();
        let declaration = table::Entity::find_by_id(owner_account_id.to_string())
            .one(db)
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    tributary_runtime::error::reason::RESOURCE_NOT_FOUND,
                    format!("account {owner_account_id} has no finding aggregator"),
                )
            })?;
        let pairs = resolve_declaration(db, &declaration).await?;
        Ok((pairs, revision))
    }
}

async fn resolve_declaration(
    db: &impl ConnectionTrait,
    declaration: &table::Model,
) -> Result<Vec<EntitlementPair>> {
    let registered: Vec<String> = registered_regions(db)
        .await?
        .into_iter()
        .map(|region| region.region_name)
        .collect();
    let listed: Vec<String> = declaration
        .regions
        .split(',')
        .filter(|region| !region.is_empty())
        .map(str::to_string)
        .collect();
    let covered = covered_regions(
        &declaration.home_region,
        LinkingMode::parse(&declaration.linking_mode),
        &listed,
        &registered,
    );
    let owner = &declaration.owner_account_id;
    let mut pairs = Vec::new();

    // An owner that became a member inherits its administrator's aggregation instead.
    let inherited_from = securityhub::administrator_of(db, owner, &declaration.home_region).await?;
    for region in &covered {
        let pair = match &inherited_from {
            Some(administrator) => EntitlementPair::new(
                owner,
                region,
                PairStatus::NotAMember,
                format!(
                    "member of administrator {administrator}; members inherit their administrator's aggregation"
                ),
            ),
            None => account_pair(db, owner, region, "owner").await?,
        };
        pairs.push(pair);
    }
    if inherited_from.is_some() {
        sort_pairs(&mut pairs);
        return Ok(pairs);
    }

    for relationship in securityhub::member_relationships(db, owner).await? {
        if !covered.contains(&relationship.region) {
            continue;
        }
        let pair = if relationship.status == MemberStatus::Enabled {
            account_pair(
                db,
                &relationship.member_id,
                &relationship.region,
                &format!("member of {owner} in {}", relationship.region),
            )
            .await?
        } else {
            EntitlementPair::new(
                &relationship.member_id,
                &relationship.region,
                PairStatus::NotAMember,
                format!(
                    "relationship with {owner} in {} is {}, not enabled",
                    relationship.region,
                    relationship.status.as_str()
                ),
            )
        };
        pairs.push(pair);
    }
    sort_pairs(&mut pairs);
    Ok(pairs)
}

/// The status of one account's own data in one region: active account with the hub enabled.
async fn account_pair(
    db: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
    role: &str,
) -> Result<EntitlementPair> {
    let Some(account) = find_account(db, account_id).await? else {
        return Ok(EntitlementPair::new(
            account_id,
            region,
            PairStatus::NotEnabled,
            "the account does not exist",
        ));
    };
    let status = AccountStatus::parse(&account.status);
    if status != AccountStatus::Active {
        return Ok(EntitlementPair::new(
            account_id,
            region,
            PairStatus::NotEnabled,
            format!("the account is {}", account.status.to_lowercase()),
        ));
    }
    if !securityhub::hub_enabled(db, account_id, region).await? {
        return Ok(EntitlementPair::new(
            account_id,
            region,
            PairStatus::NotEnabled,
            format!("{role}; the hub is not enabled in {region}"),
        ));
    }
    Ok(EntitlementPair::new(
        account_id,
        region,
        PairStatus::Authorized,
        format!("{role} with the hub enabled in {region}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn coverage_follows_the_linking_mode_and_always_includes_home() {
        let registered = regions(&["ap-southeast-2", "eu-west-1", "us-east-1", "us-west-2"]);
        let all = covered_regions("us-east-1", LinkingMode::AllRegions, &[], &registered);
        assert_eq!(all.len(), 4);
        let except = covered_regions(
            "us-east-1",
            LinkingMode::AllRegionsExceptSpecified,
            &regions(&["eu-west-1"]),
            &registered,
        );
        assert_eq!(
            except.into_iter().collect::<Vec<_>>(),
            ["ap-southeast-2", "us-east-1", "us-west-2"]
        );
        let specified = covered_regions(
            "us-east-1",
            LinkingMode::SpecifiedRegions,
            &regions(&["eu-west-1", "sa-east-1"]),
            &registered,
        );
        assert_eq!(
            specified.into_iter().collect::<Vec<_>>(),
            ["eu-west-1", "us-east-1"],
            "unregistered regions are not covered"
        );
        let none = covered_regions("us-east-1", LinkingMode::NoRegions, &[], &registered);
        assert_eq!(none.into_iter().collect::<Vec<_>>(), ["us-east-1"]);
    }

    #[test]
    fn declarations_follow_the_region_list_rules() {
        let declaration =
            |mode: pb::RegionLinkingMode, listed: &[&str]| pb::FindingAggregatorDeclaration {
                owner_account_id: "111111111111".into(),
                home_region: "us-east-1".into(),
                region_linking_mode: mode as i32,
                regions: regions(listed),
            };
        assert!(
            FindingAggregatorDeclaration::try_from(declaration(
                pb::RegionLinkingMode::AllRegions,
                &[]
            ))
            .is_ok()
        );
        let fields = |result: Result<FindingAggregatorDeclaration>| match result {
            Err(Error::Runtime(tributary_runtime::Error::InvalidInput {
                reason,
                violations,
                ..
            })) => {
                assert_eq!(reason, INVALID_INPUT);
                violations
                    .into_iter()
                    .map(|violation| violation.field)
                    .collect::<Vec<_>>()
            }
            other => panic!("expected invalid input, got {other:?}"),
        };
        assert_eq!(
            fields(declaration(pb::RegionLinkingMode::AllRegions, &["eu-west-1"]).try_into()),
            ["declaration.regions"]
        );
        assert_eq!(
            fields(declaration(pb::RegionLinkingMode::NoRegions, &["eu-west-1"]).try_into()),
            ["declaration.regions"]
        );
        assert_eq!(
            fields(declaration(pb::RegionLinkingMode::SpecifiedRegions, &[]).try_into()),
            ["declaration.regions"]
        );
        assert_eq!(
            fields(
                declaration(
                    pb::RegionLinkingMode::SpecifiedRegions,
                    &["us-east-1", "eu-west-1", "eu-west-1"]
                )
                .try_into()
            ),
            ["declaration.regions[0]", "declaration.regions[2]"]
        );
        assert_eq!(
            fields(declaration(pb::RegionLinkingMode::Unspecified, &[]).try_into()),
            ["declaration.region_linking_mode"]
        );
    }
}
