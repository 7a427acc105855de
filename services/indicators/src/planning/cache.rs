//! The last planning reports asked for, kept a few minutes: the dashboard
//! asks for a month's report and then for its charts and downloads, each of
//! which would otherwise analyse the month again (seconds for every route
//! of a month). A period that reaches today changes as the day goes on and
//! is kept only [`KEEP_OPEN`]; a closed period [`KEEP_CLOSED`] (a late tap
//! or upload shows in the next report after that).
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::NaiveDate;
use sqlx::PgPool;

use super::{
    analysis::{Analysis, PlanningRequest, analyse},
    bundle::{self, Bundle, BundleError},
};

/// How long a report of a period that has ended is kept.
pub const KEEP_CLOSED: Duration = Duration::from_secs(600);
/// How long a report of a period that reaches today is kept.
pub const KEEP_OPEN: Duration = Duration::from_secs(60);
/// How many reports are kept (the oldest goes first).
pub const ENTRIES: usize = 8;

type Key = (NaiveDate, NaiveDate, Option<String>);

#[derive(Debug)]
struct Entry {
    key: Key,
    made: Instant,
    keep: Duration,
    analysis: Arc<Analysis>,
    bundle: Option<Arc<Bundle>>,
}

#[derive(Debug, Default)]
pub struct Cache {
    entries: Mutex<Vec<Entry>>,
}

fn key(req: &PlanningRequest) -> Key {
    (req.from, req.until, req.route_id.clone())
}

impl Cache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        // A panic while holding the lock leaves nothing half-written.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn find(&self, key: &Key) -> Option<(Arc<Analysis>, Option<Arc<Bundle>>)> {
        let mut entries = self.lock();
        entries.retain(|e| e.made.elapsed() < e.keep);
        entries
            .iter()
            .find(|e| &e.key == key)
            .map(|e| (e.analysis.clone(), e.bundle.clone()))
    }

    fn put(&self, key: Key, analysis: Arc<Analysis>, bundle: Option<Arc<Bundle>>) {
        let today = kagoshima_domain::calendar::transit_service_day(chrono::Utc::now());
        let keep = if key.1 >= today {
            KEEP_OPEN
        } else {
            KEEP_CLOSED
        };
        let mut entries = self.lock();
        entries.retain(|e| e.key != key);
        if entries.len() >= ENTRIES {
            entries.remove(0);
        }
        entries.push(Entry {
            key,
            made: Instant::now(),
            keep,
            analysis,
            bundle,
        });
    }

    /// The analysis of the request, made or kept.
    pub async fn analysis(
        &self,
        pool: &PgPool,
        req: &PlanningRequest,
    ) -> Result<Arc<Analysis>, sqlx::Error> {
        let key = key(req);
        if let Some((analysis, _)) = self.find(&key) {
            return Ok(analysis);
        }
        let analysis = Arc::new(analyse(pool, req).await?);
        self.put(key, analysis.clone(), None);
        Ok(analysis)
    }

    /// Every file of the request's report (the draft from the active feed as
    /// imported), made or kept.
    pub async fn bundle(
        &self,
        pool: &PgPool,
        req: &PlanningRequest,
    ) -> Result<Arc<Bundle>, BundleError> {
        let key = key(req);
        let analysis = match self.find(&key) {
            Some((_, Some(bundle))) => return Ok(bundle),
            Some((analysis, None)) => analysis,
            None => Arc::new(analyse(pool, req).await?),
        };
        let feed = kagoshima_network::read::schedule::active_feed_files(pool).await?;
        let bundle = Arc::new(bundle::make(pool, &analysis, feed.as_ref()).await?);
        self.put(key, analysis, Some(bundle.clone()));
        Ok(bundle)
    }
}
