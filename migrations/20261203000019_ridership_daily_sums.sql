-- The ridership sums of each settled JST date (up to the day before
-- yesterday), so that a fiscal year's indicators and its monthly chart add
-- up to 365 rows rather than summing a year of hourly rollups each time
-- (BENCHMARKS.md, "A fiscal year of the city"). A row is used only while
-- neither service date its hours fall on (the date and the one before) has
-- been recomputed since (rides_recomputed: a late tap recomputes its date),
-- so it is never stale. Owned by the indicators' daily_sums module.
CREATE TABLE IF NOT EXISTS ridership_daily_sums (
    jst_date        date        PRIMARY KEY,
    -- Hourly rollup rows the date had: 0 tells "no taps at all" apart.
    rollup_rows     bigint      NOT NULL,
    uses            bigint      NOT NULL,
    boardings       bigint      NOT NULL,
    transfers       bigint      NOT NULL,
    not_tapped_off  bigint      NOT NULL,
    -- Uses by cards not issued in Japan (or of unknown issuer).
    inbound_uses    bigint      NOT NULL,
    computed_at     timestamptz NOT NULL
);
