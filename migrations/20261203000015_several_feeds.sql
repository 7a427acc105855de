-- Several feeds active at once (kagoshima-network's namespace module): the
-- city's own feed (feed_id '', IDs as published) and other operators' feeds,
-- each under its feed ID with its IDs namespaced. One active version per feed.
ALTER TABLE feed_versions ADD COLUMN IF NOT EXISTS feed_id text NOT NULL DEFAULT '';
DROP INDEX IF EXISTS feed_versions_one_active;
CREATE UNIQUE INDEX IF NOT EXISTS feed_versions_one_active_per_feed
    ON feed_versions (feed_id) WHERE active;
-- A rider's board joins stops of different feeds by name and place.
CREATE INDEX IF NOT EXISTS network_stops_name ON network_stops (name);
