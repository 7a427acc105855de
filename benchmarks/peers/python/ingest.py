"""A Python ingester, the peer a user might write instead of ours: paho-mqtt
(QoS 1 subscription) and psycopg 3 COPY in batches.

What it does NOT do that ours does: paho acknowledges each message to the
broker as soon as it has read it (before the row is committed), so a crash
loses what was buffered; no validation, no dead letters, no dedupe (COPY
straight into vehicle_positions fails the whole batch on a repeated key;
it is the fastest way in, so the comparison favours the peer).

Environment: MQTT_HOST, MQTT_PORT, MQTT_CLIENT_ID, MQTT_TOPIC, DATABASE_URL,
BATCH (rows per COPY, default 2000), LINGER_MS (default 20).
"""
import json
import os
import queue
import signal
import sys
import threading

import paho.mqtt.client as mqtt
import psycopg

BATCH = int(os.environ.get("BATCH", "2000"))
LINGER = int(os.environ.get("LINGER_MS", "20")) / 1000.0
COPY = (
    "COPY vehicle_positions (vehicle_id, recorded_at, mode, lat, lon, bearing, speed,"
    " accuracy, trip_id, route_id, odometer) FROM STDIN"
)

inbox: "queue.Queue[tuple[str, bytes]]" = queue.Queue()
stop = threading.Event()


def on_connect(client, userdata, flags, reason_code, properties):
    client.subscribe(os.environ.get("MQTT_TOPIC", "kagoshima/v1/+/+/position"), qos=1)


def on_message(client, userdata, msg):
    inbox.put((msg.topic, msg.payload))


def row(topic: str, payload: bytes):
    p = json.loads(payload)
    return (
        p["vehicleId"],
        p["recordedAt"],
        topic.split("/")[2],
        p["lat"],
        p["lon"],
        p.get("bearing"),
        p.get("speed"),
        p.get("accuracy"),
        p.get("tripId") or None,
        p.get("routeId") or None,
        p.get("odometer"),
    )


def writer():
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        while not stop.is_set():
            try:
                first = inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            try:
                while len(batch) < BATCH:
                    batch.append(inbox.get(timeout=LINGER) if inbox.empty() else inbox.get_nowait())
            except queue.Empty:
                pass
            rows = []
            for topic, payload in batch:
                try:
                    rows.append(row(topic, payload))
                except (ValueError, KeyError, IndexError) as e:
                    print(f"dropping a bad message on {topic}: {e}", file=sys.stderr)
            with conn.cursor() as cur:
                with cur.copy(COPY) as copy:
                    for r in rows:
                        copy.write_row(r)
            conn.commit()


def main():
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=os.environ.get("MQTT_CLIENT_ID", "python-peer"),
        clean_session=True,
    )
    client.max_inflight_messages_set(1000)
    client.on_connect = on_connect
    client.on_message = on_message
    client.connect(os.environ.get("MQTT_HOST", "127.0.0.1"), int(os.environ.get("MQTT_PORT", "1883")))
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    signal.signal(signal.SIGTERM, lambda *_: (stop.set(), client.disconnect()))
    client.loop_forever()
    t.join(timeout=5)


if __name__ == "__main__":
    main()
