-- Device diagnostics read a device's refusals of the last hours: dead letters
-- by vehicle and time (the reason index serves the dashboards by reason).
CREATE INDEX IF NOT EXISTS dead_letters_vehicle_idx ON dead_letters (vehicle_id, received_at);
