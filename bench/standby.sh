#!/usr/bin/env bash
# The hot-standby benchmark: how long a player's picture stops when the
# primary publisher dies and the standby takes over ([app]
# backup_publish = on).
#
# One server, one player for the whole run (ffprobe reading the video
# packets of rtmp://.../live/bench, each line stamped with its arrival
# time), and two ffmpeg publishers (testsrc2 320x240, 30 fps, keyframe
# every 30 frames, x264 ultrafast zerolatency, AAC), the same parameters
# for both.  STANDBY_RUNS times: SIGKILL the primary, wait for the
# server's "took over" line, start a fresh publisher (held as the new
# standby), hold STANDBY_HOLD_S.  Per takeover, from the player's
# packets in the STANDBY_WINDOW_S after the kill (and the last one
# before it):
#   ts gap       the largest step of the video timestamps (ms): the hole
#                in the media timeline
#   arrival gap  the largest time between two video packets' arrival
#                (ms): how long the picture stopped for the player
# then the median of each.  A steady stream gives 33 ms for both.
#
# Environment:
#   SLUICE=build/sluice   the server
#   STANDBY_RUNS=10  STANDBY_HOLD_S=3  STANDBY_WINDOW_S=3
#   STANDBY_MERGE_MS=50   the server's merge_write_ms
#   STANDBY_KEEP=DIR      keep the logs and the packet list there
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SLUICE=${SLUICE:-build/sluice}
RUNS=${STANDBY_RUNS:-10}
HOLD=${STANDBY_HOLD_S:-3}
WINDOW=${STANDBY_WINDOW_S:-3}
MERGE=${STANDBY_MERGE_MS:-50}

die() { echo "bench-standby: $*" >&2; exit 1; }
say() { echo "bench-standby: $*" >&2; }

[ -x "$SLUICE" ] || die "$SLUICE not found (run make first)"
for t in ffmpeg ffprobe stdbuf python3; do
    command -v $t >/dev/null || die "$t is needed"
done

TMP=$(mktemp -d /tmp/sluice-standby.XXXXXX)
cp "$SLUICE" "$TMP/sluice"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${STANDBY_KEEP:-}" ]; then
        mkdir -p "$STANDBY_KEEP" && cp "$TMP"/*.log "$TMP"/*.csv \
            "$TMP"/kills.txt "$STANDBY_KEEP"/ 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="rtmp://127.0.0.1:$PORT/live/bench"
cat >"$TMP/sluice.ini" <<EOF
[server]
listen = 127.0.0.1:$PORT
merge_write_ms = $MERGE
publish_grace = 10s
[http]
listen = off
[web]
listen = off
[app:live]
backup_publish = on
EOF

# wait_count FILE NEEDLE N SECONDS: until FILE holds NEEDLE N times.
wait_count() {
    local end=$((SECONDS + $4))
    while [ "$(grep -c -F -- "$2" "$1" 2>/dev/null || true)" -lt "$3" ]; do
        [ $SECONDS -lt $end ] || die "no '$2' (x$3) in $1 within $4 s"
        sleep 0.05
    done
}

"$TMP/sluice" -c "$TMP/sluice.ini" >"$TMP/server.log" 2>&1 &
PIDS+=($!)
wait_count "$TMP/server.log" "listening on" 1 10

NPUB=0
LASTPID=0
publisher() {
    NPUB=$((NPUB + 1))
    ffmpeg -hide_banner -nostdin -loglevel warning \
        -re -f lavfi -i "testsrc2=size=320x240:rate=30:duration=3600" \
        -re -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=3600" \
        -c:v libx264 -preset ultrafast -tune zerolatency -pix_fmt yuv420p \
        -g 30 -c:a aac -b:a 64k -f flv "$URL" >"$TMP/pub$NPUB.log" 2>&1 &
    LASTPID=$!
    PIDS+=($LASTPID)
}

publisher
PRIMARY=$LASTPID
wait_count "$TMP/server.log" "publishing live/bench" 1 10
publisher
STANDBY=$LASTPID
wait_count "$TMP/server.log" "standby publisher c" 1 10

# The player: one line per video packet, "arrival,dts,flags".
(stdbuf -oL ffprobe -v error -select_streams v \
    -show_entries packet=dts,flags -of csv=p=0 "$URL" |
    while IFS= read -r l; do printf '%s,%s\n' "$EPOCHREALTIME" "$l"; done \
        >"$TMP/player.csv") &
PIDS+=($!)
sleep "$HOLD"
sleep 2

: >"$TMP/kills.txt"
for i in $(seq 1 "$RUNS"); do
    echo "$EPOCHREALTIME" >>"$TMP/kills.txt"
    kill -9 "$PRIMARY"
    wait "$PRIMARY" 2>/dev/null || true # reaped quietly: no "Killed" line
    wait_count "$TMP/server.log" "took over after primary" "$i" 10
    PRIMARY=$STANDBY
    publisher
    STANDBY=$LASTPID
    wait_count "$TMP/server.log" "standby publisher c" $((i + 1)) 10
    sleep "$HOLD"
    say "takeover $i of $RUNS done"
done
sleep 1

grep -o 'took over after primary c[0-9]* left (gap [0-9]* ms' \
    "$TMP/server.log" | sed 's/.*gap \([0-9]*\) ms/\1/' >"$TMP/detect.txt"

python3 - "$TMP/player.csv" "$TMP/kills.txt" "$TMP/detect.txt" "$WINDOW" \
    "$MERGE" <<'EOF'
import statistics, sys

pk = []
for line in open(sys.argv[1]):
    f = line.strip().split(',')
    if len(f) < 2 or not f[1].lstrip('-').isdigit():
        continue
    pk.append((float(f[0]), int(f[1])))
kills = [float(x) for x in open(sys.argv[2]) if x.strip()]
detect = [int(x) for x in open(sys.argv[3]) if x.strip()]
win = float(sys.argv[4])

print(f"standby takeover, {len(kills)} runs, merge_write_ms {sys.argv[5]}")
print(f"{'run':>4} {'ts gap ms':>10} {'arrival gap ms':>15} "
      f"{'noticed after ms':>17}")
tsg, arg = [], []
for n, k in enumerate(kills, 1):
    before = [i for i, p in enumerate(pk) if p[0] <= k]
    if not before:
        continue
    j = before[-1]
    seg = [p for p in pk[j:] if p[0] <= k + win]
    ts = max((b[1] - a[1] for a, b in zip(seg, seg[1:])), default=0)
    ar = max(((b[0] - a[0]) * 1000 for a, b in zip(seg, seg[1:])),
             default=0)
    tsg.append(ts)
    arg.append(ar)
    d = detect[n - 1] if n <= len(detect) else -1
    print(f"{n:>4} {ts:>10d} {ar:>15.0f} {d:>17d}")
if tsg:
    print(f"{'med':>4} {statistics.median(tsg):>10.0f} "
          f"{statistics.median(arg):>15.0f}")
EOF
