//! Test kit shared by every crate's integration tests: a fresh database per
//! test, the real MQTT broker, and assertions for things that arrive later.
//!
//! Environment:
//! - `DATABASE_URL`: a PostgreSQL URL whose user may create databases
//!   (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! - `KAGOSHIMA_TEST_MQTT`: `host:port` of the broker (default `127.0.0.1:1883`);
//! - `KAGOSHIMA_TEST_ENGINE`: `timescaledb` or `postgresql`, what the test
//!   command promises `DATABASE_URL` runs; tests of TimescaleDB's features
//!   then fail instead of adapting when the database is not that engine;
//! - `KAGOSHIMA_TEST_TIMESCALEDB_BIN`: a PostgreSQL bin folder that can see
//!   the timescaledb extension (the side-by-side build), for the test of a
//!   cluster that sees it without preloading it;
//! - `TEST_LOG=1` prints the services' logs.
use std::{
    future::Future,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use kagoshima_storage::Store;
use sqlx::{Connection, PgConnection};

pub mod broker;
pub mod feeds;
pub mod mqtt;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database of its own for one test, migrated, dropped when the test ends.
pub struct TestDb {
    pub url: String,
    pub name: String,
    pub store: Store,
    admin_url: String,
}

impl TestDb {
    /// Creates and migrates a new database.
    pub async fn new() -> TestDb {
        let db = TestDb::empty().await;
        db.store.migrate().await.expect("migrations apply");
        db
    }

    /// Creates a new database without running migrations.
    pub async fn empty() -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin_url =
            std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
        let name = format!(
            "kagoshima_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .get(..8)
                .unwrap_or("x")
        );
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("cannot reach PostgreSQL at {admin_url}: {e}; is it running? (see README)")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let url = replace_database(&admin_url, &name);
        let store = Store::connect(&url, 8)
            .await
            .expect("connect to test database");
        TestDb {
            url,
            name,
            store,
            admin_url,
        }
    }

    pub fn pool(&self) -> &sqlx::PgPool {
        self.store.pool()
    }

    /// Whether the time-series tables are TimescaleDB hypertables here, and
    /// a failure when that is not what the test command promised.
    pub async fn timescale(&self) -> bool {
        let enabled = self
            .store
            .timescale_enabled()
            .await
            .expect("detect timescaledb");
        match std::env::var("KAGOSHIMA_TEST_ENGINE").as_deref() {
            Ok("timescaledb") => assert!(enabled, "expected TimescaleDB at {}", self.url),
            Ok("postgresql") => assert!(!enabled, "expected plain PostgreSQL at {}", self.url),
            _ => {}
        }
        enabled
    }

    /// One number from a query such as `SELECT count(*) FROM taps`.
    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.pool())
            .await
            .expect(sql)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Best effort, on a thread of its own: Drop cannot be async. FORCE ends
        // the pool's connections server-side; closing the pool here could wait
        // on the test's runtime, which this Drop is blocking.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        })
        .join()
        .ok();
    }
}

/// The URL with its database name replaced.
pub fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let mut out = match path_start {
        Some(i) => format!("{}/{name}", &base[..i]),
        None => format!("{base}/{name}"),
    };
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Polls `check` until it returns `Some`, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A free TCP port on loopback (for programs that cannot be given port 0).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A unique id for MQTT clients and vehicles, so parallel tests never meet.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            replace_database("postgres://u@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u@h:5432/t1?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://u@h", "t1"),
            "postgres://u@h/t1"
        );
    }
}
