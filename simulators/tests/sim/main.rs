//! Integration tests of the simulators (one binary, a module per feature).
mod broker;
mod counts;
mod determinism;
mod feed;
mod motion;
mod noise;
mod support;
