//! The `tributary` command: runs the whole system in one process (`tributary up`) and talks to its
//! services. The in-process [`cluster`] is also what end-to-end tests start.

pub mod cluster;
pub mod up;
