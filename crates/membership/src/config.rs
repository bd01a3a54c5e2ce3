//! Membership's configuration.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tributary_runtime::config::{EnvVars, ServerFlags, ServerSettings};

/// The membership service's default gRPC port.
pub const DEFAULT_PORT: u16 = 50051;

/// Everything membership can be configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipConfig {
    /// Listener, database and shutdown settings.
    #[serde(flatten)]
    pub server: ServerSettings,
    /// An operator key to ensure exists (`TRIBUTARY_BOOTSTRAP_KEY`). When unset and no operator
    /// key exists yet, one is generated and printed once.
    pub bootstrap_key: Option<String>,
    /// A service key to ensure exists (`TRIBUTARY_BOOTSTRAP_SERVICE_KEY`): the key collectors and
    /// aggregators present when they call membership.
    pub bootstrap_service_key: Option<String>,
    /// How long a pending Config aggregation request stays open, in seconds
    /// (`TRIBUTARY_PENDING_AGGREGATION_REQUEST_TTL_SECONDS`, default 7 days as in AWS). After it,
    /// an unanswered request expires and its pairs resolve as expired.
    #[serde(default = "default_pending_aggregation_request_ttl_seconds")]
    pub pending_aggregation_request_ttl_seconds: u64,
    /// The most source accounts one Config aggregator may list
    /// (`TRIBUTARY_MAX_ACCOUNTS_PER_CONFIG_AGGREGATOR`, default 10,000 as in AWS).
    #[serde(default = "default_max_accounts_per_config_aggregator")]
    pub max_accounts_per_config_aggregator: u32,
    /// Security Hub quotas per administrator and region (`[securityhub]` in TOML,
    /// `TRIBUTARY_SECURITYHUB__MEMBERS_PER_ADMINISTRATOR`, ...), AWS defaults when unset.
    #[serde(default)]
    pub securityhub: SecurityHubLimits,
}

/// Security Hub quotas, per administrator and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityHubLimits {
    /// Members one administrator may have in a region, counting Created, Invited, Enabled and
    /// AccountSuspended relationships (AWS: 5,000 by default, 11,000 at most).
    pub members_per_administrator: u32,
    /// Outstanding (Invited) invitations one administrator may have in a region (AWS: 1,000).
    pub invitations_per_administrator: u32,
}

impl Default for SecurityHubLimits {
    fn default() -> Self {
        Self {
            members_per_administrator: 5_000,
            invitations_per_administrator: 1_000,
        }
    }
}

/// Seven days, the AWS lifetime of a pending aggregation request.
pub const DEFAULT_PENDING_AGGREGATION_REQUEST_TTL_SECONDS: u64 = 7 * 24 * 60 * 60;
/// The AWS limit of accounts in one Config aggregator.
pub const DEFAULT_MAX_ACCOUNTS_PER_CONFIG_AGGREGATOR: u32 = 10_000;

fn default_pending_aggregation_request_ttl_seconds() -> u64 {
    DEFAULT_PENDING_AGGREGATION_REQUEST_TTL_SECONDS
}

fn default_max_accounts_per_config_aggregator() -> u32 {
    DEFAULT_MAX_ACCOUNTS_PER_CONFIG_AGGREGATOR
}

impl Default for MembershipConfig {
    fn default() -> Self {
        Self {
            server: ServerSettings::with_defaults(
                ([127, 0, 0, 1], DEFAULT_PORT).into(),
                "membership.db",
            ),
            bootstrap_key: None,
            bootstrap_service_key: None,
            pending_aggregation_request_ttl_seconds:
                DEFAULT_PENDING_AGGREGATION_REQUEST_TTL_SECONDS,
            max_accounts_per_config_aggregator: DEFAULT_MAX_ACCOUNTS_PER_CONFIG_AGGREGATOR,
            securityhub: SecurityHubLimits::default(),
        }
    }
}

impl MembershipConfig {
    /// Loads defaults < `file` < `env` < `flags`.
    pub fn load(
        file: Option<&Path>,
        env: &EnvVars,
        flags: &ServerFlags,
    ) -> Result<Self, tributary_runtime::Error> {
        tributary_runtime::config::load(&Self::default(), file, env, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_keys_come_from_the_environment() {
        let env = EnvVars::from_pairs([
            ("TRIBUTARY_BOOTSTRAP_KEY", "operator-secret-0123456789"),
            ("TRIBUTARY_DATABASE_URL", "postgres://postgres@127.0.0.1/x"),
        ]);
        let config = MembershipConfig::load(None, &env, &ServerFlags::default()).unwrap();
        assert_eq!(
            config.bootstrap_key.as_deref(),
            Some("operator-secret-0123456789")
        );
        assert_eq!(
            config.server.database_url,
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(config.server.listen.port(), DEFAULT_PORT);
    }

    #[test]
    fn aggregation_limits_default_to_aws_and_come_from_the_environment() {
        let defaults =
            MembershipConfig::load(None, &EnvVars::default(), &ServerFlags::default()).unwrap();
        assert_eq!(defaults.pending_aggregation_request_ttl_seconds, 604_800);
        assert_eq!(defaults.max_accounts_per_config_aggregator, 10_000);
        let env = EnvVars::from_pairs([
            ("TRIBUTARY_PENDING_AGGREGATION_REQUEST_TTL_SECONDS", "60"),
            ("TRIBUTARY_MAX_ACCOUNTS_PER_CONFIG_AGGREGATOR", "3"),
        ]);
        let config = MembershipConfig::load(None, &env, &ServerFlags::default()).unwrap();
        assert_eq!(config.pending_aggregation_request_ttl_seconds, 60);
        assert_eq!(config.max_accounts_per_config_aggregator, 3);
    }

    #[test]
    fn securityhub_limits_default_to_aws_and_come_from_the_environment() {
        let defaults =
            MembershipConfig::load(None, &EnvVars::default(), &ServerFlags::default()).unwrap();
        assert_eq!(defaults.securityhub.members_per_administrator, 5_000);
        assert_eq!(defaults.securityhub.invitations_per_administrator, 1_000);
        let env = EnvVars::from_pairs([("TRIBUTARY_SECURITYHUB__MEMBERS_PER_ADMINISTRATOR", "7")]);
        let config = MembershipConfig::load(None, &env, &ServerFlags::default()).unwrap();
        assert_eq!(config.securityhub.members_per_administrator, 7);
        assert_eq!(config.securityhub.invitations_per_administrator, 1_000);
    }
}
