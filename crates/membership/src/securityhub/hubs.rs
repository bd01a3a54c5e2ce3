//! Enabling, describing, configuring and disabling an account's hub in a region.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use tributary_runtime::auth::Caller;

use crate::{
    error::{Error, Result},
    events::Event,
    organizations::AccountStatus,
    regions::{region_enabled_for, require_region},
    store::{securityhub_hubs as hubs_table, securityhub_members as members_table},
};

use super::{
    ControlFindingGenerator, Hub, HubSettings, MemberStatus, Operation, RelationshipType,
    SecurityHub, acting, administrator_role, current_designation, delete_hub, enabled_membership,
    end_relationships, find_hub,
    inputs::{DescribeHubInput, EnableHub, UpdateHub},
    insert_hub, invalid_access, reason, refused, require_hub, require_open_account,
};

impl SecurityHub {
    /// Enables Security Hub for the caller in a region.
    pub async fn enable_hub(&self, caller: &Caller, input: EnableHub) -> Result<Hub> {
        let account_id = acting(caller)?;
        let mut change = self.changes.begin().await?;
        let region = require_region(change.tx(), &input.region).await?;
        let account = require_open_account(change.tx(), account_id).await?;
        if AccountStatus::parse(&account.status) == AccountStatus::Suspended {
            return Err(invalid_access(format!(
                "account {account_id} is suspended and cannot enable Security Hub"
            )));
        }
        if !region_enabled_for(change.tx(), &region, account_id).await? {
            return Err(invalid_access(format!(
                "{} is an opt-in region that account {account_id} has not enabled",
                input.region
            )));
        }
        if find_hub(change.tx(), account_id, &input.region)
            .await?
            .is_some()
        {
            return Err(Error::already_exists(
                reason::RESOURCE_CONFLICT,
                format!(
                    "Account {account_id} is already subscribed to Security Hub in {}",
                    input.region
                ),
            ));
        }
        let settings = HubSettings {
            default_standards: input.enable_default_standards,
            control_finding_generator: input.control_finding_generator,
        };
        let now = tributary_runtime::time::now();
        let row = insert_hub(
            &mut change,
            account_id,
            &input.region,
            settings,
            &input.tags,
            now,
        )
        .await?;
        change.commit().await?;
        tracing::info!(account = %account_id, region = %input.region, "security hub enabled");
        Ok(row.into())
    }

    /// Describes the caller's hub in a region.
    pub async fn describe_hub(&self, caller: &Caller, input: DescribeHubInput) -> Result<Hub> {
        let account_id = acting(caller)?;
        let db = self.changes.db();
        require_region(db, &input.region).await?;
        if let Some((arn_region, arn_account)) = &input.hub_arn
            && (arn_region != &input.region || arn_account != account_id)
        {
            return Err(Error::not_found(
                reason::RESOURCE_NOT_FOUND,
                format!(
                    "hub {} is not the caller's hub in {}",
                    super::hub_arn(arn_region, arn_account),
                    input.region
                ),
            ));
        }
        Ok(require_hub(db, account_id, &input.region).await?.into())
    }

    /// Changes the caller's hub settings. An administrator's new control finding generator is
    /// applied to its Enabled organization members in the region.
    pub async fn update_hub(&self, caller: &Caller, input: UpdateHub) -> Result<Hub> {
        let account_id = acting(caller)?;
        let mut change = self.changes.begin().await?;
        require_region(change.tx(), &input.region).await?;
        let hub = require_hub(change.tx(), account_id, &input.region).await?;
        let current_generator =
            ControlFindingGenerator::from_stored(&hub.control_finding_generator);
        let new_generator = input
            .control_finding_generator
            .filter(|generator| *generator != current_generator);
        if new_generator.is_some()
            && let Some(membership) =
                enabled_membership(change.tx(), account_id, &input.region).await?
            && RelationshipType::from_stored(&membership.relationship_type)
                == RelationshipType::Organization
        {
            return Err(Error::access_denied(format!(
                "account {account_id} is an organization member of {} in {}; its administrator \
                 sets its control finding generator",
                membership.administrator_id, input.region
            )));
        }
        let auto_enable_controls = input
            .auto_enable_controls
            .filter(|enabled| *enabled != hub.auto_enable_controls);
        if new_generator.is_none() && auto_enable_controls.is_none() {
            return Ok(hub.into());
        }
        let now = tributary_runtime::time::now();
        let mut active: hubs_table::ActiveModel = hub.into();
        if let Some(enabled) = auto_enable_controls {
            active.auto_enable_controls = Set(enabled);
        }
        if let Some(generator) = new_generator {
            active.control_finding_generator = Set(generator.as_str().to_string());
        }
        active.updated_at = Set(now);
        let hub = active.update(change.tx()).await?;
        change.record(
            Event::new("hub.updated")
                .account(account_id)
                .region(&input.region),
        );
        if let Some(generator) = new_generator {
            // Organization members follow their administrator's generator.
            let organization_members = members_table::Entity::find()
                .filter(members_table::Column::AdministratorId.eq(account_id))
                .filter(members_table::Column::Region.eq(input.region.clone()))
                .filter(members_table::Column::Status.eq(MemberStatus::Enabled.as_str()))
                .filter(
                    members_table::Column::RelationshipType
                        .eq(RelationshipType::Organization.as_str()),
                )
                .all(change.tx())
                .await?;
            for member in organization_members {
                if let Some(member_hub) =
                    find_hub(change.tx(), &member.member_id, &input.region).await?
                    && member_hub.control_finding_generator != generator.as_str()
                {
                    let mut active: hubs_table::ActiveModel = member_hub.into();
                    active.control_finding_generator = Set(generator.as_str().to_string());
                    active.updated_at = Set(now);
                    active.update(change.tx()).await?;
                    change.record(
                        Event::new("hub.updated")
                            .account(&member.member_id)
                            .region(&input.region)
                            .related(account_id),
                    );
                }
            }
        }
        change.commit().await?;
        Ok(hub.into())
    }

    /// Disables the caller's hub in a region and removes the relationships it administers there.
    pub async fn disable_hub(&self, caller: &Caller, region: &str) -> Result<()> {
        let account_id = acting(caller)?;
        let mut change = self.changes.begin().await?;
        require_region(change.tx(), region).await?;
        let hub = require_hub(change.tx(), account_id, region).await?;
        if current_designation(change.tx(), account_id, region)
            .await?
            .is_some()
        {
            return Err(refused(format!(
                "account {account_id} is its organization's Security Hub administrator in \
                 {region}; the management account must remove the designation first"
            )));
        }
        if let Some(role) = administrator_role(change.tx(), account_id, region).await? {
            return Err(refused(format!(
                "{role}; disassociate them before disabling Security Hub"
            )));
        }
        if let Some(membership) = enabled_membership(change.tx(), account_id, region).await? {
            return Err(refused(format!(
                "account {account_id} is a member of administrator {} in {region}; it must be \
                 disassociated before disabling Security Hub",
                membership.administrator_id
            )));
        }
        let administered = members_table::Entity::find()
            .filter(members_table::Column::AdministratorId.eq(account_id))
            .filter(members_table::Column::Region.eq(region))
            .all(change.tx())
            .await?;
        end_relationships(&mut change, administered, Operation::AdministratorGone).await?;
        delete_hub(&mut change, hub).await?;
        change.commit().await?;
        tracing::info!(account = %account_id, region = %region, "security hub disabled");
        Ok(())
    }
}
