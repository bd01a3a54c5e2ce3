//! `tributary up`: the whole system on loopback in one process, each service with its own SQLite
//! file under the data directory. Endpoints and keys go to `<data dir>/up.json` so scripts can find
//! them; a restart on the same directory keeps all data and the same keys.

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::cluster::{Cluster, ClusterSpec};

/// Options of `tributary up`.
#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// Directory holding each service's SQLite file and up.json.
    #[arg(long, default_value = ".tributary")]
    pub data_dir: PathBuf,
    /// Membership's port.
    #[arg(long, default_value_t = 50051)]
    pub membership_port: u16,
    /// The aggregator's port.
    #[arg(long, default_value_t = 50052)]
    pub aggregator_port: u16,
    /// Regions to run a collector for, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "us-east-1,eu-west-1,ap-southeast-2"
    )]
    pub regions: Vec<String>,
    /// The first region's collector port; each further region takes the next port.
    #[arg(long, default_value_t = 50061)]
    pub collector_port: u16,
    /// Port of the Prometheus /metrics endpoint for all services (0 disables it).
    #[arg(long, default_value_t = 9464)]
    pub metrics_port: u16,
}

/// What `up.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpFile {
    /// Membership's address.
    pub membership: String,
    /// The aggregator's address.
    pub aggregator: String,
    /// Each collector's address, by region.
    pub collectors: BTreeMap<String, String>,
    /// The operator key (also kept so a restart reuses it).
    pub operator_api_key: String,
    /// The key the services use among themselves.
    pub service_api_key: String,
    /// Where `/metrics` is served, if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
}

/// The file name of the endpoints-and-keys file inside the data directory.
pub const UP_FILE: &str = "up.json";

/// Runs `tributary up` until `shutdown` is cancelled.
pub async fn run(args: UpArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut cluster = start(&args).await?;
    let up_file = up_file_of(&cluster);
    println!("tributary is up");
    println!("  membership  {}", up_file.membership);
    println!("  aggregator  {}", up_file.aggregator);
    for (region, address) in &up_file.collectors {
        println!("  collector   {address}  ({region})");
    }
    if let Some(metrics) = &up_file.metrics {
        println!("  metrics     http://{metrics}/metrics");
    }
    println!("  operator API key: {}", up_file.operator_api_key);
    println!(
        "  endpoints and keys: {}",
        args.data_dir.join(UP_FILE).display()
    );
    println!("press ctrl-c to stop");
    let outcome = cluster.run_until(shutdown).await;
    let stopped = cluster.shutdown().await;
    outcome.and(stopped)
}

/// Starts the cluster for `args` and writes `up.json`.
pub async fn start(args: &UpArgs) -> anyhow::Result<Cluster> {
    validate(args)?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    let previous = read_up_file(&args.data_dir)?;
    let (operator_key, service_key) = match previous {
        Some(previous) => (previous.operator_api_key, previous.service_api_key),
        None => (new_key(), new_key()),
    };
    let loopback = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let collectors = args
        .regions
        .iter()
        .enumerate()
        .map(|(index, region)| {
            // Port 0 asks the system for a free port for every collector.
            let port = if args.collector_port == 0 {
                0
            } else {
                u16::try_from(index)
                    .ok()
                    .and_then(|index| args.collector_port.checked_add(index))
                    .context("collector ports run past 65535")?
            };
            Ok((region.clone(), loopback(port)))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let spec = ClusterSpec {
        membership: loopback(args.membership_port),
        aggregator: loopback(args.aggregator_port),
        collectors,
        operator_key,
        service_key,
        database_url: ClusterSpec::sqlite_in(&args.data_dir),
        metrics: (args.metrics_port != 0).then(|| loopback(args.metrics_port)),
        shutdown_grace: Duration::from_secs(3),
        auth_cache_ttl: Duration::from_secs(5),
    };
    let cluster = Cluster::start(spec).await?;
    write_up_file(&args.data_dir, &up_file_of(&cluster))?;
    Ok(cluster)
}

fn validate(args: &UpArgs) -> anyhow::Result<()> {
    if args.regions.is_empty() {
        bail!("--regions needs at least one region");
    }
    let mut seen = std::collections::BTreeSet::new();
    for region in &args.regions {
        if let Err(problem) = tributary_runtime::ids::validate_region_name(region) {
            bail!("--regions: {problem}");
        }
        if !seen.insert(region) {
            bail!("--regions lists {region} twice");
        }
    }
    Ok(())
}

fn up_file_of(cluster: &Cluster) -> UpFile {
    UpFile {
        membership: cluster.membership.to_string(),
        aggregator: cluster.aggregator.to_string(),
        collectors: cluster
            .collectors
            .iter()
            .map(|(region, address)| (region.clone(), address.to_string()))
            .collect(),
        operator_api_key: cluster.operator_key.clone(),
        service_api_key: cluster.service_key.clone(),
        metrics: cluster.metrics.map(|address| address.to_string()),
    }
}

/// Reads `up.json` from a previous run, if there is one.
pub fn read_up_file(data_dir: &Path) -> anyhow::Result<Option<UpFile>> {
    let path = data_dir.join(UP_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
            format!(
                "{} is not a valid up.json; remove it to start over",
                path.display()
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes `up.json` atomically (temp file + rename), readable by the owner only since it holds keys.
fn write_up_file(data_dir: &Path, up_file: &UpFile) -> anyhow::Result<()> {
    let path = data_dir.join(UP_FILE);
    let temporary = data_dir.join(format!("{UP_FILE}.tmp"));
    let mut bytes = serde_json::to_vec_pretty(up_file)?;
    bytes.push(b'\n');
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("writing {}", temporary.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&temporary, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A fresh random key in the same shape membership generates.
fn new_key() -> String {
    format!("trb_{}", tributary_runtime::db::random_hex(32))
}
