//! The indicators crate's one integration test binary: the progress vectors,
//! and on a real database (kagoshima_tests::TestDb) a simulated month whose
//! every indicator must equal the ground truth, late and repeated taps, the
//! fiscal-year boundary, suppression, no leaks, and the gRPC errors.
mod availability;
mod grpc;
mod month;
mod planning;
mod sim;
mod support;
mod vectors;
