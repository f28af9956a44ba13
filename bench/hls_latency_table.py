#!/usr/bin/env python3
"""The tables of bench/hls_latency.sh, from its samples (LAT_CSV keeps
them, so a table can be made again without the runs).

    hls_latency_table.py SAMPLES.csv ["CASE ..."]

A sample line: case, run, i, latency (hls.latency, s), behind (wall clock
minus the playhead's PROGRAM-DATE-TIME, s), target (hls.js's target
latency), rate (playback rate), segment (mean segment duration of the
playlist), segs (segments from the one playing to the newest complete
one), width, height, noise (others' CPU share during the run, %), edge
(the run's median ms from a part's end on the PROGRAM-DATE-TIME clock to
a blocking reload's answer, on the playlist the run played).

arrival: behind corrected by the PROGRAM-DATE-TIME clock's own error.
Sluice fixes that clock by the first frame it gets from the publisher;
when later frames come relatively sooner (ffmpeg's start-up burst), the
dates are late by the difference and behind reads low by as much.  One
server and one publisher serve every run of a bench, so each app keeps
one clock: the source's edge (a part's end, dated by that clock, against
the moment its part is answered, which is when the next frame arrives)
measures the clock's error, and arrival = behind - that edge.  It is
the time from a frame's arrival at Sluice to its display, less the few
milliseconds between that frame's arrival and the answer; for a rung it
includes the ladder.  The publisher's own encoder delay is in no column.
"""

import csv
import math
import sys

WHAT = {"source": "source, 500 ms parts", "rung": "rung 270p, 500 ms parts",
        "part200": "source, 200 ms parts", "plain": "source, plain HLS"}
APP = {"source": "live", "rung": "live", "plain": "live", "part200": "fast"}
SOURCE_OF = {"live": "source", "fast": "part200"}  # the app's source case


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return math.nan
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def nums(rs, key, shift=0.0):
    out = []
    for r in rs:
        try:
            out.append(float(r[key]) - shift)
        except (ValueError, KeyError):
            pass
    return out


def run_edges(rs):
    """{run: its median edge in ms}."""
    return {r["run"]: float(r["edge"]) for r in rs if r.get("edge")}


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    order = (sys.argv[2].split() if len(sys.argv) > 2
             else list(dict.fromkeys(r["case"] for r in rows)))
    # Each app's clock error: the median over its source runs' edges.
    clock = {}
    for app, case in SOURCE_OF.items():
        e = list(run_edges([r for r in rows if r["case"] == case]).values())
        if e:
            clock[app] = pct(e, .5) / 1000

    def line(label, rs, runs):
        case = rs[0]["case"] if rs else ""
        lat = nums(rs, "latency")
        fix = clock.get(APP.get(case))
        arr = nums(rs, "behind", fix) if fix is not None else []
        sg = [float(r["latency"]) / float(r["segment"]) for r in rs
              if r["latency"] and r["segment"] and float(r["segment"]) > 0]
        whole = nums(rs, "segs")
        fast = sum(1 for x in nums(rs, "rate") if x > 1)
        edge = list(run_edges(rs).values())
        noise = sorted({r["noise"] for r in rs}, key=lambda x: float(x or -1))
        size = sorted({r["width"] + "x" + r["height"] for r in rs})
        print(f"{label:<24} {runs:>4} {len(lat):>7} "
              f"{pct(lat, .5):6.2f} {pct(lat, .9):6.2f} "
              f"{pct(arr, .5):6.2f} {pct(arr, .9):6.2f} "
              f"{pct(sg, .5):5.2f} {pct(sg, .9):5.2f} "
              f"{pct(whole, .5):4.0f} {max(whole, default=math.nan):4.0f} "
              f"{pct(nums(rs, 'target'), .5):6.2f} "
              f"{100 * fast / max(len(rs), 1):5.0f} "
              f"{pct(edge, .5):5.0f}  {'/'.join(noise):<10} {' '.join(size)}")

    head = (f"{'case':<24} {'runs':>4} {'samples':>7} {'lat50':>6} "
            f"{'lat90':>6} {'arr50':>6} {'arr90':>6} {'seg50':>5} "
            f"{'seg90':>5} {'sn50':>4} {'snmx':>4} {'target':>6} "
            f"{'>1x%':>5} {'edge':>5}  {'noise %':<10} decoded")
    print(head)
    for c in order:
        rs = [r for r in rows if r["case"] == c]
        line(WHAT.get(c, c), rs, len({r["run"] for r in rs}))
    print()
    print("Each run:")
    print(head)
    for c in order:
        for run in sorted({r["run"] for r in rows if r["case"] == c},
                          key=int):
            rs = [r for r in rows if r["case"] == c and r["run"] == run]
            line(f"{c} #{run}", rs, 1)
    print()
    print("  lat: hls.latency (s), p50 and p90 over all samples;"
          " arr: from a frame's arrival at Sluice to its display (s),")
    print("  the PROGRAM-DATE-TIME clock's error taken out (see"
          " bench/hls_latency_table.py);")
    print("  seg: lat in segments; sn: whole segments from the one playing"
          " to the newest complete one listed (p50, max);")
    print("  target: hls.js's target latency (s); >1x%: samples playing"
          " faster than 1x to catch up;")
    print("  edge: ms from a part's end (PROGRAM-DATE-TIME clock) to its"
          " blocking reload's answer, median of the runs;")
    print("  noise: others' share of all CPUs during each run's samples (%)")
    for app, fix in sorted(clock.items()):
        print(f"  clock error of app {app}: {fix * 1000:+.0f} ms (its"
              " source's edge)")


if __name__ == "__main__":
    main()
