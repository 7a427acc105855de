#!/usr/bin/env python3
"""Quality checks for the sample GTFS-JP feed (standard library only).

    python3 simulators/feed/check_feed.py [FEED_DIR]   # default: ./kagoshima next to this file

Exits 1 and lists every problem found; prints a summary either way.
"""
from __future__ import annotations

import csv
import datetime as dt
import math
import sys
from collections import defaultdict
from pathlib import Path

EARTH_R = 6371000.0
LANGS = ("ja", "ja-Hrkt", "en", "zh-Hans", "zh-Hant", "ko")
MAX_STOP_TO_SHAPE_M = 30.0
MAX_TRAM_VEHICLES = 55
MIN_LAYOVER_S, MAX_LAYOVER_S = 180, 600
MAX_TOTAL_BYTES = 3 * 1024 * 1024
FEED_MUST_COVER = ("20240401", "20270331")

REQUIRED = {
    "agency.txt": ["agency_id", "agency_name", "agency_url", "agency_timezone"],
    "agency_jp.txt": ["agency_id"],
    "feed_info.txt": ["feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date",
                      "feed_end_date", "feed_version"],
    "stops.txt": ["stop_id", "stop_name", "stop_lat", "stop_lon"],
    "routes.txt": ["route_id", "agency_id", "route_type"],
    "trips.txt": ["route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "block_id", "shape_id"],
    "stop_times.txt": ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence",
                       "shape_dist_traveled"],
    "shapes.txt": ["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence", "shape_dist_traveled"],
    "calendar.txt": ["service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                     "sunday", "start_date", "end_date"],
    "calendar_dates.txt": ["service_id", "date", "exception_type"],
    "translations.txt": ["table_name", "field_name", "language", "translation", "record_id", "record_sub_id",
                         "field_value"],
    "fare_attributes.txt": ["fare_id", "price", "currency_type", "payment_method", "transfers"],
    "fare_rules.txt": ["fare_id", "route_id"],
}

# Weekday dates that must be run as holiday service (spot checks of the
# holiday rules: 振替休日, 国民の休日, equinoxes, Happy Monday, year-end).
MUST_BE_HOLIDAY = [
    "20240429", "20240506", "20240715", "20240812", "20240916", "20240923", "20241014", "20241104",
    "20241230", "20241231", "20250101", "20250102", "20250103", "20250113", "20250211", "20250224",
    "20250320", "20250429", "20250505", "20250506", "20250721", "20250811", "20250915", "20250923",
    "20251013", "20251103", "20251124", "20251229", "20260101", "20260102", "20260112", "20260211",
    "20260223", "20260320", "20260429", "20260504", "20260505", "20260506", "20260720", "20260811",
    "20260921", "20260922", "20260923", "20261012", "20261103", "20261123", "20261229", "20261230",
    "20261231", "20270101", "20270111", "20270211", "20270223", "20270322",
]
MUST_BE_WEEKDAY = ["20240430", "20240501", "20250319", "20250924", "20260924", "20270104", "20270321"]

errors: list[str] = []


def err(msg: str) -> None:
    errors.append(msg)


def read(feed: Path, name: str) -> list[dict]:
    path = feed / name
    if not path.exists():
        err(f"missing file {name}")
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
        header = rows[0].keys() if rows else []
    for col in REQUIRED.get(name, []):
        if rows and col not in header:
            err(f"{name}: missing column {col}")
    if not rows:
        err(f"{name}: no rows")
    return rows


def secs(t: str) -> int:
    h, m, s = t.split(":")
    if len(m) != 2 or len(s) != 2 or int(m) > 59 or int(s) > 59:
        raise ValueError(t)
    return int(h) * 3600 + int(m) * 60 + int(s)


def haversine(a, b) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_R * math.asin(math.sqrt(h))


def project(p, pts, cum) -> tuple[float, float]:
    """(distance to polyline in m, distance along it at the closest point)."""
    k = math.pi / 180 * EARTH_R
    c = math.cos(math.radians(p[0]))
    best = (float("inf"), 0.0)
    for i in range(len(pts) - 1):
        ax, ay = (pts[i][1] - p[1]) * k * c, (pts[i][0] - p[0]) * k
        bx, by = (pts[i + 1][1] - p[1]) * k * c, (pts[i + 1][0] - p[0]) * k
        dx, dy = bx - ax, by - ay
        L2 = dx * dx + dy * dy
        t = 0.0 if L2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / L2))
        d = math.hypot(ax + t * dx, ay + t * dy)
        if d < best[0]:
            best = (d, cum[i] + t * (cum[i + 1] - cum[i]))
    return best


def main() -> int:
    feed = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "kagoshima"
    t = {name: read(feed, name) for name in REQUIRED}

    # ---- ids and references ------------------------------------------------
    def index(name, key):
        out = {}
        for r in t[name]:
            if r[key] in out:
                err(f"{name}: duplicate {key} {r[key]}")
            out[r[key]] = r
        return out

    agencies = index("agency.txt", "agency_id")
    stops = index("stops.txt", "stop_id")
    routes = index("routes.txt", "route_id")
    trips = index("trips.txt", "trip_id")
    fares = index("fare_attributes.txt", "fare_id")
    services = {r["service_id"] for r in t["calendar.txt"]} | {r["service_id"] for r in t["calendar_dates.txt"]}
    shapes: dict[str, list] = defaultdict(list)
    for r in t["shapes.txt"]:
        shapes[r["shape_id"]].append((int(r["shape_pt_sequence"]), float(r["shape_pt_lat"]),
                                      float(r["shape_pt_lon"]), float(r["shape_dist_traveled"])))
    for r in t["agency_jp.txt"]:
        if r["agency_id"] not in agencies:
            err(f"agency_jp: unknown agency {r['agency_id']}")
    for r in routes.values():
        if r["agency_id"] not in agencies:
            err(f"route {r['route_id']}: unknown agency {r['agency_id']}")
        if not (r.get("route_short_name") or r.get("route_long_name")):
            err(f"route {r['route_id']}: no name")
    for r in trips.values():
        if r["route_id"] not in routes:
            err(f"trip {r['trip_id']}: unknown route")
        if r["service_id"] not in services:
            err(f"trip {r['trip_id']}: unknown service {r['service_id']}")
        if r["shape_id"] not in shapes:
            err(f"trip {r['trip_id']}: unknown shape {r['shape_id']}")
        if not r["trip_headsign"] or not r["block_id"] or r["direction_id"] not in ("0", "1"):
            err(f"trip {r['trip_id']}: headsign/block/direction missing")
    for r in t["fare_rules.txt"]:
        if r["fare_id"] not in fares:
            err(f"fare_rules: unknown fare {r['fare_id']}")
        if r["route_id"] and r["route_id"] not in routes:
            err(f"fare_rules: unknown route {r['route_id']}")
    for r in fares.values():
        if r.get("agency_id") and r["agency_id"] not in agencies:
            err(f"fare {r['fare_id']}: unknown agency")
    fared = {r["route_id"] for r in t["fare_rules.txt"]}
    for rid in routes:
        if rid not in fared:
            err(f"route {rid} has no fare rule")

    # ---- shapes -------------------------------------------------------------
    shape_pts, shape_cum = {}, {}
    for sid, rows in shapes.items():
        rows.sort()
        prev = -1.0
        for seq, _, _, d in rows:
            if d < prev:
                err(f"shape {sid}: shape_dist_traveled decreases at seq {seq}")
            prev = d
        pts = [(la, lo) for _, la, lo, _ in rows]
        cum = [0.0]
        for i in range(1, len(pts)):
            cum.append(cum[-1] + haversine(pts[i - 1], pts[i]))
        if abs(cum[-1] - rows[-1][3]) > 2.0:
            err(f"shape {sid}: shape_dist_traveled {rows[-1][3]} != haversine length {cum[-1]:.1f}")
        shape_pts[sid], shape_cum[sid] = pts, cum

    # ---- stop_times ---------------------------------------------------------
    by_trip: dict[str, list] = defaultdict(list)
    for r in t["stop_times.txt"]:
        if r["trip_id"] not in trips:
            err(f"stop_times: unknown trip {r['trip_id']}")
            continue
        if r["stop_id"] not in stops:
            err(f"stop_times: unknown stop {r['stop_id']}")
            continue
        try:
            by_trip[r["trip_id"]].append((int(r["stop_sequence"]), secs(r["arrival_time"]),
                                          secs(r["departure_time"]), r["stop_id"],
                                          float(r["shape_dist_traveled"])))
        except ValueError as e:
            err(f"stop_times {r['trip_id']}: bad value {e}")
    for tid in trips:
        if len(by_trip.get(tid, [])) < 2:
            err(f"trip {tid}: fewer than 2 stop_times")
    worst = 0.0
    proj_cache: dict[tuple[str, str], tuple[float, float]] = {}
    for tid, rows in by_trip.items():
        rows.sort()
        seqs = [r[0] for r in rows]
        if len(set(seqs)) != len(seqs):
            err(f"trip {tid}: duplicate stop_sequence")
        for i, (seq, arr, dep, sid, sd) in enumerate(rows):
            if dep < arr:
                err(f"trip {tid} seq {seq}: departure before arrival")
            if i and arr <= rows[i - 1][2]:
                err(f"trip {tid} seq {seq}: arrival not after previous departure")
            if i and sd < rows[i - 1][4]:
                err(f"trip {tid} seq {seq}: shape_dist_traveled decreases")
        shp = trips[tid]["shape_id"]
        if shp not in shape_pts:
            continue
        for seq, _, _, sid, sd in rows:
            key = (shp, sid)
            if key not in proj_cache:
                s = stops[sid]
                proj_cache[key] = project((float(s["stop_lat"]), float(s["stop_lon"])), shape_pts[shp],
                                          shape_cum[shp])
            d, along = proj_cache[key]
            worst = max(worst, d)
            if d > MAX_STOP_TO_SHAPE_M:
                err(f"trip {tid}: stop {sid} is {d:.1f} m from shape {shp}")
            # loops pass their first stop twice; compare with the nearest pass only where unambiguous
            if rows[0][3] != rows[-1][3] and abs(along - sd) > 30.0:
                err(f"trip {tid}: stop {sid} shape_dist_traveled {sd} vs projection {along:.1f}")
        if rows[-1][4] > shape_cum[shp][-1] + 2.0:
            err(f"trip {tid}: shape_dist_traveled beyond end of shape")

    # ---- loops ----------------------------------------------------------------
    for rid, r in routes.items():
        if r["agency_id"] == "kagoshima-aibus":
            for tid, tr in trips.items():
                if tr["route_id"] == rid and by_trip.get(tid) and by_trip[tid][0][3] != by_trip[tid][-1][3]:
                    err(f"aibus trip {tid} is not a loop")

    # ---- blocks -----------------------------------------------------------------
    blocks: dict[str, list] = defaultdict(list)
    for tid, tr in trips.items():
        rows = by_trip.get(tid)
        if rows:
            blocks[tr["block_id"]].append((rows[0][2], rows[-1][1], rows[0][3], rows[-1][3], tid,
                                           tr["service_id"], tr["route_id"]))
    layovers: dict[str, list[int]] = defaultdict(list)
    for bid, items in blocks.items():
        items.sort()
        if len({i[5] for i in items}) != 1:
            err(f"block {bid}: mixes service ids")
        for prev, cur in zip(items, items[1:]):
            lay = cur[0] - prev[1]
            if lay < 0:
                err(f"block {bid}: {cur[4]} starts before {prev[4]} ends")
            if cur[2] != prev[3]:
                err(f"block {bid}: {cur[4]} starts at {cur[2]}, previous trip ended at {prev[3]}")
            rt = routes[cur[6]]
            layovers[cur[6]].append(lay)
            lo, hi = MIN_LAYOVER_S, MAX_LAYOVER_S
            if rt["agency_id"] == "kagoshima-aibus":
                hi = 3600  # hourly loop with one small bus: it waits at 伊敷 between runs
            if not lo <= lay <= hi:
                err(f"block {bid}: layover {lay}s before {cur[4]} outside {lo}-{hi}s")
    tram_blocks: dict[str, set] = defaultdict(set)
    blocks_per_route: dict[tuple[str, str], set] = defaultdict(set)
    for bid, items in blocks.items():
        for i in items:
            blocks_per_route[(i[6], i[5])].add(bid)
            if routes[i[6]]["route_type"] == "0":
                tram_blocks[i[5]].add(bid)
    for svc, b in tram_blocks.items():
        if len(b) > MAX_TRAM_VEHICLES:
            err(f"service {svc}: {len(b)} tram blocks > {MAX_TRAM_VEHICLES}")

    # ---- translations -------------------------------------------------------------
    by_value: dict[tuple[str, str, str], set] = defaultdict(set)
    by_record: dict[tuple[str, str, str], set] = defaultdict(set)
    for r in t["translations.txt"]:
        if r["language"] not in LANGS:
            err(f"translations: unexpected language {r['language']}")
        if not r["translation"].strip():
            err(f"translations: empty translation {r}")
        if r["field_value"] and r["record_id"]:
            err(f"translations: both record_id and field_value set: {r}")
        if r["field_value"]:
            by_value[(r["table_name"], r["field_name"], r["field_value"])].add(r["language"])
        elif r["record_id"]:
            by_record[(r["table_name"], r["field_name"], r["record_id"])].add(r["language"])
            table = {"routes": routes, "agency": agencies, "stops": stops, "trips": trips}.get(r["table_name"])
            if table is None or r["record_id"] not in table:
                err(f"translations: record_id {r['record_id']} not in {r['table_name']}")
        else:
            err(f"translations: row with neither record_id nor field_value: {r}")
        if r["language"] == "ja" and r["field_value"] and r["translation"] != r["field_value"]:
            err(f"translations: ja text differs from field_value {r['field_value']}")
    needed = []
    needed += [("stops", "stop_name", s["stop_name"], None) for s in stops.values()]
    needed += [("trips", "trip_headsign", tr["trip_headsign"], None) for tr in trips.values()]
    for r in routes.values():
        for f in ("route_short_name", "route_long_name"):
            if r.get(f):
                needed.append(("routes", f, r[f], r["route_id"]))
    needed += [("agency", "agency_name", a["agency_name"], a["agency_id"]) for a in agencies.values()]
    for table, field, value, rid in dict.fromkeys(needed):
        have = by_value.get((table, field, value), set()) | (by_record.get((table, field, rid), set()) if rid else set())
        missing = [lang for lang in LANGS if lang not in have]
        if missing:
            err(f"translations: {table}.{field} {value!r} missing {missing}")
    for (table, field, value) in by_value:
        col = {"stops": [s.get(field) for s in stops.values()],
               "trips": [tr.get(field) for tr in trips.values()]}.get(table, [])
        if value not in col:
            err(f"translations: field_value {value!r} unused in {table}.{field}")

    # ---- calendar -------------------------------------------------------------------
    for r in t["calendar.txt"]:
        if r["start_date"] > FEED_MUST_COVER[0] or r["end_date"] < FEED_MUST_COVER[1]:
            err(f"calendar {r['service_id']}: does not cover {FEED_MUST_COVER}")
    fi = t["feed_info.txt"][0] if t["feed_info.txt"] else {}
    if fi and (fi["feed_start_date"] > FEED_MUST_COVER[0] or fi["feed_end_date"] < FEED_MUST_COVER[1]):
        err("feed_info: dates do not cover the required period")
    if fi and fi["feed_lang"] != "ja":
        err("feed_info: feed_lang is not ja")
    cal = {r["service_id"]: r for r in t["calendar.txt"]}
    exc = {(r["service_id"], r["date"]): r["exception_type"] for r in t["calendar_dates.txt"]}

    def runs(svc: str, ymd: str) -> bool:
        if (svc, ymd) in exc:
            return exc[(svc, ymd)] == "1"
        c = cal.get(svc)
        if not c or not c["start_date"] <= ymd <= c["end_date"]:
            return False
        day = dt.datetime.strptime(ymd, "%Y%m%d").date()
        return c[("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[day.weekday()]] == "1"

    for ymd in MUST_BE_HOLIDAY:
        if runs("weekday", ymd) or not runs("holiday", ymd):
            err(f"calendar: {ymd} should run holiday service only")
    for ymd in MUST_BE_WEEKDAY:
        day = dt.datetime.strptime(ymd, "%Y%m%d").date()
        want_weekday = day.weekday() < 5
        if runs("weekday", ymd) != want_weekday or runs("holiday", ymd) == want_weekday:
            err(f"calendar: {ymd} has the wrong service")
    d = dt.date(2024, 4, 1)
    while d <= dt.date(2027, 3, 31):
        ymd = d.strftime("%Y%m%d")
        if runs("weekday", ymd) == runs("holiday", ymd):
            err(f"calendar: {ymd} runs {'both' if runs('weekday', ymd) else 'no'} services")
        d += dt.timedelta(days=1)

    # ---- size and summary ----------------------------------------------------------------
    sizes = {p.name: p.stat().st_size for p in sorted(feed.glob("*.txt"))}
    total = sum(sizes.values())
    if total > MAX_TOTAL_BYTES:
        err(f"feed is {total} bytes > {MAX_TOTAL_BYTES}")

    print(f"feed: {feed}")
    print(f"stops {len(stops)}  routes {len(routes)}  trips {len(trips)}  "
          f"stop_times {len(t['stop_times.txt'])}  shapes {len(shapes)} ({len(t['shapes.txt'])} points)  "
          f"translations {len(t['translations.txt'])}  calendar_dates {len(t['calendar_dates.txt'])}")
    print(f"worst stop-to-shape distance {worst:.2f} m")
    for (rid, svc), b in sorted(blocks_per_route.items()):
        lay = layovers.get(rid, [0])
        print(f"  {rid:16s} {svc:8s} trips {sum(1 for x in trips.values() if x['route_id'] == rid and x['service_id'] == svc):4d}"
              f"  blocks {len(b):3d}  layover {min(lay) // 60}-{max(lay) // 60} min (all services)")
    for svc, b in sorted(tram_blocks.items()):
        print(f"  tram vehicles ({svc}): {len(b)} / {MAX_TRAM_VEHICLES}")
    for name, size in sizes.items():
        print(f"  {name:22s} {size:9d} B")
    print(f"  {'total':22s} {total:9d} B")
    if errors:
        print(f"\nFAILED: {len(errors)} problem(s)")
        for e in errors[:200]:
            print("  -", e)
        if len(errors) > 200:
            print(f"  ... and {len(errors) - 200} more")
        return 1
    print("\nOK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
