//! The static network: a GTFS or GTFS-JP feed (folder or zip) checked in
//! memory ([`feed`]), then loaded into a new, versioned set of tables and made
//! active in one transaction ([`import`]); names resolved in every language
//! and normalised stop-search keys ([`search`]); and which services run on a
//! date, with the Japanese national-holiday rule ([`service_day`]); and the
//! read model the other services use instead of SQL of their own ([`read`]).
//!
//! Tables (see `migrations/20261124000002_network.sql`): `feed_versions` and
//! the `network_*` tables, each keyed by `feed_version_id`.

pub mod cli;
pub mod feed;
pub mod frequencies;
pub mod ignored;
pub mod import;
pub mod namespace;
pub mod read;
pub mod search;
pub mod service_day;

pub use feed::{Feed, FeedReport, Problem};
pub use import::{ImportOptions, ImportOutcome, ImportSummary, import};
pub use service_day::{ServiceDay, active_version, services_on};
