//! Timetable planning (ダイヤ編成) from what the platform observes: the
//! running and dwell times of stop visits against the timetable, schedule
//! adherence, headway regularity of the frequent tram lines, the demand on
//! each trip from the rides (boardings, alightings, load, the peak load
//! point, crowded trips, an origin-destination matrix, inbound cards), and
//! from them the recommended running times per time band and a draft
//! timetable (see [`draft`]).
//!
//! Everything is computed for a period of service days and, optionally, one
//! route; an empty period is an answer that says so, never an error.
pub mod analysis;
pub mod api;
pub mod bands;
pub mod bundle;
pub mod cache;
pub mod draft;
pub mod loads;
pub mod report;
pub mod stringline;
pub mod suggest;
pub mod visits;

pub use analysis::{Analysis, PlanningRequest, analyse};
pub use bands::Band;
