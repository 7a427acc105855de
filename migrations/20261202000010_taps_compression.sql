-- A fiscal year of taps on TimescaleDB: chunks older than 35 days (a month
-- of late uploads from offline validators, and then some) are compressed,
-- segmented by vehicle. Late taps still land in them: tap_keys keeps each
-- event once, and the trigger marks its date for the rides to be rebuilt.
DO $$
BEGIN
    IF kagoshima_timescale_enabled() THEN
        EXECUTE $q$ALTER TABLE taps SET (timescaledb.compress, timescaledb.compress_segmentby = 'vehicle_id', timescaledb.compress_orderby = 'occurred_at')$q$;
        EXECUTE $q$SELECT add_compression_policy('taps', INTERVAL '35 days', if_not_exists => TRUE)$q$;
    END IF;
END
$$;
