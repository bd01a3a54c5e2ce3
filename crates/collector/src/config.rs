//! The collector's configuration.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tributary_runtime::{
    Violations,
    config::{EnvVars, MembershipClientSettings, ServerSettings},
    ids::validate_region_name,
};

/// The collector's default gRPC port.
pub const DEFAULT_PORT: u16 = 50061;

/// Everything a collector can be configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectorConfig {
    /// Listener, database and shutdown settings.
    #[serde(flatten)]
    pub server: ServerSettings,
    /// How callers' keys are checked with membership.
    #[serde(flatten)]
    pub membership: MembershipClientSettings,
    /// The region this collector serves (`--region`, `TRIBUTARY_REGION`); required.
    pub region: String,
    /// How long superseded change-log records are kept before compaction may delete them.
    #[serde(default = "default_retention")]
    pub change_log_retention_seconds: u64,
    /// How often compaction runs.
    #[serde(default = "default_compaction_interval")]
    pub change_log_compaction_interval_seconds: u64,
    /// At most this many Config rules per account in this region (AWS default 1,000).
    #[serde(default = "default_max_config_rules")]
    pub max_config_rules_per_account: u64,
    /// At most this many conformance packs per account in this region (AWS default 50).
    #[serde(default = "default_max_conformance_packs")]
    pub max_conformance_packs_per_account: u64,
    /// ACTIVE findings are deleted this long after their last write (AWS: 90 days).
    #[serde(default = "default_finding_retention_active")]
    pub finding_retention_active_seconds: u64,
    /// ARCHIVED findings are deleted this long after their last write (AWS: 30 days).
    #[serde(default = "default_finding_retention_archived")]
    pub finding_retention_archived_seconds: u64,
    /// How often expired findings are deleted.
    #[serde(default = "default_finding_retention_interval")]
    pub finding_retention_interval_seconds: u64,
}

fn default_finding_retention_active() -> u64 {
    90 * 24 * 60 * 60
}

fn default_finding_retention_archived() -> u64 {
    30 * 24 * 60 * 60
}

fn default_finding_retention_interval() -> u64 {
    60 * 60
}

fn default_max_config_rules() -> u64 {
    1000
}

fn default_max_conformance_packs() -> u64 {
    50
}

/// Seven days, like the aggregator's freshness window.
fn default_retention() -> u64 {
    7 * 24 * 60 * 60
}

fn default_compaction_interval() -> u64 {
    60 * 60
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            server: ServerSettings::with_defaults(
                ([127, 0, 0, 1], DEFAULT_PORT).into(),
                "collector.db",
            ),
            membership: MembershipClientSettings::default(),
            region: String::new(),
            change_log_retention_seconds: default_retention(),
            change_log_compaction_interval_seconds: default_compaction_interval(),
            max_config_rules_per_account: default_max_config_rules(),
            max_conformance_packs_per_account: default_max_conformance_packs(),
            finding_retention_active_seconds: default_finding_retention_active(),
            finding_retention_archived_seconds: default_finding_retention_archived(),
            finding_retention_interval_seconds: default_finding_retention_interval(),
        }
    }
}

impl CollectorConfig {
    /// Loads defaults < `file` < `env` < `flags`.
    pub fn load<F: Serialize>(
        file: Option<&Path>,
        env: &EnvVars,
        flags: &F,
    ) -> Result<Self, tributary_runtime::Error> {
        let config: Self = tributary_runtime::config::load(&Self::default(), file, env, flags)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: the region is a region name.
    pub fn validate(&self) -> Result<(), tributary_runtime::Error> {
        let mut violations = Violations::new();
        violations.check("region", validate_region_name(&self.region));
        if self.change_log_compaction_interval_seconds == 0 {
            violations.add(
                "change_log_compaction_interval_seconds",
                "must be at least 1",
            );
        }
        for (field, value) in [
            (
                "finding_retention_active_seconds",
                self.finding_retention_active_seconds,
            ),
            (
                "finding_retention_archived_seconds",
                self.finding_retention_archived_seconds,
            ),
            (
                "finding_retention_interval_seconds",
                self.finding_retention_interval_seconds,
            ),
        ] {
            if value == 0 {
                violations.add(field, "must be at least 1");
            }
        }
        violations
            .finish()
            .map_err(|error| tributary_runtime::Error::Config(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_runtime::config::ServerFlags;

    #[test]
    fn region_is_required_and_validated() {
        let missing = CollectorConfig::load(None, &EnvVars::default(), &ServerFlags::default());
        assert!(missing.unwrap_err().to_string().contains("region"));
        let env = EnvVars::from_pairs([
            ("TRIBUTARY_REGION", "eu-west-1"),
            ("TRIBUTARY_SERVICE_API_KEY", "service-key-0123456789"),
        ]);
        let config = CollectorConfig::load(None, &env, &ServerFlags::default()).unwrap();
        assert_eq!(config.region, "eu-west-1");
        assert_eq!(
            config.membership.service_api_key.as_deref(),
            Some("service-key-0123456789")
        );
    }

    #[test]
    fn finding_retention_defaults_to_aws_and_refuses_zero() {
        let config = CollectorConfig {
            region: "eu-west-1".into(),
            ..CollectorConfig::default()
        };
        assert_eq!(config.finding_retention_active_seconds, 90 * 86_400);
        assert_eq!(config.finding_retention_archived_seconds, 30 * 86_400);
        let zero = CollectorConfig {
            finding_retention_archived_seconds: 0,
            ..config
        };
        assert!(
            zero.validate()
                .unwrap_err()
                .to_string()
                .contains("finding_retention_archived_seconds")
        );
    }
}
