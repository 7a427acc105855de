-- Core device tables: positions, taps, passenger counts, device status,
-- the device registry and dead letters.
--
-- Runs on TimescaleDB and on plain PostgreSQL 15. Where the timescaledb
-- extension can be loaded, the time-series tables become hypertables with
-- compression and retention policies (see the DO block at the end); elsewhere
-- they stay ordinary tables. Every statement is safe to run twice.

DO $$
BEGIN
    -- Only where the server preloads it: a cluster that can see the files
    -- but does not preload them ends the session with a FATAL error on
    -- CREATE EXTENSION, which no EXCEPTION block below can catch.
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
       AND current_setting('shared_preload_libraries') ~ '(^|[\s,/])timescaledb([\s,]|$)' THEN
        BEGIN
            CREATE EXTENSION timescaledb;
        EXCEPTION WHEN OTHERS THEN
            -- Preloaded but not loadable (a version mismatch, say): carry on without it.
            RAISE NOTICE 'timescaledb is installed but cannot be loaded (%): using plain tables', SQLERRM;
        END;
    END IF;
END
$$;

-- True when the time-series tables are hypertables.
CREATE OR REPLACE FUNCTION kagoshima_timescale_enabled() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
$$;

-- Every vehicle or signage unit that has ever published.
CREATE TABLE IF NOT EXISTS devices (
    vehicle_id     text PRIMARY KEY,
    mode           text NOT NULL,
    device_kind    text,
    firmware       text,
    first_seen     timestamptz NOT NULL,
    last_seen      timestamptz NOT NULL,
    last_status_at timestamptz
);

-- One GPS report. A repeat of (vehicle_id, recorded_at) is a no-op.
CREATE TABLE IF NOT EXISTS vehicle_positions (
    vehicle_id  text             NOT NULL,
    recorded_at timestamptz      NOT NULL,
    received_at timestamptz      NOT NULL DEFAULT now(),
    mode        text             NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    bearing     real,
    speed       real,
    accuracy    real,
    trip_id     text,
    route_id    text,
    odometer    double precision,
    PRIMARY KEY (vehicle_id, recorded_at)
);

-- One contactless tap. card_hash is HMAC-SHA-256 of the processor's token
-- under a key from configuration: no token and no card number is stored.
CREATE TABLE IF NOT EXISTS taps (
    event_id       text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    vehicle_id     text        NOT NULL,
    mode           text        NOT NULL,
    validator_id   text        NOT NULL,
    action         text        NOT NULL CHECK (action IN ('on', 'off')),
    card_hash      bytea       NOT NULL CHECK (octet_length(card_hash) = 32),
    medium         text        NOT NULL CHECK (medium IN ('card', 'mobile')),
    brand          text,
    issuer_country text,
    rider_category text        NOT NULL CHECK (rider_category IN ('adult', 'child')),
    num_riders     smallint    NOT NULL CHECK (num_riders >= 1),
    fare_yen       integer     NOT NULL CHECK (fare_yen >= 0),
    result         text        NOT NULL CHECK (result IN ('approved', 'declined', 'deny_listed', 'offline_approved')),
    stop_id        text,
    route_id       text,
    trip_id        text,
    source         text        NOT NULL,
    PRIMARY KEY (event_id, occurred_at)
);
CREATE INDEX IF NOT EXISTS taps_card_idx ON taps (card_hash, medium, occurred_at);

-- Automatic passenger counter: boardings and alightings at one stop.
CREATE TABLE IF NOT EXISTS passenger_counts (
    vehicle_id  text        NOT NULL,
    recorded_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    mode        text        NOT NULL,
    stop_id     text        NOT NULL,
    boardings   integer     NOT NULL,
    alightings  integer     NOT NULL,
    trip_id     text,
    route_id    text,
    PRIMARY KEY (vehicle_id, recorded_at, stop_id)
);

-- Heartbeats of onboard devices and signage units.
CREATE TABLE IF NOT EXISTS device_status (
    vehicle_id  text        NOT NULL,
    recorded_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    device_kind text        NOT NULL,
    firmware    text,
    uptime_s    bigint,
    buffered    integer,
    PRIMARY KEY (vehicle_id, recorded_at)
);

-- Messages that failed validation, kept with the reason. Card-number-like
-- digits in the payload are masked before the row is written.
CREATE TABLE IF NOT EXISTS dead_letters (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    source      text        NOT NULL,
    topic       text,
    kind        text,
    vehicle_id  text,
    reason      text        NOT NULL,
    detail      text        NOT NULL,
    payload     bytea       NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_reason_idx ON dead_letters (reason, received_at);

DO $$
BEGIN
    IF kagoshima_timescale_enabled() THEN
        -- Unique keys of hypertables must include the time column; the device
        -- contract makes a repeated tap identical, time included.
        EXECUTE $q$SELECT create_hypertable('vehicle_positions', 'recorded_at', chunk_time_interval => INTERVAL '1 day', if_not_exists => TRUE, migrate_data => TRUE)$q$;
        EXECUTE $q$SELECT create_hypertable('taps', 'occurred_at', chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE, migrate_data => TRUE)$q$;
        EXECUTE $q$SELECT create_hypertable('passenger_counts', 'recorded_at', chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE, migrate_data => TRUE)$q$;
        EXECUTE $q$SELECT create_hypertable('device_status', 'recorded_at', chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE, migrate_data => TRUE)$q$;
        EXECUTE $q$ALTER TABLE vehicle_positions SET (timescaledb.compress, timescaledb.compress_segmentby = 'vehicle_id', timescaledb.compress_orderby = 'recorded_at')$q$;
        EXECUTE $q$ALTER TABLE device_status SET (timescaledb.compress, timescaledb.compress_segmentby = 'vehicle_id')$q$;
        EXECUTE $q$SELECT add_compression_policy('vehicle_positions', INTERVAL '7 days', if_not_exists => TRUE)$q$;
        EXECUTE $q$SELECT add_compression_policy('device_status', INTERVAL '7 days', if_not_exists => TRUE)$q$;
        -- Raw positions and heartbeats are kept 13 months (a fiscal year plus
        -- a month for late reports); taps are revenue records and are kept.
        EXECUTE $q$SELECT add_retention_policy('vehicle_positions', INTERVAL '400 days', if_not_exists => TRUE)$q$;
        EXECUTE $q$SELECT add_retention_policy('device_status', INTERVAL '400 days', if_not_exists => TRUE)$q$;
    ELSE
        -- Plain PostgreSQL: event_id alone is the tap's key.
        CREATE UNIQUE INDEX IF NOT EXISTS taps_event_id_key ON taps (event_id);
        CREATE INDEX IF NOT EXISTS vehicle_positions_time_idx ON vehicle_positions (recorded_at);
        CREATE INDEX IF NOT EXISTS taps_time_idx ON taps (occurred_at);
    END IF;
END
$$;
