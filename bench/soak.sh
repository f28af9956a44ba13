#!/usr/bin/env bash
# Memory under churn (issue 15): the serving process's RSS, descriptors
# and threads while everything around one stream comes and goes, for
# SOAK_MINUTES (60).  One app with a 240p rung and backup_publish:
#
#   publishers  two ffmpeg copies of the 720p bench clip (looped) on
#               live/soak, the second held as the standby.  Every
#               SOAK_CYCLE_S (25 s) the primary goes (SIGTERM and
#               SIGKILL in turn), the standby takes over and a fresh
#               publisher stands by; every fourth cycle both go at once,
#               so the stream is unpublished, its ladder ends and a new
#               one starts with the next publisher.
#   players     SOAK_PLAYERS (30) slots, each a loop: play for 1-6 s,
#               leave, wait up to 2 s, again.  A play is rtmpdump or an
#               HTTP-FLV curl, of the source or of its 240p rung; one in
#               ten plays a name nobody publishes (a stream entry that
#               is made and must go again).
#   API         /api/v1/server, /api/v1/streams?players=1 and /metrics
#               twice a second, /api/v1/history every 5 s (one python
#               process).
#   reload      SIGHUP every 30 s.
#
# Every 10 s it prints RSS (VmRSS, and RssAnon, its anonymous part),
# threads and descriptors of the server, and at the end the slope of
# both RSS figures from minute 5 (least squares, MiB per hour), the
# count of ERROR and WARN lines in its log, then stops every client,
# waits 30 s and prints the idle figures against those before any
# client came.  Not a test: it prints figures for
# docs/performance.md.
#
#   SOAK_MINUTES=60  SOAK_PLAYERS=30  SOAK_CYCLE_S=25
#   SLUICE=build/sluice  SOAK_KEEP=DIR (keep the log and the samples)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SLUICE=${SLUICE:-build/sluice}
MINUTES=${SOAK_MINUTES:-60}
NPLAYERS=${SOAK_PLAYERS:-30}
CYCLE=${SOAK_CYCLE_S:-25}
SECONDS_TOTAL=$((MINUTES * 60))

BENCH_TAG=soak
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
need_bins "$SLUICE"
for t in ffmpeg rtmpdump curl python3; do
    command -v $t >/dev/null || die "$t is needed"
done

TMP=$(mktemp -d /tmp/sluice-soak-XXXXXX)
SERVER=
PIDS=()     # clients: publishers, player slots, the poller
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
    wait 2>/dev/null || true
    if [ -n "${SOAK_KEEP:-}" ]; then
        mkdir -p "$SOAK_KEEP" && cp "$TMP"/*.log "$TMP"/samples \
            "$TMP"/sluice.ini "$SOAK_KEEP"/ 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p build/bench
INPUT=build/bench/input-720p30-2m.flv
make_input_720p "$INPUT"

# Three different ports (free_port may repeat itself).
RTMP=$(free_port)
WEB=$(free_port)
while [ "$WEB" = "$RTMP" ]; do WEB=$(free_port); done
API=$(free_port)
while [ "$API" = "$RTMP" ] || [ "$API" = "$WEB" ]; do API=$(free_port); done
cat >"$TMP/sluice.ini" <<EOF
[server]
listen = 127.0.0.1:$RTMP
log_level = warn
publish_grace = 2s
[http]
listen = 127.0.0.1:$API
[web]
listen = 127.0.0.1:$WEB
[app:live]
renditions = 240p
keyframe_interval = 2s
backup_publish = on
[rendition:240p]
height = 240
video_bitrate = 300k
preset = veryfast
EOF

"$SLUICE" -n -c "$TMP/sluice.ini" >"$TMP/sluice.log" 2>&1 &
SERVER=$!
wait_listen "$API" "$SERVER" || die "the server did not start: $(tail -3 "$TMP/sluice.log")"
wait_listen "$RTMP" "$SERVER" || die "no RTMP port: $(tail -3 "$TMP/sluice.log")"
sleep 1

status_of() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SERVER/status"; }
nfds() { ls "/proc/$SERVER/fd" | wc -l; }
START_RSS=$(status_of VmRSS)
START_ANON=$(status_of RssAnon)
START_FDS=$(nfds)
START_THR=$(status_of Threads)

# The publishers.  Each runs in the background; its PID is in PIDS too,
# so the cleanup reaches one the cycle has not replaced yet.
publisher() {
    ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 \
        -i "$INPUT" -c copy -f flv "rtmp://127.0.0.1:$RTMP/live/soak" \
        >>"$TMP/publishers.log" 2>&1 &
    LASTPID=$!
    PIDS+=("$LASTPID")
}

# One player slot: a loop of short plays until it is told to stop.  The
# play is its own child so the TERM trap can end it at once.
player_slot() {
    local child= nap= secs url
    trap 'kill $child $nap 2>/dev/null; exit 0' TERM
    # pause SECS: a sleep the trap can end too
    pause() { sleep "$1" & nap=$!; wait $nap || true; nap=; }
    while :; do
        secs=$((1 + RANDOM % 6))
        case $((RANDOM % 10)) in
        0) url="rtmp://127.0.0.1:$RTMP/live/ghost$((RANDOM % 50))" ;;
        1 | 2 | 3) url="rtmp://127.0.0.1:$RTMP/live/soak" ;;
        4) url="rtmp://127.0.0.1:$RTMP/live/soak_240p" ;;
        5 | 6 | 7 | 8) url="http://127.0.0.1:$WEB/live/soak.flv" ;;
        *) url="http://127.0.0.1:$WEB/live/soak_240p.flv" ;;
        esac
        case $url in
        rtmp:*) rtmpdump -q -v -r "$url" -o /dev/null -m 10 -B "$secs" \
                    >/dev/null 2>&1 & ;;
        *) curl -s -o /dev/null -m "$secs" "$url" >/dev/null 2>&1 & ;;
        esac
        child=$!
        # A play that ends early (no stream yet) still takes its time.
        pause "$secs"
        kill "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
        child=
        pause "$((RANDOM % 2)).$((RANDOM % 10))"
    done
}

poller() {
    exec python3 - "$API" <<'EOF'
import sys, time, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
paths = ["/api/v1/server", "/api/v1/streams?players=1", "/metrics"]
n = 0
while True:
    for p in paths + (["/api/v1/history"] if n % 10 == 0 else []):
        try:
            urllib.request.urlopen(base + p, timeout=2).read()
        except Exception:
            pass
    n += 1
    time.sleep(0.5)
EOF
}

publisher
PRIMARY=$LASTPID
sleep 2
publisher
STANDBY=$LASTPID
for _ in $(seq 1 "$NPLAYERS"); do
    player_slot &
    PIDS+=("$!")
done
poller &
PIDS+=("$!")

# The cycles, the reloads and the samples, on one clock.
say "$MINUTES min, pid $SERVER, $NPLAYERS player slots, a publisher cycle every $CYCLE s"
say "before any client: RSS $START_RSS kB ($START_ANON kB anonymous), $START_THR threads, $START_FDS descriptors"
printf '%8s %10s %10s %8s %6s\n' "t_s" "rss_kb" "anon_kb" "threads" "fds"
: >"$TMP/samples"
start=$SECONDS
next_sample=10
next_cycle=$CYCLE
next_hup=30
ncycle=0
while :; do
    t=$((SECONDS - start))
    [ "$t" -le "$SECONDS_TOTAL" ] || break
    kill -0 "$SERVER" 2>/dev/null || die "the server died (log: $(tail -3 "$TMP/sluice.log"))"
    if [ "$t" -ge "$next_cycle" ]; then
        next_cycle=$((next_cycle + CYCLE))
        ncycle=$((ncycle + 1))
        if [ $((ncycle % 4)) -eq 0 ]; then
            # Both go: the stream is unpublished and its ladder ends.
            kill -9 "$PRIMARY" "$STANDBY" 2>/dev/null || true
            wait "$PRIMARY" "$STANDBY" 2>/dev/null || true
            sleep 3
            publisher
            PRIMARY=$LASTPID
            sleep 2
        else
            if [ $((ncycle % 2)) -eq 0 ]; then sig=TERM; else sig=KILL; fi
            kill -s $sig "$PRIMARY" 2>/dev/null || true
            wait "$PRIMARY" 2>/dev/null || true
            PRIMARY=$STANDBY
            sleep 1
        fi
        publisher
        STANDBY=$LASTPID
        # Only the live publishers stay in PIDS.
        alive=()
        for p in "${PIDS[@]}"; do
            kill -0 "$p" 2>/dev/null && alive+=("$p")
        done
        PIDS=("${alive[@]}")
    fi
    if [ "$t" -ge "$next_hup" ]; then
        next_hup=$((next_hup + 30))
        kill -HUP "$SERVER"
    fi
    if [ "$t" -ge "$next_sample" ]; then
        next_sample=$((next_sample + 10))
        rss=$(status_of VmRSS)
        anon=$(status_of RssAnon)
        thr=$(status_of Threads)
        fds=$(nfds)
        printf '%8d %10d %10d %8d %6d\n' "$t" "$rss" "$anon" "$thr" "$fds"
        echo "$t $rss $anon $thr $fds" >>"$TMP/samples"
    fi
    sleep 1
done

# Least squares over the samples from minute 5 (warm-up: the ring, the
# encoders' lookahead and the allocator's first arenas fill first).
slope() {
    awk -v col="$1" -v what="$2" '$1 >= 300 {
            n++; sx += $1; sy += $col; sxx += $1 * $1; sxy += $1 * $col }
        END {
            if (n < 2) { printf "%s slope from 300 s: too few samples\n", what; exit }
            b = (n * sxy - sx * sy) / (n * sxx - sx * sx)
            printf "%s slope from 300 s: %.2f MiB/h (%d samples)\n", what,
                   b * 3600 / 1024, n
        }' "$TMP/samples"
}
slope 2 RSS
slope 3 "RSS (anonymous)"
echo "publisher cycles: $ncycle"
echo "ERROR lines: $(grep -c ERROR "$TMP/sluice.log" || true)," \
    "WARN lines: $(grep -c WARN "$TMP/sluice.log" || true)"

# Idle: every client gone, 30 s for graces, reaps and timeouts.
for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
done
for p in "${PIDS[@]}"; do
    wait "$p" 2>/dev/null || true
done
PIDS=()
sleep 30
echo "idle after 30 s: RSS $(status_of VmRSS) kB ($(status_of RssAnon) kB" \
    "anonymous), $(status_of Threads) threads, $(nfds) descriptors" \
    "(before any client: $START_RSS kB ($START_ANON), $START_THR, $START_FDS)"
