//! The database: migrations (which detect TimescaleDB), the connection pool and
//! the batch writers every service shares.

mod batch;
mod dead_letter;
mod pool;
pub mod private_postgres;

pub use batch::{Batch, BatchOutcome, DeviceSeen, PassengerRow, PositionRow, StatusRow, TapRow};
pub use dead_letter::DeadLetter;
pub use pool::{MIGRATOR, Store};

/// Errors from the database layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "cannot connect to the database at {url}: {source} (is PostgreSQL running, and is DATABASE_URL right?)"
    )]
    Connect { url: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}
