//! Membership's gRPC face, one module per service: each unwraps requests, calls the domain and maps
//! results. No logic here.

pub mod access;
pub mod organizations;
pub mod regions;

pub use access::GrpcAccess;
pub use organizations::GrpcOrganizations;
pub use regions::GrpcRegions;
