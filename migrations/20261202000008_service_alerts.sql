-- Service alerts the bureau publishes (location service; see alerts.proto).
-- The content is the alert as written (cause, effect, texts per language,
-- informed entities, active periods) as JSON, validated before it is stored;
-- the live feeds keep the current alerts in memory.
CREATE TABLE IF NOT EXISTS service_alerts (
    alert_id   text        PRIMARY KEY,
    content    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    ended_at   timestamptz
);

CREATE INDEX IF NOT EXISTS service_alerts_current_idx
    ON service_alerts (updated_at DESC) WHERE ended_at IS NULL;
