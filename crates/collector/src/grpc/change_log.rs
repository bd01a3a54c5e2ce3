//! `ChangeLogService`: Subscribe, Snapshot, GetHead and CompactChangeLog over the region's log.

use std::time::Duration;

use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{auth::caller, time::to_timestamp};

use crate::{
    change_log::{ChangeFilter, ChangeKind, ChangeLog, ChangeOp, ChangeRecord},
    entitlements::{Admission, AggregatorRef, StreamEntitlements},
    error::Error,
};

/// `ChangeLogService` over the region's change log.
pub struct GrpcChangeLog {
    change_log: ChangeLog,
    entitlements: StreamEntitlements,
    retention: Duration,
    shutdown: CancellationToken,
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
        }
    }

    /// Checks the caller and the aggregator's entitlement, and narrows `filter` to the accounts
    /// the stream carries.
    async fn admit(
        &self,
        request_caller: &tributary_runtime::auth::Caller,
        aggregator: &AggregatorRef,
        filter: &mut ChangeFilter,
    ) -> Result<Admission, Status> {
        request_caller
            .require_service_or_operator()
            .map_err(Status::from)?;
        let admission = self
            .entitlements
            .admit(aggregator, &filter.account_ids)
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
        let aggregator = AggregatorRef::from_wire(message.aggregator)?;
        let admission = self
            .admit(&request_caller, &aggregator, &mut filter)
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
            let revoked = entitlements.revoked(
                &aggregator,
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
        let aggregator = AggregatorRef::from_wire(message.aggregator)?;
        let admission = self
            .admit(&request_caller, &aggregator, &mut filter)
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
        (ChangeOp::Upsert, ChangeKind::Finding) => Some(pb::change_record::Payload::Finding(
            Box::new(pb::Finding::decode(record.payload.as_slice()).map_err(corrupt)?),
        )),
    };
    let kind = match record.kind {
        ChangeKind::ConfigurationItem => pb::ChangeKind::ConfigurationItem,
        ChangeKind::ConfigurationRecorder => pb::ChangeKind::ConfigurationRecorder,
        ChangeKind::ConfigRule => pb::ChangeKind::ConfigRule,
        ChangeKind::Evaluation => pb::ChangeKind::Evaluation,
        ChangeKind::ConformancePack => pb::ChangeKind::ConformancePack,
        ChangeKind::Finding => pb::ChangeKind::Finding,
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
    })
}
