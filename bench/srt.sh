#!/usr/bin/env bash
# The SRT benchmark (issue 14), two parts:
#
# ingest   What receiving one ~2.5 Mbit/s SRT stream costs Sluice against
#          what it costs libsrt's own srt-live-transmit receiving the same
#          stream into a UDP sink, side by side.  The receiver is pinned
#          to CPU 0 and started fresh for each run: Sluice with
#          srt_listen (and its HTTP API, to check that the stream is
#          there and its bytes_in grows), or `srt-live-transmit
#          srt://127.0.0.1:PORT?mode=listener udp://127.0.0.1:SINK`
#          with a small Python reader on CPU 1 that drops and counts
#          what reaches the sink.  The sender is the same for both, on
#          CPU 1: `ffmpeg -re -stream_loop -1 -i CLIP -c copy -f mpegts
#          'srt://...?streamid=#!::r=live/bench,m=publish&pkt_size=1316'`.
#          After a warm-up the receiver's CPU (utime and stime of all
#          its threads, /proc/PID/stat) is read over a fixed window.
#          The two receivers alternate, SRT_ROUNDS rounds.  The clip is
#          made once: 720p30 test pattern with light temporal noise,
#          x264 at 2.3 Mbit/s (maxrate 2.3M, bufsize 1.15M), a keyframe
#          every 2 s, AAC 128k, 24 s, MPEG-TS: about 2.5 Mbit/s.
# players  What SRT players cost Sluice per player, beside RTMP players
#          of the same stream.  One Sluice (CPU 0) per run, with an RTMP
#          and an SRT port; one RTMP publisher (sluice-bench, CPU 1) of
#          the same clip remuxed to FLV.  Runs per round: `pub` (the
#          publisher alone: sluice-bench -n 0), `rtmp` (sluice-bench
#          with SRT_N RTMP players) and `srt` (sluice-bench -n 0
#          publishing, and sluice-bench --srt-players SRT_N players of
#          the stream over SRT, both on CPU 1).  Each measures the
#          server over its window (bench/measure.c): CPU user and sys,
#          RSS before the players join (the publisher live and settled)
#          and at the end.  Per player: CPU % / N (raw, and net of the
#          `pub` runs' mean) and (RSS end - RSS before) / N in KiB.
#
# Environment:
#   SLUICE=build/sluice  SLUICE_BENCH=build/sluice-bench  binaries
#   SRT_PARTS="ingest players"   which parts to run
#   SRT_ROUNDS=3  SRT_SECONDS=15  SRT_WARMUP=5   ingest: rounds, window,
#                                                warm-up
#   SRT_N=100  SRT_PLAY_ROUNDS=2  SRT_PLAY_SECONDS=12  SRT_PLAY_WARMUP=3
#                                                players: count, rounds,
#                                                window, warm-up
#   SRT_PERF=0     1: after the rounds, one more run of each receiver
#                  and one more `srt` players run with the server under
#                  `perf record -g` (not in the tables: perf's sampling
#                  costs the process it watches), and the top of each
#                  profile by thread, shared object and symbol
#   SRT_CSV=FILE   also keep the raw result lines there
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SLUICE=${SLUICE:-build/sluice}
SLUICE_BENCH=${SLUICE_BENCH:-build/sluice-bench}
SRT_PARTS=${SRT_PARTS:-ingest players}
SRT_ROUNDS=${SRT_ROUNDS:-3}
SRT_SECONDS=${SRT_SECONDS:-15}
SRT_WARMUP=${SRT_WARMUP:-5}
SRT_N=${SRT_N:-100}
SRT_PLAY_ROUNDS=${SRT_PLAY_ROUNDS:-2}
SRT_PLAY_SECONDS=${SRT_PLAY_SECONDS:-12}
SRT_PLAY_WARMUP=${SRT_PLAY_WARMUP:-3}
SRT_PERF=${SRT_PERF:-0}
SERVER_CPU=0
GEN_CPU=1
STREAMID_PUB='#!::r=live/bench,m=publish'
STREAMID_PLAY='#!::r=live/bench,m=request'

BENCH_TAG=bench-srt
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

need_bins "$SLUICE" "$SLUICE_BENCH"
for tool in ffmpeg taskset python3 srt-live-transmit; do
    command -v "$tool" >/dev/null || die "$tool not found (make deps-bench" \
        "deps-test installs it)"
done
if [ "$SRT_PERF" = 1 ]; then
    command -v perf >/dev/null || die "perf not found (SRT_PERF=1)"
fi
[ "$(nproc)" -ge 2 ] || die "needs two CPUs: one for the receiver, one for" \
    "the sender"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d /tmp/sluice-bench-srt.XXXXXX)
PIDS=()
cleanup() {
    stop_all
    rm -rf "$TMP"
}
stop_all() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        stop_pid "$pid"
    done
    PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every process we start is bounded by timeout: a run cannot outlive
# its warm-up and window by much, so LIMIT covers the longest run.
LIMIT=$((SRT_SECONDS + SRT_WARMUP + SRT_PLAY_SECONDS + SRT_PLAY_WARMUP + 120))
TCK=$(getconf CLK_TCK)
START=$(date +%s)

# The clip, made once and kept under build/bench/: MPEG-TS for the SRT
# sender, the same media remuxed to FLV for sluice-bench's publisher.
mkdir -p build/bench
CLIP=build/bench/input-720p30-2m5-k60.ts
CLIP_FLV=${CLIP%.ts}.flv
if [ ! -s "$CLIP" ]; then
    say "making $CLIP (24 s, ffmpeg)"
    ffmpeg -hide_banner -loglevel error -y \
        -f lavfi -i "testsrc2=size=1280x720:rate=30,noise=alls=8:allf=t" \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t 24 \
        -c:v libx264 -preset veryfast -b:v 2300k -maxrate 2300k \
        -bufsize 1150k -g 60 -keyint_min 60 -sc_threshold 0 \
        -pix_fmt yuv420p -c:a aac -b:a 128k -f mpegts "$CLIP.tmp" \
        </dev/null
    mv "$CLIP.tmp" "$CLIP"
fi
if [ ! -s "$CLIP_FLV" ] || [ "$CLIP_FLV" -ot "$CLIP" ]; then
    ffmpeg -hide_banner -loglevel error -y -i "$CLIP" -c copy \
        -bsf:a aac_adtstoasc -f flv "$CLIP_FLV.tmp" </dev/null
    mv "$CLIP_FLV.tmp" "$CLIP_FLV"
fi
CLIP_KBPS=$(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 \
    "$CLIP" | awk '{printf "%.0f", $1 / 1000}')

RESULTS=$TMP/results.csv
: > "$RESULTS"
CMDS=$TMP/commands.txt
: > "$CMDS"

# A command line as it can be pasted into a shell: arguments with
# characters a shell would read are single-quoted.
show_cmd() {
    local a out=
    for a in "$@"; do
        case $a in
        *[!A-Za-z0-9_./:=,+@%-]*) out+=" '$a'" ;;
        *) out+=" $a" ;;
        esac
    done
    echo "${out# }"
}

# Three distinct free ports (TCP and UDP both free).
three_ports() {
    local a b c
    a=$(free_port)
    b=$(free_port)
    while [ "$b" = "$a" ]; do b=$(free_port); done
    c=$(free_port)
    while [ "$c" = "$a" ] || [ "$c" = "$b" ]; do c=$(free_port); done
    echo "$a $b $c"
}

# sluice_ini DIR RTMP SRT API: one app, live; per-address limits off
# (every player comes from 127.0.0.1).
sluice_ini() {
    cat > "$1/sluice.ini" <<EOF
[http]
listen = 127.0.0.1:$4
[web]
listen = off

[server]
listen = 127.0.0.1:$2
srt_listen = 127.0.0.1:$3
workers = 1
acceptors = 1
max_pending_per_ip = 0
connection_rate_per_ip = 0
max_pending = 0
max_connections = 10000
log_level = warn

[app:live]
EOF
}

# start_sluice DIR RTMP SRT API: sets SLUICE_PID (the server itself) and
# adds the timeout's pid to PIDS.
start_sluice() {
    local dir=$1 t
    mkdir -p "$dir"
    sluice_ini "$@"
    timeout "$LIMIT" taskset -c "$SERVER_CPU" "$SLUICE" -n \
        -c "$dir/sluice.ini" >"$dir/log" 2>&1 &
    t=$!
    PIDS+=("$t")
    SLUICE_PID=$(child_of "$t") || return 1
    wait_listen "$4" "$t" && wait_udp "$3" "$t"
}

# bytes_in API: the stream's payload bytes so far (empty when it is not
# published).
bytes_in() {
    curl -s --max-time 2 "http://127.0.0.1:$1/api/v1/streams" 2>/dev/null |
        grep -o '"bytes_in":[0-9]*' | head -1 | cut -d: -f2 || true
}

# wait_stream API: until live/bench is published (10 s at most).
wait_stream() {
    for _ in $(seq 1 100); do
        [ -n "$(bytes_in "$1")" ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- profiles (SRT_PERF=1) -----------------------------------------------

# perf_start NAME PID DELAY SECONDS: in the background, after DELAY
# seconds, `perf record -g` of PID (all its threads) for SECONDS, pinned
# to the sender's CPU; PERF_BG is its pid.
perf_start() {
    local dir=$TMP/perf-$1
    mkdir -p "$dir"
    say "perf record -g -p $2 ($1) for ${4}s"
    (
        sleep "$3"
        timeout $(($4 + 30)) taskset -c "$GEN_CPU" perf record -q -g \
            -p "$2" -o "$dir/perf.data" -- sleep "$4" >"$dir/log" 2>&1
    ) &
    PERF_BG=$!
    PIDS+=("$PERF_BG")
}

# perf_finish NAME: waits for the recording, then keeps the top of its
# report in $TMP/perf-NAME.txt (the columns perf leaves empty cut off):
# by thread, by thread and shared object, by shared object, by symbol.
perf_finish() {
    local dir=$TMP/perf-$1
    wait "$PERF_BG" 2>/dev/null || true
    {
        echo "by thread:"
        perf report --stdio --no-children -g none --sort comm \
            -i "$dir/perf.data" 2>/dev/null | grep -v '^#' | grep -v '^$' |
            head -10
        echo "by thread and shared object:"
        perf report --stdio --no-children -g none --sort comm,dso \
            -i "$dir/perf.data" 2>/dev/null | grep -v '^#' | grep -v '^$' |
            head -14
        echo "by shared object:"
        perf report --stdio --no-children -g none --sort dso \
            -i "$dir/perf.data" 2>/dev/null | grep -v '^#' | grep -v '^$' |
            head -12
        echo "by symbol:"
        perf report --stdio --no-children -g none --sort dso,symbol \
            -i "$dir/perf.data" 2>/dev/null | grep -v '^#' | grep -v '^$' |
            head -40
    } | sed 's/[ -]*$//' > "$TMP/perf-$1.txt" || true
}

# ---- part 1: ingest ------------------------------------------------------

# The UDP sink of srt-live-transmit: reads and drops, and writes its byte
# count to FILE four times a second.
SINK_PY='
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.5)
n, last = 0, 0.0
while True:
    try:
        n += len(s.recv(65536))
    except socket.timeout:
        pass
    now = time.monotonic()
    if now - last >= 0.25:
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write(str(n))
        os.replace(sys.argv[2] + ".tmp", sys.argv[2])
        last = now
'

# ingest NAME ROUND [perf]: one window of one receiver; appends
# "ingest,NAME,ROUND,utime,stime,window_s,bytes,others,run_ns" to
# RESULTS, bytes being Sluice's payload bytes_in or the sink's bytes
# over the window, others the ticks CPU 0 spent on other processes,
# run_ns the receiver's threads' run time from schedstat.
ingest() {
    local name=$1 round=$2 prof=${3:-} dir port api sink t pid sender
    local t0 t1 b0 b1 c0 c1 w0 w1 n0 n1
    dir=$TMP/ingest-$name-$round${prof:+-perf}
    mkdir -p "$dir"
    read -r port api sink <<<"$(three_ports)"
    case $name in
    sluice)
        start_sluice "$dir" "$sink" "$port" "$api" || {
            say "sluice did not start; its log:"
            tail -5 "$dir/log" >&2
            stop_all
            return 1
        }
        pid=$SLUICE_PID
        ;;
    slt)
        timeout "$LIMIT" taskset -c "$GEN_CPU" python3 -c "$SINK_PY" \
            "$sink" "$dir/sink" >"$dir/sink.log" 2>&1 &
        PIDS+=("$!")
        timeout "$LIMIT" taskset -c "$SERVER_CPU" srt-live-transmit -q \
            "srt://127.0.0.1:$port?mode=listener" "udp://127.0.0.1:$sink" \
            >"$dir/log" 2>&1 &
        t=$!
        PIDS+=("$t")
        if ! pid=$(child_of "$t") || ! wait_udp "$port" "$t"; then
            say "srt-live-transmit did not start; its log:"
            tail -5 "$dir/log" >&2
            stop_all
            return 1
        fi
        ;;
    esac
    sender=(ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1
        -i "$CLIP" -c copy -f mpegts
        "srt://127.0.0.1:$port?streamid=$STREAMID_PUB&pkt_size=1316")
    if [ "$round" = 1 ] && [ -z "$prof" ]; then
        {
            echo "# ingest, $name (CPU $SERVER_CPU):"
            if [ "$name" = sluice ]; then
                echo "taskset -c $SERVER_CPU $SLUICE -n -c sluice.ini" \
                    " # srt_listen = 127.0.0.1:$port"
            else
                show_cmd taskset -c "$SERVER_CPU" srt-live-transmit -q \
                    "srt://127.0.0.1:$port?mode=listener" \
                    "udp://127.0.0.1:$sink"
                echo "taskset -c $GEN_CPU python3 -c \"\$SINK_PY\" $sink" \
                    "FILE  # the UDP sink (bench/srt.sh)"
            fi
            echo "# the sender (CPU $GEN_CPU):"
            show_cmd taskset -c "$GEN_CPU" "${sender[@]}"
        } >> "$CMDS"
    fi
    timeout "$LIMIT" taskset -c "$GEN_CPU" "${sender[@]}" \
        >"$dir/sender.log" 2>&1 &
    PIDS+=("$!")
    sleep "$SRT_WARMUP"
    if [ -n "$prof" ]; then
        perf_start "ingest-$name" "$pid" 0 "$SRT_SECONDS"
        perf_finish "ingest-$name"
        stop_all
        return 0
    fi
    if [ "$name" = sluice ]; then
        b0=$(bytes_in "$api")
    else
        b0=$(cat "$dir/sink" 2>/dev/null || echo 0)
    fi
    w0=$(date +%s.%N)
    t0=$(proc_ticks "$pid")
    n0=$(proc_run_ns "$pid")
    c0=$(cpu_busy "$SERVER_CPU")
    sleep "$SRT_SECONDS"
    t1=$(proc_ticks "$pid")
    n1=$(proc_run_ns "$pid")
    c1=$(cpu_busy "$SERVER_CPU")
    w1=$(date +%s.%N)
    if [ "$name" = sluice ]; then
        b1=$(bytes_in "$api")
    else
        sleep 0.3 # the sink writes its count every 0.25 s
        b1=$(cat "$dir/sink" 2>/dev/null || echo 0)
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        say "$name died during the window; its log:"
        tail -5 "$dir/log" >&2
    elif [ "$name" = sluice ] && grep -q ' ERROR' "$dir/log"; then
        say "errors in Sluice's log:"
        grep ' ERROR' "$dir/log" | head -5 >&2
    fi
    stop_all
    echo "$t0 $t1 $w0 $w1 ${b0:-0} ${b1:-0} $c0 $c1 $n0 $n1" | awk \
        -v n="$name" -v r="$round" '{
        printf "ingest,%s,%s,%d,%d,%.3f,%d,%d,%.0f\n", n, r, $3 - $1,
            $4 - $2, $6 - $5, $8 - $7, ($10 - $9) - ($3 - $1) - ($4 - $2),
            $12 - $11
    }' >> "$RESULTS"
}

# ---- part 2: players -----------------------------------------------------

# players KIND ROUND [perf]: KIND pub, rtmp or srt (see the top); appends
# "players,KIND,ROUND,N,playing,failed,dropped,min%,avg%,cpu,user,sys,
# rss_base,rss_end,gen_cpu,other_server,other_gen,extra" to RESULTS,
# extra being the SRT players' Mbit/s and TS/libsrt losses.
players() {
    local kind=$1 round=$2 prof=${3:-} dir port srt api line n
    local -a common cmd pub
    dir=$TMP/players-$kind-$round${prof:+-perf}
    read -r port srt api <<<"$(three_ports)"
    start_sluice "$dir" "$port" "$srt" "$api" || {
        say "sluice did not start; its log:"
        tail -5 "$dir/log" >&2
        stop_all
        return 1
    }
    n=$([ "$kind" = pub ] && echo 0 || echo "$SRT_N")
    common=(-u "rtmp://127.0.0.1:$port/live/bench" -i "$CLIP_FLV")
    case $kind in
    pub | rtmp)
        cmd=(taskset -c "$GEN_CPU" "$SLUICE_BENCH" "${common[@]}" -n "$n"
            -d "$SRT_PLAY_SECONDS" -w "$SRT_PLAY_WARMUP" --settle 3
            --drain 1 -p "$SLUICE_PID" --csv)
        if [ "$round" = 1 ]; then
            echo "# players, $kind:"
            show_cmd "${cmd[@]}"
        fi >> "$CMDS"
        line=$(timeout "$LIMIT" "${cmd[@]}" 2>"$dir/bench.err") || line=
        ;;
    srt)
        pub=(taskset -c "$GEN_CPU" "$SLUICE_BENCH" "${common[@]}" -n 0
            -d "$LIMIT" -w 0)
        timeout "$LIMIT" "${pub[@]}" >/dev/null 2>"$dir/pub.err" &
        PIDS+=("$!")
        if ! wait_stream "$api"; then
            say "the publisher is not live; its errors:"
            tail -5 "$dir/pub.err" >&2
            stop_all
            return 1
        fi
        # What sluice-bench's --settle 3 gives the RTMP runs: the GOP
        # cache full before the RSS baseline.
        sleep 3
        cmd=(taskset -c "$GEN_CPU" "$SLUICE_BENCH" --srt-players "$n"
            --srt-url "srt://127.0.0.1:$srt?streamid=$STREAMID_PLAY"
            -d "$SRT_PLAY_SECONDS" -w "$SRT_PLAY_WARMUP" -p "$SLUICE_PID"
            --csv)
        if [ "$round" = 1 ] && [ -z "$prof" ]; then
            echo "# players, $kind: the publisher, then the players"
            echo "$(show_cmd "${pub[@]}") &"
            show_cmd "${cmd[@]}"
        fi >> "$CMDS"
        # The profile covers the window: it starts once the players
        # have connected (about a second) and warmed up.
        if [ -n "$prof" ]; then
            perf_start "players-$kind" "$SLUICE_PID" \
                $((SRT_PLAY_WARMUP + 2)) $((SRT_PLAY_SECONDS - 2))
        fi
        line=$(timeout "$LIMIT" "${cmd[@]}" 2>"$dir/bench.err") || line=
        if [ -n "$prof" ]; then
            perf_finish "players-$kind"
            stop_all
            return 0
        fi
        ;;
    esac
    if [ -z "$line" ]; then
        say "$kind run failed; its errors:"
        tail -5 "$dir/bench.err" "$dir/log" >&2 || true
    elif ! kill -0 "$SLUICE_PID" 2>/dev/null; then
        say "Sluice died during the $kind run; its log:"
        tail -10 "$dir/log" >&2
        line=
    elif grep -q ' ERROR' "$dir/log"; then
        say "errors in Sluice's log:"
        grep ' ERROR' "$dir/log" | head -5 >&2
    fi
    stop_all
    [ -n "$line" ] || return 1
    # Both result lines to one shape (bench/measure.c print_csv and
    # bench/srtplay.c report give their fields).
    echo "$line" | awk -F, -v k="$kind" -v r="$round" '
    k == "srt" {
        printf "players,%s,%s,%d,%d,%d,%d,%.2f,%.2f,%.2f,%.2f,%.2f,%d,%d," \
            "%.1f,%.1f,%.1f,%.3f/%d/%d/%d\n", k, r, $1, $2, $3, $4, $7, $8,
            $15, $16, $17, $18, $19, $21, $23, $24, $11, $12, $13, $14
        next
    }
    {
        printf "players,%s,%s,%d,%d,%d,%d,%.2f,%.2f,%.2f,%.2f,%.2f,%d,%d," \
            "%.1f,%.1f,%.1f,-\n", k, r, $1, $2, $3, $4, $6, $7, $14, $25,
            $26, $15, $16, $18, $23, $24
    }' >> "$RESULTS"
}

for part in $SRT_PARTS; do
    case $part in
    ingest)
        for ((r = 1; r <= SRT_ROUNDS; r++)); do
            say "ingest round $r of $SRT_ROUNDS"
            ingest sluice "$r" || true
            ingest slt "$r" || true
        done
        if [ "$SRT_PERF" = 1 ]; then
            ingest sluice 0 perf || true
            ingest slt 0 perf || true
        fi
        ;;
    players)
        for ((r = 1; r <= SRT_PLAY_ROUNDS; r++)); do
            say "players round $r of $SRT_PLAY_ROUNDS"
            players pub "$r" || true
            players rtmp "$r" || true
            players srt "$r" || true
        done
        if [ "$SRT_PERF" = 1 ]; then
            players srt 0 perf || true
        fi
        ;;
    *) die "unknown part $part (ingest, players)" ;;
    esac
done

if [ -n "${SRT_CSV:-}" ]; then
    cp "$RESULTS" "$SRT_CSV"
fi

echo
echo "SRT: ${CLIP_KBPS} kbit/s MPEG-TS clip ($CLIP, 720p30 H.264 + AAC);" \
    "receiver/server on CPU $SERVER_CPU, sender/players on CPU $GEN_CPU;" \
    "$(( $(date +%s) - START ))s in all"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)," \
    "loopback; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "The commands (ports and pids vary per run):"
sed 's/^/  /' "$CMDS"

if grep -q '^ingest,' "$RESULTS"; then
    echo
    echo "Ingest of one SRT stream: receiver CPU over ${SRT_SECONDS}s after" \
        "${SRT_WARMUP}s warm-up (% of one core; noise: others' share of" \
        "CPU $SERVER_CPU)"
    awk -F, -v tck="$TCK" '
    function p(t, w) { return w > 0 ? 100 * t / tck / w : 0 }
    function q(ns, w) { return w > 0 ? 100 * ns / 1e9 / w : 0 }
    function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
    BEGIN {
        printf "  %-18s %5s %7s %7s %8s %7s %10s %7s\n", "receiver",
            "round", "user %", "sys %", "total %", "run %", "Mbit/s in",
            "noise %"
    }
    $1 == "ingest" {
        name = ($2 == "slt" ? "srt-live-transmit" : "sluice")
        o = p($8, $6)
        printf "  %-18s %5s %7.2f %7.2f %8.2f %7.2f %10.2f %7.1f%s\n",
            name, $3, p($4, $6), p($5, $6), p($4 + $5, $6), q($9, $6),
            8 * $7 / $6 / 1e6, (o < 0 ? 0 : o),
            ($7 <= 0 ? "  NO BYTES: idle?" : "")
        u[$2] += $4; s[$2] += $5; w[$2] += $6; ns[$2] += $9; n[$2]++
        rt[$2, $3] = p($4 + $5, $6); rq[$2, $3] = q($9, $6)
        if ($3 > last) last = $3
    }
    END {
        if (n["sluice"] == 0 || n["slt"] == 0) {
            print "  (a receiver has no run)"
            exit
        }
        for (i = 1; i <= 2; i++) {
            k = (i == 1 ? "sluice" : "slt")
            name = (k == "slt" ? "srt-live-transmit" : "sluice")
            printf "  %-18s %5s %7.2f %7.2f %8.2f %7.2f\n", name, "all",
                p(u[k], w[k]), p(s[k], w[k]), p(u[k] + s[k], w[k]),
                q(ns[k], w[k])
        }
        line = ""
        for (i = 1; i <= last; i++)
            if (("sluice", i) in rt && ("slt", i) in rt)
                line = line sprintf(" %s/%s", r(rt["sluice", i],
                    rt["slt", i]), r(rq["sluice", i], rq["slt", i]))
        print "  Sluice / srt-live-transmit by round (total/run):" line
        a = p(u["sluice"] + s["sluice"], w["sluice"])
        b = p(u["slt"] + s["slt"], w["slt"])
        qa = q(ns["sluice"], w["sluice"]); qb = q(ns["slt"], w["slt"])
        printf "  Sluice / srt-live-transmit, all rounds: %s by total" \
            " (%.2f%% vs %.2f%%), %s by run time (%.2f%% vs %.2f%%);" \
            " target <= 1.20: %s by total, %s by run time\n", r(a, b), a,
            b, r(qa, qb), qa, qb, (b > 0 && a <= 1.2 * b) ? "MET" : "MISSED",
            (qb > 0 && qa <= 1.2 * qb) ? "MET" : "MISSED"
    }' "$RESULTS"
    echo "  (total: utime + stime from /proc/PID/stat, whole 10 ms ticks;" \
        "run: the threads' schedstat run time, in ns)"
    echo "  (Mbit/s in: Sluice's demuxed payload (bytes_in of" \
        "/api/v1/streams), srt-live-transmit's bytes at its UDP sink (the" \
        "whole TS))"
fi

if [ "$SRT_PERF" = 1 ]; then
    for name in ingest-sluice ingest-slt players-srt; do
        [ -s "$TMP/perf-$name.txt" ] || continue
        echo
        echo "perf report --stdio --no-children -g none ($name, its" \
            "window, perf's own cost included), the top:"
        sed 's/^/  /' "$TMP/perf-$name.txt"
    done
fi

if grep -q '^players,' "$RESULTS"; then
    echo
    echo "$SRT_N players of one stream (RTMP publisher): the server over" \
        "${SRT_PLAY_SECONDS}s after ${SRT_PLAY_WARMUP}s warm-up"
    awk -F, '
    BEGIN {
        printf "  %-5s %5s %4s %9s %13s %7s %7s %7s %9s %9s %6s %6s %s\n",
            "kind", "round", "N", "ok/fail", "frames min/avg", "cpu %",
            "user %", "sys %", "RSS0 KiB", "RSS1 KiB", "gen %", "noise",
            "SRT Mbit/s / TS lost / libsrt lost / dropped"
    }
    $1 == "players" {
        noise = ($16 > $17 ? $16 : $17)
        printf "  %-5s %5s %4d %9s %6.1f/%6.1f %7.2f %7.2f %7.2f %9d %9d" \
            " %6.1f %6.1f %s\n", $2, $3, $4, $5 "/" ($6 + $7), $8, $9,
            $10, $11, $12, $13, $14, $15, noise, $18
        if ($4 > 0 && $6 + $7 > 0) bad[$2] = 1
        cpu[$2] += $10; rss[$2] += $14 - $13; n[$2]++; np[$2] = $4
        if (!($2 in mn) || $8 < mn[$2])
            mn[$2] = $8
    }
    END {
        # The pub runs: the publisher alone, over the same kind of window.
        # Their CPU, and the RSS their server gained over the run without
        # any player, are what the net columns take off.
        if (n["pub"] == 0) {
            base = 0; drift = 0
            print "  (no pub run: the net columns are the raw ones)"
        } else {
            base = cpu["pub"] / n["pub"]; drift = rss["pub"] / n["pub"]
        }
        print ""
        printf "  %-5s %13s %13s %11s %11s %13s\n", "kind", "cpu/player %",
            "net cpu/pl. %", "KiB/player", "net KiB/pl.", "frames min %"
        for (i = 1; i <= 2; i++) {
            k = (i == 1 ? "rtmp" : "srt")
            if (n[k] == 0 || np[k] == 0) continue
            c = cpu[k] / n[k]
            pc[k] = c / np[k]; nc[k] = (c - base) / np[k]
            kb[k] = rss[k] / n[k] / np[k]
            nk[k] = (rss[k] / n[k] - drift) / np[k]
            printf "  %-5s %13.4f %13.4f %11.1f %11.1f %13.1f%s\n", k, pc[k],
                nc[k], kb[k], nk[k], mn[k],
                ((k in bad) ? "  PLAYERS LOST" : "")
        }
        if (n["rtmp"] && n["srt"] && pc["rtmp"] > 0 && kb["rtmp"] > 0)
            printf "  SRT / RTMP: cpu/player %.2f (net %.2f), KiB/player" \
                " %.2f (net %.2f)\n", pc["srt"] / pc["rtmp"],
                (nc["rtmp"] > 0 ? nc["srt"] / nc["rtmp"] : 0),
                kb["srt"] / kb["rtmp"],
                (nk["rtmp"] > 0 ? nk["srt"] / nk["rtmp"] : 0)
        printf "  (means of the rounds.  KiB/player: (RSS1 - RSS0) / N, RSS0" \
            " read with the publisher live and no player.  net: less the" \
            " pub runs'"'"' %.2f%% CPU and %+d KiB RSS drift)\n", base, drift
    }' "$RESULTS"
fi
