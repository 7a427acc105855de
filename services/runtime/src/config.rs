//! Layered configuration: built-in defaults, then a TOML file, then
//! environment variables `KAGOSHIMA_<SECTION>__<KEY>` (double underscore
//! between levels), e.g. `KAGOSHIMA_MQTT__HOST=broker`. `DATABASE_URL` is also
//! read, as every PostgreSQL tool does.
use std::path::Path;

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Serialize, de::DeserializeOwned};

pub const ENV_PREFIX: &str = "KAGOSHIMA_";

/// The configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads `T` from its defaults, the optional TOML file and the environment.
pub fn load<T>(file: Option<&Path>) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(file) = file {
        if !file.exists() {
            return Err(ConfigError::MissingFile(file.display().to_string()));
        }
        figment = figment.merge(Toml::file(file));
    }
    figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__"));
    if let Ok(url) = std::env::var("DATABASE_URL") {
        figment = figment.merge(("database.url", url));
    }
    figment
        .extract()
        .map_err(|e| ConfigError::Invalid(e.to_string()))
}

/// Keys whose values are secrets wherever they appear.
const SECRET_KEYS: &[&str] = &["password", "card_hash_key", "token", "secret", "key"];

/// The configuration as TOML for people to read, with secrets replaced and
/// passwords cut out of URLs.
pub fn redacted_toml<T: Serialize>(config: &T) -> Result<String, ConfigError> {
    let mut value =
        toml::Value::try_from(config).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    redact(&mut value, None);
    toml::to_string_pretty(&value).map_err(|e| ConfigError::Invalid(e.to_string()))
}

fn redact(value: &mut toml::Value, key: Option<&str>) {
    match value {
        toml::Value::Table(table) => {
            for (k, v) in table.iter_mut() {
                redact(v, Some(k));
            }
        }
        toml::Value::Array(items) => items.iter_mut().for_each(|v| redact(v, key)),
        toml::Value::String(s) if !s.is_empty() => {
            if key.is_some_and(|k| SECRET_KEYS.contains(&k)) {
                *s = "<redacted>".into();
            } else if s.contains("://") && s.contains('@') {
                *s = crate::secret::redact_url(s);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, serde::Deserialize)]
    struct Example {
        card_hash_key: String,
        database: Db,
    }

    #[derive(Debug, Default, Serialize, serde::Deserialize)]
    struct Db {
        url: String,
        password: String,
    }

    #[test]
    fn shows_no_secret() {
        let c = Example {
            card_hash_key: "abcdef".into(),
            database: Db {
                url: "postgres://app:pw@db/x".into(),
                password: "pw".into(),
            },
        };
        let shown = redacted_toml(&c).expect("toml");
        assert!(
            !shown.contains("abcdef") && !shown.contains(":pw@") && !shown.contains("\"pw\""),
            "{shown}"
        );
        assert!(shown.contains("postgres://app:***@db/x"));
    }
}
