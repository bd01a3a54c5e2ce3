//! The region registry: which regions exist and where their collectors listen.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tributary_runtime::{
    Violations,
    auth::Caller,
    error::reason,
    ids::{truncate_for_message, validate_region_name},
    paging::{PageTokens, page_size},
};

use crate::{
    error::{Error, Result},
    events::{Changes, Event},
    organizations::{check_account_id, may_act_for_account, require_account},
    store::{account_regions, regions as table},
};

/// The AWS name for deregistering a region that is still in use.
pub const REGION_IN_USE: &str = "ResourceInUseException";

/// Default and maximum page sizes of `ListRegions`.
const LIST_DEFAULT: u32 = 100;
const LIST_MAX: u32 = 1000;

/// A registered region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub name: String,
    pub collector_endpoint: String,
    pub opt_in: bool,
    pub registered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A validated `RegisterRegion` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRegion {
    pub name: String,
    pub collector_endpoint: String,
    pub opt_in: bool,
}

impl RegisterRegion {
    /// Validates every field, reporting all bad ones.
    pub fn new(name: String, collector_endpoint: String, opt_in: bool) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("region_name", validate_region_name(&name));
        violations.check("collector_endpoint", validate_endpoint(&collector_endpoint));
        violations.finish()?;
        Ok(Self {
            name,
            collector_endpoint,
            opt_in,
        })
    }
}

/// An endpoint is an `http://` or `https://` URL with a host, at most 512 characters.
pub fn validate_endpoint(endpoint: &str) -> std::result::Result<(), String> {
    let parsed = endpoint.parse::<http::Uri>().ok();
    let valid = endpoint.len() <= 512
        && parsed.as_ref().is_some_and(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https"))
                && uri.host().is_some_and(|host| !host.is_empty())
                && uri.path() == "/"
                && uri.query().is_none()
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "must be an http:// or https:// URL with a host and optional port, such as \
             \"http://127.0.0.1:50061\", got {:?}",
            truncate_for_message(endpoint)
        ))
    }
}

/// The region, or `ResourceNotFoundException`.
pub async fn require_region(db: &impl ConnectionTrait, name: &str) -> Result<table::Model> {
    table::Entity::find_by_id(name.to_string())
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::not_found(
                reason::RESOURCE_NOT_FOUND,
                format!("region {name} is not registered"),
            )
        })
}

/// Every registered region, in name order.
pub async fn registered_regions(db: &impl ConnectionTrait) -> Result<Vec<table::Model>> {
    Ok(table::Entity::find()
        .order_by_asc(table::Column::RegionName)
        .all(db)
        .await?)
}

/// True when `account_id` may contribute data from `region`: the region is not opt-in, or the
/// account enabled it.
pub async fn region_enabled_for(
    db: &impl ConnectionTrait,
    region: &table::Model,
    account_id: &str,
) -> Result<bool> {
    if !region.opt_in {
        return Ok(true);
    }
    Ok(
        account_regions::Entity::find_by_id((account_id.to_string(), region.region_name.clone()))
            .one(db)
            .await?
            .is_some(),
    )
}

/// Why a region cannot be deregistered, if it is in use.
async fn region_in_use(db: &impl ConnectionTrait, name: &str) -> Result<Option<String>> {
    let enabled_by = account_regions::Entity::find()
        .filter(account_regions::Column::RegionName.eq(name))
        .count(db)
        .await?;
    if enabled_by > 0 {
        return Ok(Some(format!("{enabled_by} account(s) enabled it")));
    }
    if let Some(use_) = crate::config_aggregators::region_in_use(db, name).await? {
        return Ok(Some(use_));
    }
    if let Some(use_) = crate::authorizations::region_in_use(db, name).await? {
        return Ok(Some(use_));
    }
    let hubs = crate::securityhub::hubs_in_region(db, name).await?;
    if hubs > 0 {
        return Ok(Some(format!(
            "Security Hub is enabled in it for {hubs} account(s)"
        )));
    }
    if let Some(use_) = crate::finding_aggregators::region_in_use(db, name).await? {
        return Ok(Some(use_));
    }
    Ok(None)
}

/// The region registry.
pub struct Regions {
    changes: Changes,
    page_tokens: PageTokens,
}

impl Regions {
    /// The registry behind `changes`.
    pub fn new(changes: Changes, page_tokens: PageTokens) -> Self {
        Self {
            changes,
            page_tokens,
        }
    }

    /// Registers a region or updates its endpoint and opt-in flag. Returns the region and whether it
    /// was new. Operators only.
    pub async fn register(&self, caller: &Caller, input: RegisterRegion) -> Result<(Region, bool)> {
        caller.require_operator()?;
        let now = tributary_runtime::time::now();
        let mut change = self.changes.begin().await?;
        let existing = table::Entity::find_by_id(input.name.clone())
            .one(change.tx())
            .await?;
        let (model, created) = match existing {
            Some(existing) => {
                let unchanged = existing.collector_endpoint == input.collector_endpoint
                    && existing.opt_in == input.opt_in;
                if unchanged {
                    (existing, false)
                } else {
                    let mut active: table::ActiveModel = existing.into();
                    active.collector_endpoint = Set(input.collector_endpoint);
                    active.opt_in = Set(input.opt_in);
                    active.updated_at = Set(now);
                    change.record(Event::new("region.updated").region(&input.name));
                    (active.update(change.tx()).await?, false)
                }
            }
            None => {
                change.record(Event::new("region.registered").region(&input.name));
                let active = table::ActiveModel {
                    region_name: Set(input.name),
                    collector_endpoint: Set(input.collector_endpoint),
                    opt_in: Set(input.opt_in),
                    registered_at: Set(now),
                    updated_at: Set(now),
                };
                (active.insert(change.tx()).await?, true)
            }
        };
        change.commit().await?;
        tracing::info!(region = %model.region_name, endpoint = %model.collector_endpoint, created, "region registered");
        Ok((model.into(), created))
    }

    /// Lists regions in name order, one page at a time. Any authenticated caller.
    pub async fn list(
        &self,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Region>, String)> {
        const SCOPE: &str = "ListRegions";
        let limit = page_size(requested_page_size, LIST_DEFAULT, LIST_MAX)?;
        let after: Option<String> = self.page_tokens.open(SCOPE, page_token)?;
        let mut query = table::Entity::find().order_by_asc(table::Column::RegionName);
        if let Some(after) = after {
            query = query.filter(table::Column::RegionName.gt(after));
        }
        let mut rows = query
            .limit(u64::from(limit) + 1)
            .all(self.changes.db())
            .await?;
        let next_page_token = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            let last = rows
                .last()
                .map(|row| row.region_name.clone())
                .unwrap_or_default();
            self.page_tokens.issue(SCOPE, &last)
        } else {
            String::new()
        };
        Ok((
            rows.into_iter().map(Region::from).collect(),
            next_page_token,
        ))
    }

    /// Removes a region from the registry. Operators only.
    pub async fn deregister(&self, caller: &Caller, name: &str) -> Result<()> {
        caller.require_operator()?;
        let mut violations = Violations::new();
        violations.check("region_name", validate_region_name(name));
        violations.finish()?;
        let mut change = self.changes.begin().await?;
        let region = require_region(change.tx(), name).await?;
        if let Some(use_) = region_in_use(change.tx(), name).await? {
            return Err(Error::failed_precondition(
                REGION_IN_USE,
                format!("region {name} is in use ({use_}); release it before deregistering"),
            ));
        }
        region.delete(change.tx()).await?;
        change.record(Event::new("region.deregistered").region(name));
        change.commit().await?;
        tracing::info!(region = %name, "region deregistered");
        Ok(())
    }

    /// Enables an opt-in region for an account; a no-op for regions that are not opt-in.
    pub async fn enable_for_account(
        &self,
        caller: &Caller,
        account_id: &str,
        region_name: &str,
    ) -> Result<()> {
        self.set_enabled(caller, account_id, region_name, true)
            .await
    }

    /// Disables an opt-in region for an account.
    pub async fn disable_for_account(
        &self,
        caller: &Caller,
        account_id: &str,
        region_name: &str,
    ) -> Result<()> {
        self.set_enabled(caller, account_id, region_name, false)
            .await
    }

    async fn set_enabled(
        &self,
        caller: &Caller,
        account_id: &str,
        region_name: &str,
        enable: bool,
    ) -> Result<()> {
        let mut violations = Violations::new();
        violations.check(
            "account_id",
            tributary_runtime::ids::validate_account_id(account_id),
        );
        violations.check("region_name", validate_region_name(region_name));
        violations.finish()?;
        let mut change = self.changes.begin().await?;
        let account = require_account(change.tx(), account_id).await?;
        if !may_act_for_account(caller, &account) {
            return Err(Error::access_denied(format!(
                "only an operator, account {account_id} or its management account may change its regions"
            )));
        }
        let region = require_region(change.tx(), region_name).await?;
        if !region.opt_in {
            if enable {
                return Ok(());
            }
            return Err(Error::invalid_field(
                "region_name",
                format!("region {region_name} is not an opt-in region and is always enabled"),
            ));
        }
        let existing =
            account_regions::Entity::find_by_id((account_id.to_string(), region_name.to_string()))
                .one(change.tx())
                .await?;
        match (existing, enable) {
            (None, true) => {
                account_regions::ActiveModel {
                    account_id: Set(account_id.to_string()),
                    region_name: Set(region_name.to_string()),
                    enabled_at: Set(tributary_runtime::time::now()),
                }
                .insert(change.tx())
                .await?;
                change.record(
                    Event::new("account.region_enabled")
                        .account(account_id)
                        .region(region_name),
                );
            }
            (Some(row), false) => {
                row.delete(change.tx()).await?;
                change.record(
                    Event::new("account.region_disabled")
                        .account(account_id)
                        .region(region_name),
                );
            }
            _ => {}
        }
        change.commit().await?;
        Ok(())
    }

    /// The regions an account contributes data from.
    pub async fn account_regions(&self, caller: &Caller, account_id: &str) -> Result<Vec<String>> {
        check_account_id("account_id", account_id)?;
        let db = self.changes.db();
        let account = require_account(db, account_id).await?;
        if !may_act_for_account(caller, &account) {
            return Err(Error::access_denied(format!(
                "the caller may not see account {account_id}'s regions"
            )));
        }
        let mut names = Vec::new();
        for region in registered_regions(db).await? {
            if region_enabled_for(db, &region, account_id).await? {
                names.push(region.region_name);
            }
        }
        Ok(names)
    }
}

impl From<table::Model> for Region {
    fn from(model: table::Model) -> Self {
        Self {
            name: model.region_name,
            collector_endpoint: model.collector_endpoint,
            opt_in: model.opt_in,
            registered_at: model.registered_at,
            updated_at: model.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_http_urls_with_a_host() {
        for good in [
            "http://127.0.0.1:50061",
            "https://collector.eu.example:443",
            "http://c",
        ] {
            assert!(validate_endpoint(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "127.0.0.1:50061",
            "ftp://x:1",
            "http://",
            "http://x:1/path",
            "http://x:1?q=1",
        ] {
            assert!(validate_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn register_input_reports_every_bad_field() {
        let Err(Error::Runtime(tributary_runtime::Error::InvalidInput { violations, .. })) =
            RegisterRegion::new("US-EAST-1".into(), "nope".into(), false)
        else {
            panic!("expected invalid input");
        };
        let fields: Vec<_> = violations
            .iter()
            .map(|violation| violation.field.as_str())
            .collect();
        assert_eq!(fields, ["region_name", "collector_endpoint"]);
    }
}
