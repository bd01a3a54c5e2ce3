//! Tributary's gRPC contracts: the code generated from `proto/` and the encoded descriptor set that
//! reflection serves. Nothing here is written by hand beyond these re-exports.

/// Shared messages and API conventions (`tributary.types.v1`).
pub mod types {
    /// Version 1 of the shared types.
    pub mod v1 {
        tonic::include_proto!("tributary.types.v1");
    }
}

/// The membership service: regions, accounts, access (`tributary.membership.v1`).
pub mod membership {
    /// Version 1 of the membership API.
    pub mod v1 {
        tonic::include_proto!("tributary.membership.v1");
    }
}

/// The regional collector (`tributary.collector.v1`).
pub mod collector {
    /// Version 1 of the collector API.
    pub mod v1 {
        tonic::include_proto!("tributary.collector.v1");
    }
}

/// The aggregator (`tributary.aggregator.v1`).
pub mod aggregator {
    /// Version 1 of the aggregator API.
    pub mod v1 {
        tonic::include_proto!("tributary.aggregator.v1");
    }
}

/// The encoded `FileDescriptorSet` of every Tributary proto file and its imports, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tributary_descriptor");
