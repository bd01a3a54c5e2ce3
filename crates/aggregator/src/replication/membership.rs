//! What replication asks membership, with the aggregator's service key: the registered regions
//! and their collectors, the pairs each aggregator is entitled to, and the stream of changes that
//! may alter either.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use tokio::{sync::Notify, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status, service::interceptor::InterceptedService, transport::Channel};
use tributary_proto::membership::v1 as membership_pb;
use tributary_runtime::client::{BearerToken, lazy_channel};

use crate::error::{Error, Result};

type Authed = InterceptedService<Channel, BearerToken>;

/// Membership's region and entitlement services.
#[derive(Clone)]
pub(super) struct Membership {
    regions: membership_pb::region_service_client::RegionServiceClient<Authed>,
    entitlements: membership_pb::entitlement_service_client::EntitlementServiceClient<Authed>,
}

impl Membership {
    /// Connects lazily to membership at `endpoint`, calling with `service_key`.
    pub(super) fn new(endpoint: &str, service_key: &str) -> Result<Self> {
        let channel = lazy_channel(endpoint)?;
        let bearer = BearerToken::new(service_key)?;
        Ok(Self {
            regions: membership_pb::region_service_client::RegionServiceClient::with_interceptor(
                channel.clone(),
                bearer.clone(),
            ),
            entitlements:
                membership_pb::entitlement_service_client::EntitlementServiceClient::with_interceptor(
                    channel, bearer,
                ),
        })
    }

    /// Every registered region and its collector endpoint.
    pub(super) async fn regions(&self) -> Result<BTreeMap<String, String>> {
        let mut regions = BTreeMap::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .regions
                .clone()
                .list_regions(membership_pb::ListRegionsRequest {
                    page_size: 1000,
                    page_token,
                })
                .await
                .map_err(|status| unavailable("listing regions", &status))?
                .into_inner();
            regions.extend(
                page.regions
                    .into_iter()
                    .map(|region| (region.region_name, region.collector_endpoint)),
            );
            if page.next_page_token.is_empty() {
                return Ok(regions);
            }
            page_token = page.next_page_token;
        }
    }

    /// The pairs a Config aggregator asks for and their status; `None` when membership does not
    /// know the aggregator (it holds nothing).
    pub(super) async fn resolve(
        &self,
        owner_account_id: &str,
        home_region: &str,
        aggregator_name: &str,
    ) -> Result<Option<Vec<membership_pb::EntitlementPair>>> {
        let reference = config_aggregator_reference(owner_account_id, home_region, aggregator_name);
        match self
            .entitlements
            .clone()
            .resolve_entitlements(membership_pb::ResolveEntitlementsRequest {
                aggregator: Some(reference),
            })
            .await
        {
            Ok(response) => Ok(Some(response.into_inner().pairs)),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(unavailable(
                &format!("resolving {aggregator_name} of {owner_account_id} in {home_region}"),
                &status,
            )),
        }
    }

    /// Follows membership's changes and wakes `wake` after each batch, reconnecting with backoff,
    /// until `stop` fires.
    pub(super) fn spawn_follower(
        &self,
        wake: Arc<Notify>,
        stop: CancellationToken,
    ) -> JoinHandle<()> {
        let mut client = self.entitlements.clone();
        tokio::spawn(async move {
            let mut revision = 0_u64;
            let mut retry = super::backoff(Duration::from_secs(10));
            loop {
                let followed = async {
                    let mut stream = client
                        .watch(membership_pb::WatchRequest {
                            from_revision: revision,
                        })
                        .await?
                        .into_inner();
                    while let Some(batch) = stream.message().await? {
                        if let Some(newest) = batch.events.iter().map(|event| event.revision).max()
                        {
                            revision = revision.max(newest);
                        }
                        wake.notify_one();
                    }
                    Ok::<(), Status>(())
                };
                let wait = tokio::select! {
                    () = stop.cancelled() => return,
                    followed = followed => match followed {
                        Ok(()) => Duration::from_millis(100),
                        Err(status) => {
                            tracing::debug!(code = ?status.code(), error = %status.message(),
                                "following membership changes failed");
                            retry.next().unwrap_or(Duration::from_secs(10))
                        }
                    },
                };
                // A reconnect may have missed nothing (revisions resume), but the engine still
                // re-resolves, in case membership restarted with other state.
                wake.notify_one();
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        })
    }
}

/// The reference of a Config aggregator (or of a finding aggregator, which the mirror names with
/// `findings::replication::MIRROR_NAME`).
pub(super) fn config_aggregator_reference(
    owner_account_id: &str,
    home_region: &str,
    aggregator_name: &str,
) -> membership_pb::AggregatorReference {
    if crate::findings::replication::is_finding_aggregator(aggregator_name) {
        return membership_pb::AggregatorReference {
            aggregator: Some(
                membership_pb::aggregator_reference::Aggregator::FindingAggregatorOwnerAccountId(
                    owner_account_id.into(),
                ),
            ),
        };
    }
    membership_pb::AggregatorReference {
        aggregator: Some(
            membership_pb::aggregator_reference::Aggregator::ConfigAggregator(
                membership_pb::ConfigAggregatorKey {
                    owner_account_id: owner_account_id.into(),
                    home_region: home_region.into(),
                    aggregator_name: aggregator_name.into(),
                },
            ),
        ),
    }
}

fn unavailable(what: &str, status: &Status) -> Error {
    Error::Runtime(tributary_runtime::Error::Unavailable(format!(
        "{what} with membership failed: {} ({:?})",
        status.message(),
        status.code()
    )))
}
