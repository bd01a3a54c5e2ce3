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
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        Self {
            server: ServerSettings::with_defaults(
                ([127, 0, 0, 1], DEFAULT_PORT).into(),
                "aggregator.db",
            ),
            membership: MembershipClientSettings::default(),
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
