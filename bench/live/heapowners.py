#!/usr/bin/env python3
"""Split an edge heap profile's in-use bytes by owner, per active series.

    bench/live/heapowners.py SERIES PROFILE...

PROFILE is a heap profile of the edge (HEAP=file bench/live/run.sh saves one
after a forced GC); SERIES the active series run.sh printed. Each sampled
allocation goes to the owner of the innermost frame of its stack that names
one (Prometheus' scrape cache, its body buffers, the scrape appender, the
plugin memo, the delta keys, the delta encoder, zstd, Badger), the rest to
"other". Heap profiles are sampled (one in 512 KiB on average), so an owner
of a few MB varies by about a MB between profiles of the same state.
"""
import re
import subprocess
import sys

OWNERS = [
    ("Prometheus scrape cache (series map, entries, label sets, staleness maps)",
     r"scrape\.\(\*scrapeCache\)|textparse|model/labels\.\(\*Builder\)|scrape\.\(\*scrapeLoop\)"),
    ("Prometheus scrape body buffers", r"scrape\.NewManager\.func1|scrape\.\(\*targetScraper\)"),
    ("scrape appender (the batch: series, samples, index)", r"relay/ingest\."),
    ("plugin memo", r"plugins/host\."),
    ("delta keys (kept per target, or built per scrape)", r"relay/edge\.\(\*seriesKeys\)|relay/deltaconv\."),
    ("delta encoder (bases: slots, dictionary; frame scratch)", r"internal/wire/delta\.(?!AppendLabel)"),
    ("zstd", r"klauspost/compress"),
    ("Badger (memtables, table builders)", r"dgraph-io"),
]
OTHER = "other (runtime, HTTP, metrics, QUIC, start-up)"
UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def owners(path):
    out = subprocess.run(["go", "tool", "pprof", "-sample_index=inuse_space", "-traces", path],
                         capture_output=True, text=True, check=True).stdout
    total = {}
    for block in re.split(r"-+\+-+\n", out)[1:]:
        lines = [l for l in block.split("\n") if l.strip() and not l.strip().startswith("bytes:")]
        m = lines and re.match(r"\s*([\d.]+)([kMG]?B)\s+(.*)", lines[0])
        if not m:
            continue
        size = float(m.group(1)) * UNITS[m.group(2)]
        frames = [m.group(3)] + [l.strip() for l in lines[1:]]
        name = next((o for f in frames for o, rx in OWNERS if re.search(rx, f)), OTHER)
        total[name] = total.get(name, 0) + size
    return total


def main():
    series, paths = float(sys.argv[1]), sys.argv[2:]
    res = [owners(p) for p in paths]
    print("| owner | " + " | ".join(paths) + " |")
    print("| --- |" + " ---: |" * len(paths))
    for name in [o for o, _ in OWNERS] + [OTHER, "total"]:
        cells = []
        for r in res:
            v = sum(r.values()) if name == "total" else r.get(name, 0)
            cells.append(f"{v / 1e6:.1f} MB, {v / series:.0f} B")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
