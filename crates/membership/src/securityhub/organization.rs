//! Organization mode: the management account designates its organization's Security Hub
//! administrator per region, and that administrator configures automatic enablement.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use tributary_runtime::{
    auth::{Caller, Principal},
    paging::page_size,
};

use crate::{
    error::{Error, Result},
    events::Event,
    organizations::{
        AccountStatus, find_account, has_service_access, is_delegated_administrator,
        reason as directory_reason, require_account, require_organization,
    },
    regions::require_region,
    store::{
        delegated_administrators, securityhub_organization_admins as admins_table, service_access,
    },
};

use super::{
    AutoEnableStandards, ControlFindingGenerator, HubSettings, OrganizationConfiguration,
    SERVICE_PRINCIPAL, SecurityHub, acting, count_members, current_designation, designation_of,
    enabled_membership, end_designation, find_hub,
    inputs::{AdminAccount, OrganizationConfigurationUpdate},
    insert_hub, reason, refused,
};

/// Page sizes of `ListOrganizationAdminAccounts` (the AWS limits).
const LIST_DEFAULT: u32 = 10;
const LIST_MAX: u32 = 10;

/// The organization whose management account the caller is: an ORGANIZATION_MANAGEMENT principal,
/// or the ACCOUNT principal of a management account.
async fn managed_organization(db: &impl ConnectionTrait, caller: &Caller) -> Result<String> {
    let account_id = acting(caller)?;
    let organization_id = match &caller.principal {
        Principal::OrganizationManagement {
            organization_id, ..
        } => organization_id.clone(),
        _ => require_account(db, account_id)
            .await?
            .organization_id
            .ok_or_else(|| {
                Error::not_found(
                    directory_reason::NOT_IN_USE,
                    format!("account {account_id} is not in an organization"),
                )
            })?,
    };
    let organization = require_organization(db, &organization_id).await?;
    if organization.management_account_id != account_id {
        return Err(Error::access_denied(format!(
            "only the management account of organization {organization_id} may designate its \
             Security Hub administrator"
        )));
    }
    Ok(organization_id)
}

/// The caller's designation as its organization's Security Hub administrator in the region, or
/// `AccessDeniedException`.
async fn require_designated(
    db: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<admins_table::Model> {
    current_designation(db, account_id, region)
        .await?
        .ok_or_else(|| {
            Error::access_denied(format!(
                "account {account_id} is not its organization's Security Hub administrator in \
                 {region}"
            ))
        })
}

impl SecurityHub {
    /// Designates an account of the caller's organization as its Security Hub administrator in a
    /// region, enabling its hub there and registering it as delegated administrator.
    pub async fn enable_organization_admin(
        &self,
        caller: &Caller,
        input: AdminAccount,
    ) -> Result<String> {
        acting(caller)?;
        let region = input.region.as_str();
        let admin = input.admin_account_id.as_str();
        let mut change = self.changes.begin().await?;
        let organization_id = managed_organization(change.tx(), caller).await?;
        require_region(change.tx(), region).await?;
        let organization = require_organization(change.tx(), &organization_id).await?;
        let account = find_account(change.tx(), admin)
            .await?
            .filter(|account| account.organization_id.as_deref() == Some(organization_id.as_str()))
            .ok_or_else(|| {
                Error::not_found(
                    reason::RESOURCE_NOT_FOUND,
                    format!("account {admin} is not in organization {organization_id}"),
                )
            })?;
        if AccountStatus::parse(&account.status) != AccountStatus::Active {
            return Err(refused(format!(
                "account {admin} is {} and cannot be designated",
                account.status.to_lowercase()
            )));
        }
        if let Some(existing) = designation_of(change.tx(), &organization_id, region).await? {
            if existing.admin_account_id == admin {
                return Ok(admin.to_string());
            }
            return Err(Error::already_exists(
                reason::RESOURCE_CONFLICT,
                format!(
                    "account {} is already the Security Hub administrator of {organization_id} in \
                     {region}; disable it first",
                    existing.admin_account_id
                ),
            ));
        }
        if let Some(membership) = enabled_membership(change.tx(), admin, region).await? {
            return Err(refused(format!(
                "account {admin} is a member of administrator {} in {region}; an account cannot \
                 be an administrator and a member at once",
                membership.administrator_id
            )));
        }
        let now = tributary_runtime::time::now();
        if find_hub(change.tx(), admin, region).await?.is_none() {
            let settings = HubSettings {
                default_standards: true,
                control_finding_generator: ControlFindingGenerator::SecurityControl,
            };
            insert_hub(
                &mut change,
                admin,
                region,
                settings,
                &Default::default(),
                now,
            )
            .await?;
        }
        // The management account has full access already; Organizations refuses to register it.
        if organization.management_account_id != admin
            && !is_delegated_administrator(change.tx(), &organization_id, admin, SERVICE_PRINCIPAL)
                .await?
        {
            delegated_administrators::ActiveModel {
                organization_id: Set(organization_id.clone()),
                account_id: Set(admin.to_string()),
                service_principal: Set(SERVICE_PRINCIPAL.to_string()),
                registered_at: Set(now),
            }
            .insert(change.tx())
            .await?;
            change.record(
                Event::new("organization.delegated_administrator_registered")
                    .organization(&organization_id)
                    .account(admin),
            );
        }
        if !has_service_access(change.tx(), &organization_id, SERVICE_PRINCIPAL).await? {
            service_access::ActiveModel {
                organization_id: Set(organization_id.clone()),
                service_principal: Set(SERVICE_PRINCIPAL.to_string()),
                enabled_at: Set(now),
            }
            .insert(change.tx())
            .await?;
            change.record(
                Event::new("organization.service_access_enabled").organization(&organization_id),
            );
        }
        admins_table::ActiveModel {
            organization_id: Set(organization_id.clone()),
            region: Set(region.to_string()),
            admin_account_id: Set(admin.to_string()),
            auto_enable: Set(false),
            auto_enable_standards: Set(AutoEnableStandards::Default.as_str().to_string()),
            enabled_at: Set(now),
            updated_at: Set(now),
        }
        .insert(change.tx())
        .await?;
        change.record(
            Event::new("hub.organization_admin_enabled")
                .organization(&organization_id)
                .account(admin)
                .region(region),
        );
        change.commit().await?;
        tracing::info!(organization = %organization_id, region = %region, administrator = %admin, "security hub organization administrator designated");
        Ok(admin.to_string())
    }

    /// Ends the designation in a region; the administrator's organization members become Removed.
    pub async fn disable_organization_admin(
        &self,
        caller: &Caller,
        input: AdminAccount,
    ) -> Result<()> {
        acting(caller)?;
        let region = input.region.as_str();
        let mut change = self.changes.begin().await?;
        let organization_id = managed_organization(change.tx(), caller).await?;
        require_region(change.tx(), region).await?;
        let designation = designation_of(change.tx(), &organization_id, region)
            .await?
            .filter(|designation| designation.admin_account_id == input.admin_account_id)
            .ok_or_else(|| {
                Error::not_found(
                    reason::RESOURCE_NOT_FOUND,
                    format!(
                        "account {} is not the Security Hub administrator of {organization_id} \
                         in {region}",
                        input.admin_account_id
                    ),
                )
            })?;
        end_designation(&mut change, designation).await?;
        change.commit().await?;
        Ok(())
    }

    /// The organization's Security Hub administrators in a region (at most one), for its
    /// management account.
    pub async fn list_organization_admins(
        &self,
        caller: &Caller,
        region: &str,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<String>, String)> {
        acting(caller)?;
        let limit = page_size(requested_page_size, LIST_DEFAULT, LIST_MAX)?;
        let db = self.changes.db();
        let organization_id = managed_organization(db, caller).await?;
        let scope = format!("ListOrganizationAdminAccounts:{organization_id}:{region}");
        let after: Option<String> = self.page_tokens.open(&scope, page_token)?;
        require_region(db, region).await?;
        let mut query = admins_table::Entity::find()
            .filter(admins_table::Column::OrganizationId.eq(organization_id.clone()))
            .filter(admins_table::Column::Region.eq(region))
            .order_by_asc(admins_table::Column::AdminAccountId);
        if let Some(after) = after {
            query = query.filter(admins_table::Column::AdminAccountId.gt(after));
        }
        let mut rows = query.limit(u64::from(limit) + 1).all(db).await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|last| self.page_tokens.issue(&scope, &last.admin_account_id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok((
            rows.into_iter().map(|row| row.admin_account_id).collect(),
            next,
        ))
    }

    /// Sets automatic enablement of accounts that join the organization later.
    pub async fn update_organization_configuration(
        &self,
        caller: &Caller,
        input: OrganizationConfigurationUpdate,
    ) -> Result<()> {
        let account_id = acting(caller)?;
        let region = input.region.as_str();
        let mut change = self.changes.begin().await?;
        require_region(change.tx(), region).await?;
        let designation = require_designated(change.tx(), account_id, region).await?;
        let standards = input.auto_enable_standards.map(AutoEnableStandards::as_str);
        let unchanged = designation.auto_enable == input.auto_enable
            && standards.is_none_or(|standards| designation.auto_enable_standards == standards);
        if unchanged {
            return Ok(());
        }
        let organization_id = designation.organization_id.clone();
        let mut active: admins_table::ActiveModel = designation.into();
        active.auto_enable = Set(input.auto_enable);
        if let Some(standards) = standards {
            active.auto_enable_standards = Set(standards.to_string());
        }
        active.updated_at = Set(tributary_runtime::time::now());
        active.update(change.tx()).await?;
        change.record(
            Event::new("hub.organization_configuration_updated")
                .organization(organization_id)
                .account(account_id)
                .region(region),
        );
        change.commit().await?;
        Ok(())
    }

    /// The organization configuration in a region, for its Security Hub administrator.
    pub async fn describe_organization_configuration(
        &self,
        caller: &Caller,
        region: &str,
    ) -> Result<OrganizationConfiguration> {
        let account_id = acting(caller)?;
        let db = self.changes.db();
        require_region(db, region).await?;
        let designation = require_designated(db, account_id, region).await?;
        let members = count_members(db, account_id, region).await?;
        Ok(OrganizationConfiguration {
            auto_enable: designation.auto_enable,
            auto_enable_standards: AutoEnableStandards::from_stored(
                &designation.auto_enable_standards,
            ),
            member_account_limit_reached: members
                >= u64::from(self.limits.members_per_administrator),
        })
    }
}
