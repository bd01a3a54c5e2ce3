//! Replication status, driven by what actually happened: `replication_regions` holds each
//! region's cursor and status, `replication_pairs` each replicated (account, region)'s.
//!
//! A pair is `FAILED` while its region's collector cannot be reached (with the error) or while its
//! account records nothing in the region (`CONFIG_NOT_ENABLED`, from the replicated recorder);
//! `OUTDATED` while it is being back-filled or its data trails the collector by more than the
//! freshness target; `SUCCEEDED` otherwise.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};

use crate::{
    error::Result,
    store::{aggregate_recorders as recorders, replication_pairs as pairs, replication_regions},
};

/// The error code of a region whose collector cannot be reached.
pub const REGION_COLLECTOR_UNAVAILABLE: &str = "CollectorUnavailable";
/// The error code of a pair whose account records nothing in the region.
pub const CONFIG_NOT_ENABLED: &str = "CONFIG_NOT_ENABLED";
/// The message of [`CONFIG_NOT_ENABLED`].
const CONFIG_NOT_ENABLED_MESSAGE: &str = "AWS Config is not recording in this account and \
                                          region: no configuration recorder is running there";

/// A source's last update status (AWS `LastUpdateStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStatus {
    /// Data moved and is fresh.
    Succeeded,
    /// Moving data failed.
    Failed,
    /// The data is not the latest.
    Outdated,
}

impl SourceStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceStatus::Succeeded => "SUCCEEDED",
            SourceStatus::Failed => "FAILED",
            SourceStatus::Outdated => "OUTDATED",
        }
    }
}

/// Where a replicated pair stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairState {
    /// Being back-filled from a snapshot.
    Snapshot,
    /// Following the region's change log.
    Live,
    /// No aggregator is authorized for it any more; its data waits for the retention window.
    Hidden,
}

impl PairState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PairState::Snapshot => "snapshot",
            PairState::Live => "live",
            PairState::Hidden => "hidden",
        }
    }
}

/// What one successful step of a region's replication observed.
pub(super) struct Progress {
    /// The region's new cursor, when the step moved it.
    pub cursor: Option<i64>,
    /// How far the applied data trailed the collector, in milliseconds.
    pub lag_ms: i64,
    /// The freshness target in milliseconds.
    pub freshness_ms: i64,
}

/// Records a successful step of `region` (in the caller's transaction, with the data it applied).
pub(super) async fn record_progress(
    db: &impl ConnectionTrait,
    region: &str,
    progress: &Progress,
) -> Result<()> {
    let now = super::now_micros();
    let status = if progress.lag_ms > progress.freshness_ms {
        SourceStatus::Outdated
    } else {
        SourceStatus::Succeeded
    };
    let mut updated = vec![
        replication_regions::Column::Status,
        replication_regions::Column::ErrorCode,
        replication_regions::Column::ErrorMessage,
        replication_regions::Column::LastAttemptMicros,
        replication_regions::Column::LastSuccessMicros,
        replication_regions::Column::LagMs,
    ];
    if progress.cursor.is_some() {
        updated.push(replication_regions::Column::AppliedSeq);
        updated.push(replication_regions::Column::AppliedAt);
    }
    replication_regions::Entity::insert(replication_regions::ActiveModel {
        region: Set(region.to_string()),
        applied_seq: Set(progress.cursor.unwrap_or(0)),
        applied_at: Set(progress.cursor.map(|_| now)),
        status: Set(status.as_str().to_string()),
        error_code: Set(None),
        error_message: Set(None),
        last_attempt_micros: Set(Some(now)),
        last_success_micros: Set(Some(now)),
        lag_ms: Set(Some(progress.lag_ms)),
    })
    .on_conflict(
        OnConflict::column(replication_regions::Column::Region)
            .update_columns(updated)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;

    let mut live = pairs::Entity::update_many()
        .col_expr(pairs::Column::Status, Expr::value(status.as_str()))
        .col_expr(
            pairs::Column::ErrorCode,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            pairs::Column::ErrorMessage,
            Expr::value(Option::<String>::None),
        )
        .col_expr(pairs::Column::LastAttemptMicros, Expr::value(now))
        .col_expr(pairs::Column::LastSuccessMicros, Expr::value(now))
        .col_expr(pairs::Column::LagMs, Expr::value(progress.lag_ms));
    if let Some(cursor) = progress.cursor {
        live = live.col_expr(
            pairs::Column::AppliedSeq,
            Expr::case(
                Expr::col(pairs::Column::AppliedSeq).lt(cursor),
                Expr::value(cursor),
            )
            .finally(Expr::col(pairs::Column::AppliedSeq))
            .into(),
        );
    }
    live.filter(pairs::Column::Region.eq(region))
        .filter(pairs::Column::State.eq(PairState::Live.as_str()))
        .exec(db)
        .await?;

    // A source that records nothing in the region has no fresh data to move, however healthy the
    // stream is.
    pairs::Entity::update_many()
        .col_expr(
            pairs::Column::Status,
            Expr::value(SourceStatus::Failed.as_str()),
        )
        .col_expr(pairs::Column::ErrorCode, Expr::value(CONFIG_NOT_ENABLED))
        .col_expr(
            pairs::Column::ErrorMessage,
            Expr::value(CONFIG_NOT_ENABLED_MESSAGE),
        )
        .filter(pairs::Column::Region.eq(region))
        .filter(pairs::Column::State.eq(PairState::Live.as_str()))
        .filter(
            Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(recorders::Entity)
                    .and_where(
                        Expr::col((recorders::Entity, recorders::Column::AccountId))
                            .equals((pairs::Entity, pairs::Column::AccountId)),
                    )
                    .and_where(
                        Expr::col((recorders::Entity, recorders::Column::Region))
                            .equals((pairs::Entity, pairs::Column::Region)),
                    )
                    .and_where(
                        Expr::col((recorders::Entity, recorders::Column::Recording)).eq(true),
                    )
                    .to_owned(),
            )
            .not(),
        )
        .exec(db)
        .await?;

    pairs::Entity::update_many()
        .col_expr(
            pairs::Column::Status,
            Expr::value(SourceStatus::Outdated.as_str()),
        )
        .col_expr(
            pairs::Column::ErrorCode,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            pairs::Column::ErrorMessage,
            Expr::value(Option::<String>::None),
        )
        .col_expr(pairs::Column::LastAttemptMicros, Expr::value(now))
        .filter(pairs::Column::Region.eq(region))
        .filter(pairs::Column::State.eq(PairState::Snapshot.as_str()))
        .exec(db)
        .await?;
    // Finding aggregators show the same progress per linked region.
    crate::findings::replication::record_progress(db, region, progress.lag_ms).await?;
    Ok(())
}

/// Records that replicating `region` failed: the region and every pair it carries are `FAILED`
/// with `code` and `message`; their data and last success stay as they were.
pub(super) async fn record_failure(
    db: &impl ConnectionTrait,
    region: &str,
    code: &str,
    message: &str,
) -> Result<()> {
    let now = super::now_micros();
    replication_regions::Entity::insert(replication_regions::ActiveModel {
        region: Set(region.to_string()),
        applied_seq: Set(0),
        applied_at: Set(None),
        status: Set(SourceStatus::Failed.as_str().to_string()),
        error_code: Set(Some(code.to_string())),
        error_message: Set(Some(message.to_string())),
        last_attempt_micros: Set(Some(now)),
        last_success_micros: Set(None),
        lag_ms: Set(None),
    })
    .on_conflict(
        OnConflict::column(replication_regions::Column::Region)
            .update_columns([
                replication_regions::Column::Status,
                replication_regions::Column::ErrorCode,
                replication_regions::Column::ErrorMessage,
                replication_regions::Column::LastAttemptMicros,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    pairs::Entity::update_many()
        .col_expr(
            pairs::Column::Status,
            Expr::value(SourceStatus::Failed.as_str()),
        )
        .col_expr(pairs::Column::ErrorCode, Expr::value(code))
        .col_expr(pairs::Column::ErrorMessage, Expr::value(message))
        .col_expr(pairs::Column::LastAttemptMicros, Expr::value(now))
        .filter(pairs::Column::Region.eq(region))
        .filter(pairs::Column::State.ne(PairState::Hidden.as_str()))
        .exec(db)
        .await?;
    Ok(())
}
