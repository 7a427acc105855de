//! The anonymous stop-search counters (`search_counts`, `stop_search_counts`)
//! behind the plan's indicator No. 56 ①. The location service counts, the
//! indicators read the sums. No query text and nothing about the client is
//! stored; the rule of what counts is in passenger.proto.
use chrono::NaiveDate;
use sqlx::PgPool;

/// Adds `n` searches on `day` to each of `modes`, and one look to each stop
/// in `stop_ids`, in one transaction.
pub async fn add_searches(
    pool: &PgPool,
    day: NaiveDate,
    modes: &[&str],
    stop_ids: &[&str],
    n: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    bump_stops(&mut tx, day, stop_ids).await?;
    sqlx::query(
        "INSERT INTO search_counts (day, mode, searches) SELECT $1, m, $3 FROM UNNEST($2::text[]) AS m
         ON CONFLICT (day, mode) DO UPDATE SET searches = search_counts.searches + EXCLUDED.searches",
    )
    .bind(day)
    .bind(modes)
    .bind(n)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Adds one look at a stop (a stop page or timetable opened).
pub async fn add_lookup(pool: &PgPool, day: NaiveDate, stop_id: &str) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    bump_stops(&mut conn, day, &[stop_id]).await
}

async fn bump_stops(
    conn: &mut sqlx::PgConnection,
    day: NaiveDate,
    stop_ids: &[&str],
) -> Result<(), sqlx::Error> {
    if stop_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO stop_search_counts (day, stop_id, count) SELECT $1, s, 1 FROM UNNEST($2::text[]) AS s
         ON CONFLICT (day, stop_id) DO UPDATE SET count = stop_search_counts.count + 1",
    )
    .bind(day)
    .bind(stop_ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// Searches of one mode over the JST days `[from, to]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchTotal {
    /// Days with a counter row for the mode.
    pub days: i64,
    pub searches: i64,
    /// Whether anything was ever counted (a platform that never counted has
    /// no figure, rather than zero).
    pub ever_counted: bool,
}

pub async fn searches(
    pool: &PgPool,
    mode: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<SearchTotal, sqlx::Error> {
    let (days, searches): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(searches), 0)::bigint FROM search_counts
         WHERE mode = $1 AND day BETWEEN $2 AND $3",
    )
    .bind(mode)
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await?;
    let ever_counted: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM search_counts)")
        .fetch_one(pool)
        .await?;
    Ok(SearchTotal {
        days,
        searches,
        ever_counted,
    })
}
