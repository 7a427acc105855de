-- A tap marks its service dates dirty for the indicators (migration 4). The
-- row trigger upserted the same `indicator_dirty_dates` row once per tap, so
-- a transaction of 10,000 taps of one day updated one row 10,000 times, each
-- update walking the row's growing version chain: 1.6-1.8 s for a day's taps
-- loaded at once (a late upload, a history fill), against milliseconds.
-- Now a date is marked once per transaction; the flag is a transaction-local
-- setting, so it ends with the transaction (and with a rolled-back
-- savepoint). Statement triggers with transition tables would do this in
-- one statement, but TimescaleDB does not allow them on hypertables.
CREATE OR REPLACE FUNCTION kagoshima_mark_date_dirty(d date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    flag text := 'kagoshima.dirty_' || to_char(d, 'YYYYMMDD');
BEGIN
    IF current_setting(flag, true) = 'marked' THEN
        RETURN;
    END IF;
    INSERT INTO indicator_dirty_dates (service_date, generation)
    VALUES (d, nextval('indicator_dirty_generation'))
    ON CONFLICT (service_date) DO UPDATE
        SET generation = EXCLUDED.generation, marked_at = clock_timestamp();
    PERFORM set_config(flag, 'marked', true);
END
$$;

CREATE OR REPLACE FUNCTION kagoshima_mark_tap_dirty() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d date := (NEW.occurred_at AT TIME ZONE 'Asia/Tokyo')::date;
    d_early date := ((NEW.occurred_at - INTERVAL '4 hours') AT TIME ZONE 'Asia/Tokyo')::date;
BEGIN
    PERFORM kagoshima_mark_date_dirty(d);
    IF d_early <> d THEN
        PERFORM kagoshima_mark_date_dirty(d_early);
    END IF;
    RETURN NULL;
END
$$;
