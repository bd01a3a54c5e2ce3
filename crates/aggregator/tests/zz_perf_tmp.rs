use std::time::Instant;
use tributary_aggregator::query::{QueryScope, SelectRequest, select};
use tributary_runtime::paging::PageTokens;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perf() {
    let db = tributary_runtime::db::connect("sqlite:///tmp/qperf/perf.db").await.unwrap();
    let tokens = PageTokens::new(b"x");
    let scope = QueryScope { owner_account_id: "111111111111".into(), home_region: "us-east-1".into(), aggregator_name: "main".into(), resource_types: None };
    for q in ["SELECT COUNT(*)", "SELECT resourceType, COUNT(*) GROUP BY resourceType", "SELECT accountId, COUNT(*) GROUP BY accountId", "SELECT resourceId WHERE resourceType = 'AWS::EC2::Instance'", "SELECT COUNT(*) WHERE configuration.instanceType = 't3.micro'", "SELECT resourceId WHERE configuration.instanceType = 't3.micro'", "SELECT resourceId, configuration.instanceType WHERE resourceType = 'AWS::S3::Bucket' ORDER BY resourceName DESC"] {
        for round in 0..2 {
            let started = Instant::now();
            let page = select(&db, &tokens, &scope, SelectRequest { expression: q, page_size: 0, page_token: "" }).await.unwrap();
            eprintln!("{round} {:>8.1} ms  {} rows  {q}", started.elapsed().as_secs_f64() * 1000.0, page.results.len());
        }
    }
}
