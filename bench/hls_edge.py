#!/usr/bin/env python3
"""How late the newest part of an LL-HLS playlist reaches a client that
waits for it, on the playlist's own clock; for bench/hls_latency.sh.
Python's standard library only.

    hls_edge.py URL N [TIMEOUT_S]

URL is a media playlist.  N times: a blocking reload for the part that
EXT-X-PRELOAD-HINT names (_HLS_msn/_HLS_part), and when it is answered,
the wall clock minus the end of the newest part it lists (its segment's
EXT-X-PROGRAM-DATE-TIME plus the durations of its parts through it).
Prints the N figures in milliseconds on one line.

Sluice dates a segment by when its first frame arrived (one anchor per
stream and its rungs), so for the source this is the anchor's error plus
the time from the part's end to the answer; for a rung it adds the
ladder's delay.  Every request is bounded by TIMEOUT_S (5); the whole
run by N times that.
"""

import datetime
import re
import sys
import time
import urllib.request


def get(url, timeout):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def newest_end_and_hint(text):
    """(wall-clock end of the newest part, hint msn, hint part)."""
    start = end = None
    for line in text.splitlines():
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            iso = line.split(":", 1)[1].replace("Z", "+00:00")
            start = datetime.datetime.fromisoformat(iso).timestamp()
            end = start
        elif line.startswith("#EXT-X-PART:") and start is not None:
            end += float(re.search(r"DURATION=([\d.]+)", line).group(1))
    hint = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p(\d+)\.(\d+)\.m4s',
                     text)
    if hint is None or end is None:
        raise ValueError("no part or no hint in the playlist")
    return end, int(hint.group(1)), int(hint.group(2))


def main():
    url, n = sys.argv[1], int(sys.argv[2])
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    _, msn, part = newest_end_and_hint(get(url, timeout))
    out = []
    for _ in range(n):
        text = get(f"{url}?_HLS_msn={msn}&_HLS_part={part}", timeout)
        now = time.time()
        end, msn, part = newest_end_and_hint(text)
        out.append(f"{(now - end) * 1000:.0f}")
    print(" ".join(out))


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as e:
        sys.exit(f"hls_edge.py: {e}")
