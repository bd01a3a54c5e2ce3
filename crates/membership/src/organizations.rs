//! Organizations and accounts: the directory. An organization has one management account; an
//! account is in at most one organization; trusted access and delegated administrators are per
//! service principal.

use chrono::{DateTime, Utc};
use rand::RngExt;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tributary_runtime::{
    Violations,
    auth::{Caller, Principal},
    ids::{validate_account_id, validate_label},
    paging::{PageTokens, page_size},
};

use crate::{
    error::{Error, Result},
    events::{Changes, Event},
    store::{accounts, delegated_administrators, organizations, service_access},
};

/// AWS exception names of the directory.
pub mod reason {
    pub const ACCOUNT_NOT_FOUND: &str = "AccountNotFoundException";
    pub const NOT_IN_USE: &str = "AWSOrganizationsNotInUseException";
    pub const ALREADY_IN_ORGANIZATION: &str = "AlreadyInOrganizationException";
    pub const NOT_EMPTY: &str = "OrganizationNotEmptyException";
    pub const DUPLICATE_ACCOUNT: &str = "DuplicateAccountException";
    pub const CONSTRAINT_VIOLATION: &str = "ConstraintViolationException";
    pub const ALREADY_REGISTERED: &str = "AccountAlreadyRegisteredException";
    pub const NOT_REGISTERED: &str = "AccountNotRegisteredException";
    pub const ACCOUNT_CLOSED: &str = "AccountClosedException";
}

/// Page sizes of `ListAccounts` (the AWS Organizations limits).
const LIST_DEFAULT: u32 = 20;
const LIST_MAX: u32 = 20;

/// An account's lifecycle state, stored as its upper-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Suspended,
    Closed,
}

impl AccountStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "ACTIVE",
            AccountStatus::Suspended => "SUSPENDED",
            AccountStatus::Closed => "CLOSED",
        }
    }

    /// Parses a stored name; unknown names read as closed, which grants nothing.
    pub fn parse(stored: &str) -> Self {
        match stored {
            "ACTIVE" => AccountStatus::Active,
            "SUSPENDED" => AccountStatus::Suspended,
            _ => AccountStatus::Closed,
        }
    }
}

/// An organization's feature set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureSet {
    All,
    ConsolidatedBilling,
}

impl FeatureSet {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureSet::All => "ALL",
            FeatureSet::ConsolidatedBilling => "CONSOLIDATED_BILLING",
        }
    }

    /// Parses a stored name.
    pub fn parse(stored: &str) -> Self {
        if stored == "ALL" {
            FeatureSet::All
        } else {
            FeatureSet::ConsolidatedBilling
        }
    }
}

/// A validated `CreateAccount` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub account_id: String,
    pub name: String,
    pub email: String,
    pub organization_id: Option<String>,
}

impl NewAccount {
    /// Validates every field, reporting all bad ones.
    pub fn new(
        account_id: String,
        name: String,
        email: String,
        organization_id: String,
    ) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&account_id));
        violations.check("name", validate_label(&name, 50));
        if !email.is_empty() {
            violations.check("email", validate_email(&email));
        }
        if !organization_id.is_empty() {
            violations.check(
                "organization_id",
                tributary_runtime::auth::validate_organization_id(&organization_id),
            );
        }
        violations.finish()?;
        Ok(Self {
            account_id,
            name,
            email,
            organization_id: (!organization_id.is_empty()).then_some(organization_id),
        })
    }
}

/// An email address: 6-64 characters with one "@" between non-empty parts.
pub fn validate_email(email: &str) -> std::result::Result<(), String> {
    let shaped = (6..=64).contains(&email.len())
        && email.split('@').count() == 2
        && email.split('@').all(|part| !part.is_empty())
        && !email
            .chars()
            .any(|character| character.is_whitespace() || character.is_control());
    if shaped {
        Ok(())
    } else {
        Err("must be an email address of 6-64 characters".to_string())
    }
}

/// A service principal such as `config.amazonaws.com`: 1-128 of lowercase letters, digits, dots
/// and hyphens.
pub fn validate_service_principal(principal: &str) -> std::result::Result<(), String> {
    let shaped = !principal.is_empty()
        && principal.len() <= 128
        && principal.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'.' || byte == b'-'
        });
    if shaped {
        Ok(())
    } else {
        Err("must be a service principal such as \"config.amazonaws.com\"".to_string())
    }
}

/// Validates one account id argument.
pub fn check_account_id(field: &str, account_id: &str) -> Result<()> {
    let mut violations = Violations::new();
    violations.check(field, validate_account_id(account_id));
    Ok(violations.finish()?)
}

/// Validates one organization id argument.
pub fn check_organization_id(field: &str, organization_id: &str) -> Result<()> {
    let mut violations = Violations::new();
    violations.check(
        field,
        tributary_runtime::auth::validate_organization_id(organization_id),
    );
    Ok(violations.finish()?)
}

/// The account, or none.
pub async fn find_account(
    db: &impl ConnectionTrait,
    account_id: &str,
) -> Result<Option<accounts::Model>> {
    Ok(accounts::Entity::find_by_id(account_id.to_string())
        .one(db)
        .await?)
}

/// The account, or `AccountNotFoundException`.
pub async fn require_account(
    db: &impl ConnectionTrait,
    account_id: &str,
) -> Result<accounts::Model> {
    find_account(db, account_id).await?.ok_or_else(|| {
        Error::not_found(
            reason::ACCOUNT_NOT_FOUND,
            format!("account {account_id} does not exist"),
        )
    })
}

/// The organization, or `AWSOrganizationsNotInUseException`.
pub async fn require_organization(
    db: &impl ConnectionTrait,
    organization_id: &str,
) -> Result<organizations::Model> {
    organizations::Entity::find_by_id(organization_id.to_string())
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::not_found(
                reason::NOT_IN_USE,
                format!("organization {organization_id} does not exist"),
            )
        })
}

/// True when `account_id` is registered as delegated administrator for `service_principal` in
/// `organization_id`.
pub async fn is_delegated_administrator(
    db: &impl ConnectionTrait,
    organization_id: &str,
    account_id: &str,
    service_principal: &str,
) -> Result<bool> {
    Ok(delegated_administrators::Entity::find_by_id((
        organization_id.to_string(),
        account_id.to_string(),
        service_principal.to_string(),
    ))
    .one(db)
    .await?
    .is_some())
}

/// True when trusted access for `service_principal` is enabled in `organization_id`.
pub async fn has_service_access(
    db: &impl ConnectionTrait,
    organization_id: &str,
    service_principal: &str,
) -> Result<bool> {
    Ok(service_access::Entity::find_by_id((
        organization_id.to_string(),
        service_principal.to_string(),
    ))
    .one(db)
    .await?
    .is_some())
}

/// The account the caller acts as, for account and organization-management principals.
pub fn acting_account(caller: &Caller) -> Option<&str> {
    match &caller.principal {
        Principal::Account { account_id }
        | Principal::OrganizationManagement { account_id, .. } => Some(account_id),
        Principal::Operator | Principal::Service { .. } => None,
    }
}

/// True for operators and for the management principal of `organization_id`.
pub fn administers_organization(caller: &Caller, organization_id: &str) -> bool {
    match &caller.principal {
        Principal::Operator => true,
        Principal::OrganizationManagement {
            organization_id: managed,
            ..
        } => managed == organization_id,
        _ => false,
    }
}

/// True for operators, the account itself, and its organization's management principal.
pub fn may_act_for_account(caller: &Caller, account: &accounts::Model) -> bool {
    acting_account(caller) == Some(account.account_id.as_str())
        || account
            .organization_id
            .as_deref()
            .is_some_and(|organization_id| administers_organization(caller, organization_id))
        || matches!(caller.principal, Principal::Operator)
}

/// Fails with `AccessDeniedException` unless the caller administers `organization_id`.
fn require_administrator(caller: &Caller, organization_id: &str) -> Result<()> {
    if administers_organization(caller, organization_id) {
        Ok(())
    } else {
        Err(Error::access_denied(format!(
            "only an operator or the management account of {organization_id} may do this"
        )))
    }
}

/// Fails with `AccessDeniedException` unless the caller may see `organization_id`: operators, its
/// management principal, and its accounts.
async fn require_viewer(
    db: &impl ConnectionTrait,
    caller: &Caller,
    organization_id: &str,
) -> Result<()> {
    if administers_organization(caller, organization_id) {
        return Ok(());
    }
    if let Some(account_id) = acting_account(caller)
        && let Some(account) = find_account(db, account_id).await?
        && account.organization_id.as_deref() == Some(organization_id)
    {
        return Ok(());
    }
    Err(Error::access_denied(format!(
        "the caller is not part of organization {organization_id}"
    )))
}

fn require_open(account: &accounts::Model) -> Result<()> {
    if AccountStatus::parse(&account.status) == AccountStatus::Closed {
        Err(Error::failed_precondition(
            reason::ACCOUNT_CLOSED,
            format!("account {} is closed", account.account_id),
        ))
    } else {
        Ok(())
    }
}

/// A new organization id: "o-" and 10 lowercase letters or digits.
fn new_organization_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut random = [0u8; 10];
    rand::rng().fill(&mut random[..]);
    let suffix: String = random
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect();
    format!("o-{suffix}")
}

/// The organization and account directory.
pub struct Organizations {
    changes: Changes,
    page_tokens: PageTokens,
}

impl Organizations {
    /// The directory behind `changes`.
    pub fn new(changes: Changes, page_tokens: PageTokens) -> Self {
        Self {
            changes,
            page_tokens,
        }
    }

    /// Creates an organization around an existing standalone account. Operators only.
    pub async fn create_organization(
        &self,
        caller: &Caller,
        management_account_id: &str,
        feature_set: FeatureSet,
    ) -> Result<organizations::Model> {
        caller.require_operator()?;
        check_account_id("management_account_id", management_account_id)?;
        let mut change = self.changes.begin().await?;
        let account = require_account(change.tx(), management_account_id).await?;
        require_open(&account)?;
        if let Some(existing) = &account.organization_id {
            return Err(Error::already_exists(
                reason::ALREADY_IN_ORGANIZATION,
                format!("account {management_account_id} is already in organization {existing}"),
            ));
        }
        let now = tributary_runtime::time::now();
        let organization = organizations::ActiveModel {
            organization_id: Set(new_organization_id()),
            management_account_id: Set(management_account_id.to_string()),
            feature_set: Set(feature_set.as_str().to_string()),
            created_at: Set(now),
        }
        .insert(change.tx())
        .await?;
        join(change.tx(), account, &organization.organization_id, now).await?;
        change.record(
            Event::new("organization.created")
                .organization(&organization.organization_id)
                .account(management_account_id),
        );
        change.record(
            Event::new("organization.account_added")
                .organization(&organization.organization_id)
                .account(management_account_id),
        );
        change.commit().await?;
        Ok(organization)
    }

    /// Describes an organization; an empty id means the caller's own.
    pub async fn describe_organization(
        &self,
        caller: &Caller,
        organization_id: &str,
    ) -> Result<organizations::Model> {
        let db = self.changes.db();
        let organization_id = if organization_id.is_empty() {
            self.callers_organization(caller).await?
        } else {
            check_organization_id("organization_id", organization_id)?;
            organization_id.to_string()
        };
        require_viewer(db, caller, &organization_id).await?;
        require_organization(db, &organization_id).await
    }

    async fn callers_organization(&self, caller: &Caller) -> Result<String> {
        if let Principal::OrganizationManagement {
            organization_id, ..
        } = &caller.principal
        {
            return Ok(organization_id.clone());
        }
        let account_id = acting_account(caller).ok_or_else(|| {
            Error::invalid_field(
                "organization_id",
                "is required for operator and service principals",
            )
        })?;
        require_account(self.changes.db(), account_id)
            .await?
            .organization_id
            .ok_or_else(|| {
                Error::not_found(
                    reason::NOT_IN_USE,
                    format!("account {account_id} is not in an organization"),
                )
            })
    }

    /// Deletes an organization whose only account is its management account.
    pub async fn delete_organization(&self, caller: &Caller, organization_id: &str) -> Result<()> {
        check_organization_id("organization_id", organization_id)?;
        require_administrator(caller, organization_id)?;
        let mut change = self.changes.begin().await?;
        let organization = require_organization(change.tx(), organization_id).await?;
        let others = accounts::Entity::find()
            .filter(accounts::Column::OrganizationId.eq(organization_id))
            .filter(accounts::Column::AccountId.ne(organization.management_account_id.clone()))
            .count(change.tx())
            .await?;
        if others > 0 {
            return Err(Error::failed_precondition(
                reason::NOT_EMPTY,
                format!(
                    "organization {organization_id} still has {others} member account(s); remove them first"
                ),
            ));
        }
        if let Some(management) =
            find_account(change.tx(), &organization.management_account_id).await?
        {
            leave(change.tx(), management).await?;
        }
        service_access::Entity::delete_many()
            .filter(service_access::Column::OrganizationId.eq(organization_id))
            .exec(change.tx())
            .await?;
        delegated_administrators::Entity::delete_many()
            .filter(delegated_administrators::Column::OrganizationId.eq(organization_id))
            .exec(change.tx())
            .await?;
        let management_account_id = organization.management_account_id.clone();
        organization.delete(change.tx()).await?;
        change.record(
            Event::new("organization.account_removed")
                .organization(organization_id)
                .account(&management_account_id),
        );
        change.record(Event::new("organization.deleted").organization(organization_id));
        change.commit().await?;
        Ok(())
    }

    /// Creates an account, standalone or in an organization.
    pub async fn create_account(
        &self,
        caller: &Caller,
        input: NewAccount,
    ) -> Result<accounts::Model> {
        match &input.organization_id {
            Some(organization_id) => require_administrator(caller, organization_id)?,
            None => caller.require_operator()?,
        }
        let mut change = self.changes.begin().await?;
        if find_account(change.tx(), &input.account_id)
            .await?
            .is_some()
        {
            return Err(Error::already_exists(
                reason::DUPLICATE_ACCOUNT,
                format!("account {} already exists", input.account_id),
            ));
        }
        if let Some(organization_id) = &input.organization_id {
            require_organization(change.tx(), organization_id).await?;
        }
        let now = tributary_runtime::time::now();
        let account = accounts::ActiveModel {
            account_id: Set(input.account_id.clone()),
            name: Set(input.name),
            email: Set(input.email),
            organization_id: Set(input.organization_id.clone()),
            status: Set(AccountStatus::Active.as_str().to_string()),
            created_at: Set(now),
            joined_at: Set(input.organization_id.as_ref().map(|_| now)),
        }
        .insert(change.tx())
        .await?;
        change.record(Event::new("account.created").account(&account.account_id));
        if let Some(organization_id) = &input.organization_id {
            change.record(
                Event::new("organization.account_added")
                    .organization(organization_id)
                    .account(&account.account_id),
            );
            crate::securityhub::on_account_joined(
                &mut change,
                organization_id,
                &account.account_id,
            )
            .await?;
        }
        change.commit().await?;
        Ok(account)
    }

    /// Describes an account to an operator, itself, or its management account.
    pub async fn describe_account(
        &self,
        caller: &Caller,
        account_id: &str,
    ) -> Result<accounts::Model> {
        check_account_id("account_id", account_id)?;
        let account = require_account(self.changes.db(), account_id).await?;
        // Services read accounts too: the aggregator resolves an owner's organization.
        if may_act_for_account(caller, &account)
            || matches!(caller.principal, Principal::Service { .. })
        {
            Ok(account)
        } else {
            Err(Error::access_denied(format!(
                "the caller may not see account {account_id}"
            )))
        }
    }

    /// Lists accounts in id order: every account (operators) or one organization's.
    pub async fn list_accounts(
        &self,
        caller: &Caller,
        organization_id: &str,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<accounts::Model>, String)> {
        let organization_id = match (&caller.principal, organization_id.is_empty()) {
            (
                Principal::OrganizationManagement {
                    organization_id: own,
                    ..
                },
                true,
            ) => own.clone(),
            (_, true) => {
                caller.require_operator()?;
                String::new()
            }
            (_, false) => {
                check_organization_id("organization_id", organization_id)?;
                require_administrator(caller, organization_id)?;
                organization_id.to_string()
            }
        };
        let scope = format!("ListAccounts:{organization_id}");
        let limit = page_size(requested_page_size, LIST_DEFAULT, LIST_MAX)?;
        let after: Option<String> = self.page_tokens.open(&scope, page_token)?;
        let mut query = accounts::Entity::find().order_by_asc(accounts::Column::AccountId);
        if !organization_id.is_empty() {
            query = query.filter(accounts::Column::OrganizationId.eq(organization_id.clone()));
        }
        if let Some(after) = after {
            query = query.filter(accounts::Column::AccountId.gt(after));
        }
        let mut rows = query
            .limit(u64::from(limit) + 1)
            .all(self.changes.db())
            .await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|last| self.page_tokens.issue(&scope, &last.account_id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok((rows, next))
    }

    /// Moves a standalone account into an organization.
    pub async fn add_account(
        &self,
        caller: &Caller,
        organization_id: &str,
        account_id: &str,
    ) -> Result<accounts::Model> {
        check_organization_id("organization_id", organization_id)?;
        check_account_id("account_id", account_id)?;
        require_administrator(caller, organization_id)?;
        let mut change = self.changes.begin().await?;
        require_organization(change.tx(), organization_id).await?;
        let account = require_account(change.tx(), account_id).await?;
        require_open(&account)?;
        if let Some(existing) = &account.organization_id {
            return Err(Error::already_exists(
                reason::ALREADY_IN_ORGANIZATION,
                format!("account {account_id} is already in organization {existing}"),
            ));
        }
        let account = join(
            change.tx(),
            account,
            organization_id,
            tributary_runtime::time::now(),
        )
        .await?;
        change.record(
            Event::new("organization.account_added")
                .organization(organization_id)
                .account(account_id),
        );
        crate::securityhub::on_account_joined(&mut change, organization_id, account_id).await?;
        change.commit().await?;
        Ok(account)
    }

    /// Makes a member account standalone; its delegated-administrator registrations end.
    pub async fn remove_account(
        &self,
        caller: &Caller,
        organization_id: &str,
        account_id: &str,
    ) -> Result<accounts::Model> {
        check_organization_id("organization_id", organization_id)?;
        check_account_id("account_id", account_id)?;
        require_administrator(caller, organization_id)?;
        let mut change = self.changes.begin().await?;
        let organization = require_organization(change.tx(), organization_id).await?;
        let account = require_account(change.tx(), account_id).await?;
        if account.organization_id.as_deref() != Some(organization_id) {
            return Err(Error::not_found(
                reason::ACCOUNT_NOT_FOUND,
                format!("account {account_id} is not in organization {organization_id}"),
            ));
        }
        if organization.management_account_id == account_id {
            return Err(Error::failed_precondition(
                reason::CONSTRAINT_VIOLATION,
                "the management account cannot leave its organization; delete the organization instead",
            ));
        }
        let account = leave(change.tx(), account).await?;
        change.record(
            Event::new("organization.account_removed")
                .organization(organization_id)
                .account(account_id),
        );
        crate::securityhub::on_account_left(&mut change, organization_id, account_id).await?;
        change.commit().await?;
        Ok(account)
    }

    /// Suspends, reactivates or closes an account.
    pub async fn set_status(
        &self,
        caller: &Caller,
        account_id: &str,
        status: AccountStatus,
    ) -> Result<accounts::Model> {
        check_account_id("account_id", account_id)?;
        let mut change = self.changes.begin().await?;
        let account = require_account(change.tx(), account_id).await?;
        let permitted = matches!(caller.principal, Principal::Operator)
            || account
                .organization_id
                .as_deref()
                .is_some_and(|organization_id| administers_organization(caller, organization_id));
        if !permitted {
            return Err(Error::access_denied(format!(
                "only an operator or the management account of {account_id}'s organization may change its status"
            )));
        }
        require_open(&account)?;
        let current = AccountStatus::parse(&account.status);
        if current == status {
            return Ok(account);
        }
        let mut account = account;
        if status == AccountStatus::Closed
            && let Some(organization_id) = account.organization_id.clone()
        {
            let organization = require_organization(change.tx(), &organization_id).await?;
            if organization.management_account_id == account_id {
                return Err(Error::failed_precondition(
                    reason::CONSTRAINT_VIOLATION,
                    "a management account can be closed only after its organization is deleted",
                ));
            }
            account = leave(change.tx(), account).await?;
            change.record(
                Event::new("organization.account_removed")
                    .organization(&organization_id)
                    .account(account_id),
            );
            crate::securityhub::on_account_left(&mut change, &organization_id, account_id).await?;
        }
        let mut active: accounts::ActiveModel = account.into();
        active.status = Set(status.as_str().to_string());
        let account = active.update(change.tx()).await?;
        let kind = match status {
            AccountStatus::Active => "account.reactivated",
            AccountStatus::Suspended => "account.suspended",
            AccountStatus::Closed => "account.closed",
        };
        change.record(Event::new(kind).account(account_id));
        if status == AccountStatus::Closed {
            crate::securityhub::on_account_closed(&mut change, account_id).await?;
        }
        change.commit().await?;
        Ok(account)
    }

    /// Enables or disables trusted access for a service principal. Idempotent.
    pub async fn set_service_access(
        &self,
        caller: &Caller,
        organization_id: &str,
        service_principal: &str,
        enabled: bool,
    ) -> Result<()> {
        let mut violations = Violations::new();
        violations.check(
            "organization_id",
            tributary_runtime::auth::validate_organization_id(organization_id),
        );
        violations.check(
            "service_principal",
            validate_service_principal(service_principal),
        );
        violations.finish()?;
        require_administrator(caller, organization_id)?;
        let mut change = self.changes.begin().await?;
        require_organization(change.tx(), organization_id).await?;
        let existing = service_access::Entity::find_by_id((
            organization_id.to_string(),
            service_principal.to_string(),
        ))
        .one(change.tx())
        .await?;
        match (existing, enabled) {
            (None, true) => {
                service_access::ActiveModel {
                    organization_id: Set(organization_id.to_string()),
                    service_principal: Set(service_principal.to_string()),
                    enabled_at: Set(tributary_runtime::time::now()),
                }
                .insert(change.tx())
                .await?;
                change.record(
                    Event::new("organization.service_access_enabled").organization(organization_id),
                );
            }
            (Some(row), false) => {
                row.delete(change.tx()).await?;
                change.record(
                    Event::new("organization.service_access_disabled")
                        .organization(organization_id),
                );
            }
            _ => {}
        }
        change.commit().await?;
        Ok(())
    }

    /// Lists the service principals with trusted access.
    pub async fn list_service_access(
        &self,
        caller: &Caller,
        organization_id: &str,
    ) -> Result<Vec<service_access::Model>> {
        check_organization_id("organization_id", organization_id)?;
        let db = self.changes.db();
        require_viewer(db, caller, organization_id).await?;
        require_organization(db, organization_id).await?;
        Ok(service_access::Entity::find()
            .filter(service_access::Column::OrganizationId.eq(organization_id))
            .order_by_asc(service_access::Column::ServicePrincipal)
            .all(db)
            .await?)
    }

    /// Registers a member account as delegated administrator for a service principal.
    pub async fn register_delegated_administrator(
        &self,
        caller: &Caller,
        organization_id: &str,
        account_id: &str,
        service_principal: &str,
    ) -> Result<delegated_administrators::Model> {
        let mut violations = Violations::new();
        violations.check(
            "organization_id",
            tributary_runtime::auth::validate_organization_id(organization_id),
        );
        violations.check("account_id", validate_account_id(account_id));
        violations.check(
            "service_principal",
            validate_service_principal(service_principal),
        );
        violations.finish()?;
        require_administrator(caller, organization_id)?;
        let mut change = self.changes.begin().await?;
        let organization = require_organization(change.tx(), organization_id).await?;
        let account = require_account(change.tx(), account_id).await?;
        if account.organization_id.as_deref() != Some(organization_id) {
            return Err(Error::failed_precondition(
                reason::CONSTRAINT_VIOLATION,
                format!("account {account_id} is not in organization {organization_id}"),
            ));
        }
        if organization.management_account_id == account_id {
            return Err(Error::failed_precondition(
                reason::CONSTRAINT_VIOLATION,
                "the management account cannot be its own delegated administrator",
            ));
        }
        if is_delegated_administrator(change.tx(), organization_id, account_id, service_principal)
            .await?
        {
            return Err(Error::already_exists(
                reason::ALREADY_REGISTERED,
                format!(
                    "account {account_id} is already a delegated administrator for {service_principal}"
                ),
            ));
        }
        let registration = delegated_administrators::ActiveModel {
            organization_id: Set(organization_id.to_string()),
            account_id: Set(account_id.to_string()),
            service_principal: Set(service_principal.to_string()),
            registered_at: Set(tributary_runtime::time::now()),
        }
        .insert(change.tx())
        .await?;
        change.record(
            Event::new("organization.delegated_administrator_registered")
                .organization(organization_id)
                .account(account_id),
        );
        change.commit().await?;
        Ok(registration)
    }

    /// Removes a delegated administrator registration.
    pub async fn deregister_delegated_administrator(
        &self,
        caller: &Caller,
        organization_id: &str,
        account_id: &str,
        service_principal: &str,
    ) -> Result<()> {
        let mut violations = Violations::new();
        violations.check(
            "organization_id",
            tributary_runtime::auth::validate_organization_id(organization_id),
        );
        violations.check("account_id", validate_account_id(account_id));
        violations.check(
            "service_principal",
            validate_service_principal(service_principal),
        );
        violations.finish()?;
        require_administrator(caller, organization_id)?;
        let mut change = self.changes.begin().await?;
        let deleted = delegated_administrators::Entity::delete_by_id((
            organization_id.to_string(),
            account_id.to_string(),
            service_principal.to_string(),
        ))
        .exec(change.tx())
        .await?
        .rows_affected;
        if deleted == 0 {
            return Err(Error::not_found(
                reason::NOT_REGISTERED,
                format!(
                    "account {account_id} is not a delegated administrator for {service_principal}"
                ),
            ));
        }
        change.record(
            Event::new("organization.delegated_administrator_deregistered")
                .organization(organization_id)
                .account(account_id),
        );
        change.commit().await?;
        Ok(())
    }

    /// Lists delegated administrators, optionally for one service principal.
    pub async fn list_delegated_administrators(
        &self,
        caller: &Caller,
        organization_id: &str,
        service_principal: &str,
    ) -> Result<Vec<delegated_administrators::Model>> {
        let mut violations = Violations::new();
        violations.check(
            "organization_id",
            tributary_runtime::auth::validate_organization_id(organization_id),
        );
        if !service_principal.is_empty() {
            violations.check(
                "service_principal",
                validate_service_principal(service_principal),
            );
        }
        violations.finish()?;
        let db = self.changes.db();
        require_viewer(db, caller, organization_id).await?;
        require_organization(db, organization_id).await?;
        let mut query = delegated_administrators::Entity::find()
            .filter(delegated_administrators::Column::OrganizationId.eq(organization_id))
            .order_by_asc(delegated_administrators::Column::AccountId)
            .order_by_asc(delegated_administrators::Column::ServicePrincipal);
        if !service_principal.is_empty() {
            query = query
                .filter(delegated_administrators::Column::ServicePrincipal.eq(service_principal));
        }
        Ok(query.all(db).await?)
    }
}

async fn join(
    db: &impl ConnectionTrait,
    account: accounts::Model,
    organization_id: &str,
    now: DateTime<Utc>,
) -> Result<accounts::Model> {
    let mut active: accounts::ActiveModel = account.into();
    active.organization_id = Set(Some(organization_id.to_string()));
    active.joined_at = Set(Some(now));
    Ok(active.update(db).await?)
}

/// Takes an account out of its organization, ending its delegated-administrator registrations.
async fn leave(db: &impl ConnectionTrait, account: accounts::Model) -> Result<accounts::Model> {
    delegated_administrators::Entity::delete_many()
        .filter(delegated_administrators::Column::AccountId.eq(account.account_id.clone()))
        .exec(db)
        .await?;
    let mut active: accounts::ActiveModel = account.into();
    active.organization_id = Set(None);
    active.joined_at = Set(None);
    Ok(active.update(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_ids_have_the_aws_shape() {
        let id = new_organization_id();
        assert!(
            tributary_runtime::auth::validate_organization_id(&id).is_ok(),
            "{id}"
        );
        assert_ne!(id, new_organization_id());
    }

    #[test]
    fn emails_and_service_principals_are_validated() {
        assert!(validate_email("ops@example.com").is_ok());
        for bad in [
            "",
            "a@b",
            "no-at-sign.example",
            "a@@example.com",
            "spa ce@example.com",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_service_principal("config.amazonaws.com").is_ok());
        assert!(validate_service_principal("Config.amazonaws.com").is_err());
        assert!(validate_service_principal("").is_err());
    }

    #[test]
    fn new_accounts_report_every_bad_field() {
        let Err(Error::Runtime(tributary_runtime::Error::InvalidInput { violations, .. })) =
            NewAccount::new("1".into(), String::new(), "x".into(), "org".into())
        else {
            panic!("expected invalid input");
        };
        let fields: Vec<_> = violations
            .iter()
            .map(|violation| violation.field.as_str())
            .collect();
        assert_eq!(fields, ["account_id", "name", "email", "organization_id"]);
    }
}
