//! What every service binary's command line shares: the configuration file
//! (`--config` or `KAGOSHIMA_CONFIG`), `show-config`, and serving until
//! SIGINT or SIGTERM with logging set from the configuration.
use std::future::Future;
use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{self, ConfigError};
use crate::settings::LogConfig;
use crate::shutdown::{self, Shutdown};
use crate::telemetry;

/// The `--config` option.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigFile {
    /// TOML configuration file.
    #[arg(long, short, env = "KAGOSHIMA_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

impl ConfigFile {
    /// The service's configuration: defaults, then the file, then the
    /// environment (see [`config::load`]).
    pub fn load<T>(&self) -> Result<T, ConfigError>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        config::load(self.config.as_deref())
    }
}

/// The commands every service has; a binary flattens them into its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum ServiceCommand {
    /// Run the service (the default).
    Serve,
    /// Print the effective configuration (secrets redacted) and exit.
    ShowConfig,
}

/// `show-config`: the effective configuration, secrets redacted, on stdout.
pub fn print_config<T: Serialize>(config: &T) -> Result<(), ConfigError> {
    println!("{}", config::redacted_toml(config)?);
    Ok(())
}

/// `serve`: logging from `log`, a shutdown that SIGINT and SIGTERM trigger,
/// then `run` until it returns.
pub async fn serve<F, Fut, E>(log: &LogConfig, run: F) -> Result<(), E>
where
    F: FnOnce(Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    telemetry::init(&log.filter, log.format);
    let stop = Shutdown::new();
    shutdown::on_signals(stop.clone());
    run(stop).await
}
