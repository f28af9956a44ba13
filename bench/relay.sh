#!/usr/bin/env bash
# The relay benchmark: issue 4's three figures for push relays, between
# Sluice instances on loopback, and issue 15's reconnect time by outage.
#
# 1. Reconnect time.  An origin pushes the publisher's stream to
#    RELAY_NEW + RELAY_OLD downstream Sluices at once (one [relay:...]
#    each): "n1".. with the default schedule (retry_min 1s, retry_max
#    30s, retry_fast_for 60s) and "o1".. with retry_fast_for = 0, the
#    schedule before issue 15 (1 s doubling to 30 s), side by side.  For
#    each DOWN:CYCLES of RELAY_OUTAGES, CYCLES times: wait until every
#    downstream logs `publishing live/bench`, keep them up RELAY_HOLD_S
#    (longer than the 3 s after which a connection counts as healthy and
#    resets the schedule), SIGKILL them, and start each again on its port
#    DOWN s + a random 0-1.2 s later (its own offset, so the restarts fall
#    at random points of the relays' schedules).  The "o" relays sit out
#    outages longer than RELAY_OLD_UPTO s (their next attempt can be a
#    minute away; their downstreams stay up).  Reconnect = the restarted
#    downstream's `listening on` line to its `publishing live/bench`
#    line (log times, ms).  It splits at the downstream's `accepted` line
#    of the relay's connection (log_level = debug there): "wait" is the
#    rest of the interval in progress when the downstream returned,
#    "connect" the TCP + RTMP handshake, connect, createStream and publish
#    that follow.  The origin's log (debug, so every failed attempt is
#    there) gives when the relay noticed the loss, its first connect
#    attempt after it and how many connects failed while it was down.
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
#   RELAY_OUTAGES="4:3 10:2 40:1 70:1"  reconnect: DOWN_S:CYCLES ...
#   RELAY_NEW=6  RELAY_OLD=2  RELAY_OLD_UPTO=10  RELAY_HOLD_S=3.5
#   RELAY_PLAYERS=10  RELAY_SECONDS=15  RELAY_MERGES="50 0"   latency runs
#   RELAY_COUNT=8  RELAY_CPU_SECONDS=15                 CPU runs
#   RELAY_KEEP=DIR   also keep the logs and raw result lines there
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SLUICE=${SLUICE:-build/sluice}
SLUICE_BENCH=${SLUICE_BENCH:-build/sluice-bench}
RELAY_PHASES=${RELAY_PHASES:-reconnect latency cpu}
RELAY_OUTAGES=${RELAY_OUTAGES:-4:3 10:2 40:1 70:1}
RELAY_NEW=${RELAY_NEW:-6}
RELAY_OLD=${RELAY_OLD:-2}
RELAY_OLD_UPTO=${RELAY_OLD_UPTO:-10}
RELAY_HOLD_S=${RELAY_HOLD_S:-3.5}
RELAY_PLAYERS=${RELAY_PLAYERS:-10}
RELAY_SECONDS=${RELAY_SECONDS:-15}
RELAY_MERGES=${RELAY_MERGES:-50 0}
RELAY_COUNT=${RELAY_COUNT:-8}
RELAY_CPU_SECONDS=${RELAY_CPU_SECONDS:-15}
SERVER_CPU=0
GEN_CPU=1

BENCH_TAG=bench-relay
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

need_bins "$SLUICE" "$SLUICE_BENCH"
command -v ffmpeg >/dev/null || die "ffmpeg is needed to make the input"
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
[ "$(nproc)" -ge 2 ] || die "needs two CPUs"
if ! [ "$RELAY_COUNT" -ge 1 ] 2>/dev/null || [ "$RELAY_COUNT" -gt 8 ]; then
    die "RELAY_COUNT must be 1..8 (an app lists at most 8 relays)"
fi
if ! [ "$RELAY_NEW" -ge 1 ] 2>/dev/null || ! [ "$RELAY_OLD" -ge 0 ] ||
    [ $((RELAY_NEW + RELAY_OLD)) -gt 8 ]; then
    die "RELAY_NEW >= 1, RELAY_OLD >= 0, together at most 8"
fi
for spec in $RELAY_OUTAGES; do
    [[ $spec =~ ^[0-9]+:[0-9]+$ ]] || die "RELAY_OUTAGES: DOWN_S:CYCLES, not $spec"
done

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

# The input run.sh uses (make_input_720p).
mkdir -p build/bench
INPUT=build/bench/input-720p30-2m.flv
make_input_720p "$INPUT"

# wait_log FILE PATTERN SECONDS: until a line of FILE matches (grep -E).
wait_log() {
    local end=$((SECONDS + $3))
    while [ "$SECONDS" -le "$end" ]; do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# sluice_bg NAME CPU LOGFILE INI: starts build/sluice pinned to CPU.
sluice_bg() {
    local name=$1 cpu=$2 log=$3 ini=$4
    taskset -c "$cpu" "$SLUICE" -n -c "$ini" >"$log" 2>&1 &
    PID[$name]=$!
    disown "${PID[$name]}"
}

# sluice_up NAME LOGFILE: waits for its `listening on` line.
sluice_up() {
    if ! wait_log "$2" ' listening on ' 10; then
        tail -5 "$2" >&2
        die "$1 did not start"
    fi
}

# sluice NAME CPU LOGFILE INI: starts build/sluice pinned to CPU and waits
# for its `listening on` line.
sluice() {
    sluice_bg "$@"
    sluice_up "$1" "$3"
}

# sleep_until MS: until the epoch time MS (ms); at once when past.
sleep_until() {
    local d=$(($1 - $(now_ms)))
    [ "$d" -gt 0 ] || return 0
    sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
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
    / DEBUG \[c[0-9]+ .*\] accepted( |$)/ { acc[$3] = ms($1) }
    / INFO \[c[0-9]+ .*\] publishing live\/bench$/ && !pub {
        pub = ms($1); a = acc[$3]
    }
    END {
        if (!pub) print "- - -"
        else printf "%.0f %.0f %.0f\n", listen, a, pub
    }' "$1"
}

reconnect_phase() {
    local op dir=$TMP/reconnect cyc=0 name spec down n k t_kill line
    local -a NEW_NAMES=() OLD_NAMES=() ALL=() names
    local -A PORT=() LAST=() OFF=()
    mkdir -p "$dir"
    for k in $(seq 1 "$RELAY_NEW"); do NEW_NAMES+=("n$k"); done
    for k in $(seq 1 "$RELAY_OLD"); do OLD_NAMES+=("o$k"); done
    ALL=("${NEW_NAMES[@]}" "${OLD_NAMES[@]}")
    op=$(free_port)
    for name in "${ALL[@]}"; do
        PORT[$name]=$(free_port)
        { server_ini "${PORT[$name]}" 50 debug; echo "[app:live]"; } \
            > "$dir/$name.ini"
    done
    {
        server_ini "$op" 50 debug
        echo "[app:live]"
        echo "relays = $(IFS=,; echo "${ALL[*]}" | sed 's/,/, /g')"
        for name in "${ALL[@]}"; do
            printf '\n[relay:%s]\nurl = rtmp://127.0.0.1:%s/live\n' \
                "$name" "${PORT[$name]}"
            case $name in o*) echo "retry_fast_for = 0" ;; esac
        done
    } > "$dir/origin.ini"
    for name in "${ALL[@]}"; do
        sluice "ds_$name" "$SERVER_CPU" "$dir/$name.0.log" "$dir/$name.ini"
        LAST[$name]=0
    done
    sluice origin "$SERVER_CPU" "$dir/origin.log" "$dir/origin.ini"
    # The publisher: sluice-bench with no players and a window longer
    # than the phase; it is stopped at the end.
    taskset -c "$GEN_CPU" "$SLUICE_BENCH" -u "rtmp://127.0.0.1:$op/live/bench" \
        -i "$INPUT" -n 0 -w 0 -d 3600 --settle 0 >"$dir/pub.log" 2>&1 &
    PID[pub]=$!
    say "reconnect: origin :$op, ${#NEW_NAMES[@]} relays with the default" \
        "schedule, ${#OLD_NAMES[@]} with retry_fast_for = 0 (outages up to" \
        "${RELAY_OLD_UPTO}s); outages (s:cycles) $RELAY_OUTAGES"
    for spec in $RELAY_OUTAGES; do
        down=${spec%%:*}
        n=${spec#*:}
        names=("${NEW_NAMES[@]}")
        [ "$down" -le "$RELAY_OLD_UPTO" ] && names+=("${OLD_NAMES[@]}")
        for k in $(seq 1 "$n"); do
            cyc=$((cyc + 1))
            for name in "${ALL[@]}"; do
                wait_log "$dir/$name.${LAST[$name]}.log" \
                    'publishing live/bench$' 150 ||
                    die "relay $name did not publish on its downstream" \
                        "(before cycle $cyc); see $dir"
            done
            sleep "$RELAY_HOLD_S"
            t_kill=$(now_ms)
            for name in "${names[@]}"; do
                kill -KILL "${PID[ds_$name]}" 2>/dev/null || true
            done
            for name in "${names[@]}"; do
                stop "ds_$name" KILL
                OFF[$name]=$((RANDOM % 1200))
            done
            # Each downstream back at its own offset, in that order.
            for name in $(for x in "${names[@]}"; do
                    echo "${OFF[$x]} $x"
                done | sort -n | cut -d' ' -f2); do
                sleep_until $((t_kill + down * 1000 + OFF[$name]))
                sluice_bg "ds_$name" "$SERVER_CPU" "$dir/$name.$cyc.log" \
                    "$dir/$name.ini"
                LAST[$name]=$cyc
                echo "$cyc $down $t_kill $name" >> "$dir/cycles"
            done
            for name in "${names[@]}"; do
                sluice_up "ds_$name" "$dir/$name.$cyc.log"
            done
        done
    done
    for name in "${ALL[@]}"; do
        wait_log "$dir/$name.${LAST[$name]}.log" 'publishing live/bench$' 150 ||
            die "relay $name did not publish after the last cycle; see $dir"
    done
    kill -0 "${PID[pub]}" 2>/dev/null ||
        die "the publisher stopped: $(tail -2 "$dir/pub.log")"
    stop pub
    for name in "${ALL[@]}"; do stop "ds_$name"; done
    stop origin
    # One line per cycle and relay:
    #   reconnect NAME CYCLE DOWN kill_ms listen_ms accept_ms publish_ms
    #             lost_ms origin_pushing_ms failed_connects first_try_ms
    while read -r cyc down t_kill name; do
        line=$(downstream_times "$dir/$name.$cyc.log")
        awk -v name="$name" -v cyc="$cyc" -v down="$down" -v kill="$t_kill" \
            -v ds="$line" "$AWK_TIME"'
        BEGIN { split(ds, d, " ") }
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
            printf "reconnect %s %d %d %s %s %s %s %.0f %.0f %d %.0f\n",
                name, cyc, down, kill, d[1], d[2], d[3], lost, pushing,
                fails, first
        }' "$dir/origin.log" >> "$RESULTS"
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
    echo "1. Reconnect after the downstream returns: SIGKILL, DOWN s + a" \
        "random 0-1.2 s down, restart (outages $RELAY_OUTAGES as DOWN:cycles;" \
        "$RELAY_NEW relays with the defaults, $RELAY_OLD with" \
        "retry_fast_for = 0 up to ${RELAY_OLD_UPTO}s; ms)"
    # Fields: 2 name, 3 cycle, 4 down, 5 kill, 6 listen, 7 accept,
    # 8 publish, 9 lost, 10 origin pushing, 11 failed connects, 12 first.
    awk '
    function sort(a, n,   i, j, t) {
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
                t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
            }
    }
    function median(a, n) {
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    # Nearest rank: the smallest value with 90% of the samples at or
    # below it.
    function p90(a, n,   r) {
        r = int(0.9 * n); if (r < 0.9 * n) r++
        return a[r]
    }
    function stat(g, k, what,   i, a, m) {
        m = cnt[g]
        for (i = 1; i <= m; i++) a[i] = v[g, k, i]
        sort(a, m)
        if (what == "med") return median(a, m)
        if (what == "p90") return p90(a, m)
        if (what == "min") return a[1]
        return a[m]
    }
    $1 == "reconnect" {
        kind = substr($2, 1, 1) == "n" ? "default" : "old"
        g = kind " " $4
        if (!(g in cnt)) { groups[++ng] = g }
        if ($8 == "-") { missing[g]++; cnt[g] += 0; next }
        i = ++cnt[g]
        v[g, "rec", i] = $8 - $6        # listen -> publishing
        v[g, "wait", i] = $7 - $6       # listen -> accepted
        v[g, "conn", i] = $8 - $7       # accepted -> publishing
        v[g, "out", i] = $6 - $5        # SIGKILL -> listening again
        v[g, "lost", i] = $9 - $5       # SIGKILL -> relay saw it
        v[g, "first", i] = $12 - $9     # loss -> first connect attempt
        v[g, "fails", i] = $11
        per = per sprintf("  %-3s %2d: down %6d  reconnect %5d (wait %5d +" \
            " connect %4d)  loss seen %4d  first try %5d  failed %3d\n",
            $2, $3, $6 - $5, $8 - $6, $7 - $6, $8 - $7, $9 - $5, $12 - $9,
            $11)
    }
    END {
        printf "  %-8s %5s %3s %8s | %27s | %13s | %6s %6s\n", "schedule",
            "down", "n", "outage", "reconnect median  p90  [min - max]",
            "wait + conn", "failed", "1st"
        for (x = 1; x <= ng; x++) {
            g = groups[x]
            split(g, gk, " ")
            if (cnt[g] == 0) {
                printf "  %-8s %4ss %3d  no reconnect\n", gk[1], gk[2], 0
                continue
            }
            printf "  %-8s %4ss %3d %8.0f | %9.0f %6.0f  [%5.0f - %5.0f] |" \
                " %5.0f + %5.0f | %6.0f %6.0f\n", gk[1], gk[2], cnt[g],
                stat(g, "out", "med"), stat(g, "rec", "med"),
                stat(g, "rec", "p90"), stat(g, "rec", "min"),
                stat(g, "rec", "max"), stat(g, "wait", "med"),
                stat(g, "conn", "med"), stat(g, "fails", "med"),
                stat(g, "first", "med")
        }
        for (g in missing)
            printf "  %s: %d restarts without a reconnect\n", g, missing[g]
        printf "  (outage: SIGKILL to listening again, median; failed:" \
            " connects that failed while down, median; 1st: the loss to" \
            " the first attempt, median)\n"
        printf "\n  Every restart (ms):\n%s", per
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
