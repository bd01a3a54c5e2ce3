//! `EntitlementService`: aggregator declarations, entitlement resolution and the `Watch` stream.

use std::sync::Arc;

use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::membership::v1 as pb;
use tributary_runtime::{auth::caller, time::to_timestamp};

use crate::{
    config_aggregators::{ConfigAggregatorDeclaration, ConfigAggregators},
    entitlements::{EntitlementPair, PairStatus},
    error::Error,
    events::{Changes, Event},
    finding_aggregators::{FindingAggregatorDeclaration, FindingAggregators},
};

/// `EntitlementService` over both aggregator kinds and the change log.
pub struct GrpcEntitlements {
    config_aggregators: Arc<ConfigAggregators>,
    finding_aggregators: Arc<FindingAggregators>,
    changes: Changes,
    shutdown: CancellationToken,
}

impl GrpcEntitlements {
    /// Serves the declarations; `Watch` streams end when `shutdown` is cancelled.
    pub fn new(
        config_aggregators: Arc<ConfigAggregators>,
        finding_aggregators: Arc<FindingAggregators>,
        changes: Changes,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            config_aggregators,
            finding_aggregators,
            changes,
            shutdown,
        }
    }
}

#[tonic::async_trait]
impl pb::entitlement_service_server::EntitlementService for GrpcEntitlements {
    #[instrument(skip_all)]
    async fn declare_config_aggregator(
        &self,
        request: Request<pb::DeclareConfigAggregatorRequest>,
    ) -> Result<Response<pb::DeclareConfigAggregatorResponse>, Status> {
        let caller = caller(&request)?;
        let declaration = request
            .into_inner()
            .declaration
            .ok_or_else(|| Error::invalid_field("declaration", "is required"))?;
        let declaration = ConfigAggregatorDeclaration::try_from(declaration)?;
        let revision = self
            .config_aggregators
            .declare(&caller, declaration)
            .await?;
        Ok(Response::new(pb::DeclareConfigAggregatorResponse {
            revision,
        }))
    }

    #[instrument(skip_all)]
    async fn withdraw_config_aggregator(
        &self,
        request: Request<pb::WithdrawConfigAggregatorRequest>,
    ) -> Result<Response<pb::WithdrawConfigAggregatorResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.config_aggregators
            .withdraw(
                &caller,
                &message.owner_account_id,
                &message.home_region,
                &message.aggregator_name,
            )
            .await?;
        Ok(Response::new(pb::WithdrawConfigAggregatorResponse {}))
    }

    #[instrument(skip_all)]
    async fn declare_finding_aggregator(
        &self,
        request: Request<pb::DeclareFindingAggregatorRequest>,
    ) -> Result<Response<pb::DeclareFindingAggregatorResponse>, Status> {
        let caller = caller(&request)?;
        let declaration = request
            .into_inner()
            .declaration
            .ok_or_else(|| Error::invalid_field("declaration", "is required"))?;
        let declaration = FindingAggregatorDeclaration::try_from(declaration)?;
        let revision = self
            .finding_aggregators
            .declare(&caller, declaration)
            .await?;
        Ok(Response::new(pb::DeclareFindingAggregatorResponse {
            revision,
        }))
    }

    #[instrument(skip_all)]
    async fn withdraw_finding_aggregator(
        &self,
        request: Request<pb::WithdrawFindingAggregatorRequest>,
    ) -> Result<Response<pb::WithdrawFindingAggregatorResponse>, Status> {
        let caller = caller(&request)?;
        self.finding_aggregators
            .withdraw(&caller, &request.into_inner().owner_account_id)
            .await?;
        Ok(Response::new(pb::WithdrawFindingAggregatorResponse {}))
    }

    #[instrument(skip_all)]
    async fn resolve_entitlements(
        &self,
        request: Request<pb::ResolveEntitlementsRequest>,
    ) -> Result<Response<pb::ResolveEntitlementsResponse>, Status> {
        let caller = caller(&request)?;
        caller.require_service_or_operator().map_err(Status::from)?;
        let aggregator = request
            .into_inner()
            .aggregator
            .and_then(|reference| reference.aggregator)
            .ok_or_else(|| {
                Error::invalid_field(
                    "aggregator",
                    "must name a config aggregator or a finding aggregator owner",
                )
            })?;
        let (pairs, revision) = match aggregator {
            pb::aggregator_reference::Aggregator::ConfigAggregator(key) => {
                self.config_aggregators
                    .resolve(
                        &key.owner_account_id,
                        &key.home_region,
                        &key.aggregator_name,
                    )
                    .await?
            }
            pb::aggregator_reference::Aggregator::FindingAggregatorOwnerAccountId(owner) => {
                self.finding_aggregators.resolve(&caller, &owner).await?
            }
        };
        Ok(Response::new(pb::ResolveEntitlementsResponse {
            pairs: pairs.into_iter().map(pair_message).collect(),
            revision,
        }))
    }

    type WatchStream = ReceiverStream<Result<pb::WatchResponse, Status>>;

    #[instrument(skip_all)]
    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        caller(&request)?
            .require_service_or_operator()
            .map_err(Status::from)?;
        let from = request.into_inner().from_revision;
        let mut batches = self.changes.follow(from, self.shutdown.child_token());
        let (responses_tx, responses_rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            while let Some(batch) = batches.recv().await {
                let response = batch
                    .map(|events| pb::WatchResponse {
                        events: events.into_iter().map(event_message).collect(),
                    })
                    .map_err(Status::from);
                if responses_tx.send(response).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(responses_rx)))
    }
}

fn pair_message(pair: EntitlementPair) -> pb::EntitlementPair {
    let status = match pair.status {
        PairStatus::Authorized => pb::PairStatus::Authorized,
        PairStatus::Pending => pb::PairStatus::Pending,
        PairStatus::Declined => pb::PairStatus::Declined,
        PairStatus::Expired => pb::PairStatus::Expired,
        PairStatus::NotEnabled => pb::PairStatus::NotEnabled,
        PairStatus::NotAMember => pb::PairStatus::NotAMember,
        PairStatus::Revoked => pb::PairStatus::Revoked,
    };
    pb::EntitlementPair {
        account_id: pair.account_id,
        region: pair.region,
        status: status as i32,
        reason: pair.reason,
    }
}

fn event_message(event: Event) -> pb::MembershipEvent {
    pb::MembershipEvent {
        revision: event.revision,
        kind: event.kind.to_string(),
        account_id: event.account_id.unwrap_or_default(),
        region: event.region.unwrap_or_default(),
        organization_id: event.organization_id.unwrap_or_default(),
        related_account_id: event.related_account_id.unwrap_or_default(),
        recorded_at: Some(to_timestamp(event.recorded_at)),
    }
}
