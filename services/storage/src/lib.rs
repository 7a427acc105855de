//! The database: migrations (which detect TimescaleDB), the connection pool and
//! the batch writers every service shares.

mod batch;
pub mod bulk;
mod dead_letter;
mod devices;
pub mod events;
mod jobs;
mod pool;
pub mod private_postgres;
pub mod stop_visits;
pub mod taps;
pub mod usage;

pub use batch::{
    Batch, BatchOutcome, DeviceSeen, PassengerRow, PositionRow, REGISTRY_RESOLUTION, StatusRow,
    TapRow,
};
pub use dead_letter::DeadLetter;
pub use devices::{DeadLetterCount, DeviceActivity, RefusalGroup};
pub use jobs::BackgroundJob;
pub use pool::{MIGRATOR, REVIEWED_EDITS, Store};

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

impl StorageError {
    /// True when the database refused the data itself (SQLSTATE classes 22,
    /// data exception, and 23, integrity constraint violation): retrying the
    /// same rows cannot help, unlike a lost connection.
    pub fn is_data_error(&self) -> bool {
        match self {
            StorageError::Database(sqlx::Error::Database(e)) => e
                .code()
                .is_some_and(|code| code.starts_with("22") || code.starts_with("23")),
            _ => false,
        }
    }
}
