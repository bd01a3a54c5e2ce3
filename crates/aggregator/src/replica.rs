//! The replicated store: applies one collector change record to the aggregator's tables inside
//! the caller's transaction.
//!
//! Applying is idempotent and commutative per key: a record wins only when its version is higher
//! than the stored one (equal or lower is a no-op), so replaying an overlap (a snapshot followed by
//! a subscription from an older cursor, or a batch re-sent after a crash) changes nothing. Data is
//! stored once per (account, region), whichever aggregators cover it.

use prost::Message;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Alias, Expr, ExprTrait, OnConflict},
};
use serde_json::{Map, Value, json};
use tributary_proto::{collector::v1 as pb, types::v1 as types_pb};

use crate::{
    error::{Error, Result},
    store::{
        aggregate_config_items as items, aggregate_config_rules as rules,
        aggregate_conformance_packs as packs, aggregate_evaluations as evaluations,
        aggregate_recorders as recorders,
    },
};

/// What applying one record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The record changed the replica.
    Applied,
    /// The replica already held this or a newer version of the key.
    Stale,
    /// The record's kind is not replicated by this store.
    Ignored,
}

/// The change kinds [`apply`] stores.
pub const REPLICATED_KINDS: [pb::ChangeKind; 8] = [
    pb::ChangeKind::ConfigurationItem,
    pb::ChangeKind::ConfigurationRecorder,
    pb::ChangeKind::ConfigRule,
    pb::ChangeKind::Evaluation,
    pb::ChangeKind::ConformancePack,
    // Stored by `crate::findings::apply`.
    pb::ChangeKind::Finding,
    pb::ChangeKind::ControlStatus,
    pb::ChangeKind::Insight,
];

/// Applies `record` from `region`'s change log through `connection` (normally a transaction
/// that also stores the region's cursor).
pub async fn apply(
    connection: &impl ConnectionTrait,
    region: &str,
    record: &pb::ChangeRecord,
) -> Result<Outcome> {
    let delete = match pb::ChangeOp::try_from(record.op) {
        Ok(pb::ChangeOp::Upsert) => false,
        Ok(pb::ChangeOp::Delete) => true,
        _ => return Err(corrupt(record, "unknown op")),
    };
    let version = encode_version(record.version.as_ref());
    let key = Key {
        region,
        account_id: &record.account_id,
        seq: i64::try_from(record.seq).unwrap_or(i64::MAX),
        version: &version,
    };
    use pb::change_record::Payload;
    let changed = match (pb::ChangeKind::try_from(record.kind), &record.payload) {
        (Ok(pb::ChangeKind::ConfigurationItem), _) if delete => {
            delete_item(connection, &key, &record.key).await?
        }
        (Ok(pb::ChangeKind::ConfigurationItem), Some(Payload::ConfigurationItem(item))) => {
            upsert_item(connection, &key, item).await?
        }
        (Ok(pb::ChangeKind::ConfigurationRecorder), _) if delete => {
            delete_recorder(connection, &key, &record.key).await?
        }
        (
            Ok(pb::ChangeKind::ConfigurationRecorder),
            Some(Payload::ConfigurationRecorder(state)),
        ) => upsert_recorder(connection, &key, state).await?,
        (Ok(pb::ChangeKind::ConfigRule), _) if delete => {
            delete_rule(connection, &key, &record.key).await?
        }
        (Ok(pb::ChangeKind::ConfigRule), Some(Payload::ConfigRule(rule))) => {
            upsert_rule(connection, &key, rule).await?
        }
        (Ok(pb::ChangeKind::Evaluation), _) if delete => {
            delete_evaluation(connection, &key, &record.key).await?
        }
        (Ok(pb::ChangeKind::Evaluation), Some(Payload::Evaluation(result))) => {
            upsert_evaluation(connection, &key, result).await?
        }
        (Ok(pb::ChangeKind::ConformancePack), _) if delete => {
            delete_pack(connection, &key, &record.key).await?
        }
        (Ok(pb::ChangeKind::ConformancePack), Some(Payload::ConformancePack(pack))) => {
            upsert_pack(connection, &key, pack).await?
        }
        // Findings, control statuses and insights go to the aggregated findings store.
        (Ok(kind), _) if crate::findings::apply::KINDS.contains(&kind) => {
            return crate::findings::apply::apply(connection, region, record).await;
        }
        // Kinds added later are stored by their own appliers; a replica that does not store a
        // kind skips it rather than failing the batch.
        (Ok(kind), _) if !REPLICATED_KINDS.contains(&kind) => return Ok(Outcome::Ignored),
        (Err(_), _) => return Ok(Outcome::Ignored),
        _ => return Err(corrupt(record, "the payload does not match the kind")),
    };
    Ok(if changed {
        Outcome::Applied
    } else {
        Outcome::Stale
    })
}

/// The stored form of a version: 32 lowercase hex digits that sort like the versions they encode
/// (the collector's encoding).
pub fn encode_version(version: Option<&types_pb::Version>) -> String {
    version
        .map(tributary_runtime::version::Version::from_proto)
        .unwrap_or_default()
        .encode()
}

/// The AWS name of a configuration item status.
pub fn item_status_name(status: i32) -> &'static str {
    match pb::ConfigurationItemStatus::try_from(status) {
        Ok(pb::ConfigurationItemStatus::ResourceDiscovered) => "ResourceDiscovered",
        Ok(pb::ConfigurationItemStatus::ResourceNotRecorded) => "ResourceNotRecorded",
        Ok(pb::ConfigurationItemStatus::ResourceDeleted) => "ResourceDeleted",
        Ok(pb::ConfigurationItemStatus::ResourceDeletedNotRecorded) => "ResourceDeletedNotRecorded",
        _ => "OK",
    }
}

/// The name of a compliance type as stored.
pub fn compliance_type_name(compliance_type: i32) -> &'static str {
    match pb::ComplianceType::try_from(compliance_type) {
        Ok(pb::ComplianceType::Compliant) => "COMPLIANT",
        Ok(pb::ComplianceType::NonCompliant) => "NON_COMPLIANT",
        Ok(pb::ComplianceType::NotApplicable) => "NOT_APPLICABLE",
        _ => "INSUFFICIENT_DATA",
    }
}

/// The tags of an item as a JSON object.
pub fn tags_json(tags: &[types_pb::Tag]) -> String {
    let object: Map<String, Value> = tags
        .iter()
        .map(|tag| (tag.key.clone(), Value::String(tag.value.clone())))
        .collect();
    Value::Object(object).to_string()
}

/// The relationships of an item as a JSON array in AWS's field names.
pub fn relationships_json(relationships: &[pb::Relationship]) -> String {
    Value::Array(
        relationships
            .iter()
            .map(|relationship| {
                json!({
                    "resourceType": relationship.resource_type,
                    "resourceId": relationship.resource_id,
                    "resourceName": relationship.resource_name,
                    "relationshipName": relationship.relationship_name,
                })
            })
            .collect(),
    )
    .to_string()
}

/// The configuration as JSON text: `{}` when empty, the text itself when it is JSON, otherwise
/// the text as a JSON string (so the column always holds JSON).
pub fn configuration_json(configuration: &str) -> String {
    if configuration.trim().is_empty() {
        "{}".to_string()
    } else if serde_json::from_str::<Value>(configuration).is_ok() {
        configuration.to_string()
    } else {
        Value::String(configuration.to_string()).to_string()
    }
}

/// The supplementary configuration as a JSON object of strings.
pub fn supplementary_json(supplementary: &std::collections::HashMap<String, String>) -> String {
    let mut entries: Vec<_> = supplementary.iter().collect();
    entries.sort();
    let object: Map<String, Value> = entries
        .into_iter()
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect();
    Value::Object(object).to_string()
}

/// Where a record goes and which write it is.
struct Key<'a> {
    region: &'a str,
    account_id: &'a str,
    seq: i64,
    version: &'a str,
}

/// An upsert that replaces the stored row only when the incoming version is higher.
fn newer_wins<T, C>(table: T, keys: &[C], columns: &[C]) -> OnConflict
where
    T: sea_orm::sea_query::IntoIden,
    C: sea_orm::sea_query::IntoIden + Copy,
{
    let mut on_conflict = OnConflict::columns(keys.iter().copied());
    on_conflict.update_columns(columns.iter().copied());
    on_conflict.action_and_where(
        Expr::col((table.into_iden(), Alias::new("version"))).lt(Expr::cust("excluded.version")),
    );
    on_conflict
}

async fn upsert_item(
    connection: &impl ConnectionTrait,
    key: &Key<'_>,
    item: &pb::ConfigurationItem,
) -> Result<bool> {
    let status = item_status_name(item.configuration_item_status);
    let row = items::ActiveModel {
        account_id: Set(key.account_id.to_string()),
        region: Set(key.region.to_string()),
        resource_type: Set(item.resource_type.clone()),
        resource_id: Set(item.resource_id.clone()),
        resource_name: Set(item.resource_name.clone()),
        arn: Set(item.arn.clone()),
        availability_zone: Set(item.availability_zone.clone()),
        item_status: Set(status.to_string()),
        deleted: Set(status.starts_with("ResourceDeleted")),
        capture_time_micros: Set(item
            .configuration_item_capture_time
            .as_ref()
            .map_or(0, timestamp_micros)),
        tags: Set(tags_json(&item.tags)),
        configuration: Set(configuration_json(&item.configuration)),
        supplementary_configuration: Set(supplementary_json(&item.supplementary_configuration)),
        relationships: Set(relationships_json(&item.relationships)),
        seq: Set(key.seq),
        version: Set(key.version.to_string()),
        item: Set(item.encode_to_vec()),
    };
    use items::Column as C;
    let on_conflict = newer_wins(
        items::Entity,
        &[C::AccountId, C::Region, C::ResourceType, C::ResourceId],
        &[
            C::ResourceName,
            C::Arn,
            C::AvailabilityZone,
            C::ItemStatus,
            C::Deleted,
            C::CaptureTimeMicros,
            C::Tags,
            C::Configuration,
            C::SupplementaryConfiguration,
            C::Relationships,
            C::Seq,
            C::Version,
            C::Item,
        ],
    );
    let affected = items::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(connection)
        .await?;
    Ok(affected > 0)
}

/// A deleted resource keeps its last item, marked deleted (AWS keeps `ResourceDeleted` items); a
/// delete for a resource never replicated leaves nothing behind.
async fn delete_item(
    connection: &impl ConnectionTrait,
    key: &Key<'_>,
    record_key: &str,
) -> Result<bool> {
    let Some((resource_type, resource_id)) = record_key.split_once('|') else {
        return Err(Error::Corrupt(format!(
            "configuration item key {record_key:?} is not \"<type>|<id>\""
        )));
    };
    let Some(stored) = items::Entity::find_by_id((
        key.account_id.to_string(),
        key.region.to_string(),
        resource_type.to_string(),
        resource_id.to_string(),
    ))
    .one(connection)
    .await?
    else {
        return Ok(false);
    };
    if stored.version.as_str() >= key.version {
        return Ok(false);
    }
    let mut item = pb::ConfigurationItem::decode(stored.item.as_slice())
        .map_err(|error| Error::Corrupt(format!("stored configuration item: {error}")))?;
    let status = if stored.item_status == "ResourceNotRecorded"
        || stored.item_status == "ResourceDeletedNotRecorded"
    {
        pb::ConfigurationItemStatus::ResourceDeletedNotRecorded
    } else {
        pb::ConfigurationItemStatus::ResourceDeleted
    };
    item.configuration_item_status = status as i32;
    item.configuration_state_id = u64::try_from(key.seq).unwrap_or(0);
    let affected = items::Entity::update_many()
        .col_expr(
            items::Column::ItemStatus,
            Expr::value(item_status_name(status as i32)),
        )
        .col_expr(items::Column::Deleted, Expr::value(true))
        .col_expr(items::Column::Seq, Expr::value(key.seq))
        .col_expr(items::Column::Version, Expr::value(key.version))
        .col_expr(items::Column::Item, Expr::value(item.encode_to_vec()))
        .filter(items::Column::AccountId.eq(key.account_id))
        .filter(items::Column::Region.eq(key.region))
        .filter(items::Column::ResourceType.eq(resource_type))
        .filter(items::Column::ResourceId.eq(resource_id))
        .filter(items::Column::Version.lt(key.version))
        .exec(connection)
        .await?;
    Ok(affected.rows_affected > 0)
}

async fn upsert_recorder(
    connection: &impl ConnectionTrait,
    key: &Key<'_>,
    state: &pb::RecorderState,
) -> Result<bool> {
    let name = state
        .configuration_recorder
        .as_ref()
        .map(|recorder| recorder.name.clone())
        .unwrap_or_default();
    let row = recorders::ActiveModel {
        account_id: Set(key.account_id.to_string()),
        region: Set(key.region.to_string()),
        name: Set(name),
        recording: Set(state.status.as_ref().is_some_and(|status| status.recording)),
        seq: Set(key.seq),
        version: Set(key.version.to_string()),
        state: Set(state.encode_to_vec()),
    };
    use recorders::Column as C;
    let on_conflict = newer_wins(
        recorders::Entity,
        &[C::AccountId, C::Region],
        &[C::Name, C::Recording, C::Seq, C::Version, C::State],
    );
    let affected = recorders::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(connection)
        .await?;
    Ok(affected > 0)
}

async fn delete_recorder(
    connection: &impl ConnectionTrait,
    key: &Key<'_>,
    name: &str,
) -> Result<bool> {
    let deleted = recorders::Entity::delete_many()
        .filter(recorders::Column::AccountId.eq(key.account_id))
        .filter(recorders::Column::Region.eq(key.region))
        .filter(recorders::Column::Name.eq(name))
        .filter(recorders::Column::Version.lt(key.version))
        .exec(connection)
        .await?;
    Ok(deleted.rows_affected > 0)
}

async fn upsert_rule(
    connection: &impl ConnectionTrait,
    key: &Key<'_>,
    rule: &pb::ConfigRule,
) -> Result<bool> {
    let row = rules::ActiveModel {
        account_id: Set(key.account_id.to_string()),
        region: Set(key.region.to_string()),
        name: Set(rule.config_rule_name.clone()),
        rule_id: Set(rule.config_rule_id.clone()),
        seq: Set(key.seq),
        version: Set(key.version.to_string()),
        rule: Set(rule.encode_to_vec()),
    };
    use rules::Column as C;
    let on_conflict = newer_wins(
        rules::Entity,
        &[C::AccountId, C::Region, C::Name],
        &[C::RuleId, C::Seq, C::Version, C::Rule],
    );
    let affected = rules::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(connection)
        .await?;
    Ok(affected > 0)
}

async fn delete_rule(connection: &impl ConnectionTrait, key: &Key<'_>, name: &str) -> Result<bool> {
    let deleted = rules::Entity::delete_many()
        .filter(rules::Column::AccountId.eq(key.account_id))
        .filter(rules::Column::Region.eq(key.region))
        .filter(rules::Column::Name.eq(name))
        .filter(rules::Column::Version.lt(key.version))
        .exec(connection)
        .await?;
    Ok(deleted.rows_affected > 0)
}

async fn upsert_evaluation(
    connection: &impl ConnectionTrait,
    key: &Key<'_>,
    result: &pb::EvaluationResult,
) -> Result<bool> {
    let row = evaluations::ActiveModel {
        account_id: Set(key.account_id.to_string()),
        region: Set(key.region.to_string()),
        config_rule_name: Set(result.config_rule_name.clone()),
        resource_type: Set(result.compliance_resource_type.clone()),
        resource_id: Set(result.compliance_resource_id.clone()),
        config_rule_id: Set(result.config_rule_id.clone()),
        compliance_type: Set(compliance_type_name(result.compliance_type).to_string()),
        ordering_time_micros: Set(result
            .ordering_timestamp
            .as_ref()
            .map_or(0, timestamp_micros)),
        seq: Set(key.seq),
        version: Set(key.version.to_string()),
        result: Set(result.encode_to_vec()),
    };
    use evaluations::Column as C;
    let on_conflict = newer_wins(
        evaluations::Entity,
        &[
            C::AccountId,
            C::Region,
            C::ConfigRuleName,
            C::ResourceType,
            C::ResourceId,
        ],
        &[
            C::ConfigRuleId,
            C::ComplianceType,
            C::OrderingTimeMicros,
            C::Seq,
            C::Version,
            C::Result,
        ],
    );
    let affected = evaluations::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(connection)
        .await?;
    Ok(affected > 0)
}

/// Evaluation keys name the rule by id: `<config rule id>|<resource type>|<resource id>` (ids and
/// types hold no `|`; a resource id may).
async fn delete_evaluation(
    connection: &impl ConnectionTrait,
    key: &Key<'_>,
    record_key: &str,
) -> Result<bool> {
    let mut parts = record_key.splitn(3, '|');
    let (Some(rule_id), Some(resource_type), Some(resource_id)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Corrupt(format!(
            "evaluation key {record_key:?} is not \"<rule id>|<type>|<id>\""
        )));
    };
    let deleted = evaluations::Entity::delete_many()
        .filter(evaluations::Column::AccountId.eq(key.account_id))
        .filter(evaluations::Column::Region.eq(key.region))
        .filter(evaluations::Column::ConfigRuleId.eq(rule_id))
        .filter(evaluations::Column::ResourceType.eq(resource_type))
        .filter(evaluations::Column::ResourceId.eq(resource_id))
        .filter(evaluations::Column::Version.lt(key.version))
        .exec(connection)
        .await?;
    Ok(deleted.rows_affected > 0)
}

async fn upsert_pack(
    connection: &impl ConnectionTrait,
    key: &Key<'_>,
    pack: &pb::ConformancePack,
) -> Result<bool> {
    let row = packs::ActiveModel {
        account_id: Set(key.account_id.to_string()),
        region: Set(key.region.to_string()),
        name: Set(pack.conformance_pack_name.clone()),
        seq: Set(key.seq),
        version: Set(key.version.to_string()),
        pack: Set(pack.encode_to_vec()),
    };
    use packs::Column as C;
    let on_conflict = newer_wins(
        packs::Entity,
        &[C::AccountId, C::Region, C::Name],
        &[C::Seq, C::Version, C::Pack],
    );
    let affected = packs::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(connection)
        .await?;
    Ok(affected > 0)
}

async fn delete_pack(connection: &impl ConnectionTrait, key: &Key<'_>, name: &str) -> Result<bool> {
    let deleted = packs::Entity::delete_many()
        .filter(packs::Column::AccountId.eq(key.account_id))
        .filter(packs::Column::Region.eq(key.region))
        .filter(packs::Column::Name.eq(name))
        .filter(packs::Column::Version.lt(key.version))
        .exec(connection)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// Removes every replicated row of `account_id` in `region` (all kinds).
pub async fn purge_pair(
    connection: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<()> {
    items::Entity::delete_many()
        .filter(items::Column::AccountId.eq(account_id))
        .filter(items::Column::Region.eq(region))
        .exec(connection)
        .await?;
    rules::Entity::delete_many()
        .filter(rules::Column::AccountId.eq(account_id))
        .filter(rules::Column::Region.eq(region))
        .exec(connection)
        .await?;
    evaluations::Entity::delete_many()
        .filter(evaluations::Column::AccountId.eq(account_id))
        .filter(evaluations::Column::Region.eq(region))
        .exec(connection)
        .await?;
    packs::Entity::delete_many()
        .filter(packs::Column::AccountId.eq(account_id))
        .filter(packs::Column::Region.eq(region))
        .exec(connection)
        .await?;
    recorders::Entity::delete_many()
        .filter(recorders::Column::AccountId.eq(account_id))
        .filter(recorders::Column::Region.eq(region))
        .exec(connection)
        .await?;
    Ok(())
}

fn timestamp_micros(timestamp: &prost_types::Timestamp) -> i64 {
    timestamp
        .seconds
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(timestamp.nanos / 1000))
}

fn corrupt(record: &pb::ChangeRecord, what: &str) -> Error {
    Error::Corrupt(format!(
        "change record {} ({:?} {:?}): {what}",
        record.seq, record.kind, record.key
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DatabaseConnection, PaginatorTrait};
    use sea_orm_migration::MigratorTrait;

    const REGION: &str = "eu-west-1";
    const ACCOUNT: &str = "111111111111";

    async fn store() -> (tempfile::TempDir, DatabaseConnection) {
        let directory = tempfile::tempdir().unwrap();
        let url = tributary_runtime::db::sqlite_url(&directory.path().join("replica.db"));
        let db = tributary_runtime::db::connect(&url).await.unwrap();
        crate::store::Migrator::up(&db, None).await.unwrap();
        (directory, db)
    }

    fn version(wall_ms: u64) -> Option<types_pb::Version> {
        Some(types_pb::Version {
            wall_ms,
            logical: 0,
            node_id: 7,
        })
    }

    fn item_record(seq: u64, wall_ms: u64, name: &str) -> pb::ChangeRecord {
        pb::ChangeRecord {
            seq,
            account_id: ACCOUNT.into(),
            kind: pb::ChangeKind::ConfigurationItem as i32,
            key: "AWS::S3::Bucket|b-1".into(),
            version: version(wall_ms),
            op: pb::ChangeOp::Upsert as i32,
            committed_at: None,
            payload: Some(pb::change_record::Payload::ConfigurationItem(
                pb::ConfigurationItem {
                    account_id: ACCOUNT.into(),
                    resource_type: "AWS::S3::Bucket".into(),
                    resource_id: "b-1".into(),
                    resource_name: name.into(),
                    configuration_item_status: pb::ConfigurationItemStatus::Ok as i32,
                    configuration: r#"{"versioning": true}"#.into(),
                    tags: vec![types_pb::Tag {
                        key: "env".into(),
                        value: "prod".into(),
                    }],
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }

    fn delete_record(seq: u64, wall_ms: u64, kind: pb::ChangeKind, key: &str) -> pb::ChangeRecord {
        pb::ChangeRecord {
            seq,
            account_id: ACCOUNT.into(),
            kind: kind as i32,
            key: key.into(),
            version: version(wall_ms),
            op: pb::ChangeOp::Delete as i32,
            ..Default::default()
        }
    }

    async fn stored_item(db: &DatabaseConnection) -> items::Model {
        items::Entity::find().one(db).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn the_higher_version_wins_and_equal_or_lower_ones_change_nothing() {
        let (_directory, db) = store().await;
        assert_eq!(
            apply(&db, REGION, &item_record(5, 100, "first"))
                .await
                .unwrap(),
            Outcome::Applied
        );
        let first = stored_item(&db).await;
        assert_eq!(first.resource_name, "first");
        assert_eq!(first.tags, r#"{"env":"prod"}"#);
        assert_eq!(first.configuration, r#"{"versioning": true}"#);
        assert_eq!(first.relationships, "[]");
        assert_eq!(first.seq, 5);
        assert_eq!(first.version, encode_version(version(100).as_ref()));

        // The same write again (a replayed batch), and an older one, are no-ops.
        for stale in [item_record(5, 100, "first"), item_record(3, 90, "older")] {
            assert_eq!(apply(&db, REGION, &stale).await.unwrap(), Outcome::Stale);
            assert_eq!(stored_item(&db).await, first);
        }
        assert_eq!(
            apply(&db, REGION, &item_record(9, 200, "second"))
                .await
                .unwrap(),
            Outcome::Applied
        );
        assert_eq!(stored_item(&db).await.resource_name, "second");
        assert_eq!(items::Entity::find().count(&db).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_deleted_resource_keeps_its_item_marked_deleted() {
        let (_directory, db) = store().await;
        let key = "AWS::S3::Bucket|b-1";
        // A delete of something never replicated leaves nothing behind.
        assert_eq!(
            apply(
                &db,
                REGION,
                &delete_record(1, 50, pb::ChangeKind::ConfigurationItem, key)
            )
            .await
            .unwrap(),
            Outcome::Stale
        );
        apply(&db, REGION, &item_record(2, 100, "bucket"))
            .await
            .unwrap();
        assert_eq!(
            apply(
                &db,
                REGION,
                &delete_record(1, 50, pb::ChangeKind::ConfigurationItem, key)
            )
            .await
            .unwrap(),
            Outcome::Stale
        );
        assert!(!stored_item(&db).await.deleted);
        assert_eq!(
            apply(
                &db,
                REGION,
                &delete_record(3, 150, pb::ChangeKind::ConfigurationItem, key)
            )
            .await
            .unwrap(),
            Outcome::Applied
        );
        let deleted = stored_item(&db).await;
        assert!(deleted.deleted);
        assert_eq!(deleted.item_status, "ResourceDeleted");
        assert_eq!(deleted.seq, 3);
        let item = pb::ConfigurationItem::decode(deleted.item.as_slice()).unwrap();
        assert_eq!(
            item.configuration_item_status,
            pb::ConfigurationItemStatus::ResourceDeleted as i32
        );
        assert_eq!(item.resource_name, "bucket");
    }

    #[tokio::test]
    async fn compliance_records_are_stored_and_deleted_by_their_keys() {
        let (_directory, db) = store().await;
        let rule = pb::ChangeRecord {
            seq: 1,
            account_id: ACCOUNT.into(),
            kind: pb::ChangeKind::ConfigRule as i32,
            key: "s3-versioning".into(),
            version: version(100),
            op: pb::ChangeOp::Upsert as i32,
            payload: Some(pb::change_record::Payload::ConfigRule(pb::ConfigRule {
                config_rule_name: "s3-versioning".into(),
                config_rule_id: "config-rule-abc123".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let evaluation = pb::ChangeRecord {
            seq: 2,
            account_id: ACCOUNT.into(),
            kind: pb::ChangeKind::Evaluation as i32,
            key: "config-rule-abc123|AWS::S3::Bucket|b|1".into(),
            version: version(110),
            op: pb::ChangeOp::Upsert as i32,
            payload: Some(pb::change_record::Payload::Evaluation(
                pb::EvaluationResult {
                    config_rule_name: "s3-versioning".into(),
                    config_rule_id: "config-rule-abc123".into(),
                    compliance_resource_type: "AWS::S3::Bucket".into(),
                    compliance_resource_id: "b|1".into(),
                    compliance_type: pb::ComplianceType::NonCompliant as i32,
                    ordering_timestamp: Some(prost_types::Timestamp {
                        seconds: 10,
                        nanos: 5000,
                    }),
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        let recorder = pb::ChangeRecord {
            seq: 3,
            account_id: ACCOUNT.into(),
            kind: pb::ChangeKind::ConfigurationRecorder as i32,
            key: "default".into(),
            version: version(120),
            op: pb::ChangeOp::Upsert as i32,
            payload: Some(pb::change_record::Payload::ConfigurationRecorder(
                pb::RecorderState {
                    configuration_recorder: Some(pb::ConfigurationRecorder {
                        name: "default".into(),
                        recording_group: None,
                    }),
                    status: Some(pb::ConfigurationRecorderStatus {
                        name: "default".into(),
                        recording: true,
                        ..Default::default()
                    }),
                },
            )),
            ..Default::default()
        };
        for record in [&rule, &evaluation, &recorder] {
            assert_eq!(apply(&db, REGION, record).await.unwrap(), Outcome::Applied);
        }
        let stored = evaluations::Entity::find().one(&db).await.unwrap().unwrap();
        assert_eq!(stored.compliance_type, "NON_COMPLIANT");
        assert_eq!(stored.ordering_time_micros, 10_000_005);
        assert_eq!(stored.resource_id, "b|1");
        let stored = recorders::Entity::find().one(&db).await.unwrap().unwrap();
        assert!(stored.recording);
        assert_eq!(stored.name, "default");

        // Evaluation keys name the rule by id; resource ids may hold '|'.
        let deleted = delete_record(
            4,
            130,
            pb::ChangeKind::Evaluation,
            "config-rule-abc123|AWS::S3::Bucket|b|1",
        );
        assert_eq!(
            apply(&db, REGION, &deleted).await.unwrap(),
            Outcome::Applied
        );
        assert_eq!(evaluations::Entity::find().count(&db).await.unwrap(), 0);
        let deleted = delete_record(5, 140, pb::ChangeKind::ConfigRule, "s3-versioning");
        assert_eq!(
            apply(&db, REGION, &deleted).await.unwrap(),
            Outcome::Applied
        );
        assert_eq!(rules::Entity::find().count(&db).await.unwrap(), 0);

        // Records of kinds the replica does not store are skipped.
        let finding = pb::ChangeRecord {
            kind: pb::ChangeKind::Finding as i32,
            ..delete_record(6, 150, pb::ChangeKind::Finding, "arn|id")
        };
        assert_eq!(
            apply(&db, REGION, &finding).await.unwrap(),
            Outcome::Ignored
        );

        purge_pair(&db, ACCOUNT, REGION).await.unwrap();
        assert_eq!(recorders::Entity::find().count(&db).await.unwrap(), 0);
    }

    #[test]
    fn configuration_columns_always_hold_json() {
        assert_eq!(configuration_json(""), "{}");
        assert_eq!(configuration_json(r#"{"a": 1}"#), r#"{"a": 1}"#);
        assert_eq!(configuration_json("not json"), r#""not json""#);
        let supplementary = [
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ]
        .into_iter()
        .collect();
        assert_eq!(supplementary_json(&supplementary), r#"{"a":"1","b":"2"}"#);
        assert_eq!(item_status_name(0), "OK");
        assert_eq!(compliance_type_name(4), "INSUFFICIENT_DATA");
    }
}
