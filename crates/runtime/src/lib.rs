//! What every Tributary service shares: configuration, telemetry, the gRPC server bootstrap
//! (health, reflection, graceful shutdown), authentication, the error model, page tokens and the
//! database connection.

pub mod auth;
pub mod cli;
pub mod client;
pub mod compliance;
pub mod config;
pub mod db;
pub mod error;
pub mod ids;
pub mod metrics;
pub mod paging;
pub mod server;
pub mod shutdown;
pub mod tags;
pub mod telemetry;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod time;
pub mod tls;
pub mod version;

pub use error::{Error, FieldViolation, Violations};

/// The version every Tributary binary reports (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
