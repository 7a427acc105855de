//! Monthly card fare totals with the monthly cap (¥9,660 by default).
//!
//! Per card and medium (a phone and the card it holds count apart) and JST
//! calendar month: Σ one configured fare per paid boarding (by mode and rider
//! category, whatever num_riders says: one tap, one fare toward the cap; free
//! transfers add nothing; modes without a configured fare, such as あいばす,
//! are outside the cap), capped at `cap_yen`.
use kagoshima_domain::calendar::{YearMonth, jst_day_start};
use sqlx::PgPool;

use crate::config::FareCapConfig;
use crate::error::IndicatorError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FareCap {
    pub cap_yen: i64,
    pub cards: i64,
    pub cards_reaching_cap: i64,
    pub uncapped_yen: i64,
    pub capped_yen: i64,
}

impl FareCap {
    /// What the cap cost: uncapped − capped.
    pub fn cap_cost_yen(&self) -> i64 {
        self.uncapped_yen - self.capped_yen
    }
}

pub async fn fare_cap(
    pool: &PgPool,
    config: &FareCapConfig,
    month: YearMonth,
) -> Result<FareCap, IndicatorError> {
    let modes: Vec<&str> = config.fares.iter().map(|f| f.mode.as_str()).collect();
    let cats: Vec<&str> = config
        .fares
        .iter()
        .map(|f| f.rider_category.as_str())
        .collect();
    let fares: Vec<i32> = config.fares.iter().map(|f| f.fare_yen).collect();
    let row: (i64, i64, i64, i64) = sqlx::query_as(
        "WITH per_card AS (
             SELECT r.card_hash, r.medium,
                    sum(CASE WHEN r.transfer THEN 0 ELSE f.fare END)::bigint AS uncapped
             FROM rides r
             JOIN unnest($3::text[], $4::text[], $5::int[]) AS f(mode, cat, fare)
               ON f.mode = r.mode AND f.cat = r.rider_category
             -- The cap runs by calendar month of the boarding (JST), not by
             -- the rides' service day.
             WHERE r.board_at >= $1 AND r.board_at < $2
             GROUP BY r.card_hash, r.medium
         )
         SELECT count(*)::bigint,
                count(*) FILTER (WHERE uncapped >= $6)::bigint,
                coalesce(sum(uncapped), 0)::bigint,
                coalesce(sum(least(uncapped, $6)), 0)::bigint
         FROM per_card",
    )
    .bind(jst_day_start(month.first_day()))
    .bind(jst_day_start(month.last_day()) + chrono::Duration::days(1))
    .bind(&modes)
    .bind(&cats)
    .bind(&fares)
    .bind(config.cap_yen)
    .fetch_one(pool)
    .await?;
    Ok(FareCap {
        cap_yen: config.cap_yen,
        cards: row.0,
        cards_reaching_cap: row.1,
        uncapped_yen: row.2,
        capped_yen: row.3,
    })
}
