//! The network as the other services read it: the only place besides the
//! importer that speaks SQL to `feed_versions` and the `network_*` tables.
//!
//! * [`snapshot`]: the whole active network at once, for the live tracker.
//! * [`catalog`]: one question at a time, for the passenger API.
//! * [`schedule`]: what the indicators need of the timetable.
pub mod catalog;
pub mod schedule;
pub mod snapshot;

pub use catalog::{Catalog, ServicePeriod};
pub use snapshot::{ActiveNetwork, Names};
