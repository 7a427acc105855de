"""GTFS-Realtime from the running platform, judged by outside tools: the
feeds parse with Google's gtfs-realtime-bindings, vehicles carry occupancy
from the passenger counters, and gtfs-rt-validator (PyPI) finds no error
against the GTFS the demo serves.

    check.py GTFS_DIR LOCATION_HTTP   (e.g. .data/demo/feed-shift-0m 127.0.0.1:51052)
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

from google.protobuf import json_format
from google.transit import gtfs_realtime_pb2


# Errors that judge the simulated data rather than the feed's making: none
# now. (E029, a vehicle over 200 m from its trip's shape, fired on the GPS
# outliers the simulator injects: such a fix is now published where the
# tracker places the vehicle; see location's gtfs_rt::matched_if_outlier.)
DATA_DEPENDENT: set[str] = set()


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


def publish(web, token, alert):
    """Publishes a service alert as the bureau's dashboard does."""
    request = urllib.request.Request(f"{web}/api/bureau/alerts", data=json.dumps(alert).encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.load(r)["id"]


def main():
    gtfs_dir, http = sys.argv[1:3]
    web, token_file = (sys.argv[3:5] + [None, None])[:2]
    base = f"http://{http}/gtfs-rt"
    failures = []

    if web and token_file:
        # A cancelled trip and a detour, so that the alerts feed and the
        # CANCELED trip are judged too (the feeds are cached for 15 s).
        token = open(token_file).read().strip()
        first = gtfs_realtime_pb2.FeedMessage()
        first.ParseFromString(fetch(f"{base}/trip-updates"))
        trip = next(e.trip_update.trip.trip_id for e in first.entity if e.HasField("trip_update"))
        langs = ["ja", "en", "zh-Hans", "zh-Hant", "ko"]
        publish(web, token, {"effect": "no_service", "cause": "technical_problem",
                             "header": {l: f"運休 / cancelled {l}" for l in langs},
                             "entities": [{"trip_id": trip}]})
        publish(web, token, {"effect": "detour", "cause": "demonstration",
                             "header": {"ja": "おはら祭のため迂回", "en": "Ohara Festival detour"},
                             "entities": [{"stop_id": "bus_tenmonkan"}]})
        time.sleep(16)
        sa = gtfs_realtime_pb2.FeedMessage()
        sa.ParseFromString(fetch(f"{base}/alerts"))
        alerts = [e.alert for e in sa.entity if e.HasField("alert")]
        print(f"alerts: {len(alerts)}")
        if len(alerts) < 2:
            failures.append(f"{len(alerts)} alerts in the feed, 2 published")
        cancelled = [a for a in alerts if any(i.trip.trip_id == trip for i in a.informed_entity)]
        if not cancelled or sorted(t.language for t in cancelled[0].header_text.translation) != sorted(langs):
            failures.append("the cancellation is not in the alerts feed in five languages")
        tu_now = gtfs_realtime_pb2.FeedMessage()
        tu_now.ParseFromString(fetch(f"{base}/trip-updates"))
        if not any(e.trip_update.trip.trip_id == trip and e.trip_update.trip.schedule_relationship == 3
                   for e in tu_now.entity):
            failures.append(f"trip {trip} is not CANCELED in TripUpdates")

    vp = gtfs_realtime_pb2.FeedMessage()
    vp.ParseFromString(fetch(f"{base}/vehicle-positions"))
    tu = gtfs_realtime_pb2.FeedMessage()
    tu.ParseFromString(fetch(f"{base}/trip-updates"))
    vehicles = [e.vehicle for e in vp.entity if e.HasField("vehicle")]
    crowded = [v for v in vehicles if v.HasField("occupancy_status")]
    print(f"vehicle positions: {len(vehicles)}, with occupancy: {len(crowded)}; trip updates: {len(tu.entity)}")
    if not vehicles or not tu.entity:
        failures.append("empty feeds")
    if not crowded:
        failures.append("no vehicle carries occupancy_status")
    for v in crowded:
        if v.occupancy_percentage % 10:
            failures.append(f"{v.vehicle.id}: occupancy_percentage {v.occupancy_percentage} is not coarse")

    # ?format=json is proto3 JSON: the bindings' own parser reads it (unknown
    # fields and unknown enum names are errors) into the same message as the
    # protobuf served from the same cached feed.
    for kind in ["vehicle-positions", "trip-updates", "alerts"]:
        for _ in range(3):
            pb = gtfs_realtime_pb2.FeedMessage()
            pb.ParseFromString(fetch(f"{base}/{kind}"))
            as_json = gtfs_realtime_pb2.FeedMessage()
            try:
                json_format.Parse(fetch(f"{base}/{kind}?format=json"), as_json)
            except json_format.ParseError as e:
                failures.append(f"{kind}?format=json is not proto3 JSON: {e}")
                break
            if as_json.header.timestamp == pb.header.timestamp:
                break
        if as_json != pb and not any(f.startswith(kind) for f in failures):
            failures.append(f"{kind}: the JSON and the protobuf differ")
    print("?format=json: proto3 JSON, parsed by json_format into the same messages")

    with tempfile.TemporaryDirectory() as tmp:
        feed = os.path.join(tmp, "feed.zip")
        with zipfile.ZipFile(feed, "w") as z:
            for name in os.listdir(gtfs_dir):
                if name.endswith(".txt"):
                    z.write(os.path.join(gtfs_dir, name), name)
        out = os.path.join(tmp, "out")
        validator = os.path.join(os.path.dirname(sys.executable), "gtfs-rt-validator")
        subprocess.run([validator, "-gtfs", feed, "-vp", f"{base}/vehicle-positions",
                        "-tu", f"{base}/trip-updates", "-sa", f"{base}/alerts", "--out", out], check=True)
        notices = json.load(open(os.path.join(out, "report.json")))["notices"]
        for n in notices:
            print(f"  {n['code']} {n['severity']} x{n.get('totalNotices')}: {n['sampleNotices'][0].get('prefix', '')}")
            if n["severity"] == "ERROR" and n["code"] not in DATA_DEPENDENT:
                failures.append(f"validator error {n['code']}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("gtfs-realtime: parses with the bindings, occupancy present, no validator error")


if __name__ == "__main__":
    main()
