//! The aggregator's configuration.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tributary_runtime::config::{EnvVars, MembershipClientSettings, ServerSettings};

/// The aggregator's default gRPC port.
pub const DEFAULT_PORT: u16 = 50052;

/// Everything the aggregator can be configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregatorConfig {
    /// Listener, database and shutdown settings.
    #[serde(flatten)]
    pub server: ServerSettings,
    /// How callers' keys are checked with membership.
    #[serde(flatten)]
    pub membership: MembershipClientSettings,
    /// How data is replicated from the regions' collectors.
    #[serde(flatten)]
    pub replication: ReplicationSettings,
    /// Limits of Config aggregators.
    #[serde(flatten)]
    pub config_aggregators: ConfigAggregatorSettings,
}

/// Limits of Config aggregators (AWS defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigAggregatorSettings {
    /// Config aggregators one account may own in one region.
    pub max_config_aggregators_per_account: u64,
    /// Accounts one Config aggregator may list.
    pub max_accounts_per_config_aggregator: u64,
}

impl Default for ConfigAggregatorSettings {
    fn default() -> Self {
        Self {
            max_config_aggregators_per_account: 50,
            max_accounts_per_config_aggregator: 10_000,
        }
    }
}

/// Replication of the regions' change logs into the aggregator's store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicationSettings {
    /// A source whose replicated data trails its collector by more than this is `OUTDATED`.
    pub freshness_target_seconds: u64,
    /// How long the data of a pair whose authorization was revoked (or that is no longer
    /// authorized for another reason) stays stored, hidden, before it is purged.
    pub revoked_data_retention_seconds: u64,
    /// How long the replication lease of one replica lasts without renewal (SQLite; PostgreSQL
    /// holds an advisory lock for as long as the replica's session lives).
    pub replication_lease_seconds: u64,
    /// The longest wait between two attempts to reach an unreachable collector.
    pub replication_max_backoff_seconds: u64,
}

impl Default for ReplicationSettings {
    fn default() -> Self {
        Self {
            freshness_target_seconds: 60,
            revoked_data_retention_seconds: 86_400,
            replication_lease_seconds: 15,
            replication_max_backoff_seconds: 30,
        }
    }
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        Self {
            server: ServerSettings::with_defaults(
                ([127, 0, 0, 1], DEFAULT_PORT).into(),
                "aggregator.db",
            ),
            membership: MembershipClientSettings::default(),
            replication: ReplicationSettings::default(),
            config_aggregators: ConfigAggregatorSettings::default(),
        }
    }
}

impl AggregatorConfig {
    /// Loads defaults < `file` < `env` < `flags`.
    pub fn load<F: Serialize>(
        file: Option<&Path>,
        env: &EnvVars,
        flags: &F,
    ) -> Result<Self, tributary_runtime::Error> {
        tributary_runtime::config::load(&Self::default(), file, env, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_runtime::config::ServerFlags;

    #[test]
    fn membership_settings_come_from_the_environment() {
        let env = EnvVars::from_pairs([
            ("TRIBUTARY_MEMBERSHIP_ENDPOINT", "http://membership:50051"),
            ("TRIBUTARY_AUTH_CACHE_TTL_SECONDS", "2"),
        ]);
        let config = AggregatorConfig::load(None, &env, &ServerFlags::default()).unwrap();
        assert_eq!(
            config.membership.membership_endpoint,
            "http://membership:50051"
        );
        assert_eq!(config.membership.auth_cache_ttl_seconds, 2);
        assert_eq!(config.server.listen.port(), DEFAULT_PORT);
    }
}
