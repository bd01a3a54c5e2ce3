//! `ChangeLogService`: Subscribe, Snapshot, GetHead and CompactChangeLog over the region's log.

use std::{sync::Arc, time::Duration};

use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{auth::caller, time::to_timestamp};

use tributary_runtime::auth::Principal;

use crate::{
    change_log::{ChangeFilter, ChangeKind, ChangeLog, ChangeOp, ChangeRecord},
    entitlements::{Admission, AggregatorRef, StreamEntitlements},
    error::Error,
    findings::{
        Findings, decode_payload,
        update::{ReplicatedOutcome, replicated_updates},
    },
};

/// `ChangeLogService` over the region's change log.
pub struct GrpcChangeLog {
    change_log: ChangeLog,
    entitlements: StreamEntitlements,
    retention: Duration,
    shutdown: CancellationToken,
    findings: Option<Arc<Findings>>,
}

impl GrpcChangeLog {
    /// Serves `change_log`; streams carry only accounts `entitlements` admits and end when
    /// `shutdown` is cancelled.
    pub fn new(
        change_log: ChangeLog,
        entitlements: StreamEntitlements,
        retention: Duration,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            change_log,
            entitlements,
            retention,
            shutdown,
            findings: None,
        }
    }

    /// Applies replicated finding updates to `findings`.
    pub fn with_findings(mut self, findings: Arc<Findings>) -> Self {
        self.findings = Some(findings);
        self
    }

    /// Checks the caller and the aggregators' entitlements, and narrows `filter` to the accounts
    /// the stream carries.
    async fn admit(
        &self,
        request_caller: &tributary_runtime::auth::Caller,
        aggregators: &[AggregatorRef],
        filter: &mut ChangeFilter,
    ) -> Result<Admission, Status> {
        request_caller
            .require_service_or_operator()
            .map_err(Status::from)?;
        let admission = self
            .entitlements
            .admit_any(aggregators, &filter.account_ids)
            .await?;
        filter.account_ids.clone_from(&admission.accounts);
        Ok(admission)
    }
}

type ResponseStream<T> = ReceiverStream<Result<T, Status>>;

#[tonic::async_trait]
impl pb::change_log_service_server::ChangeLogService for GrpcChangeLog {
    type SubscribeStream = ResponseStream<pb::SubscribeResponse>;
    type SnapshotStream = ResponseStream<pb::SnapshotResponse>;

    #[instrument(skip_all)]
    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let request_caller = caller(&request)?;
        let message = request.into_inner();
        let mut filter = ChangeFilter::from_wire(message.account_ids, &message.kinds)?;
        let aggregators = AggregatorRef::list_from_wire(message.aggregator, message.aggregators)?;
        let admission = self
            .admit(&request_caller, &aggregators, &mut filter)
            .await?;
        // An expired cursor fails the call itself rather than its first message.
        self.change_log.check_cursor(message.from_seq).await?;
        let stop = self.shutdown.child_token();
        // An aggregator entitled to nothing here gets an open stream that carries nothing: an
        // empty filter would mean "every account".
        let mut batches = (!admission.accounts.is_empty()).then(|| {
            self.change_log
                .follow(message.from_seq, filter, stop.clone())
        });
        let entitlements = self.entitlements.clone();
        let (responses_tx, responses_rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let revoked = entitlements.revoked_any(
                &aggregators,
                &admission.accounts,
                admission.changes,
                stop.clone(),
            );
            tokio::pin!(revoked);
            loop {
                let next_batch = async {
                    match batches.as_mut() {
                        Some(batches) => batches.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    // A revocation wins over a batch that is ready at the same moment.
                    biased;
                    ended = &mut revoked => {
                        if let Some(error) = ended {
                            let _ = responses_tx.send(Err(Status::from(error))).await;
                        }
                        break;
                    }
                    () = responses_tx.closed() => break,
                    batch = next_batch => {
                        let Some(batch) = batch else { break };
                        let response = batch.map_err(Status::from).and_then(|batch| {
                            Ok(pb::SubscribeResponse {
                                records: records_message(batch.records)?,
                                through_seq: batch.through_seq,
                            })
                        });
                        if responses_tx.send(response).await.is_err() {
                            break;
                        }
                    }
                }
            }
            // Stops the follower of the log and the entitlement guard, whichever ended first.
            stop.cancel();
        });
        Ok(Response::new(ReceiverStream::new(responses_rx)))
    }

    #[instrument(skip_all)]
    async fn snapshot(
        &self,
        request: Request<pb::SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        let request_caller = caller(&request)?;
        let message = request.into_inner();
        let mut filter = ChangeFilter::from_wire(message.account_ids, &message.kinds)?;
        let aggregators = AggregatorRef::list_from_wire(message.aggregator, message.aggregators)?;
        let admission = self
            .admit(&request_caller, &aggregators, &mut filter)
            .await?;
        let (responses_tx, responses_rx) = mpsc::channel(4);
        if admission.accounts.is_empty() {
            // Nothing is entitled here: one empty message at the head, as for an empty state.
            let head = self.change_log.head().await?;
            responses_tx
                .send(Ok(pb::SnapshotResponse {
                    seq: head.seq,
                    records: Vec::new(),
                }))
                .await
                .map_err(|_| Status::cancelled("the caller went away"))?;
            return Ok(Response::new(ReceiverStream::new(responses_rx)));
        }
        let mut batches = self
            .change_log
            .snapshot(filter, self.shutdown.child_token());
        tokio::spawn(async move {
            while let Some(batch) = batches.recv().await {
                let response = batch.map_err(Status::from).and_then(|batch| {
                    Ok(pb::SnapshotResponse {
                        seq: batch.seq,
                        records: records_message(batch.records)?,
                    })
                });
                if responses_tx.send(response).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(responses_rx)))
    }

    #[instrument(skip_all)]
    async fn get_head(
        &self,
        request: Request<pb::GetHeadRequest>,
    ) -> Result<Response<pb::GetHeadResponse>, Status> {
        caller(&request)?
            .require_service_or_operator()
            .map_err(Status::from)?;
        let head = self.change_log.head().await?;
        Ok(Response::new(pb::GetHeadResponse {
            head_seq: head.seq,
            compaction_horizon_seq: head.horizon,
        }))
    }

    #[instrument(skip_all)]
    async fn compact_change_log(
        &self,
        request: Request<pb::CompactChangeLogRequest>,
    ) -> Result<Response<pb::CompactChangeLogResponse>, Status> {
        caller(&request)?.require_operator().map_err(Status::from)?;
        let retention = request
            .into_inner()
            .retention_seconds
            .map_or(self.retention, Duration::from_secs);
        let compaction = self.change_log.compact(retention).await?;
        Ok(Response::new(pb::CompactChangeLogResponse {
            deleted_records: compaction.deleted,
            compaction_horizon_seq: compaction.horizon,
        }))
    }

    #[instrument(skip_all)]
    async fn apply_replicated_updates(
        &self,
        request: Request<pb::ApplyReplicatedUpdatesRequest>,
    ) -> Result<Response<pb::ApplyReplicatedUpdatesResponse>, Status> {
        let request_caller = caller(&request)?;
        if !matches!(request_caller.principal, Principal::Service { .. }) {
            return Err(tributary_runtime::Error::access_denied(
                "ApplyReplicatedUpdates needs a service API key",
            )
            .into());
        }
        let findings = self
            .findings
            .as_ref()
            .ok_or_else(|| Status::unimplemented("this collector applies no finding updates"))?;
        let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        let updates = replicated_updates(
            request.into_inner(),
            findings.region(),
            now_ms,
            &request_caller,
        )?;
        let (outcomes, change_log_seq) = findings.apply_replicated(updates).await?;
        Ok(Response::new(pb::ApplyReplicatedUpdatesResponse {
            results: outcomes
                .into_iter()
                .map(|outcome| match outcome {
                    ReplicatedOutcome::Applied(groups) => pb::ReplicatedUpdateResult {
                        outcome: pb::ReplicatedUpdateOutcome::Applied as i32,
                        applied_groups: groups
                            .into_iter()
                            .map(|group| group.to_proto() as i32)
                            .collect(),
                    },
                    ReplicatedOutcome::Ignored => pb::ReplicatedUpdateResult {
                        outcome: pb::ReplicatedUpdateOutcome::Ignored as i32,
                        applied_groups: Vec::new(),
                    },
                    ReplicatedOutcome::NotFound => pb::ReplicatedUpdateResult {
                        outcome: pb::ReplicatedUpdateOutcome::NotFound as i32,
                        applied_groups: Vec::new(),
                    },
                })
                .collect(),
            change_log_seq,
        }))
    }
}

fn records_message(records: Vec<ChangeRecord>) -> Result<Vec<pb::ChangeRecord>, Status> {
    records
        .into_iter()
        .map(record_message)
        .collect::<Result<Vec<_>, Error>>()
        .map_err(Status::from)
}

fn record_message(record: ChangeRecord) -> Result<pb::ChangeRecord, Error> {
    let corrupt = |error: prost::DecodeError| Error::Corrupt(format!("change payload: {error}"));
    let mut finding_field_versions = None;
    let payload = match (record.op, record.kind) {
        (ChangeOp::Delete, _) => None,
        (ChangeOp::Upsert, ChangeKind::ConfigurationItem) => {
            Some(pb::change_record::Payload::ConfigurationItem(
                pb::ConfigurationItem::decode(record.payload.as_slice()).map_err(corrupt)?,
            ))
        }
        (ChangeOp::Upsert, ChangeKind::ConfigurationRecorder) => {
            Some(pb::change_record::Payload::ConfigurationRecorder(
                pb::RecorderState::decode(record.payload.as_slice()).map_err(corrupt)?,
            ))
        }
        (ChangeOp::Upsert, ChangeKind::ConfigRule) => Some(pb::change_record::Payload::ConfigRule(
            pb::ConfigRule::decode(record.payload.as_slice()).map_err(corrupt)?,
        )),
        (ChangeOp::Upsert, ChangeKind::Evaluation) => Some(pb::change_record::Payload::Evaluation(
            pb::EvaluationResult::decode(record.payload.as_slice()).map_err(corrupt)?,
        )),
        (ChangeOp::Upsert, ChangeKind::ConformancePack) => {
            Some(pb::change_record::Payload::ConformancePack(
                pb::ConformancePack::decode(record.payload.as_slice()).map_err(corrupt)?,
            ))
        }
        (ChangeOp::Upsert, ChangeKind::Finding) => {
            let (finding, field_versions) = decode_payload(&record.payload)?;
            finding_field_versions = Some(field_versions);
            Some(pb::change_record::Payload::Finding(Box::new(finding)))
        }
        (ChangeOp::Upsert, ChangeKind::ControlStatus) => {
            Some(pb::change_record::Payload::ControlStatus(
                pb::ControlStatusRecord::decode(record.payload.as_slice()).map_err(corrupt)?,
            ))
        }
        (ChangeOp::Upsert, ChangeKind::Insight) => Some(pb::change_record::Payload::Insight(
            Box::new(pb::Insight::decode(record.payload.as_slice()).map_err(corrupt)?),
        )),
    };
    let kind = match record.kind {
        ChangeKind::ConfigurationItem => pb::ChangeKind::ConfigurationItem,
        ChangeKind::ConfigurationRecorder => pb::ChangeKind::ConfigurationRecorder,
        ChangeKind::ConfigRule => pb::ChangeKind::ConfigRule,
        ChangeKind::Evaluation => pb::ChangeKind::Evaluation,
        ChangeKind::ConformancePack => pb::ChangeKind::ConformancePack,
        ChangeKind::Finding => pb::ChangeKind::Finding,
        ChangeKind::ControlStatus => pb::ChangeKind::ControlStatus,
        ChangeKind::Insight => pb::ChangeKind::Insight,
    };
    let op = match record.op {
        ChangeOp::Upsert => pb::ChangeOp::Upsert,
        ChangeOp::Delete => pb::ChangeOp::Delete,
    };
    Ok(pb::ChangeRecord {
        seq: record.seq,
        account_id: record.account_id,
        kind: kind as i32,
        key: record.key,
        version: Some(record.version.to_proto()),
        op: op as i32,
        committed_at: record.committed_at.map(to_timestamp),
        payload,
        finding_field_versions,
    })
}
