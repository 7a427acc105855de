-- Indicators: rides derived from taps, ridership rollups, back-office
-- records (かごりん trips, 1-day ticket sales), survey results entered by hand
-- and the dirty-date queue that keeps all of it up to date as taps arrive,
-- days late included. Written by services/indicators.
--
-- Runs on TimescaleDB and on plain PostgreSQL 15. Derived tables are keyed by
-- service_date (the JST calendar date of the boarding) and rebuilt a whole
-- date at a time, so a recompute is idempotent.
--
-- Why no `-- no-transaction`: a continuous aggregate cannot be created WITH
-- DATA inside a transaction, but it can be created WITH NO DATA; the
-- indicators service fills it with refresh_continuous_aggregate() (outside any
-- transaction) for every date it recomputes. So this file stays transactional
-- like the others and either applies completely or not at all.

-- One ride: a paid (or free-transfer) boarding paired with its tap off when
-- there is one. ride_id is the event_id of the tap on.
CREATE TABLE IF NOT EXISTS rides (
    ride_id             text        NOT NULL,
    service_date        date        NOT NULL,
    day_type            text        NOT NULL,
    board_at            timestamptz NOT NULL,
    alight_at           timestamptz,
    off_event_id        text,
    card_hash           bytea       NOT NULL,
    medium              text        NOT NULL,
    brand               text,
    issuer_country      text,
    rider_category      text        NOT NULL,
    num_riders          smallint    NOT NULL,
    fare_yen            integer     NOT NULL,
    mode                text        NOT NULL,
    vehicle_id          text        NOT NULL,
    route_id            text,
    trip_id             text,
    direction_id        smallint,
    board_stop_id       text,
    board_stop_sequence integer,
    board_stop_source   text        NOT NULL,
    alight_stop_id      text,
    alight_stop_sequence integer,
    -- Second leg of a free transfer between tram lines (郡元, 高見馬場):
    -- a boarding, but not a new use (see services/indicators/README.md).
    transfer            boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (ride_id, board_at)
);
CREATE INDEX IF NOT EXISTS rides_date_idx ON rides (service_date);
CREATE INDEX IF NOT EXISTS rides_card_idx ON rides (card_hash, medium, service_date);

-- Dates whose rides and rollups must be recomputed. Filled by a trigger on
-- taps (the boarding's date and, for a tap off after midnight, the day before),
-- emptied by the indicators service. generation changes on every mark, so a
-- mark made while a recompute runs is not lost.
CREATE SEQUENCE IF NOT EXISTS indicator_dirty_generation;
CREATE TABLE IF NOT EXISTS indicator_dirty_dates (
    service_date date        PRIMARY KEY,
    generation   bigint      NOT NULL,
    marked_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE OR REPLACE FUNCTION kagoshima_mark_tap_dirty() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d date := (NEW.occurred_at AT TIME ZONE 'Asia/Tokyo')::date;
    d_early date := ((NEW.occurred_at - INTERVAL '4 hours') AT TIME ZONE 'Asia/Tokyo')::date;
BEGIN
    INSERT INTO indicator_dirty_dates (service_date, generation)
    VALUES (d, nextval('indicator_dirty_generation'))
    ON CONFLICT (service_date) DO UPDATE
        SET generation = EXCLUDED.generation, marked_at = clock_timestamp();
    IF d_early <> d THEN
        INSERT INTO indicator_dirty_dates (service_date, generation)
        VALUES (d_early, nextval('indicator_dirty_generation'))
        ON CONFLICT (service_date) DO UPDATE
            SET generation = EXCLUDED.generation, marked_at = clock_timestamp();
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS taps_mark_dirty ON taps;
CREATE TRIGGER taps_mark_dirty AFTER INSERT OR UPDATE ON taps
    FOR EACH ROW EXECUTE FUNCTION kagoshima_mark_tap_dirty();

-- Boardings and alightings per stop and JST hour (from rides: the board side
-- and the alight side), by route, direction and day type.
CREATE TABLE IF NOT EXISTS ridership_stop_hour (
    service_date date     NOT NULL,
    hour_start   timestamptz NOT NULL,
    day_type     text     NOT NULL,
    mode         text     NOT NULL,
    route_id     text     NOT NULL,
    direction_id smallint NOT NULL,
    stop_id      text     NOT NULL,
    boardings    bigint   NOT NULL,
    alightings   bigint   NOT NULL,
    PRIMARY KEY (service_date, hour_start, mode, route_id, direction_id, stop_id)
);

-- On-board load leaving each stop of a route (riders whose ride spans it), by
-- the JST hour of boarding.
CREATE TABLE IF NOT EXISTS ridership_load (
    service_date  date     NOT NULL,
    hour_start    timestamptz NOT NULL,
    day_type      text     NOT NULL,
    route_id      text     NOT NULL,
    direction_id  smallint NOT NULL,
    stop_sequence integer  NOT NULL,
    stop_id       text     NOT NULL,
    load          bigint   NOT NULL,
    PRIMARY KEY (service_date, hour_start, route_id, direction_id, stop_sequence)
);

-- かごりん trip records, as imported (no member id is stored).
CREATE TABLE IF NOT EXISTS bikeshare_trips (
    trip_id       text        PRIMARY KEY,
    bike_id       text,
    start_port_id text,
    end_port_id   text,
    start_time    timestamptz NOT NULL,
    end_time      timestamptz,
    duration_s    integer,
    plan          text,
    imported_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS bikeshare_trips_start_idx ON bikeshare_trips (start_time);

-- 1-day (and other) ticket sales, paper and mobile.
CREATE TABLE IF NOT EXISTS ticket_sales (
    sale_id     text        PRIMARY KEY,
    sold_at     timestamptz NOT NULL,
    channel     text        NOT NULL,
    ticket_type text        NOT NULL,
    price_yen   integer     NOT NULL,
    quantity    integer     NOT NULL CHECK (quantity >= 0),
    amount_yen  integer     NOT NULL,
    sales_point text,
    imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ticket_sales_sold_idx ON ticket_sales (sold_at);

-- Survey results and other figures entered by hand, per fiscal year
-- (fiscal_year = the calendar year in which it starts: 2024 = 令和6年度).
CREATE TABLE IF NOT EXISTS survey_results (
    fiscal_year  integer     NOT NULL,
    indicator_id text        NOT NULL,
    value        numeric     NOT NULL,
    note         text,
    entered_by   text        NOT NULL,
    entered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (fiscal_year, indicator_id)
);

-- Location-system availability per JST date (see indicators README).
CREATE TABLE IF NOT EXISTS location_availability_daily (
    service_date      date    PRIMARY KEY,
    service_minutes   integer NOT NULL,
    available_minutes integer NOT NULL,
    computed_at       timestamptz NOT NULL DEFAULT now()
);

-- Rollups that are plain group-bys of rides: a continuous aggregate over the
-- rides hypertable on TimescaleDB, an ordinary table refreshed by the
-- service elsewhere. Same name, same columns: one set of queries reads either.
DO $$
BEGIN
    IF kagoshima_timescale_enabled() THEN
        EXECUTE $q$SELECT create_hypertable('rides', 'board_at', chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE, migrate_data => TRUE)$q$;
        EXECUTE $q$CREATE MATERIALIZED VIEW IF NOT EXISTS ridership_route_hour
            WITH (timescaledb.continuous) AS
            SELECT service_date, time_bucket(INTERVAL '1 hour', board_at) AS hour_start,
                   day_type, mode, coalesce(route_id, '') AS route_id,
                   coalesce(direction_id, -1::smallint) AS direction_id,
                   sum(num_riders) FILTER (WHERE NOT transfer)::bigint AS uses,
                   sum(num_riders)::bigint AS boardings,
                   sum(num_riders) FILTER (WHERE transfer)::bigint AS transfers,
                   count(*) FILTER (WHERE alight_at IS NULL)::bigint AS not_tapped_off
            FROM rides
            GROUP BY 1, 2, 3, 4, 5, 6
            WITH NO DATA$q$;
        EXECUTE $q$CREATE MATERIALIZED VIEW IF NOT EXISTS ridership_od
            WITH (timescaledb.continuous) AS
            SELECT service_date, time_bucket(INTERVAL '1 hour', board_at) AS hour_start,
                   day_type, mode, coalesce(route_id, '') AS route_id,
                   coalesce(direction_id, -1::smallint) AS direction_id,
                   coalesce(board_stop_id, '') AS board_stop_id,
                   coalesce(alight_stop_id, '') AS alight_stop_id,
                   sum(num_riders)::bigint AS rides
            FROM rides
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
            WITH NO DATA$q$;
        EXECUTE $q$CREATE MATERIALIZED VIEW IF NOT EXISTS ridership_shares
            WITH (timescaledb.continuous) AS
            SELECT service_date, time_bucket(INTERVAL '1 hour', board_at) AS hour_start,
                   mode, coalesce(brand, 'unknown') AS brand, medium,
                   coalesce(issuer_country, '??') AS issuer_country,
                   sum(num_riders) FILTER (WHERE NOT transfer)::bigint AS uses
            FROM rides
            GROUP BY 1, 2, 3, 4, 5, 6
            WITH NO DATA$q$;
    ELSE
        CREATE TABLE IF NOT EXISTS ridership_route_hour (
            service_date   date        NOT NULL,
            hour_start     timestamptz NOT NULL,
            day_type       text        NOT NULL,
            mode           text        NOT NULL,
            route_id       text        NOT NULL,
            direction_id   smallint    NOT NULL,
            uses           bigint,
            boardings      bigint,
            transfers      bigint,
            not_tapped_off bigint,
            PRIMARY KEY (service_date, hour_start, mode, route_id, direction_id)
        );
        CREATE TABLE IF NOT EXISTS ridership_od (
            service_date   date        NOT NULL,
            hour_start     timestamptz NOT NULL,
            day_type       text        NOT NULL,
            mode           text        NOT NULL,
            route_id       text        NOT NULL,
            direction_id   smallint    NOT NULL,
            board_stop_id  text        NOT NULL,
            alight_stop_id text        NOT NULL,
            rides          bigint,
            PRIMARY KEY (service_date, hour_start, mode, route_id, direction_id, board_stop_id, alight_stop_id)
        );
        CREATE TABLE IF NOT EXISTS ridership_shares (
            service_date   date        NOT NULL,
            hour_start     timestamptz NOT NULL,
            mode           text        NOT NULL,
            brand          text        NOT NULL,
            medium         text        NOT NULL,
            issuer_country text        NOT NULL,
            uses           bigint,
            PRIMARY KEY (service_date, hour_start, mode, brand, medium, issuer_country)
        );
    END IF;
END
$$;
