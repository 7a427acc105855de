//! Integration tests of the ingest service against the real broker and the
//! real database (one test binary, a module per feature).
mod api;
mod mqtt_to_db;
mod restart;
mod schema;
mod support;
mod validation;
