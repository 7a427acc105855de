//! An alert's content as the bureau writes it: checked once on the way in
//! (languages, lengths, entities of the active feed, periods) and kept as
//! this struct, stored as JSON.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kagoshima_network::read::Catalog;
use kagoshima_proto::v1::{
    ActivePeriod, AlertCause, AlertDraft, AlertEffect, AlertText, InformedEntity,
};
use serde::{Deserialize, Serialize};

use crate::static_info::{InfoError, LANGUAGES};

/// Most characters of a header (a banner, a line on a sign).
pub const MAX_HEADER_CHARS: usize = 120;
/// Most characters of a description.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;
/// Most informed entities and active periods of one alert.
pub const MAX_ENTITIES: usize = 200;

/// What an alert is about; at least one field is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trip_id: Option<String>,
}

impl Entity {
    /// Only an agency: all of its service.
    pub fn is_agency_wide(&self) -> bool {
        self.route_id.is_none() && self.stop_id.is_none() && self.trip_id.is_none()
    }
}

/// When an alert applies; open at either end when unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl Period {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| t < e)
    }
}

/// A checked alert draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// The proto enum names (`ALERT_CAUSE_WEATHER`), stable in storage.
    pub cause: String,
    pub effect: String,
    /// Language → text; always has "ja" and "en".
    pub header: BTreeMap<String, String>,
    pub description: BTreeMap<String, String>,
    pub entities: Vec<Entity>,
    /// Empty: from creation until ended.
    pub periods: Vec<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Draft {
    pub fn cause(&self) -> AlertCause {
        AlertCause::from_str_name(&self.cause).unwrap_or(AlertCause::Unspecified)
    }

    pub fn effect(&self) -> AlertEffect {
        AlertEffect::from_str_name(&self.effect).unwrap_or(AlertEffect::Unspecified)
    }

    /// Whether it applies at `t` (periods only; ending is the store's).
    pub fn applies_at(&self, t: DateTime<Utc>) -> bool {
        self.periods.is_empty() || self.periods.iter().any(|p| p.contains(t))
    }

    /// Checks a draft from the API against the rules and the active feed.
    pub async fn check(pb: AlertDraft, catalog: &Catalog) -> Result<Draft, InfoError> {
        let invalid = |m: String| InfoError::InvalidArgument(m);
        let cause = AlertCause::try_from(pb.cause)
            .map_err(|_| invalid(format!("cause {} is not an AlertCause", pb.cause)))?;
        let effect = AlertEffect::try_from(pb.effect)
            .map_err(|_| invalid(format!("effect {} is not an AlertEffect", pb.effect)))?;
        let header = texts("header", pb.header, MAX_HEADER_CHARS)?;
        for required in ["ja", "en"] {
            if !header.contains_key(required) {
                return Err(invalid(format!(
                    "header needs a {required:?} text: riders read alerts in Japanese and English at least"
                )));
            }
        }
        let description = texts("description", pb.description, MAX_DESCRIPTION_CHARS)?;
        if pb.informed_entities.is_empty() {
            return Err(invalid(
                "informed_entities is empty: name the agency, a route, a stop or a trip".into(),
            ));
        }
        if pb.informed_entities.len() > MAX_ENTITIES || pb.active_periods.len() > MAX_ENTITIES {
            return Err(invalid(format!(
                "at most {MAX_ENTITIES} informed entities and {MAX_ENTITIES} active periods"
            )));
        }
        let mut entities = Vec::with_capacity(pb.informed_entities.len());
        for e in pb.informed_entities {
            entities.push(entity(e, catalog).await?);
        }
        let periods = pb
            .active_periods
            .into_iter()
            .map(period)
            .collect::<Result<Vec<_>, _>>()?;
        let url = Some(pb.url.trim().to_owned()).filter(|u| !u.is_empty());
        if let Some(u) = &url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(invalid(format!("url {u:?} is not an http(s) address")));
        }
        Ok(Draft {
            cause: cause.as_str_name().to_owned(),
            effect: effect.as_str_name().to_owned(),
            header,
            description,
            entities,
            periods,
            url,
        })
    }

    /// The draft as the API shows it: every language, or only `lang` (else
    /// English, else Japanese) for a rider.
    pub fn to_proto(&self, lang: Option<&str>) -> AlertDraft {
        let pick = |texts: &BTreeMap<String, String>| -> Vec<AlertText> {
            match lang {
                None => texts
                    .iter()
                    .map(|(l, t)| AlertText {
                        lang: l.clone(),
                        text: t.clone(),
                    })
                    .collect(),
                Some(lang) => [lang, "en", "ja"]
                    .iter()
                    .find_map(|l| texts.get_key_value(*l))
                    .map(|(l, t)| AlertText {
                        lang: l.clone(),
                        text: t.clone(),
                    })
                    .into_iter()
                    .collect(),
            }
        };
        AlertDraft {
            cause: self.cause().into(),
            effect: self.effect().into(),
            header: pick(&self.header),
            description: pick(&self.description),
            informed_entities: self
                .entities
                .iter()
                .map(|e| InformedEntity {
                    agency_id: e.agency_id.clone().unwrap_or_default(),
                    route_id: e.route_id.clone().unwrap_or_default(),
                    stop_id: e.stop_id.clone().unwrap_or_default(),
                    trip_id: e.trip_id.clone().unwrap_or_default(),
                })
                .collect(),
            active_periods: self
                .periods
                .iter()
                .map(|p| ActivePeriod {
                    start: p.start.map(timestamp),
                    end: p.end.map(timestamp),
                })
                .collect(),
            url: self.url.clone().unwrap_or_default(),
        }
    }
}

pub fn timestamp(t: DateTime<Utc>) -> kagoshima_proto::Timestamp {
    kagoshima_proto::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn texts(
    field: &str,
    given: Vec<AlertText>,
    max_chars: usize,
) -> Result<BTreeMap<String, String>, InfoError> {
    let mut out = BTreeMap::new();
    for t in given {
        let lang = kagoshima_network::feed::canonical_lang(&t.lang);
        let Some(lang) = LANGUAGES.iter().find(|l| **l == lang) else {
            return Err(InfoError::InvalidArgument(format!(
                "{field} language {:?} is not one of {}",
                t.lang,
                LANGUAGES.join(", ")
            )));
        };
        let text = t.text.trim();
        if text.is_empty() {
            continue;
        }
        if text.chars().count() > max_chars {
            return Err(InfoError::InvalidArgument(format!(
                "{field} in {lang} is too long: at most {max_chars} characters"
            )));
        }
        if out.insert((*lang).to_owned(), text.to_owned()).is_some() {
            return Err(InfoError::InvalidArgument(format!(
                "{field} has two {lang} texts"
            )));
        }
    }
    Ok(out)
}

async fn entity(e: InformedEntity, catalog: &Catalog) -> Result<Entity, InfoError> {
    let field = |v: String| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let entity = Entity {
        agency_id: field(e.agency_id),
        route_id: field(e.route_id),
        stop_id: field(e.stop_id),
        trip_id: field(e.trip_id),
    };
    if entity.is_agency_wide() && entity.agency_id.is_none() {
        return Err(InfoError::InvalidArgument(
            "an informed entity names nothing: set agency_id, route_id, stop_id or trip_id".into(),
        ));
    }
    let unknown = |what: &str, id: &str| {
        InfoError::InvalidArgument(format!("{what} {id:?} is not in the active feed"))
    };
    if let Some(a) = &entity.agency_id
        && !catalog.agency_exists(a).await?
    {
        return Err(unknown("agency_id", a));
    }
    if let Some(r) = &entity.route_id
        && !catalog.route_exists(r).await?
    {
        return Err(unknown("route_id", r));
    }
    if let Some(s) = &entity.stop_id
        && catalog.stops(std::slice::from_ref(s)).await?.is_empty()
    {
        return Err(unknown("stop_id", s));
    }
    if let Some(t) = &entity.trip_id
        && !catalog.trip_exists(t).await?
    {
        return Err(unknown("trip_id", t));
    }
    Ok(entity)
}

fn period(p: ActivePeriod) -> Result<Period, InfoError> {
    let at = |t: Option<kagoshima_proto::Timestamp>| -> Result<Option<DateTime<Utc>>, InfoError> {
        t.map(|t| {
            DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32).ok_or_else(|| {
                InfoError::InvalidArgument(format!(
                    "active period time {} is out of range",
                    t.seconds
                ))
            })
        })
        .transpose()
    };
    let period = Period {
        start: at(p.start)?,
        end: at(p.end)?,
    };
    if let (Some(s), Some(e)) = (period.start, period.end)
        && e <= s
    {
        return Err(InfoError::InvalidArgument(format!(
            "an active period ends ({e}) before it starts ({s})"
        )));
    }
    Ok(period)
}
