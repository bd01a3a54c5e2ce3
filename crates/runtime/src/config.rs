//! Configuration loading: defaults, then an optional TOML file, then `TRIBUTARY_*` environment
//! variables, then command-line flags; later sources win. Loading takes the environment as a map so
//! tests never touch the process environment.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use figment::{
    Figment, Metadata, Profile, Provider,
    providers::{Format, Serialized, Toml},
    value::{Dict, Map, Value},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::Error;

/// The prefix of every environment variable Tributary reads as configuration.
pub const ENV_PREFIX: &str = "TRIBUTARY_";

/// Settings every gRPC service has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSettings {
    /// Address the gRPC server listens on.
    pub listen: SocketAddr,
    /// Address of the Prometheus `/metrics` side port; none disables it.
    pub metrics_listen: Option<SocketAddr>,
    /// `sqlite://path/file.db` (embedded) or `postgres://user@host:port/database`.
    pub database_url: String,
    /// Apply pending migrations before serving.
    pub migrate_on_start: bool,
    /// How long in-flight calls and streams may run after a shutdown signal.
    pub shutdown_grace_seconds: u64,
    /// Secret that signs page tokens; when unset, one is generated and kept in the database so all
    /// replicas sharing it agree.
    pub page_token_secret: Option<String>,
    /// Native TLS for the gRPC listener and for calls to other services (`[tls]` in TOML,
    /// `TRIBUTARY_TLS__CERT_FILE`, ...). Empty: plaintext h2c, e.g. behind a service mesh.
    #[serde(default)]
    pub tls: TlsSettings,
}

/// Native TLS without a service mesh. Every file is PEM. A server serves TLS when `cert_file` and
/// `key_file` are set and requires client certificates signed by `client_ca_file` when that is
/// set too. Clients call `https://` endpoints trusting `ca_file` (or, when unset,
/// `client_ca_file`: one CA for the whole deployment) and present `cert_file`/`key_file` as their
/// identity; `http://` endpoints stay plaintext.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsSettings {
    /// This service's certificate chain, presented to callers and, as a client, to the services
    /// it calls (`TRIBUTARY_TLS__CERT_FILE`).
    pub cert_file: Option<PathBuf>,
    /// The private key of `cert_file` (`TRIBUTARY_TLS__KEY_FILE`).
    pub key_file: Option<PathBuf>,
    /// CA certificates that sign the client certificates this server accepts; when set, callers
    /// without such a certificate are refused (`TRIBUTARY_TLS__CLIENT_CA_FILE`).
    pub client_ca_file: Option<PathBuf>,
    /// CA certificates this service trusts when it calls `https://` endpoints
    /// (`TRIBUTARY_TLS__CA_FILE`); defaults to `client_ca_file`.
    pub ca_file: Option<PathBuf>,
}

impl TlsSettings {
    /// Whether any TLS setting is given.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The CA file clients trust: `ca_file`, else `client_ca_file`.
    pub fn trusted_ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref().or(self.client_ca_file.as_deref())
    }
}

impl ServerSettings {
    /// Defaults for a service listening on `listen` with an SQLite file named `database_file`.
    pub fn with_defaults(listen: SocketAddr, database_file: &str) -> Self {
        Self {
            listen,
            metrics_listen: None,
            database_url: format!("sqlite://{database_file}"),
            migrate_on_start: true,
            shutdown_grace_seconds: 3,
            page_token_secret: None,
            tls: TlsSettings::default(),
        }
    }

    /// The shutdown grace period.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }
}

/// How a service reaches membership to check its callers' keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipClientSettings {
    /// Membership's gRPC endpoint.
    pub membership_endpoint: String,
    /// This service's own key (`TRIBUTARY_SERVICE_API_KEY`), a service or operator principal.
    pub service_api_key: Option<String>,
    /// How long an accepted key is trusted before membership is asked again; a revoked key stops
    /// working within this time.
    pub auth_cache_ttl_seconds: u64,
}

impl Default for MembershipClientSettings {
    fn default() -> Self {
        Self {
            membership_endpoint: "http://127.0.0.1:50051".to_string(),
            service_api_key: None,
            auth_cache_ttl_seconds: 5,
        }
    }
}

/// Environment variables as a configuration source: `TRIBUTARY_DATABASE_URL=...` sets
/// `database_url`; a double underscore nests (`TRIBUTARY_TLS__CERT_FILE` sets `tls.cert_file`).
#[derive(Debug, Clone, Default)]
pub struct EnvVars(BTreeMap<String, String>);

impl EnvVars {
    /// Reads the `TRIBUTARY_*` variables of this process.
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars())
    }

    /// Takes variables from any list of pairs; names without the prefix are ignored.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .filter(|(name, _)| name.starts_with(ENV_PREFIX))
                .collect(),
        )
    }

    /// The value of one variable, by its full name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        Metadata::named("TRIBUTARY_* environment variables")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut root = Dict::new();
        for (name, raw) in &self.0 {
            let key = name[ENV_PREFIX.len()..].to_ascii_lowercase();
            if key.is_empty() {
                continue;
            }
            let value: Value = raw.parse().unwrap_or_else(|_| Value::from(raw.clone()));
            insert_nested(&mut root, key.split("__"), value);
        }
        Ok(Profile::Default.collect(root))
    }
}

fn insert_nested<'a>(dict: &mut Dict, mut path: impl Iterator<Item = &'a str>, value: Value) {
    let Some(head) = path.next() else { return };
    let rest: Vec<&str> = path.collect();
    if rest.is_empty() {
        dict.insert(head.to_string(), value);
        return;
    }
    let entry = dict
        .entry(head.to_string())
        .or_insert_with(|| Value::from(Dict::new()));
    if let Value::Dict(_, child) = entry {
        insert_nested(child, rest.into_iter(), value);
    }
}

/// Loads a configuration: `defaults` < TOML `file` < `env` < `flags` (flags serialize only the
/// options given on the command line).
pub fn load<T, F>(defaults: &T, file: Option<&Path>, env: &EnvVars, flags: &F) -> Result<T, Error>
where
    T: Serialize + DeserializeOwned,
    F: Serialize,
{
    let mut figment = Figment::from(Serialized::defaults(defaults));
    if let Some(file) = file {
        if !file.exists() {
            return Err(Error::Config(format!(
                "config file {} does not exist",
                file.display()
            )));
        }
        figment = figment.merge(Toml::file(file));
    }
    figment
        .merge(env.clone())
        .merge(Serialized::defaults(flags))
        .extract()
        .map_err(|error| Error::Config(error.to_string()))
}

/// Command-line flags every service binary takes; only the flags given override other sources.
#[derive(Debug, Clone, Default, Serialize, clap::Args)]
pub struct ServerFlags {
    /// Address the gRPC server listens on.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Address of the Prometheus /metrics side port.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<SocketAddr>,
    /// Database URL: sqlite://file.db or postgres://user@host:port/database.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Apply pending migrations before serving (true or false).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_on_start: Option<bool>,
}

/// Command-line flags of services that call membership.
#[derive(Debug, Clone, Default, Serialize, clap::Args)]
pub struct MembershipClientFlags {
    /// Membership's gRPC endpoint, e.g. http://127.0.0.1:50051.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_endpoint: Option<String>,
}

/// A TOML file path taken from `--config` or `TRIBUTARY_CONFIG`.
pub fn config_file(flag: Option<PathBuf>, env: &EnvVars) -> Option<PathBuf> {
    flag.or_else(|| env.get("TRIBUTARY_CONFIG").map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn defaults() -> ServerSettings {
        ServerSettings::with_defaults("127.0.0.1:50051".parse().unwrap(), "membership.db")
    }

    #[test]
    fn defaults_apply_without_sources() {
        let settings = load(
            &defaults(),
            None,
            &EnvVars::default(),
            &ServerFlags::default(),
        )
        .unwrap();
        assert_eq!(settings, defaults());
    }

    #[test]
    fn file_then_env_then_flags_win_in_order() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "database_url = \"sqlite://from-file.db\"\nshutdown_grace_seconds = 9\nlisten = \"127.0.0.1:1000\""
        )
        .unwrap();
        let env = EnvVars::from_pairs([
            ("TRIBUTARY_SHUTDOWN_GRACE_SECONDS", "3"),
            ("TRIBUTARY_LISTEN", "127.0.0.1:2000"),
            ("TRIBUTARY_MIGRATE_ON_START", "false"),
            ("UNRELATED", "ignored"),
        ]);
        let flags = ServerFlags {
            listen: Some("127.0.0.1:3000".parse().unwrap()),
            ..ServerFlags::default()
        };
        let settings = load(&defaults(), Some(file.path()), &env, &flags).unwrap();
        assert_eq!(settings.database_url, "sqlite://from-file.db");
        assert_eq!(settings.shutdown_grace_seconds, 3);
        assert!(!settings.migrate_on_start);
        assert_eq!(settings.listen, "127.0.0.1:3000".parse().unwrap());
    }

    #[test]
    fn bad_values_name_the_key() {
        let env = EnvVars::from_pairs([("TRIBUTARY_LISTEN", "not-an-address")]);
        let error = load(&defaults(), None, &env, &ServerFlags::default()).unwrap_err();
        assert!(error.to_string().contains("listen"), "{error}");
    }

    #[test]
    fn tls_settings_come_from_nested_variables_and_toml() {
        let env = EnvVars::from_pairs([
            ("TRIBUTARY_TLS__CERT_FILE", "/etc/tributary/tls/tls.crt"),
            ("TRIBUTARY_TLS__KEY_FILE", "/etc/tributary/tls/tls.key"),
            ("TRIBUTARY_TLS__CLIENT_CA_FILE", "/etc/tributary/tls/ca.crt"),
        ]);
        let settings = load(&defaults(), None, &env, &ServerFlags::default()).unwrap();
        assert_eq!(
            settings.tls,
            TlsSettings {
                cert_file: Some("/etc/tributary/tls/tls.crt".into()),
                key_file: Some("/etc/tributary/tls/tls.key".into()),
                client_ca_file: Some("/etc/tributary/tls/ca.crt".into()),
                ca_file: None,
            }
        );
        assert_eq!(
            settings.tls.trusted_ca_file(),
            Some(Path::new("/etc/tributary/tls/ca.crt"))
        );

        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[tls]\nca_file = \"/ca.pem\"").unwrap();
        let settings = load(
            &defaults(),
            Some(file.path()),
            &EnvVars::default(),
            &ServerFlags::default(),
        )
        .unwrap();
        assert_eq!(settings.tls.trusted_ca_file(), Some(Path::new("/ca.pem")));
        assert!(settings.tls.cert_file.is_none());
        assert!(defaults().tls.is_empty());
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let error = load(
            &defaults(),
            Some(Path::new("/nonexistent/tributary.toml")),
            &EnvVars::default(),
            &ServerFlags::default(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("does not exist"));
    }
}
