//! Domain rules shared by every service. Pure code: no I/O, no async.

pub mod calendar;
pub mod capacity;
pub mod card_data;
pub mod decode;
pub mod fields;
pub mod service_area;
pub mod stop_visit;
pub mod topic;
pub mod validation;
