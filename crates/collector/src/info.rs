//! What a collector says about itself: its region, version and change-log head.

use chrono::{DateTime, Utc};

use crate::{change_log::ChangeLog, error::Result};

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
    change_log: ChangeLog,
    region: String,
    started_at: DateTime<Utc>,
}

impl CollectorInfo {
    /// Describes the collector of `region` whose writes go through `change_log`.
    pub fn new(change_log: ChangeLog, region: String) -> Self {
        Self {
            change_log,
            region,
            started_at: tributary_runtime::time::now(),
        }
    }

    /// The current description; the head is the highest committed sequence number.
    pub async fn get(&self) -> Result<Info> {
        let head = self.change_log.head().await?;
        Ok(Info {
            region: self.region.clone(),
            version: tributary_runtime::VERSION,
            change_log_head: head.seq,
            started_at: self.started_at,
        })
    }
}
