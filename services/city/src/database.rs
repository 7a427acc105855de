//! Where the demo's data lives: `DATABASE_URL` when set, otherwise a private
//! PostgreSQL in the demo's data folder.
use std::path::Path;

use kagoshima_storage::private_postgres::PrivatePostgres;

/// The database the demo uses; keeps a private server alive while held.
pub enum DemoDatabase {
    External(String),
    Private(PrivatePostgres),
}

impl DemoDatabase {
    /// `DATABASE_URL`, or a private server in `data_dir/postgres` on `port`.
    pub fn resolve(
        database_url: Option<String>,
        data_dir: &Path,
        port: u16,
    ) -> anyhow::Result<DemoDatabase> {
        if let Some(url) = database_url {
            return Ok(DemoDatabase::External(url));
        }
        let server = PrivatePostgres::start(&data_dir.join("postgres"), port).map_err(|e| {
            anyhow::anyhow!("{e}\n(or point DATABASE_URL at a PostgreSQL you have)")
        })?;
        Ok(DemoDatabase::Private(server))
    }

    /// The URL of the demo's own database.
    pub fn url(&self) -> String {
        match self {
            DemoDatabase::External(url) => url.clone(),
            DemoDatabase::Private(server) => server.url("kagoshima"),
        }
    }
}
