-- Stop visits: when each vehicle really arrived at and left each stop of its
-- trip (TIDES `stop_visits`). Written by the location service, interpolated
-- between GPS reports; the history that predictions learn from and the
-- ground for schedule-adherence and ridership reports.
CREATE TABLE IF NOT EXISTS stop_visits (
    service_date        date        NOT NULL,
    trip_id             text        NOT NULL,
    stop_sequence       integer     NOT NULL,
    stop_id             text        NOT NULL,
    route_id            text,
    direction_id        smallint,
    vehicle_id          text        NOT NULL,
    scheduled_arrival   timestamptz,
    scheduled_departure timestamptz,
    actual_arrival      timestamptz NOT NULL,
    actual_departure    timestamptz,
    -- How the times were found: 'observed' (a report at the stop) or
    -- 'interpolated' (between reports on either side).
    method              text        NOT NULL DEFAULT 'interpolated',
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_date, trip_id, stop_sequence)
);
CREATE INDEX IF NOT EXISTS stop_visits_vehicle_idx ON stop_visits (vehicle_id, actual_arrival);
CREATE INDEX IF NOT EXISTS stop_visits_stop_idx ON stop_visits (stop_id, actual_arrival);

DO $$
BEGIN
    IF kagoshima_timescale_enabled() THEN
        EXECUTE $q$SELECT create_hypertable('stop_visits', 'service_date', chunk_time_interval => INTERVAL '30 days', if_not_exists => TRUE, migrate_data => TRUE)$q$;
    END IF;
END
$$;
