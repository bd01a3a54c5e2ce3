//! Where the client subcommands' calls go and which key they carry: endpoints and keys from the
//! `up.json` that `tributary up` writes, overridden by flags and `TRIBUTARY_API_KEY`, and typed
//! clients of every service.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use tonic::{service::interceptor::InterceptedService, transport::Channel};
use tributary_proto::{
    aggregator::v1 as aggregator_pb, collector::v1 as collector_pb, membership::v1 as membership_pb,
};
use tributary_runtime::client::{BearerToken, lazy_channel};

use crate::{
    output::{Format, Output},
    up::UpFile,
};

/// A channel that sends an API key with every call.
pub type Authed = InterceptedService<Channel, BearerToken>;

/// Responses of up to 100 findings of up to 240 KB each exceed tonic's 4 MB default.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// The file next to `up.json` that keeps the account keys `--as-account` and `demo` create.
pub const KEYS_FILE: &str = "keys.json";

/// Options every client subcommand takes: where the services are, which key to send and how to
/// print answers.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// The up.json `tributary up` writes; its endpoints and operator key are the defaults.
    #[arg(
        long,
        global = true,
        default_value = ".tributary/up.json",
        value_name = "PATH"
    )]
    pub up_file: PathBuf,
    /// Membership's endpoint (host:port or http(s):// URL), instead of up.json's.
    #[arg(long, global = true, value_name = "URL")]
    pub membership: Option<String>,
    /// The aggregator's endpoint, instead of up.json's.
    #[arg(long, global = true, value_name = "URL")]
    pub aggregator: Option<String>,
    /// A region's collector endpoint as REGION=URL (repeatable). Other regions come from up.json,
    /// then from membership's region registry.
    #[arg(long, global = true, value_name = "REGION=URL")]
    pub collector: Vec<String>,
    /// The endpoint of the service a single-service subcommand calls, overriding the others.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The API key to send; without it, up.json's operator key.
    #[arg(
        long,
        global = true,
        env = "TRIBUTARY_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub key: Option<String>,
    /// Act as this 12-digit account with its key from keys.json next to up.json; a missing key is
    /// created with the operator key and kept there.
    #[arg(long, global = true, value_name = "ACCOUNT_ID")]
    pub as_account: Option<String>,
    /// How to print answers: tables for people, or the response messages as JSON.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

impl ConnectionArgs {
    /// Arguments naming explicit endpoints and a key, reading no up.json (for embedding and
    /// tests).
    pub fn explicit(
        membership: &str,
        aggregator: &str,
        collectors: &BTreeMap<String, String>,
        key: &str,
        state_dir: &Path,
    ) -> Self {
        Self {
            up_file: state_dir.join(crate::up::UP_FILE),
            membership: Some(membership.to_string()),
            aggregator: Some(aggregator.to_string()),
            collector: collectors
                .iter()
                .map(|(region, endpoint)| format!("{region}={endpoint}"))
                .collect(),
            endpoint: None,
            key: Some(key.to_string()),
            as_account: None,
            output: Format::Table,
        }
    }
}

/// The account keys kept next to up.json.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeysFile {
    /// Account id to API key.
    #[serde(default)]
    pub accounts: BTreeMap<String, String>,
}

/// What every subcommand's calls share: endpoints, the key, channels and the output.
#[derive(Clone)]
pub struct Context {
    shared: Arc<Shared>,
    key: Option<String>,
}

struct Shared {
    membership: Option<String>,
    aggregator: Option<String>,
    collectors: BTreeMap<String, String>,
    endpoint_override: Option<String>,
    operator_key: Option<String>,
    service_key: Option<String>,
    state_dir: PathBuf,
    output: Output,
    channels: Mutex<HashMap<String, Channel>>,
    registered_collectors: tokio::sync::OnceCell<BTreeMap<String, String>>,
    keys_file_lock: tokio::sync::Mutex<()>,
}

impl Context {
    /// Resolves endpoints and the key from `args`, up.json and the environment. With
    /// `--as-account`, finds or creates that account's key.
    pub async fn new(args: &ConnectionArgs, output: Output) -> anyhow::Result<Self> {
        let state_dir = args
            .up_file
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let up_file = read_up(&args.up_file)?;
        let mut collectors: BTreeMap<String, String> = up_file
            .as_ref()
            .map(|up| {
                up.collectors
                    .iter()
                    .map(|(region, address)| (region.clone(), normalise_endpoint(address)))
                    .collect()
            })
            .unwrap_or_default();
        for entry in &args.collector {
            let Some((region, endpoint)) = entry.split_once('=') else {
                bail!(
                    "--collector takes REGION=URL, e.g. us-east-1=http://127.0.0.1:50061; got {entry:?}"
                );
            };
            collectors.insert(
                region.trim().to_string(),
                normalise_endpoint(endpoint.trim()),
            );
        }
        let shared = Shared {
            membership: args
                .membership
                .as_deref()
                .or(up_file.as_ref().map(|up| up.membership.as_str()))
                .map(normalise_endpoint),
            aggregator: args
                .aggregator
                .as_deref()
                .or(up_file.as_ref().map(|up| up.aggregator.as_str()))
                .map(normalise_endpoint),
            collectors,
            endpoint_override: args.endpoint.as_deref().map(normalise_endpoint),
            operator_key: up_file.as_ref().map(|up| up.operator_api_key.clone()),
            service_key: up_file.as_ref().map(|up| up.service_api_key.clone()),
            state_dir,
            output,
            channels: Mutex::new(HashMap::new()),
            registered_collectors: tokio::sync::OnceCell::new(),
            keys_file_lock: tokio::sync::Mutex::new(()),
        };
        let key = args.key.clone().or_else(|| shared.operator_key.clone());
        let context = Self {
            shared: Arc::new(shared),
            key,
        };
        match &args.as_account {
            Some(account_id) => {
                let key = context.account_key(account_id).await?;
                Ok(context.with_key(&key))
            }
            None => Ok(context),
        }
    }

    /// The same context calling with `key`.
    pub fn with_key(&self, key: &str) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            key: Some(key.to_string()),
        }
    }

    /// Where answers go.
    pub fn output(&self) -> &Output {
        &self.shared.output
    }

    /// The key calls carry.
    pub fn key(&self) -> anyhow::Result<&str> {
        self.key.as_deref().context(
            "no API key: pass --key, set TRIBUTARY_API_KEY, or run `tributary up` here so \
             ./.tributary/up.json holds the operator key",
        )
    }

    /// The operator key of up.json, or the key in use when there is no up.json.
    pub fn operator_key(&self) -> anyhow::Result<&str> {
        match &self.shared.operator_key {
            Some(key) => Ok(key),
            None => self.key(),
        }
    }

    /// The service key of up.json, if there is one.
    pub fn service_key(&self) -> Option<&str> {
        self.shared.service_key.as_deref()
    }

    /// The directory holding up.json and keys.json.
    pub fn state_dir(&self) -> &Path {
        &self.shared.state_dir
    }

    /// Membership's endpoint.
    pub fn membership_endpoint(&self) -> anyhow::Result<String> {
        if let Some(endpoint) = &self.shared.endpoint_override {
            return Ok(endpoint.clone());
        }
        self.shared.membership.clone().context(
            "membership's endpoint is unknown: pass --membership or run `tributary up` here",
        )
    }

    /// The aggregator's endpoint.
    pub fn aggregator_endpoint(&self) -> anyhow::Result<String> {
        if let Some(endpoint) = &self.shared.endpoint_override {
            return Ok(endpoint.clone());
        }
        self.shared.aggregator.clone().context(
            "the aggregator's endpoint is unknown: pass --aggregator or run `tributary up` here",
        )
    }

    /// The collector endpoint of `region`: from the flags, up.json, or membership's registry.
    pub async fn collector_endpoint(&self, region: &str) -> anyhow::Result<String> {
        if let Some(endpoint) = &self.shared.endpoint_override {
            return Ok(endpoint.clone());
        }
        if let Some(endpoint) = self.shared.collectors.get(region) {
            return Ok(endpoint.clone());
        }
        let registered = self.registered_collectors().await?;
        registered.get(region).cloned().with_context(|| {
            format!(
                "region {region} is not registered (registered: {}); pass --collector \
                 {region}=URL for an unregistered collector",
                registered.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// The regions with a known collector: the flags and up.json, else membership's registry.
    pub async fn regions(&self) -> anyhow::Result<Vec<String>> {
        if !self.shared.collectors.is_empty() {
            return Ok(self.shared.collectors.keys().cloned().collect());
        }
        Ok(self
            .registered_collectors()
            .await?
            .keys()
            .cloned()
            .collect())
    }

    async fn registered_collectors(&self) -> anyhow::Result<&BTreeMap<String, String>> {
        self.shared
            .registered_collectors
            .get_or_try_init(|| async {
                let mut client = self.region_client()?;
                let mut collectors = BTreeMap::new();
                let mut page_token = String::new();
                loop {
                    let page = client
                        .list_regions(membership_pb::ListRegionsRequest {
                            page_size: 1000,
                            page_token,
                        })
                        .await
                        .context("listing regions to find collectors")?
                        .into_inner();
                    for region in page.regions {
                        collectors.insert(region.region_name, region.collector_endpoint);
                    }
                    if page.next_page_token.is_empty() {
                        break;
                    }
                    page_token = page.next_page_token;
                }
                Ok(collectors)
            })
            .await
    }

    fn channel(&self, endpoint: &str) -> anyhow::Result<Channel> {
        let mut channels = self
            .shared
            .channels
            .lock()
            .map_err(|_| anyhow::anyhow!("the channel cache is poisoned"))?;
        if let Some(channel) = channels.get(endpoint) {
            return Ok(channel.clone());
        }
        let channel = lazy_channel(endpoint)?;
        channels.insert(endpoint.to_string(), channel.clone());
        Ok(channel)
    }

    fn authed(&self, endpoint: &str) -> anyhow::Result<Authed> {
        Ok(InterceptedService::new(
            self.channel(endpoint)?,
            BearerToken::new(self.key()?)?,
        ))
    }

    /// The key of `account_id` from keys.json, or a new one created with the operator key (and
    /// kept in keys.json).
    pub async fn account_key(&self, account_id: &str) -> anyhow::Result<String> {
        let _guard = self.shared.keys_file_lock.lock().await;
        let path = self.state_dir().join(KEYS_FILE);
        let mut keys = read_keys_file(&path)?;
        if let Some(key) = keys.accounts.get(account_id) {
            let usable = self
                .with_key(key)
                .access_client()?
                .who_am_i(membership_pb::WhoAmIRequest {})
                .await;
            match usable {
                Ok(_) => return Ok(key.clone()),
                Err(status) if status.code() == tonic::Code::Unauthenticated => {}
                Err(status) => {
                    return Err(status).context(format!("checking the key of {account_id}"));
                }
            }
        }
        let operator = self.with_key(self.operator_key()?);
        let created = operator
            .access_client()?
            .create_api_key(membership_pb::CreateApiKeyRequest {
                name: format!("tributary cli {account_id}"),
                principal: Some(membership_pb::Principal {
                    kind: membership_pb::PrincipalKind::Account as i32,
                    account_id: account_id.to_string(),
                    ..Default::default()
                }),
            })
            .await
            .with_context(|| format!("creating a key for account {account_id}"))?
            .into_inner();
        keys.accounts
            .insert(account_id.to_string(), created.secret.clone());
        write_keys_file(&path, &keys)?;
        Ok(created.secret)
    }
}

/// Typed clients, each calling with the context's key.
impl Context {
    /// Membership's `RegionService`.
    pub fn region_client(
        &self,
    ) -> anyhow::Result<membership_pb::region_service_client::RegionServiceClient<Authed>> {
        Ok(
            membership_pb::region_service_client::RegionServiceClient::new(
                self.authed(&self.membership_endpoint()?)?,
            ),
        )
    }

    /// Membership's `AccessService`.
    pub fn access_client(
        &self,
    ) -> anyhow::Result<membership_pb::access_service_client::AccessServiceClient<Authed>> {
        Ok(
            membership_pb::access_service_client::AccessServiceClient::new(
                self.authed(&self.membership_endpoint()?)?,
            ),
        )
    }

    /// Membership's `OrganizationService`.
    pub fn organization_client(
        &self,
    ) -> anyhow::Result<membership_pb::organization_service_client::OrganizationServiceClient<Authed>>
    {
        Ok(
            membership_pb::organization_service_client::OrganizationServiceClient::new(
                self.authed(&self.membership_endpoint()?)?,
            ),
        )
    }

    /// Membership's `SecurityHubMembersService`.
    pub fn hub_client(
        &self,
    ) -> anyhow::Result<
        membership_pb::security_hub_members_service_client::SecurityHubMembersServiceClient<Authed>,
    > {
        Ok(
            membership_pb::security_hub_members_service_client::SecurityHubMembersServiceClient::new(
                self.authed(&self.membership_endpoint()?)?,
            ),
        )
    }

    /// Membership's `AggregationAuthorizationService`.
    pub fn authorization_client(
        &self,
    ) -> anyhow::Result<
        membership_pb::aggregation_authorization_service_client::AggregationAuthorizationServiceClient<
            Authed,
        >,
    >{
        Ok(
            membership_pb::aggregation_authorization_service_client::AggregationAuthorizationServiceClient::new(
                self.authed(&self.membership_endpoint()?)?,
            ),
        )
    }

    /// The aggregator's `AggregatorService`.
    pub fn aggregator_client(
        &self,
    ) -> anyhow::Result<aggregator_pb::aggregator_service_client::AggregatorServiceClient<Authed>>
    {
        Ok(
            aggregator_pb::aggregator_service_client::AggregatorServiceClient::new(
                self.authed(&self.aggregator_endpoint()?)?,
            ),
        )
    }

    /// The aggregator's `ConfigAggregatorService`.
    pub fn config_aggregator_client(
        &self,
    ) -> anyhow::Result<
        aggregator_pb::config_aggregator_service_client::ConfigAggregatorServiceClient<Authed>,
    > {
        Ok(
            aggregator_pb::config_aggregator_service_client::ConfigAggregatorServiceClient::new(
                self.authed(&self.aggregator_endpoint()?)?,
            )
            .max_decoding_message_size(MAX_RESPONSE_BYTES),
        )
    }

    /// The aggregator's `FindingAggregatorService`.
    pub fn finding_aggregator_client(
        &self,
    ) -> anyhow::Result<
        aggregator_pb::finding_aggregator_service_client::FindingAggregatorServiceClient<Authed>,
    > {
        Ok(
            aggregator_pb::finding_aggregator_service_client::FindingAggregatorServiceClient::new(
                self.authed(&self.aggregator_endpoint()?)?,
            ),
        )
    }

    /// The `CollectorService` of `region`'s collector.
    pub async fn collector_client(
        &self,
        region: &str,
    ) -> anyhow::Result<collector_pb::collector_service_client::CollectorServiceClient<Authed>>
    {
        Ok(
            collector_pb::collector_service_client::CollectorServiceClient::new(
                self.authed(&self.collector_endpoint(region).await?)?,
            ),
        )
    }

    /// The `SecurityHubService` of `region`'s collector.
    pub async fn findings_client(
        &self,
        region: &str,
    ) -> anyhow::Result<collector_pb::security_hub_service_client::SecurityHubServiceClient<Authed>>
    {
        Ok(
            collector_pb::security_hub_service_client::SecurityHubServiceClient::new(
                self.authed(&self.collector_endpoint(region).await?)?,
            )
            .max_decoding_message_size(MAX_RESPONSE_BYTES),
        )
    }

    /// The `ConfigService` of `region`'s collector.
    pub async fn config_client(
        &self,
        region: &str,
    ) -> anyhow::Result<collector_pb::config_service_client::ConfigServiceClient<Authed>> {
        Ok(
            collector_pb::config_service_client::ConfigServiceClient::new(
                self.authed(&self.collector_endpoint(region).await?)?,
            )
            .max_decoding_message_size(MAX_RESPONSE_BYTES),
        )
    }

    /// The `ComplianceService` of `region`'s collector.
    pub async fn compliance_client(
        &self,
        region: &str,
    ) -> anyhow::Result<collector_pb::compliance_service_client::ComplianceServiceClient<Authed>>
    {
        Ok(
            collector_pb::compliance_service_client::ComplianceServiceClient::new(
                self.authed(&self.collector_endpoint(region).await?)?,
            ),
        )
    }
}

/// `host:port` becomes `http://host:port`; URLs stay as they are.
pub fn normalise_endpoint(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("http://{endpoint}")
    }
}

fn read_up(path: &Path) -> anyhow::Result<Option<UpFile>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is not a valid up.json", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// Reads keys.json; a missing file is empty.
pub fn read_keys_file(path: &Path) -> anyhow::Result<KeysFile> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid keys file", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(KeysFile::default()),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes keys.json atomically, readable by the owner only since it holds keys.
pub fn write_keys_file(path: &Path, keys: &KeysFile) -> anyhow::Result<()> {
    if let Some(directory) = path.parent()
        && !directory.as_os_str().is_empty()
    {
        std::fs::create_dir_all(directory)
            .with_context(|| format!("creating {}", directory.display()))?;
    }
    let temporary = path.with_extension("json.tmp");
    let mut bytes = serde_json::to_vec_pretty(keys)?;
    bytes.push(b'\n');
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("writing {}", temporary.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
