//! proto3 JSON decoding (the canonical JSON mapping of protobuf), driven by the
//! project's own descriptors so JSON and binary payloads accept the same fields.
use std::sync::LazyLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};

use crate::FILE_DESCRIPTOR_SET;

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("the build embeds a valid descriptor set")
});

/// Why a JSON payload could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("unknown message type {0}")]
    UnknownType(String),
    #[error("invalid proto3 json: {0}")]
    Invalid(String),
}

/// Decodes a proto3 JSON document into the generated message `M`.
///
/// Unknown fields are rejected, so a misspelt field is an error rather than a
/// silently missing value.
pub fn decode<M>(json: &[u8]) -> Result<M, JsonError>
where
    M: Message + Default + Name,
{
    let descriptor = POOL
        .get_message_by_name(M::FULL_NAME)
        .ok_or_else(|| JsonError::UnknownType(M::FULL_NAME.to_owned()))?;
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let dynamic = DynamicMessage::deserialize(descriptor, &mut deserializer)
        .map_err(|e| JsonError::Invalid(e.to_string()))?;
    deserializer
        .end()
        .map_err(|e| JsonError::Invalid(e.to_string()))?;
    dynamic
        .transcode_to::<M>()
        .map_err(|e| JsonError::Invalid(e.to_string()))
}

/// Encodes a generated message as proto3 JSON (for simulators and tools).
pub fn encode<M>(message: &M) -> Result<Vec<u8>, JsonError>
where
    M: Message + Name,
{
    let descriptor = POOL
        .get_message_by_name(M::FULL_NAME)
        .ok_or_else(|| JsonError::UnknownType(M::FULL_NAME.to_owned()))?;
    let mut dynamic = DynamicMessage::new(descriptor);
    dynamic
        .transcode_from(message)
        .map_err(|e| JsonError::Invalid(e.to_string()))?;
    serde_json::to_vec(&dynamic).map_err(|e| JsonError::Invalid(e.to_string()))
}

/// The fully qualified protobuf name of a generated message.
pub trait Name {
    const FULL_NAME: &'static str;
}

macro_rules! names {
    ($($ty:ident),* $(,)?) => {
        $(impl Name for crate::v1::$ty {
            const FULL_NAME: &'static str = concat!("kagoshima.transit.v1.", stringify!($ty));
        })*
    };
}

names!(Position, Tap, PassengerCount, DeviceStatus, DeviceEvent);
