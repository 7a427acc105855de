-- The static network (GTFS / GTFS-JP), versioned, and the anonymous stop-search
-- counters for the plan's indicator No. 56 ①.
--
-- Every import loads into a new feed version; the importer flips `active` in
-- the same transaction that loaded the rows, so readers always see exactly one
-- complete version. Older versions stay until someone deletes them (ON DELETE
-- CASCADE removes their rows). Ordinary tables only: the same on TimescaleDB
-- and plain PostgreSQL.

CREATE TABLE IF NOT EXISTS feed_versions (
    id            bigserial   PRIMARY KEY,
    imported_at   timestamptz NOT NULL DEFAULT now(),
    source        text        NOT NULL,
    sha256        text        NOT NULL,
    active        boolean     NOT NULL DEFAULT false,
    feed_version  text,
    shapes_derived boolean    NOT NULL DEFAULT false,
    summary       jsonb       NOT NULL DEFAULT '{}'::jsonb
);
-- At most one active version.
CREATE UNIQUE INDEX IF NOT EXISTS feed_versions_one_active ON feed_versions (active) WHERE active;
CREATE INDEX IF NOT EXISTS feed_versions_sha256 ON feed_versions (sha256);

CREATE TABLE IF NOT EXISTS network_agencies (
    feed_version_id bigint NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    agency_id       text   NOT NULL,
    name            text   NOT NULL,
    url             text   NOT NULL,
    timezone        text   NOT NULL,
    lang            text,
    phone           text,
    fare_url        text,
    PRIMARY KEY (feed_version_id, agency_id)
);

-- mode: 'tram' | 'bus' | 'community_bus' | 'rail' | 'ferry' | 'other'.
CREATE TABLE IF NOT EXISTS network_routes (
    feed_version_id bigint NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    route_id        text   NOT NULL,
    agency_id       text,
    short_name      text,
    long_name       text,
    route_type      integer NOT NULL,
    mode            text   NOT NULL,
    color           text,
    text_color      text,
    sort_order      integer,
    PRIMARY KEY (feed_version_id, route_id)
);

CREATE TABLE IF NOT EXISTS network_stops (
    feed_version_id bigint NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    stop_id         text   NOT NULL,
    code            text,
    name            text   NOT NULL,
    lat             double precision,
    lon             double precision,
    location_type   smallint NOT NULL DEFAULT 0,
    parent_station  text,
    platform_code   text,
    PRIMARY KEY (feed_version_id, stop_id)
);

CREATE TABLE IF NOT EXISTS network_trips (
    feed_version_id bigint NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    trip_id         text   NOT NULL,
    route_id        text   NOT NULL,
    service_id      text   NOT NULL,
    headsign        text,
    direction_id    smallint,
    block_id        text,
    shape_id        text,
    PRIMARY KEY (feed_version_id, trip_id)
);

-- Times are seconds after the service day's noon minus 12 h (GTFS), so they
-- may pass 24:00:00. last_stop: the trip ends here (no departure to show).
CREATE TABLE IF NOT EXISTS network_stop_times (
    feed_version_id bigint  NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    trip_id         text    NOT NULL,
    stop_sequence   integer NOT NULL,
    stop_id         text    NOT NULL,
    arrival_s       integer,
    departure_s     integer,
    stop_headsign   text,
    pickup_type     smallint NOT NULL DEFAULT 0,
    drop_off_type   smallint NOT NULL DEFAULT 0,
    shape_dist      double precision,
    last_stop       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (feed_version_id, trip_id, stop_sequence)
);
CREATE INDEX IF NOT EXISTS network_stop_times_stop ON network_stop_times (feed_version_id, stop_id);

-- derived: built from the stop coordinates because the feed had no shapes.txt.
CREATE TABLE IF NOT EXISTS network_shapes (
    feed_version_id bigint  NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    shape_id        text    NOT NULL,
    seq             integer NOT NULL,
    lat             double precision NOT NULL,
    lon             double precision NOT NULL,
    dist_m          double precision,
    derived         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (feed_version_id, shape_id, seq)
);

CREATE TABLE IF NOT EXISTS network_calendars (
    feed_version_id bigint NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    service_id      text    NOT NULL,
    monday          boolean NOT NULL,
    tuesday         boolean NOT NULL,
    wednesday       boolean NOT NULL,
    thursday        boolean NOT NULL,
    friday          boolean NOT NULL,
    saturday        boolean NOT NULL,
    sunday          boolean NOT NULL,
    start_date      date    NOT NULL,
    end_date        date    NOT NULL,
    PRIMARY KEY (feed_version_id, service_id)
);

-- exception_type 1 = added, 2 = removed (GTFS).
CREATE TABLE IF NOT EXISTS network_calendar_dates (
    feed_version_id bigint   NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    service_id      text     NOT NULL,
    date            date     NOT NULL,
    exception_type  smallint NOT NULL,
    PRIMARY KEY (feed_version_id, service_id, date)
);

-- translations.txt as published, in the 2nd-edition shape. A 1st-edition row
-- (trans_id, lang, translation) is stored with table_name and field_name '*'
-- and field_value = trans_id (the Japanese text it translates).
CREATE TABLE IF NOT EXISTS network_translations (
    feed_version_id bigint NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    table_name      text   NOT NULL,
    field_name      text   NOT NULL,
    language        text   NOT NULL,
    translation     text   NOT NULL,
    record_id       text,
    record_sub_id   text,
    field_value     text
);
CREATE INDEX IF NOT EXISTS network_translations_version ON network_translations (feed_version_id);

-- Names resolved per language at import. kind: 'stop' (key stop_id),
-- 'route_short' / 'route_long' (key route_id), 'agency' (key agency_id),
-- 'headsign' (key: the headsign's Japanese text).
CREATE TABLE IF NOT EXISTS network_names (
    feed_version_id bigint NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    kind            text   NOT NULL,
    key             text   NOT NULL,
    lang            text   NOT NULL,
    text            text   NOT NULL,
    PRIMARY KEY (feed_version_id, kind, key, lang)
);

-- Normalised search keys of every stop (see kagoshima-network's search module):
-- the name, the kana reading, its romaji and every translation.
CREATE TABLE IF NOT EXISTS network_stop_search_keys (
    feed_version_id bigint NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    stop_id         text   NOT NULL,
    source          text   NOT NULL,
    key             text   NOT NULL,
    PRIMARY KEY (feed_version_id, stop_id, source, key)
);
CREATE INDEX IF NOT EXISTS network_stop_search_keys_prefix
    ON network_stop_search_keys (feed_version_id, key text_pattern_ops);

-- GTFS-JP's extra files (agency_jp.txt, office_jp.txt, routes_jp.txt, ...) as
-- published: one row per line, columns as a JSON object.
CREATE TABLE IF NOT EXISTS network_extra_rows (
    feed_version_id bigint  NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    file_name       text    NOT NULL,
    line            integer NOT NULL,
    record          jsonb   NOT NULL,
    PRIMARY KEY (feed_version_id, file_name, line)
);

-- Anonymous stop-search counters (no query text, no client data): see
-- passenger.proto for the counting rule. day is the JST calendar date.
CREATE TABLE IF NOT EXISTS stop_search_counts (
    day     date   NOT NULL,
    stop_id text   NOT NULL,
    count   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, stop_id)
);

-- Searches per JST day; mode 'all' counts every SearchStops call, and a mode
-- ('tram', 'bus', 'community_bus') counts the calls whose results held at
-- least one stop served by that mode.
CREATE TABLE IF NOT EXISTS search_counts (
    day      date   NOT NULL,
    mode     text   NOT NULL,
    searches bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, mode)
);
