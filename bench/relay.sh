#!/usr/bin/env bash
# The relay benchmark: issue 4's three figures for push relays, between
# Sluice instances on loopback.
#
# 1. Reconnect time.  An origin pushes the publisher's stream to two
#    downstream Sluices at once: relay "down" with the default retry
#    schedule (retry_min 1s, retry_max 30s) and relay "fast" with
#    retry_min 200ms, retry_max 2s.  RELAY_CYCLES times: wait until both
#    downstreams log `publishing live/bench`, keep them up RELAY_HOLD_S
#    (longer than the 3 s after which a connection counts as healthy and
#    resets the schedule), SIGKILL both, keep them down RELAY_DOWN_S, start
#    them again on the same ports.  Reconnect = the restarted downstream's
#    `listening on` line to its `publishing live/bench` line (log times,
#    ms).  It splits at the downstream's `accepted` line of the relay's
#    connection (log_level = debug there): "wait" is the rest of the
#    backoff wait in progress when the downstream returned, "connect" the
#    TCP + RTMP handshake, connect, createStream and publish that follow.
#    The origin's log gives when the relay noticed the loss, its first
#    connect attempt after it and how many connects failed while the
#    downstream was down.  4 s down rather than 3: the default schedule's
#    second attempt falls 2.4-3.6 s after the loss, so 3 s would make the
#    figure jump between two modes; 4 s lies inside its third wait.
# 2. Latency of one hop.  sluice-bench publishes to an origin that relays
#    to a downstream; RELAY_PLAYERS players read from the origin in one
#    run and from the downstream (--play-url) in the next.  Both servers
#    run in both runs, pinned to CPU 0 with the same merge_write_ms (each
#    value of RELAY_MERGES); the generator is on CPU 1.
# 3. CPU per relayed stream.  The origin, pinned alone to CPU 0, gets one
#    ~2 Mbit/s publisher (sluice-bench, no players, CPU 1) with no relay,
#    then with RELAY_COUNT relays of that stream (an app lists at most 8),
#    each [relay:rK] to the same downstream (CPU 1) as live/bench_rK.
#    CPU and RSS per relay = (with - without) / RELAY_COUNT, from
#    sluice-bench -p (utime + stime over the window, VmRSS at its end).
#
# Environment:
#   SLUICE=build/sluice  SLUICE_BENCH=build/sluice-bench  binaries to use
#   RELAY_PHASES="reconnect latency cpu"  which parts to run
#   RELAY_CYCLES=10  RELAY_DOWN_S=4  RELAY_HOLD_S=3.5   reconnect cycles
#   RELAY_PLAYERS=10  RELAY_SECONDS=15  RELAY_MERGES="50 0"   latency runs
#   RELAY_COUNT=8  RELAY_CPU_SECONDS=15                 CPU runs
#   RELAY_KEEP=DIR   also keep the logs and raw result lines there
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SLUICE=${SLUICE:-build/sluice}
SLUICE_BENCH=${SLUICE_BENCH:-build/sluice-bench}
RELAY_PHASES=${RELAY_PHASES:-reconnect latency cpu}
RELAY_CYCLES=${RELAY_CYCLES:-10}
RELAY_DOWN_S=${RELAY_DOWN_S:-4}
RELAY_HOLD_S=${RELAY_HOLD_S:-3.5}
RELAY_PLAYERS=${RELAY_PLAYERS:-10}
RELAY_SECONDS=${RELAY_SECONDS:-15}
RELAY_MERGES=${RELAY_MERGES:-50 0}
RELAY_COUNT=${RELAY_COUNT:-8}
RELAY_CPU_SECONDS=${RELAY_CPU_SECONDS:-15}
FAST_MIN=200ms
FAST_MAX=2s
SERVER_CPU=0
GEN_CPU=1

die() { echo "bench-relay: $*" >&2; exit 1; }
say() { echo "bench-relay: $*" >&2; }

for bin in "$SLUICE" "$SLUICE_BENCH"; do
    [ -x "$bin" ] || die "$bin not found (run make first)"
done
command -v ffmpeg >/dev/null || die "ffmpeg is needed to make the input"
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
[ "$(nproc)" -ge 2 ] || die "needs two CPUs"
if ! [ "$RELAY_COUNT" -ge 1 ] 2>/dev/null || [ "$RELAY_COUNT" -gt 8 ]; then
    die "RELAY_COUNT must be 1..8 (an app lists at most 8 relays)"
fi

TMP=$(mktemp -d /tmp/sluice-relay.XXXXXX)
# Private copies: a rebuild of build/ during the run (the tree may be
# shared) must not mix two versions of the server in one table.
cp "$SLUICE" "$TMP/sluice"
cp "$SLUICE_BENCH" "$TMP/sluice-bench"
SLUICE=$TMP/sluice
SLUICE_BENCH=$TMP/sluice-bench
GIT_AT_START="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
git diff --quiet HEAD -- relay server media pool 2>/dev/null ||
    GIT_AT_START+=" (server sources modified)"

# Every process we start, by name: cleanup kills exactly these PIDs (a
# PID still listed whose process ended by itself may have been reused:
# only one that still runs our binaries is killed).
declare -A PID=()
cleanup() {
    local n pid
    for n in "${!PID[@]}"; do
        pid=${PID[$n]}
        if grep -qa 'sluice' "/proc/$pid/cmdline" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    if [ -n "${RELAY_KEEP:-}" ]; then
        mkdir -p "$RELAY_KEEP"
        cp -r "$TMP"/. "$RELAY_KEEP"/ 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop NAME [SIGNAL]: ends a process we started and waits until it is
# gone.  SIGTERM gets 5 s before SIGKILL, so nothing outlives the script.
# Servers are disowned (so bash does not report the ones we SIGKILL);
# bash still reaps them, and kill -0 fails once it has.
stop() {
    local name=$1 sig=${2:-TERM} pid
    pid=${PID[$name]:-}
    [ -n "$pid" ] || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "PID[$name]"
}

# The input run.sh uses: 720p30 test pattern + tone, x264 1.9 Mbit/s,
# keyframe every 2 s, AAC 96k, about 2 Mbit/s in all.
mkdir -p build/bench
INPUT=build/bench/input-720p30-2m.flv
if [ ! -s "$INPUT" ]; then
    say "making $INPUT (25 s, ffmpeg)"
    ffmpeg -hide_banner -loglevel error -y \
        -f lavfi -i testsrc2=size=1280x720:rate=30 \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t 25 \
        -c:v libx264 -preset veryfast -b:v 1900k -maxrate 2000k \
        -bufsize 4000k -g 60 -pix_fmt yuv420p \
        -c:a aac -b:a 96k -f flv "$INPUT.tmp" </dev/null
    mv "$INPUT.tmp" "$INPUT"
fi

port_busy() {
    local hex
    hex=$(printf ':%04X ' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q "$hex"
}

# A port nothing uses, below the ephemeral range (see run.sh), and not
# one handed out earlier in this run.
USED_PORTS=" "
free_port() {
    local p lo
    lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    lo=${lo:-32768}
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % (lo - 10000)))
        case $USED_PORTS in *" $p "*) continue ;; esac
        if ! port_busy "$p"; then
            USED_PORTS+="$p "
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# wait_log FILE PATTERN SECONDS: until a line of FILE matches (grep -E).
wait_log() {
    local end=$((SECONDS + $3))
    while [ "$SECONDS" -le "$end" ]; do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# sluice NAME CPU LOGFILE INI: starts build/sluice pinned to CPU and waits
# for its `listening on` line.
sluice() {
    local name=$1 cpu=$2 log=$3 ini=$4
    taskset -c "$cpu" "$SLUICE" -n -c "$ini" >"$log" 2>&1 &
    PID[$name]=$!
    disown "${PID[$name]}"
    if ! wait_log "$log" ' listening on ' 10; then
        tail -5 "$log" >&2
        die "$name did not start"
    fi
}

# server_ini PORT MERGE LOGLEVEL: the [server] section every server gets
# (and no HTTP API or web port: several servers run at once).
server_ini() {
    cat <<EOF
[http]
listen = off
[web]
listen = off

[server]
listen = 127.0.0.1:$1
workers = 1
acceptors = 1
; the benchmark opens every player from 127.0.0.1
max_pending_per_ip = 0
connection_rate_per_ip = 0
max_pending = 0
chunk_size = 4096
merge_write_ms = $2
log_level = $3
EOF
}

# Milliseconds since the epoch of a log line's ISO-8601 UTC time
# (2026-11-27T16:10:19.949Z), in awk (mawk has no mktime).
AWK_TIME='
function days(y, m, d) {
    if (m <= 2) { y--; m += 12 }
    return 365 * y + int(y / 4) - int(y / 100) + int(y / 400) \
        + int((153 * (m - 3) + 2) / 5) + d
}
function ms(ts,   day, sec) {
    # ts: YYYY-MM-DDTHH:MM:SS.mmmZ
    day = days(substr(ts, 1, 4) + 0, substr(ts, 6, 2) + 0,
        substr(ts, 9, 2) + 0) - days(1970, 1, 1)
    sec = substr(ts, 12, 2) * 3600 + substr(ts, 15, 2) * 60 \
        + substr(ts, 18, 2)
    return (day * 86400 + sec) * 1000 + substr(ts, 21, 3)
}'

now_ms() { date +%s%3N; }

RESULTS=$TMP/results
: > "$RESULTS"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 1. reconnect ------------------------------------------------------

# One restarted downstream's figures, from its log: listen, accept and
# publish times (ms); "-" when the relay did not publish.
downstream_times() {
    awk "$AWK_TIME"'
    / listening on / { listen = ms($1) }
    / DEBUG \[c[0-9]+ .*\] accepted$/ { acc[$3] = ms($1) }
    / INFO \[c[0-9]+ .*\] publishing live\/bench$/ && !pub {
        pub = ms($1); a = acc[$3]
    }
    END {
        if (!pub) print "- - -"
        else printf "%.0f %.0f %.0f\n", listen, a, pub
    }' "$1"
}

reconnect_phase() {
    local op pa pb dir=$TMP/reconnect cyc name t_kill t_up line
    mkdir -p "$dir"
    op=$(free_port)
    pa=$(free_port)
    pb=$(free_port)
    for name in down fast; do
        local port=$pa
        [ "$name" = fast ] && port=$pb
        { server_ini "$port" 50 debug; echo "[app:live]"; } > "$dir/$name.ini"
    done
    {
        server_ini "$op" 50 info
        cat <<EOF
[app:live]
relays = down, fast

[relay:down]
url = rtmp://127.0.0.1:$pa/live

[relay:fast]
url = rtmp://127.0.0.1:$pb/live
retry_min = $FAST_MIN
retry_max = $FAST_MAX
EOF
    } > "$dir/origin.ini"
    sluice ds_down "$SERVER_CPU" "$dir/down.0.log" "$dir/down.ini"
    sluice ds_fast "$SERVER_CPU" "$dir/fast.0.log" "$dir/fast.ini"
    sluice origin "$SERVER_CPU" "$dir/origin.log" "$dir/origin.ini"
    # The publisher: sluice-bench with no players and a window longer
    # than the phase; it is stopped at the end.
    taskset -c "$GEN_CPU" "$SLUICE_BENCH" -u "rtmp://127.0.0.1:$op/live/bench" \
        -i "$INPUT" -n 0 -w 0 -d 3600 --settle 0 >"$dir/pub.log" 2>&1 &
    PID[pub]=$!
    say "reconnect: origin :$op, downstreams :$pa (default schedule)" \
        "and :$pb ($FAST_MIN..$FAST_MAX), $RELAY_CYCLES cycles," \
        "${RELAY_DOWN_S}s down"
    for cyc in $(seq 1 "$RELAY_CYCLES"); do
        for name in down fast; do
            wait_log "$dir/$name.$((cyc - 1)).log" \
                'publishing live/bench$' 60 ||
                die "relay $name did not publish on its downstream" \
                    "(cycle $cyc); see $dir"
        done
        sleep "$RELAY_HOLD_S"
        # Both at once: the time is the same for both relays.
        t_kill=$(now_ms)
        kill -KILL "${PID[ds_down]}" "${PID[ds_fast]}"
        stop ds_down KILL
        stop ds_fast KILL
        sleep "$RELAY_DOWN_S"
        t_up=$(now_ms)
        sluice ds_down "$SERVER_CPU" "$dir/down.$cyc.log" "$dir/down.ini"
        sluice ds_fast "$SERVER_CPU" "$dir/fast.$cyc.log" "$dir/fast.ini"
        echo "$cyc $t_kill $t_up" >> "$dir/cycles"
    done
    for name in down fast; do
        wait_log "$dir/$name.$RELAY_CYCLES.log" 'publishing live/bench$' 60 ||
            die "relay $name did not publish after the last cycle; see $dir"
    done
    kill -0 "${PID[pub]}" 2>/dev/null ||
        die "the publisher stopped: $(tail -2 "$dir/pub.log")"
    stop pub
    stop ds_down
    stop ds_fast
    stop origin
    # One line per cycle and relay:
    #   reconnect NAME CYCLE kill_ms listen_ms accept_ms publish_ms
    #             lost_ms origin_pushing_ms failed_connects first_try_ms
    while read -r cyc t_kill t_up; do
        for name in down fast; do
            line=$(downstream_times "$dir/$name.$cyc.log")
            awk -v name="$name" -v cyc="$cyc" -v kill="$t_kill" \
                -v ds="$line" "$AWK_TIME"'
            BEGIN { split(ds, d, " "); pub = d[3] + 0 }
            $0 ~ "relay " name ": " {
                t = ms($1)
                if (t < kill) next
                if (pushing) next  # lines of later cycles
                if ($0 ~ / lost: / && !lost) lost = t
                if ($0 ~ / cannot push /) fails++
                if ($0 ~ / pushing /) pushing = t
                if ($0 ~ / cannot push | pushing / && !first) first = t
            }
            END {
                printf "reconnect %s %d %s %s %s %s %.0f %.0f %d %.0f\n",
                    name, cyc, kill, d[1], d[2], d[3], lost, pushing, fails,
                    first
            }' "$dir/origin.log" >> "$RESULTS"
        done
    done < "$dir/cycles"
    if grep -q ' ERROR ' "$dir"/*.log; then
        say "errors in the reconnect phase's logs:"
        grep ' ERROR ' "$dir"/*.log | head -5 >&2
    fi
}

# ---- 2. latency of one hop -------------------------------------------

latency_phase() {
    local merge where op dp dir line
    for merge in $RELAY_MERGES; do
        for where in origin relay; do
            dir=$TMP/latency-$merge-$where
            mkdir -p "$dir"
            op=$(free_port)
            dp=$(free_port)
            { server_ini "$dp" "$merge" info; echo "[app:live]"; } \
                > "$dir/down.ini"
            {
                server_ini "$op" "$merge" info
                printf '[app:live]\nrelays = down\n\n[relay:down]\n'
                printf 'url = rtmp://127.0.0.1:%s/live\n' "$dp"
            } > "$dir/origin.ini"
            sluice down "$SERVER_CPU" "$dir/down.log" "$dir/down.ini"
            sluice origin "$SERVER_CPU" "$dir/origin.log" "$dir/origin.ini"
            local play=$op
            [ "$where" = relay ] && play=$dp
            say "latency: merge ${merge}ms, $RELAY_PLAYERS players on the" \
                "$where (:$play), ${RELAY_SECONDS}s"
            if line=$(taskset -c "$GEN_CPU" "$SLUICE_BENCH" \
                    -u "rtmp://127.0.0.1:$op/live/bench" \
                    --play-url "rtmp://127.0.0.1:$play/live/bench" \
                    -i "$INPUT" -n "$RELAY_PLAYERS" -d "$RELAY_SECONDS" \
                    -w 3 -p "${PID[origin]}" --csv 2>"$dir/bench.err"); then
                echo "latency,$merge,$where,$line" >> "$RESULTS"
            else
                say "sluice-bench failed:"
                tail -5 "$dir/bench.err" >&2
            fi
            grep -q 'relay down: pushing live/bench' "$dir/origin.log" ||
                say "the relay never pushed (merge $merge, $where)"
            stop origin
            stop down
        done
    done
}

# ---- 3. CPU per relayed stream ---------------------------------------

cpu_phase() {
    local with op dp dir line k list pushing published threads
    for with in 0 "$RELAY_COUNT"; do
        dir=$TMP/cpu-$with
        mkdir -p "$dir"
        op=$(free_port)
        dp=$(free_port)
        { server_ini "$dp" 50 info; echo "[app:live]"; } > "$dir/down.ini"
        list=""
        for k in $(seq 1 "$RELAY_COUNT"); do
            list+="${list:+, }r$k"
        done
        {
            server_ini "$op" 50 info
            echo "[app:live]"
            [ "$with" -gt 0 ] && echo "relays = $list"
            for k in $(seq 1 "$RELAY_COUNT"); do
                printf '\n[relay:r%d]\n' "$k"
                printf 'url = rtmp://127.0.0.1:%s/live/{name}_r%d\n' "$dp" "$k"
            done
        } > "$dir/origin.ini"
        sluice down "$GEN_CPU" "$dir/down.log" "$dir/down.ini"
        sluice origin "$SERVER_CPU" "$dir/origin.log" "$dir/origin.ini"
        say "cpu: origin on CPU $SERVER_CPU with $with relays," \
            "${RELAY_CPU_SECONDS}s"
        taskset -c "$GEN_CPU" "$SLUICE_BENCH" \
            -u "rtmp://127.0.0.1:$op/live/bench" -i "$INPUT" -n 0 \
            -d "$RELAY_CPU_SECONDS" -w 2 --drain 0 -p "${PID[origin]}" \
            --csv >"$dir/bench.out" 2>"$dir/bench.err" &
        PID[gen]=$!
        # The origin's threads while the relays run (one per relay).
        sleep 6
        threads=$(awk '/^Threads:/ { print $2 }' \
            "/proc/${PID[origin]}/status" 2>/dev/null || echo 0)
        if wait "${PID[gen]}" && line=$(tail -1 "$dir/bench.out") &&
            [ -n "$line" ]; then
            unset "PID[gen]"
            pushing=$(grep -c 'relay r[0-9]*: pushing' "$dir/origin.log" ||
                true)
            published=$(grep -c 'publishing live/bench_r' "$dir/down.log" ||
                true)
            echo "cpu,$with,$pushing,$published,$threads,$line" >> "$RESULTS"
        else
            unset "PID[gen]"
            say "sluice-bench failed:"
            tail -5 "$dir/bench.err" >&2
        fi
        stop origin
        stop down
    done
}

T0=$SECONDS
for phase in $RELAY_PHASES; do
    case $phase in
    reconnect) reconnect_phase ;;
    latency) latency_phase ;;
    cpu) cpu_phase ;;
    *) die "unknown phase $phase" ;;
    esac
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "Relay: origin Sluice -> push relay -> downstream Sluice, loopback;" \
    "$(nproc) CPUs:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "git $GIT_AT_START at the start (the binaries were copied then);" \
    "load average $LOAD0 before, $LOAD1 after; $((SECONDS - T0)) s"

if grep -q '^reconnect ' "$RESULTS"; then
    echo
    echo "1. Reconnect after the downstream returns ($RELAY_CYCLES cycles:" \
        "SIGKILL, ${RELAY_DOWN_S}s down, restart; ms, median [min - max])"
    # Fields: 2 name, 3 cycle, 4 kill, 5 listen, 6 accept, 7 publish,
    # 8 lost, 9 origin pushing, 10 failed connects, 11 first try.
    awk -v fmin="$FAST_MIN" -v fmax="$FAST_MAX" '
    function median(a, n,   i, j, t) {
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
                t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
            }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function cell(s, k,   i, a, lo, hi) {
        lo = hi = v[s, k, 1]
        for (i = 1; i <= n[s]; i++) {
            a[i] = v[s, k, i]
            if (a[i] < lo) lo = a[i]
            if (a[i] > hi) hi = a[i]
        }
        return sprintf("%6.0f [%5.0f - %5.0f]", median(a, n[s]), lo, hi)
    }
    $1 == "reconnect" {
        s = $2
        if ($7 == "-") { missing[s]++; next }
        i = ++n[s]
        v[s, "rec", i] = $7 - $5         # listen -> publishing
        v[s, "wait", i] = $6 - $5        # listen -> accepted
        v[s, "conn", i] = $7 - $6        # accepted -> publishing
        v[s, "lost", i] = $8 - $4        # SIGKILL -> relay saw it
        v[s, "gap", i] = $7 - $4         # SIGKILL -> publishing again
        v[s, "fails", i] = $10
        v[s, "first", i] = $11 - $8      # loss -> first connect attempt
        per = per sprintf("  %-4s %2d: reconnect %5d (wait %5d + connect" \
            " %4d)  loss seen %4d  first try %5d  failed %d  outage %5d\n",
            s, $3, $7 - $5, $6 - $5, $7 - $6, $8 - $4, $11 - $8, $10,
            $7 - $4)
    }
    END {
        printf "  %-22s %-23s %-23s\n", "", "retry 1s..30s (default)",
            "retry " fmin ".." fmax
        split("rec wait conn lost first fails gap", keys, " ")
        split("reconnect (listen->pub)|  backoff wait left|  connect+publish|" \
            "loss seen after kill|first try after loss|failed connects|" \
            "outage (kill->pub)", label, "|")
        for (k = 1; k <= 7; k++)
            printf "  %-22s %-23s %-23s\n", label[k], cell("down", keys[k]),
                cell("fast", keys[k])
        for (s in missing)
            printf "  %s: %d cycles without a reconnect\n", s, missing[s]
        printf "\n  Every cycle (ms):\n%s", per
    }' "$RESULTS"
fi

if grep -q '^latency,' "$RESULTS"; then
    echo
    echo "2. Latency of one relay hop: sluice-bench publishes to the origin," \
        "$RELAY_PLAYERS players read from the origin or from the" \
        "downstream; ${RELAY_SECONDS}s window; servers on CPU $SERVER_CPU," \
        "generator on CPU $GEN_CPU"
    # Fields: 2 merge, 3 where, then sluice-bench --csv from 4: 4 players,
    # 5 playing, 6 failed, 7 dropped, 8 expected, 9 min%, 10 avg%,
    # 11 below98, 12 p50, 13 p99, 14 p99.9, 15 max, 16 conn/s, 17 srv
    # cpu%, 18-20 rss, 21 gen cpu%, 22 saturated, 23 unmatched,
    # 24 mismatches, 25 window, 26 other% server core, 27 other% gen core.
    awk -F, '
    $1 == "latency" {
        k = $2 " " $3; p50[k] = $12; p99[k] = $13
        flags = ""
        if ($6 + $7 > 0) flags = flags " lost:" $6 "+" $7
        if ($23 + $24 > 0) flags = flags " unmatched:" $23 + $24
        if ($22 == 1) flags = flags " SATURATED"
        noise = ($26 > $27 ? $26 : $27)
        if (noise > 10) flags = flags " NOISY"
        rows = rows sprintf("  %5sms %-7s %7.1f/%7.1f %7.1f/%7.1f/%7.1f/%7.1f" \
            " %9d %6.1f %s\n", $2, $3, $9, $10, $12, $13, $14, $15,
            $8, noise, flags)
        if (!($2 in seen)) { seen[$2] = 1; order[++m] = $2 }
    }
    END {
        printf "  %7s %-7s %15s %31s %9s %6s  %s\n", "merge", "players",
            "delivered min/avg", "p50/p99/p99.9/max ms", "frames/pl",
            "noise", "flags"
        printf "%s", rows
        for (i = 1; i <= m; i++) {
            w = order[i]
            if (!((w " origin") in p50) || !((w " relay") in p50)) continue
            printf "  merge %sms: one hop adds %+.1f ms at p50, %+.1f ms" \
                " at p99\n", w, p50[w " relay"] - p50[w " origin"],
                p99[w " relay"] - p99[w " origin"]
        }
    }' "$RESULTS"
fi

if grep -q '^cpu,' "$RESULTS"; then
    echo
    echo "3. CPU per relayed stream: the origin alone on CPU $SERVER_CPU," \
        "one ~2 Mbit/s publisher, no players; ${RELAY_CPU_SECONDS}s window"
    # Fields: 2 relays, 3 "pushing" lines, 4 downstream publications,
    # 5 origin threads, then --csv from 6: ... 19 srv cpu%, 20 rss base,
    # 21 rss end, ... 28 other% server core.
    awk -F, -v count="$RELAY_COUNT" '
    $1 == "cpu" {
        cpu[$2] = $19; rss[$2] = $21
        printf "  %2d relays: origin cpu %5.2f%%  rss %6d KiB  threads %3d" \
            "  pushing %d, publishing downstream %d  noise %4.1f%%\n", $2, $19, $21, $5, $3,
            $4, $28
    }
    END {
        if (!(0 in cpu) || !(count in cpu)) exit
        printf "  per relay: cpu %.2f%% of a core, rss %.0f KiB\n",
            (cpu[count] - cpu[0]) / count, (rss[count] - rss[0]) / count
    }' "$RESULTS"
fi
