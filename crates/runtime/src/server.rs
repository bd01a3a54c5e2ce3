//! The gRPC server bootstrap every service uses: its routes plus `grpc.health.v1`, reflection v1 and
//! v1alpha, authentication and observability layers, and graceful shutdown (health goes
//! NOT_SERVING, the listener closes, in-flight calls and streams get a grace period).

use std::{convert::Infallible, sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::{
    body::Body,
    server::NamedService,
    service::{Routes, RoutesBuilder},
};
use tonic_health::ServingStatus;
use tower::{Service, ServiceBuilder};

use crate::{
    auth::{AuthLayer, Authenticator},
    error::Error,
    metrics::ObservabilityLayer,
};

/// The gRPC services one process serves, with their names for health and reflection.
#[derive(Default)]
pub struct ServiceSet {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
}

impl ServiceSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a generated tonic server.
    pub fn with<S>(mut self, service: S) -> Self
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// The fully qualified names of the services in the set.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// Everything [`serve`] needs besides the listener.
pub struct ServerParts {
    /// Label of the service in metrics and logs (`membership`, `collector`, `aggregator`).
    pub label: &'static str,
    /// The service's routes.
    pub services: ServiceSet,
    /// Who checks API keys.
    pub authenticator: Arc<dyn Authenticator>,
    /// How long in-flight calls and streams may run after shutdown starts.
    pub grace: Duration,
    /// Where to serve Prometheus `/metrics`, if anywhere.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Native TLS of the gRPC listener; empty for plaintext h2c. `/metrics` stays plain HTTP.
    pub tls: crate::config::TlsSettings,
}

impl ServerParts {
    /// Parts for `services` with the shared settings of a service.
    pub fn new(
        label: &'static str,
        services: ServiceSet,
        authenticator: Arc<dyn Authenticator>,
        settings: &crate::config::ServerSettings,
    ) -> Self {
        Self {
            label,
            services,
            authenticator,
            grace: settings.shutdown_grace(),
            metrics_listen: settings.metrics_listen,
            tls: settings.tls.clone(),
        }
    }
}

/// Serves `parts` on `listener` until `shutdown` is cancelled, then drains gracefully. Streaming
/// handlers should watch the same token (or a child of it) and end their streams.
pub async fn serve(
    listener: TcpListener,
    parts: ServerParts,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let ServerParts {
        label,
        services,
        authenticator,
        grace,
        metrics_listen,
        tls,
    } = parts;
    // Read the certificate files first, so a bad path stops the service before it listens.
    let tls_mode = crate::tls::describe(&tls);
    let tls_config = crate::tls::server_config(&tls)?;
    if let Some(address) = metrics_listen {
        let metrics_listener = bind(address).await?;
        tracing::info!(service = label, address = %metrics_listener.local_addr()?, "serving /metrics");
        tokio::spawn(crate::metrics::serve_metrics(
            metrics_listener,
            shutdown.child_token(),
        ));
    }
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    for name in &services.names {
        health_reporter
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    health_reporter
        .set_service_status("", ServingStatus::Serving)
        .await;

    let reflection_v1 = reflection_builder(&services.names)
        .build_v1()
        .map_err(|error| Error::Config(format!("reflection: {error}")))?;
    let reflection_v1alpha = reflection_builder(&services.names)
        .build_v1alpha()
        .map_err(|error| Error::Config(format!("reflection: {error}")))?;

    let mut routes_builder = services.routes;
    routes_builder
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let routes: Routes = routes_builder.routes();

    let mut known_services = services.names.clone();
    known_services.extend([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ]);
    let layers = ServiceBuilder::new()
        .layer(ObservabilityLayer::new(label, &known_services))
        .layer(AuthLayer::new(authenticator));

    let address = listener.local_addr()?;
    tracing::info!(service = label, %address, tls = tls_mode, "serving gRPC");

    let stop_accepting = CancellationToken::new();
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls_config) = tls_config {
        builder = builder
            .tls_config(tls_config)
            .map_err(|error| Error::Config(format!("tls: {error}")))?;
    }
    let server = builder
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .layer(layers)
        .add_routes(routes)
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(listener),
            stop_accepting.clone().cancelled_owned(),
        );
    tokio::pin!(server);

    tokio::select! {
        result = &mut server => return result.map_err(Error::from),
        _ = shutdown.cancelled() => {}
    }

    tracing::info!(
        service = label,
        grace_seconds = grace.as_secs_f64(),
        "shutting down"
    );
    for name in &services.names {
        health_reporter
            .set_service_status(*name, ServingStatus::NotServing)
            .await;
    }
    health_reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
    stop_accepting.cancel();
    match tokio::time::timeout(grace, &mut server).await {
        Ok(result) => result.map_err(Error::from),
        Err(_) => {
            tracing::warn!(
                service = label,
                "grace period over, closing remaining connections"
            );
            Ok(())
        }
    }
}

fn reflection_builder(names: &[&'static str]) -> tonic_reflection::server::Builder<'static> {
    let mut builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tributary_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health");
    for name in names {
        builder = builder.with_service_name(*name);
    }
    builder
}

/// Binds a listener, with the address in the error when the port is taken.
pub async fn bind(address: std::net::SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(address).await.map_err(|error| {
        Error::Io(std::io::Error::new(
            error.kind(),
            format!("cannot listen on {address}: {error}"),
        ))
    })
}
