#!/usr/bin/env bash
# The transcoding-ladder benchmark, in two phases:
#   cpu    Sluice's ladder against the ffmpeg command line doing the same
#          rungs in one process, on the same input (CPU and wall time);
#   delay  the delay the ladder adds to a rung as players see it, with
#          latency = normal and latency = low (see "2. delay" below).
#
# The input is a generated 1080p30 clip (made once, kept under
# build/bench/).  The rungs are the ones the config gives the app
# (conf/sluice.ini, app live: 720p, 480p, 360p), read through Sluice's
# own config parser (`sluice-bench --ladder --print-rungs WxH@FPS`), so
# both sides always transcode to the same sizes, bit rates, presets,
# profiles and keyframe settings, with the thread counts and x264
# options Sluice gives its decoder and encoders (transcode/rung.c).
#
# Sluice: `sluice-bench --ladder`, which feeds every tag of the file to
# the ladder as fast as it takes them and reports user+sys CPU and wall
# time from just before the ladder starts to after it is joined (the
# file's loading excluded).
#
# ffmpeg: one process, one decode, split, a bicubic scaler and a libx264
# encoder per rung, audio copied, each rung muxed to an FLV file in a
# temporary folder (the ladder also turns every packet into FLV bodies
# and chunk-encodes them in the hub; a file also lets ffprobe check what
# came out).  CPU = user+sys of the process and all its threads (bash's
# `time`, from wait4), wall = its whole life, start-up included.
#
# Both run with the threads Sluice chooses (x264 1.5 per core, at most
# 4; the decoder 2 frame threads) and without pinning: the figure is
# "on this machine's cores".  The sides alternate (ffmpeg,
# Sluice, ffmpeg, ...), LADDER_RUNS times each; the table shows the
# median with min and max, speed (media seconds / median wall seconds),
# and how busy the machine was with other work during the runs.
#
# Environment:
#   SLUICE_BENCH=build/sluice-bench  SLUICE=build/sluice  the binaries
#   LADDER_PHASES="cpu delay"  which phases, in that order
#   LADDER_RUNS=5          runs per side
#   LADDER_CONFIG=conf/sluice.ini  LADDER_APP=live  the ladder
#   LADDER_INPUT=FILE.flv  another H.264/AAC input instead of the clip
#   LADDER_CSV=FILE        also keep the raw result lines there
#   LADDER_DELAY_RUNS=3    delay: runs per latency setting
#   LADDER_DELAY_RUNGS=720p,360p  delay: the config's rungs to measure
#   LADDER_DELAY_SECONDS=15       delay: the measured window of a run
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SLUICE_BENCH=${SLUICE_BENCH:-build/sluice-bench}
SLUICE=${SLUICE:-build/sluice}
LADDER_PHASES=${LADDER_PHASES:-cpu delay}
LADDER_DELAY_RUNS=${LADDER_DELAY_RUNS:-3}
LADDER_DELAY_RUNGS=${LADDER_DELAY_RUNGS:-720p,360p}
LADDER_DELAY_SECONDS=${LADDER_DELAY_SECONDS:-15}
LADDER_RUNS=${LADDER_RUNS:-5}
LADDER_CONFIG=${LADDER_CONFIG:-conf/sluice.ini}
LADDER_APP=${LADDER_APP:-live}
LADDER_INPUT=${LADDER_INPUT:-}

BENCH_TAG=bench-ladder
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

[ -x "$SLUICE_BENCH" ] || die "$SLUICE_BENCH not found (run make first)"
for tool in ffmpeg ffprobe; do
    command -v "$tool" >/dev/null ||
        die "$tool is needed (apt-get install ffmpeg)"
done
[ "$LADDER_RUNS" -ge 1 ] 2>/dev/null || die "LADDER_RUNS must be >= 1"
case " $LADDER_PHASES " in
*" delay "*)
    [ -x "$SLUICE" ] || die "$SLUICE not found (run make first)"
    [ "$LADDER_DELAY_RUNS" -ge 1 ] 2>/dev/null ||
        die "LADDER_DELAY_RUNS must be >= 1"
    ;;
esac

TMP=$(mktemp -d /tmp/sluice-ladder.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# The input: 20 s of testsrc2 1920x1080 at 30 fps with temporal noise
# (a clean test pattern is nearly free to encode; the noise gives every
# rung real residual to code), libx264 veryfast at 8 Mbit/s CBR-ish,
# keyframe every 2 s, plus a 440 Hz tone in AAC 128k.
if [ -n "$LADDER_INPUT" ]; then
    INPUT=$LADDER_INPUT
    [ -s "$INPUT" ] || die "$INPUT not found"
else
    mkdir -p build/bench
    INPUT=build/bench/ladder-1080p30.flv
    if [ ! -s "$INPUT" ]; then
        echo "bench-ladder: making $INPUT (20 s of 1080p30, takes a minute)" >&2
        ffmpeg -hide_banner -loglevel error -y \
            -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=12:allf=t" \
            -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 20 \
            -c:v libx264 -preset veryfast -b:v 8000k -maxrate 8000k \
            -bufsize 16000k -g 60 -keyint_min 60 -pix_fmt yuv420p \
            -c:a aac -b:a 128k -f flv "$INPUT.tmp" </dev/null
        mv "$INPUT.tmp" "$INPUT"
    fi
fi

# The source's size and frame rate, for the rung sizes and the GOP.
SIZE=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height \
    -of csv=s=x:p=0 "$INPUT")
FPS=$(ffprobe -v error -select_streams v:0 -show_entries stream=r_frame_rate \
    -of csv=p=0 "$INPUT" | awk -F/ '{ printf "%.3f", $2 ? $1 / $2 : $1 }')
HAS_AUDIO=$(ffprobe -v error -select_streams a -show_entries stream=index \
    -of csv=p=0 "$INPUT" | head -1)
[ -n "$SIZE" ] || die "$INPUT has no video stream"

"$SLUICE_BENCH" --ladder --print-rungs "$SIZE@$FPS" -c "$LADDER_CONFIG" \
    -a "$LADDER_APP" > "$TMP/rungs" ||
    die "cannot read the ladder from $LADDER_CONFIG"
IV_MS=$(awk '$1 == "keyframe_interval_ms" { print $2 }' "$TMP/rungs")
IV_S=$(awk -v ms="$IV_MS" 'BEGIN { printf "%g", ms / 1000 }')

# The ffmpeg command line.  What Sluice does per rung (transcode/rung.c),
# option by option: bicubic swscale to the rung's size; libx264 with the
# rung's preset, profile, bit rate, maxrate and bufsize, its threads and
# the x264 options its latency setting gives (lookahead, B-frames,
# threading); a keyframe forced on the first frame at or after every
# interval and none elsewhere (scenecut=0, -g twice the interval in
# frames, plus one); the source's AAC copied (or AAC at audio_bitrate
# when audio = aac).  The source is decoded with the decoder threads
# the ladder would use.
FILTER="[0:v]split=$(grep -c '^rung ' "$TMP/rungs")"
FF_OUT=()
RUNG_NAMES=()
chain=()
i=0
while read -r kind name w h br maxr bufs preset profile enc acopy abr rfps \
    latency threads x264p; do
    [ "$kind" = rung ] || continue
    FILTER+="[s$i]"
    chain[i]="[s$i]scale=$w:$h:flags=bicubic"
    rate=$FPS
    if [ "$rfps" -gt 0 ]; then
        chain[i]+=",fps=$rfps"
        rate=$rfps
    fi
    chain[i]+="[o$i]"
    gop=$(awk -v f="$rate" -v ms="$IV_MS" \
        'BEGIN { printf "%d", int(f * ms / 1000 + 0.5) * 2 + 1 }')
    FF_OUT+=(-map "[o$i]")
    [ -n "$HAS_AUDIO" ] && FF_OUT+=(-map 0:a:0)
    FF_OUT+=(-c:v "$enc")
    [ "$preset" != - ] && FF_OUT+=(-preset "$preset")
    [ "$profile" != - ] && FF_OUT+=(-profile:v "$profile")
    FF_OUT+=(-b:v "$br")
    [ "$maxr" -gt 0 ] && FF_OUT+=(-maxrate "$maxr")
    [ "$bufs" -gt 0 ] && FF_OUT+=(-bufsize "$bufs")
    FF_OUT+=(-g "$gop" -force_key_frames "expr:gte(t,n_forced*$IV_S)")
    FF_OUT+=(-threads "$threads")
    if [ "$x264p" != - ]; then
        FF_OUT+=(-x264-params "$x264p")
    elif [ "$latency" = low ]; then
        FF_OUT+=(-bf 0 -thread_type slice)
    fi
    if [ -n "$HAS_AUDIO" ]; then
        if [ "$acopy" = 1 ]; then
            FF_OUT+=(-c:a copy)
        else
            FF_OUT+=(-c:a aac -b:a "$abr")
        fi
    fi
    FF_OUT+=(-f flv "$TMP/ff-$name.flv")
    RUNG_NAMES+=("$name")
    i=$((i + 1))
done < "$TMP/rungs"
[ "$i" -gt 0 ] || die "no rung fits a $SIZE source"
# The delay phase's rungs, each one the config has and the source fits.
DELAY_RUNGS=
for name in ${LADDER_DELAY_RUNGS//,/ }; do
    grep -q "^rung $name " "$TMP/rungs" ||
        die "LADDER_DELAY_RUNGS: no rung $name for a $SIZE source in" \
            "$LADDER_CONFIG, app $LADDER_APP"
    DELAY_RUNGS+=${DELAY_RUNGS:+,}$name
done
for ((j = 0; j < i; j++)); do
    FILTER+=";${chain[$j]}"
done
read -r _ DEC_THREADS DEC_TYPE < <(grep '^decoder ' "$TMP/rungs")
FF_CMD=(ffmpeg -hide_banner -nostdin -loglevel error -y
    -threads "$DEC_THREADS" -thread_type "$DEC_TYPE" -i "$INPUT"
    -filter_complex "$FILTER" "${FF_OUT[@]}")
SL_CMD=("$SLUICE_BENCH" --ladder -i "$INPUT" -c "$LADDER_CONFIG"
    -a "$LADDER_APP")

# Busy CPU time of the whole machine (user, nice, system, irq, softirq,
# steal), in seconds: the part our process did not use is other work.
machine_busy() {
    awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {
        printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat
}

RESULTS=$TMP/results
: > "$RESULTS"
NCPU=$(nproc)

# timed SIDE CMD...: runs CMD under bash's `time` (wall, user, sys of the
# process and its threads) and appends a result line:
#   SIDE wall cpu others% inner_wall inner_cpu
# inner_*: what sluice-bench measured itself (ffmpeg: the same as outer).
timed() {
    local side=$1 b0 b1 t
    shift
    b0=$(machine_busy)
    if ! { TIMEFORMAT='%3R %3U %3S'; time "$@" >"$TMP/$side.out" \
            2>"$TMP/$side.err"; } 2>"$TMP/$side.time"; then
        echo "bench-ladder: $side failed:" >&2
        tail -20 "$TMP/$side.err" >&2
        exit 1
    fi
    b1=$(machine_busy)
    t=$(tail -1 "$TMP/$side.time")
    awk -v side="$side" -v t="$t" -v b0="$b0" -v b1="$b1" -v n="$NCPU" \
        -v inner="$(grep '^ladder ' "$TMP/$side.out" || true)" 'BEGIN {
        split(t, f, " ")
        wall = f[1]; cpu = f[2] + f[3]
        others = (b1 - b0 - cpu) / (n * wall) * 100
        if (others < 0) others = 0
        iw = wall; ic = cpu
        if (inner != "") {
            m = split(inner, kv, " ")
            for (k = 1; k <= m; k++) {
                split(kv[k], p, "=")
                if (p[1] == "wall_s") iw = p[2]
                if (p[1] == "cpu_s") ic = p[2]
            }
        }
        printf "%s %.3f %.3f %.1f %.3f %.3f\n", side, wall, cpu, others, iw, ic
    }' >> "$RESULTS"
    if [ -s "$TMP/$side.err" ]; then
        echo "bench-ladder: $side said:" >&2
        head -5 "$TMP/$side.err" >&2
    fi
}

# ---- 1. CPU: the ladder against the ffmpeg command line ------------------

cpu_phase() {
    echo "bench-ladder: $INPUT ($SIZE, ${FPS} fps), rungs ${RUNG_NAMES[*]}," \
        "$LADDER_RUNS runs per side, alternating" >&2
    echo "bench-ladder: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
    for ((r = 1; r <= LADDER_RUNS; r++)); do
        echo "bench-ladder: run $r/$LADDER_RUNS: ffmpeg" >&2
        timed ffmpeg "${FF_CMD[@]}"
        echo "bench-ladder: run $r/$LADDER_RUNS: sluice" >&2
        timed sluice "${SL_CMD[@]}"
    done
    LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

    if [ -n "${LADDER_CSV:-}" ]; then
        cp "$RESULTS" "$LADDER_CSV"
    fi

    MEDIA_S=$(awk '$1 == "ladder" { for (k = 1; k <= NF; k++) {
        split($k, p, "="); if (p[1] == "media_s") print p[2] } }' "$TMP/sluice.out")

    echo
    echo "Transcoding ladder: $INPUT ($SIZE, $FPS fps, $MEDIA_S s of media)" \
        "-> ${RUNG_NAMES[*]}"
    echo "$NCPU CPUs:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)," \
        "no pinning; load average $LOAD0 before, $LOAD1 after"
    echo "Runs per side: $LADDER_RUNS, alternating; median [min - max]." \
        "others: the machine's busy CPU not ours, % of all CPUs"
    echo
    # Result fields: 1 side, 2 wall, 3 cpu, 4 others%, 5 inner wall,
    # 6 inner cpu.  Sluice's row is its inner measure (the ladder only);
    # ffmpeg's is the whole process.
    awk -v media="$MEDIA_S" '
    function median(a, n,   i, j, t) {
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
                t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
            }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
        s = $1; k = ++n[s]
        w[s, k] = ($1 == "sluice" ? $5 : $2)
        c[s, k] = ($1 == "sluice" ? $6 : $3)
        o[s, k] = $4
        ow[s, k] = $2; oc[s, k] = $3
        runs = runs sprintf("  %-6s %d: cpu %6.2f s  wall %6.2f s  others %3.0f%%\n",
            s, k, c[s, k], w[s, k], o[s, k])
    }
    function stats(s, arr, out,   k, a, lo, hi) {
        lo = hi = arr[s, 1]
        for (k = 1; k <= n[s]; k++) {
            a[k] = arr[s, k]
            if (a[k] < lo) lo = a[k]
            if (a[k] > hi) hi = a[k]
        }
        out["med"] = median(a, n[s]); out["lo"] = lo; out["hi"] = hi
    }
    function row(label, s,   cw, cc, co) {
        stats(s, c, cc); stats(s, w, cw); stats(s, o, co)
        printf "%-14s %6.2f [%6.2f - %6.2f]  %6.2f [%6.2f - %6.2f]  %5.2fx  %5.0f%%\n",
            label, cc["med"], cc["lo"], cc["hi"], cw["med"], cw["lo"], cw["hi"],
            media / cw["med"], co["med"]
        med_c[s] = cc["med"]; med_w[s] = cw["med"]
    }
    END {
        printf "%-14s %-24s  %-24s  %6s  %6s\n", "", "CPU s (user+sys)",
            "wall s", "speed", "others"
        row("ffmpeg CLI", "ffmpeg")
        row("Sluice ladder", "sluice")
        rc = med_c["sluice"] / med_c["ffmpeg"]
        rw = med_w["sluice"] / med_w["ffmpeg"]
        printf "%-14s %6.2f %19s %6.2f\n", "Sluice/ffmpeg", rc, "", rw
        stats("sluice", oc, x); stats("sluice", ow, y)
        printf "(sluice-bench as a whole process, FLV loading included:" \
            " CPU %.2f s, wall %.2f s)\n", x["med"], y["med"]
        sp = media / med_w["sluice"]
        # (Parentheses: a bare > in a printf argument list is a redirection.)
        printf "\nTargets: CPU ratio <= 1.0: %.2f %s; faster than real time:" \
            " %.2fx %s\n", rc, (rc <= 1 ? "MET" : "MISSED"), sp,
            (sp > 1 ? "MET" : "MISSED")
        printf "\nEvery run, in order:\n%s", runs
    }' "$RESULTS"

    echo
    echo "What came out (last run of each side; video only, kbit/s over the" \
        "media time):"
    grep '^rung \|^keyframes ' "$TMP/sluice.out" | sed 's/^/  sluice: /'
    for name in "${RUNG_NAMES[@]}"; do
        ffprobe -v error -select_streams v:0 \
            -show_entries packet=pts_time,size,flags -of csv=p=0 \
            "$TMP/ff-$name.flv" | awk -F, -v name="$name" -v media="$MEDIA_S" '
            { n++; b += $2; if ($3 ~ /K/) { k++; if (k == 1) first = $1 } }
            END {
                printf "  ffmpeg: rung name=%s frames=%d keyframes=%d" \
                    " video_bytes=%d video_kbps=%.0f first_key_s=%s\n",
                    name, n, k, b, b * 8 / media / 1000, first
            }'
    done
    echo
    echo "ffmpeg command (OUT: a temporary folder):"
    printf ' %q' "${FF_CMD[@]}" | sed "s|$TMP|OUT|g"
    echo
}

# ---- 2. delay: what the ladder adds to a rung's latency ------------------
#
# A real server (build/sluice) with the rungs LADDER_DELAY_RUNGS of the
# config (720p and 360p by default: the same sizes, bit rates, presets
# and profiles) in an app of their own, all with latency = normal or all
# with latency = low.  `sluice-bench --rungs` publishes the clip in real
# time (looped) and plays the source and every rung at once; for every
# source frame read in the window it takes the read time of the same
# picture in each rung (matched by presentation time: the rungs carry the
# source's timestamps) minus the source's.  The settings alternate
# (normal, low, normal, ...), LADDER_DELAY_RUNS times each, a fresh
# server for every run.

# A [server] that takes the benchmark's one address as often as it asks,
# with the server's default merge window, and one app with the rungs.
delay_ini() {
    local port=$1 latency=$2
    cat <<INI
[http]
listen = off
[web]
listen = off
[server]
listen = 127.0.0.1:$port
max_connections_per_ip = 0
connection_rate_per_ip = 0
max_pending = 0
log_level = info

[app:bench]
renditions = $DELAY_RUNGS
keyframe_interval = ${IV_MS}ms
INI
    while read -r kind name w h br maxr bufs preset profile enc acopy abr \
        rfps _; do
        [ "$kind" = rung ] || continue
        case ",$DELAY_RUNGS," in *",$name,"*) ;; *) continue ;; esac
        echo
        echo "[rendition:$name]"
        echo "width = $w"
        echo "height = $h"
        echo "video_bitrate = $br"
        [ "$maxr" -gt 0 ] && echo "maxrate = $maxr"
        [ "$bufs" -gt 0 ] && echo "bufsize = $bufs"
        [ "$preset" != - ] && echo "preset = $preset"
        [ "$profile" != - ] && echo "profile = $profile"
        [ "$enc" != - ] && echo "encoder = $enc"
        if [ "$acopy" = 1 ]; then
            echo "audio = copy"
        else
            echo "audio = aac"
            echo "audio_bitrate = $abr"
        fi
        echo "fps = $rfps"
        echo "latency = $latency"
    done < "$TMP/rungs"
}

# user+sys seconds of a process and all its threads, from /proc.
proc_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{
        sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

SERVER_PID=
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
trap 'stop_server; rm -rf "$TMP"' EXIT

# delay_run LATENCY RUN: one server, one sluice-bench; appends
#   LATENCY RUN RUNG frames missing median_ms p90_ms server_cpu% others%
# per rung to $DRESULTS.
delay_run() {
    local latency=$1 run=$2 port log out c0 c1 b0 b1 t0 t1
    port=$(free_port)
    log=$TMP/delay-$latency-$run.log
    out=$TMP/delay-$latency-$run.out
    delay_ini "$port" "$latency" > "$TMP/delay-$latency.ini"
    "$SLUICE" -n -c "$TMP/delay-$latency.ini" > "$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        grep -q ' listening on ' "$log" && break
        sleep 0.1
    done
    grep -q ' listening on ' "$log" || { tail -5 "$log" >&2; die "sluice did not start"; }
    c0=$(proc_cpu "$SERVER_PID"); b0=$(machine_busy); t0=$(date +%s.%N)
    if ! "$SLUICE_BENCH" -u "rtmp://127.0.0.1:$port/bench/src" -i "$INPUT" \
            --rungs "$DELAY_RUNGS" -d "$LADDER_DELAY_SECONDS" -w 5 --drain 2 \
            > "$out" 2> "$out.err"; then
        tail -5 "$out.err" >&2
        tail -5 "$log" >&2
        die "sluice-bench --rungs failed ($latency, run $run)"
    fi
    c1=$(proc_cpu "$SERVER_PID"); b1=$(machine_busy); t1=$(date +%s.%N)
    stop_server
    if grep -q ' WARN \| ERROR ' "$log"; then
        echo "bench-ladder: the server said ($latency, run $run):" >&2
        grep ' WARN \| ERROR ' "$log" | head -5 >&2
    fi
    awk -v lat="$latency" -v run="$run" -v c0="$c0" -v c1="$c1" -v b0="$b0" \
        -v b1="$b1" -v t0="$t0" -v t1="$t1" -v n="$NCPU" '
        $1 == "delay" && $2 ~ /^rung=/ {
            for (k = 2; k <= NF; k++) { split($k, p, "="); v[p[1]] = p[2] }
            wall = t1 - t0; cpu = c1 - c0
            others = (b1 - b0 - cpu) / (n * wall) * 100
            if (others < 0) others = 0
            printf "%s %s %s %d %d %d %d %.0f %.0f\n", lat, run, v["rung"],
                v["frames"], v["missing"], v["median_ms"], v["p90_ms"],
                cpu / wall * 100, others
        }' "$out" >> "$DRESULTS"
}

delay_phase() {
    local r
    DRESULTS=$TMP/delay-results
    : > "$DRESULTS"
    echo "bench-ladder: delay: $INPUT ($SIZE, ${FPS} fps) -> $DELAY_RUNGS," \
        "latency normal and low, $LADDER_DELAY_RUNS runs each, alternating," \
        "${LADDER_DELAY_SECONDS} s windows" >&2
    DLOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
    for ((r = 1; r <= LADDER_DELAY_RUNS; r++)); do
        for latency in normal low; do
            echo "bench-ladder: delay run $r/$LADDER_DELAY_RUNS: $latency" >&2
            delay_run "$latency" "$r"
        done
    done
    DLOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
    echo
    echo "Added delay per rung: $INPUT ($SIZE, $FPS fps) played live through" \
        "build/sluice, rungs $DELAY_RUNGS"
    echo "$NCPU CPUs, no pinning; load average $DLOAD0 before, $DLOAD1 after." \
        "Delay = a rung's picture read by its RTMP player"
    echo "minus the same picture (same presentation time) read by a player of" \
        "the source, for the source frames of a ${LADDER_DELAY_SECONDS} s window."
    echo "Median of the runs' figures [min - max]; server: its CPU in % of" \
        "one core; others: the machine's busy CPU not the server's"
    echo
    awk '
    function median(a, n,   i, j, t) {
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
                t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
            }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function stat(key, f,   k, a, lo, hi) {
        for (k = 1; k <= n[key]; k++) {
            a[k] = v[key, k, f]
            if (k == 1 || a[k] < lo) lo = a[k]
            if (k == 1 || a[k] > hi) hi = a[k]
        }
        return sprintf("%5.0f [%4.0f - %4.0f]", median(a, n[key]), lo, hi)
    }
    # Fields: 1 latency, 2 run, 3 rung, 4 frames, 5 missing, 6 median,
    # 7 p90, 8 server cpu %, 9 others %.
    {
        key = $1 SUBSEP $3
        if (!(key in n)) order[++nk] = key
        k = ++n[key]
        for (f = 4; f <= 9; f++) v[key, k, f] = $f
        runs = runs sprintf("  %-6s %d %-6s frames %4d missing %3d" \
            " median %4d ms  p90 %4d ms  server %3d%%  others %3d%%\n",
            $1, $2, $3, $4, $5, $6, $7, $8, $9)
    }
    END {
        printf "%-8s %-6s  %-20s  %-20s  %-20s  %-6s\n", "latency", "rung",
            "median ms", "p90 ms", "server CPU %", "others"
        for (i = 1; i <= nk; i++) {
            split(order[i], kk, SUBSEP)
            printf "%-8s %-6s  %s  %s  %s  %s\n", kk[1], kk[2],
                stat(order[i], 6), stat(order[i], 7), stat(order[i], 8),
                substr(stat(order[i], 9), 1, 5) "%"
        }
        printf "\nTargets (median): normal <= 500 ms, low <= 200 ms\n"
        for (i = 1; i <= nk; i++) {
            split(order[i], kk, SUBSEP)
            k = n[order[i]]
            for (j = 1; j <= k; j++) a[j] = v[order[i], j, 6]
            m = median(a, k)
            lim = kk[1] == "low" ? 200 : 500
            printf "  %-6s %-6s %4.0f ms %s\n", kk[1], kk[2], m,
                (m <= lim ? "MET" : "MISSED")
        }
        printf "\nEvery run, in order:\n%s", runs
    }' "$DRESULTS"
    echo
    echo "sluice-bench command (PORT: a free port; the server's config as" \
        "above with latency = normal or low):"
    echo "  $SLUICE_BENCH -u rtmp://127.0.0.1:PORT/bench/src -i $INPUT" \
        "--rungs $DELAY_RUNGS -d $LADDER_DELAY_SECONDS -w 5 --drain 2"
}

NCPU=$(nproc)
for phase in $LADDER_PHASES; do
    case $phase in
    cpu) cpu_phase ;;
    delay) delay_phase ;;
    *) die "unknown phase $phase (cpu, delay)" ;;
    esac
done
