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
}
