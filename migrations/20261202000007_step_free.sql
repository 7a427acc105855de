-- Step-free boarding as the feed gives it (GTFS stops.txt wheelchair_boarding:
-- 0 no information, 1 possible, 2 not possible). A platform with 0 takes its
-- station's value when read (the GTFS rule).
ALTER TABLE network_stops ADD COLUMN IF NOT EXISTS wheelchair_boarding smallint NOT NULL DEFAULT 0;
