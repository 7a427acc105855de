//! Integration tests of the location service's passenger information against
//! the real database (one test binary, a module per feature).
mod alerts;
mod counts;
mod frequencies;
mod grpc;
mod late_buffer;
mod live;
mod operators;
mod reflection;
mod search;
mod shape;
mod stations;
mod support;
mod timetable;
mod usual;
