//! Authentication: the principal behind a bearer API key, the tower layer that resolves it for
//! every call (health and reflection stay open for probes and tools), and a cache for services that
//! ask membership over the network.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};
use tonic::{Request, Status, async_trait, body::Body};
use tower::{Layer, Service};
use tributary_proto::membership::v1 as pb;

use crate::error::{Error, Violations, reason};

/// What an API key acts as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// Manages the deployment: accounts, regions and keys.
    Operator,
    /// A Tributary service calling another one.
    Service { name: String },
    /// Acts as one account.
    Account { account_id: String },
    /// Acts as the management account of an organization.
    OrganizationManagement {
        organization_id: String,
        account_id: String,
    },
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The public id of the key used.
    pub key_id: String,
    /// Who the key acts as.
    pub principal: Principal,
}

impl Caller {
    /// Fails with `AccessDeniedException` unless the caller is an operator.
    pub fn require_operator(&self) -> Result<(), Error> {
        match self.principal {
            Principal::Operator => Ok(()),
            _ => Err(Error::access_denied("this call needs an operator API key")),
        }
    }

    /// Fails with `AccessDeniedException` unless the caller is a service or an operator.
    pub fn require_service_or_operator(&self) -> Result<(), Error> {
        match self.principal {
            Principal::Operator | Principal::Service { .. } => Ok(()),
            _ => Err(Error::access_denied(
                "this call needs a service or operator API key",
            )),
        }
    }
}

impl Principal {
    /// Reads a principal from its wire form, validating every field; `field` prefixes violations.
    pub fn from_proto(message: &pb::Principal, field: &str) -> Result<Self, Error> {
        let mut violations = Violations::new();
        let kind = pb::PrincipalKind::try_from(message.kind).unwrap_or_default();
        let unexpected = |violations: &mut Violations, name: &str, value: &str| {
            if !value.is_empty() {
                violations.add(
                    format!("{field}.{name}"),
                    "must be empty for this principal kind",
                );
            }
        };
        let principal = match kind {
            pb::PrincipalKind::Unspecified => {
                violations.add(
                    format!("{field}.kind"),
                    "must be OPERATOR, SERVICE, ACCOUNT or ORGANIZATION_MANAGEMENT",
                );
                Principal::Operator
            }
            pb::PrincipalKind::Operator => {
                unexpected(&mut violations, "account_id", &message.account_id);
                unexpected(&mut violations, "organization_id", &message.organization_id);
                unexpected(&mut violations, "service_name", &message.service_name);
                Principal::Operator
            }
            pb::PrincipalKind::Service => {
                violations.check(
                    format!("{field}.service_name"),
                    validate_service_name(&message.service_name),
                );
                unexpected(&mut violations, "account_id", &message.account_id);
                unexpected(&mut violations, "organization_id", &message.organization_id);
                Principal::Service {
                    name: message.service_name.clone(),
                }
            }
            pb::PrincipalKind::Account => {
                violations.check(
                    format!("{field}.account_id"),
                    crate::ids::validate_account_id(&message.account_id),
                );
                unexpected(&mut violations, "organization_id", &message.organization_id);
                unexpected(&mut violations, "service_name", &message.service_name);
                Principal::Account {
                    account_id: message.account_id.clone(),
                }
            }
            pb::PrincipalKind::OrganizationManagement => {
                violations.check(
                    format!("{field}.account_id"),
                    crate::ids::validate_account_id(&message.account_id),
                );
                violations.check(
                    format!("{field}.organization_id"),
                    validate_organization_id(&message.organization_id),
                );
                unexpected(&mut violations, "service_name", &message.service_name);
                Principal::OrganizationManagement {
                    organization_id: message.organization_id.clone(),
                    account_id: message.account_id.clone(),
                }
            }
        };
        violations.finish()?;
        Ok(principal)
    }

    /// The wire form.
    pub fn to_proto(&self) -> pb::Principal {
        let mut message = pb::Principal::default();
        match self {
            Principal::Operator => message.set_kind(pb::PrincipalKind::Operator),
            Principal::Service { name } => {
                message.set_kind(pb::PrincipalKind::Service);
                message.service_name = name.clone();
            }
            Principal::Account { account_id } => {
                message.set_kind(pb::PrincipalKind::Account);
                message.account_id = account_id.clone();
            }
            Principal::OrganizationManagement {
                organization_id,
                account_id,
            } => {
                message.set_kind(pb::PrincipalKind::OrganizationManagement);
                message.organization_id = organization_id.clone();
                message.account_id = account_id.clone();
            }
        }
        message
    }
}

/// A service name: 1-64 of lowercase letters, digits and hyphens.
pub fn validate_service_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
    {
        Ok(())
    } else {
        Err("must be 1-64 lowercase letters, digits or hyphens".to_string())
    }
}

/// An organization id: "o-" then 10-32 lowercase letters or digits (the AWS shape).
pub fn validate_organization_id(id: &str) -> Result<(), String> {
    let shaped = id.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
    });
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "must be an organization id such as \"o-a1b2c3d4e5\", got {:?}",
            crate::ids::truncate_for_message(id)
        ))
    }
}

/// The SHA-256 of a key, hex-encoded: what membership stores and what caches key on. Keys are
/// long random strings, so a fast hash is enough; no plaintext key is ever stored.
pub fn hash_api_key(api_key: &str) -> String {
    Sha256::digest(api_key.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Why a key was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The key is unknown or revoked.
    #[error("the API key is not valid")]
    UnknownKey,
    /// The authority could not be asked.
    #[error("cannot check the API key: {0}")]
    Unavailable(String),
}

/// Resolves an API key to its caller.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The caller behind `api_key`.
    async fn authenticate(&self, api_key: &str) -> Result<Caller, AuthError>;
}

/// Remembers answers of another authenticator for a short time, so a busy service asks membership
/// about each key once per TTL. Only successes are cached: a new key works at once, and a revoked
/// key stops working within the TTL.
pub struct CachedAuthenticator<A> {
    inner: A,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Caller)>>,
}

impl<A: Authenticator> CachedAuthenticator<A> {
    /// Caches `inner`'s answers for `ttl`.
    pub fn new(inner: A, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl<A: Authenticator> Authenticator for CachedAuthenticator<A> {
    async fn authenticate(&self, api_key: &str) -> Result<Caller, AuthError> {
        let hash = hash_api_key(api_key);
        let now = Instant::now();
        {
            let mut entries = self
                .entries
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            match entries.get(&hash) {
                Some((cached_at, caller)) if now.duration_since(*cached_at) < self.ttl => {
                    return Ok(caller.clone());
                }
                Some(_) => {
                    entries.remove(&hash);
                }
                None => {}
            }
        }
        let caller = self.inner.authenticate(api_key).await?;
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        // Bound the cache: expired entries go first, then everything if still too big.
        if entries.len() >= 10_000 {
            entries.retain(|_, (cached_at, _)| now.duration_since(*cached_at) < self.ttl);
            if entries.len() >= 10_000 {
                entries.clear();
            }
        }
        entries.insert(hash, (now, caller.clone()));
        Ok(caller)
    }
}

/// Asks membership's `Authenticate` over gRPC, presenting this service's own key.
pub struct RemoteAuthenticator {
    client: pb::access_service_client::AccessServiceClient<
        tonic::service::interceptor::InterceptedService<
            tonic::transport::Channel,
            crate::client::BearerToken,
        >,
    >,
}

impl RemoteAuthenticator {
    /// Checks keys with the membership service at `channel`, authenticating as `service_api_key`.
    pub fn new(channel: tonic::transport::Channel, service_api_key: &str) -> Result<Self, Error> {
        let bearer = crate::client::BearerToken::new(service_api_key)?;
        Ok(Self {
            client: pb::access_service_client::AccessServiceClient::with_interceptor(
                channel, bearer,
            ),
        })
    }
}

#[async_trait]
impl Authenticator for RemoteAuthenticator {
    async fn authenticate(&self, api_key: &str) -> Result<Caller, AuthError> {
        let mut request = tonic::Request::new(pb::AuthenticateRequest {
            api_key: api_key.to_string(),
        });
        crate::telemetry::inject_current_trace(request.metadata_mut());
        let response = self
            .client
            .clone()
            .authenticate(request)
            .await
            .map_err(|status| {
                AuthError::Unavailable(format!(
                    "membership answered {:?}: {}",
                    status.code(),
                    status.message()
                ))
            })?
            .into_inner();
        if !response.authenticated {
            return Err(AuthError::UnknownKey);
        }
        let principal = response
            .principal
            .as_ref()
            .ok_or_else(|| AuthError::Unavailable("membership sent no principal".into()))
            .and_then(|principal| {
                Principal::from_proto(principal, "principal")
                    .map_err(|error| AuthError::Unavailable(error.to_string()))
            })?;
        Ok(Caller {
            key_id: response.key_id,
            principal,
        })
    }
}

/// The authenticator of a service that checks keys with membership: remote, cached for the
/// configured TTL. Connects lazily, so the service starts before membership is up.
pub fn membership_authenticator(
    settings: &crate::config::MembershipClientSettings,
) -> Result<Arc<dyn Authenticator>, Error> {
    let service_api_key = settings.service_api_key.as_deref().ok_or_else(|| {
        Error::Config(
            "service_api_key (TRIBUTARY_SERVICE_API_KEY) is required to check callers with membership"
                .into(),
        )
    })?;
    let channel = crate::client::lazy_channel(&settings.membership_endpoint)?;
    let remote = RemoteAuthenticator::new(channel, service_api_key)?;
    Ok(Arc::new(CachedAuthenticator::new(
        remote,
        Duration::from_secs(settings.auth_cache_ttl_seconds),
    )))
}

/// The caller of a request, put there by [`AuthLayer`].
pub fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| {
            Status::from(Error::Unauthenticated {
                reason: reason::MISSING_AUTHENTICATION_TOKEN,
                message: "the request carries no authenticated caller".into(),
            })
        })
}

/// Paths served without a key: health checks (Kubernetes probes) and reflection (tools).
fn is_public_path(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}

/// A tower layer that authenticates every call except health and reflection and stores the
/// [`Caller`] in the request extensions for handlers.
#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Arc<dyn Authenticator>,
}

impl AuthLayer {
    /// Authenticates calls with `authenticator`.
    pub fn new(authenticator: Arc<dyn Authenticator>) -> Self {
        Self { authenticator }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around the routes.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Arc<dyn Authenticator>,
}

impl<S> Service<http::Request<Body>> for AuthService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // Take the service that was polled ready and leave a fresh clone behind (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            if is_public_path(request.uri().path()) {
                return inner.call(request).await;
            }
            let api_key = match bearer_key(request.headers()) {
                Ok(api_key) => api_key,
                Err(status) => return Ok(status.into_http()),
            };
            match authenticate_key(authenticator.as_ref(), &api_key).await {
                Ok(caller) => {
                    request.extensions_mut().insert(caller);
                    inner.call(request).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

/// The key of an `authorization: Bearer <key>` header.
fn bearer_key(headers: &http::HeaderMap) -> Result<String, Status> {
    let header = headers.get(http::header::AUTHORIZATION).ok_or_else(|| {
        Status::from(Error::Unauthenticated {
            reason: reason::MISSING_AUTHENTICATION_TOKEN,
            message: "send the metadata `authorization: Bearer <api key>`".into(),
        })
    })?;
    let api_key = header
        .to_str()
        .ok()
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .ok_or_else(|| {
            Status::from(Error::Unauthenticated {
                reason: reason::MISSING_AUTHENTICATION_TOKEN,
                message: "the authorization metadata must be `Bearer <api key>`".into(),
            })
        })?;
    Ok(api_key.to_string())
}

async fn authenticate_key(
    authenticator: &dyn Authenticator,
    api_key: &str,
) -> Result<Caller, Status> {
    authenticator
        .authenticate(api_key)
        .await
        .map_err(|error| match error {
            AuthError::UnknownKey => Status::from(Error::Unauthenticated {
                reason: reason::UNRECOGNIZED_CLIENT,
                message: "the API key is unknown or revoked".into(),
            }),
            AuthError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "authentication authority unavailable");
                Status::from(Error::Unavailable(
                    "cannot check the API key right now; retry later".into(),
                ))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct CountingAuthenticator {
        calls: AtomicUsize,
        valid: Mutex<bool>,
    }

    #[async_trait]
    impl Authenticator for Arc<CountingAuthenticator> {
        async fn authenticate(&self, api_key: &str) -> Result<Caller, AuthError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if *self.valid.lock().unwrap() {
                Ok(Caller {
                    key_id: format!("key-{api_key}"),
                    principal: Principal::Operator,
                })
            } else {
                Err(AuthError::UnknownKey)
            }
        }
    }

    #[tokio::test]
    async fn cache_answers_within_ttl_and_asks_again_after() {
        let counting = Arc::new(CountingAuthenticator {
            calls: AtomicUsize::new(0),
            valid: Mutex::new(true),
        });
        let cache = CachedAuthenticator::new(counting.clone(), Duration::from_millis(200));
        assert_eq!(cache.authenticate("a").await.unwrap().key_id, "key-a");
        assert_eq!(cache.authenticate("a").await.unwrap().key_id, "key-a");
        assert_eq!(counting.calls.load(Ordering::SeqCst), 1);

        *counting.valid.lock().unwrap() = false;
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(cache.authenticate("a").await, Err(AuthError::UnknownKey));
        assert_eq!(counting.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let counting = Arc::new(CountingAuthenticator {
            calls: AtomicUsize::new(0),
            valid: Mutex::new(false),
        });
        let cache = CachedAuthenticator::new(counting.clone(), Duration::from_secs(60));
        assert!(cache.authenticate("b").await.is_err());
        *counting.valid.lock().unwrap() = true;
        assert!(cache.authenticate("b").await.is_ok());
    }

    #[test]
    fn principals_round_trip_and_validate() {
        let principals = [
            Principal::Operator,
            Principal::Service {
                name: "aggregator".into(),
            },
            Principal::Account {
                account_id: "123456789012".into(),
            },
            Principal::OrganizationManagement {
                organization_id: "o-abcdef1234".into(),
                account_id: "123456789012".into(),
            },
        ];
        for principal in principals {
            assert_eq!(
                Principal::from_proto(&principal.to_proto(), "p").unwrap(),
                principal
            );
        }
        let bad = pb::Principal {
            kind: pb::PrincipalKind::Account as i32,
            account_id: "12".into(),
            service_name: "x".into(),
            ..Default::default()
        };
        let Error::InvalidInput { violations, .. } =
            Principal::from_proto(&bad, "principal").unwrap_err()
        else {
            panic!("expected invalid input");
        };
        let fields: Vec<_> = violations
            .iter()
            .map(|violation| violation.field.as_str())
            .collect();
        assert_eq!(fields, ["principal.account_id", "principal.service_name"]);
    }

    #[test]
    fn only_health_and_reflection_are_public() {
        assert!(is_public_path("/grpc.health.v1.Health/Check"));
        assert!(is_public_path(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        ));
        assert!(!is_public_path(
            "/tributary.membership.v1.AccessService/WhoAmI"
        ));
    }
}
