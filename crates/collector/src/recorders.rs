//! Configuration recorders: one per account in this region. A recorder that is not recording
//! blocks every new configuration item of its account. Every change is appended to the change log.

use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{Violations, auth::Caller, ids::validate_account_id, time::to_timestamp};

use crate::{
    access::AccountAccess,
    change_log::{ChangeKind, ChangeLog, ChangeOp, ChangeTx, to_i64},
    config_items::validate_resource_type,
    error::{Error, Result, reason},
    store::configuration_recorders as table,
};

/// The name a recorder gets when none is given, as in AWS.
pub const DEFAULT_RECORDER_NAME: &str = "default";
/// At most this many resource types in a recording group (AWS).
pub const MAX_RECORDED_TYPES: usize = 400;

/// Which resource types a recorder records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingGroup {
    /// Every supported type.
    pub all_supported: bool,
    /// Global types too (only with `all_supported`).
    pub include_global_resource_types: bool,
    /// The recorded types when not `all_supported`.
    pub resource_types: Vec<String>,
}

impl Default for RecordingGroup {
    fn default() -> Self {
        Self {
            all_supported: true,
            include_global_resource_types: false,
            resource_types: Vec::new(),
        }
    }
}

impl RecordingGroup {
    /// True when items of `resource_type` are recorded.
    pub fn records(&self, resource_type: &str) -> bool {
        if self
            .resource_types
            .iter()
            .any(|listed| listed == resource_type)
        {
            return true;
        }
        self.all_supported
            && (self.include_global_resource_types || !is_global_resource_type(resource_type))
    }
}

/// Global resource types (IAM) are recorded once per account under the region "global".
pub fn is_global_resource_type(resource_type: &str) -> bool {
    resource_type.starts_with("AWS::IAM::")
}

/// A configuration recorder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigurationRecorder {
    /// Its name.
    pub name: String,
    /// What it records.
    pub recording_group: RecordingGroup,
}

/// The outcome of the last delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastStatus {
    /// Never started.
    None,
    /// Started, nothing delivered since.
    Pending,
    /// The last delivery succeeded.
    Success,
}

impl LastStatus {
    fn as_str(self) -> &'static str {
        match self {
            LastStatus::None => "",
            LastStatus::Pending => "PENDING",
            LastStatus::Success => "SUCCESS",
        }
    }

    fn parse(stored: &str) -> Self {
        match stored {
            "PENDING" => LastStatus::Pending,
            "SUCCESS" => LastStatus::Success,
            _ => LastStatus::None,
        }
    }

    fn to_proto(self) -> pb::RecorderStatus {
        match self {
            LastStatus::None => pb::RecorderStatus::Unspecified,
            LastStatus::Pending => pb::RecorderStatus::Pending,
            LastStatus::Success => pb::RecorderStatus::Success,
        }
    }
}

/// A recorder's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecorderStatus {
    /// The recorder's name.
    pub name: String,
    /// True while recording.
    pub recording: bool,
    /// When last started.
    pub last_start_time: Option<DateTime<Utc>>,
    /// When last stopped.
    pub last_stop_time: Option<DateTime<Utc>>,
    /// The outcome of the last delivery.
    pub last_status: LastStatus,
    /// When `last_status` last changed.
    pub last_status_change_time: Option<DateTime<Utc>>,
}

/// A validated PutConfigurationRecorder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecorder {
    /// The owning account.
    pub account_id: String,
    /// The recorder to store.
    pub recorder: ConfigurationRecorder,
}

impl TryFrom<pb::PutConfigurationRecorderRequest> for PutRecorder {
    type Error = Error;

    fn try_from(message: pb::PutConfigurationRecorderRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        let Some(recorder) = message.configuration_recorder else {
            violations.add("configuration_recorder", "is required");
            violations.finish_with(reason::VALIDATION)?;
            return Err(Error::Corrupt("a recorded violation was lost".into()));
        };
        let name = if recorder.name.is_empty() {
            DEFAULT_RECORDER_NAME.to_string()
        } else {
            recorder.name
        };
        violations.check(
            "configuration_recorder.name",
            tributary_runtime::ids::validate_label(&name, 256),
        );
        let group = match recorder.recording_group {
            None => RecordingGroup::default(),
            Some(group) => {
                for (index, resource_type) in group.resource_types.iter().enumerate() {
                    violations.check(
                        format!("configuration_recorder.recording_group.resource_types[{index}]"),
                        validate_resource_type(resource_type),
                    );
                }
                RecordingGroup {
                    all_supported: group.all_supported,
                    include_global_resource_types: group.include_global_resource_types,
                    resource_types: group.resource_types,
                }
            }
        };
        violations.finish_with(reason::VALIDATION)?;
        validate_recording_group(&group)?;
        Ok(Self {
            account_id: message.account_id,
            recorder: ConfigurationRecorder {
                name,
                recording_group: group,
            },
        })
    }
}

/// The AWS rules of a recording group, reported as `InvalidRecordingGroupException`.
fn validate_recording_group(group: &RecordingGroup) -> Result<()> {
    let mut violations = Violations::new();
    let field = "configuration_recorder.recording_group";
    if group.all_supported && !group.resource_types.is_empty() {
        violations.add(
            format!("{field}.resource_types"),
            "must be empty when all_supported is true",
        );
    }
    if !group.all_supported && group.resource_types.is_empty() {
        violations.add(
            format!("{field}.resource_types"),
            "must list at least one resource type when all_supported is false",
        );
    }
    if group.resource_types.len() > MAX_RECORDED_TYPES {
        violations.add(
            format!("{field}.resource_types"),
            format!("must list at most {MAX_RECORDED_TYPES} resource types"),
        );
    }
    let mut distinct = group.resource_types.clone();
    distinct.sort();
    distinct.dedup();
    if distinct.len() != group.resource_types.len() {
        violations.add(
            format!("{field}.resource_types"),
            "must not list a resource type twice",
        );
    }
    if group.include_global_resource_types && !group.all_supported {
        violations.add(
            format!("{field}.include_global_resource_types"),
            "needs all_supported; list global types in resource_types instead",
        );
    }
    Ok(violations.finish_with(reason::INVALID_RECORDING_GROUP)?)
}

/// Validates a request's account id (`ValidationException`).
pub(crate) fn validate_account(account_id: &str) -> Result<()> {
    let mut violations = Violations::new();
    violations.check("account_id", validate_account_id(account_id));
    Ok(violations.finish_with(reason::VALIDATION)?)
}

/// The recorders of this region.
pub struct Recorders {
    change_log: ChangeLog,
    access: AccountAccess,
}

impl Recorders {
    /// Recorders stored through `change_log`; `access` decides who reads and writes which
    /// account's recorder.
    pub fn new(change_log: ChangeLog, access: AccountAccess) -> Self {
        Self { change_log, access }
    }

    /// Creates or updates the account's recorder. A new recorder is stopped.
    pub async fn put(&self, caller: &Caller, input: PutRecorder) -> Result<ConfigurationRecorder> {
        self.access.require_write(caller, &input.account_id)?;
        let mut change_tx = self.change_log.begin().await?;
        let existing = find(change_tx.tx(), &input.account_id).await?;
        let resource_types = serde_json::to_string(&input.recorder.recording_group.resource_types)
            .map_err(|error| Error::Corrupt(error.to_string()))?;
        let row = match existing {
            Some(row) if row.name != input.recorder.name => {
                return Err(Error::limit_exceeded(
                    reason::MAX_NUMBER_OF_CONFIGURATION_RECORDERS_EXCEEDED,
                    format!(
                        "account {} already has the configuration recorder {:?}; an account has \
                         one recorder per region, update it by its name",
                        input.account_id, row.name
                    ),
                ));
            }
            Some(row) => table::Model {
                all_supported: input.recorder.recording_group.all_supported,
                include_global_resource_types: input
                    .recorder
                    .recording_group
                    .include_global_resource_types,
                resource_types,
                ..row
            },
            None => table::Model {
                account_id: input.account_id.clone(),
                name: input.recorder.name.clone(),
                all_supported: input.recorder.recording_group.all_supported,
                include_global_resource_types: input
                    .recorder
                    .recording_group
                    .include_global_resource_types,
                resource_types,
                recording: false,
                last_start_time: None,
                last_stop_time: None,
                last_status: LastStatus::None.as_str().to_string(),
                last_status_change_time: None,
                seq: 0,
                version: String::new(),
            },
        };
        save(&mut change_tx, row).await?;
        change_tx.commit().await?;
        Ok(input.recorder)
    }

    /// The account's recorder, if any.
    pub async fn describe(
        &self,
        caller: &Caller,
        account_id: &str,
    ) -> Result<Vec<ConfigurationRecorder>> {
        validate_account(account_id)?;
        self.access.require_read(caller, account_id).await?;
        find(self.change_log.db(), account_id)
            .await?
            .map(|row| recorder_of(&row))
            .transpose()
            .map(|recorder| recorder.into_iter().collect())
    }

    /// The status of the account's recorder, if any.
    pub async fn status(&self, caller: &Caller, account_id: &str) -> Result<Vec<RecorderStatus>> {
        validate_account(account_id)?;
        self.access.require_read(caller, account_id).await?;
        Ok(find(self.change_log.db(), account_id)
            .await?
            .map(|row| status_of(&row))
            .into_iter()
            .collect())
    }

    /// Starts or stops the account's recorder `name`; a recorder already in that state is left
    /// alone.
    pub async fn set_recording(
        &self,
        caller: &Caller,
        account_id: &str,
        name: &str,
        recording: bool,
    ) -> Result<()> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(account_id));
        violations.check(
            "configuration_recorder_name",
            tributary_runtime::ids::validate_label(name, 256),
        );
        violations.finish_with(reason::VALIDATION)?;
        self.access.require_write(caller, account_id)?;
        let mut change_tx = self.change_log.begin().await?;
        let row = find(change_tx.tx(), account_id)
            .await?
            .filter(|row| row.name == name)
            .ok_or_else(|| {
                Error::not_found(
                    reason::NO_SUCH_CONFIGURATION_RECORDER,
                    format!(
                        "account {account_id} has no configuration recorder named {name:?}; \
                         create it with PutConfigurationRecorder"
                    ),
                )
            })?;
        if row.recording == recording {
            change_tx.commit().await?;
            return Ok(());
        }
        let now = change_tx.now();
        let row = if recording {
            table::Model {
                recording: true,
                last_start_time: Some(now),
                last_status: LastStatus::Pending.as_str().to_string(),
                last_status_change_time: Some(now),
                ..row
            }
        } else {
            table::Model {
                recording: false,
                last_stop_time: Some(now),
                ..row
            }
        };
        save(&mut change_tx, row).await?;
        change_tx.commit().await?;
        Ok(())
    }
}

/// Inside a write transaction: the account's recorder if it is recording, otherwise
/// `NoRunningConfigurationRecorderException`.
pub(crate) async fn running_recorder(
    change_tx: &ChangeTx,
    account_id: &str,
) -> Result<(table::Model, RecordingGroup)> {
    let row = find(change_tx.tx(), account_id)
        .await?
        .filter(|row| row.recording)
        .ok_or_else(|| {
            Error::failed_precondition(
                reason::NO_RUNNING_CONFIGURATION_RECORDER,
                format!(
                    "account {account_id} has no running configuration recorder in this region; \
                     start it with StartConfigurationRecorder"
                ),
            )
        })?;
    let group = recording_group_of(&row)?;
    Ok((row, group))
}

/// Inside a write transaction after a successful delivery: marks the recorder's last status
/// SUCCESS when it was not already.
pub(crate) async fn mark_delivered(change_tx: &mut ChangeTx, row: table::Model) -> Result<()> {
    if LastStatus::parse(&row.last_status) == LastStatus::Success {
        return Ok(());
    }
    let now = change_tx.now();
    let row = table::Model {
        last_status: LastStatus::Success.as_str().to_string(),
        last_status_change_time: Some(now),
        ..row
    };
    save(change_tx, row).await
}

/// Writes `row` and appends its change record.
async fn save(change_tx: &mut ChangeTx, mut row: table::Model) -> Result<()> {
    // The payload holds the recorder and its status, neither of which depends on the stamp.
    let payload = state_payload(&row)?;
    let stamp = change_tx.append(
        &row.account_id,
        ChangeKind::ConfigurationRecorder,
        row.name.clone(),
        ChangeOp::Upsert,
        |_| payload,
    );
    row.seq = to_i64(stamp.seq);
    row.version = stamp.version.encode();
    let active = table::ActiveModel {
        account_id: Set(row.account_id),
        name: Set(row.name),
        all_supported: Set(row.all_supported),
        include_global_resource_types: Set(row.include_global_resource_types),
        resource_types: Set(row.resource_types),
        recording: Set(row.recording),
        last_start_time: Set(row.last_start_time),
        last_stop_time: Set(row.last_stop_time),
        last_status: Set(row.last_status),
        last_status_change_time: Set(row.last_status_change_time),
        seq: Set(row.seq),
        version: Set(row.version),
    };
    table::Entity::insert(active)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(table::Column::AccountId)
                .update_columns([
                    table::Column::Name,
                    table::Column::AllSupported,
                    table::Column::IncludeGlobalResourceTypes,
                    table::Column::ResourceTypes,
                    table::Column::Recording,
                    table::Column::LastStartTime,
                    table::Column::LastStopTime,
                    table::Column::LastStatus,
                    table::Column::LastStatusChangeTime,
                    table::Column::Seq,
                    table::Column::Version,
                ])
                .to_owned(),
        )
        .exec(change_tx.tx())
        .await?;
    Ok(())
}

async fn find(connection: &impl ConnectionTrait, account_id: &str) -> Result<Option<table::Model>> {
    Ok(table::Entity::find()
        .filter(table::Column::AccountId.eq(account_id))
        .one(connection)
        .await?)
}

fn recording_group_of(row: &table::Model) -> Result<RecordingGroup> {
    let resource_types: Vec<String> = serde_json::from_str(&row.resource_types)
        .map_err(|error| Error::Corrupt(format!("recorder resource types: {error}")))?;
    Ok(RecordingGroup {
        all_supported: row.all_supported,
        include_global_resource_types: row.include_global_resource_types,
        resource_types,
    })
}

fn recorder_of(row: &table::Model) -> Result<ConfigurationRecorder> {
    Ok(ConfigurationRecorder {
        name: row.name.clone(),
        recording_group: recording_group_of(row)?,
    })
}

fn status_of(row: &table::Model) -> RecorderStatus {
    RecorderStatus {
        name: row.name.clone(),
        recording: row.recording,
        last_start_time: row.last_start_time,
        last_stop_time: row.last_stop_time,
        last_status: LastStatus::parse(&row.last_status),
        last_status_change_time: row.last_status_change_time,
    }
}

impl From<ConfigurationRecorder> for pb::ConfigurationRecorder {
    fn from(recorder: ConfigurationRecorder) -> Self {
        Self {
            name: recorder.name,
            recording_group: Some(pb::RecordingGroup {
                all_supported: recorder.recording_group.all_supported,
                include_global_resource_types: recorder
                    .recording_group
                    .include_global_resource_types,
                resource_types: recorder.recording_group.resource_types,
            }),
        }
    }
}

impl From<RecorderStatus> for pb::ConfigurationRecorderStatus {
    fn from(status: RecorderStatus) -> Self {
        Self {
            name: status.name,
            recording: status.recording,
            last_start_time: status.last_start_time.map(to_timestamp),
            last_stop_time: status.last_stop_time.map(to_timestamp),
            last_status: status.last_status.to_proto() as i32,
            last_error_code: String::new(),
            last_error_message: String::new(),
            last_status_change_time: status.last_status_change_time.map(to_timestamp),
        }
    }
}

/// The change-log payload of a recorder row: the encoded `RecorderState`.
pub(crate) fn state_payload(row: &table::Model) -> Result<Vec<u8>> {
    let state = pb::RecorderState {
        configuration_recorder: Some(recorder_of(row)?.into()),
        status: Some(status_of(row).into()),
    };
    Ok(state.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(group: Option<pb::RecordingGroup>) -> pb::PutConfigurationRecorderRequest {
        pb::PutConfigurationRecorderRequest {
            account_id: "111111111111".into(),
            configuration_recorder: Some(pb::ConfigurationRecorder {
                name: String::new(),
                recording_group: group,
            }),
        }
    }

    fn reason_of(error: Error) -> &'static str {
        match error {
            Error::Runtime(tributary_runtime::Error::InvalidInput { reason, .. }) => reason,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn recorders_default_to_all_supported_without_global_types() {
        let put = PutRecorder::try_from(request(None)).unwrap();
        assert_eq!(put.recorder.name, DEFAULT_RECORDER_NAME);
        let group = put.recorder.recording_group;
        assert!(group.records("AWS::EC2::Instance"));
        assert!(!group.records("AWS::IAM::Role"));
    }

    #[test]
    fn listed_types_and_global_types_are_recorded_as_asked() {
        let listed = RecordingGroup {
            all_supported: false,
            include_global_resource_types: false,
            resource_types: vec!["AWS::IAM::Role".into()],
        };
        assert!(listed.records("AWS::IAM::Role"));
        assert!(!listed.records("AWS::EC2::Instance"));
        let everything = RecordingGroup {
            all_supported: true,
            include_global_resource_types: true,
            resource_types: Vec::new(),
        };
        assert!(everything.records("AWS::IAM::User"));
    }

    #[test]
    fn contradictory_recording_groups_are_rejected() {
        let both = request(Some(pb::RecordingGroup {
            all_supported: true,
            include_global_resource_types: false,
            resource_types: vec!["AWS::EC2::Instance".into()],
        }));
        assert_eq!(
            reason_of(PutRecorder::try_from(both).unwrap_err()),
            reason::INVALID_RECORDING_GROUP
        );
        let global_without_all = request(Some(pb::RecordingGroup {
            all_supported: false,
            include_global_resource_types: true,
            resource_types: vec!["AWS::EC2::Instance".into()],
        }));
        assert_eq!(
            reason_of(PutRecorder::try_from(global_without_all).unwrap_err()),
            reason::INVALID_RECORDING_GROUP
        );
        let bad_type = request(Some(pb::RecordingGroup {
            all_supported: false,
            include_global_resource_types: false,
            resource_types: vec!["EC2 instance".into()],
        }));
        assert_eq!(
            reason_of(PutRecorder::try_from(bad_type).unwrap_err()),
            reason::VALIDATION
        );
    }
}
