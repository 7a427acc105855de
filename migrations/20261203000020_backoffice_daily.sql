-- The back office's figures a day, kept by the imports in the same statement
-- as the rows (rows are only ever added: an import skips ids it already
-- has), so a fiscal year's bike-share trips and ticket sales add up a few
-- rows a day instead of scanning a year of records (BENCHMARKS.md, "A
-- fiscal year of the city"). Owned by the indicators' backoffice module.
CREATE TABLE IF NOT EXISTS bikeshare_daily (
    jst_date date   PRIMARY KEY,
    trips    bigint NOT NULL
);
INSERT INTO bikeshare_daily (jst_date, trips)
SELECT (start_time AT TIME ZONE 'Asia/Tokyo')::date, count(*)
  FROM bikeshare_trips GROUP BY 1
ON CONFLICT (jst_date) DO UPDATE SET trips = EXCLUDED.trips;

-- By type and channel: which types are one-day tickets and which channel
-- is mobile are settings, read when the figures are asked.
CREATE TABLE IF NOT EXISTS ticket_sales_daily (
    jst_date    date   NOT NULL,
    ticket_type text   NOT NULL,
    channel     text   NOT NULL,
    quantity    bigint NOT NULL,
    PRIMARY KEY (jst_date, ticket_type, channel)
);
INSERT INTO ticket_sales_daily (jst_date, ticket_type, channel, quantity)
SELECT (sold_at AT TIME ZONE 'Asia/Tokyo')::date, ticket_type, channel, sum(quantity)
  FROM ticket_sales GROUP BY 1, 2, 3
ON CONFLICT (jst_date, ticket_type, channel) DO UPDATE SET quantity = EXCLUDED.quantity;
