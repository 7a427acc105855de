-- Passenger counts were the largest table per month on TimescaleDB (about
-- 126 MB a month of the simulated city, uncompressed): compressed after
-- 7 days like positions (counters report with them), segmented by vehicle.
-- They are kept (timetable planning reads months of them); a late count
-- still lands in a compressed chunk, the primary key keeping it once.
DO $$
BEGIN
    IF kagoshima_timescale_enabled() THEN
        EXECUTE $q$ALTER TABLE passenger_counts SET (timescaledb.compress, timescaledb.compress_segmentby = 'vehicle_id', timescaledb.compress_orderby = 'recorded_at, stop_id')$q$;
        EXECUTE $q$SELECT add_compression_policy('passenger_counts', INTERVAL '7 days', if_not_exists => TRUE)$q$;
    END IF;
END
$$;
