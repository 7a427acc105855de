use std::time::Duration;

use sqlx::{
    PgPool, Postgres,
    migrate::{MigrateDatabase, Migrator},
    postgres::{PgConnectOptions, PgPoolOptions},
};

use kagoshima_runtime::{secret::redact_url, shutdown::Shutdown};

use crate::StorageError;

/// Every migration of the project, from the repository's `migrations/`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// Applied migrations edited afterwards in ways that change nothing for a
/// database they already ran on: (version, SHA-384 before the edit).
/// - 20261124000001 (core tables): CREATE EXTENSION timescaledb is tried only where the server preloads
///   it (a cluster that merely sees the files ended with a FATAL error).
pub const REVIEWED_EDITS: &[(i64, &str)] = &[(
    20261124000001,
    "b12de959da550f8cd127623db31a422816186723a5facd1ac9f75562704e0ee799ac01879900759b92dc669e1a69fbe9",
)];

/// A handle on the database, cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

/// How often a service checks that its database answers.
const READINESS_EVERY: Duration = Duration::from_secs(5);

impl Store {
    /// Connects with a pool of at most `max_connections`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StorageError> {
        let options: PgConnectOptions = url.parse().map_err(|source| StorageError::Connect {
            url: redact_url(url),
            source,
        })?;
        // Named for pg_stat_activity, unless the URL names the sessions itself.
        let options = match options.get_application_name() {
            Some(_) => options,
            None => options.application_name("kagoshima-transit"),
        };
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| StorageError::Connect {
                url: redact_url(url),
                source,
            })?;
        Ok(Store { pool })
    }

    /// Creates the database if it does not exist, connects and migrates: what
    /// a service does at start-up.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store, StorageError> {
        let exists =
            Postgres::database_exists(url)
                .await
                .map_err(|source| StorageError::Connect {
                    url: redact_url(url),
                    source,
                })?;
        if !exists {
            tracing::info!(url = %redact_url(url), "creating the database");
            Postgres::create_database(url).await?;
        }
        let store = Store::connect(url, max_connections).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub fn from_pool(pool: PgPool) -> Store {
        Store { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies every pending migration; a no-op when all are applied.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        self.accept_reviewed_edits().await?;
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Databases migrated before a reviewed edit of an applied migration
    /// (see [`REVIEWED_EDITS`]) take the new checksum, so sqlx does not
    /// refuse to start on them. Any other checksum change still fails.
    async fn accept_reviewed_edits(&self) -> Result<(), StorageError> {
        let tracked: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
                .fetch_one(&self.pool)
                .await?;
        if tracked.is_none() {
            return Ok(());
        }
        for (version, before) in REVIEWED_EDITS {
            let Some(now) = MIGRATOR.iter().find(|m| m.version == *version) else {
                continue;
            };
            let before = hex::decode(before).expect("a hex SHA-384");
            let updated = sqlx::query(
                "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2 AND checksum = $3",
            )
            .bind(now.checksum.as_ref())
            .bind(version)
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if updated > 0 {
                tracing::info!(
                    version,
                    "accepted the reviewed edit of an applied migration"
                );
            }
        }
        Ok(())
    }

    /// Whether the time-series tables are TimescaleDB hypertables.
    pub async fn timescale_enabled(&self) -> Result<bool, StorageError> {
        Ok(sqlx::query_scalar("SELECT kagoshima_timescale_enabled()")
            .fetch_one(&self.pool)
            .await?)
    }

    /// True when the database answers a trivial query.
    pub async fn is_healthy(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Keeps the host's `database` health component equal to whether the
    /// database answers, checked every few seconds until `stop`.
    pub fn watch_readiness(&self, host: &kagoshima_runtime::host::Host, stop: Shutdown) {
        let store = self.clone();
        host.probe(
            "database",
            READINESS_EVERY,
            move || {
                let store = store.clone();
                async move {
                    sqlx::query("SELECT 1")
                        .execute(&store.pool)
                        .await
                        .map(drop)
                        .map_err(|e| format!("the database does not answer: {e}"))
                }
            },
            stop,
        );
    }
}
