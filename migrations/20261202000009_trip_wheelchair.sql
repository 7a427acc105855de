-- Step-free boarding per trip as the feed gives it (GTFS trips.txt
-- wheelchair_accessible: 0 no information, 1 possible, 2 not possible), for
-- lines where low-floor and older vehicles share the timetable.
ALTER TABLE network_trips ADD COLUMN IF NOT EXISTS wheelchair_accessible smallint NOT NULL DEFAULT 0;
