#!/usr/bin/env bash
# The fan-out benchmark: Sluice against nginx-rtmp and against the floor,
# side by side.
#
# For every player count N and every server configuration, one server is
# started pinned to CPU 0, sluice-bench pinned to CPU 1 publishes a 2 Mbit/s
# FLV at real-time pace and opens N players, and the server is stopped
# again.  The floor is `sluice-bench --floor-server` (bench/floor.c): a
# minimal server that only fans out pre-chunked bytes with the same merge
# window, so its CPU is what the kernel costs for that traffic; it runs
# after every Sluice configuration with the same N and window.  Right after
# each Sluice run, "sluice-flv" runs the same configuration with the web
# port on and the N players as HTTP-FLV players (sluice-bench --flv-url;
# the publisher stays RTMP).  The result lines are collected and printed
# as one table with ratio lines (Sluice / floor, HTTP-FLV / RTMP, Sluice /
# nginx-rtmp) and the project's targets.
#
# Environment:
#   SLUICE=build/sluice  SLUICE_BENCH=build/sluice-bench  binaries to use
#   BENCH_N="100 1000 2000"   player counts
#   BENCH_MERGES="50 0"        Sluice merge_write_ms values at every N
#   BENCH_EXTRA="1000:100 1000:350"  extra N:merge Sluice runs ("" = none)
#   BENCH_SECONDS=15  BENCH_WARMUP=3  measured window and warm-up
#   BENCH_NGINX=1     0 skips nginx-rtmp
#   BENCH_FLOOR=1     0 skips the floor server
#   BENCH_FLV=1       0 skips the HTTP-FLV players (sluice-flv rows)
#   BENCH_CSV=FILE    also keep the raw result lines there
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SLUICE=${SLUICE:-build/sluice}
SLUICE_BENCH=${SLUICE_BENCH:-build/sluice-bench}
BENCH_N=${BENCH_N:-100 1000 2000}
BENCH_MERGES=${BENCH_MERGES:-50 0}
BENCH_EXTRA=${BENCH_EXTRA-1000:100 1000:350}
BENCH_SECONDS=${BENCH_SECONDS:-15}
BENCH_WARMUP=${BENCH_WARMUP:-3}
BENCH_NGINX=${BENCH_NGINX:-1}
BENCH_FLOOR=${BENCH_FLOOR:-1}
BENCH_FLV=${BENCH_FLV:-1}
NGINX_MODULE=/usr/lib/nginx/modules/ngx_rtmp_module.so
SERVER_CPU=0
GEN_CPU=1

BENCH_TAG=bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

need_bins "$SLUICE" "$SLUICE_BENCH"
command -v ffmpeg >/dev/null || die "ffmpeg is needed to make the input"
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
if [ "$BENCH_NGINX" = 1 ]; then
    command -v nginx >/dev/null || die "nginx not found (apt-get install" \
        "nginx-light libnginx-mod-rtmp)"
    [ -f "$NGINX_MODULE" ] || die "$NGINX_MODULE not found" \
        "(apt-get install libnginx-mod-rtmp)"
fi
if [ "$(nproc)" -lt 2 ]; then
    die "needs two CPUs: one for the server, one for the generator"
fi

# Every player is a descriptor on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d /tmp/sluice-bench.XXXXXX)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The input (make_input_720p), kept under build/bench/ when there is a
# build folder.
if [ -d build ]; then
    mkdir -p build/bench
    INPUT=build/bench/input-720p30-2m.flv
else
    INPUT=$TMP/input.flv
fi
make_input_720p "$INPUT"

# start_sluice PORT MERGE [WEBPORT]: the web port (HTTP-FLV) is off
# unless WEBPORT is given.
start_sluice() {
    local port=$1 merge=$2 web=${3:+127.0.0.1:$3}
    local dir=$TMP/sluice${3:+-flv}-$merge
    mkdir -p "$dir"
    cat > "$dir/sluice.ini" <<EOF
[http]
listen = off
[web]
listen = ${web:-off}

[server]
listen = 127.0.0.1:$port
workers = 1
acceptors = 1
; the benchmark opens every player from 127.0.0.1
max_pending_per_ip = 0
connection_rate_per_ip = 0
max_pending = 0
chunk_size = 4096
max_connections = 10000
merge_write_ms = $merge
log_level = warn

[app:live]
EOF
    taskset -c "$SERVER_CPU" "$SLUICE" -n -c "$dir/sluice.ini" \
        >"$dir/log" 2>&1 &
    SERVER_PID=$!
    LOG=$dir/log
}

start_nginx() {
    local port=$1 dir=$TMP/nginx
    mkdir -p "$dir"
    # One process (no master), in the foreground, with the same chunk
    # size as Sluice; everything else at nginx-rtmp's defaults.
    cat > "$dir/nginx.conf" <<EOF
load_module $NGINX_MODULE;
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 10000;
}
rtmp {
    server {
        listen 127.0.0.1:$port;
        chunk_size 4096;
        application live {
            live on;
        }
    }
}
EOF
    taskset -c "$SERVER_CPU" nginx -p "$dir" -c "$dir/nginx.conf" \
        -e "$dir/error.log" >"$dir/log" 2>&1 &
    SERVER_PID=$!
    LOG=$dir/error.log
}

start_floor() {
    local port=$1 merge=$2 dir=$TMP/floor-$merge
    mkdir -p "$dir"
    taskset -c "$SERVER_CPU" "$SLUICE_BENCH" --floor-server \
        -l "127.0.0.1:$port" -m "$merge" >"$dir/log" 2>&1 &
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

RESULTS=$TMP/results.csv
: > "$RESULTS"

# run NAME MERGE N: one measurement, appended to $RESULTS as
# name,merge,<sluice-bench --csv fields>.  NAME sluice-flv is Sluice with
# its web port on and HTTP-FLV players.
run() {
    local name=$1 merge=$2 n=$3 port web= line try players
    # A port taken between the check and the bind gets another try.
    for try in 1 2 3; do
        port=$(free_port)
        case $name in
        sluice) start_sluice "$port" "$merge" ;;
        sluice-flv)
            web=$(free_port)
            while [ "$web" = "$port" ]; do web=$(free_port); done
            start_sluice "$port" "$merge" "$web"
            ;;
        floor) start_floor "$port" "$merge" ;;
        *) start_nginx "$port" ;;
        esac
        if wait_listen "$port" "$SERVER_PID" &&
            { [ -z "$web" ] || wait_listen "$web" "$SERVER_PID"; }; then
            break
        fi
        echo "bench: $name did not start (try $try); its log:" >&2
        tail -5 "$LOG" >&2 || true
        stop_server
        [ "$try" = 3 ] && return 1
    done
    players=()
    if [ -n "$web" ]; then
        players=(--flv-url "http://127.0.0.1:$web/live/bench.flv")
    fi
    echo "bench: $name merge=$merge N=$n (port $port${web:+, web $web}," \
        "pid $SERVER_PID)" >&2
    if line=$(taskset -c "$GEN_CPU" "$SLUICE_BENCH" \
            -u "rtmp://127.0.0.1:$port/live/bench" -i "$INPUT" -n "$n" \
            -d "$BENCH_SECONDS" -w "$BENCH_WARMUP" -p "$SERVER_PID" --csv \
            ${players[@]+"${players[@]}"}); then
        echo "$name,$merge,$line" >> "$RESULTS"
    else
        echo "bench: sluice-bench failed against $name; the server's log:" >&2
        tail -20 "$LOG" >&2 || true
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "bench: $name died during the run; its log:" >&2
        tail -20 "$LOG" >&2 || true
    elif [ "${name%-flv}" = sluice ] && grep -q ' ERROR\|\[error\]' "$LOG"; then
        echo "bench: errors in $name's log:" >&2
        grep ' ERROR\|\[error\]' "$LOG" | head -5 >&2
    fi
    stop_server
}

# Sluice, then the same with HTTP-FLV players, then the floor with the
# same N and window, one right after the other, so all see the same
# machine.
run_pair() {
    run sluice "$1" "$2" || true
    if [ "$BENCH_FLV" = 1 ]; then
        run sluice-flv "$1" "$2" || true
    fi
    if [ "$BENCH_FLOOR" = 1 ]; then
        run floor "$1" "$2" || true
    fi
}

for n in $BENCH_N; do
    for merge in $BENCH_MERGES; do
        run_pair "$merge" "$n"
    done
    for extra in $BENCH_EXTRA; do
        if [ "${extra%%:*}" = "$n" ]; then
            run_pair "${extra#*:}" "$n"
        fi
    done
    if [ "$BENCH_NGINX" = 1 ]; then
        run nginx - "$n" || true
    fi
done

if [ -n "${BENCH_CSV:-}" ]; then
    cp "$RESULTS" "$BENCH_CSV"
fi

echo
echo "Fan-out: 1 publisher (~2 Mbit/s, 720p30), N players;" \
    "server on CPU $SERVER_CPU, generator on CPU $GEN_CPU;" \
    "${BENCH_SECONDS}s window after ${BENCH_WARMUP}s warm-up"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo
# Fields of a result line: 1 name, 2 merge, then sluice-bench's --csv:
# 3 players, 4 playing, 5 failed, 6 dropped, 7 expected, 8 min%, 9 avg%,
# 10 below98, 11 p50, 12 p99, 13 p99.9, 14 max, 15 conn/s, 16 srv cpu%,
# 17 rss base, 18 rss end, 19 rss/player KiB, 20 gen cpu%, 21 saturated,
# 22 unmatched, 23 mismatches, 24 window, 25 other% server core,
# 26 other% generator core, 27 srv user%, 28 srv sys%.
# user % and sys % are the server's user and system time apart (cpu % is
# their sum): on a shared machine the user part is the deterministic one,
# the server's own code; sys is mostly the kernel's TCP path.
awk -F, '
BEGIN {
    printf "%-10s %5s %5s %15s %15s %7s %6s %6s %9s %8s %7s %6s %5s  %s\n",
        "server", "merge", "N", "delivered min/avg", "p50/p99 ms",
        "cpu %", "user %", "sys %", "cpu/1000p", "KB/pl", "conn/s", "gen %",
        "noise", "flags"
}
{
    flags = ""
    if ($21 == 1) flags = flags " SATURATED"
    if ($5 + $6 > 0) flags = flags " lost:" $5 "+" $6
    if ($10 > 0) flags = flags " <98%:" $10
    if ($22 + $23 > 0) flags = flags " unmatched:" $22 + $23
    noise = ($25 > $26 ? $25 : $26)
    if (noise > 10) flags = flags " NOISY"
    merge = ($1 == "nginx" ? "-" : $2 "ms")
    printf "%-10s %5s %5d %7.1f/%7.1f %7.1f/%7.1f %7.1f %6.2f %6.2f %9.1f %8.2f %7.0f %6.1f %5.1f %s\n",
        $1, merge, $3, $8, $9, $11, $12, $16, $27, $28, $16 * 1000 / $3,
        $19, $15, $20, noise, flags
}' "$RESULTS"

echo
echo "Ratios Sluice / floor at the same N and window (1.00: Sluice costs" \
    "what the kernel does):"
awk -F, '
$1 == "floor" {
    k = $3 "," $2; cpu[k] = $16; p99[k] = $12; usr[k] = $27; sys[k] = $28
    bad[k] = note($0); nf++
}
$1 == "sluice" { line[++m] = $0 }
function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
# p99 is the generator read time too: say when either side was saturated
# or noisy, which makes that ratio (and the CPU one, if noisy) suspect.
function note(l,   f, s) {
    split(l, f, ",")
    s = ""
    if (f[21] == 1) s = s " saturated"
    if (f[25] > 10 || f[26] > 10) s = s " noisy"
    return s
}
END {
    if (m == 0 || nf == 0)
        print "  (no floor runs)"
    for (i = 1; i <= m; i++) {
        split(line[i], f, ",")
        k = f[3] "," f[2]
        if (!(k in cpu)) continue
        s = bad[k] note(line[i])
        printf "  N=%-5d merge %4sms: cpu %s (%.1f%% vs %.1f%%)" \
            "  user %s (%.2f vs %.2f)  sys %s (%.2f vs %.2f)  p99 %s%s\n",
            f[3], f[2], r(f[16], cpu[k]), f[16], cpu[k],
            r(f[27], usr[k]), f[27], usr[k], r(f[28], sys[k]), f[28], sys[k],
            r(f[12], p99[k]), s == "" ? "" : "  (" substr(s, 2) ")"
    }
}' "$RESULTS"

if [ "$BENCH_FLV" = 1 ]; then
    echo
    echo "Ratios HTTP-FLV / RTMP at the same N and window (Sluice both; the" \
        "target: cpu <= 1.20):"
    awk -F, '
    $1 == "sluice" {
        k = $3 "," $2; cpu[k] = $16; p99[k] = $12; rss[k] = $19
        bad[k] = note($0)
    }
    $1 == "sluice-flv" { line[++m] = $0 }
    function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
    function note(l,   f, s) {
        split(l, f, ",")
        s = ""
        if (f[21] == 1) s = s " saturated"
        if (f[25] > 10 || f[26] > 10) s = s " noisy"
        return s
    }
    # Either run saturated or noisy, each said once.
    function both(a, b,   w, n, i) {
        n = split(b, w, " ")
        for (i = 1; i <= n; i++)
            if (index(a " ", " " w[i] " ") == 0) a = a " " w[i]
        return a
    }
    END {
        if (m == 0)
            print "  (no sluice-flv runs)"
        for (i = 1; i <= m; i++) {
            split(line[i], f, ",")
            k = f[3] "," f[2]
            if (!(k in cpu)) continue
            s = both(bad[k], note(line[i]))
            printf "  N=%-5d merge %4sms: cpu %s (%.1f%% vs %.1f%%)," \
                " rss/player %s (%.2f vs %.2f KB), p99 %s%s\n",
                f[3], f[2], r(f[16], cpu[k]), f[16], cpu[k],
                r(f[19], rss[k]), f[19], rss[k], r(f[12], p99[k]),
                s == "" ? "" : "  (" substr(s, 2) ")"
        }
    }' "$RESULTS"
fi

echo
echo "Ratios Sluice / nginx-rtmp at the same N (below 1: Sluice uses less):"
awk -F, '
$1 == "nginx" { cpu[$3] = $16; p99[$3] = $12; rss[$3] = $19; cps[$3] = $15 }
$1 == "sluice" { line[++k] = $0 }
function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
END {
    for (i = 1; i <= k; i++) {
        split(line[i], f, ",")
        n = f[3]
        if (!(n in cpu)) continue
        printf "  N=%-5d merge %4sms: cpu %s  p99 %s  rss/player %s  conn/s %s\n",
            n, f[2], r(f[16], cpu[n]), r(f[12], p99[n]), r(f[19], rss[n]),
            r(f[15], cps[n])
    }
}' "$RESULTS"

echo
echo "Targets (1000 players, one core):"
awk -F, '
$1 == "nginx" && $3 == 1000 { ncpu = $16; np99 = $12; have = 1 }
$1 == "sluice" && $3 == 1000 && $2 == 50 { d = $0 }
$1 == "sluice" && $3 == 1000 && $2 == 0 { z = $0 }
$1 == "sluice" && $3 == 1000 { sl[$2] = $16; su[$2] = $27; ord[++k] = $2 }
$1 == "floor" && $3 == 1000 { fl[$2] = $16; fu[$2] = $27 }
$1 == "sluice-flv" && $3 == 1000 { hf[$2] = $16; hrss[$2] = $19; hmin[$2] = $8 }
function ok(c) { return c ? "PASS" : "MISS" }
END {
    if (d == "" && z == "")
        print "  (no Sluice run at N=1000)"
    if (d != "") {
        split(d, f, ",")
        printf "  every player >= 98%% delivered (merge 50): min %.1f%%  %s\n",
            f[8], ok(f[8] >= 98)
        printf "  RSS per player <= 12 KB (merge 50): %.2f KB  %s\n",
            f[19], ok(f[19] <= 12)
        printf "  CPU per 1000 players <= 18%% at merge 50: %.1f%%  %s\n",
            f[16], ok(f[16] <= 18)
        printf "  p99 < 75 ms at merge 50: %.1f ms  %s\n", f[12], ok(f[12] < 75)
    }
    if (z != "" && have) {
        split(z, f, ",")
        printf "  merge 0 CPU <= nginx-rtmp: %.1f%% vs %.1f%%  %s\n",
            f[16], ncpu, ok(f[16] <= ncpu)
        printf "  merge 0 p99 <= nginx-rtmp: %.1f ms vs %.1f ms  %s\n",
            f[12], np99, ok(f[12] <= np99)
    }
    for (i = 1; i <= k; i++) {
        w = ord[i]
        if (!(w in fl) || fl[w] <= 0) continue
        printf "  CPU within 1.1x of the floor at merge %s: %.1f%% vs %.1f%%" \
            " = %.2fx  %s\n", w, sl[w], fl[w], sl[w] / fl[w],
            ok(sl[w] <= 1.1 * fl[w])
        if (fu[w] > 0)
            printf "  user time within 2x of the floor at merge %s:" \
                " %.2f%% vs %.2f%% = %.2fx  %s\n", w, su[w], fu[w],
                su[w] / fu[w], ok(su[w] <= 2 * fu[w])
    }
    # HTTP-FLV players against RTMP players of the same run and window.
    for (i = 1; i <= k; i++) {
        w = ord[i]
        if (!(w in hf) || sl[w] <= 0) continue
        printf "  HTTP-FLV CPU <= 1.2x RTMP at merge %s: %.1f%% vs %.1f%%" \
            " = %.2fx  %s\n", w, hf[w], sl[w], hf[w] / sl[w],
            ok(hf[w] <= 1.2 * sl[w])
        printf "  HTTP-FLV RSS per player <= 8 KB at merge %s: %.2f KB  %s\n",
            w, hrss[w], ok(hrss[w] <= 8)
        printf "  HTTP-FLV every player >= 98%% delivered at merge %s:" \
            " min %.1f%%  %s\n", w, hmin[w], ok(hmin[w] >= 98)
    }
}' "$RESULTS"
