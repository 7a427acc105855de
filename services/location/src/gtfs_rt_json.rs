//! GTFS-Realtime as proto3 JSON (the canonical JSON mapping of protobuf),
//! for `?format=json`: what `JsonFormat` / `json_format.MessageToJson` of
//! the official bindings print, so tools that read GTFS-Realtime JSON
//! (MobilityData's validator, the Python bindings' `json_format.Parse`)
//! read ours.
//!
//! The gtfs-realtime crate's messages serialise with serde in their Rust
//! shape; three rules of the mapping are applied on top: field names in
//! lowerCamelCase, enum values by name (from the crate's own enums), 64-bit
//! integers as strings; unset fields and empty lists are left out.
use gtfs_realtime::{
    FeedMessage, alert, feed_header, trip_descriptor, trip_update::stop_time_update,
    vehicle_descriptor, vehicle_position,
};
use serde_json::{Map, Value};

/// The feed as proto3 JSON.
pub fn to_json(feed: &FeedMessage) -> Value {
    let raw = serde_json::to_value(feed).unwrap_or_default();
    convert(raw, "")
}

fn convert(value: Value, parent: &str) -> Value {
    match value {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, v) in fields {
                let v = match v {
                    Value::Null => continue,
                    Value::Array(a) if a.is_empty() => continue,
                    Value::Number(n) if is_64_bit(parent, &key) => Value::String(n.to_string()),
                    Value::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
                        Some(code) => enum_name(parent, &key, code)
                            .map_or(Value::Number(n), |name| Value::String(name.into())),
                        None => Value::Number(n),
                    },
                    other => convert(other, &key),
                };
                out.insert(camel(&key), v);
            }
            Value::Object(out)
        }
        // A list's items are messages of the list's field.
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| convert(v, parent)).collect())
        }
        other => other,
    }
}

/// Fields of type int64/uint64 in gtfs-realtime.proto: timestamps, a stop
/// time event's time and a time range's ends.
fn is_64_bit(parent: &str, key: &str) -> bool {
    matches!(
        (parent, key),
        (_, "timestamp") | ("arrival" | "departure", "time") | ("active_period", "start" | "end")
    )
}

/// The name of an enum value, by the field holding it (`parent` is the
/// field of the message that holds `key`).
fn enum_name(parent: &str, key: &str, code: i32) -> Option<&'static str> {
    Some(match (parent, key) {
        ("header", "incrementality") => feed_header::Incrementality::try_from(code)
            .ok()?
            .as_str_name(),
        ("trip", "schedule_relationship") => trip_descriptor::ScheduleRelationship::try_from(code)
            .ok()?
            .as_str_name(),
        ("stop_time_update", "schedule_relationship") => {
            stop_time_update::ScheduleRelationship::try_from(code)
                .ok()?
                .as_str_name()
        }
        (_, "current_status") => vehicle_position::VehicleStopStatus::try_from(code)
            .ok()?
            .as_str_name(),
        (_, "congestion_level") => vehicle_position::CongestionLevel::try_from(code)
            .ok()?
            .as_str_name(),
        (_, "occupancy_status" | "departure_occupancy_status") => {
            vehicle_position::OccupancyStatus::try_from(code)
                .ok()?
                .as_str_name()
        }
        ("vehicle", "wheelchair_accessible") => {
            vehicle_descriptor::WheelchairAccessible::try_from(code)
                .ok()?
                .as_str_name()
        }
        (_, "cause") => alert::Cause::try_from(code).ok()?.as_str_name(),
        (_, "effect") => alert::Effect::try_from(code).ok()?.as_str_name(),
        (_, "severity_level") => alert::SeverityLevel::try_from(code).ok()?.as_str_name(),
        _ => return None,
    })
}

/// `stop_time_update` → `stopTimeUpdate`.
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use gtfs_realtime::{
        FeedEntity, FeedHeader, TripDescriptor, TripUpdate, VehiclePosition,
        trip_update::{StopTimeEvent, StopTimeUpdate},
    };

    use super::*;

    #[test]
    fn names_enums_and_64_bit_integers_as_the_mapping_says() {
        let feed = FeedMessage {
            header: FeedHeader {
                gtfs_realtime_version: "2.0".into(),
                incrementality: Some(0),
                timestamp: Some(1_796_221_656),
                ..FeedHeader::default()
            },
            entity: vec![
                FeedEntity {
                    id: "trip-1".into(),
                    trip_update: Some(TripUpdate {
                        trip: TripDescriptor {
                            trip_id: Some("loop".into()),
                            start_time: Some("07:10:00".into()),
                            schedule_relationship: Some(2),
                            ..TripDescriptor::default()
                        },
                        stop_time_update: vec![StopTimeUpdate {
                            stop_id: Some("b".into()),
                            arrival: Some(StopTimeEvent {
                                time: Some(1_796_221_700),
                                ..StopTimeEvent::default()
                            }),
                            schedule_relationship: Some(1),
                            ..StopTimeUpdate::default()
                        }],
                        ..TripUpdate::default()
                    }),
                    ..FeedEntity::default()
                },
                FeedEntity {
                    id: "vehicle-1".into(),
                    vehicle: Some(VehiclePosition {
                        current_status: Some(1),
                        occupancy_status: Some(2),
                        ..VehiclePosition::default()
                    }),
                    ..FeedEntity::default()
                },
            ],
        };
        let json = to_json(&feed);
        assert_eq!(json["header"]["gtfsRealtimeVersion"], "2.0");
        assert_eq!(json["header"]["incrementality"], "FULL_DATASET");
        assert_eq!(json["header"]["timestamp"], "1796221656");
        let update = &json["entity"][0]["tripUpdate"];
        assert_eq!(update["trip"]["scheduleRelationship"], "UNSCHEDULED");
        assert_eq!(update["trip"]["startTime"], "07:10:00");
        let stu = &update["stopTimeUpdate"][0];
        assert_eq!(stu["scheduleRelationship"], "SKIPPED");
        assert_eq!(stu["arrival"]["time"], "1796221700");
        assert!(
            stu["arrival"].get("delay").is_none(),
            "unset fields are left out"
        );
        let vehicle = &json["entity"][1]["vehicle"];
        assert_eq!(vehicle["currentStatus"], "STOPPED_AT");
        assert_eq!(vehicle["occupancyStatus"], "FEW_SEATS_AVAILABLE");
        assert!(json["entity"][1].get("tripUpdate").is_none());
    }
}
