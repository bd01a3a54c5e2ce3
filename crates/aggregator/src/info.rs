//! What the aggregator says about itself: its version and how far (and how well) it has replicated
//! each region.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};

use crate::{error::Result, store::replication_regions};

/// Replication progress of one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionCursor {
    pub region: String,
    pub applied_seq: u64,
    pub applied_at: Option<DateTime<Utc>>,
    /// "SUCCEEDED", "OUTDATED" or "FAILED".
    pub status: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub lag_ms: Option<u64>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
}

/// The aggregator's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub version: &'static str,
    pub cursors: Vec<RegionCursor>,
    pub started_at: DateTime<Utc>,
}

/// Reads the aggregator's description.
pub struct AggregatorInfo {
    db: DatabaseConnection,
    started_at: DateTime<Utc>,
}

impl AggregatorInfo {
    /// Describes the aggregator storing into `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            started_at: tributary_runtime::time::now(),
        }
    }

    /// The current description.
    pub async fn get(&self) -> Result<Info> {
        let cursors = replication_regions::Entity::find()
            .order_by_asc(replication_regions::Column::Region)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| RegionCursor {
                region: row.region,
                applied_seq: u64::try_from(row.applied_seq).unwrap_or(0),
                applied_at: row.applied_at.and_then(DateTime::from_timestamp_micros),
                status: row.status,
                error_code: row.error_code,
                error_message: row.error_message,
                lag_ms: row.lag_ms.and_then(|lag| u64::try_from(lag).ok()),
                last_attempt_at: row
                    .last_attempt_micros
                    .and_then(DateTime::from_timestamp_micros),
                last_success_at: row
                    .last_success_micros
                    .and_then(DateTime::from_timestamp_micros),
            })
            .collect();
        Ok(Info {
            version: tributary_runtime::VERSION,
            cursors,
            started_at: self.started_at,
        })
    }
}
