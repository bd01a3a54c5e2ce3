//! The `tributary` command: runs the whole system in one process (`tributary up`) and talks to its
//! services. The in-process [`cluster`] is also what end-to-end tests start; [`commands`] is the
//! command line, callable in-process with explicit endpoints and keys.

pub mod api_docs;
pub mod asff;
pub mod cluster;
pub mod commands;
pub mod context;
pub mod errors;
pub mod output;
pub mod paging;
pub mod up;
