//! The demo's past: on its first start in a month, the demo fills the month
//! so far (up to yesterday) with simulated taps, passenger counts, heartbeats
//! and the back-office files, and computes the rides, so the bureau dashboard
//! shows this month's figures at once. Positions are left out (they are most
//! of the rows and only the live day needs them), so the past days show no
//! location-system availability.
use std::path::Path;

use chrono::{Datelike, NaiveDate, Utc};
use kagoshima_domain::validation::{ValidationConfig, Validator};
use kagoshima_ingest::pipeline::Pipeline;
use kagoshima_sim::{Encoding, Feed, SimConfig, day::Payload, simulate_day};
use kagoshima_storage::{Batch, Store};
use tracing::info;

/// Fills `[first of month, today)`; a marker file makes it run once a month.
pub async fn backfill_month(
    store: &Store,
    feed_dir: &Path,
    data_dir: &Path,
    card_key: &str,
    today: NaiveDate,
    seed: u64,
    scale: f64,
) -> anyhow::Result<()> {
    let first = today.with_day(1).unwrap_or(today);
    let marker = data_dir.join(format!("history-{}.done", first.format("%Y-%m")));
    if first == today || marker.exists() {
        return Ok(());
    }
    let feed = Feed::load(feed_dir)?;
    let pipeline = Pipeline::new(
        Validator::new(ValidationConfig::default()),
        kagoshima_ingest::app::card_hasher(card_key)?,
    );
    let mut date = first;
    while date < today {
        let mut config = SimConfig::new(date);
        config.seed = seed.wrapping_add(u64::from(date.ordinal()));
        config.scale = scale;
        let day = simulate_day(&feed, &config);
        let now = Utc::now();
        let mut batch = Batch::default();
        for event in &day.events {
            if matches!(event.payload, Payload::Position(_)) {
                continue;
            }
            let topic = event.topic.to_string();
            pipeline.add_mqtt(
                &mut batch,
                &topic,
                &event.payload.encode(Encoding::Proto),
                now,
            );
            if batch.len() >= 20_000 {
                store.write_batch(&std::mem::take(&mut batch)).await?;
            }
        }
        store.write_batch(&batch).await?;
        info!(%date, "demo history: day stored");
        date = date.succ_opt().unwrap_or(today);
    }
    let yesterday = today.pred_opt().unwrap_or(today);
    let (bikes, sales, _, _) = kagoshima_sim::backoffice::write_backoffice(
        first,
        yesterday,
        seed,
        &kagoshima_sim::FareConfig::default(),
        &data_dir.join("backoffice"),
    )?;
    kagoshima_indicators::backoffice::import_bikeshare(store.pool(), std::fs::File::open(bikes)?)
        .await?;
    kagoshima_indicators::backoffice::import_ticket_sales(
        store.pool(),
        std::fs::File::open(sales)?,
    )
    .await?;
    kagoshima_indicators::rides::refresh_dirty(store.pool(), &Default::default()).await?;
    std::fs::write(&marker, b"")?;
    info!(from = %first, to = %yesterday, "demo history: the month so far is filled");
    Ok(())
}
