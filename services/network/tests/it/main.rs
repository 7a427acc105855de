//! Integration tests of the network importer against the real database (one
//! test binary, a module per feature).
mod broken;
mod import;
mod service_day;
mod support;
