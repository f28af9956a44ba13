#!/usr/bin/env bash
# Scaling past one core (issue 15 part 5): how many players Sluice holds
# with 1, 2, 4, ... workers.
#
# On a machine with C CPUs, Sluice runs pinned (taskset) to the first C/2
# CPUs with [server] workers = W, for W = 1, 2, 4, ... up to C/2, per-IP
# limits and the web port off.  The load generators run pinned to the
# other C/2 CPUs: one sluice-bench process per CPU there, each with its
# own publisher (the same 2 Mbit/s 720p30 FLV, stream live/scale-K) and
# its share of the players, each playing its own process's stream.  (A
# sluice-bench process always publishes on -u and scores only the frames
# its own publisher sent, so players of another process's stream could
# not be scored: the generators cannot share one stream.)  Each reports
# its own CPU and whether it was saturated (above 90 % of its core).
#
# For every W the total player count N starts at SCALE_START and doubles
# while a run passes, then is bisected between the last pass and the
# first failure, SCALE_STEPS runs at most per W.  A run passes when every
# generator returned its result, no player failed or was dropped, every
# player got at least 98 % of the frames (sluice-bench's min delivered)
# and the worst generator's p99 latency is at most 200 ms.  The largest
# N that passed is the worker count's capacity; the table gives it per
# worker and as a ratio to one worker, beside the generators' CPU (at
# the best pass and at the first failure) so that a limit set by a
# saturated generator rather than by Sluice shows.
#
# Below 4 CPUs there is no measurement (two workers need two server CPUs
# and the generators the other half): the script says so and exits 0.
# SCALE_FORCE=1 runs anyway with what there is (a smoke test of the
# script's logic: on 2 CPUs, Sluice on CPU 0 with W = 1, one generator
# on CPU 1); those figures say nothing about scaling.
#
# Environment:
#   SLUICE=build/sluice  SLUICE_BENCH=build/sluice-bench  binaries to use
#   SCALE_WORKERS="1 2 4 ..."  worker counts (default: powers of 2 to C/2)
#   SCALE_START=500      total players of each W's first run
#   SCALE_STEPS=8        runs per W at most (doubling, then bisecting)
#   SCALE_SECONDS=10  SCALE_WARMUP=3  measured window and warm-up
#   SCALE_GENS=C/2       sluice-bench processes (round-robin on the
#                        generator CPUs)
#   SCALE_MIN_PCT=98  SCALE_MAX_P99=200  the pass criteria
#   SCALE_INPUT=FILE     the FLV to publish (default: made by ffmpeg)
#   SCALE_FORCE=1        run on fewer than 4 CPUs (smoke test)
#   SCALE_CSV=FILE       also keep the raw per-run lines there
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SLUICE=${SLUICE:-build/sluice}
SLUICE_BENCH=${SLUICE_BENCH:-build/sluice-bench}
SCALE_START=${SCALE_START:-500}
SCALE_STEPS=${SCALE_STEPS:-8}
SCALE_SECONDS=${SCALE_SECONDS:-10}
SCALE_WARMUP=${SCALE_WARMUP:-3}
SCALE_MIN_PCT=${SCALE_MIN_PCT:-98}
SCALE_MAX_P99=${SCALE_MAX_P99:-200}
SCALE_FORCE=${SCALE_FORCE:-0}

BENCH_TAG=bench-scale
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

CPUS=$(nproc)
if [ "$CPUS" -lt 4 ] && [ "$SCALE_FORCE" != 1 ]; then
    echo "bench-scale: cannot measure on this machine: it has $CPUS CPU(s)."
    echo "  Scaling needs at least 4: Sluice on half of them with 2 or more"
    echo "  workers, the load generators on the other half, so that neither"
    echo "  takes the other's cores.  Run it on a bigger machine (targets"
    echo "  for 16 CPUs: 2 workers >= 1.8x the players of 1, 8 workers >= 6x);"
    echo "  SCALE_FORCE=1 runs a smoke test of the script here."
    exit 0
fi
[ "$CPUS" -ge 2 ] || die "needs two CPUs even with SCALE_FORCE=1"

need_bins "$SLUICE" "$SLUICE_BENCH"
command -v taskset >/dev/null || die "taskset (util-linux) is needed"

HALF=$((CPUS / 2))
SERVER_CPUS="0-$((HALF - 1))"
GEN_CPU_LIST=()
for ((c = HALF; c < CPUS; c++)); do GEN_CPU_LIST+=("$c"); done
SCALE_GENS=${SCALE_GENS:-${#GEN_CPU_LIST[@]}}
if [ -z "${SCALE_WORKERS:-}" ]; then
    SCALE_WORKERS=
    for ((w = 1; w <= HALF; w *= 2)); do SCALE_WORKERS+="$w "; done
fi
[ "$SCALE_GENS" -ge 1 ] || die "SCALE_GENS must be at least 1"
[ "$SCALE_START" -ge "$SCALE_GENS" ] ||
    die "SCALE_START ($SCALE_START) below SCALE_GENS ($SCALE_GENS)"

# Every player is a descriptor on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d /tmp/sluice-scale.XXXXXX)
SERVER_PID=
GEN_PIDS=()
cleanup() {
    local p
    for p in ${GEN_PIDS[@]+"${GEN_PIDS[@]}"}; do
        kill "$p" 2>/dev/null || true
    done
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${SCALE_INPUT:-}" ]; then
    [ -s "$SCALE_INPUT" ] || die "$SCALE_INPUT is missing or empty"
    INPUT=$SCALE_INPUT
else
    command -v ffmpeg >/dev/null || die "ffmpeg is needed to make the input"
    if [ -d build ]; then
        mkdir -p build/bench
        INPUT=build/bench/input-720p30-2m.flv
    else
        INPUT=$TMP/input.flv
    fi
    make_input_720p "$INPUT"
fi

# start_sluice PORT W
start_sluice() {
    local port=$1 w=$2 dir=$TMP/sluice-$2
    mkdir -p "$dir"
    cat > "$dir/sluice.ini" <<EOF
[http]
listen = off
[web]
listen = off

[server]
listen = 127.0.0.1:$port
workers = $w
; the generators open every player from 127.0.0.1
max_pending_per_ip = 0
connection_rate_per_ip = 0
max_pending = 0
chunk_size = 4096
max_connections = 100000
log_level = warn

[app:live]
EOF
    taskset -c "$SERVER_CPUS" "$SLUICE" -n -c "$dir/sluice.ini" \
        >"$dir/log" 2>&1 &
    SERVER_PID=$!
    LOG=$dir/log
}

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}

RUNS=$TMP/runs.csv
: > "$RUNS"

# measure W N: one run with N players in all; appends to $RUNS
#   W,N,pass,min%,worst p99,failed+dropped,max gen cpu%,saturated gens,
#   results returned,gens
# and returns 0 when the run passed.
measure() {
    local w=$1 n=$2 port try g share cpu out i ok line
    for try in 1 2 3; do
        port=$(free_port)
        start_sluice "$port" "$w"
        wait_listen "$port" "$SERVER_PID" && break
        say "sluice did not start (try $try); its log:"
        tail -5 "$LOG" >&2 || true
        stop_server
        [ "$try" = 3 ] && die "sluice does not start"
    done
    say "W=$w N=$n: $SCALE_GENS generator(s), server pid $SERVER_PID" \
        "on CPUs $SERVER_CPUS"
    GEN_PIDS=()
    for ((g = 0; g < SCALE_GENS; g++)); do
        share=$((n / SCALE_GENS + (g < n % SCALE_GENS ? 1 : 0)))
        cpu=${GEN_CPU_LIST[$((g % ${#GEN_CPU_LIST[@]}))]}
        out=$TMP/gen-$w-$n-$g
        taskset -c "$cpu" "$SLUICE_BENCH" \
            -u "rtmp://127.0.0.1:$port/live/scale-$g" -i "$INPUT" \
            -n "$share" -d "$SCALE_SECONDS" -w "$SCALE_WARMUP" \
            -p "$SERVER_PID" --csv >"$out" 2>"$out.err" &
        GEN_PIDS+=($!)
    done
    ok=0
    for ((i = 0; i < ${#GEN_PIDS[@]}; i++)); do
        if wait "${GEN_PIDS[$i]}"; then
            ok=$((ok + 1))
        else
            say "generator $i failed:"
            tail -3 "$TMP/gen-$w-$n-$i.err" >&2 || true
        fi
    done
    GEN_PIDS=()
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        say "sluice died during the run; its log:"
        tail -20 "$LOG" >&2 || true
    fi
    stop_server
    # sluice-bench --csv fields (bench/measure.c print_csv): 1 players,
    # 2 playing, 3 failed, 4 dropped, 6 min%, 10 p99, 18 gen cpu%,
    # 19 saturated.
    line=$(for ((g = 0; g < SCALE_GENS; g++)); do
        tail -1 "$TMP/gen-$w-$n-$g" 2>/dev/null || true
    done | awk -F, -v w="$w" -v n="$n" -v ok="$ok" -v gens="$SCALE_GENS" \
        -v minpct="$SCALE_MIN_PCT" -v maxp99="$SCALE_MAX_P99" '
        NF >= 19 {
            got++
            if (!seen || $6 < min) min = $6
            if (!seen || $10 > p99) p99 = $10
            if ($18 > gcpu) gcpu = $18
            lost += $3 + $4; sat += $19; seen = 1
        }
        END {
            pass = (got == gens && ok == gens && lost == 0 &&
                    min >= minpct && p99 <= maxp99)
            printf "%d,%d,%d,%.2f,%.1f,%d,%.1f,%d,%d,%d\n", w, n, pass,
                min, p99, lost, gcpu, sat, got, gens
        }')
    echo "$line" >> "$RUNS"
    echo "$line" | awk -F, '{
        printf "bench-scale: W=%d N=%d: %s (min delivered %.1f%%, p99 %.1f ms," \
            " lost %d, generator cpu max %.1f%%, saturated %d, results %d/%d)\n",
            $1, $2, ($3 ? "pass" : "FAIL"), $4, $5, $6, $7, $8, $9, $10
    }' >&2
    [ "$(echo "$line" | cut -d, -f3)" = 1 ]
}

# search W: doubling from SCALE_START while runs pass, then bisecting
# between the last pass and the first failure; SCALE_STEPS runs at most.
# Appends W,best N,first failing N (0: none) to $BEST.
BEST=$TMP/best.csv
: > "$BEST"
search() {
    local w=$1 n=$SCALE_START lo=0 hi=0 steps=0 mid
    while [ "$steps" -lt "$SCALE_STEPS" ]; do
        steps=$((steps + 1))
        if measure "$w" "$n"; then
            lo=$n
        else
            hi=$n
        fi
        if [ "$hi" = 0 ]; then
            n=$((n * 2))
            continue
        fi
        # Bisect to within 5 % (and at least one player per generator).
        mid=$(((lo + hi) / 2))
        if [ $((hi - lo)) -le $((hi / 20)) ] ||
            [ $((hi - lo)) -le "$SCALE_GENS" ] || [ "$mid" -lt "$SCALE_GENS" ]; then
            break
        fi
        n=$mid
    done
    echo "$w,$lo,$hi" >> "$BEST"
}

for w in $SCALE_WORKERS; do
    search "$w"
done

if [ -n "${SCALE_CSV:-}" ]; then
    cp "$RUNS" "$SCALE_CSV"
fi

echo
echo "Scaling: Sluice on CPUs $SERVER_CPUS, $SCALE_GENS sluice-bench" \
    "process(es) on CPUs ${GEN_CPU_LIST[*]}, each publishing one ~2 Mbit/s" \
    "stream to its own players; ${SCALE_SECONDS}s window after" \
    "${SCALE_WARMUP}s warm-up"
echo "Capacity: the most players with every player >= ${SCALE_MIN_PCT}%" \
    "delivered and p99 <= ${SCALE_MAX_P99} ms"
echo "$CPUS CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
if [ "$CPUS" -lt 4 ]; then
    echo "SMOKE TEST (SCALE_FORCE=1 on $CPUS CPUs): not a measurement"
fi
echo
# gen cpu at the best pass and at the first failure: a generator near
# or above 90 % of its core there means the limit may be the generator's.
awk -F, '
FNR == NR { r[$1 "," $2] = $0; next }
{
    w = $1; best = $2; fail = $3
    split(r[w "," best], b, ","); split(r[w "," fail], f, ",")
    if (w == 1) base = best
    ratio = (base > 0 && best > 0) ? sprintf("%.2f", best / base) : "n/a"
    flags = ""
    if (best == 0) flags = flags " NO-PASS"
    if (fail == 0) flags = flags " NO-FAILURE(raise SCALE_STEPS/START)"
    if (b[8] > 0 || f[8] > 0) flags = flags " GEN-SATURATED"
    printf "%7d %11d %11.0f %8s %12s %12s %s\n", w, best,
        best / w, ratio, (best > 0 ? sprintf("%.1f", b[7]) : "-"),
        (fail > 0 ? sprintf("%.1f", f[7]) : "-"), flags
}
BEGIN {
    printf "%7s %11s %11s %8s %12s %12s  %s\n", "workers", "max players",
        "per worker", "vs 1 w", "gen cpu best", "gen cpu fail", "flags"
}' "$RUNS" "$BEST"

echo
echo "Targets (a 16-CPU machine: Sluice on 8, generators on 8):"
awk -F, '
{ best[$1] = $2 }
function t(w, x) {
    if (!(1 in best) || best[1] <= 0 || !(w in best))
        printf "  %d workers >= %.1fx the players of 1: not measured\n", w, x
    else
        printf "  %d workers >= %.1fx the players of 1: %.2fx  %s\n", w, x,
            best[w] / best[1], (best[w] >= x * best[1] ? "PASS" : "MISS")
}
END { t(2, 1.8); t(8, 6) }' "$BEST"
