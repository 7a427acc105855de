"""Static GTFS judged by outside validators: gtfs-validator (the canonical
rule set of MobilityData's validator, in Python) and gtfs-guru (a validator
written in Rust), both from PyPI. Every feed given must have no ERROR in
either; warnings are printed.

    check.py FEED_DIR...
"""
import json
import os
import subprocess
import sys
import tempfile

import gtfs_guru


def canonical(feed, failures):
    """MobilityData's rules (gtfs-validator on PyPI), country JP."""
    validator = os.path.join(os.path.dirname(sys.executable), "gtfs-validator")
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([validator, "-i", feed, "-o", out, "-c", "jp"], check=True,
                       stdout=subprocess.DEVNULL)
        notices = json.load(open(os.path.join(out, "report.json")))["notices"]
    for n in notices:
        print(f"  gtfs-validator {n['severity']} {n['code']} x{n.get('totalNotices')}")
        if n["severity"] == "ERROR":
            failures.append(f"{feed}: gtfs-validator {n['code']}")


def guru(feed, failures):
    result = gtfs_guru.validate(feed)
    seen = {}
    for n in result.notices:
        seen.setdefault((n.severity, n.code), []).append(n)
    for (severity, code), found in sorted(seen.items()):
        first = found[0]
        print(f"  gtfs-guru {severity} {code} x{len(found)}: {first.file or ''} {first.message}")
        if severity == "ERROR":
            failures.append(f"{feed}: gtfs-guru {code} ({first.file}, row {first.row}: {first.message})")


def main():
    failures = []
    for feed in sys.argv[1:]:
        print(feed)
        canonical(feed, failures)
        guru(feed, failures)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"static GTFS: {len(sys.argv) - 1} feed(s), no error from gtfs-validator or gtfs-guru")


if __name__ == "__main__":
    main()
