//! What clients of Tributary services share: channels (plaintext h2c for `http://`, TLS for
//! `https://`) and the interceptor every service-to-service call goes through, which sends the API
//! key and the caller's W3C trace context.

use std::time::Duration;

use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::Interceptor,
    transport::{Channel, Endpoint},
};

use crate::{error::Error, tls::ClientTls};

/// Adds `authorization: Bearer <key>` and the current span's `traceparent` (when a trace is being
/// recorded) to every call, so the callee's spans join the caller's trace.
#[derive(Clone)]
pub struct BearerToken {
    value: MetadataValue<Ascii>,
}

impl BearerToken {
    /// Wraps an API key; fails if the key cannot be sent as metadata.
    pub fn new(api_key: &str) -> Result<Self, Error> {
        let value = format!("Bearer {api_key}").parse().map_err(|_| {
            Error::Config("an API key must be printable ASCII to be sent as metadata".into())
        })?;
        Ok(Self { value })
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        // Interceptors run when the call starts, inside the caller's span; this covers unary and
        // streaming calls alike.
        crate::telemetry::inject_current_trace(request.metadata_mut());
        request
            .metadata_mut()
            .insert("authorization", self.value.clone());
        Ok(request)
    }
}

/// A channel to `endpoint` that connects on first use and reconnects after failures, so a service
/// starts even when its peers are not up yet. `http://` is plaintext h2c; `https://` uses this
/// process's client TLS ([`crate::tls::configure_process`]) and fails if there is none.
pub fn lazy_channel(endpoint: &str) -> Result<Channel, Error> {
    lazy_channel_with(endpoint, crate::tls::process_client().as_ref())
}

/// Like [`lazy_channel`], with `tls` for an `https://` endpoint instead of the process's.
pub fn lazy_channel_with(endpoint: &str, tls: Option<&ClientTls>) -> Result<Channel, Error> {
    let bad = |error: &dyn std::fmt::Display| {
        Error::Config(format!("bad endpoint {endpoint:?}: {error}"))
    };
    let mut builder = Endpoint::from_shared(endpoint.to_string())
        .map_err(|error| bad(&error))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    if builder.uri().scheme_str() == Some("https") {
        let tls = tls.ok_or_else(|| {
            Error::Config(format!(
                "endpoint {endpoint:?} uses https but no CA is configured to verify it; set \
                 tls.ca_file (TRIBUTARY_TLS__CA_FILE) or tls.client_ca_file"
            ))
        })?;
        builder = builder
            .tls_config(tls.config())
            .map_err(|error| bad(&error))?;
    }
    Ok(builder.connect_lazy())
}
