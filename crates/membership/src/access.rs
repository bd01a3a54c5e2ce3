//! API keys: creation, listing, revocation, bootstrap of the first keys, and the local
//! authenticator membership uses for its own callers.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rand::RngExt;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};
use tributary_runtime::{
    Violations,
    auth::{AuthError, Authenticator, Caller, Principal, hash_api_key},
    error::reason,
    ids::validate_label,
    paging::{Direction, PageTokens, keyset_after, page_size},
};

use crate::{
    error::{Error, Result},
    organizations::{self, AccountStatus, require_account, require_organization},
    store::api_keys as table,
};

/// Default and maximum page sizes of `ListApiKeys`.
const LIST_DEFAULT: u32 = 50;
const LIST_MAX: u32 = 100;
/// Shortest key accepted from configuration (generated keys are far longer).
const MIN_CONFIGURED_KEY_LENGTH: usize = 16;
/// The service name of the bootstrap service key.
pub const BOOTSTRAP_SERVICE_NAME: &str = "tributary";

/// An API key's metadata (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub key_id: String,
    pub name: String,
    pub principal: Principal,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A validated `CreateApiKey` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateApiKey {
    pub name: String,
    pub principal: Principal,
}

impl CreateApiKey {
    /// Validates the label and the principal, reporting every bad field.
    pub fn new(
        name: String,
        principal: Option<&tributary_proto::membership::v1::Principal>,
    ) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("name", validate_label(&name, 128));
        let principal = match principal {
            None => {
                violations.add("principal", "is required");
                None
            }
            Some(message) => match Principal::from_proto(message, "principal") {
                Ok(principal) => Some(principal),
                Err(tributary_runtime::Error::InvalidInput {
                    violations: found, ..
                }) => {
                    for violation in found {
                        violations.add(violation.field, violation.description);
                    }
                    None
                }
                Err(other) => return Err(other.into()),
            },
        };
        violations.finish()?;
        Ok(Self {
            name,
            principal: principal.unwrap_or(Principal::Operator),
        })
    }
}

/// The key store.
pub struct ApiKeys {
    db: DatabaseConnection,
    page_tokens: PageTokens,
}

impl ApiKeys {
    /// The keys stored in `db`.
    pub fn new(db: DatabaseConnection, page_tokens: PageTokens) -> Self {
        Self { db, page_tokens }
    }

    /// Creates a key and returns it with its secret, which is not stored. Operators only.
    pub async fn create(&self, caller: &Caller, input: CreateApiKey) -> Result<(ApiKey, String)> {
        caller.require_operator()?;
        self.require_principal_exists(&input.principal).await?;
        let secret = generate_secret();
        let key = self.insert(&input.name, &input.principal, &secret).await?;
        tracing::info!(key_id = %key.key_id, created_by = %caller.key_id, "api key created");
        Ok((key, secret))
    }

    /// Account keys need an existing, open account; organization-management keys need the
    /// organization and its management account.
    async fn require_principal_exists(&self, principal: &Principal) -> Result<()> {
        match principal {
            Principal::Account { account_id } => {
                let account = require_account(&self.db, account_id).await?;
                if AccountStatus::parse(&account.status) == AccountStatus::Closed {
                    return Err(Error::failed_precondition(
                        organizations::reason::ACCOUNT_CLOSED,
                        format!("account {account_id} is closed"),
                    ));
                }
            }
            Principal::OrganizationManagement {
                organization_id,
                account_id,
            } => {
                let organization = require_organization(&self.db, organization_id).await?;
                if organization.management_account_id != *account_id {
                    return Err(Error::invalid_field(
                        "principal.account_id",
                        format!(
                            "must be the management account of {organization_id} ({})",
                            organization.management_account_id
                        ),
                    ));
                }
            }
            Principal::Operator | Principal::Service { .. } => {}
        }
        Ok(())
    }

    /// Lists keys in creation order. Operators only.
    pub async fn list(
        &self,
        caller: &Caller,
        requested_page_size: i32,
        page_token: &str,
        include_revoked: bool,
    ) -> Result<(Vec<ApiKey>, String)> {
        caller.require_operator()?;
        let scope = format!("ListApiKeys:{include_revoked}");
        let limit = page_size(requested_page_size, LIST_DEFAULT, LIST_MAX)?;
        let after: Option<(i64, String)> = self.page_tokens.open(&scope, page_token)?;
        let mut query = table::Entity::find()
            .order_by_asc(table::Column::CreatedAt)
            .order_by_asc(table::Column::KeyId);
        if !include_revoked {
            query = query.filter(table::Column::RevokedAt.is_null());
        }
        if let Some((created_micros, key_id)) = after {
            let created_at = DateTime::from_timestamp_micros(created_micros).unwrap_or_default();
            query = query.filter(keyset_after(vec![
                (
                    table::Column::CreatedAt,
                    created_at.into(),
                    Direction::Ascending,
                ),
                (table::Column::KeyId, key_id.into(), Direction::Ascending),
            ]));
        }
        let mut rows = query.limit(u64::from(limit) + 1).all(&self.db).await?;
        let next_page_token = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|last| {
                    self.page_tokens
                        .issue(&scope, &(last.created_at.timestamp_micros(), &last.key_id))
                })
                .unwrap_or_default()
        } else {
            String::new()
        };
        let keys = rows
            .into_iter()
            .map(ApiKey::try_from)
            .collect::<Result<_>>()?;
        Ok((keys, next_page_token))
    }

    /// Revokes a key; revoking a revoked key changes nothing. Operators only.
    pub async fn revoke(&self, caller: &Caller, key_id: &str) -> Result<ApiKey> {
        caller.require_operator()?;
        let model = table::Entity::find_by_id(key_id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| Error::NotFound {
                reason: reason::RESOURCE_NOT_FOUND,
                message: format!("API key {key_id:?} does not exist"),
            })?;
        if model.revoked_at.is_some() {
            return ApiKey::try_from(model);
        }
        let mut active: table::ActiveModel = model.into();
        active.revoked_at = Set(Some(tributary_runtime::time::now()));
        let model = active.update(&self.db).await?;
        tracing::info!(key_id = %key_id, revoked_by = %caller.key_id, "api key revoked");
        ApiKey::try_from(model)
    }

    /// The caller behind an active key, if any.
    pub async fn authenticate(&self, api_key: &str) -> Result<Option<Caller>> {
        let model = table::Entity::find()
            .filter(table::Column::KeyHash.eq(hash_api_key(api_key)))
            .filter(table::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?;
        model
            .map(|model| {
                ApiKey::try_from(model).map(|key| Caller {
                    key_id: key.key_id,
                    principal: key.principal,
                })
            })
            .transpose()
    }

    /// Ensures the configured operator and service keys exist. With no configured operator key and
    /// no active operator key at all, generates one and returns it so it can be shown once. A
    /// configured key that was revoked stays revoked.
    pub async fn bootstrap(
        &self,
        operator_key: Option<&str>,
        service_key: Option<&str>,
    ) -> Result<Option<String>> {
        let mut violations = Violations::new();
        for (field, key) in [
            ("bootstrap_key", operator_key),
            ("bootstrap_service_key", service_key),
        ] {
            if let Some(key) = key {
                violations.check(field, validate_configured_key(key));
            }
        }
        violations.finish()?;

        if let Some(key) = service_key {
            let principal = Principal::Service {
                name: BOOTSTRAP_SERVICE_NAME.to_string(),
            };
            self.ensure(key, "bootstrap service key", &principal)
                .await?;
        }
        if let Some(key) = operator_key {
            self.ensure(key, "bootstrap operator key", &Principal::Operator)
                .await?;
            return Ok(None);
        }
        let any_operator = table::Entity::find()
            .filter(table::Column::PrincipalKind.eq(kind_name(&Principal::Operator)))
            .filter(table::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
            .is_some();
        if any_operator {
            return Ok(None);
        }
        let secret = generate_secret();
        self.insert("bootstrap operator key", &Principal::Operator, &secret)
            .await?;
        Ok(Some(secret))
    }

    /// Stores `secret` unless a key with the same hash exists (revoked or not).
    async fn ensure(&self, secret: &str, name: &str, principal: &Principal) -> Result<()> {
        let model = new_row(name, principal, secret);
        table::Entity::insert(model)
            .on_conflict(
                OnConflict::column(table::Column::KeyHash)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        let stored = table::Entity::find()
            .filter(table::Column::KeyHash.eq(hash_api_key(secret)))
            .one(&self.db)
            .await?;
        if stored.is_some_and(|row| row.revoked_at.is_some()) {
            tracing::warn!(
                name,
                "a configured bootstrap key was revoked and stays revoked"
            );
        }
        Ok(())
    }

    async fn insert(&self, name: &str, principal: &Principal, secret: &str) -> Result<ApiKey> {
        ApiKey::try_from(new_row(name, principal, secret).insert(&self.db).await?)
    }
}

/// The service principal whose delegated administrators read their organization's configuration
/// data, as AWS Config's delegated administrators do.
pub const CONFIG_SERVICE_PRINCIPAL: &str = "config.amazonaws.com";

/// A validated `CheckAccountAccess` question: may `caller_account_id` read `target_account_id`'s
/// data in `region`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountAccessQuery {
    pub caller_account_id: String,
    pub target_account_id: String,
    pub region: String,
}

impl AccountAccessQuery {
    /// Validates both account ids and the region, reporting every bad field.
    pub fn new(
        caller_account_id: String,
        target_account_id: String,
        region: String,
    ) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check(
            "caller_account_id",
            tributary_runtime::ids::validate_account_id(&caller_account_id),
        );
        violations.check(
            "target_account_id",
            tributary_runtime::ids::validate_account_id(&target_account_id),
        );
        violations.check(
            "region",
            tributary_runtime::ids::validate_region_name(&region),
        );
        violations.finish()?;
        Ok(Self {
            caller_account_id,
            target_account_id,
            region,
        })
    }
}

/// The answer to an [`AccountAccessQuery`] and the relationship (or its absence) behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountAccessDecision {
    pub allowed: bool,
    pub reason: String,
}

impl AccountAccessDecision {
    fn allowed(reason: String) -> Self {
        Self {
            allowed: true,
            reason,
        }
    }
}

/// Decides whether one account may read another's data in a region. An account reads its own
/// data; the target's Security Hub administrator reads it where their relationship is Enabled in
/// that region; the management account of the target's organization and the organization's
/// delegated administrators for AWS Config read it in every region. Unknown accounts are simply
/// not allowed, so the answer never tells a caller which accounts exist.
pub async fn check_account_access(
    db: &impl ConnectionTrait,
    query: &AccountAccessQuery,
) -> Result<AccountAccessDecision> {
    let AccountAccessQuery {
        caller_account_id: reader,
        target_account_id: target,
        region,
    } = query;
    if reader == target {
        return Ok(AccountAccessDecision::allowed(format!(
            "{reader} reads its own data"
        )));
    }
    if crate::securityhub::administrator_of(db, target, region)
        .await?
        .is_some_and(|administrator| administrator == *reader)
    {
        return Ok(AccountAccessDecision::allowed(format!(
            "{reader} is the Security Hub administrator of {target} in {region}"
        )));
    }
    let organization_id = organizations::find_account(db, target)
        .await?
        .and_then(|account| account.organization_id);
    if let Some(organization_id) = organization_id {
        let organization = require_organization(db, &organization_id).await?;
        if organization.management_account_id == *reader {
            return Ok(AccountAccessDecision::allowed(format!(
                "{reader} is the management account of {target}'s organization {organization_id}"
            )));
        }
        if organizations::is_delegated_administrator(
            db,
            &organization_id,
            reader,
            CONFIG_SERVICE_PRINCIPAL,
        )
        .await?
        {
            return Ok(AccountAccessDecision::allowed(format!(
                "{reader} is a delegated administrator for {CONFIG_SERVICE_PRINCIPAL} in \
                 {target}'s organization {organization_id}"
            )));
        }
    }
    Ok(AccountAccessDecision {
        allowed: false,
        reason: format!(
            "{reader} is neither {target}'s Security Hub administrator in {region} nor an \
             administrator of its organization"
        ),
    })
}

impl ApiKeys {
    /// Answers a [`AccountAccessQuery`]. Service and operator principals only: collectors ask it
    /// before letting an account key read another account's data.
    pub async fn check_account_access(
        &self,
        caller: &Caller,
        query: &AccountAccessQuery,
    ) -> Result<AccountAccessDecision> {
        caller.require_service_or_operator()?;
        check_account_access(&self.db, query).await
    }
}

/// An account's Security Hub in one region, as collectors need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubStatus {
    /// The hub is enabled.
    pub hub_enabled: bool,
    /// The Enabled administrator, if any.
    pub administrator_account_id: Option<String>,
}

impl ApiKeys {
    /// Describes `account_id`'s hub in `region`. Service and operator principals only: collectors
    /// ask it before serving an account's Security Hub calls.
    pub async fn describe_hub_status(
        &self,
        caller: &Caller,
        account_id: &str,
        region: &str,
    ) -> Result<HubStatus> {
        caller.require_service_or_operator()?;
        let mut violations = Violations::new();
        violations.check(
            "account_id",
            tributary_runtime::ids::validate_account_id(account_id),
        );
        violations.check(
            "region",
            tributary_runtime::ids::validate_region_name(region),
        );
        violations.finish()?;
        Ok(HubStatus {
            hub_enabled: crate::securityhub::hub_enabled(&self.db, account_id, region).await?,
            administrator_account_id: crate::securityhub::administrator_of(
                &self.db, account_id, region,
            )
            .await?,
        })
    }
}

/// Answers "who is this key" for membership's own server from its own table.
pub struct LocalAuthenticator {
    keys: Arc<ApiKeys>,
}

impl LocalAuthenticator {
    /// Authenticates against `keys`.
    pub fn new(keys: Arc<ApiKeys>) -> Self {
        Self { keys }
    }
}

#[tonic::async_trait]
impl Authenticator for LocalAuthenticator {
    async fn authenticate(&self, api_key: &str) -> std::result::Result<Caller, AuthError> {
        match self.keys.authenticate(api_key).await {
            Ok(Some(caller)) => Ok(caller),
            Ok(None) => Err(AuthError::UnknownKey),
            Err(error) => Err(AuthError::Unavailable(error.to_string())),
        }
    }
}

fn new_row(name: &str, principal: &Principal, secret: &str) -> table::ActiveModel {
    let (account_id, organization_id, service_name) = match principal {
        Principal::Operator => (None, None, None),
        Principal::Service { name } => (None, None, Some(name.clone())),
        Principal::Account { account_id } => (Some(account_id.clone()), None, None),
        Principal::OrganizationManagement {
            organization_id,
            account_id,
        } => (
            Some(account_id.clone()),
            Some(organization_id.clone()),
            None,
        ),
    };
    table::ActiveModel {
        key_id: Set(format!("key-{}", tributary_runtime::db::random_hex(8))),
        name: Set(name.to_string()),
        key_hash: Set(hash_api_key(secret)),
        principal_kind: Set(kind_name(principal).to_string()),
        account_id: Set(account_id),
        organization_id: Set(organization_id),
        service_name: Set(service_name),
        created_at: Set(tributary_runtime::time::now()),
        revoked_at: Set(None),
    }
}

fn kind_name(principal: &Principal) -> &'static str {
    match principal {
        Principal::Operator => "operator",
        Principal::Service { .. } => "service",
        Principal::Account { .. } => "account",
        Principal::OrganizationManagement { .. } => "organization_management",
    }
}

/// A new key: `trb_` and 32 random bytes, base64url.
fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes[..]);
    format!("trb_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A key given in configuration: at least 16 printable ASCII characters, no spaces.
fn validate_configured_key(key: &str) -> std::result::Result<(), String> {
    if key.len() >= MIN_CONFIGURED_KEY_LENGTH && key.bytes().all(|byte| byte.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(format!(
            "must be at least {MIN_CONFIGURED_KEY_LENGTH} printable ASCII characters without spaces"
        ))
    }
}

impl TryFrom<table::Model> for ApiKey {
    type Error = Error;

    fn try_from(model: table::Model) -> Result<Self> {
        let principal = match model.principal_kind.as_str() {
            "operator" => Principal::Operator,
            "service" => Principal::Service {
                name: model.service_name.unwrap_or_default(),
            },
            "account" => Principal::Account {
                account_id: model.account_id.unwrap_or_default(),
            },
            "organization_management" => Principal::OrganizationManagement {
                organization_id: model.organization_id.unwrap_or_default(),
                account_id: model.account_id.unwrap_or_default(),
            },
            other => {
                // Never guess a principal: an unreadable row grants nothing.
                return Err(Error::Database(sea_orm::DbErr::Type(format!(
                    "api key {} has unknown principal kind {other:?}",
                    model.key_id
                ))));
            }
        };
        Ok(Self {
            key_id: model.key_id,
            name: model.name,
            principal,
            created_at: model.created_at,
            revoked_at: model.revoked_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let first = generate_secret();
        assert!(first.starts_with("trb_") && first.len() == 47, "{first}");
        assert_ne!(first, generate_secret());
    }

    #[test]
    fn configured_keys_must_be_long_and_printable() {
        assert!(validate_configured_key("0123456789abcdef").is_ok());
        assert!(validate_configured_key("short").is_err());
        assert!(validate_configured_key("0123456789 abcdef").is_err());
    }
}
