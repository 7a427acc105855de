//! Integration tests of the ingest service against the real broker and the
//! real database (one test binary, a module per feature).
mod api;
mod diagnostics;
mod engines;
mod faults;
mod hostile;
mod mqtt_to_db;
mod registry;
mod restart;
mod schema;
mod security;
mod support;
mod tls;
mod validation;
