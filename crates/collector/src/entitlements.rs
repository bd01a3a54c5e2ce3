//! Which accounts of this region a change-log stream may carry: the aggregator a stream replicates
//! for must be entitled (per membership) to every account it receives, and a stream ends as soon as
//! membership revokes one of its accounts.
//!
//! Membership is asked through [`EntitlementSource`]; [`MembershipEntitlements`] is the real one.
//! It caches each aggregator's resolution with the membership revision it is consistent with, and
//! one follower task tracks membership's latest revision through `EntitlementService.Watch`, so
//! open streams wake on every membership change instead of polling.

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status, service::interceptor::InterceptedService, transport::Channel};
use tributary_proto::membership::v1 as membership_pb;
use tributary_runtime::{
    Violations,
    client::BearerToken,
    config::MembershipClientSettings,
    error::reason as shared_reason,
    ids::{validate_account_id, validate_region_name},
};

use crate::error::{Error, Result, reason};

/// The aggregator a change-log stream replicates for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AggregatorRef {
    /// A Config aggregator, by owner, home region and name.
    Config {
        owner_account_id: String,
        home_region: String,
        aggregator_name: String,
    },
    /// An account's finding aggregator.
    Finding { owner_account_id: String },
}

impl AggregatorRef {
    /// Validates a stream request's `aggregator` (`ValidationException`).
    pub fn from_wire(reference: Option<membership_pb::AggregatorReference>) -> Result<Self> {
        let mut violations = Violations::new();
        let aggregator = Self::check_wire("aggregator", reference, &mut violations);
        violations.finish_with(reason::VALIDATION)?;
        aggregator.ok_or_else(|| Error::Corrupt("a missing aggregator was not reported".into()))
    }

    /// Validates a stream request's `aggregator` and `aggregators` together: at least one, at most
    /// [`MAX_STREAM_AGGREGATORS`], duplicates removed (`ValidationException`).
    pub fn list_from_wire(
        single: Option<membership_pb::AggregatorReference>,
        many: Vec<membership_pb::AggregatorReference>,
    ) -> Result<Vec<Self>> {
        if many.is_empty() {
            return Self::from_wire(single).map(|aggregator| vec![aggregator]);
        }
        let mut violations = Violations::new();
        let mut aggregators = Vec::with_capacity(many.len() + 1);
        if single
            .as_ref()
            .is_some_and(|single| single.aggregator.is_some())
        {
            aggregators.extend(Self::check_wire("aggregator", single, &mut violations));
        }
        if many.len() + aggregators.len() > MAX_STREAM_AGGREGATORS {
            violations.add(
                "aggregators",
                format!("must name at most {MAX_STREAM_AGGREGATORS} aggregators"),
            );
        }
        for (index, reference) in many.into_iter().enumerate() {
            aggregators.extend(Self::check_wire(
                &format!("aggregators[{index}]"),
                Some(reference),
                &mut violations,
            ));
        }
        violations.finish_with(reason::VALIDATION)?;
        let mut unique: Vec<Self> = Vec::with_capacity(aggregators.len());
        for aggregator in aggregators {
            if !unique.contains(&aggregator) {
                unique.push(aggregator);
            }
        }
        Ok(unique)
    }

    /// Checks one reference, recording violations under `field`.
    fn check_wire(
        field: &str,
        reference: Option<membership_pb::AggregatorReference>,
        violations: &mut Violations,
    ) -> Option<Self> {
        use membership_pb::aggregator_reference::Aggregator;
        match reference.and_then(|reference| reference.aggregator) {
            None => {
                violations.add(
                    field,
                    "is required: name the Config aggregator or finding aggregator owner this \
                     stream replicates for",
                );
                None
            }
            Some(Aggregator::ConfigAggregator(key)) => {
                violations.check(
                    format!("{field}.config_aggregator.owner_account_id"),
                    validate_account_id(&key.owner_account_id),
                );
                violations.check(
                    format!("{field}.config_aggregator.home_region"),
                    validate_region_name(&key.home_region),
                );
                if key.aggregator_name.is_empty() || key.aggregator_name.len() > 256 {
                    violations.add(
                        format!("{field}.config_aggregator.aggregator_name"),
                        "must be 1-256 characters",
                    );
                }
                Some(AggregatorRef::Config {
                    owner_account_id: key.owner_account_id,
                    home_region: key.home_region,
                    aggregator_name: key.aggregator_name,
                })
            }
            Some(Aggregator::FindingAggregatorOwnerAccountId(owner_account_id)) => {
                violations.check(
                    format!("{field}.finding_aggregator_owner_account_id"),
                    validate_account_id(&owner_account_id),
                );
                Some(AggregatorRef::Finding { owner_account_id })
            }
        }
    }

    /// The wire form membership understands.
    pub fn to_wire(&self) -> membership_pb::AggregatorReference {
        use membership_pb::aggregator_reference::Aggregator;
        let aggregator = match self {
            AggregatorRef::Config {
                owner_account_id,
                home_region,
                aggregator_name,
            } => Aggregator::ConfigAggregator(membership_pb::ConfigAggregatorKey {
                owner_account_id: owner_account_id.clone(),
                home_region: home_region.clone(),
                aggregator_name: aggregator_name.clone(),
            }),
            AggregatorRef::Finding { owner_account_id } => {
                Aggregator::FindingAggregatorOwnerAccountId(owner_account_id.clone())
            }
        };
        membership_pb::AggregatorReference {
            aggregator: Some(aggregator),
        }
    }
}

impl fmt::Display for AggregatorRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AggregatorRef::Config {
                owner_account_id,
                home_region,
                aggregator_name,
            } => write!(
                formatter,
                "Config aggregator {aggregator_name} of {owner_account_id} in {home_region}"
            ),
            AggregatorRef::Finding { owner_account_id } => {
                write!(formatter, "the finding aggregator of {owner_account_id}")
            }
        }
    }
}

/// At most this many aggregators in one stream request.
pub const MAX_STREAM_AGGREGATORS: usize = 1000;

/// The accounts of this region an aggregator may hold, as of a membership revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Accounts with an AUTHORIZED pair in this collector's region.
    pub entitled_accounts: BTreeSet<String>,
    /// The membership revision the answer is consistent with.
    pub revision: u64,
}

/// Keeps the accounts of `region` whose pair is AUTHORIZED; every other status (pending, revoked,
/// not a member, ...) and every other region is left out.
pub fn entitled_accounts_in(
    pairs: &[membership_pb::EntitlementPair],
    region: &str,
) -> BTreeSet<String> {
    pairs
        .iter()
        .filter(|pair| {
            pair.region == region && pair.status == membership_pb::PairStatus::Authorized as i32
        })
        .map(|pair| pair.account_id.clone())
        .collect()
}

/// PERMISSION_DENIED `AuthorizationNotFoundException`: `aggregator` may not hold `account_id` here.
pub fn not_entitled(aggregator: &AggregatorRef, account_id: &str, region: &str) -> Error {
    Error::Runtime(tributary_runtime::Error::PermissionDenied {
        reason: reason::AUTHORIZATION_NOT_FOUND,
        message: format!(
            "{aggregator} is not entitled to account {account_id} in {region}; its data is not \
             streamed"
        ),
    })
}

/// The accounts a stream carries: the requested ones when every one is entitled, or exactly the
/// entitled ones when none are requested. Fails naming the first requested account that is not
/// entitled, so nothing is streamed for a partly entitled request.
pub fn select_accounts(
    aggregator: &AggregatorRef,
    region: &str,
    requested: &[String],
    entitled: &BTreeSet<String>,
) -> Result<Vec<String>> {
    if requested.is_empty() {
        return Ok(entitled.iter().cloned().collect());
    }
    match requested
        .iter()
        .find(|account_id| !entitled.contains(*account_id))
    {
        Some(account_id) => Err(not_entitled(aggregator, account_id, region)),
        None => Ok(requested.to_vec()),
    }
}

/// The first carried account that is no longer entitled, if any.
pub fn first_revoked<'a>(carried: &'a [String], entitled: &BTreeSet<String>) -> Option<&'a str> {
    carried
        .iter()
        .find(|account_id| !entitled.contains(*account_id))
        .map(String::as_str)
}

/// Where entitlements come from.
#[tonic::async_trait]
pub trait EntitlementSource: Send + Sync {
    /// The accounts of this collector's region `aggregator` may hold now. NOT_FOUND for an unknown
    /// aggregator, UNAVAILABLE when the authority cannot be asked.
    async fn resolve(&self, aggregator: &AggregatorRef) -> Result<Resolution>;

    /// A receiver that is marked changed whenever the authority's state may have moved on; a stream
    /// re-resolves its aggregator when it fires.
    fn changes(&self) -> watch::Receiver<u64>;
}

/// Admits change-log streams and ends them when their entitlement goes away.
#[derive(Clone)]
pub struct StreamEntitlements {
    source: Arc<dyn EntitlementSource>,
    region: String,
}

/// What a stream was admitted with.
pub struct Admission {
    /// The accounts the stream carries; empty when the aggregator holds nothing here.
    pub accounts: Vec<String>,
    /// Fires on membership changes after the admission's resolution.
    pub changes: watch::Receiver<u64>,
}

impl StreamEntitlements {
    /// Checks streams of `region` against `source`.
    pub fn new(source: Arc<dyn EntitlementSource>, region: impl Into<String>) -> Self {
        Self {
            source,
            region: region.into(),
        }
    }

    /// Decides which accounts a stream for `aggregator` carries (see [`select_accounts`]).
    pub async fn admit(
        &self,
        aggregator: &AggregatorRef,
        requested: &[String],
    ) -> Result<Admission> {
        self.admit_any(std::slice::from_ref(aggregator), requested)
            .await
    }

    /// Decides which accounts a stream replicating for all of `aggregators` carries: the requested
    /// ones when each is entitled to at least one of them, or the union of their entitled
    /// accounts when none are requested.
    pub async fn admit_any(
        &self,
        aggregators: &[AggregatorRef],
        requested: &[String],
    ) -> Result<Admission> {
        // Take the change receiver before resolving, so a change that lands while the answer is
        // in flight still wakes the stream's guard afterwards.
        let changes = self.source.changes();
        let entitled = self.entitled_union(aggregators).await?;
        let accounts = match aggregators {
            [aggregator] => select_accounts(aggregator, &self.region, requested, &entitled)?,
            _ => {
                if let Some(account_id) = first_revoked(requested, &entitled) {
                    return Err(not_entitled_any(aggregators, account_id, &self.region));
                }
                if requested.is_empty() {
                    entitled.into_iter().collect()
                } else {
                    requested.to_vec()
                }
            }
        };
        Ok(Admission { accounts, changes })
    }

    /// The accounts of this region at least one of `aggregators` may hold.
    async fn entitled_union(&self, aggregators: &[AggregatorRef]) -> Result<BTreeSet<String>> {
        let mut entitled = BTreeSet::new();
        for aggregator in aggregators {
            entitled.extend(self.source.resolve(aggregator).await?.entitled_accounts);
        }
        Ok(entitled)
    }

    /// Waits until one of `carried` is no longer entitled (or the aggregator can no longer be
    /// resolved) and returns the error that ends the stream; returns `None` when `stop` fires.
    /// Re-resolving fails closed: when membership cannot answer, the stream ends too, and the
    /// aggregator subscribes again once it can.
    pub async fn revoked(
        &self,
        aggregator: &AggregatorRef,
        carried: &[String],
        changes: watch::Receiver<u64>,
        stop: CancellationToken,
    ) -> Option<Error> {
        self.revoked_any(std::slice::from_ref(aggregator), carried, changes, stop)
            .await
    }

    /// [`Self::revoked`] for a stream replicating for all of `aggregators`: it ends when a carried
    /// account is entitled to none of them.
    pub async fn revoked_any(
        &self,
        aggregators: &[AggregatorRef],
        carried: &[String],
        mut changes: watch::Receiver<u64>,
        stop: CancellationToken,
    ) -> Option<Error> {
        loop {
            tokio::select! {
                () = stop.cancelled() => return None,
                changed = changes.changed() => {
                    if changed.is_err() {
                        // The source is gone: the collector is shutting down.
                        return None;
                    }
                }
            }
            match self.entitled_union(aggregators).await {
                Ok(entitled) => {
                    if let Some(account_id) = first_revoked(carried, &entitled) {
                        return Some(not_entitled_any(aggregators, account_id, &self.region));
                    }
                }
                Err(error) => return Some(error),
            }
        }
    }
}

/// PERMISSION_DENIED `AuthorizationNotFoundException`: none of `aggregators` may hold
/// `account_id` here.
pub fn not_entitled_any(aggregators: &[AggregatorRef], account_id: &str, region: &str) -> Error {
    match aggregators {
        [aggregator] => not_entitled(aggregator, account_id, region),
        _ => Error::Runtime(tributary_runtime::Error::PermissionDenied {
            reason: reason::AUTHORIZATION_NOT_FOUND,
            message: format!(
                "none of the {} named aggregators is entitled to account {account_id} in \
                 {region}; its data is not streamed",
                aggregators.len()
            ),
        }),
    }
}

type EntitlementClient = membership_pb::entitlement_service_client::EntitlementServiceClient<
    InterceptedService<Channel, BearerToken>,
>;

/// The longest wait between two attempts to follow membership's changes.
const MAX_FOLLOW_BACKOFF: Duration = Duration::from_secs(10);
/// The first wait after a failed attempt.
const FIRST_FOLLOW_BACKOFF: Duration = Duration::from_millis(100);
/// Cached resolutions kept at most; stale ones are dropped first.
const MAX_CACHED_RESOLUTIONS: usize = 10_000;

/// Entitlements from membership's `EntitlementService`, asked with the collector's service key.
pub struct MembershipEntitlements {
    client: EntitlementClient,
    region: String,
    /// The newest membership revision known; 0 until the first answer or change arrives.
    revision_tx: watch::Sender<u64>,
    /// Resolutions by aggregator, valid while their revision is the newest known.
    cache: Mutex<HashMap<AggregatorRef, Resolution>>,
}

impl MembershipEntitlements {
    /// Asks the membership at `settings.membership_endpoint` about aggregators' accounts in
    /// `region`. Connects lazily, so the collector starts before membership is up.
    pub fn new(settings: &MembershipClientSettings, region: impl Into<String>) -> Result<Self> {
        let service_api_key = settings.service_api_key.as_deref().ok_or_else(|| {
            tributary_runtime::Error::Config(
                "service_api_key (TRIBUTARY_SERVICE_API_KEY) is required to resolve entitlements \
                 with membership"
                    .into(),
            )
        })?;
        let channel = tributary_runtime::client::lazy_channel(&settings.membership_endpoint)?;
        let bearer = BearerToken::new(service_api_key)?;
        let (revision_tx, _) = watch::channel(0);
        Ok(Self {
            client: membership_pb::entitlement_service_client::EntitlementServiceClient::with_interceptor(channel, bearer),
            region: region.into(),
            revision_tx,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Records a revision seen in an answer or a change, waking every stream when it is new.
    fn observe_revision(&self, revision: u64) {
        self.revision_tx.send_if_modified(|latest| {
            if revision > *latest {
                *latest = revision;
                true
            } else {
                false
            }
        });
    }

    /// Follows membership's `Watch` from the newest known revision until `stop` fires, reconnecting
    /// with exponential backoff. It starts following once a first answer gave it a revision, so it
    /// never replays membership's whole history.
    pub fn spawn_follower(self: &Arc<Self>, stop: CancellationToken) -> JoinHandle<()> {
        let entitlements = Arc::clone(self);
        tokio::spawn(async move {
            let mut revisions = entitlements.revision_tx.subscribe();
            tokio::select! {
                () = stop.cancelled() => return,
                seeded = revisions.wait_for(|revision| *revision > 0) => {
                    if seeded.is_err() {
                        return;
                    }
                }
            }
            let mut backoff = FIRST_FOLLOW_BACKOFF;
            loop {
                let followed = tokio::select! {
                    () = stop.cancelled() => return,
                    followed = entitlements.follow_once() => followed,
                };
                match followed {
                    Ok(()) => {
                        backoff = FIRST_FOLLOW_BACKOFF;
                        tracing::debug!("membership change stream ended; reconnecting");
                    }
                    Err(status) => {
                        tracing::warn!(
                            code = ?status.code(),
                            error = %status.message(),
                            "following membership changes failed"
                        );
                    }
                }
                let wait = backoff + jitter(backoff);
                backoff = (backoff * 2).min(MAX_FOLLOW_BACKOFF);
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        })
    }

    /// One Watch connection: observes every batch's newest revision until the stream ends.
    async fn follow_once(&self) -> std::result::Result<(), Status> {
        let from_revision = *self.revision_tx.borrow();
        let mut stream = self
            .client
            .clone()
            .watch(membership_pb::WatchRequest { from_revision })
            .await?
            .into_inner();
        while let Some(batch) = stream.message().await? {
            if let Some(newest) = batch.events.iter().map(|event| event.revision).max() {
                self.observe_revision(newest);
            }
        }
        Ok(())
    }

    fn cached(&self, aggregator: &AggregatorRef) -> Option<Resolution> {
        let latest = *self.revision_tx.borrow();
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        cache
            .get(aggregator)
            .filter(|resolution| resolution.revision >= latest)
            .cloned()
    }

    fn remember(&self, aggregator: &AggregatorRef, resolution: &Resolution) {
        let latest = *self.revision_tx.borrow();
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if cache.len() >= MAX_CACHED_RESOLUTIONS {
            cache.retain(|_, cached| cached.revision >= latest);
            if cache.len() >= MAX_CACHED_RESOLUTIONS {
                cache.clear();
            }
        }
        cache.insert(aggregator.clone(), resolution.clone());
    }
}

#[tonic::async_trait]
impl EntitlementSource for MembershipEntitlements {
    async fn resolve(&self, aggregator: &AggregatorRef) -> Result<Resolution> {
        if let Some(resolution) = self.cached(aggregator) {
            return Ok(resolution);
        }
        let response = self
            .client
            .clone()
            .resolve_entitlements(membership_pb::ResolveEntitlementsRequest {
                aggregator: Some(aggregator.to_wire()),
            })
            .await
            .map_err(|status| membership_error(aggregator, &status))?
            .into_inner();
        let resolution = Resolution {
            entitled_accounts: entitled_accounts_in(&response.pairs, &self.region),
            revision: response.revision,
        };
        self.remember(aggregator, &resolution);
        self.observe_revision(response.revision);
        Ok(resolution)
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.revision_tx.subscribe()
    }
}

/// Maps membership's answer to the collector's error: NOT_FOUND keeps membership's reason; every
/// other failure means the collector cannot decide now (UNAVAILABLE), never an internal error.
fn membership_error(aggregator: &AggregatorRef, status: &Status) -> Error {
    use tonic_types::StatusExt;
    match status.code() {
        Code::NotFound => {
            let stated = status
                .get_details_error_info()
                .map(|info| info.reason)
                .unwrap_or_default();
            let reason = [
                reason::NO_SUCH_CONFIGURATION_AGGREGATOR,
                shared_reason::RESOURCE_NOT_FOUND,
            ]
            .into_iter()
            .find(|known| *known == stated)
            .unwrap_or(match aggregator {
                AggregatorRef::Config { .. } => reason::NO_SUCH_CONFIGURATION_AGGREGATOR,
                AggregatorRef::Finding { .. } => shared_reason::RESOURCE_NOT_FOUND,
            });
            Error::not_found(reason, status.message())
        }
        code => {
            tracing::warn!(?code, error = %status.message(), "membership could not resolve entitlements");
            Error::Runtime(tributary_runtime::Error::Unavailable(format!(
                "cannot resolve the entitlements of {aggregator} with membership right now; \
                 retry later"
            )))
        }
    }
}

/// Up to a quarter of `backoff`, taken from the clock's sub-second digits: enough to keep many
/// collectors from reconnecting in lockstep without a random number generator.
fn jitter(backoff: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.subsec_nanos())
        .unwrap_or_default();
    backoff / 4 * (nanos % 1000) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const REGION: &str = "us-east-1";

    fn finding(owner: &str) -> AggregatorRef {
        AggregatorRef::Finding {
            owner_account_id: owner.into(),
        }
    }

    fn pair(
        account_id: &str,
        region: &str,
        status: membership_pb::PairStatus,
    ) -> membership_pb::EntitlementPair {
        membership_pb::EntitlementPair {
            account_id: account_id.into(),
            region: region.into(),
            status: status as i32,
            reason: String::new(),
        }
    }

    fn accounts(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    fn reason_of(error: Error) -> (Code, String) {
        use tonic_types::StatusExt;
        let status = Status::from(error);
        let reason = status
            .get_details_error_info()
            .map(|info| info.reason)
            .unwrap_or_default();
        (status.code(), reason)
    }

    #[test]
    fn only_authorized_pairs_of_this_region_count() {
        use membership_pb::PairStatus;
        let pairs = [
            pair("111111111111", REGION, PairStatus::Authorized),
            pair("111111111111", "eu-west-1", PairStatus::Authorized),
            pair("222222222222", REGION, PairStatus::Pending),
            pair("333333333333", REGION, PairStatus::Revoked),
            pair("444444444444", "eu-west-1", PairStatus::Authorized),
            pair("555555555555", REGION, PairStatus::Authorized),
        ];
        assert_eq!(
            entitled_accounts_in(&pairs, REGION),
            accounts(&["111111111111", "555555555555"])
        );
    }

    #[test]
    fn requested_accounts_must_all_be_entitled_and_empty_means_the_entitled_set() {
        let entitled = accounts(&["111111111111", "222222222222"]);
        let aggregator = finding("111111111111");
        assert_eq!(
            select_accounts(&aggregator, REGION, &[], &entitled).unwrap(),
            ["111111111111", "222222222222"]
        );
        assert_eq!(
            select_accounts(&aggregator, REGION, &["222222222222".into()], &entitled).unwrap(),
            ["222222222222"]
        );
        let denied = select_accounts(
            &aggregator,
            REGION,
            &["111111111111".into(), "999999999999".into()],
            &entitled,
        )
        .unwrap_err();
        assert!(denied.to_string().contains("999999999999"), "{denied}");
        assert_eq!(
            reason_of(denied),
            (
                Code::PermissionDenied,
                "AuthorizationNotFoundException".into()
            )
        );
        assert!(
            select_accounts(&aggregator, REGION, &[], &BTreeSet::new())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn revocation_names_the_first_carried_account_that_left() {
        let carried = vec!["111111111111".to_string(), "222222222222".to_string()];
        assert_eq!(
            first_revoked(&carried, &accounts(&["111111111111", "222222222222", "3"])),
            None
        );
        assert_eq!(
            first_revoked(&carried, &accounts(&["111111111111"])),
            Some("222222222222")
        );
    }

    #[test]
    fn aggregator_references_are_validated() {
        let missing = AggregatorRef::from_wire(None).unwrap_err();
        assert!(missing.to_string().contains("aggregator"), "{missing}");
        let bad = AggregatorRef::from_wire(Some(membership_pb::AggregatorReference {
            aggregator: Some(
                membership_pb::aggregator_reference::Aggregator::ConfigAggregator(
                    membership_pb::ConfigAggregatorKey {
                        owner_account_id: "12".into(),
                        home_region: "nowhere".into(),
                        aggregator_name: String::new(),
                    },
                ),
            ),
        }))
        .unwrap_err();
        let message = bad.to_string();
        for field in ["owner_account_id", "home_region", "aggregator_name"] {
            assert!(message.contains(field), "{message}");
        }
        let good = finding("111111111111");
        assert_eq!(
            AggregatorRef::from_wire(Some(good.to_wire())).unwrap(),
            good
        );
    }

    #[test]
    fn membership_not_found_keeps_its_reason_and_other_failures_are_unavailable() {
        let config = AggregatorRef::Config {
            owner_account_id: "111111111111".into(),
            home_region: REGION.into(),
            aggregator_name: "all".into(),
        };
        let not_found = Status::not_found("no such aggregator");
        assert_eq!(
            reason_of(membership_error(&config, &not_found)),
            (
                Code::NotFound,
                "NoSuchConfigurationAggregatorException".into()
            )
        );
        assert_eq!(
            reason_of(membership_error(
                &finding("111111111111"),
                &Status::unavailable("connection refused")
            )),
            (Code::Unavailable, "ServiceUnavailableException".into())
        );
    }

    /// An in-memory authority whose answers the test changes.
    struct FakeSource {
        entitled: Mutex<std::result::Result<BTreeSet<String>, &'static str>>,
        revision_tx: watch::Sender<u64>,
        resolutions: AtomicUsize,
    }

    impl FakeSource {
        fn new(entitled: &[&str]) -> Arc<Self> {
            Arc::new(Self {
                entitled: Mutex::new(Ok(accounts(entitled))),
                revision_tx: watch::channel(1).0,
                resolutions: AtomicUsize::new(0),
            })
        }

        fn change(&self, entitled: std::result::Result<&[&str], &'static str>) {
            *self.entitled.lock().unwrap() = entitled.map(accounts);
            self.revision_tx.send_modify(|revision| *revision += 1);
        }
    }

    #[tonic::async_trait]
    impl EntitlementSource for FakeSource {
        async fn resolve(&self, _aggregator: &AggregatorRef) -> Result<Resolution> {
            self.resolutions.fetch_add(1, Ordering::SeqCst);
            match self.entitled.lock().unwrap().clone() {
                Ok(entitled_accounts) => Ok(Resolution {
                    entitled_accounts,
                    revision: *self.revision_tx.borrow(),
                }),
                Err(message) => Err(Error::not_found(shared_reason::RESOURCE_NOT_FOUND, message)),
            }
        }

        fn changes(&self) -> watch::Receiver<u64> {
            self.revision_tx.subscribe()
        }
    }

    #[tokio::test]
    async fn a_stream_ends_when_a_carried_account_is_revoked_and_not_before() {
        let source = FakeSource::new(&["111111111111", "222222222222"]);
        let streams = StreamEntitlements::new(source.clone(), REGION);
        let aggregator = finding("111111111111");
        let admission = streams.admit(&aggregator, &[]).await.unwrap();
        assert_eq!(admission.accounts, ["111111111111", "222222222222"]);
        let guard = {
            let streams = streams.clone();
            let aggregator = aggregator.clone();
            let carried = admission.accounts.clone();
            tokio::spawn(async move {
                streams
                    .revoked(
                        &aggregator,
                        &carried,
                        admission.changes,
                        CancellationToken::new(),
                    )
                    .await
            })
        };
        // A change that keeps every carried account entitled does not end the stream.
        source.change(Ok(&["111111111111", "222222222222", "333333333333"]));
        while source.resolutions.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        assert!(!guard.is_finished());
        source.change(Ok(&["111111111111"]));
        let ended = guard.await.unwrap().expect("the stream ends");
        assert!(ended.to_string().contains("222222222222"), "{ended}");
        assert_eq!(
            reason_of(ended),
            (
                Code::PermissionDenied,
                "AuthorizationNotFoundException".into()
            )
        );
    }

    #[tokio::test]
    async fn a_withdrawn_aggregator_ends_the_stream_and_stop_ends_the_guard_quietly() {
        let source = FakeSource::new(&["111111111111"]);
        let streams = StreamEntitlements::new(source.clone(), REGION);
        let aggregator = finding("111111111111");
        let admission = streams
            .admit(&aggregator, &["111111111111".into()])
            .await
            .unwrap();
        let stop = CancellationToken::new();
        stop.cancel();
        assert!(
            streams
                .revoked(
                    &aggregator,
                    &admission.accounts,
                    admission.changes.clone(),
                    stop
                )
                .await
                .is_none()
        );
        source.change(Err("withdrawn"));
        let ended = streams
            .revoked(
                &aggregator,
                &admission.accounts,
                admission.changes,
                CancellationToken::new(),
            )
            .await
            .expect("the stream ends");
        assert_eq!(reason_of(ended).0, Code::NotFound);
        let refused = streams
            .admit(&aggregator, &["111111111111".into()])
            .await
            .err()
            .expect("an unknown aggregator is refused");
        assert_eq!(reason_of(refused).0, Code::NotFound);
    }

    /// An authority that answers per aggregator.
    struct PerAggregatorSource {
        entitled: Mutex<HashMap<AggregatorRef, BTreeSet<String>>>,
        revision_tx: watch::Sender<u64>,
    }

    impl PerAggregatorSource {
        fn set(&self, aggregator: &AggregatorRef, entitled: &[&str]) {
            self.entitled
                .lock()
                .unwrap()
                .insert(aggregator.clone(), accounts(entitled));
            self.revision_tx.send_modify(|revision| *revision += 1);
        }
    }

    #[tonic::async_trait]
    impl EntitlementSource for PerAggregatorSource {
        async fn resolve(&self, aggregator: &AggregatorRef) -> Result<Resolution> {
            match self.entitled.lock().unwrap().get(aggregator) {
                Some(entitled) => Ok(Resolution {
                    entitled_accounts: entitled.clone(),
                    revision: *self.revision_tx.borrow(),
                }),
                None => Err(Error::not_found(
                    shared_reason::RESOURCE_NOT_FOUND,
                    "unknown",
                )),
            }
        }

        fn changes(&self) -> watch::Receiver<u64> {
            self.revision_tx.subscribe()
        }
    }

    #[tokio::test]
    async fn a_stream_for_several_aggregators_carries_their_union_until_an_account_leaves_it() {
        let source = Arc::new(PerAggregatorSource {
            entitled: Mutex::new(HashMap::new()),
            revision_tx: watch::channel(1).0,
        });
        let first = finding("111111111111");
        let second = finding("999999999999");
        source.set(&first, &["111111111111", "222222222222"]);
        source.set(&second, &["222222222222", "333333333333"]);
        let streams = StreamEntitlements::new(source.clone(), REGION);
        let both = [first.clone(), second.clone()];
        let admission = streams.admit_any(&both, &[]).await.unwrap();
        assert_eq!(
            admission.accounts,
            ["111111111111", "222222222222", "333333333333"]
        );
        let refused = streams
            .admit_any(&both, &["111111111111".into(), "444444444444".into()])
            .await
            .err()
            .expect("an account none of them holds is refused");
        assert!(refused.to_string().contains("444444444444"), "{refused}");
        assert_eq!(
            reason_of(refused),
            (
                Code::PermissionDenied,
                "AuthorizationNotFoundException".into()
            )
        );

        let guard = {
            let streams = streams.clone();
            let carried = admission.accounts.clone();
            tokio::spawn(async move {
                streams
                    .revoked_any(&both, &carried, admission.changes, CancellationToken::new())
                    .await
            })
        };
        // 222222222222 leaves the first aggregator but the second still holds it.
        source.set(&first, &["111111111111"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!guard.is_finished());
        source.set(&second, &["333333333333"]);
        let ended = guard.await.unwrap().expect("the stream ends");
        assert!(ended.to_string().contains("222222222222"), "{ended}");
    }

    #[test]
    fn aggregator_lists_are_validated_and_deduplicated() {
        let first = finding("111111111111");
        let listed = AggregatorRef::list_from_wire(
            Some(first.to_wire()),
            vec![first.to_wire(), finding("222222222222").to_wire()],
        )
        .unwrap();
        assert_eq!(listed, [first.clone(), finding("222222222222")]);
        assert_eq!(
            AggregatorRef::list_from_wire(Some(first.to_wire()), Vec::new()).unwrap(),
            [first]
        );
        let bad = AggregatorRef::list_from_wire(None, vec![finding("12").to_wire()]).unwrap_err();
        assert!(
            bad.to_string()
                .contains("aggregators[0].finding_aggregator_owner_account_id"),
            "{bad}"
        );
        assert!(AggregatorRef::list_from_wire(None, Vec::new()).is_err());
    }
}
