//! Logs and traces: a `tracing` subscriber writing text or JSON logs, plus OpenTelemetry export over
//! OTLP/gRPC when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. W3C trace context travels in gRPC metadata
//! (injected by [`crate::client::BearerToken`] on every service-to-service call, extracted by the
//! server's observability layer) so one trace spans the aggregator, collectors and membership.

use opentelemetry::{
    Context, global,
    propagation::{Extractor, Injector},
    trace::TracerProvider as _,
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::error::Error;

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] flushes it.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes buffered spans and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            eprintln!("trace exporter shutdown failed: {error}");
        }
    }
}

/// Where spans go besides the logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TraceExport {
    /// Nowhere.
    #[default]
    Off,
    /// OTLP/gRPC as the standard `OTEL_EXPORTER_OTLP_*` variables say.
    FromEnvironment,
    /// OTLP/gRPC to this endpoint, e.g. `http://127.0.0.1:4317`.
    Endpoint(String),
}

/// How [`init_with`] sets up logs and traces.
#[derive(Debug, Clone, Default)]
pub struct TelemetryOptions {
    /// Log filter directives (`RUST_LOG` syntax); none means `info,sea_orm_migration=warn`.
    pub log_filter: Option<String>,
    /// JSON log lines instead of text.
    pub json_logs: bool,
    /// Span export.
    pub trace_export: TraceExport,
    /// Which spans are exported (`RUST_LOG` syntax); none means `info`.
    pub trace_filter: Option<String>,
}

impl TelemetryOptions {
    /// Options from the process environment: `RUST_LOG`, `TRIBUTARY_LOG_FORMAT=json`,
    /// `TRIBUTARY_TRACE_FILTER`, and export when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    pub fn from_env() -> Self {
        let otlp_enabled =
            std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").is_ok_and(|value| !value.is_empty());
        Self {
            log_filter: std::env::var(EnvFilter::DEFAULT_ENV).ok(),
            json_logs: std::env::var("TRIBUTARY_LOG_FORMAT").is_ok_and(|format| format == "json"),
            trace_export: if otlp_enabled {
                TraceExport::FromEnvironment
            } else {
                TraceExport::Off
            },
            trace_filter: std::env::var("TRIBUTARY_TRACE_FILTER").ok(),
        }
    }
}

/// Installs the process-wide subscriber. Log level from `RUST_LOG` (default `info`), exported span
/// level from `TRIBUTARY_TRACE_FILTER` (default `info`); JSON logs when
/// `TRIBUTARY_LOG_FORMAT=json`; OTLP trace export when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the
/// exporter reads the standard `OTEL_*` variables). Call once, from `main`.
pub fn init(service_name: &str) -> Result<Telemetry, Error> {
    init_with(service_name, TelemetryOptions::from_env())
}

/// Installs the process-wide subscriber as `options` say. Call once per process, inside a Tokio
/// runtime when spans are exported.
pub fn init_with(service_name: &str, options: TelemetryOptions) -> Result<Telemetry, Error> {
    let filter = options
        .log_filter
        .as_deref()
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new("info,sea_orm_migration=warn"));

    let exporter = match &options.trace_export {
        TraceExport::Off => None,
        TraceExport::FromEnvironment => {
            Some(opentelemetry_otlp::SpanExporter::builder().with_tonic())
        }
        TraceExport::Endpoint(endpoint) => Some(
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone()),
        ),
    };
    let provider = match exporter {
        Some(exporter) => {
            let exporter = exporter
                .build()
                .map_err(|error| Error::Config(format!("OTLP exporter: {error}")))?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    Resource::builder()
                        .with_service_name(service_name.to_string())
                        .build(),
                )
                .build();
            global::set_tracer_provider(provider.clone());
            Some(provider)
        }
        None => None,
    };
    global::set_text_map_propagator(TraceContextPropagator::new());

    // Spans are exported at their own level, so quiet logs (`RUST_LOG=warn`) keep traces whole.
    let trace_filter = options
        .trace_filter
        .as_deref()
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let otel_layer = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service_name.to_string()))
            .with_filter(trace_filter)
    });
    let log_layer = if options.json_logs {
        tracing_subscriber::fmt::layer().json().boxed()
    } else {
        tracing_subscriber::fmt::layer().boxed()
    }
    .with_filter(filter);
    tracing_subscriber::registry()
        .with(log_layer)
        .with(otel_layer)
        .try_init()
        .map_err(|error| Error::Config(format!("tracing subscriber: {error}")))?;
    Ok(Telemetry { provider })
}

/// Makes `span` a child of the W3C trace context in `headers`, if any.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent =
        global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
}

/// Writes the current span's trace context into outgoing gRPC metadata.
pub fn inject_current_trace(metadata: &mut tonic::metadata::MetadataMap) {
    let context: Context = tracing::Span::current().context();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut MetadataInjector(metadata))
    });
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            value.parse(),
        ) {
            self.0.insert(key, value);
        }
    }
}
