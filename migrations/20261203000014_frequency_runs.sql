-- Runs of frequency-based trips (GTFS frequencies.txt), stored as trips of
-- their own (trip_id "<template>@HH:MM:SS", see kagoshima-network's
-- frequencies module). run_of: the template trip of trips.txt, which
-- GTFS-Realtime names with the run's start time; run_exact_times false: the
-- times are an estimate ("about every run_headway_s seconds").
ALTER TABLE network_trips ADD COLUMN IF NOT EXISTS run_of text;
ALTER TABLE network_trips ADD COLUMN IF NOT EXISTS run_start_s integer;
ALTER TABLE network_trips ADD COLUMN IF NOT EXISTS run_headway_s integer;
ALTER TABLE network_trips ADD COLUMN IF NOT EXISTS run_exact_times boolean;
