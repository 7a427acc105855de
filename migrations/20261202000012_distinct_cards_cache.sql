-- Distinct cards over a long period (a fiscal year) cost a hashed DISTINCT
-- over every ride of it: seconds for a year. The indicators keep the count of
-- a period's settled days (up to the day before yesterday) and add the cards
-- of the last days not seen before it. A cached count is used only while no
-- service date it covers has been recomputed since (a late tap recomputes its
-- date), so it is never stale.
CREATE TABLE IF NOT EXISTS rides_recomputed (
    service_date date        PRIMARY KEY,
    recomputed_at timestamptz NOT NULL
);
INSERT INTO rides_recomputed (service_date, recomputed_at)
SELECT DISTINCT service_date, now() FROM rides
ON CONFLICT (service_date) DO NOTHING;

CREATE TABLE IF NOT EXISTS distinct_cards_cache (
    from_date   date        NOT NULL,
    to_date     date        NOT NULL,
    cards       bigint      NOT NULL,
    computed_at timestamptz NOT NULL,
    PRIMARY KEY (from_date, to_date)
);
