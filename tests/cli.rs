//! End-to-end tests of the `tributary` client subcommands, run in-process against a real cluster
//! (SQLite: the CLI adds no store semantics of its own): ASFF imports with their batching and
//! failure summary, JSON output, a round trip through several service areas, error reporting, and
//! the demo world with its aggregated views.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::BTreeMap, path::Path, time::Duration};

use serde_json::{Value, json};
use support::{Backend, TestCluster, eventually};
use tempfile::TempDir;
use tributary_cli::{
    commands::{self, demo, findings::import},
    context::{ConnectionArgs, Context},
    errors,
    output::{Format, Output},
};
use tributary_proto::collector::v1 as collector_pb;

const HOME: &str = "us-east-1";
const OTHER: &str = "eu-west-1";
const ACCOUNT: &str = "111111111111";

async fn cluster() -> TestCluster {
    TestCluster::builder(Backend::Sqlite)
        .collector(HOME)
        .collector(OTHER)
        .start()
        .await
}

/// The global flags that point the CLI at `cluster` with `key`, keeping keys.json in `state`.
fn globals(cluster: &TestCluster, key: &str, state: &Path) -> Vec<String> {
    let mut flags = vec![
        "tributary".to_string(),
        "--up-file".to_string(),
        state.join("up.json").display().to_string(),
        "--membership".to_string(),
        cluster.membership_address().to_string(),
        "--aggregator".to_string(),
        cluster.aggregator_address().to_string(),
        "--key".to_string(),
        key.to_string(),
    ];
    for region in [HOME, OTHER] {
        flags.push("--collector".to_string());
        flags.push(format!("{region}={}", cluster.collector_address(region)));
    }
    flags
}

/// Runs a command line (after the global flags) and returns what it printed, failing the test
/// when it fails.
async fn cli(cluster: &TestCluster, key: &str, state: &Path, args: &[&str]) -> String {
    let (printed, outcome) = cli_outcome(cluster, key, state, args).await;
    if let Err(error) = outcome {
        panic!("`{}` failed: {}", args.join(" "), errors::describe(&error));
    }
    printed
}

async fn cli_outcome(
    cluster: &TestCluster,
    key: &str,
    state: &Path,
    args: &[&str],
) -> (String, anyhow::Result<()>) {
    let mut line = globals(cluster, key, state);
    line.extend(args.iter().map(|arg| arg.to_string()));
    commands::run_captured(line).await
}

async fn cli_json(cluster: &TestCluster, key: &str, state: &Path, args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.extend(["--output", "json"]);
    let printed = cli(cluster, key, state, &with_json).await;
    serde_json::from_str(&printed)
        .unwrap_or_else(|error| panic!("`{}` printed no JSON ({error}): {printed}", args.join(" ")))
}

async fn context(cluster: &TestCluster, key: &str, state: &Path) -> Context {
    let collectors: BTreeMap<String, String> = [HOME, OTHER]
        .into_iter()
        .map(|region| {
            (
                region.to_string(),
                cluster.collector_address(region).to_string(),
            )
        })
        .collect();
    let args = ConnectionArgs::explicit(
        &cluster.membership_address().to_string(),
        &cluster.aggregator_address().to_string(),
        &collectors,
        key,
        state,
    );
    Context::new(&args, Output::captured(Format::Table).0)
        .await
        .expect("a context")
}

/// An ASFF finding of `account`'s default product in `region`, with a field Tributary does not
/// carry (`Network`).
fn asff(account: &str, id: &str, severity: &str) -> Value {
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": id,
        "ProductArn": format!("arn:aws:securityhub:{HOME}:{account}:product/{account}/default"),
        "GeneratorId": "custom-scanner/open-ports",
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/Vulnerabilities"],
        "CreatedAt": "2024-05-01T12:00:00Z",
        "UpdatedAt": "2024-05-02T12:00:00.250Z",
        "Severity": {"Label": severity},
        "Title": format!("Open port found ({id})"),
        "Description": "Port 8080 is reachable from the internet.",
        "Resources": [{"Type": "AwsEc2Instance", "Id": format!("arn:aws:ec2:{HOME}:{account}:instance/i-{id}"),
                        "Details": {"AwsEc2Instance": {"Type": "t3.micro"}}}],
        "Network": {"Direction": "IN"}
    })
}

fn write(directory: &TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = directory.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_of_arrays_and_ndjson_count_failures_and_store_the_rest() {
    let cluster = cluster().await;
    let state = tempfile::tempdir().unwrap();
    let key = cluster.hub_account_key(ACCOUNT, HOME).await;
    let context = context(&cluster, &key, state.path()).await;

    // A JSON array of 150 findings: two requests of at most 100.
    let array: Vec<Value> = (0..150)
        .map(|index| asff(ACCOUNT, &format!("array-{index:03}"), "HIGH"))
        .collect();
    let array_file = write(&state, "findings.json", &Value::Array(array).to_string());
    let summary = import::import_file(&context, &array_file, HOME, 2, false)
        .await
        .unwrap();
    assert_eq!(
        (
            summary.total,
            summary.imported,
            summary.failed,
            summary.requests
        ),
        (150, 150, 0, 2)
    );
    assert_eq!(summary.ignored_fields.get("Network"), Some(&150));

    // NDJSON with one finding the collector refuses (no title) and one line that is not JSON.
    let mut invalid = asff(ACCOUNT, "ndjson-bad", "LOW");
    invalid.as_object_mut().unwrap().remove("Title");
    let lines = [
        asff(ACCOUNT, "ndjson-1", "CRITICAL").to_string(),
        invalid.to_string(),
        asff(ACCOUNT, "ndjson-2", "LOW").to_string(),
        "{\"Id\": \"truncated".to_string(),
        asff(ACCOUNT, "ndjson-3", "MEDIUM").to_string(),
    ];
    let ndjson_file = write(&state, "findings.ndjson", &lines.join("\n"));
    let summary = import::import_file(&context, &ndjson_file, HOME, 4, false)
        .await
        .unwrap();
    assert_eq!((summary.total, summary.imported, summary.failed), (5, 3, 2));
    assert_eq!(summary.failures["InvalidInput"].count, 1);
    assert_eq!(summary.failures["InvalidInput"].ids, vec!["ndjson-bad"]);
    assert!(
        summary.failures["InvalidInput"].message.contains("title"),
        "{:?}",
        summary.failures
    );
    assert_eq!(summary.failures["InvalidJson"].ids, vec!["line 4"]);
    assert!(summary.to_text().contains("imported 3 of 5 findings"));

    // What was imported reads back with GetFindings, typed.
    let stored = cluster
        .findings(HOME, &key)
        .get_findings(collector_pb::GetFindingsRequest {
            filters: Some(collector_pb::FindingFilters {
                id: vec![collector_pb::StringFilter {
                    value: "ndjson-".into(),
                    comparison: collector_pb::StringFilterComparison::Prefix as i32,
                }],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .findings;
    let mut ids: Vec<&str> = stored.iter().map(|finding| finding.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec!["ndjson-1", "ndjson-2", "ndjson-3"]);
    let critical = stored
        .iter()
        .find(|finding| finding.id == "ndjson-1")
        .unwrap();
    assert_eq!(
        critical.severity.as_ref().unwrap().label,
        collector_pb::SeverityLabel::Critical as i32
    );
    assert_eq!(critical.updated_at.unwrap().nanos, 250_000_000);

    // The command prints the summary as JSON and fails because findings failed.
    let (printed, outcome) = cli_outcome(
        &cluster,
        &key,
        state.path(),
        &[
            "findings",
            "import",
            ndjson_file.to_str().unwrap(),
            "--region",
            HOME,
            "-o",
            "json",
        ],
    )
    .await;
    let printed: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(printed["imported"], 3);
    assert_eq!(printed["failed"], 2);
    assert_eq!(printed["ignoredFields"]["Network"], 4);
    assert!(format!("{:#}", outcome.unwrap_err()).contains("2 of 5 findings were not imported"));

    // `findings get` with a filter flag, as JSON.
    let listed = cli_json(
        &cluster,
        &key,
        state.path(),
        &[
            "findings",
            "get",
            "--region",
            HOME,
            "--severity",
            "critical",
        ],
    )
    .await;
    let listed_ids: Vec<&str> = listed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed_ids, vec!["ndjson-1"]);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn area_commands_round_trip_with_json_output() {
    let cluster = cluster().await;
    let state = tempfile::tempdir().unwrap();
    let operator = cluster.operator_key().to_string();
    let dir = state.path();

    let regions = cli_json(&cluster, &operator, dir, &["regions", "list"]).await;
    let names: Vec<&str> = regions["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|region| region["regionName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![OTHER, HOME]);

    cli(
        &cluster,
        &operator,
        dir,
        &["accounts", "create", ACCOUNT, "--name", "security"],
    )
    .await;
    cli(
        &cluster,
        &operator,
        dir,
        &["accounts", "create", "222222222222", "--name", "workload"],
    )
    .await;
    let described = cli_json(&cluster, &operator, dir, &["accounts", "describe", ACCOUNT]).await;
    assert_eq!(described["account"]["name"], "security");
    assert_eq!(described["account"]["status"], "ACCOUNT_STATUS_ACTIVE");
    let table = cli(&cluster, &operator, dir, &["accounts", "list"]).await;
    assert!(
        table.contains("222222222222") && table.contains("workload"),
        "{table}"
    );

    // A key for the workload account, then who it is.
    let created = cli_json(
        &cluster,
        &operator,
        dir,
        &[
            "keys",
            "create",
            "--name",
            "workload key",
            "--account",
            "222222222222",
        ],
    )
    .await;
    let workload_key = created["secret"].as_str().unwrap().to_string();
    let whoami = cli_json(&cluster, &workload_key, dir, &["keys", "whoami"]).await;
    assert_eq!(whoami["principal"]["accountId"], "222222222222");

    // --as-account mints a key for the security account with the operator key and reuses it.
    let enabled = cli_json(
        &cluster,
        &operator,
        dir,
        &["--as-account", ACCOUNT, "hub", "enable", "--region", HOME],
    )
    .await;
    assert_eq!(
        enabled["hub"]["hubArn"],
        format!("arn:aws:securityhub:{HOME}:{ACCOUNT}:hub/default")
    );
    let keys: Value =
        serde_json::from_slice(&std::fs::read(dir.join("keys.json")).unwrap()).unwrap();
    let security_key = keys["accounts"][ACCOUNT].as_str().unwrap().to_string();
    let described = cli_json(
        &cluster,
        &operator,
        dir,
        &["--as-account", ACCOUNT, "hub", "describe", "--region", HOME],
    )
    .await;
    assert_eq!(described["hub"]["accountId"], ACCOUNT);

    // The workload account authorizes the security account's aggregators from eu-west-1.
    cli(
        &cluster,
        &workload_key,
        dir,
        &[
            "authorizations",
            "put",
            "--region",
            OTHER,
            "--authorized-account",
            ACCOUNT,
            "--authorized-region",
            HOME,
        ],
    )
    .await;
    let authorizations = cli_json(
        &cluster,
        &workload_key,
        dir,
        &["authorizations", "list", "--region", OTHER],
    )
    .await;
    assert_eq!(
        authorizations["aggregationAuthorizations"][0]["authorizedAccountId"],
        ACCOUNT
    );

    // A Config aggregator over both accounts, described back.
    cli(
        &cluster,
        &security_key,
        dir,
        &[
            "config-aggregators",
            "put",
            "--name",
            "all",
            "--region",
            HOME,
            "--accounts",
            "111111111111,222222222222",
            "--all-regions",
        ],
    )
    .await;
    let aggregators = cli_json(
        &cluster,
        &security_key,
        dir,
        &[
            "config-aggregators",
            "describe",
            "--name",
            "all",
            "--region",
            HOME,
        ],
    )
    .await;
    let aggregator = &aggregators["configurationAggregators"][0];
    assert_eq!(aggregator["ownerAccountId"], ACCOUNT);
    assert_eq!(
        aggregator["accountAggregationSources"][0]["accountIds"],
        json!([ACCOUNT, "222222222222"])
    );

    // A finding aggregator, listed back.
    let created = cli_json(
        &cluster,
        &security_key,
        dir,
        &[
            "finding-aggregators",
            "create",
            "--region",
            HOME,
            "--mode",
            "all-regions",
        ],
    )
    .await;
    let arn = created["findingAggregatorArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        created["regionLinkingMode"],
        "REGION_LINKING_MODE_ALL_REGIONS"
    );
    let listed = cli_json(
        &cluster,
        &security_key,
        dir,
        &["finding-aggregators", "list"],
    )
    .await;
    assert_eq!(
        listed["findingAggregators"][0]["findingAggregatorArn"],
        arn.as_str()
    );

    // The security account accepts GuardDuty findings.
    let guardduty = format!("arn:aws:securityhub:{HOME}::product/aws/guardduty");
    cli(
        &cluster,
        &security_key,
        dir,
        &[
            "findings", "products", "enable", "--region", HOME, &guardduty,
        ],
    )
    .await;
    let subscriptions = cli_json(
        &cluster,
        &security_key,
        dir,
        &["findings", "products", "enabled", "--region", HOME],
    )
    .await;
    assert_eq!(
        subscriptions["productSubscriptions"],
        json!([format!(
            "arn:aws:securityhub:{HOME}:{ACCOUNT}:product-subscription/aws/guardduty"
        )])
    );

    // Standards: the catalogue, enabling one, and the account's scores.
    let catalogue = cli_json(
        &cluster,
        &security_key,
        dir,
        &["standards", "list", "--region", HOME],
    )
    .await;
    let foundational = catalogue["standards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|standard| standard["standardsArn"].as_str().unwrap().to_string())
        .find(|arn| arn.contains("aws-foundational-security-best-practices"))
        .unwrap();
    cli(
        &cluster,
        &security_key,
        dir,
        &["standards", "enable", "--region", HOME, &foundational],
    )
    .await;
    let enabled = cli_json(
        &cluster,
        &security_key,
        dir,
        &["standards", "enabled", "--region", HOME],
    )
    .await;
    assert_eq!(
        enabled["standardsSubscriptions"][0]["standardsArn"],
        foundational.as_str()
    );
    let table = cli(
        &cluster,
        &security_key,
        dir,
        &["standards", "scores", "--region", HOME],
    )
    .await;
    assert!(table.contains("overall score"), "{table}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_name_the_grpc_code_the_reason_and_the_fields() {
    let cluster = cluster().await;
    let state = tempfile::tempdir().unwrap();
    let operator = cluster.operator_key().to_string();

    let (_, outcome) = cli_outcome(
        &cluster,
        &operator,
        state.path(),
        &["accounts", "create", "12345", "--name", "short"],
    )
    .await;
    let described = errors::describe(&outcome.unwrap_err());
    assert!(
        described.starts_with("creating account 12345: INVALID_ARGUMENT "),
        "{described}"
    );
    assert!(described.contains("\n  account_id: "), "{described}");

    let (_, outcome) = cli_outcome(
        &cluster,
        &operator,
        state.path(),
        &["regions", "list", "--page-size", "5000"],
    )
    .await;
    let described = errors::describe(&outcome.unwrap_err());
    assert!(
        described.contains("INVALID_ARGUMENT InvalidLimitException"),
        "{described}"
    );

    let (_, outcome) = cli_outcome(
        &cluster,
        &operator,
        state.path(),
        &["accounts", "describe", "999999999999"],
    )
    .await;
    let error = outcome.unwrap_err();
    assert_eq!(
        errors::status_of(&error).unwrap().code(),
        tonic::Code::NotFound
    );
    assert!(
        errors::describe(&error).contains("NOT_FOUND AccountNotFoundException"),
        "{}",
        errors::describe(&error)
    );

    let (_, outcome) = cli_outcome(
        &cluster,
        "trb_not_a_key",
        state.path(),
        &["regions", "list"],
    )
    .await;
    assert!(
        errors::describe(&outcome.unwrap_err()).contains("UNAUTHENTICATED"),
        "an unknown key is reported as such"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_a_world_whose_aggregated_views_show_it() {
    let cluster = cluster().await;
    let state = tempfile::tempdir().unwrap();
    let operator = cluster.operator_key().to_string();
    let dir = state.path();
    let context = context(&cluster, &operator, dir).await;
    let args = demo::Args {
        seed: 7,
        scale: 0.1,
        concurrency: 4,
        wait_seconds: 120,
        progress: false,
    };
    let seeded = demo::seed(&context, &args).await.unwrap();
    assert_eq!(seeded.accounts, 4);
    assert_eq!(seeded.regions, vec![HOME.to_string(), OTHER.to_string()]);
    assert_eq!(seeded.findings.failed, 0, "{}", seeded.findings.to_text());
    assert!(
        seeded.findings.imported >= 24,
        "{}",
        seeded.findings.to_text()
    );
    assert!(
        seeded.aggregated_resources >= seeded.regional_configuration_items as i64,
        "{} of {} resources aggregated",
        seeded.aggregated_resources,
        seeded.regional_configuration_items
    );
    let security = seeded.security_account.clone();

    let counts = cli_json(
        &cluster,
        &operator,
        dir,
        &[
            "config-aggregators",
            "resource-counts",
            "--name",
            demo::ORGANIZATION_AGGREGATOR,
            "--region",
            HOME,
            "--owner",
            &security,
            "--group-by",
            "resource-type",
        ],
    )
    .await;
    let groups: Vec<&str> = counts["groupedResourceCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| group["groupName"].as_str().unwrap())
        .collect();
    for resource_type in [
        "AWS::EC2::Instance",
        "AWS::EC2::SecurityGroup",
        "AWS::S3::Bucket",
    ] {
        assert!(groups.contains(&resource_type), "{groups:?}");
    }

    let selected = cli_json(
        &cluster,
        &operator,
        dir,
        &[
            "select", "--name", demo::ORGANIZATION_AGGREGATOR, "--region", HOME, "--owner",
            &security,
            "SELECT accountId, COUNT(*) WHERE resourceType = 'AWS::EC2::Instance' GROUP BY accountId",
        ],
    )
    .await;
    assert_eq!(selected["results"].as_array().unwrap().len(), 4);

    let compliance = eventually(
        "rule compliance is aggregated",
        Duration::from_secs(60),
        || {
            let cluster = &cluster;
            let operator = operator.clone();
            let security = security.clone();
            async move {
                let (printed, outcome) = cli_outcome(
                    cluster,
                    &operator,
                    dir,
                    &[
                        "config-aggregators",
                        "compliance",
                        "--name",
                        demo::ORGANIZATION_AGGREGATOR,
                        "--region",
                        HOME,
                        "--owner",
                        &security,
                        "-o",
                        "json",
                    ],
                )
                .await;
                outcome.map_err(|error| errors::describe(&error))?;
                let value: Value =
                    serde_json::from_str(&printed).map_err(|error| error.to_string())?;
                let rows = value["aggregateComplianceByConfigRules"]
                    .as_array()
                    .map_or(0, Vec::len);
                if rows > 0 { Ok(rows) } else { Err(printed) }
            }
        },
    )
    .await;
    assert!(compliance >= 4);

    let findings = cli_json(
        &cluster,
        &operator,
        dir,
        &[
            "--as-account",
            &security,
            "findings",
            "get",
            "--region",
            OTHER,
            "--all",
        ],
    )
    .await;
    let own = findings["findings"].as_array().unwrap();
    assert!(!own.is_empty());
    assert!(
        own.iter()
            .all(|finding| finding["awsAccountId"] == security.as_str())
    );

    // The finding aggregator (all regions, with back-fill) copies every region's findings home.
    eventually(
        "findings of the other region are aggregated home",
        Duration::from_secs(60),
        || {
            let cluster = &cluster;
            let operator = operator.clone();
            let security = security.clone();
            async move {
                let (printed, outcome) = cli_outcome(
                    cluster,
                    &operator,
                    dir,
                    &[
                        "findings",
                        "get",
                        "--aggregated",
                        "--region",
                        HOME,
                        "--owner",
                        &security,
                        "--all",
                        "-o",
                        "json",
                    ],
                )
                .await;
                outcome.map_err(|error| errors::describe(&error))?;
                let value: Value =
                    serde_json::from_str(&printed).map_err(|error| error.to_string())?;
                let regions: std::collections::BTreeSet<&str> = value["findings"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|finding| finding["region"].as_str())
                    .collect();
                if regions.contains(OTHER) && regions.contains(HOME) {
                    Ok(())
                } else {
                    Err(format!("regions of aggregated findings: {regions:?}"))
                }
            }
        },
    )
    .await;

    let insights = cli_json(
        &cluster,
        &operator,
        dir,
        &["insights", "list", "--region", HOME, "--account", &security],
    )
    .await;
    let by_product = insights["insights"]
        .as_array()
        .unwrap()
        .iter()
        .find(|insight| insight["name"] == "Findings by product")
        .unwrap()["insightArn"]
        .as_str()
        .unwrap()
        .to_string();
    let results = cli_json(
        &cluster,
        &operator,
        dir,
        &[
            "insights",
            "results",
            "--region",
            HOME,
            &by_product,
            "--account",
            &security,
        ],
    )
    .await;
    assert!(
        !results["insightResults"]["resultValues"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let status = cli_json(
        &cluster,
        &operator,
        dir,
        &["status", "--home-region", HOME, "--owner", &security],
    )
    .await;
    let replicated: Vec<&str> = status["aggregator"]["cursors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cursor| cursor["region"].as_str().unwrap())
        .collect();
    assert_eq!(replicated, vec![OTHER, HOME]);
    assert!(
        status["collectors"][HOME]["changeLogHead"]
            .as_u64()
            .unwrap()
            > 0
    );
    let workload_sources =
        status["configAggregators"][demo::WORKLOADS_AGGREGATOR]["aggregatedSourceStatusList"]
            .as_array()
            .unwrap();
    // One row per listed production account and region.
    assert_eq!(workload_sources.len(), 2 * 2, "{workload_sources:?}");
    assert!(status["configAggregators"][demo::ORGANIZATION_AGGREGATOR].is_object());

    // A second run keeps what exists and changes no count.
    let again = demo::seed(&context, &args).await.unwrap();
    assert_eq!(again.organization_id, seeded.organization_id);
    assert_eq!(again.findings.failed, 0, "{}", again.findings.to_text());
    assert_eq!(again.configuration_items, seeded.configuration_items);
    assert_eq!(
        again.finding_aggregator_arn, seeded.finding_aggregator_arn,
        "the existing finding aggregator is kept"
    );
    cluster.shutdown().await;
}
