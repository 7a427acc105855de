-- A station's board gathers its platforms' departures (GTFS parent_station):
-- find a station's platforms without reading every stop of the feed.
CREATE INDEX IF NOT EXISTS network_stops_parent
    ON network_stops (feed_version_id, parent_station) WHERE parent_station IS NOT NULL;
