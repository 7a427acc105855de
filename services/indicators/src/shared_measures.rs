//! The measures of one period shared by the requests that ask for it
//! together. The bureau's dashboard asks for its fiscal year three times at
//! once (a month's progress is judged on the year to date, the year's
//! figures, the year's chart), each a dozen queries over a year of rollups:
//! computed once, the dashboard's first answer costs one fiscal year
//! rather than three (BENCHMARKS.md, "A fiscal year of the city"). Only
//! requests in flight together share: nothing is kept once computed, so no
//! answer is older than the request that asked for it.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use chrono::NaiveDate;
use tokio::sync::OnceCell;

use crate::error::IndicatorError;
use crate::figures::Measures;

type Cell = Arc<OnceCell<Measures>>;

/// Measures by period (first and last JST date) being computed, each by
/// the first request and awaited by the others.
#[derive(Debug, Default)]
pub struct SharedMeasures {
    cells: Mutex<HashMap<(NaiveDate, NaiveDate), Cell>>,
}

impl SharedMeasures {
    /// The measures of `[from, to]`: those another request is computing,
    /// or `compute`'s. A failed computation is not shared (each asks again).
    pub async fn get_or_compute<F, Fut>(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        compute: F,
    ) -> Result<Measures, IndicatorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Measures, IndicatorError>>,
    {
        let cell = self
            .cells
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((from, to))
            .or_default()
            .clone();
        let measured = cell.get_or_try_init(compute).await.cloned();
        // Done: the next request computes afresh.
        let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        if cells
            .get(&(from, to))
            .is_some_and(|c| Arc::ptr_eq(c, &cell))
        {
            cells.remove(&(from, to));
        }
        measured
    }

    /// Lets requests from now on compute afresh (a refresh recomputed some
    /// dates: those in flight may not hold them).
    pub fn forget(&self) {
        self.cells
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn requests_in_flight_together_compute_once_and_later_ones_again() {
        let shared = SharedMeasures::default();
        let runs = AtomicUsize::new(0);
        let d = |day| NaiveDate::from_ymd_opt(2025, 4, day).unwrap_or_default();
        let compute = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Ok(Measures::default())
        };
        let (a, b, c) = tokio::join!(
            shared.get_or_compute(d(1), d(30), compute),
            shared.get_or_compute(d(1), d(30), compute),
            shared.get_or_compute(d(1), d(10), compute),
        );
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        // The two asks of April 1-30 shared one computation.
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // Nothing kept: a later ask computes again.
        assert!(shared.get_or_compute(d(1), d(30), compute).await.is_ok());
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert!(
            shared
                .cells
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty()
        );
        // A failure is not shared.
        let failing = || async { Err(IndicatorError::UnknownIndicator("x".into())) };
        assert!(shared.get_or_compute(d(2), d(3), failing).await.is_err());
        assert!(shared.get_or_compute(d(2), d(3), compute).await.is_ok());
        assert_eq!(runs.load(Ordering::SeqCst), 4);
    }
}
