#!/usr/bin/env bash
# LL-HLS latency as hls.js reports it: the player page (web/www/, hls.js
# 1.7.4 as the server embeds it) in headless Chromium, driven through the
# DevTools protocol by tests/integration/cdp.py, samples what hls.js says
# once a second.
#
# One Sluice (free loopback ports, a temporary folder) with two apps:
#   live  hls = on, hls_part = 500ms, keyframe_interval = 1s, a ladder of
#         two rungs (480x270 and 320x180, ultrafast)
#   fast  hls = on, hls_part = 200ms, no ladder
# and one ffmpeg publisher in real time (-re): testsrc2 640x360 25 fps
# with temporal noise, x264 ultrafast -tune zerolatency, a keyframe every
# second (25 frames), AAC; its tee muxer sends the same encode to
# live/cam and fast/cam.
#
# Cases, each a fresh browser profile on the real page:
#   source   /play/live/cam?engine=hls&quality=360  (the source, LL mode)
#   rung     /play/live/cam?engine=hls&quality=270  (a rung, LL mode)
#   part200  /play/fast/cam?engine=hls              (200 ms parts)
#   plain    /play/live/cam?engine=hls&quality=360&ll=0 (hls.js with
#            lowLatencyMode off: whole segments, no blocking reloads)
# run in rounds (source, rung, part200, plain, source, ...) so that the
# machine's mood spreads over all of them.  A run waits until the video
# plays, lets it settle for LAT_WARMUP s, then samples LAT_SAMPLES times,
# one second apart (the tables: bench/hls_latency_table.py, which also
# says how "arrival" takes the PROGRAM-DATE-TIME clock's error out):
#   latency  hls.latency: the live edge hls.js estimates (the newest
#            part's end plus the time since the playlist brought it)
#            minus the playhead
#   behind   the wall clock minus the EXT-X-PROGRAM-DATE-TIME of the
#            playhead; Sluice dates a frame by when it arrived, so this
#            also counts the cut, the transfer and, for a rung, the
#            ladder (the table turns it into "arrival", the clock's own
#            error taken out); the publisher's encoder delay is in none
#   segs     whole segments from the one playing to the newest complete
#            one listed (for plain: how many segments behind live)
#   edge     meanwhile, bench/hls_edge.py on the playlist being played:
#            a part's end on its PROGRAM-DATE-TIME clock against the
#            moment a blocking reload for it is answered
# and the table gives p50/p90 over all samples of a case, with each
# run's own line beside it.  noise: others' share of all CPUs during a
# run's samples (everything busy minus Sluice, ffmpeg and the browser).
#
# Environment:
#   SLUICE=build/sluice   CHROMIUM=chromium
#   LAT_RUNS=3            runs per case
#   LAT_CASES="source rung part200 plain"
#   LAT_WARMUP=8  LAT_SAMPLES=20   seconds after playing starts, samples
#   LAT_CSV=FILE          also keep the samples there (bench/
#                         hls_latency_table.py FILE prints the tables again)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SLUICE=${SLUICE:-build/sluice}
CHROMIUM=${CHROMIUM:-chromium}
LAT_RUNS=${LAT_RUNS:-3}
LAT_CASES=${LAT_CASES:-source rung part200 plain}
LAT_WARMUP=${LAT_WARMUP:-8}
LAT_SAMPLES=${LAT_SAMPLES:-20}
CDP=tests/integration/cdp.py

BENCH_TAG=bench-hls-latency
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

need_bins "$SLUICE"
for tool in ffmpeg curl python3 "$CHROMIUM"; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

TMP=$(mktemp -d /tmp/sluice-bench-hlslat.XXXXXX)
SLUICE_PID='' PUB_PID='' CDP_PID=''
cleanup() {
    stop_pid "$CDP_PID"
    stop_pid "$PUB_PID"
    stop_pid "$SLUICE_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the server and the publisher ----

RTMP=$(free_port)
WEB=$(free_port)
while [ "$WEB" = "$RTMP" ]; do WEB=$(free_port); done
cat > "$TMP/sluice.ini" <<EOF
[http]
listen = off
[web]
listen = 127.0.0.1:$WEB
[server]
listen = 127.0.0.1:$RTMP
log_level = warn

[app:live]
hls = on
hls_part = 500ms
keyframe_interval = 1s
renditions = r270, r180

[app:fast]
hls = on
hls_part = 200ms

[rendition:r270]
width = 480
height = 270
video_bitrate = 400k
preset = ultrafast

[rendition:r180]
width = 320
height = 180
video_bitrate = 150k
preset = ultrafast
EOF
"$SLUICE" -n -c "$TMP/sluice.ini" > "$TMP/sluice.log" 2>&1 &
SLUICE_PID=$!
if ! wait_listen "$RTMP" "$SLUICE_PID" || ! wait_listen "$WEB" "$SLUICE_PID"
then
    tail -5 "$TMP/sluice.log" >&2
    die "Sluice did not start"
fi

# Long enough for every run (each about warm-up + samples + 15 s).
PUB_S=$(( 60 + LAT_RUNS * $(echo "$LAT_CASES" | wc -w) *
          (LAT_WARMUP + LAT_SAMPLES * 2 + 40) ))
URL=rtmp://127.0.0.1:$RTMP
timeout -k 5 $((PUB_S + 10)) ffmpeg -hide_banner -loglevel error -nostdin \
    -re -f lavfi \
    -i "testsrc2=size=640x360:rate=25:duration=$PUB_S,noise=alls=12:allf=t" \
    -re -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=$PUB_S" \
    -map 0:v -map 1:a -c:v libx264 -preset ultrafast -tune zerolatency \
    -pix_fmt yuv420p -g 25 -keyint_min 25 -sc_threshold 0 \
    -b:v 1000k -maxrate 1000k -bufsize 1000k -c:a aac -b:a 64k \
    -flags +global_header -f tee \
    "[f=flv]$URL/live/cam|[f=flv]$URL/fast/cam" \
    > "$TMP/publisher.log" 2>&1 &
PUB_PID=$!

# The master playlists list the source and both rungs (live) or the
# source (fast) once every variant has a segment.
ready=0
for _ in $(seq 1 60); do
    kill -0 "$PUB_PID" 2>/dev/null || break
    a=$(curl -s -m 2 "http://127.0.0.1:$WEB/live/cam.m3u8" |
        grep -c '^#EXT-X-STREAM-INF' || true)
    b=$(curl -s -m 2 "http://127.0.0.1:$WEB/fast/cam.m3u8" |
        grep -c '^#EXT-X-STREAM-INF' || true)
    if [ "$a" = 3 ] && [ "$b" = 1 ]; then ready=1; break; fi
    sleep 0.5
done
[ "$ready" = 1 ] || {
    tail -5 "$TMP/publisher.log" "$TMP/sluice.log" >&2
    die "the playlists did not come up"
}
say "Sluice $SLUICE_PID on rtmp $RTMP, web $WEB; publisher $PUB_PID"

# ---- CPU accounting for the noise column ----

# Ticks (user + system) of PID and every process below it.
tree_ticks() {
    local pid=$1 t kid kids
    t=$(proc_ticks "$pid" 2>/dev/null | awk '{print $1 + $2}')
    t=${t:-0}
    kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
    for kid in $kids; do
        t=$((t + $(tree_ticks "$kid")))
    done
    echo "$t"
}

# All CPUs' busy ticks (user, nice, system, steal), as lib.sh's cpu_busy.
all_busy() {
    awk '$1 == "cpu" {print $2 + $3 + $4 + $9}' /proc/stat
}

# "busy ours uptime_centiseconds", one snapshot.
snapshot() {
    local ours
    ours=$(( $(tree_ticks "$SLUICE_PID") + $(tree_ticks "$PUB_PID") +
             $(tree_ticks "$CDP_PID") ))
    echo "$(all_busy) $ours $(awk '{printf "%d", $1 * 100}' /proc/uptime)"
}

# ---- one browser run ----

# One sample, from hls.js itself (the page keeps it on window.sluiceHls):
# [hls.latency, wall clock minus the playhead's PROGRAM-DATE-TIME,
# target latency, playback rate, mean segment duration, segments from
# the one playing to the newest complete one listed, width, height].
SAMPLE=$(cat <<'EOF'
(() => {
  const h = window.sluiceHls, v = document.getElementById('video');
  const d = h.latestLevelDetails, f = d.fragments, t = v.currentTime;
  const at = f.find(x => x.start <= t && t < x.start + x.duration);
  return JSON.stringify([h.latency,
    h.playingDate ? (Date.now() - h.playingDate.getTime()) / 1000 : null,
    h.targetLatency, v.playbackRate, d.totalduration / f.length,
    at ? f[f.length - 1].sn - at.sn : null, v.videoWidth, v.videoHeight]);
})()
EOF
)

SAMPLES=$TMP/samples.csv
COLUMNS_=case,run,i,latency,behind,target,rate,segment,segs,width,height
echo "$COLUMNS_,noise,edge" > "$SAMPLES"

# run_case CASE RUN: one browser run; its samples appended to $SAMPLES.
run_case() {
    local name=$1 run=$2 url media playing steps=() out log i n a b noise
    local edge_pid=''
    case $name in
    source) url="live/cam?engine=hls&quality=360" media=live/cam
            playing="sluicePlayer.height === 360" ;;
    rung) url="live/cam?engine=hls&quality=270" media=live/cam_r270
          playing="sluicePlayer.height === 270" ;;
    part200) url="fast/cam?engine=hls" media=fast/cam
             playing="sluicePlayer.height === 360" ;;
    plain) url="live/cam?engine=hls&quality=360&ll=0" media=live/cam
           playing="sluicePlayer.height === 360" ;;
    *) die "unknown case $name" ;;
    esac
    steps=(open "http://127.0.0.1:$WEB/play/$url"
           wait "sluicePlayer.engine === 'hls' && sluicePlayer.currentTime > 0
                 && $playing && sluicePlayer.latency > 0" 30
           sleep "$LAT_WARMUP")
    for ((i = 0; i < LAT_SAMPLES; i++)); do
        steps+=(eval "$SAMPLE" sleep 1)
    done
    out=$TMP/$name-$run.jsonl
    log=$TMP/$name-$run.log
    rm -rf "$TMP/profile"
    timeout -k 5 $((LAT_WARMUP + LAT_SAMPLES * 2 + 70)) \
        python3 "$CDP" --chromium "$CHROMIUM" --profile "$TMP/profile" \
        --timeout $((LAT_WARMUP + LAT_SAMPLES * 2 + 60)) --log "$log" \
        "${steps[@]}" > "$out" 2> "$out.err" &
    CDP_PID=$!
    # Snapshots at the first and the last sample, while the browser lives.
    a='' b=''
    while kill -0 "$CDP_PID" 2>/dev/null; do
        n=$(grep -c '"step": "eval"' "$out" 2>/dev/null || true)
        if [ -z "$a" ] && [ "${n:-0}" -ge 1 ]; then
            a=$(snapshot)
            # The edge of the playlist this run plays, meanwhile.
            timeout -k 2 $((LAT_SAMPLES * 5 + 5)) python3 bench/hls_edge.py \
                "http://127.0.0.1:$WEB/$media/media.m3u8" "$LAT_SAMPLES" \
                > "$TMP/$name-$run.edge" 2>&1 &
            edge_pid=$!
        fi
        if [ -z "$b" ] && [ "${n:-0}" -ge "$LAT_SAMPLES" ]; then
            b=$(snapshot)
        fi
        sleep 0.2
    done
    wait "$CDP_PID" 2>/dev/null || true
    CDP_PID=
    stop_pid "$edge_pid"
    noise=-1
    if [ -n "$a" ] && [ -n "$b" ]; then
        noise=$(echo "$a $b $(nproc) $(getconf CLK_TCK)" | awk '{
            dt = ($6 - $3) / 100 * $8 * $7
            others = ($4 - $1) - ($5 - $2)
            if (others < 0) others = 0
            printf "%.0f", (dt > 0 ? others / dt * 100 : -1)
        }')
    fi
    if ! grep -q '"done": true' "$out"; then
        say "$name run $run did not finish: $(tail -1 "$out")"
        grep -v '^\[page' "$log" | tail -3 >&2 || true
    fi
    python3 - "$out" "$name" "$run" "$noise" "$TMP/$name-$run.edge" \
        >> "$SAMPLES" <<'EOF'
import json, statistics, sys
path, name, run, noise, edge_file = sys.argv[1:]
try:
    edge = [float(x) for x in open(edge_file).read().split()]
except (OSError, ValueError):
    edge = []
edge = f"{statistics.median(edge):.0f}" if edge else ""
i = 0
for line in open(path):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("step") != "eval" or not j.get("ok"):
        continue
    v = json.loads(j["value"])
    print(",".join([name, run, str(i)] +
                   ["" if x is None else str(x) for x in v] +
                   [noise, edge]))
    i += 1
EOF
    say "$name run $run: $(awk -F, -v c="$name" -v r="$run" \
        '$1 == c && $2 == r {n++} END {print n + 0}' "$SAMPLES") samples," \
        "noise $noise %"
}

START=$(date +%s)
for ((r = 1; r <= LAT_RUNS; r++)); do
    for c in $LAT_CASES; do
        run_case "$c" "$r"
    done
done
kill -0 "$SLUICE_PID" 2>/dev/null || say "Sluice died during the bench"
if grep -q ' ERROR' "$TMP/sluice.log"; then
    say "errors in Sluice's log:"
    grep ' ERROR' "$TMP/sluice.log" | head -5 >&2
fi
[ -z "${LAT_CSV:-}" ] || cp "$SAMPLES" "$LAT_CSV"

echo
echo "LL-HLS latency as hls.js 1.7.4 reports it, headless Chromium on the" \
    "player page;"
echo "640x360 25 fps source, keyframe every 1 s, rungs 480x270 and" \
    "320x180; ${LAT_WARMUP} s warm-up, $LAT_SAMPLES samples 1 s apart" \
    "per run;" \
    "$(( $(date +%s) - START )) s in all"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo
python3 bench/hls_latency_table.py "$SAMPLES" "$LAT_CASES"
