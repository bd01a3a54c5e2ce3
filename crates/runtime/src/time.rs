//! Conversions between stored times and protobuf timestamps.

use chrono::{DateTime, Utc};

/// Converts a UTC time to a protobuf timestamp.
pub fn to_timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// The current time truncated to microseconds, the precision both SQLite and PostgreSQL keep, so a
/// value read back equals the value written.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
