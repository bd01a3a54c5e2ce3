//! Aggregated findings: what finding aggregators (Security Hub cross-Region aggregation) copy
//! into their home region, and the home-region operations on the copies.
//!
//! - The replication engine streams each region's change log; [`replication`] tells it which
//!   (account, region) pairs finding aggregators hold and when each pair's changes start counting
//!   (from linking on, or from the beginning with `backfill_existing_findings` and always for
//!   the home region), and [`apply`] merges finding, control-status and insight records into the
//!   copies, field group by field group (the higher version wins), so applying is idempotent and
//!   commutative.
//! - One copy is stored per finding (keyed like each collector's findings; the product ARN names
//!   the origin region), with the collector's filter index (`tributary_securityhub`). Who sees a
//!   copy is indexed with it ([`viewers`]): the aggregator's owner while the pair is its, and the
//!   finding's own account always, in the aggregator's home region.
//! - [`query`] answers GetFindings, insights, control statuses and security scores over the
//!   copies a caller sees; [`update`] applies BatchUpdateFindings to copies and queues each
//!   update in [`outbox`], whose pusher delivers it to the finding's origin region.

pub mod apply;
pub mod inputs;
pub mod outbox;
pub mod query;
pub mod replication;
pub mod update;
pub mod viewers;

use std::sync::Arc;

use prost::Message;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, QuerySelect,
    sea_query::OnConflict,
};
use tributary_proto::collector::v1 as collector_pb;
use tributary_runtime::{paging::PageTokens, version::Clock};
use tributary_securityhub::{
    index::{self, FindingIndex},
    merge::{FieldVersions, VersionedFinding},
    schema::Tables,
};

use crate::{
    error::{Error, Result},
    store::aggregated_findings as table,
};

/// The aggregated findings table and its filter index.
pub const TABLES: Tables = Tables {
    findings: "aggregated_findings",
    values: "aggregated_finding_values",
    payload: "finding",
};

/// The aggregated findings of this deployment and the operations on them.
pub struct AggregatedFindings {
    db: DatabaseConnection,
    page_tokens: PageTokens,
    /// Versions home-region updates; it observes the versions of a copy before updating it, so
    /// the update wins over every write the copy already holds.
    clock: Clock,
    /// Woken when an update is queued for an origin region.
    outbox: outbox::OutboxHandle,
}

impl AggregatedFindings {
    /// The aggregated findings stored in `db`; queued updates wake `outbox`.
    pub fn new(
        db: DatabaseConnection,
        page_tokens: PageTokens,
        outbox: outbox::OutboxHandle,
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            page_tokens,
            clock: Clock::new(),
            outbox,
        })
    }
}

/// A stored copy with its versions and origin.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FindingCopy {
    /// The finding and its group versions.
    pub versioned: VersionedFinding,
    /// The origin region.
    pub region: String,
    /// The origin change-log sequence number of the last replicated write applied.
    pub seq: i64,
}

fn decode_finding(bytes: &[u8]) -> Result<collector_pb::Finding> {
    collector_pb::Finding::decode(bytes)
        .map_err(|error| Error::Corrupt(format!("stored finding: {error}")))
}

/// The copy of (account, product ARN, id), if stored. The row stays locked until the caller's
/// transaction ends (PostgreSQL), so replicated and home-region writes of one copy never
/// overwrite each other's groups.
pub(crate) async fn load_copy(
    connection: &impl ConnectionTrait,
    account_id: &str,
    product_arn: &str,
    finding_id: &str,
) -> Result<Option<FindingCopy>> {
    let Some(row) = table::Entity::find_by_id((
        account_id.to_string(),
        product_arn.to_string(),
        finding_id.to_string(),
    ))
    .lock_exclusive()
    .one(connection)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(FindingCopy {
        versioned: VersionedFinding {
            finding: decode_finding(&row.finding)?,
            versions: FieldVersions::decode(&row.field_versions).map_err(Error::Corrupt)?,
        },
        region: row.region,
        seq: row.seq,
    }))
}

/// Writes `copy` as the current state of its finding: the row, its filter index and its viewers,
/// in the caller's transaction.
pub(crate) async fn write_copy(
    connection: &impl ConnectionTrait,
    copy: &FindingCopy,
) -> Result<()> {
    let finding = &copy.versioned.finding;
    let row = table::ActiveModel {
        account_id: Set(finding.aws_account_id.clone()),
        product_arn: Set(finding.product_arn.clone()),
        finding_id: Set(finding.id.clone()),
        region: Set(copy.region.clone()),
        finding: Set(finding.encode_to_vec()),
        field_versions: Set(copy.versioned.versions.encode()),
        seq: Set(copy.seq),
        version: Set(copy
            .versioned
            .versions
            .newest()
            .unwrap_or_default()
            .encode()),
        written_at_micros: Set(tributary_runtime::time::now().timestamp_micros()),
    };
    table::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                table::Column::AccountId,
                table::Column::ProductArn,
                table::Column::FindingId,
            ])
            .update_columns([
                table::Column::Region,
                table::Column::Finding,
                table::Column::FieldVersions,
                table::Column::Seq,
                table::Column::Version,
                table::Column::WrittenAtMicros,
            ])
            .to_owned(),
        )
        .exec_without_returning(connection)
        .await?;
    let mut indexed = FindingIndex::of(finding);
    // The index's region is where the copy came from, whatever the payload says.
    for (column, value) in &mut indexed.columns {
        if *column == "region" {
            *value = copy.region.as_str().into();
        }
    }
    index::write(connection, &TABLES, &indexed).await?;
    let viewers = viewers::of_pair(connection, &finding.aws_account_id, &copy.region).await?;
    viewers::write(connection, &indexed.key, &viewers).await
}

/// Removes the copy with `key` (account, product ARN, id), its index and its viewers.
pub(crate) async fn delete_copy(
    connection: &impl ConnectionTrait,
    key: &[String; 3],
) -> Result<()> {
    index::remove(connection, &TABLES, key).await?;
    table::Entity::delete_by_id((key[0].clone(), key[1].clone(), key[2].clone()))
        .exec(connection)
        .await?;
    Ok(())
}

/// Microseconds since the epoch, now.
pub(crate) fn now_micros() -> i64 {
    tributary_runtime::time::now().timestamp_micros()
}

#[cfg(test)]
mod tests;
