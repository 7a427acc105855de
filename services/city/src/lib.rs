//! The whole platform in one process, for small deployments and the demo:
//! an embedded MQTT broker unless one is configured, `DATABASE_URL` or a
//! private PostgreSQL, the sample network, every service, and the simulated
//! city publishing in real time.

pub mod broker;
pub mod database;
pub mod demo;
pub mod demo_clock;
pub mod history;
pub mod platform;
pub mod secrets;
