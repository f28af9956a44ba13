#!/usr/bin/env bash
# Memory of the web delivery plane over time (issue 13): a 720p source
# with a three-rung ladder, LL-HLS on, 50 HTTP-FLV players and two HLS
# readers (ffmpeg on the master playlist), for SOAK_MINUTES.  Samples the
# serving process's RSS, threads and descriptors every 10 s and prints
# them with the RSS slope after the first minute (least squares, MB per
# hour).  Not a test: it prints figures for docs/performance.md.
#
#   SOAK_MINUTES=10  SLUICE=build/sluice  SLUICE_BENCH=build/sluice-bench
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SLUICE=${SLUICE:-build/sluice}
SLUICE_BENCH=${SLUICE_BENCH:-build/sluice-bench}
MINUTES=${SOAK_MINUTES:-10}
SECONDS_TOTAL=$((MINUTES * 60))

BENCH_TAG=web_soak
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
command -v ffmpeg >/dev/null || die "ffmpeg is needed"

TMP=$(mktemp -d /tmp/sluice-websoak-XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# Its own free_port, as cluster.sh and supervisor.sh pick theirs: a port
# the kernel hands out (not lib.sh's scan below the ephemeral range).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

mkdir -p build/bench
INPUT=build/bench/input-720p30-2m.flv
make_input_720p "$INPUT"

RTMP=$(free_port)
WEB=$(free_port)
API=$(free_port)
cat >"$TMP/sluice.ini" <<EOF
[server]
listen = 127.0.0.1:$RTMP
log_level = warn
[http]
listen = 127.0.0.1:$API
[web]
listen = 127.0.0.1:$WEB
[app:live]
renditions = 480p,360p,240p
keyframe_interval = 2s
hls = on
[rendition:480p]
height = 480
video_bitrate = 1000k
preset = veryfast
[rendition:360p]
height = 360
video_bitrate = 600k
preset = veryfast
[rendition:240p]
height = 240
video_bitrate = 300k
preset = veryfast
EOF

"$SLUICE" -n -c "$TMP/sluice.ini" >"$TMP/sluice.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$API/healthz" && break
    sleep 0.1
done

# The publisher and the 50 HTTP-FLV players, for the whole run.
"$SLUICE_BENCH" -u "rtmp://127.0.0.1:$RTMP/live/soak" -i "$INPUT" -n 50 \
    -d "$SECONDS_TOTAL" -w 2 -p "$SERVER" \
    --flv-url "http://127.0.0.1:$WEB/live/soak.flv" >"$TMP/bench.out" 2>&1 &
PIDS+=("$!")
# Two HLS readers once the ladder has segments; they come back if the
# reader gives up.
(
    sleep 8
    end=$((SECONDS + SECONDS_TOTAL))
    while [ $SECONDS -lt $end ]; do
        timeout $((end - SECONDS + 1)) ffmpeg -hide_banner -loglevel error \
            -i "http://127.0.0.1:$WEB/live/soak.m3u8" -map 0:v:0 -c copy \
            -f null - </dev/null >/dev/null 2>&1 || sleep 2
    done
) &
PIDS+=("$!")
(
    sleep 9
    end=$((SECONDS + SECONDS_TOTAL))
    while [ $SECONDS -lt $end ]; do
        timeout $((end - SECONDS + 1)) ffmpeg -hide_banner -loglevel error \
            -i "http://127.0.0.1:$WEB/live/soak_240p/media.m3u8" -c copy \
            -f null - </dev/null >/dev/null 2>&1 || sleep 2
    done
) &
PIDS+=("$!")

echo "web_soak: $MINUTES min, pid $SERVER; sampling every 10 s" >&2
printf '%8s %10s %8s %6s\n' "t_s" "rss_kb" "threads" "fds"
: >"$TMP/samples"
for ((t = 10; t <= SECONDS_TOTAL; t += 10)); do
    sleep 10
    kill -0 "$SERVER" 2>/dev/null || die "the server died (log: $(tail -3 "$TMP/sluice.log"))"
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status")
    thr=$(awk '/^Threads/ {print $2}' "/proc/$SERVER/status")
    fds=$(ls "/proc/$SERVER/fd" | wc -l)
    printf '%8d %10d %8d %6d\n' "$t" "$rss" "$thr" "$fds"
    echo "$t $rss" >>"$TMP/samples"
done
# The slope from minute 1 and from minute 5 (warm-up can take longer
# than a minute: windows, rings and allocator arenas fill first).
for from in 60 300; do
    awk -v from="$from" '$1 >= from {n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2}
        END {
            if (n < 2) { printf "slope from %d s: too few samples\n", from; exit }
            b = (n * sxy - sx * sy) / (n * sxx - sx * sx)
            printf "RSS slope from %d s: %.2f MB/h (%d samples)\n", from,
                   b * 3600 / 1024, n
        }' "$TMP/samples"
done
players=$(curl -s "http://127.0.0.1:$API/api/v1/server" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["players_by_protocol"])' 2>/dev/null || echo "?")
echo "players by protocol at the end: $players"
echo "ERROR lines: $(grep -c ERROR "$TMP/sluice.log" || true)"
