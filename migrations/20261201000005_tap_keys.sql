-- One key per tap on both engines: a tap is a revenue record, and a
-- validator that resends it (even with a different time) must not store it
-- twice. On plain PostgreSQL `taps` could be unique on event_id alone; on
-- TimescaleDB a hypertable's unique keys must include its time column, so
-- (event_id, occurred_at) let a resent tap with another time through. This
-- plain table holds the key on both engines; storage claims it first and
-- inserts the tap only when the claim is new.
CREATE TABLE IF NOT EXISTS tap_keys (
    event_id    text        PRIMARY KEY,
    occurred_at timestamptz NOT NULL
);

-- Taps already stored: the first received copy of each event keeps the key.
INSERT INTO tap_keys (event_id, occurred_at)
SELECT DISTINCT ON (event_id) event_id, occurred_at
  FROM taps
 ORDER BY event_id, received_at, occurred_at
ON CONFLICT DO NOTHING;

-- Later copies stored under another time (TimescaleDB only) move to the
-- dead letters with their reason, so they stop counting as rides and stay
-- visible to whoever reconciles. The row holds a card hash, never a number.
WITH duplicates AS (
    DELETE FROM taps t
     WHERE NOT EXISTS (SELECT 1 FROM tap_keys k
                        WHERE k.event_id = t.event_id AND k.occurred_at = t.occurred_at)
    RETURNING t.*
)
INSERT INTO dead_letters (received_at, source, topic, kind, vehicle_id, reason, detail, payload)
SELECT d.received_at, d.source, NULL, 'tap', d.vehicle_id, 'duplicate_event',
       'tap ' || d.event_id || ' was stored twice with different times; the first received copy is kept',
       convert_to(row_to_json(d)::text, 'UTF8')
  FROM duplicates d;
