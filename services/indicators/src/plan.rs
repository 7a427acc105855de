//! The DX plan's indicators, targets per fiscal year and reported actuals,
//! read from `data/plan/dx-plan-targets.toml` (embedded in the binary; a
//! file given at run time replaces it).
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kagoshima_domain::calendar::FiscalYear;
use serde::Deserialize;

use crate::progress::{
    Decimal, Progress, ProgressError, ProgressRate, Status, assess, policy_progress,
};

/// The plan file shipped in the repository, embedded at build time.
pub const EMBEDDED_PLAN: &str = include_str!("../../../data/plan/dx-plan-targets.toml");
/// How errors name the embedded plan.
pub const EMBEDDED_PLAN_NAME: &str = "data/plan/dx-plan-targets.toml (embedded)";
/// The schema version this code reads.
pub const SCHEMA: u32 = 1;

/// Why a plan file cannot be used. Each names the file; `Invalid` also the
/// key, such as `indicators[kagorin_rides].targets.FY2023`.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{file}: cannot read the plan file: {reason}")]
    Read {
        file: String,
        reason: std::io::Error,
    },
    #[error("{file}: {reason}")]
    Parse {
        file: String,
        reason: toml::de::Error,
    },
    #[error("{file}: {key}: {reason}")]
    Invalid {
        file: String,
        key: String,
        reason: String,
    },
}

/// A policy of the plan, such as ⑧ 都市・交通のデジタル化.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: String,
    /// The circled number in the plan (⑧ = 8).
    pub number: u32,
    pub name_ja: String,
    pub name_en: String,
}

/// Whether an indicator has numeric targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    Quantitative,
    /// Judged by the committee without a number (No. 66): no targets, no
    /// computed progress, only a reported status.
    Qualitative,
}

/// A fiscal year's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub value: Decimal,
    /// Such as "free trial (無料)".
    pub note: Option<String>,
}

/// An indicator (評価指標) of a measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// Stable snake_case key (`kagorin_rides`).
    pub id: String,
    /// The policy's id.
    pub policy: String,
    /// The measure's number in the plan (No. 58).
    pub measure: u32,
    /// ①, ② within a measure with several indicators.
    pub number: Option<u32>,
    pub measure_en: String,
    pub name_ja: String,
    pub name_en: String,
    /// As in the plan: 件, %, 回, 人, 基, …
    pub unit: String,
    pub unit_en: String,
    /// One line on what is counted and how (Japanese, English).
    pub definition_ja: String,
    pub definition_en: String,
    pub kind: IndicatorKind,
    pub note: Option<String>,
    pub targets: BTreeMap<FiscalYear, Target>,
    pub actuals: BTreeMap<FiscalYear, Decimal>,
    /// The status the committee reported, where known.
    pub reported_status: BTreeMap<FiscalYear, Status>,
}

impl Indicator {
    pub fn target(&self, fy: FiscalYear) -> Option<&Target> {
        self.targets.get(&fy)
    }

    pub fn actual(&self, fy: FiscalYear) -> Option<Decimal> {
        self.actuals.get(&fy).copied()
    }

    pub fn reported_status(&self, fy: FiscalYear) -> Option<Status> {
        self.reported_status.get(&fy).copied()
    }

    /// `No.56①`, `No.58`.
    pub fn measure_label(&self) -> String {
        const CIRCLED: [&str; 10] = ["①", "②", "③", "④", "⑤", "⑥", "⑦", "⑧", "⑨", "⑩"];
        match self.number {
            Some(n @ 1..=10) => format!("No.{}{}", self.measure, CIRCLED[n as usize - 1]),
            Some(n) => format!("No.{}({n})", self.measure),
            None => format!("No.{}", self.measure),
        }
    }

    /// The computed progress in `fy`:
    /// * no target (quantitative indicator): status −, no rate;
    /// * a target but no actual yet: `None`;
    /// * both: actual / target;
    /// * qualitative indicators: `None` (see [`Indicator::reported_status`]).
    pub fn progress(&self, fy: FiscalYear) -> Result<Option<Progress>, ProgressError> {
        if self.kind == IndicatorKind::Qualitative {
            return Ok(None);
        }
        match (self.target(fy), self.actual(fy)) {
            (None, _) => Ok(Some(Progress::NO_TARGET)),
            (Some(_), None) => Ok(None),
            (Some(t), Some(a)) => assess(Some(t.value), a).map(Some),
        }
    }
}

/// The plan: policies and their indicators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub title: String,
    /// Where the figures come from.
    pub source: String,
    pub policies: Vec<Policy>,
    pub indicators: Vec<Indicator>,
}

impl Plan {
    /// The plan shipped in the repository ([`EMBEDDED_PLAN`]).
    pub fn embedded() -> Result<Plan, PlanError> {
        Plan::from_toml_str(EMBEDDED_PLAN, EMBEDDED_PLAN_NAME)
    }

    /// The plan in `path`, or the embedded one when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Plan, PlanError> {
        match path {
            None => Plan::embedded(),
            Some(path) => {
                let file = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|reason| PlanError::Read {
                    file: file.clone(),
                    reason,
                })?;
                Plan::from_toml_str(&text, &file)
            }
        }
    }

    /// Parses and checks a plan; `file` names it in errors.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Plan, PlanError> {
        let raw: RawPlan = toml::from_str(text).map_err(|reason| PlanError::Parse {
            file: file.to_owned(),
            reason,
        })?;
        raw.check(file)
    }

    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.id == id)
    }

    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }

    /// The indicators of a policy, in file order.
    pub fn indicators_of<'a>(&'a self, policy_id: &'a str) -> impl Iterator<Item = &'a Indicator> {
        self.indicators
            .iter()
            .filter(move |i| i.policy == policy_id)
    }

    /// Every fiscal year with a target or an actual, in order.
    pub fn fiscal_years(&self) -> BTreeSet<FiscalYear> {
        self.indicators
            .iter()
            .flat_map(|i| i.targets.keys().chain(i.actuals.keys()).copied())
            .collect()
    }

    /// A policy's progress in `fy`: the mean of the unrounded rates of its
    /// indicators that have both a target and an actual that year; `None`
    /// when none has.
    pub fn policy_progress(
        &self,
        policy_id: &str,
        fy: FiscalYear,
    ) -> Result<Option<Progress>, ProgressError> {
        let mut rates: Vec<ProgressRate> = Vec::new();
        for indicator in self.indicators_of(policy_id) {
            if let Some(rate) = indicator.progress(fy)?.and_then(|p| p.rate) {
                rates.push(rate);
            }
        }
        policy_progress(&rates)
    }
}

// ---------------------------------------------------------------------------
// The file as written, and its checks
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    schema: u32,
    #[serde(default)]
    title: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    policies: Vec<RawPolicy>,
    #[serde(default)]
    indicators: Vec<RawIndicator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    id: String,
    number: u32,
    name_ja: String,
    name_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicator {
    id: String,
    policy: String,
    measure: u32,
    number: Option<u32>,
    measure_en: String,
    name_ja: String,
    name_en: String,
    unit: String,
    unit_en: String,
    #[serde(default)]
    definition_ja: String,
    #[serde(default)]
    definition_en: String,
    #[serde(default = "quantitative")]
    kind: IndicatorKind,
    note: Option<String>,
    #[serde(default)]
    targets: BTreeMap<String, toml::Value>,
    #[serde(default)]
    actuals: BTreeMap<String, toml::Value>,
    #[serde(default)]
    reported_status: BTreeMap<String, String>,
}

fn quantitative() -> IndicatorKind {
    IndicatorKind::Quantitative
}

impl RawPlan {
    fn check(self, file: &str) -> Result<Plan, PlanError> {
        let invalid = |key: String, reason: String| PlanError::Invalid {
            file: file.to_owned(),
            key,
            reason,
        };
        if self.schema != SCHEMA {
            return Err(invalid(
                "schema".into(),
                format!(
                    "unsupported schema {}, this program reads {SCHEMA}",
                    self.schema
                ),
            ));
        }

        let mut policies = Vec::new();
        for (i, p) in self.policies.into_iter().enumerate() {
            let key = format!("policies[{i}].id");
            check_id(&p.id).map_err(|r| invalid(key.clone(), r))?;
            if policies.iter().any(|q: &Policy| q.id == p.id) {
                return Err(invalid(key, format!("duplicate policy id {:?}", p.id)));
            }
            policies.push(Policy {
                id: p.id,
                number: p.number,
                name_ja: p.name_ja,
                name_en: p.name_en,
            });
        }

        let mut indicators: Vec<Indicator> = Vec::new();
        for (i, r) in self.indicators.into_iter().enumerate() {
            check_id(&r.id).map_err(|reason| invalid(format!("indicators[{i}].id"), reason))?;
            let at = |field: &str| format!("indicators[{}].{field}", r.id);
            if indicators.iter().any(|other| other.id == r.id) {
                return Err(invalid(
                    at("id"),
                    format!("duplicate indicator id {:?}", r.id),
                ));
            }
            if !policies.iter().any(|p| p.id == r.policy) {
                return Err(invalid(
                    at("policy"),
                    format!("no policy with id {:?} in [[policies]]", r.policy),
                ));
            }
            if r.kind == IndicatorKind::Qualitative
                && !(r.targets.is_empty() && r.actuals.is_empty())
            {
                return Err(invalid(
                    at("kind"),
                    "a qualitative indicator has no targets or actuals".into(),
                ));
            }

            let mut targets = BTreeMap::new();
            for (fy, value) in &r.targets {
                let key = at(&format!("targets.{fy}"));
                let fy = fiscal_year(fy).map_err(|reason| invalid(key.clone(), reason))?;
                let target = target(value).map_err(|reason| invalid(key.clone(), reason))?;
                if target.value.is_zero() {
                    return Err(invalid(
                        key,
                        "a target of zero gives no progress rate; leave the year out for \"not set\"".into(),
                    ));
                }
                if targets.insert(fy, target).is_some() {
                    return Err(invalid(key, format!("{fy} is given twice")));
                }
            }
            let mut actuals = BTreeMap::new();
            for (fy, value) in &r.actuals {
                let key = at(&format!("actuals.{fy}"));
                let fy = fiscal_year(fy).map_err(|reason| invalid(key.clone(), reason))?;
                let value = number(value).map_err(|reason| invalid(key.clone(), reason))?;
                if actuals.insert(fy, value).is_some() {
                    return Err(invalid(key, format!("{fy} is given twice")));
                }
            }
            let mut reported_status = BTreeMap::new();
            for (fy, symbol) in &r.reported_status {
                let key = at(&format!("reported_status.{fy}"));
                let fy = fiscal_year(fy).map_err(|reason| invalid(key.clone(), reason))?;
                let status: Status =
                    symbol
                        .parse()
                        .map_err(|e: crate::progress::ParseStatusError| {
                            invalid(key.clone(), e.to_string())
                        })?;
                if reported_status.insert(fy, status).is_some() {
                    return Err(invalid(key, format!("{fy} is given twice")));
                }
            }

            indicators.push(Indicator {
                id: r.id,
                policy: r.policy,
                measure: r.measure,
                number: r.number,
                measure_en: r.measure_en,
                name_ja: r.name_ja,
                name_en: r.name_en,
                unit: r.unit,
                unit_en: r.unit_en,
                definition_ja: r.definition_ja,
                definition_en: r.definition_en,
                kind: r.kind,
                note: r.note,
                targets,
                actuals,
                reported_status,
            });
        }

        Ok(Plan {
            title: self.title,
            source: self.source,
            policies,
            indicators,
        })
    }
}

/// snake_case: a lowercase ASCII letter, then lowercase letters, digits and `_`.
fn check_id(id: &str) -> Result<(), String> {
    let mut bytes = id.bytes();
    let ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid id {id:?}: use snake_case (a-z, 0-9, _), starting with a letter"
        ))
    }
}

fn fiscal_year(key: &str) -> Result<FiscalYear, String> {
    key.parse()
        .map_err(|e: kagoshima_domain::calendar::ParseFiscalYearError| e.to_string())
}

fn number(value: &toml::Value) -> Result<Decimal, String> {
    match value {
        toml::Value::Integer(i) => u64::try_from(*i)
            .map(Decimal::from_u64)
            .map_err(|_| format!("negative value {i}: targets and actuals are never negative")),
        toml::Value::Float(f) => Decimal::from_f64_shortest(*f).map_err(|e| e.to_string()),
        toml::Value::String(s) => s
            .parse()
            .map_err(|e: crate::progress::DecimalError| e.to_string()),
        other => Err(format!("expected a number, found {}", other.type_str())),
    }
}

fn target(value: &toml::Value) -> Result<Target, String> {
    let toml::Value::Table(table) = value else {
        return Ok(Target {
            value: number(value)?,
            note: None,
        });
    };
    if let Some(unknown) = table
        .keys()
        .find(|k| !matches!(k.as_str(), "value" | "note"))
    {
        return Err(format!("unknown field {unknown:?}, expected value or note"));
    }
    let value = table
        .get("value")
        .ok_or_else(|| "missing field \"value\"".to_owned())
        .and_then(number)?;
    let note = match table.get("note") {
        None => None,
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(format!(
                "note: expected a string, found {}",
                other.type_str()
            ));
        }
    };
    Ok(Target { value, note })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fy(year: i32) -> FiscalYear {
        FiscalYear::new(year).unwrap()
    }

    const MINIMAL: &str = r#"
schema = 1
[[policies]]
id = "p"
number = 8
name_ja = "都市・交通のデジタル化"
name_en = "x"
[[indicators]]
id = "a"
policy = "p"
measure = 58
measure_en = "m"
name_ja = "n"
name_en = "n"
unit = "回"
unit_en = "rides"
[indicators.targets]
FY2022 = 164000
[indicators.actuals]
FY2022 = 160728
"#;

    fn invalid_key(text: &str) -> (String, String) {
        match Plan::from_toml_str(text, "test.toml") {
            Err(PlanError::Invalid { file, key, reason }) => {
                assert_eq!(file, "test.toml");
                (key, reason)
            }
            other => panic!("expected an invalid-plan error, got {other:?}"),
        }
    }

    #[test]
    fn embedded_plan_loads() {
        let plan = Plan::embedded().unwrap();
        let ids: Vec<&str> = plan.indicators.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "aibus_stop_searches",
                "aibus_convenience_share",
                "kagorin_rides",
                "tap_payment_uses",
                "mobile_one_day_ticket_share",
                "location_system_service",
                "signage_units_running",
                "ai_on_demand_trial_areas",
            ]
        );
        let policy = plan.policy("city_transport_digitalisation").unwrap();
        assert_eq!(policy.number, 8);
        assert_eq!(policy.name_ja, "都市・交通のデジタル化");
        assert_eq!(plan.indicators_of(&policy.id).count(), 8);
        assert_eq!(
            plan.fiscal_years().into_iter().collect::<Vec<_>>(),
            [fy(2022), fy(2023), fy(2024), fy(2025), fy(2026)]
        );
    }

    #[test]
    fn every_embedded_indicator_has_a_unit_and_a_definition() {
        let plan = Plan::embedded().unwrap();
        for i in &plan.indicators {
            assert!(
                !i.unit.is_empty() && !i.unit_en.is_empty(),
                "{} has no unit",
                i.id
            );
            assert!(
                !i.definition_ja.is_empty() && !i.definition_en.is_empty(),
                "{} has no definition",
                i.id
            );
        }
    }

    #[test]
    fn embedded_targets_match_the_committee_document() {
        let plan = Plan::embedded().unwrap();
        let targets = |id: &str| -> Vec<(i32, String)> {
            plan.indicator(id)
                .unwrap()
                .targets
                .iter()
                .map(|(fy, t)| (fy.year(), t.value.to_string()))
                .collect()
        };
        let t = |list: &[(i32, &str)]| -> Vec<(i32, String)> {
            list.iter().map(|(y, v)| (*y, v.to_string())).collect()
        };
        assert_eq!(
            targets("aibus_stop_searches"),
            t(&[(2022, "700"), (2023, "2200"), (2024, "3300")])
        );
        assert_eq!(
            targets("aibus_convenience_share"),
            t(&[(2022, "30.0"), (2023, "45.0"), (2024, "55.0")])
        );
        assert_eq!(
            targets("kagorin_rides"),
            t(&[
                (2022, "164000"),
                (2023, "164000"),
                (2024, "189500"),
                (2025, "200000"),
                (2026, "203000")
            ])
        );
        assert_eq!(
            targets("tap_payment_uses"),
            t(&[
                (2022, "40000"),
                (2023, "184000"),
                (2024, "263000"),
                (2025, "307000"),
                (2026, "351000")
            ])
        );
        assert_eq!(
            targets("mobile_one_day_ticket_share"),
            t(&[
                (2022, "7.0"),
                (2023, "7.8"),
                (2024, "8.6"),
                (2025, "9.3"),
                (2026, "10.0")
            ])
        );
        assert_eq!(targets("location_system_service"), t(&[]));
        assert_eq!(
            targets("signage_units_running"),
            t(&[(2022, "1"), (2023, "1")])
        );
        assert_eq!(
            targets("ai_on_demand_trial_areas"),
            t(&[(2023, "1"), (2024, "1")])
        );
        let ai = plan.indicator("ai_on_demand_trial_areas").unwrap();
        assert_eq!(
            ai.target(fy(2023)).unwrap().note.as_deref(),
            Some("free trial (無料)")
        );
        assert_eq!(
            ai.target(fy(2024)).unwrap().note.as_deref(),
            Some("paid trial (有料)")
        );
        assert_eq!(
            plan.indicator("aibus_stop_searches")
                .unwrap()
                .measure_label(),
            "No.56①"
        );
        assert_eq!(
            plan.indicator("kagorin_rides").unwrap().measure_label(),
            "No.58"
        );
    }

    #[test]
    fn fy2022_progress_reproduces_the_committee_document() {
        let plan = Plan::embedded().unwrap();
        let fy2022 = fy(2022);
        for (id, rate, status) in [
            ("aibus_stop_searches", "191.4", Status::OnTrack),
            ("aibus_convenience_share", "114.3", Status::OnTrack),
            ("kagorin_rides", "98.0", Status::OnTrack),
        ] {
            let indicator = plan.indicator(id).unwrap();
            let p = indicator.progress(fy2022).unwrap().unwrap();
            assert_eq!(p.rate.unwrap().to_string(), rate, "{id}");
            assert_eq!(p.status, status, "{id}");
            assert_eq!(indicator.reported_status(fy2022), Some(status), "{id}");
        }
        // No. 57 has no FY2022 target: −, as reported.
        let ai = plan.indicator("ai_on_demand_trial_areas").unwrap();
        assert_eq!(ai.progress(fy2022), Ok(Some(Progress::NO_TARGET)));
        assert_eq!(ai.reported_status(fy2022), Some(Status::NoTarget));
        // No. 64: a target but no published actual: no computed progress.
        let tap = plan.indicator("tap_payment_uses").unwrap();
        assert_eq!(tap.progress(fy2022), Ok(None));
        assert_eq!(tap.reported_status(fy2022), Some(Status::OnTrack));
        // No. 66 is qualitative.
        let loc = plan.indicator("location_system_service").unwrap();
        assert_eq!(loc.kind, IndicatorKind::Qualitative);
        assert_eq!(loc.progress(fy2022), Ok(None));
        // Every computed status agrees with the reported one.
        for i in &plan.indicators {
            if let Some(p) = i.progress(fy2022).unwrap() {
                assert_eq!(Some(p.status), i.reported_status(fy2022), "{}", i.id);
            }
        }
        // The policy: mean of 191.428…, 114.333… and 98.004… = 134.588… %.
        let p = plan
            .policy_progress("city_transport_digitalisation", fy2022)
            .unwrap()
            .unwrap();
        assert_eq!(p.rate.unwrap().to_string(), "134.6");
        assert_eq!(p.status, Status::OnTrack);
        assert_eq!(
            plan.policy_progress("city_transport_digitalisation", fy(2026)),
            Ok(None)
        );
    }

    #[test]
    fn load_with_and_without_a_path() {
        assert_eq!(Plan::load(None).unwrap(), Plan::embedded().unwrap());
        let dir = std::env::temp_dir().join(format!("kagoshima-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("plan.toml");
        std::fs::write(&path, MINIMAL).unwrap();
        let plan = Plan::load(Some(&path)).unwrap();
        assert_eq!(plan.indicators.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();

        let missing = dir.join("missing.toml");
        let err = Plan::load(Some(&missing)).unwrap_err();
        assert!(matches!(err, PlanError::Read { .. }));
        assert!(err.to_string().starts_with(&format!(
            "{}: cannot read the plan file:",
            missing.display()
        )));
    }

    #[test]
    fn syntax_and_unknown_fields_name_file_and_line() {
        let err = Plan::from_toml_str("schema = 1\n[[policies]\n", "bad.toml").unwrap_err();
        assert!(matches!(err, PlanError::Parse { .. }));
        let msg = err.to_string();
        assert!(msg.starts_with("bad.toml: "), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");

        let text = MINIMAL.replace("unit_en = \"rides\"", "unit_en = \"rides\"\ntarget = 3");
        let msg = Plan::from_toml_str(&text, "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unknown field `target`"), "{msg}");
    }

    #[test]
    fn invalid_values_name_the_key() {
        let (key, reason) = invalid_key(&MINIMAL.replace("FY2022 = 164000", "FY2022 = -5"));
        assert_eq!(key, "indicators[a].targets.FY2022");
        assert!(reason.contains("negative"), "{reason}");

        let (key, reason) = invalid_key(&MINIMAL.replace("FY2022 = 160728", "FY2022 = \"lots\""));
        assert_eq!(key, "indicators[a].actuals.FY2022");
        assert!(reason.starts_with("not a number"), "{reason}");

        let (key, reason) = invalid_key(&MINIMAL.replace("FY2022 = 164000", "FY22x = 164000"));
        assert_eq!(key, "indicators[a].targets.FY22x");
        assert!(reason.starts_with("invalid fiscal year"), "{reason}");

        let (key, _) = invalid_key(&MINIMAL.replace("FY2022 = 164000", "FY2022 = 0"));
        assert_eq!(key, "indicators[a].targets.FY2022");

        let (key, _) = invalid_key(&MINIMAL.replace("FY2022 = 164000", "FY2022 = true"));
        assert_eq!(key, "indicators[a].targets.FY2022");

        let (key, reason) = invalid_key(
            &MINIMAL.replace("FY2022 = 164000", "FY2022 = { value = 1, notes = \"x\" }"),
        );
        assert_eq!(key, "indicators[a].targets.FY2022");
        assert!(reason.contains("unknown field \"notes\""), "{reason}");

        let (key, _) =
            invalid_key(&MINIMAL.replace("FY2022 = 164000", "FY2022 = 1\n\"令和4年度\" = 2"));
        assert_eq!(key, "indicators[a].targets.令和4年度");

        let (key, reason) = invalid_key(&MINIMAL.replace("policy = \"p\"", "policy = \"q\""));
        assert_eq!(key, "indicators[a].policy");
        assert!(reason.contains("no policy with id \"q\""), "{reason}");

        let (key, _) = invalid_key(&MINIMAL.replace("id = \"a\"", "id = \"Kagorin\""));
        assert_eq!(key, "indicators[0].id");

        let (key, _) = invalid_key(&MINIMAL.replace("schema = 1", "schema = 2"));
        assert_eq!(key, "schema");

        let dup = format!(
            "{MINIMAL}{}",
            &MINIMAL[MINIMAL.find("[[indicators]]").unwrap()..]
        );
        let (key, reason) = invalid_key(&dup);
        assert_eq!(key, "indicators[a].id");
        assert!(reason.contains("duplicate"), "{reason}");

        let bad_status = format!("{MINIMAL}[indicators.reported_status]\nFY2022 = \"A\"\n");
        let (key, _) = invalid_key(&bad_status);
        assert_eq!(key, "indicators[a].reported_status.FY2022");

        let qualitative = MINIMAL.replace(
            "unit_en = \"rides\"",
            "unit_en = \"rides\"\nkind = \"qualitative\"",
        );
        let (key, _) = invalid_key(&qualitative);
        assert_eq!(key, "indicators[a].kind");
    }

    #[test]
    fn numbers_in_several_spellings() {
        let text = MINIMAL
            .replace(
                "FY2022 = 164000",
                "FY2022 = 30.0\nFY2023 = \"30.0\"\n\"令和6年度\" = 7.8",
            )
            .replace("FY2022 = 160728", "FY2022 = 34.3");
        let plan = Plan::from_toml_str(&text, "t.toml").unwrap();
        let a = plan.indicator("a").unwrap();
        assert_eq!(a.target(fy(2022)).unwrap().value.to_string(), "30");
        assert_eq!(a.target(fy(2023)).unwrap().value.to_string(), "30.0");
        assert_eq!(a.target(fy(2024)).unwrap().value.to_string(), "7.8");
        assert_eq!(a.actual(fy(2022)).unwrap().to_string(), "34.3");
        let p = a.progress(fy(2022)).unwrap().unwrap();
        assert_eq!(p.rate.unwrap().to_string(), "114.3");
    }
}
