//! Product integrations of this region: the catalogue of products whose findings accounts can
//! accept, and each account's subscriptions (EnableImportFindingsForProduct and friends).
//!
//! A product ARN is `arn:aws:securityhub:<region>:<provider account>:product/<company>/<product>`.
//! Built-in integrations have an empty provider account and are imported by Tributary's service
//! keys. Every account also has its own default product
//! (`arn:aws:securityhub:<region>:<account>:product/<account>/default`), which its own hub always
//! accepts; another account that enables it accepts that account's findings, which makes the
//! account a provider for it. BatchImportFindings checks every finding against these rules.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{
    auth::Caller,
    paging::{Direction, PageTokens, keyset_after, page_size},
};

use crate::{
    access::{AccountAccess, acting_account, hub_not_enabled},
    error::{Error, Result, reason},
    findings::inputs::parse_product_arn,
    store::product_subscriptions as table,
};

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 100;

/// One built-in integration: `product/<company>/<product>` with an empty provider account.
struct BuiltIn {
    company: &'static str,
    product: &'static str,
    name: &'static str,
    company_name: &'static str,
    description: &'static str,
    category: &'static str,
}

/// The built-in integrations, in ARN order.
const BUILT_IN: [BuiltIn; 6] = [
    BuiltIn {
        company: "aws",
        product: "access-analyzer",
        name: "IAM Access Analyzer",
        company_name: "AWS",
        description: "Findings about resources shared outside the account or organization.",
        category: "AWS Service",
    },
    BuiltIn {
        company: "aws",
        product: "config",
        name: "Config",
        company_name: "AWS",
        description: "Findings from Config rule evaluations.",
        category: "AWS Service",
    },
    BuiltIn {
        company: "aws",
        product: "guardduty",
        name: "GuardDuty",
        company_name: "AWS",
        description: "Threat detection findings.",
        category: "Intrusion Detection Systems (IDS)",
    },
    BuiltIn {
        company: "aws",
        product: "inspector",
        name: "Inspector",
        company_name: "AWS",
        description: "Software vulnerability and network exposure findings.",
        category: "Vulnerability Management",
    },
    BuiltIn {
        company: "aws",
        product: "macie",
        name: "Macie",
        company_name: "AWS",
        description: "Sensitive data findings.",
        category: "Data Protection",
    },
    BuiltIn {
        company: "aws",
        product: "securityhub",
        name: "Security Hub",
        company_name: "AWS",
        description: "Control findings of the enabled security standards.",
        category: "AWS Service",
    },
];

/// Who may import a product's findings into the accounts that enabled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// Tributary's service keys (built-in integrations).
    Services,
    /// This account (its default product).
    Account(String),
}

/// A product of a region's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Its ARN.
    pub product_arn: String,
    /// Its name.
    pub name: String,
    /// Its company.
    pub company_name: String,
    /// What it does.
    pub description: String,
    /// Its category.
    pub category: String,
    /// Who imports its findings.
    pub provider: Provider,
}

impl From<Product> for pb::Product {
    fn from(product: Product) -> Self {
        Self {
            product_arn: product.product_arn,
            product_name: product.name,
            company_name: product.company_name,
            description: product.description,
            categories: vec![product.category],
            provider_account_id: match product.provider {
                Provider::Services => String::new(),
                Provider::Account(account_id) => account_id,
            },
        }
    }
}

/// The ARN of an account's default product in `region`.
pub fn default_product_arn(region: &str, account_id: &str) -> String {
    format!("arn:aws:securityhub:{region}:{account_id}:product/{account_id}/default")
}

fn built_in_arn(region: &str, built_in: &BuiltIn) -> String {
    format!(
        "arn:aws:securityhub:{region}::product/{}/{}",
        built_in.company, built_in.product
    )
}

/// The catalogue entry of `product_arn` in `region`: a built-in integration, or an account's
/// default product. Anything else is not a product here.
pub fn describe(region: &str, product_arn: &str) -> Option<Product> {
    let (arn_region, company, product) = parse_product_arn(product_arn)?;
    let account = product_arn.split(':').nth(4)?;
    if arn_region != region || !product_arn.starts_with("arn:aws:securityhub:") {
        return None;
    }
    if account.is_empty() {
        let built_in = BUILT_IN
            .iter()
            .find(|built_in| built_in.company == company && built_in.product == product)?;
        return Some(Product {
            product_arn: product_arn.to_string(),
            name: built_in.name.into(),
            company_name: built_in.company_name.into(),
            description: built_in.description.into(),
            category: built_in.category.into(),
            provider: Provider::Services,
        });
    }
    let is_default = company == account
        && product == "default"
        && tributary_runtime::ids::validate_account_id(account).is_ok();
    is_default.then(|| Product {
        product_arn: product_arn.to_string(),
        name: "Default".into(),
        company_name: account.to_string(),
        description: format!("Findings account {account} imports itself."),
        category: "Custom".into(),
        provider: Provider::Account(account.to_string()),
    })
}

/// True when `caller` provides `product_arn`: it may import the product's findings into every
/// account that enabled it.
pub fn provides(region: &str, caller: &Caller, product_arn: &str) -> bool {
    match (acting_account(caller), describe(region, product_arn)) {
        (None, Some(_)) => true,
        (
            Some(account_id),
            Some(Product {
                provider: Provider::Account(provider),
                ..
            }),
        ) => provider == account_id,
        _ => false,
    }
}

/// True when `account_id` accepts findings of `product_arn`: its own default product, or a
/// product it enabled.
pub async fn accepts(
    connection: &impl ConnectionTrait,
    region: &str,
    account_id: &str,
    product_arn: &str,
) -> Result<bool> {
    if product_arn == default_product_arn(region, account_id) {
        return Ok(true);
    }
    Ok(
        table::Entity::find_by_id((account_id.to_string(), product_arn.to_string()))
            .one(connection)
            .await?
            .is_some(),
    )
}

/// The subscription ARN of `account_id` to `product_arn` (a catalogue product of `region`).
fn subscription_arn(region: &str, account_id: &str, product_arn: &str) -> String {
    let path = product_arn
        .split_once(":product/")
        .map_or("", |(_, path)| path);
    format!("arn:aws:securityhub:{region}:{account_id}:product-subscription/{path}")
}

/// The product subscriptions of this region.
pub struct Products {
    db: DatabaseConnection,
    page_tokens: PageTokens,
    region: String,
    access: AccountAccess,
}

impl Products {
    /// Subscriptions stored in `db` for `region`.
    pub fn new(
        db: DatabaseConnection,
        page_tokens: PageTokens,
        region: String,
        access: AccountAccess,
    ) -> Self {
        Self {
            db,
            page_tokens,
            region,
            access,
        }
    }

    /// The account a call acts for: an account key's own (naming another is
    /// `AccessDeniedException`), or the one a service or operator key names. Its hub must be
    /// enabled here (`InvalidAccessException`).
    async fn target_account(&self, caller: &Caller, requested: &str) -> Result<String> {
        let account_id = match acting_account(caller) {
            Some(own) if requested.is_empty() || requested == own => own.to_string(),
            Some(own) => {
                return Err(Error::access_denied(format!(
                    "account {own} manages only its own product subscriptions, not account \
                     {requested}'s"
                )));
            }
            None => {
                tributary_runtime::ids::validate_account_id(requested).map_err(|message| {
                    Error::invalid_field(
                        reason::INVALID_INPUT,
                        "account_id",
                        format!("a service or operator key must name the account: {message}"),
                    )
                })?;
                requested.to_string()
            }
        };
        if !self.access.hub_status(&account_id).await?.enabled {
            return Err(hub_not_enabled(&account_id));
        }
        Ok(account_id)
    }

    /// Starts accepting `product_arn`'s findings in the account; returns the subscription ARN.
    pub async fn enable(
        &self,
        caller: &Caller,
        product_arn: &str,
        account_id: &str,
    ) -> Result<String> {
        let Some(product) = describe(&self.region, product_arn) else {
            return Err(Error::invalid_field(
                reason::INVALID_INPUT,
                "product_arn",
                format!(
                    "{} is not a product of region {}; DescribeProducts lists them",
                    tributary_runtime::ids::truncate_for_message(product_arn),
                    self.region
                ),
            ));
        };
        let account_id = self.target_account(caller, account_id).await?;
        let subscription = subscription_arn(&self.region, &account_id, &product.product_arn);
        let inserted = table::Entity::insert(table::ActiveModel {
            account_id: Set(account_id.clone()),
            product_arn: Set(product.product_arn.clone()),
            enabled_at: Set(tributary_runtime::time::now()),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(&self.db)
        .await?;
        if !matches!(inserted, sea_orm::TryInsertResult::Inserted(rows) if rows > 0) {
            return Err(Error::Conflict {
                reason: reason::RESOURCE_CONFLICT,
                message: format!(
                    "account {account_id} already imports findings from {}",
                    product.product_arn
                ),
            });
        }
        Ok(subscription)
    }

    /// Stops accepting the product of `subscription_arn` in its account.
    pub async fn disable(&self, caller: &Caller, subscription_arn: &str) -> Result<()> {
        let not_found = || {
            Error::not_found(
                tributary_runtime::error::reason::RESOURCE_NOT_FOUND,
                format!(
                    "no product subscription {} in region {}",
                    tributary_runtime::ids::truncate_for_message(subscription_arn),
                    self.region
                ),
            )
        };
        let parts: Vec<&str> = subscription_arn.splitn(6, ':').collect();
        let [_, _, _, region, account_id, resource] = parts.as_slice() else {
            return Err(not_found());
        };
        let Some(path) = resource.strip_prefix("product-subscription/") else {
            return Err(not_found());
        };
        if *region != self.region || !subscription_arn.starts_with("arn:aws:securityhub:") {
            return Err(not_found());
        }
        let account_id = self.target_account(caller, account_id).await?;
        // The product may be a built-in one (empty provider account) or a default product.
        let candidates = [
            format!("arn:aws:securityhub:{region}::product/{path}"),
            format!(
                "arn:aws:securityhub:{region}:{}:product/{path}",
                path.split('/').next().unwrap_or_default()
            ),
        ];
        let deleted = table::Entity::delete_many()
            .filter(table::Column::AccountId.eq(account_id.as_str()))
            .filter(table::Column::ProductArn.is_in(candidates))
            .exec(&self.db)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(not_found());
        }
        Ok(())
    }

    /// One page of the account's subscription ARNs, in product ARN order.
    pub async fn list_enabled(
        &self,
        caller: &Caller,
        account_id: &str,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<String>, String)> {
        let limit = page_size(requested_page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let account_id = self.target_account(caller, account_id).await?;
        let scope = format!("ListEnabledProductsForImport:{account_id}");
        let after: Option<String> = self.page_tokens.open(&scope, page_token)?;
        let mut select = table::Entity::find()
            .filter(table::Column::AccountId.eq(account_id.as_str()))
            .order_by_asc(table::Column::ProductArn)
            .limit(u64::from(limit) + 1);
        if let Some(after) = &after {
            select = select.filter(keyset_after(vec![(
                table::Column::ProductArn,
                after.as_str().into(),
                Direction::Ascending,
            )]));
        }
        let mut rows = select.all(&self.db).await?;
        let page = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > page;
        rows.truncate(page);
        let next_page_token = match rows.last() {
            Some(last) if more => self.page_tokens.issue(&scope, &last.product_arn),
            _ => String::new(),
        };
        let subscriptions = rows
            .iter()
            .map(|row| subscription_arn(&self.region, &account_id, &row.product_arn))
            .collect();
        Ok((subscriptions, next_page_token))
    }

    /// One page of the catalogue as `caller` sees it (the built-in integrations and its own
    /// default product), in ARN order; only `product_arn` when it is given.
    pub async fn describe_products(
        &self,
        caller: &Caller,
        product_arn: &str,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<pb::Product>, String)> {
        let limit = page_size(requested_page_size, DEFAULT_PAGE, MAX_PAGE)?;
        self.access.require_hub(caller).await?;
        let scope = format!("DescribeProducts:{product_arn}");
        let after: Option<String> = self.page_tokens.open(&scope, page_token)?;
        let mut catalogue: Vec<Product> = if product_arn.is_empty() {
            BUILT_IN
                .iter()
                .map(|built_in| built_in_arn(&self.region, built_in))
                .chain(
                    acting_account(caller)
                        .map(|account_id| default_product_arn(&self.region, account_id)),
                )
                .filter_map(|arn| describe(&self.region, &arn))
                .collect()
        } else {
            describe(&self.region, product_arn).into_iter().collect()
        };
        catalogue.sort_by(|left, right| left.product_arn.cmp(&right.product_arn));
        catalogue.retain(|product| {
            after
                .as_ref()
                .is_none_or(|after| product.product_arn.as_str() > after.as_str())
        });
        let page = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = catalogue.len() > page;
        catalogue.truncate(page);
        let next_page_token = match catalogue.last() {
            Some(last) if more => self.page_tokens.issue(&scope, &last.product_arn),
            _ => String::new(),
        };
        Ok((
            catalogue.into_iter().map(pb::Product::from).collect(),
            next_page_token,
        ))
    }
}

#[cfg(test)]
mod tests {
    use tributary_runtime::auth::Principal;

    use super::*;

    const REGION: &str = "us-east-1";

    fn account(account_id: &str) -> Caller {
        Caller {
            key_id: "key".into(),
            principal: Principal::Account {
                account_id: account_id.into(),
            },
        }
    }

    #[test]
    fn the_catalogue_holds_built_ins_and_default_products_of_this_region() {
        let guardduty = "arn:aws:securityhub:us-east-1::product/aws/guardduty";
        assert_eq!(
            describe(REGION, guardduty).map(|product| product.provider),
            Some(Provider::Services)
        );
        let own = default_product_arn(REGION, "111111111111");
        assert_eq!(
            describe(REGION, &own).map(|product| product.provider),
            Some(Provider::Account("111111111111".into()))
        );
        for unknown in [
            "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
            "arn:aws:securityhub:us-east-1::product/aws/unknown",
            "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/other",
            "arn:aws:securityhub:us-east-1:111111111111:product/222222222222/default",
            "arn:aws:securityhub:us-east-1:12:product/12/default",
            "not an arn",
        ] {
            assert_eq!(describe(REGION, unknown), None, "{unknown}");
        }
        assert_eq!(
            subscription_arn(REGION, "222222222222", &own),
            "arn:aws:securityhub:us-east-1:222222222222:product-subscription/111111111111/default"
        );
    }

    #[test]
    fn accounts_provide_their_default_product_and_services_every_product() {
        let own = default_product_arn(REGION, "111111111111");
        let guardduty = "arn:aws:securityhub:us-east-1::product/aws/guardduty";
        assert!(provides(REGION, &account("111111111111"), &own));
        assert!(!provides(REGION, &account("222222222222"), &own));
        assert!(!provides(REGION, &account("111111111111"), guardduty));
        let service = Caller {
            key_id: "key".into(),
            principal: Principal::Service {
                name: "tributary".into(),
            },
        };
        assert!(provides(REGION, &service, guardduty));
        assert!(!provides(
            REGION,
            &service,
            "arn:aws:securityhub:us-east-1::product/x/y"
        ));
    }
}
