-- The files of each imported feed version as published (its .txt files,
-- name and bytes), kept by kagoshima-network's import so that a draft
-- timetable (kagoshima-indicators' planning) can be made from the active
-- feed without the folder it came from: the bureau downloads it from the
-- dashboard. A feed imported before this migration has no rows here until
-- it is imported again (`import --force`).
CREATE TABLE IF NOT EXISTS network_feed_files (
    feed_version_id bigint NOT NULL REFERENCES feed_versions (id) ON DELETE CASCADE,
    name            text   NOT NULL,
    content         bytea  NOT NULL,
    PRIMARY KEY (feed_version_id, name)
);
