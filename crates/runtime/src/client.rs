//! What clients of Tributary services share: channels and the bearer-token interceptor.

use std::time::Duration;

use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::Interceptor,
    transport::{Channel, Endpoint},
};

use crate::error::Error;

/// Adds `authorization: Bearer <key>` to every call.
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
        request
            .metadata_mut()
            .insert("authorization", self.value.clone());
        Ok(request)
    }
}

/// A channel to `endpoint` (`http://host:port`) that connects on first use and reconnects after
/// failures, so a service starts even when its peers are not up yet.
pub fn lazy_channel(endpoint: &str) -> Result<Channel, Error> {
    let endpoint = Endpoint::from_shared(endpoint.to_string())
        .map_err(|error| Error::Config(format!("bad endpoint {endpoint:?}: {error}")))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_lazy())
}
