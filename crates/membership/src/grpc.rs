//! Membership's gRPC face, one module per service: each unwraps requests, calls the domain and maps
//! results. No logic here.

pub mod access;
pub mod authorizations;
pub mod entitlements;
pub mod organizations;
pub mod regions;
pub mod securityhub;

pub use access::GrpcAccess;
pub use authorizations::GrpcAuthorizations;
pub use entitlements::GrpcEntitlements;
pub use organizations::GrpcOrganizations;
pub use regions::GrpcRegions;
pub use securityhub::GrpcSecurityHub;
