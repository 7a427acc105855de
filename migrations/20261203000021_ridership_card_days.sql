-- The cards (keyed hash and medium, never a card number) that boarded on
-- each JST date, by the service date of their rides: a rollup rebuilt with
-- the others when a service date's rides are. Distinct cards over a long
-- period are counted from it, and whether a card boarded earlier in a
-- period is one index probe here; on the rides hypertable the same probe
-- visited every weekly chunk (2.1 s for one day's cards against a fiscal
-- year, BENCHMARKS.md "A fiscal year of the city"). A plain table on every
-- platform.
CREATE TABLE IF NOT EXISTS ridership_card_days (
    card_hash    bytea NOT NULL,
    medium       text  NOT NULL,
    jst_date     date  NOT NULL,
    service_date date  NOT NULL,
    PRIMARY KEY (card_hash, medium, jst_date, service_date)
);
CREATE INDEX IF NOT EXISTS ridership_card_days_date_idx ON ridership_card_days (jst_date);
CREATE INDEX IF NOT EXISTS ridership_card_days_service_idx ON ridership_card_days (service_date);
INSERT INTO ridership_card_days (card_hash, medium, jst_date, service_date)
SELECT DISTINCT card_hash, medium, (board_at AT TIME ZONE 'Asia/Tokyo')::date, service_date FROM rides
ON CONFLICT DO NOTHING;
