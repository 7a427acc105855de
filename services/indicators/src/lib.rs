pub mod plan;
pub mod progress;
