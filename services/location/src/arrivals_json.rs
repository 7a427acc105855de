//! `GetArrivalsResponse` as proto3 JSON, written directly. The generic path
//! ([`crate::http::proto_json`]) encodes the message, decodes it again into
//! a reflective message and walks its descriptors: a quarter of the CPU of
//! an arrivals request under load (issue #8). This writes the same JSON
//! (proto field names, every scalar present, unset messages left out,
//! enums by name, timestamps in RFC 3339); a test holds it equal to the
//! generic output.
use kagoshima_proto::Timestamp;
use kagoshima_proto::v1::{
    Arrival, ArrivalStatus, GetArrivalsResponse, LocalizedName, TransitMode,
};
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// Wraps a response for `serde_json`.
pub struct ArrivalsJson<'a>(pub &'a GetArrivalsResponse);

impl Serialize for ArrivalsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_struct("GetArrivalsResponse", 4)?;
        m.serialize_field("stop_id", &r.stop_id)?;
        optional(&mut m, "stop_name", r.stop_name.as_ref().map(Name))?;
        optional(&mut m, "generated_at", r.generated_at.as_ref().map(Time))?;
        m.serialize_field("arrivals", &Arrivals(&r.arrivals))?;
        m.end()
    }
}

struct Arrivals<'a>(&'a [Arrival]);

impl Serialize for Arrivals<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ArrivalJson))
    }
}

struct ArrivalJson<'a>(&'a Arrival);

impl Serialize for ArrivalJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut m = s.serialize_struct("Arrival", 13)?;
        m.serialize_field("trip_id", &a.trip_id)?;
        m.serialize_field("route_id", &a.route_id)?;
        optional(
            &mut m,
            "route_short_name",
            a.route_short_name.as_ref().map(Name),
        )?;
        optional(&mut m, "headsign", a.headsign.as_ref().map(Name))?;
        m.serialize_field(
            "mode",
            &Enum(a.mode, |v| {
                TransitMode::try_from(v).ok().map(|e| e.as_str_name())
            }),
        )?;
        m.serialize_field("stop_sequence", &a.stop_sequence)?;
        optional(
            &mut m,
            "scheduled_time",
            a.scheduled_time.as_ref().map(Time),
        )?;
        optional(
            &mut m,
            "predicted_time",
            a.predicted_time.as_ref().map(Time),
        )?;
        m.serialize_field("delay_seconds", &a.delay_seconds)?;
        m.serialize_field("vehicle_id", &a.vehicle_id)?;
        m.serialize_field("stops_away", &a.stops_away)?;
        m.serialize_field(
            "status",
            &Enum(a.status, |v| {
                ArrivalStatus::try_from(v).ok().map(|e| e.as_str_name())
            }),
        )?;
        m.serialize_field("minutes", &a.minutes)?;
        m.end()
    }
}

/// A message field: left out when unset, as the generic writer does.
fn optional<M: SerializeStruct, T: Serialize>(
    m: &mut M,
    key: &'static str,
    value: Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => m.serialize_field(key, &v),
        None => m.skip_field(key),
    }
}

struct Name<'a>(&'a LocalizedName);

impl Serialize for Name<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("LocalizedName", 2)?;
        m.serialize_field("lang", &self.0.lang)?;
        m.serialize_field("text", &self.0.text)?;
        m.end()
    }
}

/// RFC 3339, as proto3 JSON writes `google.protobuf.Timestamp`.
struct Time<'a>(&'a Timestamp);

impl Serialize for Time<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

/// An enum by its name, or by its number when the name is unknown.
struct Enum(i32, fn(i32) -> Option<&'static str>);

impl Serialize for Enum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.1)(self.0) {
            Some(name) => s.serialize_str(name),
            None => s.serialize_i32(self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(lang: &str, text: &str) -> Option<LocalizedName> {
        Some(LocalizedName {
            lang: lang.into(),
            text: text.into(),
        })
    }

    fn generic(r: &GetArrivalsResponse) -> serde_json::Value {
        let body = crate::http::proto_json_bytes(r, "GetArrivalsResponse").expect("generic JSON");
        serde_json::from_slice(&body).expect("generic JSON parses")
    }

    #[test]
    fn writes_what_the_generic_proto3_json_writes() {
        let t = |seconds, nanos| Some(Timestamp { seconds, nanos });
        let full = Arrival {
            trip_id: "T1-WD-0-0600".into(),
            route_id: "tram-1".into(),
            route_short_name: name("en", "Line 1 \"express\"\n"),
            headsign: name("ja", "谷山"),
            mode: TransitMode::Tram.into(),
            stop_sequence: 7,
            scheduled_time: t(1_749_510_000, 0),
            predicted_time: t(1_749_510_312, 353_289_600),
            delay_seconds: -312,
            vehicle_id: "tram-0101".into(),
            stops_away: 2,
            status: ArrivalStatus::OnTheWay.into(),
            minutes: 5,
        };
        let bare = Arrival {
            predicted_time: None,
            route_short_name: None,
            status: 99,
            mode: 0,
            ..full.clone()
        };
        for r in [
            GetArrivalsResponse {
                stop_id: "tram_tenmonkan_dori".into(),
                stop_name: name("ja", "天文館通"),
                generated_at: t(1_749_510_001, 5_000_000),
                arrivals: vec![full.clone(), bare],
            },
            GetArrivalsResponse::default(),
        ] {
            let ours: serde_json::Value = serde_json::to_value(ArrivalsJson(&r)).expect("our JSON");
            assert_eq!(ours, generic(&r), "{r:?}");
        }
    }
}
