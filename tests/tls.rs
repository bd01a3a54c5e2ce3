//! Native TLS and mutual TLS without a mesh: real services with certificates made here, callers
//! with and without a client certificate of the right CA, and a collector that checks its
//! callers' keys with membership over `https://` presenting its own certificate.
//!
//! A TLS client connects lazily, so a refused certificate shows up on the first RPC, which is
//! where these tests look for it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    path::{Path, PathBuf},
    sync::LazyLock,
};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use support::{Backend, ServiceDatabases};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tributary_collector::CollectorConfig;
use tributary_membership::MembershipConfig;
use tributary_proto::{collector::v1 as collector_pb, membership::v1 as membership_pb};
use tributary_runtime::{
    client::{BearerToken, lazy_channel, lazy_channel_with},
    config::{MembershipClientSettings, ServerSettings, TlsSettings},
    tls::ClientTls,
};

/// One certificate and its key, PEM.
struct Leaf {
    cert: String,
    key: String,
}

/// The deployment's CA with a certificate for the services, and a foreign CA with one of its own.
/// Made once per process: the client TLS a service binary installs is process-wide, so every test
/// here trusts the same CA.
struct Pki {
    ca: String,
    service: Leaf,
    foreign_ca: String,
    foreign: Leaf,
}

static PKI: LazyLock<Pki> = LazyLock::new(|| {
    let (ca, service) = authority("Tributary test CA");
    let (foreign_ca, foreign) = authority("Someone else's CA");
    Pki {
        ca,
        service,
        foreign_ca,
        foreign,
    }
});

/// A CA and one leaf it signs, good for both ends of a connection (like the Helm chart's single
/// Secret): names `localhost` and `127.0.0.1`, server and client authentication.
fn authority(name: &str) -> (String, Leaf) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();

    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    (
        ca.pem(),
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        },
    )
}

/// The service certificate, key and CA written to `directory`, as the `tls` settings of a server
/// requiring client certificates of that CA.
fn mutual_tls_settings(directory: &Path) -> TlsSettings {
    let write = |name: &str, contents: &str| -> PathBuf {
        let path = directory.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    };
    TlsSettings {
        cert_file: Some(write("tls.crt", &PKI.service.cert)),
        key_file: Some(write("tls.key", &PKI.service.key)),
        client_ca_file: Some(write("ca.crt", &PKI.ca)),
        ca_file: None,
    }
}

fn client(ca: &str, identity: Option<&Leaf>) -> ClientTls {
    ClientTls::from_pem(
        ca.as_bytes(),
        identity.map(|leaf| (leaf.cert.as_bytes(), leaf.key.as_bytes())),
    )
    .unwrap()
}

/// A running membership with the given `tls` settings.
struct Membership {
    address: std::net::SocketAddr,
    operator_key: String,
    service_key: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), tributary_membership::Error>>,
}

async fn start_membership(database_url: String, tls: TlsSettings) -> Membership {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut server = ServerSettings::with_defaults(address, "unused.db");
    server.database_url = database_url;
    server.shutdown_grace_seconds = 1;
    server.tls = tls;
    let operator_key = format!("trb_tls_operator_{}", tributary_runtime::db::random_hex(16));
    let service_key = format!("trb_tls_service_{}", tributary_runtime::db::random_hex(16));
    let config = MembershipConfig {
        server,
        bootstrap_key: Some(operator_key.clone()),
        bootstrap_service_key: Some(service_key.clone()),
        ..MembershipConfig::default()
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(tributary_membership::serve(
        config,
        listener,
        shutdown.clone(),
    ));
    Membership {
        address,
        operator_key,
        service_key,
        shutdown,
        task,
    }
}

impl Membership {
    fn https(&self) -> String {
        format!("https://127.0.0.1:{}", self.address.port())
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// `WhoAmI` with the operator key through `channel`.
async fn who_am_i(
    channel: tonic::transport::Channel,
    key: &str,
) -> Result<membership_pb::WhoAmIResponse, tonic::Status> {
    membership_pb::access_service_client::AccessServiceClient::with_interceptor(
        channel,
        BearerToken::new(key).unwrap(),
    )
    .who_am_i(membership_pb::WhoAmIRequest {})
    .await
    .map(tonic::Response::into_inner)
}

/// Waits until `channel`'s server answers health checks.
async fn wait_serving(channel: tonic::transport::Channel) {
    support::eventually(
        "the service answers health checks",
        std::time::Duration::from_secs(20),
        || {
            let mut health = HealthClient::new(channel.clone());
            async move {
                health
                    .check(HealthCheckRequest::default())
                    .await
                    .map(drop)
                    .map_err(|status| status.to_string())
            }
        },
    )
    .await;
}

/// A refused handshake surfaces on the RPC as a transport failure, never as an answer.
fn assert_refused(result: Result<membership_pb::WhoAmIResponse, tonic::Status>, what: &str) {
    let status = match result {
        Ok(response) => panic!("{what}: the call was answered: {response:?}"),
        Err(status) => status,
    };
    assert!(
        // TLS 1.3 clients learn of a refused certificate from an alert after the handshake, so
        // the transport reports a closed connection (Cancelled) or the alert (Unknown); a
        // plaintext client reads the alert as a broken HTTP/2 frame (Internal).
        matches!(
            status.code(),
            Code::Unavailable | Code::Unknown | Code::Cancelled | Code::Internal
        ),
        "{what}: {status:?}"
    );
}

async fn mutual_tls_admits_only_clients_with_a_certificate_of_its_ca(backend: Backend) {
    let databases = ServiceDatabases::new(backend).await;
    let membership = start_membership(
        databases.url("membership").await,
        mutual_tls_settings(databases.directory.path()),
    )
    .await;
    let right = lazy_channel_with(
        &membership.https(),
        Some(&client(&PKI.ca, Some(&PKI.service))),
    )
    .unwrap();
    wait_serving(right.clone()).await;

    let me = who_am_i(right, &membership.operator_key).await.unwrap();
    assert_eq!(
        me.principal.unwrap().kind,
        membership_pb::PrincipalKind::Operator as i32,
        "with the right client certificate the call is answered"
    );

    let anonymous = lazy_channel_with(&membership.https(), Some(&client(&PKI.ca, None))).unwrap();
    assert_refused(
        who_am_i(anonymous, &membership.operator_key).await,
        "without a client certificate",
    );

    let foreign = lazy_channel_with(
        &membership.https(),
        Some(&client(&PKI.ca, Some(&PKI.foreign))),
    )
    .unwrap();
    assert_refused(
        who_am_i(foreign, &membership.operator_key).await,
        "with a certificate of a foreign CA",
    );

    // The client side checks the server too: a client trusting only the foreign CA refuses it.
    let distrustful = lazy_channel_with(
        &membership.https(),
        Some(&client(&PKI.foreign_ca, Some(&PKI.foreign))),
    )
    .unwrap();
    assert_refused(
        who_am_i(distrustful, &membership.operator_key).await,
        "trusting another CA",
    );

    // Plaintext h2c to the TLS port gets nowhere either.
    let plaintext = lazy_channel(&format!("http://{}", membership.address)).unwrap();
    assert_refused(
        who_am_i(plaintext, &membership.operator_key).await,
        "over plaintext",
    );

    membership.stop().await;
}

async fn a_collector_checks_keys_with_membership_over_mutual_tls(backend: Backend) {
    let databases = ServiceDatabases::new(backend).await;
    let tls = mutual_tls_settings(databases.directory.path());
    let membership = start_membership(databases.url("membership").await, tls.clone()).await;

    // What a service binary does at start-up: check the files and install the client side.
    tributary_runtime::tls::configure_process(&tls).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_address = listener.local_addr().unwrap();
    let mut server = ServerSettings::with_defaults(collector_address, "unused.db");
    server.database_url = databases.url("collector").await;
    server.shutdown_grace_seconds = 1;
    server.tls = tls;
    let config = CollectorConfig {
        server,
        membership: MembershipClientSettings {
            membership_endpoint: membership.https(),
            service_api_key: Some(membership.service_key.clone()),
            auth_cache_ttl_seconds: 5,
        },
        region: "eu-west-1".into(),
        ..CollectorConfig::default()
    };
    let shutdown = CancellationToken::new();
    let collector = tokio::spawn(tributary_collector::serve(
        config,
        listener,
        shutdown.clone(),
    ));

    let channel = lazy_channel_with(
        &format!("https://localhost:{}", collector_address.port()),
        Some(&client(&PKI.ca, Some(&PKI.service))),
    )
    .unwrap();
    wait_serving(channel.clone()).await;
    let info_with = |key: &str| {
        let mut client =
            collector_pb::collector_service_client::CollectorServiceClient::with_interceptor(
                channel.clone(),
                BearerToken::new(key).unwrap(),
            );
        async move { client.get_info(collector_pb::GetInfoRequest {}).await }
    };

    // The collector asked membership over TLS with its client certificate: the key is accepted...
    let info = info_with(&membership.operator_key)
        .await
        .expect("membership accepted the operator key for the collector")
        .into_inner();
    assert_eq!(info.region, "eu-west-1");
    // ...and an unknown key is refused by membership's answer, not for want of a connection.
    let refused = info_with("trb_not_a_key_0123456789abcdef")
        .await
        .expect_err("an unknown key is refused");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");

    shutdown.cancel();
    collector.await.unwrap().unwrap();
    membership.stop().await;
}

async fn unreadable_or_invalid_files_stop_a_service_at_start_up(backend: Backend) {
    let databases = ServiceDatabases::new(backend).await;
    let directory = databases.directory.path();

    let missing = TlsSettings {
        cert_file: Some(directory.join("missing.crt")),
        key_file: Some(directory.join("missing.key")),
        ..TlsSettings::default()
    };
    let membership = start_membership(databases.url("membership").await, missing).await;
    let error = membership.task.await.unwrap().unwrap_err().to_string();
    assert!(
        error.contains("tls.cert_file") && error.contains("missing.crt"),
        "{error}"
    );

    // A key that belongs to another certificate.
    let mut mismatched = mutual_tls_settings(directory);
    let foreign_key = directory.join("foreign.key");
    std::fs::write(&foreign_key, &PKI.foreign.key).unwrap();
    mismatched.key_file = Some(foreign_key);
    let membership = start_membership(databases.url("membership-2").await, mismatched).await;
    let error = membership.task.await.unwrap().unwrap_err().to_string();
    assert!(error.contains("tls.cert_file/tls.key_file"), "{error}");
}

on_both_backends!(
    mutual_tls_admits_only_clients_with_a_certificate_of_its_ca,
    a_collector_checks_keys_with_membership_over_mutual_tls,
    unreadable_or_invalid_files_stop_a_service_at_start_up,
);
