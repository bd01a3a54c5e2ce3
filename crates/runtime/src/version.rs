//! Hybrid logical clock versions: `(wall_ms, logical, node_id)`, compared in that order, encoded
//! as fixed-width hex so stored strings sort like the versions they encode. Collectors version
//! every write with them and aggregators merge replicated writes by them.

use std::sync::Mutex;

use tributary_proto::types::v1 as types_pb;

/// One reading of a hybrid logical clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Milliseconds since the Unix epoch, never behind versions this clock issued or saw before.
    pub wall_ms: u64,
    /// Orders versions within one millisecond.
    pub logical: u32,
    /// The issuing node; breaks ties.
    pub node_id: u32,
}

impl Version {
    /// The stored form: 32 lowercase hex digits.
    pub fn encode(&self) -> String {
        format!(
            "{:016x}{:08x}{:08x}",
            self.wall_ms, self.logical, self.node_id
        )
    }

    /// Reads the stored form.
    pub fn decode(stored: &str) -> Option<Self> {
        if stored.len() != 32 || !stored.is_ascii() {
            return None;
        }
        Some(Self {
            wall_ms: u64::from_str_radix(&stored[..16], 16).ok()?,
            logical: u32::from_str_radix(&stored[16..24], 16).ok()?,
            node_id: u32::from_str_radix(&stored[24..], 16).ok()?,
        })
    }

    /// The wire form.
    pub fn to_proto(self) -> types_pb::Version {
        types_pb::Version {
            wall_ms: self.wall_ms,
            logical: self.logical,
            node_id: self.node_id,
        }
    }

    /// Reads the wire form.
    pub fn from_proto(version: &types_pb::Version) -> Self {
        Self {
            wall_ms: version.wall_ms,
            logical: version.logical,
            node_id: version.node_id,
        }
    }
}

/// Issues strictly increasing versions for one process.
#[derive(Debug)]
pub struct Clock {
    node_id: u32,
    last: Mutex<(u64, u32)>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock with a random node id.
    pub fn new() -> Self {
        Self::with_node_id(rand_node_id())
    }

    /// A clock with a given node id.
    pub fn with_node_id(node_id: u32) -> Self {
        Self {
            node_id,
            last: Mutex::new((0, 0)),
        }
    }

    /// The next version: the wall clock when it moved on, otherwise the last one plus one tick.
    pub fn tick(&self) -> Version {
        let wall_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        self.tick_at(wall_ms)
    }

    /// The next version as if the wall clock read `wall_ms`.
    pub fn tick_at(&self, wall_ms: u64) -> Version {
        let mut last = self.lock();
        let next = if wall_ms > last.0 {
            (wall_ms, 0)
        } else if last.1 == u32::MAX {
            (last.0 + 1, 0)
        } else {
            (last.0, last.1 + 1)
        };
        *last = next;
        Version {
            wall_ms: next.0,
            logical: next.1,
            node_id: self.node_id,
        }
    }

    /// Takes in a version made elsewhere (the receive step of a hybrid logical clock): every
    /// version issued afterwards is higher than `seen`, whatever node made it, so a write that
    /// follows a replicated one always wins over it.
    pub fn observe(&self, seen: Version) {
        let mut last = self.lock();
        if (seen.wall_ms, seen.logical) > *last {
            *last = (seen.wall_ms, seen.logical);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, u32)> {
        // A poisoned lock only means another tick panicked; the pair inside is still valid.
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn rand_node_id() -> u32 {
    let random = crate::db::random_hex(4);
    u32::from_str_radix(&random, 16).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_round_trip_and_sort_like_their_encoding() {
        let low = Version {
            wall_ms: 5,
            logical: 9,
            node_id: 3,
        };
        let high = Version {
            wall_ms: 6,
            logical: 0,
            node_id: 1,
        };
        assert_eq!(Version::decode(&low.encode()), Some(low));
        assert_eq!(Version::from_proto(&low.to_proto()), low);
        assert!(low < high);
        assert!(low.encode() < high.encode());
        assert_eq!(Version::decode("xyz"), None);
    }

    #[test]
    fn clock_never_goes_backwards() {
        let clock = Clock::with_node_id(7);
        let first = clock.tick_at(100);
        let same_ms = clock.tick_at(100);
        let earlier_wall = clock.tick_at(50);
        let later = clock.tick_at(200);
        assert!(first < same_ms && same_ms < earlier_wall && earlier_wall < later);
        assert_eq!(later.logical, 0);
        assert_eq!(first.node_id, 7);
    }

    #[test]
    fn observed_versions_are_overtaken_whatever_their_node() {
        let clock = Clock::with_node_id(1);
        clock.tick_at(100);
        let remote = Version {
            wall_ms: 500,
            logical: 3,
            node_id: u32::MAX,
        };
        clock.observe(remote);
        let next = clock.tick_at(200);
        assert!(next > remote, "{next:?} follows {remote:?}");
        // An older observation changes nothing.
        clock.observe(Version {
            wall_ms: 10,
            logical: 0,
            node_id: 0,
        });
        assert!(clock.tick_at(200) > next);
    }
}
