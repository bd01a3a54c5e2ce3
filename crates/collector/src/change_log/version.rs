//! Hybrid logical clock versions live in the runtime so aggregators merge with the same type;
//! re-exported here where the change log has always named them.

pub use tributary_runtime::version::*;
