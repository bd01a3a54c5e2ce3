//! Field-group last-writer-wins merge of finding updates.
//!
//! A finding's fields fall into groups ([`FieldGroup`]) that are versioned on their own with the
//! hybrid-logical-clock version of the write that last set them. Merging an incoming finding (a
//! whole replicated finding, or an update naming only some groups) into a stored one copies each
//! group whose incoming version is higher and leaves the others alone. Equal versions come from
//! the same write, so copying them would change nothing: they are skipped. The merge is therefore
//! idempotent, commutative and associative, and every replica that sees the same set of writes, in
//! any order and any number of times, holds the same finding. Concurrent edits of different groups
//! in two regions both survive.

use std::collections::BTreeMap;

use prost::Message;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::version::Version;

/// A group of a finding's fields that is versioned and merged on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldGroup {
    /// `workflow` and the deprecated `workflow_state`.
    Workflow,
    /// `note`.
    Note,
    /// The top-level `severity`.
    Severity,
    /// `verification_state`.
    VerificationState,
    /// The top-level `confidence`, `criticality` and `types`.
    Classification,
    /// `user_defined_fields`.
    UserDefinedFields,
    /// The top-level `related_findings`.
    RelatedFindings,
    /// `record_state`.
    RecordState,
    /// Every other field: what only providers set.
    ProviderFields,
}

impl FieldGroup {
    /// Every group.
    pub const ALL: [FieldGroup; 9] = [
        FieldGroup::Workflow,
        FieldGroup::Note,
        FieldGroup::Severity,
        FieldGroup::VerificationState,
        FieldGroup::Classification,
        FieldGroup::UserDefinedFields,
        FieldGroup::RelatedFindings,
        FieldGroup::RecordState,
        FieldGroup::ProviderFields,
    ];

    /// The groups customers change with BatchUpdateFindings whose top-level values providers
    /// also supply (through `finding_provider_fields`): a provider import overwrites them only
    /// while no customer has changed them.
    pub const PROVIDER_SUPPLIED: [FieldGroup; 3] = [
        FieldGroup::Severity,
        FieldGroup::Classification,
        FieldGroup::RelatedFindings,
    ];

    /// The wire value.
    pub fn to_proto(self) -> pb::FindingFieldGroup {
        match self {
            FieldGroup::Workflow => pb::FindingFieldGroup::Workflow,
            FieldGroup::Note => pb::FindingFieldGroup::Note,
            FieldGroup::Severity => pb::FindingFieldGroup::Severity,
            FieldGroup::VerificationState => pb::FindingFieldGroup::VerificationState,
            FieldGroup::Classification => pb::FindingFieldGroup::Classification,
            FieldGroup::UserDefinedFields => pb::FindingFieldGroup::UserDefinedFields,
            FieldGroup::RelatedFindings => pb::FindingFieldGroup::RelatedFindings,
            FieldGroup::RecordState => pb::FindingFieldGroup::RecordState,
            FieldGroup::ProviderFields => pb::FindingFieldGroup::ProviderFields,
        }
    }

    /// Reads a wire value; `None` for UNSPECIFIED and unknown values.
    pub fn from_proto(value: i32) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|group| group.to_proto() as i32 == value)
    }

    /// Copies this group's fields from `source` into `target`.
    pub fn copy(self, source: &pb::Finding, target: &mut pb::Finding) {
        match self {
            FieldGroup::Workflow => {
                target.workflow.clone_from(&source.workflow);
                target.workflow_state = source.workflow_state;
            }
            FieldGroup::Note => target.note.clone_from(&source.note),
            FieldGroup::Severity => target.severity.clone_from(&source.severity),
            FieldGroup::VerificationState => target.verification_state = source.verification_state,
            FieldGroup::Classification => {
                target.confidence = source.confidence;
                target.criticality = source.criticality;
                target.types.clone_from(&source.types);
            }
            FieldGroup::UserDefinedFields => target
                .user_defined_fields
                .clone_from(&source.user_defined_fields),
            FieldGroup::RelatedFindings => {
                target.related_findings.clone_from(&source.related_findings);
            }
            FieldGroup::RecordState => target.record_state = source.record_state,
            FieldGroup::ProviderFields => {
                // Everything of the source except the other groups, which the target keeps.
                let mut next = source.clone();
                for group in Self::ALL {
                    if group != FieldGroup::ProviderFields {
                        group.copy(target, &mut next);
                    }
                }
                *target = next;
            }
        }
    }

    /// True when this group's fields are equal in `left` and `right`.
    pub fn same(self, left: &pb::Finding, right: &pb::Finding) -> bool {
        let mut probe = left.clone();
        self.copy(right, &mut probe);
        probe == *left
    }

    /// The groups whose fields differ between `before` and `after`.
    pub fn changed(before: &pb::Finding, after: &pb::Finding) -> Vec<FieldGroup> {
        Self::ALL
            .into_iter()
            .filter(|group| !group.same(before, after))
            .collect()
    }
}

/// The version of one group and who set it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct GroupVersion {
    /// The version of the write that last set the group.
    pub version: Version,
    /// A customer (BatchUpdateFindings), not a provider import, last set the group.
    pub customer_modified: bool,
}

/// The versions of a finding's groups; a group without an entry is older than any write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldVersions(BTreeMap<FieldGroup, GroupVersion>);

impl FieldVersions {
    /// Every group at `version`, none customer-modified: a newly created finding.
    pub fn all_at(version: Version) -> Self {
        Self(
            FieldGroup::ALL
                .into_iter()
                .map(|group| {
                    (
                        group,
                        GroupVersion {
                            version,
                            customer_modified: false,
                        },
                    )
                })
                .collect(),
        )
    }

    /// The version of `group`, if it has one.
    pub fn get(&self, group: FieldGroup) -> Option<GroupVersion> {
        self.0.get(&group).copied()
    }

    /// Sets the version of `group`.
    pub fn set(&mut self, group: FieldGroup, version: GroupVersion) {
        self.0.insert(group, version);
    }

    /// True when a customer last set `group`.
    pub fn customer_modified(&self, group: FieldGroup) -> bool {
        self.get(group)
            .is_some_and(|version| version.customer_modified)
    }

    /// The groups with a version, in group order.
    pub fn groups(&self) -> impl Iterator<Item = (FieldGroup, GroupVersion)> + '_ {
        self.0.iter().map(|(group, version)| (*group, *version))
    }

    /// True when no group has a version.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The highest version of any group: the last write that touched the finding.
    pub fn newest(&self) -> Option<Version> {
        self.0.values().map(|version| version.version).max()
    }

    /// The wire form.
    pub fn to_proto(&self) -> pb::FindingFieldVersions {
        pb::FindingFieldVersions {
            groups: self
                .groups()
                .map(|(group, version)| pb::FindingFieldVersion {
                    group: group.to_proto() as i32,
                    version: Some(version.version.to_proto()),
                    customer_modified: version.customer_modified,
                })
                .collect(),
        }
    }

    /// Reads the wire form, refusing unknown or repeated groups and missing versions.
    pub fn from_proto(message: &pb::FindingFieldVersions) -> Result<Self, String> {
        let mut versions = Self::default();
        for (index, entry) in message.groups.iter().enumerate() {
            let group = FieldGroup::from_proto(entry.group)
                .ok_or_else(|| format!("groups[{index}].group {} is not a group", entry.group))?;
            let version = entry
                .version
                .as_ref()
                .ok_or_else(|| format!("groups[{index}].version is required"))?;
            if versions.get(group).is_some() {
                return Err(format!("groups[{index}].group {group:?} is repeated"));
            }
            versions.set(
                group,
                GroupVersion {
                    version: Version::from_proto(version),
                    customer_modified: entry.customer_modified,
                },
            );
        }
        Ok(versions)
    }

    /// The stored form: the protobuf encoding of the wire form.
    pub fn encode(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    /// Reads the stored form; empty bytes are a finding stored before groups were versioned.
    pub fn decode(stored: &[u8]) -> Result<Self, String> {
        let message = pb::FindingFieldVersions::decode(stored)
            .map_err(|error| format!("stored field versions: {error}"))?;
        Self::from_proto(&message)
    }
}

/// A finding with the versions of its groups: a stored finding, a replicated one, or an update
/// whose `versions` name only the groups it sets (its other fields are ignored).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionedFinding {
    /// The finding's fields.
    pub finding: pb::Finding,
    /// The versions of its groups.
    pub versions: FieldVersions,
}

/// Merges `incoming` into `stored`: every group `incoming` has a version for that is higher than
/// `stored`'s is copied, values and version; the others are left alone. Returns the groups copied,
/// none when `incoming` holds nothing newer.
pub fn merge(stored: &mut VersionedFinding, incoming: &VersionedFinding) -> Vec<FieldGroup> {
    let mut copied = Vec::new();
    for (group, version) in incoming.versions.groups() {
        let newer = stored
            .versions
            .get(group)
            .is_none_or(|current| version.version > current.version);
        if newer {
            group.copy(&incoming.finding, &mut stored.finding);
            stored.versions.set(group, version);
            copied.push(group);
        }
    }
    copied
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn version(wall_ms: u64, node_id: u32) -> GroupVersion {
        GroupVersion {
            version: Version {
                wall_ms,
                logical: 0,
                node_id,
            },
            customer_modified: false,
        }
    }

    fn base() -> VersionedFinding {
        VersionedFinding {
            finding: pb::Finding {
                id: "finding".into(),
                product_arn: "arn:aws:securityhub:us-east-1::product/aws/guardduty".into(),
                aws_account_id: "111111111111".into(),
                title: "base".into(),
                ..Default::default()
            },
            versions: FieldVersions::all_at(Version {
                wall_ms: 1,
                logical: 0,
                node_id: 0,
            }),
        }
    }

    /// The values one write with `seed` sets in every group.
    fn values(seed: u32) -> pb::Finding {
        let mut finding = base().finding;
        finding.workflow = Some(pb::FindingWorkflow {
            status: i32::try_from(seed % 4 + 1).unwrap_or(1),
        });
        finding.note = Some(pb::FindingNote {
            text: format!("note {seed}"),
            updated_by: "someone".into(),
            updated_at: None,
        });
        finding.severity = Some(pb::FindingSeverity {
            label: i32::try_from(seed % 5 + 1).unwrap_or(1),
            normalized: Some(i32::try_from(seed % 101).unwrap_or(0)),
            ..Default::default()
        });
        finding.verification_state = i32::try_from(seed % 4 + 1).unwrap_or(1);
        finding.confidence = Some(i32::try_from(seed % 101).unwrap_or(0));
        finding.types = vec![format!("type {seed}")];
        finding
            .user_defined_fields
            .insert("key".into(), format!("value {seed}"));
        finding.related_findings = vec![pb::FindingRelatedFinding {
            product_arn: "arn".into(),
            id: format!("related {seed}"),
        }];
        finding.record_state = i32::try_from(seed % 2 + 1).unwrap_or(1);
        finding.title = format!("title {seed}");
        finding
    }

    #[test]
    fn a_newer_group_is_copied_and_others_are_kept() {
        let mut stored = base();
        let mut update = VersionedFinding {
            finding: values(7),
            versions: FieldVersions::default(),
        };
        update.versions.set(FieldGroup::Note, version(5, 1));
        let copied = merge(&mut stored, &update);
        assert_eq!(copied, [FieldGroup::Note]);
        assert_eq!(stored.finding.note, values(7).note);
        assert_eq!(stored.finding.title, "base", "other groups are untouched");
        assert!(stored.finding.workflow.is_none());
        assert_eq!(stored.versions.get(FieldGroup::Note), Some(version(5, 1)));
        // Again: equal versions change nothing.
        assert!(merge(&mut stored, &update).is_empty());
        // An older write of the same group loses.
        let mut older = update.clone();
        older.finding = values(8);
        older.versions.set(FieldGroup::Note, version(4, 9));
        assert!(merge(&mut stored, &older).is_empty());
        assert_eq!(stored.finding.note, values(7).note);
    }

    #[test]
    fn provider_fields_take_everything_but_the_other_groups() {
        let mut stored = base();
        stored.finding.note = values(1).note;
        let mut update = VersionedFinding {
            finding: values(2),
            versions: FieldVersions::default(),
        };
        update
            .versions
            .set(FieldGroup::ProviderFields, version(9, 1));
        assert_eq!(merge(&mut stored, &update), [FieldGroup::ProviderFields]);
        assert_eq!(stored.finding.title, "title 2");
        assert_eq!(
            stored.finding.note,
            values(1).note,
            "the note is its own group"
        );
        assert_eq!(
            FieldGroup::changed(&base().finding, &stored.finding),
            [FieldGroup::Note, FieldGroup::ProviderFields]
        );
    }

    #[test]
    fn field_versions_round_trip_and_refuse_bad_entries() {
        let mut versions = FieldVersions::all_at(version(3, 2).version);
        versions.set(
            FieldGroup::Note,
            GroupVersion {
                version: version(4, 2).version,
                customer_modified: true,
            },
        );
        assert_eq!(
            FieldVersions::decode(&versions.encode()),
            Ok(versions.clone())
        );
        assert_eq!(FieldVersions::decode(&[]), Ok(FieldVersions::default()));
        assert_eq!(versions.newest(), Some(version(4, 2).version));
        assert!(versions.customer_modified(FieldGroup::Note));
        let mut repeated = versions.to_proto();
        repeated.groups.push(repeated.groups[0]);
        assert!(FieldVersions::from_proto(&repeated).is_err());
        let mut unknown = versions.to_proto();
        unknown.groups[0].group = 0;
        assert!(FieldVersions::from_proto(&unknown).is_err());
        for group in FieldGroup::ALL {
            assert_eq!(FieldGroup::from_proto(group.to_proto() as i32), Some(group));
        }
    }

    /// One write: the groups it sets (a bit mask), its version and the seed of its values.
    fn write() -> impl Strategy<Value = (u16, u64, u32, u32)> {
        (1u16..512, 1u64..20, 0u32..4, any::<u32>())
    }

    fn update_of(
        index: usize,
        (mask, wall_ms, node_id, seed): (u16, u64, u32, u32),
    ) -> VersionedFinding {
        let mut versions = FieldVersions::default();
        for (bit, group) in FieldGroup::ALL.into_iter().enumerate() {
            if mask & (1 << bit) != 0 {
                versions.set(
                    group,
                    GroupVersion {
                        // The logical part keeps every write's version unique, as clocks do.
                        version: Version {
                            wall_ms,
                            logical: u32::try_from(index).unwrap_or(u32::MAX),
                            node_id,
                        },
                        customer_modified: seed % 2 == 0,
                    },
                );
            }
        }
        VersionedFinding {
            finding: values(seed),
            versions,
        }
    }

    fn apply_all(order: &[usize], updates: &[VersionedFinding]) -> VersionedFinding {
        let mut stored = base();
        for index in order {
            merge(&mut stored, &updates[*index]);
        }
        stored
    }

    proptest! {
        #[test]
        fn any_order_and_duplication_of_the_same_updates_converges(
            writes in prop::collection::vec(write(), 1..8),
            shuffle_seed in any::<u64>(),
            duplicates in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let updates: Vec<VersionedFinding> = writes
                .into_iter()
                .enumerate()
                .map(|(index, write)| update_of(index, write))
                .collect();
            let in_order: Vec<usize> = (0..updates.len()).collect();
            let expected = apply_all(&in_order, &updates);

            // A deterministic shuffle from the seed, with some updates delivered again.
            let mut order = in_order.clone();
            order.extend(duplicates.iter().map(|index| index.index(updates.len())));
            let mut state = shuffle_seed | 1;
            for position in (1..order.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let other = usize::try_from(state % (position as u64 + 1)).unwrap_or(0);
                order.swap(position, other);
            }
            prop_assert_eq!(&apply_all(&order, &updates), &expected);

            // Associativity: folding two updates together first gives the same result.
            if updates.len() >= 2 {
                let mut combined = VersionedFinding {
                    finding: updates[0].finding.clone(),
                    versions: updates[0].versions.clone(),
                };
                merge(&mut combined, &updates[1]);
                let mut stored = base();
                merge(&mut stored, &combined);
                for update in &updates[2..] {
                    merge(&mut stored, update);
                }
                prop_assert_eq!(&stored, &expected);
            }

            // Idempotence: merging the result into itself changes nothing.
            let mut again = expected.clone();
            prop_assert!(merge(&mut again, &expected).is_empty());
            prop_assert_eq!(again, expected);
        }
    }
}
