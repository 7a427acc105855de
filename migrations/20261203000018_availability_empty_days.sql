-- A day cached before any of its positions were stored (a history loaded
-- after a report had covered its dates, a device's buffer uploaded days
-- late) kept 0 available minutes for good. The cache now says whether the
-- day had positions; a day that had none is computed again once it has.
ALTER TABLE location_availability_daily
    ADD COLUMN IF NOT EXISTS had_positions boolean NOT NULL DEFAULT true;
-- Rows cached before this column: a day with no minute available may be
-- such a day (or an outage); it is checked for positions once more.
UPDATE location_availability_daily SET had_positions = false WHERE available_minutes = 0;
