//! What a collector says about itself: its region, version and change-log head.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder, QuerySelect};

use crate::{error::Result, store::change_log};

/// The collector's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub region: String,
    pub version: &'static str,
    pub change_log_head: u64,
    pub started_at: DateTime<Utc>,
}

/// Reads the collector's description.
pub struct CollectorInfo {
    db: DatabaseConnection,
    region: String,
    started_at: DateTime<Utc>,
}

impl CollectorInfo {
    /// Describes the collector of `region` storing into `db`.
    pub fn new(db: DatabaseConnection, region: String) -> Self {
        Self {
            db,
            region,
            started_at: tributary_runtime::time::now(),
        }
    }

    /// The current description; the head is the highest committed sequence number.
    pub async fn get(&self) -> Result<Info> {
        let head: Option<i64> = change_log::Entity::find()
            .select_only()
            .column(change_log::Column::Seq)
            .order_by_desc(change_log::Column::Seq)
            .limit(1)
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(Info {
            region: self.region.clone(),
            version: tributary_runtime::VERSION,
            change_log_head: head.map_or(0, |seq| u64::try_from(seq).unwrap_or(0)),
            started_at: self.started_at,
        })
    }
}
