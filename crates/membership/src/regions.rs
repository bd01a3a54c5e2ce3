//! The region registry: which regions exist and where their collectors listen.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
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
    store::regions as table,
};

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

/// The region registry.
pub struct Regions {
    db: DatabaseConnection,
    page_tokens: PageTokens,
}

impl Regions {
    /// The registry stored in `db`.
    pub fn new(db: DatabaseConnection, page_tokens: PageTokens) -> Self {
        Self { db, page_tokens }
    }

    /// Registers a region or updates its endpoint and opt-in flag. Returns the region and whether it
    /// was new. Operators only.
    pub async fn register(&self, caller: &Caller, input: RegisterRegion) -> Result<(Region, bool)> {
        caller.require_operator()?;
        let now = tributary_runtime::time::now();
        let transaction = self.db.begin().await?;
        let existing = table::Entity::find_by_id(input.name.clone())
            .one(&transaction)
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
                    (active.update(&transaction).await?, false)
                }
            }
            None => {
                let active = table::ActiveModel {
                    region_name: Set(input.name),
                    collector_endpoint: Set(input.collector_endpoint),
                    opt_in: Set(input.opt_in),
                    registered_at: Set(now),
                    updated_at: Set(now),
                };
                (active.insert(&transaction).await?, true)
            }
        };
        transaction.commit().await?;
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
        let mut rows = query.limit(u64::from(limit) + 1).all(&self.db).await?;
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
        let deleted = table::Entity::delete_by_id(name.to_string())
            .exec(&self.db)
            .await?
            .rows_affected;
        if deleted == 0 {
            return Err(Error::NotFound {
                reason: reason::RESOURCE_NOT_FOUND,
                message: format!("region {name} is not registered"),
            });
        }
        tracing::info!(region = %name, "region deregistered");
        Ok(())
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
