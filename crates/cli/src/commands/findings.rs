//! `tributary findings`: Security Hub findings in one region's collector (`SecurityHubService`):
//! import ASFF files, list with simple filters, update what customers own, and read history.

pub mod import;

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use tributary_proto::{aggregator::v1 as aggregator_pb, collector::v1 as pb};

use crate::{
    context::Context,
    output::{label, or_dash, table, time, with_more},
    paging::{PageArgs, fetch},
};

/// Finding subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Import ASFF findings from a JSON array or NDJSON file (`-` reads standard input).
    Import {
        /// The file.
        file: PathBuf,
        /// The region whose collector imports them.
        #[arg(long)]
        region: String,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// List findings, most recently updated first.
    Get {
        /// The region.
        #[arg(long)]
        region: String,
        #[command(flatten)]
        filters: Box<FilterArgs>,
        /// Sort by this attribute (`UpdatedAt`, `SeverityLabel`, `Title`, ...).
        #[arg(long)]
        sort_by: Option<String>,
        /// Sort ascending instead of descending.
        #[arg(long)]
        ascending: bool,
        /// Read the aggregated findings of the finding aggregator whose home region is --region.
        #[arg(long)]
        aggregated: bool,
        /// With --aggregated: whose view to read; operator and service keys must name it.
        #[arg(long, default_value = "")]
        owner: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Update what customers own on findings of one product.
    Update {
        /// The region.
        #[arg(long)]
        region: String,
        /// The findings' product ARN.
        #[arg(long)]
        product_arn: String,
        /// The finding ids, 1-100.
        #[arg(required = true)]
        ids: Vec<String>,
        /// A new workflow status.
        #[arg(long, value_parser = ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"])]
        workflow_status: Option<String>,
        /// A new note.
        #[arg(long)]
        note: Option<String>,
        /// Who writes the note.
        #[arg(long, default_value = "tributary-cli")]
        note_author: String,
        /// A new severity label.
        #[arg(long, value_parser = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"])]
        severity: Option<String>,
        /// A new verification state.
        #[arg(long, value_parser = ["UNKNOWN", "TRUE_POSITIVE", "FALSE_POSITIVE", "BENIGN_POSITIVE"])]
        verification_state: Option<String>,
        /// A new confidence, 0-100.
        #[arg(long)]
        confidence: Option<i32>,
        /// A new criticality, 0-100.
        #[arg(long)]
        criticality: Option<i32>,
        /// A user-defined field as KEY=VALUE (an empty value removes the key); repeatable.
        #[arg(long, value_name = "KEY=VALUE")]
        user_field: Vec<String>,
        /// Update aggregated copies in the home region --region; the change flows back to each
        /// finding's origin region.
        #[arg(long)]
        aggregated: bool,
        /// With --aggregated: the account that updates; operator and service keys must name it.
        #[arg(long, default_value = "")]
        owner: String,
    },
    /// Products whose findings an account accepts.
    #[command(subcommand)]
    Products(ProductsCommand),
    /// The history of one finding, newest first.
    History {
        /// The region.
        #[arg(long)]
        region: String,
        /// The finding's product ARN.
        #[arg(long)]
        product_arn: String,
        /// The finding id.
        id: String,
        #[command(flatten)]
        page: PageArgs,
    },
}

/// Product subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ProductsCommand {
    /// List the region's product catalogue.
    List {
        /// The region.
        #[arg(long)]
        region: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// List the account's product subscriptions.
    Enabled {
        /// The region.
        #[arg(long)]
        region: String,
        /// The account; operator and service keys must name it.
        #[arg(long, default_value = "")]
        account: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Accept a product's findings (e.g. arn:aws:securityhub:us-east-1::product/aws/guardduty).
    Enable {
        /// The region.
        #[arg(long)]
        region: String,
        /// The product ARN.
        product_arn: String,
        /// The account; operator and service keys must name it.
        #[arg(long, default_value = "")]
        account: String,
    },
    /// Stop accepting a product's findings.
    Disable {
        /// The region.
        #[arg(long)]
        region: String,
        /// The subscription ARN (from `findings products enabled`).
        subscription_arn: String,
    },
}

/// Simple finding filters: each flag compares one attribute for equality (values of a repeated
/// flag are ORed), different flags are ANDed.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FilterArgs {
    /// The finding's account.
    #[arg(long = "account")]
    pub accounts: Vec<String>,
    /// The severity label (INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL).
    #[arg(long = "severity")]
    pub severities: Vec<String>,
    /// The workflow status (NEW, NOTIFIED, RESOLVED, SUPPRESSED).
    #[arg(long = "workflow-status")]
    pub workflow_statuses: Vec<String>,
    /// The record state (ACTIVE, ARCHIVED).
    #[arg(long = "record-state")]
    pub record_states: Vec<String>,
    /// The compliance status (PASSED, WARNING, FAILED, NOT_AVAILABLE).
    #[arg(long = "compliance-status")]
    pub compliance_statuses: Vec<String>,
    /// The product's name (GuardDuty, Inspector, ...).
    #[arg(long = "product-name")]
    pub product_names: Vec<String>,
    /// The product ARN.
    #[arg(long = "product-arn")]
    pub product_arns: Vec<String>,
    /// The generator id.
    #[arg(long = "generator-id")]
    pub generator_ids: Vec<String>,
    /// The type of any resource (AwsEc2Instance, AwsS3Bucket, ...).
    #[arg(long = "resource-type")]
    pub resource_types: Vec<String>,
    /// The id of any resource.
    #[arg(long = "resource-id")]
    pub resource_ids: Vec<String>,
    /// The security control id (S3.1, EC2.19, ...).
    #[arg(long = "control-id")]
    pub control_ids: Vec<String>,
    /// The finding id.
    #[arg(long = "id")]
    pub ids: Vec<String>,
    /// Titles starting with this.
    #[arg(long = "title-prefix")]
    pub title_prefixes: Vec<String>,
}

impl FilterArgs {
    /// The filters as the API takes them; none when no flag is given.
    pub fn to_filters(&self) -> Option<pb::FindingFilters> {
        let equals = |values: &[String]| -> Vec<pb::StringFilter> {
            values
                .iter()
                .map(|value| pb::StringFilter {
                    value: value.clone(),
                    comparison: pb::StringFilterComparison::Equals as i32,
                })
                .collect()
        };
        let upper = |values: &[String]| -> Vec<String> {
            values.iter().map(|value| value.to_uppercase()).collect()
        };
        let filters = pb::FindingFilters {
            aws_account_id: equals(&self.accounts),
            severity_label: equals(&upper(&self.severities)),
            workflow_status: equals(&upper(&self.workflow_statuses)),
            record_state: equals(&upper(&self.record_states)),
            compliance_status: equals(&upper(&self.compliance_statuses)),
            product_name: equals(&self.product_names),
            product_arn: equals(&self.product_arns),
            generator_id: equals(&self.generator_ids),
            resource_type: equals(&self.resource_types),
            resource_id: equals(&self.resource_ids),
            compliance_security_control_id: equals(&self.control_ids),
            id: equals(&self.ids),
            title: self
                .title_prefixes
                .iter()
                .map(|value| pb::StringFilter {
                    value: value.clone(),
                    comparison: pb::StringFilterComparison::Prefix as i32,
                })
                .collect(),
            ..Default::default()
        };
        (filters != pb::FindingFilters::default()).then_some(filters)
    }
}

/// Runs a finding subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let output = context.output();
    match command {
        Command::Import {
            file,
            region,
            concurrency,
        } => {
            let summary = import::import_file(context, &file, &region, concurrency, true).await?;
            if output.is_json() {
                output.json(&summary.to_json());
            } else {
                output.line(summary.to_text());
            }
            if summary.failed > 0 {
                bail!(
                    "{} of {} findings were not imported",
                    summary.failed,
                    summary.total
                );
            }
            Ok(())
        }
        Command::Get {
            region,
            filters,
            sort_by,
            ascending,
            aggregated,
            owner,
            page,
        } => {
            let sort = Sort {
                field: sort_by,
                ascending,
            };
            let response = if aggregated {
                get_aggregated_findings(context, &region, &owner, &filters, &sort, &page).await?
            } else {
                get_findings(context, &region, &filters, &sort, &page).await?
            };
            output.message(&response, |response| {
                findings_table(&response.findings, &response.next_page_token)
            })
        }
        Command::Update {
            region,
            product_arn,
            ids,
            workflow_status,
            note,
            note_author,
            severity,
            verification_state,
            confidence,
            criticality,
            user_field,
            aggregated,
            owner,
        } => {
            let mut user_defined_fields = std::collections::HashMap::new();
            for pair in user_field {
                let Some((key, value)) = pair.split_once('=') else {
                    bail!("--user-field takes KEY=VALUE, got {pair:?}");
                };
                user_defined_fields.insert(key.to_string(), value.to_string());
            }
            let request = pb::BatchUpdateFindingsRequest {
                finding_identifiers: ids
                    .iter()
                    .map(|id| pb::FindingIdentifier {
                        id: id.clone(),
                        product_arn: product_arn.clone(),
                    })
                    .collect(),
                note: note.map(|text| pb::FindingNoteUpdate {
                    text,
                    updated_by: note_author,
                }),
                severity: severity.map(|severity| pb::FindingSeverityUpdate {
                    label: pb::SeverityLabel::from_str_name(&format!("SEVERITY_LABEL_{severity}"))
                        .map_or(0, |label| label as i32),
                    ..Default::default()
                }),
                verification_state: verification_state
                    .and_then(|state| {
                        pb::VerificationState::from_str_name(&format!("VERIFICATION_STATE_{state}"))
                    })
                    .map_or(0, |state| state as i32),
                confidence,
                criticality,
                types: Vec::new(),
                user_defined_fields,
                workflow: workflow_status.map(|status| pb::FindingWorkflow {
                    status: pb::WorkflowStatus::from_str_name(&format!("WORKFLOW_STATUS_{status}"))
                        .map_or(0, |status| status as i32),
                }),
                related_findings: Vec::new(),
            };
            let response = if aggregated {
                let response = context
                    .finding_aggregator_client()?
                    .batch_update_findings(aggregator_pb::BatchUpdateFindingsRequest {
                        region: region.clone(),
                        account_id: owner,
                        finding_identifiers: request.finding_identifiers,
                        note: request.note,
                        severity: request.severity,
                        verification_state: request.verification_state,
                        confidence: request.confidence,
                        criticality: request.criticality,
                        types: request.types,
                        user_defined_fields: request.user_defined_fields,
                        workflow: request.workflow,
                        related_findings: request.related_findings,
                    })
                    .await
                    .context("updating aggregated findings")?
                    .into_inner();
                pb::BatchUpdateFindingsResponse {
                    processed_findings: response.processed_findings,
                    unprocessed_findings: response.unprocessed_findings,
                    change_log_seq: 0,
                }
            } else {
                context
                    .findings_client(&region)
                    .await?
                    .batch_update_findings(request)
                    .await
                    .context("updating findings")?
                    .into_inner()
            };
            output.message(&response, |response| {
                let mut text = format!(
                    "updated {} of {} findings",
                    response.processed_findings.len(),
                    ids.len()
                );
                if !response.unprocessed_findings.is_empty() {
                    let mut rows = table(&["finding", "error code", "message"]);
                    for unprocessed in &response.unprocessed_findings {
                        rows.add_row(vec![
                            unprocessed
                                .finding_identifier
                                .as_ref()
                                .map(|identifier| identifier.id.clone())
                                .unwrap_or_default(),
                            unprocessed.error_code.clone(),
                            unprocessed.error_message.clone(),
                        ]);
                    }
                    text.push_str(&format!("\n{rows}"));
                }
                text
            })
        }
        Command::Products(command) => products(context, command).await,
        Command::History {
            region,
            product_arn,
            id,
            page,
        } => {
            let client = context.findings_client(&region).await?;
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::GetFindingHistoryRequest {
                    finding_identifier: Some(pb::FindingIdentifier {
                        id: id.clone(),
                        product_arn: product_arn.clone(),
                    }),
                    start_time: None,
                    end_time: None,
                    page_size: page.page_size,
                    page_token,
                };
                async move { client.get_finding_history(request).await }
            })
            .await
            .with_context(|| format!("reading the history of {id}"))?;
            output.message(&response, |response| {
                let mut rows = table(&["time", "by", "change"]);
                for record in &response.records {
                    let change = if record.finding_created {
                        "created".to_string()
                    } else {
                        record
                            .updates
                            .iter()
                            .map(|update| {
                                format!(
                                    "{}: {} -> {}",
                                    update.updated_field,
                                    or_dash(&update.old_value),
                                    or_dash(&update.new_value)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    };
                    rows.add_row(vec![
                        time(record.update_time.as_ref()),
                        record
                            .update_source
                            .as_ref()
                            .map(|source| source.identity.clone())
                            .unwrap_or_default(),
                        change,
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
    }
}

async fn products(context: &Context, command: ProductsCommand) -> anyhow::Result<()> {
    let output = context.output();
    match command {
        ProductsCommand::List { region, page } => {
            let client = context.findings_client(&region).await?;
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::DescribeProductsRequest {
                    page_size: page.page_size,
                    page_token,
                    product_arn: String::new(),
                };
                async move { client.describe_products(request).await }
            })
            .await
            .with_context(|| format!("listing the products of {region}"))?;
            output.message(&response, |response| {
                let mut rows = table(&["product", "company", "provider", "arn"]);
                for product in &response.products {
                    rows.add_row(vec![
                        product.product_name.clone(),
                        product.company_name.clone(),
                        or_dash(&product.provider_account_id),
                        product.product_arn.clone(),
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        ProductsCommand::Enabled {
            region,
            account,
            page,
        } => {
            let client = context.findings_client(&region).await?;
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::ListEnabledProductsForImportRequest {
                    page_size: page.page_size,
                    page_token,
                    account_id: account.clone(),
                };
                async move { client.list_enabled_products_for_import(request).await }
            })
            .await
            .with_context(|| format!("listing product subscriptions in {region}"))?;
            output.message(&response, |response| {
                let mut rows = table(&["product subscription"]);
                for subscription in &response.product_subscriptions {
                    rows.add_row(vec![subscription.clone()]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        ProductsCommand::Enable {
            region,
            product_arn,
            account,
        } => {
            let response = context
                .findings_client(&region)
                .await?
                .enable_import_findings_for_product(pb::EnableImportFindingsForProductRequest {
                    product_arn: product_arn.clone(),
                    account_id: account,
                })
                .await
                .with_context(|| format!("enabling {product_arn}"))?
                .into_inner();
            output.message(&response, |response| {
                format!("subscribed: {}", response.product_subscription_arn)
            })
        }
        ProductsCommand::Disable {
            region,
            subscription_arn,
        } => {
            let response = context
                .findings_client(&region)
                .await?
                .disable_import_findings_for_product(pb::DisableImportFindingsForProductRequest {
                    product_subscription_arn: subscription_arn.clone(),
                })
                .await
                .with_context(|| format!("disabling {subscription_arn}"))?
                .into_inner();
            output.message(&response, |_| format!("unsubscribed: {subscription_arn}"))
        }
    }
}

/// How to sort findings: by one attribute, descending unless `ascending`.
#[derive(Debug, Clone, Default)]
pub struct Sort {
    /// The attribute (`UpdatedAt`, `SeverityLabel`, ...); none keeps the default order.
    pub field: Option<String>,
    /// Smallest first.
    pub ascending: bool,
}

impl Sort {
    fn criteria(&self) -> Vec<pb::SortCriterion> {
        self.field
            .iter()
            .map(|field| pb::SortCriterion {
                field: field.clone(),
                sort_order: if self.ascending {
                    pb::SortOrder::Ascending
                } else {
                    pb::SortOrder::Descending
                } as i32,
            })
            .collect()
    }
}

/// One page (or, with `--all`, every page) of a region's findings matching `filters`.
pub async fn get_findings(
    context: &Context,
    region: &str,
    filters: &FilterArgs,
    sort: &Sort,
    page: &PageArgs,
) -> anyhow::Result<pb::GetFindingsResponse> {
    let client = context.findings_client(region).await?;
    let sort_criteria = sort.criteria();
    let filters = filters.to_filters();
    fetch(page, |page_token| {
        let mut client = client.clone();
        let request = pb::GetFindingsRequest {
            filters: filters.clone(),
            page_size: page.page_size,
            page_token,
            sort_criteria: sort_criteria.clone(),
        };
        async move { client.get_findings(request).await }
    })
    .await
    .with_context(|| format!("reading findings in {region}"))
}

/// One page (or every page) of the aggregated findings `owner` sees in the home region
/// `region`, in the collector's response shape.
pub async fn get_aggregated_findings(
    context: &Context,
    region: &str,
    owner: &str,
    filters: &FilterArgs,
    sort: &Sort,
    page: &PageArgs,
) -> anyhow::Result<pb::GetFindingsResponse> {
    let client = context.finding_aggregator_client()?;
    let sort_criteria = sort.criteria();
    let filters = filters.to_filters();
    let response = fetch(page, |page_token| {
        let mut client = client.clone();
        let request = aggregator_pb::GetFindingsRequest {
            region: region.to_string(),
            account_id: owner.to_string(),
            filters: filters.clone(),
            page_size: page.page_size,
            page_token,
            sort_criteria: sort_criteria.clone(),
        };
        async move { client.get_findings(request).await }
    })
    .await
    .with_context(|| format!("reading aggregated findings in {region}"))?;
    Ok(pb::GetFindingsResponse {
        findings: response.findings,
        next_page_token: response.next_page_token,
    })
}

/// A severity label's short name.
pub fn severity(finding: &pb::Finding) -> String {
    finding
        .severity
        .as_ref()
        .and_then(|severity| pb::SeverityLabel::try_from(severity.label).ok())
        .map(|label_value| label(label_value.as_str_name(), "SEVERITY_LABEL_"))
        .unwrap_or_default()
}

fn findings_table(findings: &[pb::Finding], next_page_token: &str) -> String {
    let mut rows = table(&[
        "account", "region", "severity", "workflow", "record", "product", "title", "updated", "id",
    ]);
    for finding in findings {
        rows.add_row(vec![
            finding.aws_account_id.clone(),
            finding.region.clone(),
            severity(finding),
            finding
                .workflow
                .as_ref()
                .and_then(|workflow| pb::WorkflowStatus::try_from(workflow.status).ok())
                .map(|status| label(status.as_str_name(), "WORKFLOW_STATUS_"))
                .unwrap_or_default(),
            pb::RecordState::try_from(finding.record_state)
                .map(|state| label(state.as_str_name(), "RECORD_STATE_"))
                .unwrap_or_default(),
            or_dash(&finding.product_name),
            finding.title.clone(),
            time(finding.updated_at.as_ref()),
            finding.id.clone(),
        ]);
    }
    format!(
        "{}\n{} findings",
        with_more(rows, next_page_token),
        findings.len()
    )
}
