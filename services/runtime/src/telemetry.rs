//! Logs through `tracing`; `log` records (rumqttc, sqlx) are bridged in.
use serde::{Deserialize, Serialize};
use tracing::{Event, Subscriber, field::Field};
use tracing_subscriber::{
    EnvFilter, Layer, fmt,
    layer::{Context, Filter},
    prelude::*,
};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A known-benign event of a dependency: its target and how its message
/// starts. Used for libraries that log routine bookkeeping at ERROR, which
/// would teach operators to ignore ERROR.
#[derive(Debug, Clone, Copy)]
pub struct Benign {
    pub target: &'static str,
    pub message_prefix: &'static str,
}

/// Installs the global subscriber. `RUST_LOG` overrides `default_filter`.
/// Safe to call twice (the second call does nothing), as tests do.
pub fn init(default_filter: &str, format: LogFormat) {
    init_quieting(default_filter, format, &[]);
}

/// As [`init`], and drops exactly the `benign` events (every other event of
/// the same targets still shows).
pub fn init_quieting(default_filter: &str, format: LogFormat, benign: &'static [Benign]) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let output: Box<dyn Layer<_> + Send + Sync> = match format {
        LogFormat::Text => fmt::layer().with_target(true).boxed(),
        LogFormat::Json => fmt::layer().json().flatten_event(true).boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(output.with_filter(DropBenign(benign)))
        .try_init();
}

struct DropBenign(&'static [Benign]);

impl<S: Subscriber> Filter<S> for DropBenign {
    fn enabled(&self, _: &tracing::Metadata<'_>, _: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        let target = event.metadata().target();
        let candidates = self.0.iter().filter(|b| b.target == target);
        let mut candidates = candidates.peekable();
        if candidates.peek().is_none() {
            return true;
        }
        let mut message = MessageOf(String::new());
        event.record(&mut message);
        !candidates.any(|b| message.0.starts_with(b.message_prefix))
    }
}

struct MessageOf(String);

impl tracing::field::Visit for MessageOf {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_owned();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Collects the messages that pass the filter.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            let mut message = MessageOf(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }
    }

    #[test]
    fn drops_only_the_named_benign_events() {
        static BENIGN: &[Benign] = &[Benign {
            target: "broker",
            message_prefix: "router-drop",
        }];
        let seen = Seen::default();
        let subscriber =
            tracing_subscriber::registry().with(seen.clone().with_filter(DropBenign(BENIGN)));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "broker", error = "Recv(Disconnected)", "router-drop");
            tracing::error!(target: "broker", "Remote link error");
            tracing::error!(target: "elsewhere", "router-drop");
        });
        assert_eq!(
            *seen.0.lock().unwrap(),
            vec!["Remote link error".to_owned(), "router-drop".to_owned()]
        );
    }
}
