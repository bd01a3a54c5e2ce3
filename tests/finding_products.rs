//! End-to-end tests of product integrations over real gRPC on SQLite and PostgreSQL: the
//! catalogue, product subscriptions, and who may import findings into which account.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Backend, TestCluster, reason, sample_finding};
use tonic::Code;
use tributary_proto::collector::v1 as pb;

on_both_backends!(
    providers_import_into_accounts_that_enabled_their_product,
    subscriptions_are_listed_in_pages_and_refused_when_wrong,
);

const REGION: &str = "us-east-1";
const CUSTOMER: &str = "111111111111";
const PROVIDER: &str = "222222222222";
const OUTSIDER: &str = "333333333333";

fn default_product(account: &str) -> String {
    format!("arn:aws:securityhub:{REGION}:{account}:product/{account}/default")
}

const GUARDDUTY: &str = "arn:aws:securityhub:us-east-1::product/aws/guardduty";

/// A finding of `account` from `product`.
fn finding(account: &str, id: &str, product: &str) -> pb::Finding {
    let mut finding = sample_finding(
        REGION,
        account,
        id,
        pb::SeverityLabel::Medium,
        1_700_000_000,
    );
    finding.product_arn = product.into();
    finding
}

/// The error code of each finding of one import, empty for a stored finding.
async fn import_codes(cluster: &TestCluster, key: &str, findings: Vec<pb::Finding>) -> Vec<String> {
    let ids: Vec<String> = findings.iter().map(|finding| finding.id.clone()).collect();
    let response = cluster
        .findings(REGION, key)
        .batch_import_findings(pb::BatchImportFindingsRequest { findings })
        .await
        .expect("the import call succeeds")
        .into_inner();
    ids.iter()
        .map(|id| {
            response
                .failed_findings
                .iter()
                .find(|failure| &failure.id == id)
                .map(|failure| failure.error_code.clone())
                .unwrap_or_default()
        })
        .collect()
}

async fn enable(
    cluster: &TestCluster,
    key: &str,
    product_arn: &str,
) -> Result<String, tonic::Status> {
    cluster
        .findings(REGION, key)
        .enable_import_findings_for_product(pb::EnableImportFindingsForProductRequest {
            product_arn: product_arn.into(),
            account_id: String::new(),
        })
        .await
        .map(|response| response.into_inner().product_subscription_arn)
}

async fn providers_import_into_accounts_that_enabled_their_product(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let customer = cluster.hub_account_key(CUSTOMER, REGION).await;
    let provider = cluster.hub_account_key(PROVIDER, REGION).await;
    let outsider = cluster.hub_account_key(OUTSIDER, REGION).await;

    // The catalogue: the built-in integrations and the caller's own default product.
    let catalogue = cluster
        .findings(REGION, &customer)
        .describe_products(pb::DescribeProductsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .products;
    let arns: Vec<&str> = catalogue
        .iter()
        .map(|product| product.product_arn.as_str())
        .collect();
    assert!(arns.contains(&GUARDDUTY), "{arns:?}");
    assert!(
        arns.contains(&default_product(CUSTOMER).as_str()),
        "{arns:?}"
    );
    assert!(!arns.contains(&default_product(PROVIDER).as_str()));
    let mut sorted = arns.clone();
    sorted.sort_unstable();
    assert_eq!(arns, sorted, "in ARN order");

    // Before the customer enables the provider's product, the provider's findings are refused.
    let from_provider = finding(CUSTOMER, "p1", &default_product(PROVIDER));
    assert_eq!(
        import_codes(&cluster, &provider, vec![from_provider.clone()]).await,
        ["InvalidAccess"]
    );
    let subscription = enable(&cluster, &customer, &default_product(PROVIDER))
        .await
        .expect("the customer enables the provider's product");
    assert_eq!(
        subscription,
        format!("arn:aws:securityhub:{REGION}:{CUSTOMER}:product-subscription/{PROVIDER}/default")
    );
    let twice = enable(&cluster, &customer, &default_product(PROVIDER))
        .await
        .expect_err("enabling twice is a conflict");
    assert_eq!(twice.code(), Code::AlreadyExists);
    assert_eq!(reason(&twice), "ResourceConflictException");

    // Now the provider imports into the customer; an outsider still cannot, neither with the
    // provider's product nor with its own.
    assert_eq!(
        import_codes(
            &cluster,
            &provider,
            vec![
                from_provider.clone(),
                finding(PROVIDER, "own", &default_product(PROVIDER))
            ]
        )
        .await,
        ["", ""]
    );
    assert_eq!(
        import_codes(
            &cluster,
            &outsider,
            vec![
                finding(CUSTOMER, "o1", &default_product(PROVIDER)),
                finding(CUSTOMER, "o2", &default_product(OUTSIDER)),
                finding(CUSTOMER, "o3", GUARDDUTY),
            ]
        )
        .await,
        [
            "AccessDeniedException",
            "InvalidAccess",
            "AccessDeniedException"
        ]
    );

    // The customer imports a built-in product's findings itself once it enabled the product.
    let own_guardduty = finding(CUSTOMER, "g1", GUARDDUTY);
    assert_eq!(
        import_codes(&cluster, &customer, vec![own_guardduty.clone()]).await,
        ["InvalidAccess"]
    );
    enable(&cluster, &customer, GUARDDUTY).await.unwrap();
    assert_eq!(
        import_codes(&cluster, &customer, vec![own_guardduty]).await,
        [""]
    );
    // A service key imports a built-in product's findings into accounts that enabled it.
    assert_eq!(
        import_codes(
            &cluster,
            cluster.service_key(),
            vec![
                finding(CUSTOMER, "s1", GUARDDUTY),
                finding(PROVIDER, "s2", GUARDDUTY)
            ]
        )
        .await,
        ["", "InvalidAccess"]
    );

    // Disabling stops the provider's imports; disabling again finds nothing.
    cluster
        .findings(REGION, &customer)
        .disable_import_findings_for_product(pb::DisableImportFindingsForProductRequest {
            product_subscription_arn: subscription.clone(),
        })
        .await
        .expect("the customer disables the product");
    let mut later = from_provider;
    later.id = "p2".into();
    assert_eq!(
        import_codes(&cluster, &provider, vec![later]).await,
        ["InvalidAccess"]
    );
    let gone = cluster
        .findings(REGION, &customer)
        .disable_import_findings_for_product(pb::DisableImportFindingsForProductRequest {
            product_subscription_arn: subscription,
        })
        .await
        .expect_err("the subscription is gone");
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(reason(&gone), "ResourceNotFoundException");
    cluster.shutdown().await;
}

async fn subscriptions_are_listed_in_pages_and_refused_when_wrong(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let customer = cluster.hub_account_key(CUSTOMER, REGION).await;
    let products = [
        GUARDDUTY.to_string(),
        "arn:aws:securityhub:us-east-1::product/aws/inspector".to_string(),
        default_product(PROVIDER),
    ];
    let mut expected = Vec::new();
    for product in &products {
        expected.push(enable(&cluster, &customer, product).await.unwrap());
    }
    expected.sort();

    let mut listed = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = cluster
            .findings(REGION, &customer)
            .list_enabled_products_for_import(pb::ListEnabledProductsForImportRequest {
                page_size: 2,
                page_token,
                account_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.product_subscriptions.len() <= 2);
        listed.extend(page.product_subscriptions);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    listed.sort();
    assert_eq!(listed, expected);

    // A service key names the account; an account key cannot name another.
    let for_customer = cluster
        .findings(REGION, cluster.service_key())
        .list_enabled_products_for_import(pb::ListEnabledProductsForImportRequest {
            account_id: CUSTOMER.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(for_customer.product_subscriptions.len(), 3);
    let unnamed = cluster
        .findings(REGION, cluster.service_key())
        .list_enabled_products_for_import(pb::ListEnabledProductsForImportRequest::default())
        .await
        .expect_err("a service key must name the account");
    assert_eq!(unnamed.code(), Code::InvalidArgument);
    let provider = cluster.hub_account_key(PROVIDER, REGION).await;
    let foreign = cluster
        .findings(REGION, &provider)
        .list_enabled_products_for_import(pb::ListEnabledProductsForImportRequest {
            account_id: CUSTOMER.into(),
            ..Default::default()
        })
        .await
        .expect_err("an account lists only its own subscriptions");
    assert_eq!(foreign.code(), Code::PermissionDenied);

    // Unknown products, products of another region and hubless accounts are refused.
    for product in [
        "arn:aws:securityhub:us-east-1::product/aws/unknown",
        "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
    ] {
        let refused = enable(&cluster, &customer, product)
            .await
            .expect_err("not a product here");
        assert_eq!(refused.code(), Code::InvalidArgument, "{product}");
        assert_eq!(reason(&refused), "InvalidInputException");
    }
    let hubless = cluster.account_key(OUTSIDER).await;
    let refused = enable(&cluster, &hubless, GUARDDUTY)
        .await
        .expect_err("an account without a hub is refused");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "InvalidAccessException");
    let bad_page = cluster
        .findings(REGION, &customer)
        .list_enabled_products_for_import(pb::ListEnabledProductsForImportRequest {
            page_size: 101,
            ..Default::default()
        })
        .await
        .expect_err("more than 100 per page is refused");
    assert_eq!(bad_page.code(), Code::InvalidArgument);
    cluster.shutdown().await;
}
