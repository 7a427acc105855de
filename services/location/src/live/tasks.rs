//! The live state's background tasks: storing stop visits, reloading the
//! feed and sweeping, the census for the metrics, the board refresh.
use super::*;

/// Stores stop visits in batches until shutdown (then flushes what it holds).
pub async fn visit_writer(pool: PgPool, mut rx: mpsc::Receiver<StopVisit>, shutdown: Shutdown) {
    let mut batch: Vec<StopVisit> = Vec::new();
    loop {
        let got = tokio::select! {
            v = rx.recv() => v,
            () = shutdown.cancelled() => None,
        };
        match got {
            Some(v) => {
                batch.push(v);
                let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
                while batch.len() < 2_000 {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(v)) => batch.push(v),
                        _ => break,
                    }
                }
            }
            None => {
                while let Ok(v) = rx.try_recv() {
                    batch.push(v);
                }
            }
        }
        if !batch.is_empty() {
            let mut wait = Duration::from_millis(200);
            for _ in 0..5 {
                match kagoshima_storage::stop_visits::upsert(&pool, &batch).await {
                    Ok(()) => {
                        batch.clear();
                        break;
                    }
                    Err(e) => {
                        warn!(error = %e, visits = batch.len(), "storing stop visits failed; retrying");
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                    }
                }
            }
            if !batch.is_empty() {
                error!(visits = batch.len(), "stop visits dropped after retries");
                batch.clear();
            }
        }
        if shutdown.is_cancelled() {
            return;
        }
    }
}

/// Reloads the network when the active feed changes, and sweeps silent vehicles.
pub async fn maintenance(live: Live, pool: PgPool, shutdown: Shutdown) {
    let every = Duration::from_secs(live.config().feed_check_s.max(1));
    live.refresh_usual(&pool).await;
    let mut usual_learned = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(e) = live.refresh_network(&pool).await {
            warn!(error = %e, "checking the active feed failed");
        }
        live.sweep(now());
        if usual_learned.elapsed() >= USUAL_REFRESH {
            live.refresh_usual(&pool).await;
            usual_learned = tokio::time::Instant::now();
        }
    }
}

/// How often the usual loads are learned again.
const USUAL_REFRESH: Duration = Duration::from_secs(3600);

/// Publishes [`Live::census`] to the metrics every few seconds.
pub async fn census_reporter(live: Live, metrics: LocationMetrics, shutdown: Shutdown) {
    on_blocking_pool_every(Duration::from_secs(5), shutdown, move || {
        if let Some(census) = live.census(now()) {
            metrics.publish(&census);
        }
    })
    .await;
}

/// Keeps the arrival board current for vehicles that stopped reporting.
pub async fn board_refresher(live: Live, shutdown: Shutdown) {
    on_blocking_pool_every(Duration::from_secs(1), shutdown, move || {
        live.refresh_board(now());
    })
    .await;
}

/// Runs `work` every `period` until shutdown, on the blocking pool: walking
/// thousands of vehicles at once would otherwise hold up the requests of one
/// runtime worker. A run that panics is logged and the next one goes on.
async fn on_blocking_pool_every<F>(period: Duration, shutdown: Shutdown, work: F)
where
    F: Fn() + Clone + Send + 'static,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(e) = tokio::task::spawn_blocking(work.clone()).await {
            error!(error = %e, "a periodic task of the live state failed");
        }
    }
}
