//! BatchUpdateFindings on aggregated copies (spec §3.7, §4.1): the account updates the copies it
//! sees (its own findings, and its members' as their administrator). Each changed field group
//! gets a new version from the aggregator's clock, which first observes the copy's versions, so
//! the update wins over everything the copy holds; the copy is written and, while its pair is
//! linked, the update is queued for the origin region in the same transaction. Copies of pairs
//! no longer linked are updated here only.

use std::collections::HashMap;

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use tributary_proto::collector::v1 as collector_pb;
use tributary_runtime::auth::{Caller, Principal};
use tributary_securityhub::{
    index::head,
    merge::{FieldGroup, FieldVersions, GroupVersion},
};

use super::{
    AggregatedFindings, FindingCopy,
    inputs::{BatchUpdate, Refusal},
    load_copy, now_micros, viewers, write_copy,
};
use crate::{
    error::Result,
    store::{aggregated_finding_scopes as scopes, finding_update_outbox as outbox},
};

/// The outcome of BatchUpdateFindings.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateOutcome {
    /// The findings updated (or already as requested), as (id, product ARN).
    pub processed: Vec<(String, String)>,
    /// The findings not updated: (id, product ARN) and why.
    pub unprocessed: Vec<((String, String), Refusal)>,
}

fn refusal(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

fn not_found() -> Refusal {
    refusal(
        "FindingNotFound",
        "no aggregated finding with this product ARN and id that this account sees in this home \
         region",
    )
}

/// Who made an update, as finding histories record it.
fn identity(caller: &Caller) -> String {
    let principal = match &caller.principal {
        Principal::Operator => "operator".to_string(),
        Principal::Service { name } => format!("service/{name}"),
        Principal::Account { account_id }
        | Principal::OrganizationManagement { account_id, .. } => format!("account/{account_id}"),
    };
    format!("{principal} ({})", caller.key_id)
}

/// The accounts whose copy of (product ARN, id) the viewer `viewer` sees.
async fn seen_holders(
    connection: &impl ConnectionTrait,
    viewer: &str,
    product_arn: &str,
    finding_id: &str,
) -> Result<Vec<String>> {
    let select = sea_orm::sea_query::Query::select()
        .column("account_id")
        .from(super::TABLES.values)
        .and_where(Expr::col("attribute").eq(viewers::VIEWER.name))
        .and_where(Expr::col("key_head").eq(""))
        .and_where(Expr::col("value_head").eq(head(viewer)))
        .and_where(Expr::col("value").eq(viewer))
        .and_where(Expr::col("product_arn").eq(product_arn))
        .and_where(Expr::col("finding_id").eq(finding_id))
        .to_owned();
    connection
        .query_all(&select)
        .await?
        .iter()
        .map(|row| Ok(row.try_get::<String>("", "account_id")?))
        .collect()
}

/// Whether some aggregator still links (`account_id`, `region`), so updates go back there.
async fn linked(connection: &impl ConnectionTrait, account_id: &str, region: &str) -> Result<bool> {
    Ok(scopes::Entity::find()
        .filter(scopes::Column::AccountId.eq(account_id))
        .filter(scopes::Column::Region.eq(region))
        .filter(scopes::Column::State.eq(scopes::LINKED))
        .limit(1)
        .one(connection)
        .await?
        .is_some())
}

impl AggregatedFindings {
    /// Applies `batch` to each named copy the account sees, queueing each change for the
    /// finding's origin region.
    pub async fn batch_update(&self, caller: &Caller, batch: BatchUpdate) -> Result<UpdateOutcome> {
        let mut occurrences: HashMap<&(String, String), usize> = HashMap::new();
        for identifier in &batch.identifiers {
            *occurrences.entry(identifier).or_default() += 1;
        }
        let viewer = viewers::viewer(&batch.view.account_id, &batch.view.home_region);
        let source = collector_pb::FindingHistoryUpdateSource {
            r#type: collector_pb::FindingHistoryUpdateSourceType::BatchUpdateFindings as i32,
            identity: identity(caller),
        };
        let transaction = crate::store::begin_write(&self.db).await?;
        let now = tributary_runtime::time::to_timestamp(tributary_runtime::time::now());
        let mut processed = Vec::new();
        let mut unprocessed = Vec::new();
        let mut queued = false;
        'identifiers: for identifier in &batch.identifiers {
            if occurrences[identifier] > 1 {
                unprocessed.push((
                    identifier.clone(),
                    refusal(
                        "DuplicatedFindingIdentifier",
                        "the request names this finding more than once",
                    ),
                ));
                continue;
            }
            let (finding_id, product_arn) = identifier;
            let holders = seen_holders(&transaction, &viewer, product_arn, finding_id).await?;
            if holders.is_empty() {
                unprocessed.push((identifier.clone(), not_found()));
                continue;
            }
            for account_id in holders {
                let Some(mut copy) =
                    load_copy(&transaction, &account_id, product_arn, finding_id).await?
                else {
                    continue;
                };
                let mut next = copy.versioned.finding.clone();
                if let Err(refused) = batch.changes.apply(&mut next, now) {
                    unprocessed.push((identifier.clone(), refused));
                    continue 'identifiers;
                }
                let changed = FieldGroup::changed(&copy.versioned.finding, &next);
                if changed.is_empty() {
                    continue;
                }
                if let Some(newest) = copy.versioned.versions.newest() {
                    self.clock.observe(newest);
                }
                let version = GroupVersion {
                    version: self.clock.tick(),
                    customer_modified: true,
                };
                let mut update_versions = FieldVersions::default();
                for group in &changed {
                    copy.versioned.versions.set(*group, version);
                    update_versions.set(*group, version);
                }
                copy.versioned.finding = next;
                write_copy(&transaction, &copy).await?;
                if linked(&transaction, &account_id, &copy.region).await? {
                    enqueue(&transaction, &copy, &update_versions, &source).await?;
                    queued = true;
                }
            }
            processed.push(identifier.clone());
        }
        transaction.commit().await?;
        if queued {
            self.outbox.queued();
        }
        Ok(UpdateOutcome {
            processed,
            unprocessed,
        })
    }
}

/// Queues the update of `copy`'s `groups` for its origin region.
async fn enqueue(
    connection: &impl ConnectionTrait,
    copy: &FindingCopy,
    groups: &FieldVersions,
    source: &collector_pb::FindingHistoryUpdateSource,
) -> Result<()> {
    let finding = &copy.versioned.finding;
    let update = collector_pb::ReplicatedFindingUpdate {
        aws_account_id: finding.aws_account_id.clone(),
        product_arn: finding.product_arn.clone(),
        id: finding.id.clone(),
        values: Some(finding.clone()),
        field_versions: Some(groups.to_proto()),
        update_source: Some(source.clone()),
    };
    outbox::Entity::insert(outbox::ActiveModel {
        region: Set(copy.region.clone()),
        account_id: Set(finding.aws_account_id.clone()),
        product_arn: Set(finding.product_arn.clone()),
        finding_id: Set(finding.id.clone()),
        update: Set(prost::Message::encode_to_vec(&update)),
        enqueued_at_micros: Set(now_micros()),
        attempts: Set(0),
        last_error: Set(None),
        ..Default::default()
    })
    .exec_without_returning(connection)
    .await?;
    Ok(())
}
