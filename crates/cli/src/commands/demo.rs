//! `tributary demo`: seeds a realistic world into a running deployment (normally `tributary up`):
//! an organization of ~20 accounts, Security Hub enabled everywhere with the security account as
//! administrator of every other account, configuration items of common resource types with their
//! rule evaluations and a conformance pack in every account and region, thousands of findings from
//! the AWS integrations, two Config aggregators (organization and listed accounts, with
//! authorizations), a finding aggregator and custom insights. The world is a pure function of
//! `--seed`, `--scale` and the day; running it twice changes nothing a reader would notice
//! (existing things are kept, imports of unchanged findings are ignored).

pub mod findings;
pub mod world;

use std::{collections::BTreeMap, future::Future, time::Duration};

use anyhow::{Context as _, bail};
use indicatif::ProgressBar;
use tokio::task::JoinSet;
use tonic::Code;
use tributary_proto::{
    aggregator::v1 as aggregator_pb, collector::v1 as collector_pb, membership::v1 as membership_pb,
};

use self::world::{CONFORMANCE_PACK, RULES, Resource, Role, World};
use crate::{
    asff::finding_from_asff,
    commands::findings::import::{ImportSummary, import_findings, progress_bar},
    context::Context,
    errors,
    output::table,
};

/// The name of the organization-wide Config aggregator the demo creates.
pub const ORGANIZATION_AGGREGATOR: &str = "organization";
/// The name of the listed-accounts Config aggregator the demo creates.
pub const WORKLOADS_AGGREGATOR: &str = "production-workloads";

/// Options of `tributary demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The seed of the generated world; the same seed gives the same world.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// How much of everything: 1.0 is 20 accounts with ~20 resources and ~50 findings per
    /// account and region; 0.1 is a quick small world.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// How long to wait for the aggregated views to show the seeded resources (0: do not wait).
    #[arg(long, default_value_t = 90)]
    pub wait_seconds: u64,
    /// Draw progress bars (on standard error, when it is a terminal).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub progress: bool,
}

/// What the demo seeded.
#[derive(Debug, Clone, Default)]
pub struct Seeded {
    /// The organization's id.
    pub organization_id: String,
    /// The management account.
    pub management_account: String,
    /// The security account, owner of the aggregators.
    pub security_account: String,
    /// The home region of the aggregators.
    pub home_region: String,
    /// The regions seeded.
    pub regions: Vec<String>,
    /// Accounts in the organization.
    pub accounts: usize,
    /// Configuration items written.
    pub configuration_items: usize,
    /// Configuration items in regions (not the global IAM ones).
    pub regional_configuration_items: usize,
    /// Evaluation results written.
    pub evaluations: usize,
    /// Findings imported.
    pub findings: ImportSummary,
    /// The finding aggregator's ARN.
    pub finding_aggregator_arn: String,
    /// Resources the organization aggregator showed when the demo stopped waiting.
    pub aggregated_resources: i64,
}

/// Runs `tributary demo` and prints what it seeded.
pub async fn run(context: &Context, args: Args) -> anyhow::Result<()> {
    let seeded = seed(context, &args).await?;
    let output = context.output();
    if output.is_json() {
        output.json(&serde_json::json!({
            "organizationId": seeded.organization_id,
            "managementAccount": seeded.management_account,
            "securityAccount": seeded.security_account,
            "homeRegion": seeded.home_region,
            "regions": seeded.regions,
            "accounts": seeded.accounts,
            "configurationItems": seeded.configuration_items,
            "evaluations": seeded.evaluations,
            "findings": seeded.findings.to_json(),
            "configAggregators": [ORGANIZATION_AGGREGATOR, WORKLOADS_AGGREGATOR],
            "findingAggregatorArn": seeded.finding_aggregator_arn,
            "aggregatedResources": seeded.aggregated_resources,
        }));
        return Ok(());
    }
    let mut rows = table(&["what", "seeded"]);
    for (what, value) in [
        ("organization", seeded.organization_id.clone()),
        ("accounts", seeded.accounts.to_string()),
        ("regions", seeded.regions.join(", ")),
        (
            "configuration items",
            seeded.configuration_items.to_string(),
        ),
        ("rule evaluations", seeded.evaluations.to_string()),
        (
            "findings",
            format!(
                "{} imported of {}",
                seeded.findings.imported, seeded.findings.total
            ),
        ),
        (
            "config aggregators",
            format!("{ORGANIZATION_AGGREGATOR}, {WORKLOADS_AGGREGATOR}"),
        ),
        ("finding aggregator", seeded.finding_aggregator_arn.clone()),
        (
            "aggregated resources",
            seeded.aggregated_resources.to_string(),
        ),
    ] {
        rows.add_row(vec![what.to_string(), value]);
    }
    let security = &seeded.security_account;
    let home = &seeded.home_region;
    output.line(format!(
        "{rows}\nthe security account {security} owns the aggregators; try:\n  \
         tributary --as-account {security} config-aggregators resource-counts --name {ORGANIZATION_AGGREGATOR} --region {home} --group-by resource-type\n  \
         tributary --as-account {security} select --name {ORGANIZATION_AGGREGATOR} --region {home} \"SELECT accountId, COUNT(*) WHERE resourceType = 'AWS::EC2::Instance' GROUP BY accountId\"\n  \
         tributary --as-account {security} findings get --region {home} --severity CRITICAL --account {}\n  \
         tributary status --home-region {home} --owner {security}",
        seeded.management_account
    ));
    if seeded.findings.failed > 0 {
        output.line(seeded.findings.to_text());
    }
    Ok(())
}

/// Seeds the world and returns what it wrote.
pub async fn seed(context: &Context, args: &Args) -> anyhow::Result<Seeded> {
    if !(args.scale > 0.0 && args.scale <= 50.0) {
        bail!("--scale must be above 0 and at most 50");
    }
    let operator = context.with_key(context.operator_key()?);
    let regions = seed_regions(&operator).await?;
    let now = chrono::Utc::now().timestamp();
    let world = World::new(args.seed, args.scale, regions, now);
    let concurrency = args.concurrency.max(1);
    let bar = |length: usize, message: &str| {
        if args.progress {
            progress_bar(length as u64, message)
        } else {
            ProgressBar::hidden()
        }
    };

    let organization_id =
        seed_organization(&operator, &world, &bar(world.accounts.len(), "accounts")).await?;
    let management = operator.with_key(&operator.account_key(&world.management().id).await?);
    let security = operator.with_key(&operator.account_key(&world.security().id).await?);

    let hub_bar = bar(world.regions.len(), "security hub");
    for region in &world.regions {
        seed_hub(&management, &security, &world, region).await?;
        hub_bar.inc(1);
    }
    hub_bar.finish_and_clear();

    let products_bar = bar(world.accounts.len() * world.regions.len(), "products");
    let mut tasks = Tasks::new(concurrency, &products_bar);
    for account in &world.accounts {
        for region in &world.regions {
            let operator = operator.clone();
            let account_id = account.id.clone();
            let region = region.clone();
            tasks
                .spawn(async move { enable_products(&operator, &account_id, &region).await })
                .await?;
        }
    }
    tasks.finish().await?;

    let config_bar = bar(world.accounts.len() * world.regions.len(), "configuration");
    let mut tasks = Tasks::new(concurrency, &config_bar);
    let mut configuration_items = 0;
    let mut regional_configuration_items = 0;
    let mut evaluations = 0;
    let mut findings_by_region: BTreeMap<String, Vec<collector_pb::Finding>> = BTreeMap::new();
    for account in &world.accounts {
        for region in &world.regions {
            let resources = world::resources(&world, account, region);
            configuration_items += resources.len();
            regional_configuration_items += resources
                .iter()
                .filter(|resource| !resource.item.resource_type.starts_with("AWS::IAM::"))
                .count();
            evaluations += resources
                .iter()
                .map(|resource| resource.evaluations.len())
                .sum::<usize>();
            let generated = findings::findings(&world, account, region, &resources);
            let typed = findings_by_region.entry(region.clone()).or_default();
            for value in &generated {
                let mapped = finding_from_asff(value).map_err(|error| {
                    anyhow::anyhow!("demo finding {} does not map: {}", error.id, error.message)
                })?;
                typed.push(mapped.finding);
            }
            let operator = operator.clone();
            let account_id = account.id.clone();
            let region = region.clone();
            let home = region == world.home();
            let anchor = world.time(3_600);
            tasks
                .spawn(async move {
                    seed_configuration(&operator, &account_id, &region, home, resources, anchor)
                        .await
                })
                .await?;
        }
    }
    tasks.finish().await?;

    let finding_aggregator_arn = seed_aggregators(&operator, &security, &world).await?;

    let total: usize = findings_by_region.values().map(Vec::len).sum();
    let findings_bar = bar(total, "findings");
    let mut summary = ImportSummary {
        region: world.regions.join(","),
        total,
        ..ImportSummary::default()
    };
    for (region, findings) in findings_by_region {
        import_findings(
            &operator,
            &region,
            findings,
            concurrency.min(4),
            &findings_bar,
            &mut summary,
        )
        .await?;
    }
    findings_bar.finish_and_clear();

    seed_insights(&operator, &world).await?;

    let aggregated_resources = wait_for_views(
        &operator,
        &world,
        regional_configuration_items,
        Duration::from_secs(args.wait_seconds),
        args.progress,
    )
    .await?;

    Ok(Seeded {
        organization_id,
        management_account: world.management().id.clone(),
        security_account: world.security().id.clone(),
        home_region: world.home().to_string(),
        regions: world.regions.clone(),
        accounts: world.accounts.len(),
        configuration_items,
        regional_configuration_items,
        evaluations,
        findings: summary,
        finding_aggregator_arn,
        aggregated_resources,
    })
}

/// At most `limit` futures in flight, each finished one advancing `bar`; the first failure is
/// reported.
struct Tasks {
    limit: usize,
    set: JoinSet<anyhow::Result<()>>,
    bar: ProgressBar,
}

impl Tasks {
    fn new(limit: usize, bar: &ProgressBar) -> Self {
        Self {
            limit,
            set: JoinSet::new(),
            bar: bar.clone(),
        }
    }

    async fn spawn(
        &mut self,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> anyhow::Result<()> {
        while self.set.len() >= self.limit {
            self.join_one().await?;
        }
        self.set.spawn(task);
        Ok(())
    }

    async fn join_one(&mut self) -> anyhow::Result<()> {
        if let Some(done) = self.set.join_next().await {
            self.bar.inc(1);
            done.context("a demo task failed")??;
        }
        Ok(())
    }

    async fn finish(mut self) -> anyhow::Result<()> {
        while !self.set.is_empty() {
            self.join_one().await?;
        }
        self.bar.finish_and_clear();
        Ok(())
    }
}

/// Ok(true) when the call created something, Ok(false) when it existed already (any of
/// `tolerated` codes), the error otherwise.
fn created<T>(result: Result<T, tonic::Status>, tolerated: &[Code]) -> Result<bool, tonic::Status> {
    match result {
        Ok(_) => Ok(true),
        Err(status) if tolerated.contains(&status.code()) => Ok(false),
        Err(status) => Err(status),
    }
}

/// The registered regions that are not opt-in, `us-east-1` (or the first) first.
async fn seed_regions(operator: &Context) -> anyhow::Result<Vec<String>> {
    let listed = operator
        .region_client()?
        .list_regions(membership_pb::ListRegionsRequest {
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .context("listing regions")?
        .into_inner();
    let mut regions: Vec<String> = listed
        .regions
        .into_iter()
        .filter(|region| !region.opt_in)
        .map(|region| region.region_name)
        .collect();
    if regions.is_empty() {
        bail!("no region is registered: start `tributary up` (or register regions) first");
    }
    if let Some(index) = regions.iter().position(|region| region == "us-east-1") {
        let home = regions.remove(index);
        regions.insert(0, home);
    }
    Ok(regions)
}

/// Creates the accounts and the organization; returns the organization's id.
async fn seed_organization(
    operator: &Context,
    world: &World,
    bar: &ProgressBar,
) -> anyhow::Result<String> {
    let mut organizations = operator.organization_client()?;
    let management = world.management();
    created(
        organizations
            .create_account(membership_pb::CreateAccountRequest {
                account_id: management.id.clone(),
                name: management.name.clone(),
                email: format!("aws+{}@example.com", management.name),
                organization_id: String::new(),
            })
            .await,
        &[Code::AlreadyExists],
    )
    .with_context(|| format!("creating the management account {}", management.id))?;
    created(
        organizations
            .create_organization(membership_pb::CreateOrganizationRequest {
                management_account_id: management.id.clone(),
                feature_set: membership_pb::FeatureSet::All as i32,
            })
            .await,
        &[Code::AlreadyExists],
    )
    .context("creating the organization")?;
    let organization_id = organizations
        .describe_account(membership_pb::DescribeAccountRequest {
            account_id: management.id.clone(),
        })
        .await
        .context("reading the management account")?
        .into_inner()
        .account
        .map(|account| account.organization_id)
        .unwrap_or_default();
    if organization_id.is_empty() {
        bail!(
            "the management account {} is in no organization",
            management.id
        );
    }
    bar.inc(1);
    for account in &world.accounts[1..] {
        created(
            organizations
                .create_account(membership_pb::CreateAccountRequest {
                    account_id: account.id.clone(),
                    name: account.name.clone(),
                    email: format!("aws+{}@example.com", account.name),
                    organization_id: organization_id.clone(),
                })
                .await,
            &[Code::AlreadyExists],
        )
        .with_context(|| format!("creating account {} ({})", account.id, account.name))?;
        bar.inc(1);
    }
    for service in ["config.amazonaws.com", "securityhub.amazonaws.com"] {
        organizations
            .enable_service_access(membership_pb::EnableServiceAccessRequest {
                organization_id: organization_id.clone(),
                service_principal: service.to_string(),
            })
            .await
            .with_context(|| format!("enabling trusted access for {service}"))?;
    }
    created(
        organizations
            .register_delegated_administrator(
                membership_pb::RegisterDelegatedAdministratorRequest {
                    organization_id: organization_id.clone(),
                    account_id: world.security().id.clone(),
                    service_principal: "config.amazonaws.com".to_string(),
                },
            )
            .await,
        &[Code::AlreadyExists],
    )
    .context("registering the security account as Config's delegated administrator")?;
    bar.finish_and_clear();
    Ok(organization_id)
}

/// Security Hub in `region`: the management account's hub, the security account as the
/// organization's administrator, every other account its Enabled member.
async fn seed_hub(
    management: &Context,
    security: &Context,
    world: &World,
    region: &str,
) -> anyhow::Result<()> {
    created(
        management
            .hub_client()?
            .enable_security_hub(membership_pb::EnableSecurityHubRequest {
                region: region.to_string(),
                ..Default::default()
            })
            .await,
        &[Code::AlreadyExists],
    )
    .with_context(|| format!("enabling the management account's hub in {region}"))?;
    management
        .hub_client()?
        .enable_organization_admin_account(membership_pb::EnableOrganizationAdminAccountRequest {
            region: region.to_string(),
            admin_account_id: world.security().id.clone(),
        })
        .await
        .with_context(|| format!("designating the security account in {region}"))?;
    let mut hub = security.hub_client()?;
    hub.update_organization_configuration(membership_pb::UpdateOrganizationConfigurationRequest {
        region: region.to_string(),
        auto_enable: true,
        auto_enable_standards: membership_pb::AutoEnableStandards::Default as i32,
    })
    .await
    .with_context(|| format!("turning on auto-enable in {region}"))?;
    let members: Vec<String> = world
        .accounts
        .iter()
        .filter(|account| account.role != Role::Security)
        .map(|account| account.id.clone())
        .collect();
    for chunk in members.chunks(50) {
        hub.create_members(membership_pb::CreateMembersRequest {
            region: region.to_string(),
            account_details: chunk
                .iter()
                .map(|account_id| membership_pb::AccountDetails {
                    account_id: account_id.clone(),
                    email: String::new(),
                })
                .collect(),
        })
        .await
        .with_context(|| format!("adding members in {region}"))?;
    }
    Ok(())
}

/// Lets `account_id` accept the built-in products' findings in `region`, and enables the default
/// standards there (enabling an enabled standard keeps it).
async fn enable_products(operator: &Context, account_id: &str, region: &str) -> anyhow::Result<()> {
    let mut client = operator.findings_client(region).await?;
    client
        .batch_enable_standards(collector_pb::BatchEnableStandardsRequest {
            standards_subscription_requests: [
                format!(
                    "arn:aws:securityhub:{region}::standards/aws-foundational-security-best-practices/v/1.0.0"
                ),
                "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0".to_string(),
            ]
            .into_iter()
            .map(|standards_arn| collector_pb::StandardsSubscriptionRequest {
                standards_arn,
                standards_input: Default::default(),
            })
            .collect(),
            account_id: account_id.to_string(),
        })
        .await
        .with_context(|| format!("enabling the default standards of {account_id} in {region}"))?;
    for (path, _) in findings::PRODUCTS {
        created(
            client
                .enable_import_findings_for_product(
                    collector_pb::EnableImportFindingsForProductRequest {
                        product_arn: findings::product_arn(region, path),
                        account_id: account_id.to_string(),
                    },
                )
                .await,
            &[Code::AlreadyExists],
        )
        .with_context(|| format!("enabling {path} for {account_id} in {region}"))?;
    }
    Ok(())
}

/// The recorder, resources, rules, evaluations and conformance pack of one account in one region.
async fn seed_configuration(
    operator: &Context,
    account_id: &str,
    region: &str,
    home: bool,
    resources: Vec<Resource>,
    evaluated_at: prost_types::Timestamp,
) -> anyhow::Result<()> {
    let mut config = operator.config_client(region).await?;
    config
        .put_configuration_recorder(collector_pb::PutConfigurationRecorderRequest {
            account_id: account_id.to_string(),
            configuration_recorder: Some(collector_pb::ConfigurationRecorder {
                name: "default".to_string(),
                recording_group: Some(collector_pb::RecordingGroup {
                    all_supported: true,
                    include_global_resource_types: home,
                    resource_types: Vec::new(),
                }),
            }),
        })
        .await
        .with_context(|| format!("putting the recorder of {account_id} in {region}"))?;
    config
        .start_configuration_recorder(collector_pb::StartConfigurationRecorderRequest {
            account_id: account_id.to_string(),
            configuration_recorder_name: "default".to_string(),
        })
        .await
        .with_context(|| format!("starting the recorder of {account_id} in {region}"))?;
    for chunk in resources.chunks(100) {
        config
            .put_configuration_items(collector_pb::PutConfigurationItemsRequest {
                account_id: account_id.to_string(),
                items: chunk.iter().map(|resource| resource.item.clone()).collect(),
            })
            .await
            .with_context(|| format!("recording the resources of {account_id} in {region}"))?;
    }
    let mut compliance = operator.compliance_client(region).await?;
    for (name, identifier, types, description) in RULES {
        compliance
            .put_config_rule(collector_pb::PutConfigRuleRequest {
                account_id: account_id.to_string(),
                config_rule: Some(collector_pb::ConfigRule {
                    config_rule_name: name.to_string(),
                    description: description.to_string(),
                    scope: Some(collector_pb::ConfigRuleScope {
                        compliance_resource_types: types
                            .iter()
                            .map(|kind| kind.to_string())
                            .collect(),
                        ..Default::default()
                    }),
                    source: Some(collector_pb::ConfigRuleSource {
                        owner: collector_pb::ConfigRuleSourceOwner::Aws as i32,
                        source_identifier: identifier.to_string(),
                    }),
                    input_parameters: if name == "required-tags" {
                        r#"{"tag1Key":"Owner","tag2Key":"CostCenter"}"#.to_string()
                    } else {
                        String::new()
                    },
                    ..Default::default()
                }),
            })
            .await
            .with_context(|| format!("putting rule {name} of {account_id} in {region}"))?;
    }
    let evaluations: Vec<collector_pb::EvaluationInput> = resources
        .iter()
        .flat_map(|resource| {
            resource
                .evaluations
                .iter()
                .map(
                    |(rule, compliance_type, annotation)| collector_pb::EvaluationInput {
                        config_rule_name: rule.to_string(),
                        compliance_resource_type: resource.item.resource_type.clone(),
                        compliance_resource_id: resource.item.resource_id.clone(),
                        compliance_type: *compliance_type as i32,
                        annotation: annotation.clone(),
                        ordering_timestamp: Some(evaluated_at),
                    },
                )
        })
        .collect();
    for chunk in evaluations.chunks(100) {
        compliance
            .put_evaluations(collector_pb::PutEvaluationsRequest {
                account_id: account_id.to_string(),
                evaluations: chunk.to_vec(),
            })
            .await
            .with_context(|| format!("recording the evaluations of {account_id} in {region}"))?;
    }
    compliance
        .put_conformance_pack(collector_pb::PutConformancePackRequest {
            account_id: account_id.to_string(),
            conformance_pack_name: CONFORMANCE_PACK.to_string(),
            config_rule_names: RULES.iter().map(|(name, ..)| name.to_string()).collect(),
        })
        .await
        .with_context(|| format!("putting the conformance pack of {account_id} in {region}"))?;
    Ok(())
}

/// The Config aggregators (organization; listed production accounts with their
/// authorizations) and the finding aggregator, all owned by the security account in the home
/// region. Returns the finding aggregator's ARN.
async fn seed_aggregators(
    operator: &Context,
    security: &Context,
    world: &World,
) -> anyhow::Result<String> {
    let owner = world.security().id.clone();
    let home = world.home().to_string();
    let mut config_aggregators = operator.config_aggregator_client()?;
    config_aggregators
        .put_configuration_aggregator(aggregator_pb::PutConfigurationAggregatorRequest {
            owner_account_id: owner.clone(),
            region: home.clone(),
            configuration_aggregator_name: ORGANIZATION_AGGREGATOR.to_string(),
            account_aggregation_sources: Vec::new(),
            organization_aggregation_source: Some(aggregator_pb::OrganizationAggregationSource {
                role_arn: format!(
                    "arn:aws:iam::{owner}:role/aws-service-role/organizations.amazonaws.com/AWSServiceRoleForConfig"
                ),
                aws_regions: Vec::new(),
                all_aws_regions: true,
            }),
            tags: Vec::new(),
            aggregator_filters: None,
        })
        .await
        .context("putting the organization aggregator")?;

    // Production workloads authorize the security account's aggregators in every region.
    let sources: Vec<&world::Account> = world
        .accounts
        .iter()
        .filter(|account| account.role == Role::Workload && account.stage == "prod")
        .take(3)
        .collect();
    for source in &sources {
        let key = operator.account_key(&source.id).await?;
        let mut authorizations = operator.with_key(&key).authorization_client()?;
        for region in &world.regions {
            authorizations
                .put_aggregation_authorization(membership_pb::PutAggregationAuthorizationRequest {
                    region: region.clone(),
                    authorized_account_id: owner.clone(),
                    authorized_aws_region: home.clone(),
                    tags: Vec::new(),
                })
                .await
                .with_context(|| {
                    format!("authorizing the aggregator from {} in {region}", source.id)
                })?;
        }
    }
    if !sources.is_empty() {
        config_aggregators
            .put_configuration_aggregator(aggregator_pb::PutConfigurationAggregatorRequest {
                owner_account_id: owner.clone(),
                region: home.clone(),
                configuration_aggregator_name: WORKLOADS_AGGREGATOR.to_string(),
                account_aggregation_sources: vec![aggregator_pb::AccountAggregationSource {
                    account_ids: sources.iter().map(|account| account.id.clone()).collect(),
                    all_aws_regions: true,
                    aws_regions: Vec::new(),
                }],
                organization_aggregation_source: None,
                tags: Vec::new(),
                aggregator_filters: None,
            })
            .await
            .context("putting the production workloads aggregator")?;
    }

    let mut finding_aggregators = security.finding_aggregator_client()?;
    let created_aggregator = finding_aggregators
        .create_finding_aggregator(aggregator_pb::CreateFindingAggregatorRequest {
            owner_account_id: String::new(),
            region: home.clone(),
            region_linking_mode: aggregator_pb::RegionLinkingMode::AllRegions as i32,
            regions: Vec::new(),
            backfill_existing_findings: true,
        })
        .await;
    match created_aggregator {
        Ok(response) => Ok(response.into_inner().finding_aggregator_arn),
        Err(status) if status.code() == Code::ResourceExhausted => {
            let listed = finding_aggregators
                .list_finding_aggregators(aggregator_pb::ListFindingAggregatorsRequest::default())
                .await
                .context("listing the existing finding aggregator")?
                .into_inner();
            Ok(listed
                .finding_aggregators
                .into_iter()
                .next()
                .map(|aggregator| aggregator.finding_aggregator_arn)
                .unwrap_or_default())
        }
        Err(status) => Err(status).context("creating the finding aggregator"),
    }
}

/// Custom insights of the security account in the home region.
async fn seed_insights(operator: &Context, world: &World) -> anyhow::Result<()> {
    let mut client = operator.findings_client(world.home()).await?;
    let equals = |values: &[&str]| -> Vec<collector_pb::StringFilter> {
        values
            .iter()
            .map(|value| collector_pb::StringFilter {
                value: value.to_string(),
                comparison: collector_pb::StringFilterComparison::Equals as i32,
            })
            .collect()
    };
    let insights = [
        (
            "Critical and high findings by resource type",
            collector_pb::FindingFilters {
                severity_label: equals(&["CRITICAL", "HIGH"]),
                record_state: equals(&["ACTIVE"]),
                ..Default::default()
            },
            "ResourceType",
        ),
        (
            "Failed security controls",
            collector_pb::FindingFilters {
                compliance_status: equals(&["FAILED"]),
                record_state: equals(&["ACTIVE"]),
                ..Default::default()
            },
            "ComplianceSecurityControlId",
        ),
        (
            "Findings by product",
            collector_pb::FindingFilters {
                record_state: equals(&["ACTIVE"]),
                ..Default::default()
            },
            "ProductName",
        ),
    ];
    for (name, filters, group_by) in insights {
        created(
            client
                .create_insight(collector_pb::CreateInsightRequest {
                    name: name.to_string(),
                    filters: Some(filters),
                    group_by_attribute: group_by.to_string(),
                    account_id: world.security().id.clone(),
                })
                .await,
            &[Code::AlreadyExists],
        )
        .with_context(|| format!("creating insight {name:?}"))?;
    }
    Ok(())
}

/// Waits until the organization aggregator shows the seeded regional resources, or `deadline`
/// passes; returns what it last showed.
async fn wait_for_views(
    operator: &Context,
    world: &World,
    expected: usize,
    deadline: Duration,
    show_progress: bool,
) -> anyhow::Result<i64> {
    let bar = if show_progress {
        progress_bar(expected as u64, "replicating")
    } else {
        ProgressBar::hidden()
    };
    let give_up = tokio::time::Instant::now() + deadline;
    let mut client = operator.config_aggregator_client()?;
    let mut shown = 0;
    loop {
        let counted = client
            .get_aggregate_discovered_resource_counts(
                aggregator_pb::GetAggregateDiscoveredResourceCountsRequest {
                    owner_account_id: world.security().id.clone(),
                    region: world.home().to_string(),
                    configuration_aggregator_name: ORGANIZATION_AGGREGATOR.to_string(),
                    ..Default::default()
                },
            )
            .await;
        match counted {
            Ok(response) => shown = response.into_inner().total_discovered_resources,
            Err(status) => {
                bar.abandon();
                eprintln!(
                    "warning: the aggregated views are not readable yet: {}",
                    errors::describe_status(&status)
                );
                return Ok(shown);
            }
        }
        bar.set_position(shown.max(0) as u64);
        if shown >= expected as i64 || tokio::time::Instant::now() >= give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bar.finish_and_clear();
    if shown < expected as i64 && !deadline.is_zero() {
        eprintln!(
            "warning: the organization aggregator shows {shown} of {expected} resources after \
             {deadline:?}; replication continues (see `tributary status`)"
        );
    }
    Ok(shown)
}
