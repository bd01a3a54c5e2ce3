//! `Watch`: the membership change stream replays history, follows live commits, and resumes from
//! a revision without gaps or repeats, even under concurrent writers; on SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::{Backend, TestCluster, account_principal, reason};
use tonic::{Code, Streaming};
use tributary_proto::membership::v1 as pb;

on_both_backends!(
    watch_replays_follows_and_resumes_without_gaps,
    concurrent_writers_produce_gap_free_revisions,
    only_services_and_operators_watch,
);

/// Reads events from `stream` until `done` holds for the collected list, failing after 10 s.
async fn collect_until(
    stream: &mut Streaming<pb::WatchResponse>,
    mut done: impl FnMut(&[pb::MembershipEvent]) -> bool,
    collected: &mut Vec<pb::MembershipEvent>,
) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !done(collected) {
            let response = stream
                .message()
                .await
                .expect("the stream stays healthy")
                .expect("the stream stays open");
            collected.extend(response.events);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("watch did not deliver in time; got {collected:?}"));
}

fn assert_consecutive(events: &[pb::MembershipEvent], first: u64) {
    for (offset, event) in events.iter().enumerate() {
        assert_eq!(
            event.revision,
            first + offset as u64,
            "revisions are gap-free: {events:?}"
        );
    }
}

async fn watch_replays_follows_and_resumes_without_gaps(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector("us-east-1")
        .start()
        .await;
    let service = cluster.service_key().to_string();
    let mut stream = cluster
        .entitlements(&service)
        .watch(pb::WatchRequest { from_revision: 0 })
        .await
        .expect("a service watches")
        .into_inner();
    let mut events = Vec::new();
    collect_until(
        &mut stream,
        |events| events.iter().any(|event| event.kind == "region.registered"),
        &mut events,
    )
    .await;
    assert_consecutive(&events, 1);
    let registered = events
        .iter()
        .find(|event| event.kind == "region.registered")
        .unwrap();
    assert_eq!(registered.region, "us-east-1");

    cluster.create_account("600000000001", "").await;
    collect_until(
        &mut stream,
        |events| {
            events
                .iter()
                .any(|event| event.account_id == "600000000001")
        },
        &mut events,
    )
    .await;
    let created = events.last().unwrap();
    assert_eq!(created.kind, "account.created");
    assert!(created.recorded_at.is_some());
    assert_consecutive(&events, 1);
    let resume_from = created.revision;
    drop(stream);

    for account_id in ["600000000002", "600000000003", "600000000004"] {
        cluster.create_account(account_id, "").await;
    }
    let mut resumed = cluster
        .entitlements(&service)
        .watch(pb::WatchRequest {
            from_revision: resume_from,
        })
        .await
        .unwrap()
        .into_inner();
    let mut after = Vec::new();
    collect_until(&mut resumed, |events| events.len() >= 3, &mut after).await;
    assert_consecutive(&after, resume_from + 1);
    let accounts: Vec<&str> = after
        .iter()
        .map(|event| event.account_id.as_str())
        .collect();
    assert_eq!(
        accounts,
        ["600000000002", "600000000003", "600000000004"],
        "nothing missed, nothing repeated"
    );
    cluster.shutdown().await;
}

async fn concurrent_writers_produce_gap_free_revisions(backend: Backend) {
    let cluster = TestCluster::builder(backend).start().await;
    let writers: Vec<_> = (0..16)
        .map(|index| {
            let mut organizations = cluster.organizations(cluster.operator_key());
            tokio::spawn(async move {
                organizations
                    .create_account(pb::CreateAccountRequest {
                        account_id: format!("7000000000{index:02}"),
                        name: format!("writer {index}"),
                        ..Default::default()
                    })
                    .await
                    .expect("concurrent creates succeed");
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let mut stream = cluster
        .entitlements(cluster.service_key())
        .watch(pb::WatchRequest { from_revision: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    collect_until(
        &mut stream,
        |events| {
            events
                .iter()
                .filter(|event| event.kind == "account.created")
                .count()
                == 16
        },
        &mut events,
    )
    .await;
    assert_consecutive(&events, 1);
    let mut accounts: Vec<&str> = events
        .iter()
        .filter(|event| event.kind == "account.created")
        .map(|event| event.account_id.as_str())
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    assert_eq!(accounts.len(), 16, "each write appears exactly once");
    cluster.shutdown().await;
}

async fn only_services_and_operators_watch(backend: Backend) {
    let cluster = TestCluster::builder(backend).start().await;
    cluster.create_account("800000000001", "").await;
    let (account_key, _) = cluster.create_key(account_principal("800000000001")).await;
    let denied = cluster
        .entitlements(&account_key)
        .watch(pb::WatchRequest { from_revision: 0 })
        .await
        .expect_err("an account may not watch membership");
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(reason(&denied), "AccessDeniedException");
    cluster.shutdown().await;
}
