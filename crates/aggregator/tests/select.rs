#![allow(clippy::unwrap_used, clippy::expect_used)]
//! SelectAggregateResourceConfig's query language against a fixed set of replicated
//! configuration items, on SQLite and PostgreSQL. Every expected result is computed here in plain
//! Rust from the same data (never by running SQL), and every query is read page by page.

use std::{
    cmp::Ordering,
    collections::{BTreeMap, BTreeSet},
};

use prost::Message;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, Set};
use sea_orm_migration::MigratorTrait;
use serde_json::{Value, json};
use tributary_aggregator::{
    Error,
    query::{QueryScope, SelectPage, SelectRequest, select},
    replica::{configuration_json, relationships_json, supplementary_json, tags_json},
    store::{Migrator, aggregate_config_items as items, aggregator_entitlements as entitlements},
};
use tributary_proto::{collector::v1 as pb, types::v1 as types_pb};
use tributary_runtime::paging::PageTokens;

const OWNER: &str = "111111111111";
const HOME: &str = "us-east-1";
const AGGREGATOR: &str = "main";
const A: &str = "222222222222";
const B: &str = "333333333333";
const C: &str = "444444444444";
const USE1: &str = "us-east-1";
const EUW1: &str = "eu-west-1";
const INSTANCE: &str = "AWS::EC2::Instance";
const VOLUME: &str = "AWS::EC2::Volume";
const BUCKET: &str = "AWS::S3::Bucket";
const ROLE: &str = "AWS::IAM::Role";
const COMPLIANCE: &str = "AWS::Config::ResourceCompliance";
const GROUP: &str = "AWS::EC2::SecurityGroup";
const FUNCTION: &str = "AWS::Lambda::Function";
/// 2024-03-01T00:00:00Z in microseconds.
const MARCH: i64 = 1_709_251_200_000_000;
const HOUR: i64 = 3_600_000_000;

// ---------------------------------------------------------------------------------------------
// The dataset
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Item {
    account: &'static str,
    region: &'static str,
    resource_type: &'static str,
    resource_id: String,
    resource_name: String,
    arn: String,
    availability_zone: String,
    status: pb::ConfigurationItemStatus,
    capture_micros: i64,
    creation_seconds: Option<i64>,
    seq: i64,
    tags: BTreeMap<String, String>,
    /// Stored as given (a JSON object, or plain text for the odd item).
    configuration: String,
    supplementary: BTreeMap<String, String>,
    relationships: Vec<(&'static str, String, &'static str)>,
}

impl Item {
    fn new(
        account: &'static str,
        region: &'static str,
        resource_type: &'static str,
        resource_id: impl Into<String>,
        configuration: Value,
    ) -> Self {
        let resource_id = resource_id.into();
        Self {
            account,
            region,
            resource_type,
            arn: format!("arn:aws:test:{region}:{account}:{resource_id}"),
            resource_id,
            resource_name: String::new(),
            availability_zone: String::new(),
            status: pb::ConfigurationItemStatus::Ok,
            capture_micros: 0,
            creation_seconds: None,
            seq: 0,
            tags: BTreeMap::new(),
            configuration: configuration.to_string(),
            supplementary: BTreeMap::new(),
            relationships: Vec::new(),
        }
    }

    fn tag(mut self, key: &str, value: &str) -> Self {
        self.tags.insert(key.to_string(), value.to_string());
        self
    }

    fn visible(&self) -> bool {
        let entitled = matches!(
            (self.account, self.region),
            (A, USE1) | (A, EUW1) | (B, USE1)
        );
        entitled
            && matches!(
                self.status,
                pb::ConfigurationItemStatus::Ok | pb::ConfigurationItemStatus::ResourceDiscovered
            )
    }

    fn key(&self) -> (&str, &str, &str, &str) {
        (
            self.account,
            self.region,
            self.resource_type,
            &self.resource_id,
        )
    }

    fn aws_region(&self) -> &str {
        if self.resource_type.starts_with("AWS::IAM::") {
            "global"
        } else {
            self.region
        }
    }

    fn configuration_value(&self) -> Value {
        serde_json::from_str(&self.configuration)
            .unwrap_or(Value::String(self.configuration.clone()))
    }

    fn status_name(&self) -> &'static str {
        match self.status {
            pb::ConfigurationItemStatus::ResourceDiscovered => "ResourceDiscovered",
            pb::ConfigurationItemStatus::ResourceNotRecorded => "ResourceNotRecorded",
            pb::ConfigurationItemStatus::ResourceDeleted => "ResourceDeleted",
            _ => "OK",
        }
    }

    /// Every value a property path reaches: arrays are walked at every level, names ignore case,
    /// JSON null counts as no value.
    fn values(&self, path: &str) -> Vec<Value> {
        let segments: Vec<&str> = path.split('.').collect();
        let rest = &segments[1..];
        let found = match segments[0].to_ascii_lowercase().as_str() {
            "configuration" => walk(&self.configuration_value(), rest),
            "supplementaryconfiguration" => {
                let decoded: serde_json::Map<String, Value> = self
                    .supplementary
                    .iter()
                    .map(|(name, text)| {
                        let value = if text.trim_start().starts_with(['{', '[']) {
                            serde_json::from_str(text).unwrap()
                        } else {
                            Value::String(text.clone())
                        };
                        (name.clone(), value)
                    })
                    .collect();
                walk(&Value::Object(decoded), rest)
            }
            "tags" => self
                .tags
                .iter()
                .map(|(key, value)| match rest[0] {
                    "key" => json!(key),
                    "value" => json!(value),
                    _ => json!(format!("{key}={value}")),
                })
                .collect(),
            "relationships" => self
                .relationships
                .iter()
                .map(|(resource_type, resource_id, name)| match rest[0] {
                    "resourceType" => json!(resource_type),
                    "resourceId" => json!(resource_id),
                    _ => json!(name),
                })
                .collect(),
            "resourcetype" => vec![json!(self.resource_type)],
            "resourceid" => vec![json!(self.resource_id)],
            "accountid" => vec![json!(self.account)],
            "awsregion" => vec![json!(self.aws_region())],
            "resourcename" if !self.resource_name.is_empty() => vec![json!(self.resource_name)],
            other => panic!("the test has no accessor for {other}"),
        };
        found.into_iter().filter(|value| !value.is_null()).collect()
    }

    fn text_values(&self, path: &str) -> Vec<String> {
        self.values(path)
            .into_iter()
            .filter_map(|value| value.as_str().map(str::to_string))
            .collect()
    }

    fn numbers(&self, path: &str) -> Vec<f64> {
        self.values(path).iter().filter_map(Value::as_f64).collect()
    }
}

fn walk(value: &Value, path: &[&str]) -> Vec<Value> {
    match value {
        Value::Array(elements) => elements
            .iter()
            .flat_map(|element| walk(element, path))
            .collect(),
        _ if path.is_empty() => vec![value.clone()],
        Value::Object(members) => members
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(path[0]))
            .flat_map(|(_, member)| walk(member, &path[1..]))
            .collect(),
        _ => Vec::new(),
    }
}

fn dataset() -> Vec<Item> {
    let accounts = [A, B, C];
    let regions = [USE1, EUW1];
    let mut data = Vec::new();
    for n in 0..12_usize {
        let account = accounts[n % 3];
        let region = regions[(n / 3) % 2];
        let mut mappings = vec![
            json!({"deviceName": "/dev/xvda", "ebs": {"volumeId": format!("vol-{n:02}a"), "volumeSize": 8, "deleteOnTermination": true}}),
        ];
        if n % 3 == 0 {
            mappings.push(json!({"deviceName": "/dev/sdf", "ebs": {"volumeId": format!("vol-{n:02}b"), "volumeSize": 100, "deleteOnTermination": false}}));
        }
        let mut item = Item::new(
            account,
            region,
            INSTANCE,
            format!("i-{n:02}"),
            json!({
                "instanceType": (["t3.micro", "t3.large", "m5.xlarge", "t2.micro"][n % 4]),
                "imageId": if n % 3 == 0 { "ami-12345" } else { "ami-67890" },
                "state": {"name": if n % 5 == 0 { "stopped" } else { "running" }, "code": if n % 5 == 0 { 80 } else { 16 }},
                "placement": {"tenancy": "default", "availabilityZone": format!("{region}a")},
                "cpuOptions": {"coreCount": 1 + n % 4, "threadsPerCore": 2},
                "ebsOptimized": n % 2 == 0,
                "blockDeviceMappings": mappings,
                "securityGroups": [{"groupId": format!("sg-{}", n % 3), "groupName": "default"}]
            }),
        )
        .tag("Name", &format!("web-{n}"));
        if n % 4 != 3 {
            item = item.tag("Stage", if n % 2 == 0 { "prod" } else { "dev" });
        }
        if n % 5 == 1 {
            item = item.tag("CostCenter", "12345");
        }
        item.resource_name = format!("web-{n}");
        item.availability_zone = format!("{region}a");
        item.relationships = vec![
            (
                "AWS::EC2::SecurityGroup",
                format!("sg-{}", n % 3),
                "Is associated with SecurityGroup",
            ),
            (
                "AWS::EC2::Volume",
                format!("vol-{n:02}a"),
                "Is attached to Volume",
            ),
        ];
        item.status = match n {
            7 => pb::ConfigurationItemStatus::ResourceDeleted,
            9 => pb::ConfigurationItemStatus::ResourceNotRecorded,
            10 => pb::ConfigurationItemStatus::ResourceDiscovered,
            _ => pb::ConfigurationItemStatus::Ok,
        };
        data.push(item);
    }
    for n in 0..8_usize {
        let name = format!("logs-bucket-{n}");
        let mut item = Item::new(
            accounts[n % 2],
            regions[n % 2],
            BUCKET,
            name.clone(),
            json!({"name": name, "owner": {"displayName": "ops"}, "creationDate": format!("2023-0{}-01T00:00:00.000Z", 1 + n % 9)}),
        );
        item.resource_name = name;
        item.supplementary.insert(
            "BucketVersioningConfiguration".into(),
            json!({"status": if n % 3 == 0 { "Enabled" } else { "Off" }, "isMfaDeleteEnabled": null}).to_string(),
        );
        item.supplementary
            .insert("IsRequesterPaysEnabled".into(), (n == 2).to_string());
        item.supplementary.insert(
            "PublicAccessBlockConfiguration".into(),
            format!(
                "  {}",
                json!({"blockPublicAcls": n % 2 == 0, "restrictPublicBuckets": true})
            ),
        );
        if n % 4 == 0 {
            item = item.tag("Stage", "prod");
        }
        data.push(item);
    }
    for n in 0..8_usize {
        let mut item = Item::new(
            accounts[n % 3],
            USE1,
            VOLUME,
            format!("vol-{n:02}"),
            json!({
                "volumeType": if n % 2 == 0 { "gp3" } else { "gp2" },
                "size": ([8.0, 100.0, 500.0, 20.0][n % 4]),
                "encrypted": n % 3 != 1,
                "state": {"value": if n % 2 == 0 { "available" } else { "in-use" }},
                "attachments": if n % 2 == 0 { json!([]) } else { json!([{"instanceId": format!("i-{:02}", n), "device": "/dev/xvda"}]) }
            }),
        );
        item.availability_zone = format!("{USE1}b");
        if n % 3 == 0 {
            item = item.tag("Stage", "dev");
        }
        item.capture_micros = MARCH + (n as i64) * 24 * HOUR;
        data.push(item);
    }
    for n in 0..6_usize {
        let mut item = Item::new(
            accounts[n % 2],
            USE1,
            ROLE,
            format!("AROA{n:04}"),
            json!({
                "roleName": format!("role-{n}"),
                "path": "/",
                "attachedManagedPolicies": (0..n % 3).map(|p| json!({"policyName": format!("policy-{p}"), "policyArn": format!("arn:aws:iam::aws:policy/policy-{p}")})).collect::<Vec<_>>()
            }),
        );
        item.resource_name = format!("role-{n}");
        item.creation_seconds = Some(1_600_000_000 + (n as i64) * 86_400);
        data.push(item);
    }
    for n in 0..6_usize {
        let rules = match n % 3 {
            0 => {
                json!([{"configRuleName": "A", "complianceType": "COMPLIANT"}, {"configRuleName": "B", "complianceType": "NON_COMPLIANT"}])
            }
            1 => json!([{"configRuleName": "A", "complianceType": "NON_COMPLIANT"}]),
            _ => json!([{"configRuleName": "B", "complianceType": "COMPLIANT"}]),
        };
        let compliance = if n % 3 == 2 {
            "COMPLIANT"
        } else {
            "NON_COMPLIANT"
        };
        data.push(Item::new(
            accounts[n % 2],
            regions[n % 2],
            COMPLIANCE,
            format!("AWS::EC2::Instance/i-{n:02}"),
            json!({"complianceType": compliance, "configRuleList": rules, "resourceType": INSTANCE}),
        ));
    }
    for (n, port) in [json!(80), json!("80"), json!(443), Value::Null]
        .into_iter()
        .enumerate()
    {
        let mut configuration = json!({
            "GroupName": format!("group-{n}"),
            "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["10.0.0.0/24", "10.1.0.0/16"]}]
        });
        if !port.is_null() {
            configuration["port"] = port;
        }
        let mut item = Item::new(A, regions[n % 2], GROUP, format!("sg-{n}"), configuration);
        item.resource_name = format!("group-{n}");
        data.push(item);
    }
    for n in 0..6_usize {
        let mut item = Item::new(
            accounts[n % 2],
            USE1,
            FUNCTION,
            format!("function-{n}"),
            json!({
                "runtime": if n % 2 == 0 { "python3.12" } else { "nodejs20.x" },
                "memorySize": ([128, 256, 512][n % 3]),
                "timeout": 3,
                "delta": (n as i64) - 3,
                "layers": if n == 0 { json!([["nested", "array"]]) } else { json!([]) }
            }),
        );
        item.resource_name = format!("function-{n}");
        data.push(item);
    }
    // A configuration that is not a JSON object: the replica stores it as a JSON string.
    let mut odd = Item::new(B, USE1, FUNCTION, "function-odd", Value::Null);
    odd.configuration = "not json at all".to_string();
    data.push(odd);
    for (index, item) in data.iter_mut().enumerate() {
        item.seq = 100 + index as i64;
        if item.capture_micros == 0 {
            item.capture_micros = MARCH - (index as i64) * HOUR;
        }
    }
    data
}

// ---------------------------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

struct TestDatabase {
    db: DatabaseConnection,
    _directory: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

fn admin_url() -> String {
    std::env::var("TRIBUTARY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn server_url(name: &str) -> String {
    let admin = admin_url();
    let base = admin.split('?').next().unwrap_or(&admin).to_string();
    let server = base
        .rsplit_once('/')
        .map_or(base.as_str(), |(server, _)| server);
    format!("{server}/{name}")
}

impl TestDatabase {
    async fn new(backend: Backend) -> Self {
        let (url, directory, postgres_name) = match backend {
            Backend::Sqlite => {
                let directory = tempfile::tempdir().unwrap();
                let url =
                    tributary_runtime::db::sqlite_url(&directory.path().join("aggregator.db"));
                (url, Some(directory), None)
            }
            Backend::Postgres => {
                let name = format!("trb_{}_select", tributary_runtime::db::random_hex(6));
                let admin = Database::connect(admin_url())
                    .await
                    .expect("PostgreSQL is reachable");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                admin.close().await.ok();
                (server_url(&name), None, Some(name))
            }
        };
        let db = tributary_runtime::db::connect(&url).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        Self {
            db,
            _directory: directory,
            postgres_name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(admin_url()).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok();
                admin.close().await.ok()
            })
        })
        .join();
    }
}

async fn load(db: &DatabaseConnection, data: &[Item]) {
    let pairs = [
        (AGGREGATOR, A, USE1, "AUTHORIZED"),
        (AGGREGATOR, A, EUW1, "AUTHORIZED"),
        (AGGREGATOR, B, USE1, "AUTHORIZED"),
        (AGGREGATOR, B, EUW1, "PENDING"),
        (AGGREGATOR, C, USE1, "REVOKED"),
        ("other", C, USE1, "AUTHORIZED"),
        ("other", C, EUW1, "AUTHORIZED"),
    ];
    let rows = pairs.map(
        |(aggregator, account, region, status)| entitlements::ActiveModel {
            owner_account_id: Set(OWNER.to_string()),
            home_region: Set(HOME.to_string()),
            aggregator_name: Set(aggregator.to_string()),
            account_id: Set(account.to_string()),
            region: Set(region.to_string()),
            status: Set(status.to_string()),
            reason: Set(String::new()),
            changed_at_micros: Set(0),
        },
    );
    entitlements::Entity::insert_many(rows)
        .exec(db)
        .await
        .unwrap();
    let rows: Vec<items::ActiveModel> = data.iter().map(item_row).collect();
    for chunk in rows.chunks(20) {
        items::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await
            .unwrap();
    }
}

fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap(),
    }
}

fn item_row(item: &Item) -> items::ActiveModel {
    let message = pb::ConfigurationItem {
        version: "1.3".into(),
        account_id: item.account.into(),
        configuration_item_capture_time: Some(timestamp(item.capture_micros)),
        configuration_item_status: item.status as i32,
        configuration_state_id: u64::try_from(item.seq).unwrap(),
        arn: item.arn.clone(),
        resource_type: item.resource_type.into(),
        resource_id: item.resource_id.clone(),
        resource_name: item.resource_name.clone(),
        aws_region: item.aws_region().into(),
        availability_zone: item.availability_zone.clone(),
        resource_creation_time: item
            .creation_seconds
            .map(|seconds| timestamp(seconds * 1_000_000)),
        tags: item
            .tags
            .iter()
            .map(|(key, value)| types_pb::Tag {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        relationships: item
            .relationships
            .iter()
            .map(|(resource_type, resource_id, name)| pb::Relationship {
                resource_type: (*resource_type).into(),
                resource_id: resource_id.clone(),
                resource_name: String::new(),
                relationship_name: (*name).into(),
            })
            .collect(),
        configuration: item.configuration.clone(),
        supplementary_configuration: item.supplementary.clone().into_iter().collect(),
    };
    let status = item.status_name();
    items::ActiveModel {
        account_id: Set(item.account.into()),
        region: Set(item.region.into()),
        resource_type: Set(item.resource_type.into()),
        resource_id: Set(item.resource_id.clone()),
        resource_name: Set(item.resource_name.clone()),
        arn: Set(item.arn.clone()),
        availability_zone: Set(item.availability_zone.clone()),
        item_status: Set(status.into()),
        deleted: Set(status.starts_with("ResourceDeleted")),
        capture_time_micros: Set(item.capture_micros),
        tags: Set(tags_json(&message.tags)),
        configuration: Set(configuration_json(&message.configuration)),
        supplementary_configuration: Set(supplementary_json(&message.supplementary_configuration)),
        relationships: Set(relationships_json(&message.relationships)),
        seq: Set(item.seq),
        version: Set(format!("{:032x}", item.seq)),
        item: Set(message.encode_to_vec()),
    }
}

fn scope() -> QueryScope {
    QueryScope {
        owner_account_id: OWNER.into(),
        home_region: HOME.into(),
        aggregator_name: AGGREGATOR.into(),
        resource_types: None,
    }
}

/// Reads every page of `expression` with pages of `page_size` rows.
async fn run_all(
    db: &DatabaseConnection,
    tokens: &PageTokens,
    scope: &QueryScope,
    expression: &str,
    page_size: i32,
) -> Result<(Vec<Value>, Vec<String>), Error> {
    let mut rows = Vec::new();
    let mut token = String::new();
    let mut fields = None;
    for _ in 0..200 {
        let page: SelectPage = select(
            db,
            tokens,
            scope,
            SelectRequest {
                expression,
                page_size,
                page_token: &token,
            },
        )
        .await?;
        if page_size > 0 {
            assert!(page.results.len() <= usize::try_from(page_size).unwrap());
        }
        fields.get_or_insert(page.select_fields.clone());
        rows.extend(
            page.results
                .iter()
                .map(|row| serde_json::from_str::<Value>(row).unwrap()),
        );
        if page.next_page_token.is_empty() {
            return Ok((rows, fields.unwrap_or_default()));
        }
        token = page.next_page_token;
    }
    panic!("{expression}: paging did not end");
}

fn reason_of(error: &Error) -> (&'static str, String) {
    match error {
        Error::Runtime(tributary_runtime::Error::InvalidInput {
            reason, message, ..
        }) => (reason, message.clone()),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Expectations, computed in plain Rust
// ---------------------------------------------------------------------------------------------

enum Expect {
    /// These rows in this order.
    Rows(Vec<Value>),
    /// InvalidExpressionException whose message contains this text.
    Invalid(&'static str),
}

struct Case {
    expression: String,
    page_size: i32,
    expect: Expect,
}

fn visible(data: &[Item], filter: impl Fn(&Item) -> bool) -> Vec<&Item> {
    let mut found: Vec<&Item> = data
        .iter()
        .filter(|item| item.visible() && filter(item))
        .collect();
    found.sort_by(|left, right| left.key().cmp(&right.key()));
    found
}

fn ids(items: &[&Item]) -> Vec<Value> {
    items
        .iter()
        .map(|item| json!({"resourceId": item.resource_id}))
        .collect()
}

fn time(micros: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_micros(micros)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The order AWS-style sorting gives JSON values: numbers, strings, booleans, then the rest.
fn value_order(left: &Value, right: &Value) -> Ordering {
    fn rank(value: &Value) -> u8 {
        match value {
            Value::Number(_) => 1,
            Value::String(_) => 2,
            Value::Bool(_) => 3,
            _ => 4,
        }
    }
    rank(left)
        .cmp(&rank(right))
        .then_with(|| match (left, right) {
            (Value::Number(left), Value::Number(right)) => left
                .as_f64()
                .unwrap()
                .partial_cmp(&right.as_f64().unwrap())
                .unwrap(),
            (Value::String(left), Value::String(right)) => left.cmp(right),
            (Value::Bool(left), Value::Bool(right)) => left.cmp(right),
            _ => left.to_string().cmp(&right.to_string()),
        })
}

/// Groups items by the distinct values of one key (several per item for arrays; none puts the
/// item in the "missing" group, which sorts last).
fn groups_by<'a>(
    items: &[&'a Item],
    key: impl Fn(&Item) -> Vec<Value>,
) -> Vec<(Option<Value>, Vec<&'a Item>)> {
    let mut groups: Vec<(Option<Value>, Vec<&Item>)> = Vec::new();
    for item in items {
        let mut values = key(item);
        values.sort_by(value_order);
        values.dedup();
        let keys: Vec<Option<Value>> = if values.is_empty() {
            vec![None]
        } else {
            values.into_iter().map(Some).collect()
        };
        for value in keys {
            match groups.iter_mut().find(|(known, _)| *known == value) {
                Some((_, members)) => members.push(item),
                None => groups.push((value, vec![item])),
            }
        }
    }
    groups.sort_by(|(left, _), (right, _)| match (left, right) {
        (Some(left), Some(right)) => value_order(left, right),
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (None, None) => Ordering::Equal,
    });
    groups
}

fn nest(path: &str, value: Value) -> Value {
    path.rsplit('.')
        .fold(value, |inner, segment| json!({ segment: inner }))
}

fn merge(mut left: Value, right: Value) -> Value {
    if let (Value::Object(left_members), Value::Object(right_members)) = (&mut left, right) {
        for (key, value) in right_members {
            match left_members.remove(&key) {
                Some(existing) => {
                    left_members.insert(key, merge(existing, value));
                }
                None => {
                    left_members.insert(key, value);
                }
            }
        }
    }
    left
}

fn cases(data: &[Item]) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut rows = |expression: &str, page_size: i32, expected: Vec<Value>| {
        cases.push(Case {
            expression: expression.to_string(),
            page_size,
            expect: Expect::Rows(expected),
        });
    };

    // --- plain queries: filters ---
    rows(
        "SELECT resourceId WHERE resourceType='AWS::EC2::Instance'",
        4,
        ids(&visible(data, |item| item.resource_type == INSTANCE)),
    );
    rows(
        "select resourceId where resourcetype = 'AWS::EC2::Volume'",
        0,
        ids(&visible(data, |item| item.resource_type == VOLUME)),
    );
    rows(
        "SELECT resourceId, resourceType, configuration.instanceType, configuration.placement.tenancy, configuration.imageId, availabilityZone WHERE resourceType = 'AWS::EC2::Instance' AND configuration.imageId = 'ami-12345'",
        3,
        visible(data, |item| {
            item.resource_type == INSTANCE
                && item.text_values("configuration.imageId") == ["ami-12345"]
        })
        .iter()
        .map(|item| {
            let configuration = item.configuration_value();
            json!({
                "resourceId": item.resource_id,
                "resourceType": item.resource_type,
                "availabilityZone": item.availability_zone,
                "configuration": {
                    "instanceType": configuration["instanceType"],
                    "placement": {"tenancy": configuration["placement"]["tenancy"]},
                    "imageId": configuration["imageId"],
                }
            })
        })
        .collect(),
    );
    rows(
        "SELECT resourceId WHERE configuration.instanceType IN ('t3.micro', 't2.micro')",
        5,
        ids(&visible(data, |item| {
            item.text_values("configuration.instanceType")
                .iter()
                .any(|value| value == "t3.micro" || value == "t2.micro")
        })),
    );
    for (operator, test) in [
        (">", (|value: f64| value > 2.0) as fn(f64) -> bool),
        (">=", |value| value >= 2.0),
        ("<", |value| value < 2.0),
        ("<=", |value| value <= 2.0),
        ("=", |value| value == 2.0),
    ] {
        rows(
            &format!("SELECT resourceId WHERE configuration.cpuOptions.coreCount {operator} 2"),
            6,
            ids(&visible(data, |item| {
                item.numbers("configuration.cpuOptions.coreCount")
                    .into_iter()
                    .any(test)
            })),
        );
    }
    rows(
        "SELECT resourceId WHERE configuration.cpuOptions.coreCount BETWEEN 2 AND 3",
        0,
        ids(&visible(data, |item| {
            item.numbers("configuration.cpuOptions.coreCount")
                .into_iter()
                .any(|value| (2.0..=3.0).contains(&value))
        })),
    );
    rows(
        "SELECT resourceId WHERE configuration.cpuOptions.coreCount NOT BETWEEN 2 AND 3 AND resourceType = 'AWS::EC2::Instance'",
        0,
        ids(&visible(data, |item| {
            item.resource_type == INSTANCE
                && !item
                    .numbers("configuration.cpuOptions.coreCount")
                    .into_iter()
                    .any(|value| (2.0..=3.0).contains(&value))
        })),
    );
    for operator in ["!=", "<>"] {
        rows(
            &format!(
                "SELECT resourceId WHERE resourceType = 'AWS::EC2::Instance' AND configuration.state.name {operator} 'running'"
            ),
            0,
            ids(&visible(data, |item| {
                item.resource_type == INSTANCE
                    && !item
                        .text_values("configuration.state.name")
                        .contains(&"running".to_string())
            })),
        );
    }
    rows(
        "SELECT resourceId WHERE resourceType LIKE 'AWS::EC2::%'",
        9,
        ids(&visible(data, |item| {
            item.resource_type.starts_with("AWS::EC2::")
        })),
    );
    rows(
        "SELECT resourceName WHERE resourceName LIKE 'web-1_'",
        0,
        visible(data, |item| {
            item.resource_name.starts_with("web-1") && item.resource_name.chars().count() == 6
        })
        .iter()
        .map(|item| json!({"resourceName": item.resource_name}))
        .collect(),
    );
    rows(
        "SELECT resourceId WHERE resourceName NOT LIKE 'web%' AND resourceType IN ('AWS::EC2::Instance', 'AWS::IAM::Role')",
        0,
        ids(&visible(data, |item| {
            (item.resource_type == INSTANCE || item.resource_type == ROLE)
                && !item.resource_name.starts_with("web")
        })),
    );
    rows(
        "SELECT resourceId, awsRegion WHERE awsRegion = 'global'",
        0,
        visible(data, |item| item.aws_region() == "global")
            .iter()
            .map(|item| json!({"resourceId": item.resource_id, "awsRegion": "global"}))
            .collect(),
    );
    rows(
        "SELECT resourceId WHERE awsRegion = 'eu-west-1'",
        0,
        ids(&visible(data, |item| item.aws_region() == EUW1)),
    );
    rows(
        "SELECT resourceId WHERE accountId = '222222222222' AND (resourceType = 'AWS::S3::Bucket' OR resourceType = 'AWS::EC2::Volume')",
        0,
        ids(&visible(data, |item| {
            item.account == A && (item.resource_type == BUCKET || item.resource_type == VOLUME)
        })),
    );
    rows(
        "SELECT resourceId WHERE NOT (resourceType = 'AWS::EC2::Instance' OR resourceType = 'AWS::S3::Bucket') AND accountId NOT IN ('333333333333')",
        7,
        ids(&visible(data, |item| {
            item.resource_type != INSTANCE && item.resource_type != BUCKET && item.account != B
        })),
    );
    // --- arrays, tags, relationships, supplementary configuration ---
    rows(
        "SELECT resourceId WHERE configuration.blockDeviceMappings.deviceName = '/dev/sdf'",
        0,
        ids(&visible(data, |item| {
            item.text_values("configuration.blockDeviceMappings.deviceName")
                .contains(&"/dev/sdf".to_string())
        })),
    );
    rows(
        "SELECT resourceId WHERE configuration.blockDeviceMappings.ebs.volumeSize >= 100",
        0,
        ids(&visible(data, |item| {
            item.numbers("configuration.blockDeviceMappings.ebs.volumeSize")
                .into_iter()
                .any(|size| size >= 100.0)
        })),
    );
    rows(
        "SELECT resourceId WHERE configuration.configRuleList.complianceType = 'NON_COMPLIANT' AND configuration.configRuleList.configRuleName = 'A'",
        0,
        ids(&visible(data, |item| {
            item.text_values("configuration.configRuleList.complianceType")
                .contains(&"NON_COMPLIANT".to_string())
                && item
                    .text_values("configuration.configRuleList.configRuleName")
                    .contains(&"A".to_string())
        })),
    );
    rows(
        "SELECT resourceId WHERE configuration.ipPermissions.ipRanges = '10.1.0.0/16'",
        0,
        ids(&visible(data, |item| {
            item.text_values("configuration.ipPermissions.ipRanges")
                .contains(&"10.1.0.0/16".to_string())
        })),
    );
    rows(
        "SELECT resourceId WHERE configuration.layers = 'nested'",
        0,
        ids(&visible(data, |item| {
            item.text_values("configuration.layers")
                .contains(&"nested".to_string())
        })),
    );
    rows(
        "SELECT COUNT(resourceId) WHERE resourceType = 'AWS::EC2::Instance' AND tags.key = 'Stage'",
        0,
        vec![
            json!({"COUNT(resourceId)": visible(data, |item| item.resource_type == INSTANCE && item.tags.contains_key("Stage")).len()}),
        ],
    );
    rows(
        "SELECT resourceId WHERE tags.tag = 'Stage=prod'",
        0,
        ids(&visible(data, |item| {
            item.tags.get("Stage").is_some_and(|value| value == "prod")
        })),
    );
    rows(
        "SELECT resourceId WHERE tags.value LIKE 'web-1%'",
        0,
        ids(&visible(data, |item| {
            item.tags.values().any(|value| value.starts_with("web-1"))
        })),
    );
    rows(
        "SELECT resourceId WHERE tags.key = 'CostCenter' AND tags.value = '12345'",
        0,
        ids(&visible(data, |item| {
            item.tags
                .get("CostCenter")
                .is_some_and(|value| value == "12345")
        })),
    );
    rows(
        "SELECT resourceId WHERE tags.key != 'Stage'",
        8,
        ids(&visible(data, |item| !item.tags.contains_key("Stage"))),
    );
    rows(
        "SELECT resourceId WHERE NOT tags.key = 'Stage' AND resourceType = 'AWS::EC2::Volume'",
        0,
        ids(&visible(data, |item| {
            !item.tags.contains_key("Stage") && item.resource_type == VOLUME
        })),
    );
    rows(
        "SELECT resourceId WHERE relationships.resourceId = 'sg-1'",
        0,
        ids(&visible(data, |item| {
            item.relationships
                .iter()
                .any(|relation| relation.1 == "sg-1")
        })),
    );
    rows(
        "SELECT resourceId WHERE resourceType IN ('AWS::EC2::Instance', 'AWS::EC2::NetworkInterface') AND relationships.resourceType = 'AWS::EC2::Volume' AND relationships.resourceId = 'vol-04a'",
        0,
        ids(&visible(data, |item| {
            item.relationships
                .iter()
                .any(|relation| relation.0 == VOLUME && relation.1 == "vol-04a")
        })),
    );
    rows(
        "SELECT resourceId WHERE supplementaryConfiguration.BucketVersioningConfiguration.status = 'Enabled'",
        0,
        ids(&visible(data, |item| {
            item.text_values("supplementaryConfiguration.BucketVersioningConfiguration.status")
                .contains(&"Enabled".to_string())
        })),
    );
    rows(
        "SELECT resourceId WHERE supplementaryConfiguration.IsRequesterPaysEnabled = true",
        0,
        ids(&visible(data, |item| {
            item.supplementary
                .get("IsRequesterPaysEnabled")
                .is_some_and(|value| value == "true")
        })),
    );
    rows(
        "SELECT resourceId WHERE supplementaryConfiguration.PublicAccessBlockConfiguration.blockPublicAcls = true",
        0,
        ids(&visible(data, |item| {
            item.values("supplementaryConfiguration.PublicAccessBlockConfiguration.blockPublicAcls")
                .contains(&json!(true))
        })),
    );
    // --- types and case ---
    rows(
        "SELECT resourceId WHERE configuration.ebsOptimized = true",
        0,
        ids(&visible(data, |item| {
            item.values("configuration.ebsOptimized")
                .contains(&json!(true))
        })),
    );
    rows(
        "SELECT resourceId WHERE configuration.encrypted = 'false'",
        0,
        ids(&visible(data, |item| {
            item.values("configuration.encrypted")
                .contains(&json!(false))
        })),
    );
    rows(
        "SELECT resourceId WHERE configuration.INSTANCETYPE = 't3.large'",
        0,
        ids(&visible(data, |item| {
            item.text_values("configuration.instanceType") == ["t3.large"]
        })),
    );
    rows(
        "SELECT resourceId, configuration.groupname WHERE configuration.groupname LIKE 'group-%'",
        0,
        visible(data, |item| !item.text_values("configuration.GroupName").is_empty())
            .iter()
            .map(|item| json!({"resourceId": item.resource_id, "configuration": {"groupname": item.text_values("configuration.GroupName")[0]}}))
            .collect(),
    );
    rows(
        "SELECT resourceId WHERE configuration.port = 80",
        0,
        ids(&visible(data, |item| {
            item.values("configuration.port")
                .iter()
                .any(|value| value == &json!(80) || value == &json!("80"))
        })),
    );
    rows(
        "SELECT resourceId WHERE configuration.port > '100'",
        0,
        ids(&visible(data, |item| {
            item.values("configuration.port").iter().any(|value| {
                value.as_f64().is_some_and(|number| number > 100.0)
                    || value.as_str().is_some_and(|text| text > "100")
            })
        })),
    );
    rows(
        "SELECT resourceId WHERE configuration.size = 500",
        0,
        ids(&visible(data, |item| {
            item.numbers("configuration.size").contains(&500.0)
        })),
    );
    rows(
        "SELECT resourceId WHERE configuration.delta < -1.5",
        0,
        ids(&visible(data, |item| {
            item.numbers("configuration.delta")
                .into_iter()
                .any(|delta| delta < -1.5)
        })),
    );
    rows(
        "SELECT resourceId WHERE configurationItemCaptureTime >= '2024-03-03T00:00:00Z' AND resourceType = 'AWS::EC2::Volume'",
        0,
        ids(&visible(data, |item| {
            item.resource_type == VOLUME && item.capture_micros >= MARCH + 48 * HOUR
        })),
    );
    rows(
        "SELECT resourceId WHERE configurationItemCaptureTime BETWEEN '2024-02-29' AND '2024-03-01T00:00:00Z'",
        0,
        ids(&visible(data, |item| {
            (MARCH - 24 * HOUR..=MARCH).contains(&item.capture_micros)
        })),
    );
    rows(
        "SELECT resourceId, configurationStateId WHERE configurationStateId > 140",
        0,
        visible(data, |item| item.seq > 140)
            .iter()
            .map(|item| json!({"resourceId": item.resource_id, "configurationStateId": item.seq.to_string()}))
            .collect(),
    );
    rows(
        "SELECT resourceId, configurationItemStatus WHERE configurationItemStatus = 'ResourceDiscovered'",
        0,
        visible(data, |item| item.status == pb::ConfigurationItemStatus::ResourceDiscovered)
            .iter()
            .map(|item| json!({"resourceId": item.resource_id, "configurationItemStatus": "ResourceDiscovered"}))
            .collect(),
    );
    // --- what is never visible ---
    rows(
        "SELECT resourceId WHERE accountId = '444444444444'",
        0,
        Vec::new(),
    );
    rows(
        "SELECT resourceId WHERE resourceId IN ('i-07', 'i-09')",
        0,
        Vec::new(),
    );
    rows(
        "SELECT resourceId WHERE accountId = '333333333333' AND awsRegion = 'eu-west-1'",
        0,
        Vec::new(),
    );
    // --- selected shapes ---
    rows(
        "SELECT * WHERE resourceType = 'AWS::IAM::Role'",
        0,
        visible(data, |item| item.resource_type == ROLE)
            .iter()
            .map(|item| {
                json!({
                    "accountId": item.account,
                    "awsRegion": "global",
                    "arn": item.arn,
                    "configurationItemCaptureTime": time(item.capture_micros),
                    "resourceCreationTime": time(item.creation_seconds.unwrap() * 1_000_000),
                    "resourceId": item.resource_id,
                    "resourceName": item.resource_name,
                    "resourceType": ROLE,
                    "version": "1.3"
                })
            })
            .collect(),
    );
    rows(
        "SELECT configuration, tags WHERE resourceType = 'AWS::EC2::Volume'",
        3,
        visible(data, |item| item.resource_type == VOLUME)
            .iter()
            .map(|item| {
                json!({
                    "configuration": item.configuration_value(),
                    "tags": item.tags.iter().map(|(key, value)| json!({"key": key, "value": value})).collect::<Vec<_>>()
                })
            })
            .collect(),
    );
    rows(
        "SELECT resourceId, relationships, tags.tag WHERE resourceType = 'AWS::EC2::Instance' AND accountId = '333333333333'",
        0,
        visible(data, |item| item.resource_type == INSTANCE && item.account == B)
            .iter()
            .map(|item| {
                json!({
                    "resourceId": item.resource_id,
                    "relationships": item.relationships.iter().map(|(resource_type, resource_id, name)| json!({"resourceType": resource_type, "resourceId": resource_id, "resourceName": "", "relationshipName": name})).collect::<Vec<_>>(),
                    "tags": item.tags.iter().map(|(key, value)| json!({"tag": format!("{key}={value}")})).collect::<Vec<_>>()
                })
            })
            .collect(),
    );
    rows(
        "SELECT resourceId, supplementaryConfiguration.BucketVersioningConfiguration, supplementaryConfiguration.IsRequesterPaysEnabled WHERE resourceType = 'AWS::S3::Bucket'",
        0,
        visible(data, |item| item.resource_type == BUCKET)
            .iter()
            .map(|item| {
                json!({
                    "resourceId": item.resource_id,
                    "supplementaryConfiguration": {
                        "BucketVersioningConfiguration": serde_json::from_str::<Value>(&item.supplementary["BucketVersioningConfiguration"]).unwrap(),
                        "IsRequesterPaysEnabled": item.supplementary["IsRequesterPaysEnabled"],
                    }
                })
            })
            .collect(),
    );
    rows(
        "SELECT resourceId, configuration.blockDeviceMappings.deviceName, configuration.blockDeviceMappings.ebs.volumeSize WHERE resourceType = 'AWS::EC2::Instance' AND accountId = '222222222222'",
        0,
        visible(data, |item| item.resource_type == INSTANCE && item.account == A)
            .iter()
            .map(|item| {
                let mappings: Vec<Value> = item.configuration_value()["blockDeviceMappings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|mapping| json!({"deviceName": mapping["deviceName"], "ebs": {"volumeSize": mapping["ebs"]["volumeSize"]}}))
                    .collect();
                json!({"resourceId": item.resource_id, "configuration": {"blockDeviceMappings": mappings}})
            })
            .collect(),
    );
    rows(
        "SELECT resourceId, configuration.runtime WHERE resourceType = 'AWS::Lambda::Function'",
        0,
        visible(data, |item| item.resource_type == FUNCTION)
            .iter()
            .map(|item| {
                let runtime = item.text_values("configuration.runtime");
                match runtime.first() {
                    Some(runtime) => json!({"resourceId": item.resource_id, "configuration": {"runtime": runtime}}),
                    None => json!({"resourceId": item.resource_id}),
                }
            })
            .collect(),
    );
    // --- ORDER BY ---
    {
        let mut instances = visible(data, |item| item.resource_type == INSTANCE);
        instances.sort_by(|left, right| {
            right
                .resource_name
                .cmp(&left.resource_name)
                .then(left.key().cmp(&right.key()))
        });
        rows(
            "SELECT resourceId, resourceName WHERE resourceType = 'AWS::EC2::Instance' ORDER BY resourceName DESC",
            4,
            instances
                .iter()
                .map(|item| json!({"resourceId": item.resource_id, "resourceName": item.resource_name}))
                .collect(),
        );
    }
    {
        let mut instances = visible(data, |item| item.resource_type == INSTANCE);
        instances.sort_by(|left, right| {
            let cores = |item: &Item| item.numbers("configuration.cpuOptions.coreCount")[0];
            cores(right)
                .partial_cmp(&cores(left))
                .unwrap()
                .then(left.resource_id.cmp(&right.resource_id))
                .then(left.key().cmp(&right.key()))
        });
        rows(
            "SELECT resourceId WHERE resourceType = 'AWS::EC2::Instance' ORDER BY configuration.cpuOptions.coreCount DESC, resourceId",
            3,
            ids(&instances),
        );
    }
    {
        // Ascending order of an array property sorts by each item's smallest value; items
        // without one come last.
        let mut found = visible(data, |item| {
            item.resource_type == INSTANCE || item.resource_type == VOLUME
        });
        found.sort_by(|left, right| {
            let smallest = |item: &Item| {
                item.numbers("configuration.blockDeviceMappings.ebs.volumeSize")
                    .into_iter()
                    .reduce(f64::min)
            };
            match (smallest(left), smallest(right)) {
                (Some(left_size), Some(right_size)) => left_size.partial_cmp(&right_size).unwrap(),
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (None, None) => Ordering::Equal,
            }
            .then(left.key().cmp(&right.key()))
        });
        rows(
            "SELECT resourceId WHERE resourceType IN ('AWS::EC2::Instance', 'AWS::EC2::Volume') ORDER BY configuration.blockDeviceMappings.ebs.volumeSize",
            5,
            ids(&found),
        );
    }
    {
        let mut found = visible(data, |_| true);
        found.sort_by(|left, right| {
            right
                .capture_micros
                .cmp(&left.capture_micros)
                .then(left.key().cmp(&right.key()))
        });
        rows(
            "SELECT resourceId, configurationItemCaptureTime ORDER BY configurationItemCaptureTime DESC",
            10,
            found
                .iter()
                .map(|item| json!({"resourceId": item.resource_id, "configurationItemCaptureTime": time(item.capture_micros)}))
                .collect(),
        );
    }
    {
        let mut found = visible(data, |item| item.resource_type == GROUP);
        found.sort_by(|left, right| {
            let port = |item: &Item| item.values("configuration.port").into_iter().next();
            match (port(left), port(right)) {
                (Some(left_port), Some(right_port)) => value_order(&left_port, &right_port),
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (None, None) => Ordering::Equal,
            }
            .then(left.key().cmp(&right.key()))
        });
        rows(
            "SELECT resourceId WHERE resourceType = 'AWS::EC2::SecurityGroup' ORDER BY configuration.port",
            2,
            ids(&found),
        );
    }

    // --- aggregates ---
    let all = visible(data, |_| true);
    rows("SELECT COUNT(*)", 0, vec![json!({"COUNT(*)": all.len()})]);
    rows(
        "SELECT COUNT(*) WHERE resourceType = 'AWS::Nothing::Here'",
        0,
        vec![json!({"COUNT(*)": 0})],
    );
    rows(
        "SELECT resourceType, COUNT(*) GROUP BY resourceType",
        2,
        groups_by(&all, |item| vec![json!(item.resource_type)])
            .into_iter()
            .map(|(key, members)| json!({"resourceType": key.unwrap(), "COUNT(*)": members.len()}))
            .collect(),
    );
    rows(
        "SELECT COUNT(*), accountId group by accountId",
        0,
        groups_by(&all, |item| vec![json!(item.account)])
            .into_iter()
            .map(|(key, members)| json!({"accountId": key.unwrap(), "COUNT(*)": members.len()}))
            .collect(),
    );
    {
        let compliance = visible(data, |item| item.resource_type == COMPLIANCE);
        rows(
            "SELECT configuration.complianceType, COUNT(*) WHERE resourceType = 'AWS::Config::ResourceCompliance' GROUP BY configuration.complianceType",
            0,
            groups_by(&compliance, |item| item.values("configuration.complianceType"))
                .into_iter()
                .map(|(key, members)| json!({"configuration": {"complianceType": key.unwrap()}, "COUNT(*)": members.len()}))
                .collect(),
        );
    }
    rows(
        "SELECT tags.key, COUNT(*) GROUP BY tags.key",
        2,
        groups_by(&all, |item| item.values("tags.key"))
            .into_iter()
            .map(|(key, members)| match key {
                Some(key) => json!({"tags": {"key": key}, "COUNT(*)": members.len()}),
                None => json!({"COUNT(*)": members.len()}),
            })
            .collect(),
    );
    {
        // Two keys: regions descending, then types ascending.
        let mut expected = Vec::new();
        let mut regions: Vec<String> = all
            .iter()
            .map(|item| item.aws_region().to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        regions.reverse();
        for region in regions {
            let in_region: Vec<&Item> = all
                .iter()
                .copied()
                .filter(|item| item.aws_region() == region)
                .collect();
            for (resource_type, members) in
                groups_by(&in_region, |item| vec![json!(item.resource_type)])
            {
                expected.push(json!({"awsRegion": region, "resourceType": resource_type.unwrap(), "COUNT(*)": members.len()}));
            }
        }
        rows(
            "SELECT awsRegion, resourceType, COUNT(*) GROUP BY awsRegion, resourceType ORDER BY awsRegion DESC",
            3,
            expected,
        );
    }
    {
        let mut counts = groups_by(&all, |item| vec![json!(item.account)]);
        counts.sort_by(|left, right| {
            right.1.len().cmp(&left.1.len()).then(value_order(
                left.0.as_ref().unwrap(),
                right.0.as_ref().unwrap(),
            ))
        });
        rows(
            "SELECT accountId, COUNT(*) GROUP BY accountId ORDER BY COUNT(*) DESC",
            1,
            counts
                .into_iter()
                .map(|(key, members)| json!({"accountId": key.unwrap(), "COUNT(*)": members.len()}))
                .collect(),
        );
    }
    {
        let volumes = visible(data, |item| item.resource_type == VOLUME);
        let sizes: Vec<f64> = volumes
            .iter()
            .flat_map(|item| item.numbers("configuration.size"))
            .collect();
        let sum: f64 = sizes.iter().sum();
        rows(
            "SELECT resourceType, SUM(configuration.size), AVG(configuration.size), MIN(configuration.size), MAX(configuration.size), COUNT(configuration.size) WHERE resourceType = 'AWS::EC2::Volume' GROUP BY resourceType",
            0,
            vec![json!({
                "resourceType": VOLUME,
                "SUM(configuration.size)": sum as i64,
                "AVG(configuration.size)": sum / sizes.len() as f64,
                "MIN(configuration.size)": sizes.iter().copied().reduce(f64::min).unwrap() as i64,
                "MAX(configuration.size)": sizes.iter().copied().reduce(f64::max).unwrap() as i64,
                "COUNT(configuration.size)": sizes.len(),
            })],
        );
    }
    {
        let functions = visible(data, |item| item.resource_type == FUNCTION);
        let expected: Vec<Value> = groups_by(&functions, |item| item.values("configuration.runtime"))
            .into_iter()
            .map(|(key, members)| {
                let memory: Vec<f64> = members.iter().flat_map(|item| item.numbers("configuration.memorySize")).collect();
                let mut row = json!({
                    "COUNT(*)": members.len(),
                    "AVG(configuration.memorySize)": if memory.is_empty() { Value::Null } else { json!(memory.iter().sum::<f64>() / memory.len() as f64) },
                    "MAX(configuration.memorySize)": memory.iter().copied().reduce(f64::max).map_or(Value::Null, |max| json!(max as i64)),
                });
                if let Some(key) = key {
                    row = merge(row, nest("configuration.runtime", key));
                }
                row
            })
            .collect();
        rows(
            "SELECT configuration.runtime, COUNT(*), AVG(configuration.memorySize), MAX(configuration.memorySize) WHERE resourceType = 'AWS::Lambda::Function' GROUP BY configuration.runtime",
            0,
            expected,
        );
    }
    rows(
        "SELECT COUNT(configuration.blockDeviceMappings.deviceName), SUM(configuration.blockDeviceMappings.ebs.volumeSize)",
        0,
        vec![json!({
            "COUNT(configuration.blockDeviceMappings.deviceName)": all.iter().map(|item| item.values("configuration.blockDeviceMappings.deviceName").len()).sum::<usize>(),
            "SUM(configuration.blockDeviceMappings.ebs.volumeSize)": all.iter().flat_map(|item| item.numbers("configuration.blockDeviceMappings.ebs.volumeSize")).sum::<f64>() as i64,
        })],
    );
    {
        let instances = visible(data, |item| item.resource_type == INSTANCE);
        let mut groups = groups_by(&instances, |item| item.values("configuration.instanceType"));
        groups.reverse();
        rows(
            "SELECT configuration.instanceType, COUNT(*) WHERE resourceType = 'AWS::EC2::Instance' GROUP BY configuration.instanceType ORDER BY configuration.instanceType DESC",
            2,
            groups
                .into_iter()
                .map(|(key, members)| json!({"configuration": {"instanceType": key.unwrap()}, "COUNT(*)": members.len()}))
                .collect(),
        );
        rows(
            "SELECT configuration.ebsOptimized, COUNT(*) WHERE resourceType = 'AWS::EC2::Instance' GROUP BY configuration.ebsOptimized",
            0,
            groups_by(&instances, |item| item.values("configuration.ebsOptimized"))
                .into_iter()
                .map(|(key, members)| json!({"configuration": {"ebsOptimized": key.unwrap()}, "COUNT(*)": members.len()}))
                .collect(),
        );
    }
    {
        let groups = visible(data, |item| item.resource_type == GROUP);
        rows(
            "SELECT configuration.port, COUNT(*) WHERE resourceType = 'AWS::EC2::SecurityGroup' GROUP BY configuration.port",
            0,
            groups_by(&groups, |item| item.values("configuration.port"))
                .into_iter()
                .map(|(key, members)| match key {
                    Some(key) => json!({"configuration": {"port": key}, "COUNT(*)": members.len()}),
                    None => json!({"COUNT(*)": members.len()}),
                })
                .collect(),
        );
    }
    rows(
        "SELECT MIN(configurationItemCaptureTime), MAX(configurationItemCaptureTime), MAX(resourceName)",
        0,
        vec![json!({
            "MIN(configurationItemCaptureTime)": time(all.iter().map(|item| item.capture_micros).min().unwrap()),
            "MAX(configurationItemCaptureTime)": time(all.iter().map(|item| item.capture_micros).max().unwrap()),
            "MAX(resourceName)": all.iter().map(|item| item.resource_name.clone()).max().unwrap(),
        })],
    );
    {
        let roles = visible(data, |item| item.resource_type == ROLE);
        rows(
            "SELECT configuration.attachedManagedPolicies.policyName, COUNT(*) WHERE resourceType = 'AWS::IAM::Role' GROUP BY configuration.attachedManagedPolicies.policyName ORDER BY configuration.attachedManagedPolicies.policyName DESC",
            0,
            {
                let mut grouped = groups_by(&roles, |item| {
                    item.values("configuration.attachedManagedPolicies.policyName")
                });
                // DESC puts the missing group last too.
                let missing: Vec<_> = grouped
                    .iter()
                    .filter(|(key, _)| key.is_none())
                    .cloned()
                    .collect();
                grouped.retain(|(key, _)| key.is_some());
                grouped.reverse();
                grouped.extend(missing);
                grouped
                    .into_iter()
                    .map(|(key, members)| match key {
                        Some(key) => json!({"configuration": {"attachedManagedPolicies": {"policyName": key}}, "COUNT(*)": members.len()}),
                        None => json!({"COUNT(*)": members.len()}),
                    })
                    .collect()
            },
        );
    }

    // --- unsupported constructs and bad expressions ---
    let mut invalid = |expression: &str, fragment: &'static str| {
        cases.push(Case {
            expression: expression.to_string(),
            page_size: 0,
            expect: Expect::Invalid(fragment),
        });
    };
    invalid(
        "SELECT resourceId FROM config_items",
        "FROM is not supported",
    );
    invalid(
        "SELECT resourceId WHERE resourceId IN (SELECT resourceId WHERE resourceType = 'x')",
        "line 1, column",
    );
    invalid("SELECT DISTINCT resourceType", "DISTINCT");
    invalid("SELECT resourceId AS id", "AS");
    invalid("SELECT resourceId id", "aliases");
    invalid(
        "SELECT resourceType, COUNT(*) GROUP BY resourceType HAVING COUNT(*) > 1",
        "HAVING",
    );
    invalid("SELECT resourceId UNION SELECT arn", "UNION");
    invalid("SELECT ALL resourceId", "ALL");
    invalid(
        "SELECT resourceId WHERE resourceName IS NULL",
        "NULL comparisons",
    );
    invalid(
        "SELECT resourceId WHERE resourceName = NULL",
        "NULL comparisons",
    );
    invalid("SELECT a.resourceId JOIN b", "JOIN");
    invalid("SELECT LOWER(resourceId)", "function LOWER");
    invalid(
        "SELECT resourceId WHERE configuration.size * 2 > 10",
        "operator *",
    );
    invalid(
        "SELECT resourceId WHERE resourceId LIKE '%abc'",
        "only at the end",
    );
    invalid(
        "SELECT resourceId WHERE resourceId LIKE 'ab%'",
        "at least 3",
    );
    invalid(
        "SELECT resourceId WHERE resourceId LIKE 'abc%def'",
        "only at the end",
    );
    invalid("SELECT MAX(LENGTH(resourceId))", "nested inside aggregates");
    invalid("SELECT COUNT(resourceId, arn)", "exactly one argument");
    invalid(
        "SELECT configuration.instanceType WHERE configuration.InstanceType = 'x'",
        "two ways",
    );
    invalid("SELECT colour", "unknown property");
    invalid(
        "SELECT COUNT(*) GROUP BY accountId, awsRegion, resourceType, resourceName",
        "at most 3",
    );
    invalid(
        "SELECT accountId, awsRegion, COUNT(*) GROUP BY accountId, awsRegion ORDER BY COUNT(*)",
        "only one property",
    );
    invalid(
        "SELECT resourceId, COUNT(*) GROUP BY resourceType",
        "GROUP BY",
    );
    invalid("SELECT resourceId WHERE", "syntax error");
    invalid("   ", "empty");
    invalid("SELECT resourceId LIMIT 10", "LIMIT");
    invalid(
        "SELECT resourceId WHERE configurationItemCaptureTime > 'last week'",
        "ISO 8601",
    );
    invalid(
        "SELECT resourceId WHERE configuration.encrypted > false",
        "true and false",
    );
    invalid(
        "SELECT resourceId WHERE resourceCreationTime > '2020-01-01'",
        "resourceCreationTime",
    );
    invalid(
        &format!(
            "SELECT resourceId WHERE resourceId = '{}'",
            "x".repeat(4100)
        ),
        "at most 4096",
    );
    cases
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

async fn query_table(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let data = dataset();
    load(&database.db, &data).await;
    let tokens = PageTokens::new(b"select-test");
    let table = cases(&data);
    assert!(table.len() >= 60, "the table has {} queries", table.len());
    let mut failures = Vec::new();
    for case in &table {
        let outcome = run_all(
            &database.db,
            &tokens,
            &scope(),
            &case.expression,
            case.page_size,
        )
        .await;
        match (&case.expect, outcome) {
            (Expect::Rows(expected), Ok((rows, _))) => {
                // Parse the expectation the way the results were parsed (same float rounding).
                let expected: Vec<Value> =
                    serde_json::from_str(&Value::Array(expected.clone()).to_string()).unwrap();
                if rows != expected {
                    failures.push(format!(
                        "{}\n  expected {}\n  got      {}",
                        case.expression,
                        Value::Array(expected),
                        Value::Array(rows)
                    ));
                }
            }
            (Expect::Rows(_), Err(error)) => {
                failures.push(format!("{}\n  failed: {error}", case.expression));
            }
            (Expect::Invalid(fragment), Err(error)) => {
                let (reason, message) = reason_of(&error);
                if reason != "InvalidExpressionException" || !message.contains(fragment) {
                    failures.push(format!(
                        "{}\n  expected InvalidExpressionException containing {fragment:?}, got {reason}: {message}",
                        case.expression
                    ));
                }
            }
            (Expect::Invalid(_), Ok((rows, _))) => {
                failures.push(format!("{}\n  was accepted: {rows:?}", case.expression));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{backend:?}: {} of {} queries failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

async fn pages_and_limits(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let data = dataset();
    load(&database.db, &data).await;
    let tokens = PageTokens::new(b"select-test");
    let db = &database.db;
    let visible_count = data.iter().filter(|item| item.visible()).count();
    assert!(
        visible_count > 25,
        "the dataset shows {visible_count} items"
    );

    // Plain queries default to 25 rows a page, grouped ones to 500.
    let first = select(
        db,
        &tokens,
        &scope(),
        SelectRequest {
            expression: "SELECT resourceId",
            page_size: 0,
            page_token: "",
        },
    )
    .await
    .unwrap();
    assert_eq!(first.results.len(), 25);
    assert!(!first.next_page_token.is_empty());
    assert_eq!(first.select_fields, vec!["resourceId".to_string()]);
    let second = select(
        db,
        &tokens,
        &scope(),
        SelectRequest {
            expression: "SELECT resourceId",
            page_size: 0,
            page_token: &first.next_page_token,
        },
    )
    .await
    .unwrap();
    assert_eq!(second.results.len(), visible_count - 25);
    assert!(second.next_page_token.is_empty());
    let grouped = select(
        db,
        &tokens,
        &scope(),
        SelectRequest {
            expression: "SELECT resourceId, COUNT(*) GROUP BY resourceId",
            page_size: 0,
            page_token: "",
        },
    )
    .await
    .unwrap();
    assert_eq!(
        grouped.results.len(),
        data.iter()
            .filter(|item| item.visible())
            .map(|item| &item.resource_id)
            .collect::<BTreeSet<_>>()
            .len()
    );
    assert!(grouped.next_page_token.is_empty());
    assert_eq!(
        grouped.select_fields,
        vec!["resourceId".to_string(), "COUNT(*)".to_string()]
    );
    let star = select(
        db,
        &tokens,
        &scope(),
        SelectRequest {
            expression: "SELECT *",
            page_size: 1,
            page_token: "",
        },
    )
    .await
    .unwrap();
    assert_eq!(star.select_fields.len(), 10);

    // Explicit sizes above 100 (and negative ones) are InvalidLimitException.
    for size in [101, -1] {
        let error = select(
            db,
            &tokens,
            &scope(),
            SelectRequest {
                expression: "SELECT resourceId",
                page_size: size,
                page_token: "",
            },
        )
        .await
        .unwrap_err();
        let (reason, message) = reason_of(&error);
        assert_eq!(reason, "InvalidLimitException");
        assert!(message.contains(&size.to_string()), "{message}");
    }
    // The expression is checked before the page size.
    let error = select(
        db,
        &tokens,
        &scope(),
        SelectRequest {
            expression: "SELECT FROM",
            page_size: 101,
            page_token: "",
        },
    )
    .await
    .unwrap_err();
    assert_eq!(reason_of(&error).0, "InvalidExpressionException");

    // A token only continues the query and aggregator it came from.
    let page = select(
        db,
        &tokens,
        &scope(),
        SelectRequest {
            expression: "SELECT resourceId",
            page_size: 5,
            page_token: "",
        },
    )
    .await
    .unwrap();
    for (expression, other_scope) in [
        ("SELECT resourceType", scope()),
        (
            "SELECT resourceId",
            QueryScope {
                aggregator_name: "other".into(),
                ..scope()
            },
        ),
    ] {
        let error = select(
            db,
            &tokens,
            &other_scope,
            SelectRequest {
                expression,
                page_size: 5,
                page_token: &page.next_page_token,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(reason_of(&error).0, "InvalidNextTokenException");
    }
    let error = select(
        db,
        &tokens,
        &scope(),
        SelectRequest {
            expression: "SELECT resourceId",
            page_size: 5,
            page_token: "garbage",
        },
    )
    .await
    .unwrap_err();
    assert_eq!(reason_of(&error).0, "InvalidNextTokenException");
    // The page size may change between pages.
    let rest = run_all(db, &tokens, &scope(), "SELECT resourceId", 7)
        .await
        .unwrap()
        .0;
    let mut token = page.next_page_token.clone();
    let mut continued: Vec<Value> = page
        .results
        .iter()
        .map(|row| serde_json::from_str(row).unwrap())
        .collect();
    while !token.is_empty() {
        let next = select(
            db,
            &tokens,
            &scope(),
            SelectRequest {
                expression: "SELECT resourceId",
                page_size: 9,
                page_token: &token,
            },
        )
        .await
        .unwrap();
        continued.extend(
            next.results
                .iter()
                .map(|row| serde_json::from_str::<Value>(row).unwrap()),
        );
        token = next.next_page_token;
    }
    assert_eq!(continued, rest);
}

async fn scope_filters_and_entitlements(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let data = dataset();
    load(&database.db, &data).await;
    let tokens = PageTokens::new(b"select-test");
    let db = &database.db;

    // The aggregator's resource-type filter.
    let filtered = QueryScope {
        resource_types: Some(vec![BUCKET.into(), ROLE.into()]),
        ..scope()
    };
    let (rows, _) = run_all(
        db,
        &tokens,
        &filtered,
        "SELECT resourceType, COUNT(*) GROUP BY resourceType",
        0,
    )
    .await
    .unwrap();
    let expected: Vec<Value> = [ROLE, BUCKET]
        .into_iter()
        .map(|resource_type| json!({"resourceType": resource_type, "COUNT(*)": data.iter().filter(|item| item.visible() && item.resource_type == resource_type).count()}))
        .collect();
    assert_eq!(rows, expected);
    let nothing = QueryScope {
        resource_types: Some(Vec::new()),
        ..scope()
    };
    assert_eq!(
        run_all(db, &tokens, &nothing, "SELECT COUNT(*)", 0)
            .await
            .unwrap()
            .0,
        vec![json!({"COUNT(*)": 0})]
    );

    // Another aggregator sees only its own pairs.
    let other = QueryScope {
        aggregator_name: "other".into(),
        ..scope()
    };
    let (rows, _) = run_all(
        db,
        &tokens,
        &other,
        "SELECT accountId, COUNT(*) GROUP BY accountId",
        0,
    )
    .await
    .unwrap();
    let expected_count = data
        .iter()
        .filter(|item| {
            item.account == C
                && matches!(
                    item.status,
                    pb::ConfigurationItemStatus::Ok
                        | pb::ConfigurationItemStatus::ResourceDiscovered
                )
        })
        .count();
    assert_eq!(
        rows,
        vec![json!({"accountId": C, "COUNT(*)": expected_count})]
    );

    // A pair that stops being AUTHORIZED disappears at once.
    let before = run_all(
        db,
        &tokens,
        &scope(),
        "SELECT COUNT(*) WHERE accountId = '333333333333'",
        0,
    )
    .await
    .unwrap()
    .0;
    assert_ne!(before, vec![json!({"COUNT(*)": 0})]);
    db.execute_unprepared(
        "UPDATE aggregator_entitlements SET status = 'REVOKED' WHERE aggregator_name = 'main' AND account_id = '333333333333'",
    )
    .await
    .unwrap();
    let after = run_all(
        db,
        &tokens,
        &scope(),
        "SELECT COUNT(*) WHERE accountId = '333333333333'",
        0,
    )
    .await
    .unwrap()
    .0;
    assert_eq!(after, vec![json!({"COUNT(*)": 0})]);
}

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )+
        }
    };
}

on_both_backends!(
    query_table,
    pages_and_limits,
    scope_filters_and_entitlements
);
