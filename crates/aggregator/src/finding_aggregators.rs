//! Finding aggregators (Security Hub cross-Region aggregation): their lifecycle. An account has at
//! most one, living in its home region; its linking mode says which other regions' findings it
//! aggregates. Every change is declared to membership first (which decides the (account, region)
//! pairs the aggregator may hold) and stored afterwards, so the store never names an aggregator
//! membership does not know; a failed call is safe to retry.

pub mod directory;
pub mod inputs;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{Set, Unchanged},
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use tokio::sync::Mutex;
use tributary_proto::membership::v1 as membership_pb;
use tributary_runtime::{
    auth::Caller,
    error::reason as runtime_reason,
    paging::{Direction, PageTokens, keyset_after, page_size},
};

use crate::{
    error::{Error, Result},
    store::{finding_aggregator_linked_regions as progress_table, finding_aggregators as table},
};
use directory::{Directory, RegisteredRegion};
use inputs::{
    AggregatorArn, CreateAggregator, DeleteAggregator, Linking, LinkingMode, MEMBER_CANNOT_CREATE,
    UpdateAggregator, acting_owner, own_account, reason, require_owner_access,
};

/// ListFindingAggregators' default and largest page (AWS MaxResults 1-100).
const LIST_PAGE_SIZE: u32 = 100;

/// One finding aggregator as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingAggregator {
    /// The ARN.
    pub arn: String,
    /// The owner account.
    pub owner_account_id: String,
    /// The home region.
    pub home_region: String,
    /// The linking mode and list.
    pub linking: Linking,
    /// Whether replication copies existing findings of newly linked regions.
    pub backfill_existing_findings: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last created or updated.
    pub updated_at: DateTime<Utc>,
    /// Replication progress per linked region, by region name; empty until replication runs.
    pub linked_regions: Vec<LinkedRegionProgress>,
}

/// Replication progress of one linked region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedRegionProgress {
    /// The linked region.
    pub region: String,
    /// The highest change-log sequence number applied from it.
    pub applied_seq: u64,
    /// When changes from it were last applied.
    pub applied_at: Option<DateTime<Utc>>,
    /// How far the aggregator trailed it at the last check.
    pub lag: Option<Duration>,
}

/// One page of ListFindingAggregators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatorPage {
    /// The ARNs, in owner account order.
    pub arns: Vec<String>,
    /// The token of the next page; empty on the last.
    pub next_page_token: String,
}

/// The finding aggregators of this deployment.
pub struct FindingAggregators {
    db: DatabaseConnection,
    page_tokens: PageTokens,
    directory: Arc<dyn Directory>,
    /// Serialises this process's creates, updates and deletes, so membership's declaration and the
    /// stored row are always changed in the same order.
    changes: Mutex<()>,
    /// Tells replication that an aggregator was stored, changed or deleted (membership's own
    /// change event may come before the store is written).
    on_changed: Option<crate::config_aggregators::OnAggregatorsChanged>,
}

impl FindingAggregators {
    /// Aggregators stored in `db`, declared through `directory`.
    pub fn new(
        db: DatabaseConnection,
        page_tokens: PageTokens,
        directory: Arc<dyn Directory>,
    ) -> Self {
        Self {
            db,
            page_tokens,
            directory,
            changes: Mutex::new(()),
            on_changed: None,
        }
    }

    /// Calls `on_changed` after every stored create, update and delete.
    pub fn with_on_changed(
        mut self,
        on_changed: crate::config_aggregators::OnAggregatorsChanged,
    ) -> Self {
        self.on_changed = Some(on_changed);
        self
    }

    fn changed(&self) {
        if let Some(on_changed) = &self.on_changed {
            on_changed();
        }
    }

    /// Creates the owner's aggregator in the request's region, its new home region.
    pub async fn create(
        &self,
        caller: &Caller,
        input: CreateAggregator,
    ) -> Result<FindingAggregator> {
        let owner = acting_owner(caller, &input.requested_owner)?;
        let _serialised = self.changes.lock().await;
        if let Some(existing) = self.find(&owner).await? {
            return Err(already_has_one(&existing));
        }
        self.check_regions(&input.home_region, &input.requested_regions)
            .await?;
        self.check_hub(&owner, &input.home_region).await?;

        let arn = AggregatorArn::generate(&input.home_region, &owner);
        let now = tributary_runtime::time::now().timestamp_micros();
        let row = table::Model {
            owner_account_id: owner.clone(),
            aggregator_id: arn.aggregator_id.clone(),
            arn: arn.to_string(),
            home_region: input.home_region,
            region_linking_mode: input.linking.mode.as_str().to_string(),
            regions: encode_regions(&input.linking.regions)?,
            backfill_existing_findings: input.backfill_existing_findings,
            created_at_micros: now,
            updated_at_micros: now,
        };
        self.directory.declare(declaration(&row)?).await?;
        let inserted = table::ActiveModel::from(row.clone()).insert(&self.db).await;
        if let Err(error) = inserted {
            return Err(self.undo_create(&owner, error).await);
        }
        tracing::info!(owner = %owner, arn = %row.arn, mode = %row.region_linking_mode, "finding aggregator created");
        self.changed();
        to_domain(row, Vec::new())
    }

    /// Returns one aggregator by ARN.
    pub async fn get(&self, caller: &Caller, arn: &AggregatorArn) -> Result<FindingAggregator> {
        require_owner_access(caller, &arn.owner_account_id)?;
        let row = self.require(arn).await?;
        let progress = progress_table::Entity::find()
            .filter(progress_table::Column::OwnerAccountId.eq(row.owner_account_id.clone()))
            .order_by_asc(progress_table::Column::Region)
            .all(&self.db)
            .await?;
        to_domain(row, progress)
    }

    /// Replaces an aggregator's linking mode and list, from its home region.
    pub async fn update(
        &self,
        caller: &Caller,
        input: UpdateAggregator,
    ) -> Result<FindingAggregator> {
        require_owner_access(caller, &input.arn.owner_account_id)?;
        let _serialised = self.changes.lock().await;
        let current = self.require(&input.arn).await?;
        require_home_region(&current, &input.region, "updated")?;
        self.check_regions(&current.home_region, &input.requested_regions)
            .await?;
        self.check_hub(&current.owner_account_id, &current.home_region)
            .await?;

        let mut updated = current.clone();
        updated.region_linking_mode = input.linking.mode.as_str().to_string();
        updated.regions = encode_regions(&input.linking.regions)?;
        updated.updated_at_micros = tributary_runtime::time::now().timestamp_micros();
        self.directory.declare(declaration(&updated)?).await?;
        if let Err(error) = self.store_update(&updated, &input.linking).await {
            // Put membership back to what the store still says; a retry of the update converges.
            if let Err(restore) = self.directory.declare(declaration(&current)?).await {
                tracing::warn!(owner = %current.owner_account_id, error = %restore, "could not restore a finding aggregator declaration after a failed update");
            }
            return Err(error);
        }
        tracing::info!(owner = %updated.owner_account_id, arn = %updated.arn, mode = %updated.region_linking_mode, "finding aggregator updated");
        self.changed();
        self.get(caller, &input.arn).await
    }

    /// Deletes an aggregator, from its home region, and withdraws it from membership. Data
    /// already aggregated is kept.
    pub async fn delete(&self, caller: &Caller, input: DeleteAggregator) -> Result<()> {
        require_owner_access(caller, &input.arn.owner_account_id)?;
        let _serialised = self.changes.lock().await;
        let current = self.require(&input.arn).await?;
        require_home_region(&current, &input.region, "deleted")?;
        // Withdrawn first: entitlements end at once, and a failure below leaves an aggregator a
        // retried delete removes (withdrawing is idempotent).
        self.directory.withdraw(&current.owner_account_id).await?;
        let transaction = self.db.begin().await?;
        progress_table::Entity::delete_many()
            .filter(progress_table::Column::OwnerAccountId.eq(current.owner_account_id.clone()))
            .exec(&transaction)
            .await?;
        table::Entity::delete_by_id(current.owner_account_id.clone())
            .exec(&transaction)
            .await?;
        transaction.commit().await?;
        tracing::info!(owner = %current.owner_account_id, arn = %current.arn, "finding aggregator deleted");
        self.changed();
        Ok(())
    }

    /// Lists ARNs in owner account order: an account's own, or for services and operators every
    /// account's (or `requested_owner`'s).
    pub async fn list(
        &self,
        caller: &Caller,
        requested_owner: &str,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<AggregatorPage> {
        let owner = match own_account(caller) {
            Some(_) => Some(acting_owner(caller, requested_owner)?),
            None if requested_owner.is_empty() => None,
            None => Some(acting_owner(caller, requested_owner)?),
        };
        let limit = page_size(requested_page_size, LIST_PAGE_SIZE, LIST_PAGE_SIZE)?;
        let scope = format!(
            "ListFindingAggregators:{}",
            owner.as_deref().unwrap_or_default()
        );
        let after: Option<String> = self.page_tokens.open(&scope, page_token)?;
        let mut query = table::Entity::find().order_by_asc(table::Column::OwnerAccountId);
        if let Some(owner) = &owner {
            query = query.filter(table::Column::OwnerAccountId.eq(owner.clone()));
        }
        if let Some(after) = after {
            query = query.filter(keyset_after(vec![(
                table::Column::OwnerAccountId,
                after.into(),
                Direction::Ascending,
            )]));
        }
        let mut rows = query.limit(u64::from(limit) + 1).all(&self.db).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_page_token = match rows.last() {
            Some(last) if more => self.page_tokens.issue(&scope, &last.owner_account_id),
            _ => String::new(),
        };
        Ok(AggregatorPage {
            arns: rows.into_iter().map(|row| row.arn).collect(),
            next_page_token,
        })
    }

    async fn find(&self, owner_account_id: &str) -> Result<Option<table::Model>> {
        Ok(table::Entity::find_by_id(owner_account_id.to_string())
            .one(&self.db)
            .await?)
    }

    /// The aggregator the ARN names; an ARN of a deleted (or never created) one is not found.
    async fn require(&self, arn: &AggregatorArn) -> Result<table::Model> {
        let text = arn.to_string();
        self.find(&arn.owner_account_id)
            .await?
            .filter(|row| row.arn == text)
            .ok_or_else(|| {
                Error::not_found(
                    runtime_reason::RESOURCE_NOT_FOUND,
                    format!("finding aggregator {text} does not exist"),
                )
            })
    }

    /// The home region must be registered and not opt-in; every listed region registered.
    async fn check_regions(&self, home_region: &str, listed: &[String]) -> Result<()> {
        let registered: BTreeMap<String, RegisteredRegion> = self
            .directory
            .registered_regions()
            .await?
            .into_iter()
            .map(|region| (region.name.clone(), region))
            .collect();
        match registered.get(home_region) {
            None => {
                return Err(Error::not_found(
                    runtime_reason::RESOURCE_NOT_FOUND,
                    format!("region {home_region} is not registered"),
                ));
            }
            Some(region) if region.opt_in => {
                return Err(Error::invalid_field(
                    reason::INVALID_INPUT,
                    "region",
                    format!(
                        "{home_region} is an opt-in region; a region that is disabled by default \
                         cannot be the home region"
                    ),
                ));
            }
            Some(_) => {}
        }
        let mut violations = tributary_runtime::Violations::new();
        for (index, region) in listed.iter().enumerate() {
            if !registered.contains_key(region) {
                violations.add(
                    format!("regions[{index}]"),
                    format!("{region} is not a registered region"),
                );
            }
        }
        Ok(violations.finish_with(reason::INVALID_INPUT)?)
    }

    /// The owner needs its hub enabled in the home region and must not be a member there.
    async fn check_hub(&self, owner_account_id: &str, home_region: &str) -> Result<()> {
        let hub = self
            .directory
            .hub_status(owner_account_id, home_region)
            .await?;
        if !hub.enabled {
            return Err(Error::failed_precondition(
                reason::INVALID_ACCESS,
                format!(
                    "account {owner_account_id} is not subscribed to AWS Security Hub in \
                     {home_region}; enable it with SecurityHubMembersService.EnableSecurityHub first"
                ),
            ));
        }
        if hub.administrator_account_id.is_some() {
            return Err(Error::failed_precondition(
                reason::INVALID_INPUT,
                MEMBER_CANNOT_CREATE,
            ));
        }
        Ok(())
    }

    async fn store_update(&self, updated: &table::Model, linking: &Linking) -> Result<()> {
        let transaction = self.db.begin().await?;
        table::ActiveModel {
            owner_account_id: Unchanged(updated.owner_account_id.clone()),
            region_linking_mode: Set(updated.region_linking_mode.clone()),
            regions: Set(updated.regions.clone()),
            updated_at_micros: Set(updated.updated_at_micros),
            ..Default::default()
        }
        .update(&transaction)
        .await?;
        // Progress of regions no longer linked is dropped: relinking one starts afresh.
        let unlinked: Vec<String> = progress_table::Entity::find()
            .filter(progress_table::Column::OwnerAccountId.eq(updated.owner_account_id.clone()))
            .all(&transaction)
            .await?
            .into_iter()
            .map(|row| row.region)
            .filter(|region| {
                *region == updated.home_region || !linking.mode.links(region, &linking.regions)
            })
            .collect();
        if !unlinked.is_empty() {
            progress_table::Entity::delete_many()
                .filter(progress_table::Column::OwnerAccountId.eq(updated.owner_account_id.clone()))
                .filter(progress_table::Column::Region.is_in(unlinked))
                .exec(&transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// A create whose row could not be stored: when another replica stored the owner's aggregator
    /// meanwhile, membership gets that one's declaration back and the caller hears it exists;
    /// otherwise the declaration is withdrawn again.
    async fn undo_create(&self, owner_account_id: &str, error: sea_orm::DbErr) -> Error {
        match self.find(owner_account_id).await {
            Ok(Some(winner)) => {
                let restored = match declaration(&winner) {
                    Ok(winning) => self.directory.declare(winning).await,
                    Err(corrupt) => Err(corrupt),
                };
                if let Err(restore) = restored {
                    tracing::warn!(owner = %owner_account_id, error = %restore, "could not restore the stored finding aggregator's declaration");
                }
                already_has_one(&winner)
            }
            _ => {
                if let Err(withdraw) = self.directory.withdraw(owner_account_id).await {
                    tracing::warn!(owner = %owner_account_id, error = %withdraw, "could not withdraw the declaration of a finding aggregator that was not stored");
                }
                Error::Database(error)
            }
        }
    }
}

fn already_has_one(existing: &table::Model) -> Error {
    Error::limit_exceeded(
        reason::LIMIT_EXCEEDED,
        format!(
            "account {} already has a finding aggregator ({}, home region {}); an account has at \
             most one: update it, or delete it and create a new one",
            existing.owner_account_id, existing.arn, existing.home_region
        ),
    )
}

fn require_home_region(row: &table::Model, region: &str, action: &str) -> Result<()> {
    if row.home_region == region {
        return Ok(());
    }
    Err(Error::invalid_field(
        reason::INVALID_INPUT,
        "region",
        format!(
            "the finding aggregator can only be {action} from its home region {}, not from \
             {region}",
            row.home_region
        ),
    ))
}

fn encode_regions(regions: &[String]) -> Result<String> {
    serde_json::to_string(regions).map_err(|error| Error::Corrupt(error.to_string()))
}

fn decode_regions(row: &table::Model) -> Result<Vec<String>> {
    serde_json::from_str(&row.regions).map_err(|error| {
        Error::Corrupt(format!(
            "finding aggregator {} has unreadable regions: {error}",
            row.arn
        ))
    })
}

fn linking_of(row: &table::Model) -> Result<Linking> {
    let mode = LinkingMode::parse(&row.region_linking_mode).ok_or_else(|| {
        Error::Corrupt(format!(
            "finding aggregator {} has an unknown linking mode {:?}",
            row.arn, row.region_linking_mode
        ))
    })?;
    Ok(Linking {
        mode,
        regions: decode_regions(row)?,
    })
}

/// What membership is told about a stored (or about to be stored) aggregator.
fn declaration(row: &table::Model) -> Result<membership_pb::FindingAggregatorDeclaration> {
    let linking = linking_of(row)?;
    Ok(membership_pb::FindingAggregatorDeclaration {
        owner_account_id: row.owner_account_id.clone(),
        home_region: row.home_region.clone(),
        region_linking_mode: linking.mode.to_membership() as i32,
        regions: linking.regions,
    })
}

fn time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

fn to_domain(row: table::Model, progress: Vec<progress_table::Model>) -> Result<FindingAggregator> {
    let linking = linking_of(&row)?;
    Ok(FindingAggregator {
        linking,
        created_at: time(row.created_at_micros),
        updated_at: time(row.updated_at_micros),
        linked_regions: progress
            .into_iter()
            .map(|region| LinkedRegionProgress {
                region: region.region,
                applied_seq: u64::try_from(region.applied_seq).unwrap_or(0),
                applied_at: region.applied_at_micros.map(time),
                lag: region
                    .lag_ms
                    .and_then(|lag_ms| u64::try_from(lag_ms).ok())
                    .map(Duration::from_millis),
            })
            .collect(),
        arn: row.arn,
        owner_account_id: row.owner_account_id,
        home_region: row.home_region,
        backfill_existing_findings: row.backfill_existing_findings,
    })
}

#[cfg(test)]
mod tests {
    //! The lifecycle against a real SQLite store and a directory held in memory.

    use std::sync::Mutex as StdMutex;

    use tributary_runtime::auth::Principal;

    use super::{directory::HubStatus, *};

    #[derive(Default)]
    struct FakeDirectory {
        regions: Vec<RegisteredRegion>,
        /// (account, region) -> administrator (None: standalone); absent: no hub.
        hubs: BTreeMap<(String, String), Option<String>>,
        declared: StdMutex<BTreeMap<String, membership_pb::FindingAggregatorDeclaration>>,
        fail_declare: bool,
    }

    #[tonic::async_trait]
    impl Directory for FakeDirectory {
        async fn registered_regions(&self) -> Result<Vec<RegisteredRegion>> {
            Ok(self.regions.clone())
        }

        async fn hub_status(&self, account_id: &str, region: &str) -> Result<HubStatus> {
            Ok(
                match self.hubs.get(&(account_id.to_string(), region.to_string())) {
                    None => HubStatus::default(),
                    Some(administrator) => HubStatus {
                        enabled: true,
                        administrator_account_id: administrator.clone(),
                    },
                },
            )
        }

        async fn declare(
            &self,
            declaration: membership_pb::FindingAggregatorDeclaration,
        ) -> Result<()> {
            if self.fail_declare {
                return Err(Error::Runtime(tributary_runtime::Error::Unavailable(
                    "down".into(),
                )));
            }
            self.declared
                .lock()
                .unwrap()
                .insert(declaration.owner_account_id.clone(), declaration);
            Ok(())
        }

        async fn withdraw(&self, owner_account_id: &str) -> Result<()> {
            self.declared.lock().unwrap().remove(owner_account_id);
            Ok(())
        }
    }

    const OWNER: &str = "111111111111";
    const MEMBER: &str = "222222222222";

    fn directory() -> FakeDirectory {
        let region = |name: &str, opt_in| RegisteredRegion {
            name: name.into(),
            opt_in,
        };
        let mut hubs = BTreeMap::new();
        hubs.insert((OWNER.to_string(), "us-east-1".to_string()), None);
        hubs.insert((OWNER.to_string(), "ap-east-1".to_string()), None);
        hubs.insert(
            (MEMBER.to_string(), "us-east-1".to_string()),
            Some(OWNER.to_string()),
        );
        FakeDirectory {
            regions: vec![
                region("us-east-1", false),
                region("eu-west-1", false),
                region("ap-east-1", true),
            ],
            hubs,
            ..FakeDirectory::default()
        }
    }

    async fn aggregators(directory: Arc<FakeDirectory>) -> (FindingAggregators, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let settings = tributary_runtime::config::ServerSettings::with_defaults(
            ([127, 0, 0, 1], 0).into(),
            &dir.path().join("aggregator.db").display().to_string(),
        );
        let (db, page_tokens) = tributary_runtime::db::open::<crate::store::Migrator>(&settings)
            .await
            .unwrap();
        (FindingAggregators::new(db, page_tokens, directory), dir)
    }

    fn account(account_id: &str) -> Caller {
        Caller {
            key_id: "key".into(),
            principal: Principal::Account {
                account_id: account_id.into(),
            },
        }
    }

    fn create(mode: LinkingMode, regions: &[&str]) -> CreateAggregator {
        CreateAggregator {
            requested_owner: String::new(),
            home_region: "us-east-1".into(),
            linking: Linking {
                mode,
                regions: regions.iter().map(|region| region.to_string()).collect(),
            },
            requested_regions: regions.iter().map(|region| region.to_string()).collect(),
            backfill_existing_findings: true,
        }
    }

    fn reason_of(error: &Error) -> &'static str {
        match error {
            Error::FailedPrecondition { reason, .. }
            | Error::NotFound { reason, .. }
            | Error::LimitExceeded { reason, .. } => reason,
            Error::Runtime(tributary_runtime::Error::InvalidInput { reason, .. }) => reason,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn create_declares_then_stores_and_refuses_a_second_one() {
        let directory = Arc::new(directory());
        let (aggregators, _dir) = aggregators(directory.clone()).await;
        let created = aggregators
            .create(
                &account(OWNER),
                create(LinkingMode::SpecifiedRegions, &["eu-west-1"]),
            )
            .await
            .unwrap();
        assert!(created.backfill_existing_findings);
        assert_eq!(
            directory.declared.lock().unwrap()[OWNER].regions,
            ["eu-west-1"]
        );
        let second = aggregators
            .create(&account(OWNER), create(LinkingMode::AllRegions, &[]))
            .await
            .unwrap_err();
        assert_eq!(reason_of(&second), reason::LIMIT_EXCEEDED);
        assert_eq!(
            directory.declared.lock().unwrap()[OWNER].region_linking_mode,
            membership_pb::RegionLinkingMode::SpecifiedRegions as i32,
            "a refused create leaves the declaration alone"
        );
    }

    #[tokio::test]
    async fn regions_hub_and_membership_are_checked_before_anything_is_written() {
        let directory = Arc::new(directory());
        let (aggregators, _dir) = aggregators(directory.clone()).await;
        let unregistered = aggregators
            .create(
                &account(OWNER),
                create(LinkingMode::SpecifiedRegions, &["eu-west-1", "sa-east-1"]),
            )
            .await
            .unwrap_err();
        assert_eq!(reason_of(&unregistered), reason::INVALID_INPUT);
        let mut opt_in_home = create(LinkingMode::NoRegions, &[]);
        opt_in_home.home_region = "ap-east-1".into();
        let opt_in = aggregators
            .create(&account(OWNER), opt_in_home)
            .await
            .unwrap_err();
        assert_eq!(reason_of(&opt_in), reason::INVALID_INPUT);
        let mut unknown_home = create(LinkingMode::NoRegions, &[]);
        unknown_home.home_region = "me-south-1".into();
        let unknown = aggregators
            .create(&account(OWNER), unknown_home)
            .await
            .unwrap_err();
        assert_eq!(reason_of(&unknown), runtime_reason::RESOURCE_NOT_FOUND);
        let no_hub = aggregators
            .create(
                &account("333333333333"),
                create(LinkingMode::NoRegions, &[]),
            )
            .await
            .unwrap_err();
        assert_eq!(reason_of(&no_hub), reason::INVALID_ACCESS);
        let member = aggregators
            .create(&account(MEMBER), create(LinkingMode::NoRegions, &[]))
            .await
            .unwrap_err();
        assert!(
            matches!(&member, Error::FailedPrecondition { message, .. } if message == MEMBER_CANNOT_CREATE)
        );
        assert!(directory.declared.lock().unwrap().is_empty());
        let page = aggregators
            .list(
                &Caller {
                    key_id: "k".into(),
                    principal: Principal::Operator,
                },
                "",
                0,
                "",
            )
            .await
            .unwrap();
        assert!(page.arns.is_empty());
    }

    #[tokio::test]
    async fn a_failed_declaration_stores_nothing() {
        let directory = Arc::new(FakeDirectory {
            fail_declare: true,
            ..directory()
        });
        let (aggregators, _dir) = aggregators(directory).await;
        let error = aggregators
            .create(&account(OWNER), create(LinkingMode::AllRegions, &[]))
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            Error::Runtime(tributary_runtime::Error::Unavailable(_))
        ));
        assert!(aggregators.find(OWNER).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn updates_drop_the_progress_of_unlinked_regions() {
        let directory = Arc::new(FakeDirectory {
            regions: vec![
                RegisteredRegion {
                    name: "us-east-1".into(),
                    opt_in: false,
                },
                RegisteredRegion {
                    name: "eu-west-1".into(),
                    opt_in: false,
                },
                RegisteredRegion {
                    name: "ap-southeast-2".into(),
                    opt_in: false,
                },
            ],
            ..directory()
        });
        let (aggregators, _dir) = aggregators(directory.clone()).await;
        let created = aggregators
            .create(&account(OWNER), create(LinkingMode::AllRegions, &[]))
            .await
            .unwrap();
        for (region, seq) in [("ap-southeast-2", 7), ("eu-west-1", 42)] {
            progress_table::ActiveModel {
                owner_account_id: Set(OWNER.into()),
                region: Set(region.into()),
                applied_seq: Set(seq),
                applied_at_micros: Set(Some(1_700_000_000_000_000)),
                lag_ms: Set(Some(250)),
            }
            .insert(&aggregators.db)
            .await
            .unwrap();
        }
        let arn = AggregatorArn::parse(&created.arn).unwrap();
        let read = aggregators.get(&account(OWNER), &arn).await.unwrap();
        assert_eq!(
            read.linked_regions
                .iter()
                .map(|progress| (progress.region.as_str(), progress.applied_seq))
                .collect::<Vec<_>>(),
            [("ap-southeast-2", 7), ("eu-west-1", 42)]
        );
        assert_eq!(read.linked_regions[0].lag, Some(Duration::from_millis(250)));

        let updated = aggregators
            .update(
                &account(OWNER),
                UpdateAggregator {
                    arn: arn.clone(),
                    region: "us-east-1".into(),
                    linking: Linking {
                        mode: LinkingMode::AllRegionsExceptSpecified,
                        regions: vec!["eu-west-1".into()],
                    },
                    requested_regions: vec!["eu-west-1".into()],
                },
            )
            .await
            .unwrap();
        assert_eq!(
            updated
                .linked_regions
                .iter()
                .map(|progress| progress.region.as_str())
                .collect::<Vec<_>>(),
            ["ap-southeast-2"]
        );
        assert_eq!(updated.created_at, created.created_at);
        assert!(updated.updated_at >= created.updated_at);

        aggregators
            .delete(
                &account(OWNER),
                DeleteAggregator {
                    arn: arn.clone(),
                    region: "us-east-1".into(),
                },
            )
            .await
            .unwrap();
        assert!(directory.declared.lock().unwrap().is_empty());
        assert!(
            progress_table::Entity::find()
                .all(&aggregators.db)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
