#!/usr/bin/env bash
# The LL-HLS benchmark: N viewers of one variant served by Sluice from
# memory (blocking playlist reloads) against the same viewers served by
# nginx from the files Sluice writes (hls_path; polling, since a server
# of static files cannot hold a request), side by side in one run.
#
# One publisher (sluice-bench's RTMP publisher: 720p30 H.264 + AAC,
# about 2.5 Mbit/s, a keyframe every 1.5 s) publishes into Sluice pinned
# to CPU 0, with an app `hls = on`, `hls_path` a temporary folder and no
# ladder (one variant: the source).  sluice-bench runs on CPU 1.  Runs,
# each with a fresh server:
#   sluice-off  0 viewers, hls = off: what the publish costs alone
#   sluice-pkg  0 viewers, hls = on: the same plus the packager and the
#               file writer; the difference is the packager's cost per
#               variant (CPU, RSS)
#   sluice   N  N viewers of http://WEB/live/bench/media.m3u8 on
#               Sluice's web port, blocking reloads (-p Sluice)
#   nginx    N  the same Sluice, plus nginx-light (one process, pinned to
#               CPU 0 too) serving the hls_path folder as static files:
#               sendfile on, tcp_nopush on, keepalive_timeout 65,
#               keepalive_requests 1000000, access_log off; N viewers
#               polling it every part (-p nginx, --also-pid Sluice)
# For each N the Sluice and nginx runs follow each other; HLS_ROUNDS > 1
# runs the pairs again (Sluice, nginx, Sluice, nginx, ...).  The table
# gives each run's server CPU (user and sys apart), the parts and bytes
# delivered, the part delay, and the ratios Sluice / nginx: raw, and
# with Sluice's viewer-serving CPU only (its CPU with N viewers minus
# sluice-pkg's).
#
# Environment:
#   SLUICE=build/sluice  SLUICE_BENCH=build/sluice-bench  binaries
#   HLS_N="1000 100"   viewer counts
#   HLS_ROUNDS=2       Sluice/nginx pairs per N; rounds after the first
#                      run for the N in HLS_ROUNDS_N (default: all)
#   HLS_SECONDS=12  HLS_WARMUP=3   measured window and warm-up
#   HLS_PART=500ms     hls_part
#   HLS_CSV=FILE       also keep the raw result lines there
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SLUICE=${SLUICE:-build/sluice}
SLUICE_BENCH=${SLUICE_BENCH:-build/sluice-bench}
HLS_N=${HLS_N:-1000 100}
HLS_ROUNDS=${HLS_ROUNDS:-2}
HLS_ROUNDS_N=${HLS_ROUNDS_N:-$HLS_N}
HLS_SECONDS=${HLS_SECONDS:-12}
HLS_WARMUP=${HLS_WARMUP:-3}
HLS_PART=${HLS_PART:-500ms}
SERVER_CPU=0
GEN_CPU=1

BENCH_TAG=bench-hls
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

need_bins "$SLUICE" "$SLUICE_BENCH"
command -v ffmpeg >/dev/null || die "ffmpeg is needed to make the input"
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
command -v nginx >/dev/null || die "nginx not found (apt-get install nginx-light)"
[ "$(nproc)" -ge 2 ] || die "needs two CPUs: one for the servers, one for" \
    "the generator"

# Every viewer is a descriptor on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d /tmp/sluice-bench-hls.XXXXXX)
PIDS=()
cleanup() {
    stop_servers
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_servers() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    PIDS=()
}

# The input: 720p30 test pattern with a little temporal noise (so the
# encoder spends its bits) + tone; x264 at 2.4 Mbit/s, a keyframe every
# 45 frames (1.5 s), AAC 96k: about 2.5 Mbit/s in all.  Made once and
# kept under build/bench/.
mkdir -p build/bench
INPUT=build/bench/input-720p30-2m5-k45.flv
if [ ! -s "$INPUT" ]; then
    echo "bench-hls: making $INPUT (24 s, ffmpeg)" >&2
    ffmpeg -hide_banner -loglevel error -y \
        -f lavfi -i "testsrc2=size=1280x720:rate=30,noise=alls=8:allf=t" \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t 24 \
        -c:v libx264 -preset veryfast -b:v 2400k -maxrate 2400k \
        -bufsize 4800k -g 45 -keyint_min 45 -sc_threshold 0 \
        -pix_fmt yuv420p -c:a aac -b:a 96k -f flv "$INPUT.tmp" </dev/null
    mv "$INPUT.tmp" "$INPUT"
fi

# start_sluice DIR RTMP_PORT WEB_PORT HLS(on|off): Sluice with one app,
# live, packaged into DIR/hls when HLS is on.
start_sluice() {
    local dir=$1 port=$2 web=$3 hls=$4
    mkdir -p "$dir/hls"
    cat > "$dir/sluice.ini" <<EOF
[http]
listen = off
[web]
listen = 127.0.0.1:$web

[server]
listen = 127.0.0.1:$port
workers = 1
acceptors = 1
; every viewer comes from 127.0.0.1
max_connections_per_ip = 0
connection_rate_per_ip = 0
max_pending = 0
max_connections = 10000
log_level = warn

[app:live]
hls = $hls
hls_part = $HLS_PART
hls_path = $dir/hls
EOF
    [ "$hls" = on ] || sed -i '/^hls_/d' "$dir/sluice.ini"
    taskset -c "$SERVER_CPU" "$SLUICE" -n -c "$dir/sluice.ini" \
        >"$dir/log" 2>&1 &
    SLUICE_PID=$!
    PIDS+=("$SLUICE_PID")
}

# start_nginx DIR PORT ROOT: nginx-light serving ROOT.  One process (no
# master), so the process measured is the one that serves; its worker
# settings are the usual ones for static HLS.
start_nginx() {
    local dir=$1 port=$2 root=$3
    mkdir -p "$dir"
    cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 10000;
}
http {
    types {
        application/vnd.apple.mpegurl m3u8;
        video/iso.segment m4s;
        video/mp4 mp4;
    }
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    access_log off;
    server {
        listen 127.0.0.1:$port;
        root $root;
    }
}
EOF
    taskset -c "$SERVER_CPU" nginx -p "$dir" -c "$dir/nginx.conf" \
        -e "$dir/error.log" >"$dir/log" 2>&1 &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
}

RESULTS=$TMP/results.csv
: > "$RESULTS"
RUN=0

# run NAME N: one measurement (see the top), appended to $RESULTS as
# name,N,<sluice-bench --csv fields>.
run() {
    local name=$1 n=$2 dir port web nport try line target
    local args=()
    RUN=$((RUN + 1))
    dir=$TMP/run$RUN-$name-$n
    for try in 1 2 3; do
        port=$(free_port)
        web=$(free_port)
        while [ "$web" = "$port" ]; do web=$(free_port); done
        start_sluice "$dir" "$port" "$web" \
            "$([ "$name" = sluice-off ] && echo off || echo on)"
        if [ "$name" = nginx ]; then
            nport=$(free_port)
            while [ "$nport" = "$port" ] || [ "$nport" = "$web" ]; do
                nport=$(free_port)
            done
            start_nginx "$dir/nginx" "$nport" "$dir/hls"
        fi
        if wait_listen "$port" "$SLUICE_PID" &&
            wait_listen "$web" "$SLUICE_PID" &&
            { [ "$name" != nginx ] || wait_listen "$nport" "$NGINX_PID"; }; then
            break
        fi
        echo "bench-hls: $name did not start (try $try)" >&2
        tail -5 "$dir/log" >&2 || true
        stop_servers
        [ "$try" = 3 ] && return 1
    done
    case $name in
    nginx)
        target=http://127.0.0.1:$nport/live/bench/media.m3u8
        args=(-p "$NGINX_PID" --also-pid "$SLUICE_PID" --hls-poll)
        ;;
    *)
        target=http://127.0.0.1:$web/live/bench/media.m3u8
        args=(-p "$SLUICE_PID")
        ;;
    esac
    echo "bench-hls: $name N=$n ($target)" >&2
    # --settle 4: the playlist has parts before the viewers come.
    if line=$(taskset -c "$GEN_CPU" "$SLUICE_BENCH" \
            -u "rtmp://127.0.0.1:$port/live/bench" -i "$INPUT" -n "$n" \
            -d "$HLS_SECONDS" -w "$HLS_WARMUP" --settle 4 --drain 0.5 \
            --hls-url "$target" "${args[@]}" --csv); then
        echo "$name,$n,$line" >> "$RESULTS"
    else
        echo "bench-hls: sluice-bench failed against $name; logs:" >&2
        tail -10 "$dir/log" "$dir"/nginx/error.log 2>/dev/null >&2 || true
    fi
    if ! kill -0 "$SLUICE_PID" 2>/dev/null; then
        echo "bench-hls: Sluice died during the run; its log:" >&2
        tail -20 "$dir/log" >&2 || true
    elif grep -q ' ERROR' "$dir/log"; then
        echo "bench-hls: errors in Sluice's log:" >&2
        grep ' ERROR' "$dir/log" | head -5 >&2
    fi
    if [ "$name" = nginx ] && grep -q '\[error\]\|\[crit\]\|\[alert\]' \
            "$dir/nginx/error.log" 2>/dev/null; then
        echo "bench-hls: errors in nginx's log:" >&2
        grep '\[error\]\|\[crit\]\|\[alert\]' "$dir/nginx/error.log" |
            head -5 >&2
    fi
    stop_servers
    rm -rf "$dir/hls"
}

START=$(date +%s)
run sluice-off 0 || true
run sluice-pkg 0 || true
for n in $HLS_N; do
    run sluice "$n" || true
    run nginx "$n" || true
done
for ((r = 2; r <= HLS_ROUNDS; r++)); do
    for n in $HLS_ROUNDS_N; do
        run sluice "$n" || true
        run nginx "$n" || true
    done
done

if [ -n "${HLS_CSV:-}" ]; then
    cp "$RESULTS" "$HLS_CSV"
fi

echo
echo "LL-HLS: 1 publisher (~2.5 Mbit/s, 720p30, keyframe every 1.5 s," \
    "hls_part $HLS_PART), one variant;"
echo "servers on CPU $SERVER_CPU, generator on CPU $GEN_CPU;" \
    "${HLS_SECONDS}s window after ${HLS_WARMUP}s warm-up;" \
    "$(( $(date +%s) - START ))s in all"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo
# Fields of a result line: 1 name, 2 N, then sluice-bench's HLS --csv:
# 3 viewers, 4 playing, 5 failed, 6 dropped, 7 window, 8 mode, 9 parts,
# 10 parts/s, 11 part bytes/s, 12 wire bytes/s, 13 expected per viewer,
# 14 min, 15 avg, 16 max parts per viewer, 17 viewers without parts,
# 18 playlists/s, 19 reloads/s, 20 errors, 21 early reloads,
# 22 delay p50, 23 p99, 24 max ms, 25 srv cpu%, 26 user%, 27 sys%,
# 28 also cpu%, 29 rss base, 30 rss end, 31 gen cpu%, 32 saturated,
# 33 other% server core, 34 other% generator core.
awk -F, '
BEGIN {
    printf "%-10s %5s %6s %6s %6s %7s %8s %7s %13s %13s %9s %7s %6s  %s\n",
        "server", "N", "cpu %", "user %", "sys %", "parts/s", "MB/s",
        "+sluice", "parts/viewer", "delay p50/99", "rss KiB", "gen %",
        "noise", "flags"
}
{
    flags = ""
    if ($32 == 1) flags = flags " SATURATED"
    if ($5 + $6 > 0) flags = flags " lost:" $5 "+" $6
    if ($17 > 0) flags = flags " starved:" $17
    if ($20 > 0) flags = flags " errors:" $20
    noise = ($33 > $34 ? $33 : $34)
    if (noise > 10) flags = flags " NOISY"
    also = ($28 >= 0 ? sprintf("%.1f", $28) : "-")
    per = ($3 > 0 ? sprintf("%d/%.1f/%.0f", $14, $15, $13) : "-")
    dly = ($3 > 0 ? sprintf("%.0f/%.0f", $22, $23) : "-")
    printf "%-10s %5d %6.1f %6.1f %6.1f %7.1f %8.1f %7s %13s %13s %9d %7.1f %6.1f %s\n",
        $1, $3, $25, $26, $27, $10, $11 / 1e6, also, per, dly, $30, $31,
        noise, flags
}' "$RESULTS"
echo
echo "  cpu: the -p process (Sluice; nginx on nginx rows), % of one core;" \
    "+sluice: Sluice beside nginx (packaging, writing files)"
echo "  parts/viewer: min/avg/expected in the window; delay: ms from a" \
    "part's end on the playlist clock to its last byte"

echo
echo "The packager per variant (~2.5 Mbit/s), hls = on against off, 0 viewers:"
awk -F, '
$1 == "sluice-off" { off = $25; offr = $30; have++ }
$1 == "sluice-pkg" { on = $25; onr = $30; have++ }
END {
    if (have < 2) { print "  (a run is missing)"; exit }
    printf "  cpu %.1f%% (%.1f%% with hls, %.1f%% without); rss +%d KiB" \
        " (%d vs %d KiB)\n", on - off, on, off, onr - offr, onr, offr
}' "$RESULTS"

echo
echo "Ratios Sluice / nginx at the same N (mean of the rounds; below 1:" \
    "Sluice uses less):"
awk -F, -v order="$HLS_N" '
$1 == "sluice-pkg" { pkg = $25 }
$1 == "sluice" && $3 > 0 { s[$3] += $25; sn[$3]++; sp[$3] += $10 }
$1 == "nginx" && $3 > 0 { g[$3] += $25; gn[$3]++; ga[$3] += $28; gp[$3] += $10 }
function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
END {
    k = split(order, ns, " ")
    for (i = 1; i <= k; i++) {
        n = ns[i]
        if (!(n in s) || !(n in g)) continue
        sc = s[n] / sn[n]; gc = g[n] / gn[n]; ac = ga[n] / gn[n]
        printf "  N=%-5d raw %s (%.1f%% vs %.1f%%);" \
            " serving only %s (%.1f%% - %.1f%% = %.1f%% vs %.1f%%);" \
            " whole %s (%.1f%% vs nginx + Sluice %.1f%%);" \
            " parts/s %.0f vs %.0f; runs %d+%d\n",
            n, r(sc, gc), sc, gc, r(sc - pkg, gc), sc, pkg, sc - pkg, gc,
            r(sc, gc + ac), sc, gc + ac, sp[n] / sn[n], gp[n] / gn[n],
            sn[n], gn[n]
    }
}' "$RESULTS"
