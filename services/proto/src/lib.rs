//! Generated protobuf messages and gRPC services (package `kagoshima.transit.v1`),
//! plus proto3 JSON decoding for devices that publish JSON.

pub mod json;

/// `kagoshima.transit.v1`: device messages and service definitions.
pub mod v1 {
    #![allow(clippy::all, unused_qualifications)]
    tonic::include_proto!("kagoshima.transit.v1");
}

/// The encoded `FileDescriptorSet` of every .proto in the project, for gRPC
/// reflection and JSON decoding.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

pub use prost::Message;
pub use prost_types::Timestamp;
