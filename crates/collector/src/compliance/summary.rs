//! How evaluation results summarise into compliance. The rules are shared with the aggregator's
//! views, so they live in [`tributary_runtime::compliance`].

pub use tributary_runtime::compliance::*;
