//! Several feeds active at once, their IDs kept apart.
//!
//! Kagoshima's stops are served by several operators: the city's trams and
//! buses (the bureau's own feed, the *primary* one) and private bus
//! companies, each publishing a feed of its own whose IDs may collide with
//! the city's (`1001` in both). The primary feed keeps its IDs as published,
//! since the onboard devices and the GTFS-Realtime feed use them. Every other
//! feed is imported under a feed ID (`nangoku`), and all its IDs become
//! `nangoku:<id>`: agencies, routes, stops, trips, services, shapes and
//! blocks, with every reference to them (stop times, frequencies,
//! translations' record_id, GTFS-JP files' ID columns). A feed with one
//! agency and no agency_id gets the feed ID as its agency's.
use crate::feed::Feed;

/// The separator between a feed ID and a published ID.
pub const SEPARATOR: char = ':';

/// Whether `feed_id` can name a feed: 1-32 lower-case ASCII letters, digits,
/// `-` or `_`. The primary feed has none.
pub fn valid_feed_id(feed_id: &str) -> Result<(), String> {
    let ok = !feed_id.is_empty()
        && feed_id.len() <= 32
        && feed_id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "feed ID {feed_id:?} is not 1-32 characters of a-z, 0-9, '-' or '_' (e.g. nangoku)"
        ))
    }
}

/// Renames every ID of `feed` into the namespace `feed_id`.
pub fn apply(feed: &mut Feed, feed_id: &str) {
    let p = |id: &str| format!("{feed_id}{SEPARATOR}{id}");
    let po = |id: &mut Option<String>| {
        if let Some(v) = id.as_mut().filter(|v| !v.is_empty()) {
            *v = p(v);
        }
    };
    feed.feed_id = Some(feed_id.to_owned());
    let sole_agency = (feed.agencies.len() == 1).then(|| {
        let a = &mut feed.agencies[0];
        let id = match a.id.as_deref().filter(|i| !i.is_empty()) {
            Some(i) => p(i),
            None => feed_id.to_owned(),
        };
        a.id = Some(id.clone());
        id
    });
    if sole_agency.is_none() {
        for a in &mut feed.agencies {
            po(&mut a.id);
        }
    }
    for r in &mut feed.routes {
        r.id = p(&r.id);
        match r.agency_id.as_mut().filter(|a| !a.is_empty()) {
            Some(a) => {
                *a = match &sole_agency {
                    Some(only) => only.clone(),
                    None => p(a),
                }
            }
            None => r.agency_id = sole_agency.clone(),
        }
    }
    for s in &mut feed.stops {
        s.id = p(&s.id);
        po(&mut s.parent_station);
    }
    for t in &mut feed.trips {
        t.id = p(&t.id);
        t.route_id = p(&t.route_id);
        t.service_id = p(&t.service_id);
        po(&mut t.shape_id);
        po(&mut t.block_id);
    }
    for st in &mut feed.stop_times {
        st.trip_id = p(&st.trip_id);
        st.stop_id = p(&st.stop_id);
    }
    for c in &mut feed.calendars {
        c.id = p(&c.id);
    }
    for d in &mut feed.calendar_dates {
        d.service_id = p(&d.service_id);
    }
    for s in &mut feed.shapes {
        s.id = p(&s.id);
    }
    for f in &mut feed.frequencies {
        f.trip_id = p(&f.trip_id);
    }
    for t in &mut feed.translations {
        let keyed = matches!(
            t.table_name.as_str(),
            "agency" | "routes" | "stops" | "trips" | "calendar" | "shapes"
        );
        if keyed {
            po(&mut t.record_id);
        }
    }
    for file in &mut feed.extra_files {
        for (_, row) in &mut file.rows {
            let Some(fields) = row.as_object_mut() else {
                continue;
            };
            for key in ["agency_id", "route_id", "stop_id", "trip_id", "service_id"] {
                if let Some(serde_json::Value::String(v)) = fields.get_mut(key)
                    && !v.is_empty()
                {
                    *v = match (key, &sole_agency) {
                        ("agency_id", Some(only)) => only.clone(),
                        _ => p(v),
                    };
                }
            }
        }
    }
}
