//! Security Hub finding logic shared by the collector (each region's hub) and the aggregator (the
//! home region's aggregated view), so both answer the same filters, insights, control statuses and
//! merges from one implementation.

pub mod attributes;
pub mod controls;
pub mod filter;
pub mod index;
pub mod insights;
pub mod merge;
pub mod query;
pub mod schema;
pub mod update;
