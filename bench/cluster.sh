#!/usr/bin/env bash
# How fast new players move off a dead edge (docs/performance.md,
# docs/operations.md).
#
# An origin, two edges pulling from it and HAProxy in front of the edges,
# with the health and agent checks of conf/cluster/haproxy.cfg (check
# inter 1s fall 2 rise 1, agent-inter 1s, leastconn, option redispatch,
# retries 2), all on free loopback ports; ffmpeg publishes a 640x360
# stream to the origin for the whole run.  CLUSTER_RUNS times:
#   1. edge1 is (re)started and HAProxy sees it UP;
#   2. CLUSTER_PLAYERS ffmpeg players through HAProxy (some on edge1, so
#      both edges pull the stream);
#   3. "before": one ffmpeg play through HAProxy, timed from its start to
#      its exit after the first decoded video frame (what a play costs
#      with both edges up: process start, connect, ffmpeg's probing,
#      first keyframe from the GOP cache);
#   4. SIGKILL edge1; from that moment, "first play": ffmpeg plays through
#      HAProxy, one after another (each bounded at 3 s), until one exits
#      0 (it got a video frame, necessarily from edge2); "DOWN": when
#      HAProxy's stats first show edge1 DOWN (polled every 50 ms).
# Then the median of each column.
#
# Environment:
#   SLUICE=build/sluice  HAPROXY=/usr/sbin/haproxy   binaries
#   CLUSTER_RUNS=5  CLUSTER_PLAYERS=4
#   CLUSTER_INTER=1s   check and agent interval (as conf/cluster)
#   CLUSTER_KEEP=DIR   keep the logs there
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SLUICE=${SLUICE:-build/sluice}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
CLUSTER_RUNS=${CLUSTER_RUNS:-5}
CLUSTER_PLAYERS=${CLUSTER_PLAYERS:-4}
CLUSTER_INTER=${CLUSTER_INTER:-1s}
DIR=$(mktemp -d /tmp/sluice-bench-cluster-XXXXXX)
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${CLUSTER_KEEP:-}" ]; then
        mkdir -p "$CLUSTER_KEEP" && cp -r "$DIR"/. "$CLUSTER_KEEP"/
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Waits up to 10 s for needle in a file.
await() {
    for _ in $(seq 200); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "no '$2' in $1 within 10 s:" >&2
    tail -20 "$1" >&2
    exit 1
}

O_PORT=$(free_port) O_HTTP=$(free_port)
E_PORT=($(free_port) $(free_port)) E_HTTP=($(free_port) $(free_port))
E_AGENT=($(free_port) $(free_port))
LB_PORT=$(free_port) LB_STATS=$(free_port)

printf '[server]\nlisten = 127.0.0.1:%s\n[http]\nlisten = 127.0.0.1:%s\n[web]\nlisten = off\n[app:live]\n' \
    "$O_PORT" "$O_HTTP" >"$DIR/origin.ini"
for i in 0 1; do
    cat >"$DIR/edge$((i + 1)).ini" <<EOF
[server]
listen = 127.0.0.1:${E_PORT[$i]}
max_pending_per_ip = 0
connection_rate_per_ip = 0
[http]
listen = 127.0.0.1:${E_HTTP[$i]}
[web]
listen = off
[cluster]
capacity_mbps = 100
max_players = 500
agent_listen = 127.0.0.1:${E_AGENT[$i]}
[app:live]
pull = rtmp://127.0.0.1:$O_PORT/live
EOF
done
cat >"$DIR/haproxy.cfg" <<EOF
global
    maxconn 1000
defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    retries 2
    option redispatch
frontend rtmp
    bind 127.0.0.1:$LB_PORT
    default_backend edges
backend edges
    balance leastconn
    server edge1 127.0.0.1:${E_PORT[0]} weight 100 check inter $CLUSTER_INTER fall 2 rise 1 agent-check agent-port ${E_AGENT[0]} agent-inter $CLUSTER_INTER
    server edge2 127.0.0.1:${E_PORT[1]} weight 100 check inter $CLUSTER_INTER fall 2 rise 1 agent-check agent-port ${E_AGENT[1]} agent-inter $CLUSTER_INTER
frontend stats
    mode http
    bind 127.0.0.1:$LB_STATS
    timeout client 10s
    stats enable
    stats uri /stats
EOF

start() { # name: starts a Sluice with DIR/name.ini, its pid in PID_name
    "$SLUICE" -c "$DIR/$1.ini" >>"$DIR/$1.log" 2>&1 &
    PIDS+=($!)
    eval "PID_$1=$!"
}
# HAProxy's status of a server ("UP", "DOWN", ...).
lb_status() {
    curl -s --max-time 1 "http://127.0.0.1:$LB_STATS/stats;csv" |
        awk -F, -v s="$1" '$1 == "edges" && $2 == s { print $18 }'
}
await_status() { # server want
    for _ in $(seq 200); do
        case "$(lb_status "$1")" in "$2"*) return 0 ;; esac
        sleep 0.05
    done
    echo "haproxy: $1 not $2 within 10 s" >&2
    exit 1
}
# One play through HAProxy: exits 0 once it decoded a video frame.
play_once() {
    timeout 3 ffmpeg -hide_banner -nostdin -loglevel error \
        -i "rtmp://127.0.0.1:$LB_PORT/live/bench" -frames:v 1 -f null - \
        >/dev/null 2>&1
}

start origin
await "$DIR/origin.log" "listening on"
start edge2
await "$DIR/edge2.log" "listening on"
"$HAPROXY" -db -f "$DIR/haproxy.cfg" >"$DIR/haproxy.log" 2>&1 &
PIDS+=($!)
ffmpeg -hide_banner -nostdin -loglevel error -re \
    -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -b:v 1500k \
    -c:a aac -f flv "rtmp://127.0.0.1:$O_PORT/live/bench" \
    >"$DIR/publish.log" 2>&1 &
PIDS+=($!)
await "$DIR/origin.log" "publishing live/bench"

echo "cluster failover: origin, 2 edges, HAProxy $($HAPROXY -v | head -1 | awk '{print $3}')," \
    "check/agent interval $CLUSTER_INTER, $CLUSTER_PLAYERS players"
printf '%-4s %12s %18s %7s %14s\n' run "before (ms)" "first play (ms)" tries "DOWN (ms)"
BEFORE=() FIRST=() DOWN=()
for run in $(seq "$CLUSTER_RUNS"); do
    start edge1
    await "$DIR/edge1.log" "listening on"
    await_status edge1 UP
    await_status edge2 UP
    players=()
    for _ in $(seq "$CLUSTER_PLAYERS"); do
        ffmpeg -hide_banner -nostdin -loglevel error \
            -i "rtmp://127.0.0.1:$LB_PORT/live/bench" -f null - \
            >/dev/null 2>&1 &
        players+=($!)
        PIDS+=($!)
    done
    sleep 2
    # Both edges pull the stream now: what a play costs in the steady
    # state (the baseline for "first play").
    t=$(now_ms)
    play_once || { echo "a play with both edges up failed" >&2; exit 1; }
    before=$(($(now_ms) - t))

    # The poller notes when HAProxy first says DOWN.
    rm -f "$DIR/down"
    t0=$(now_ms)
    kill -KILL "$PID_edge1"
    wait "$PID_edge1" 2>/dev/null || true
    (
        for _ in $(seq 200); do
            case "$(lb_status edge1)" in
            DOWN*) echo $(($(now_ms) - t0)) >"$DIR/down"; exit 0 ;;
            esac
            sleep 0.05
        done
    ) &
    poller=$!
    tries=0 first=""
    while [ $(($(now_ms) - t0)) -lt 10000 ]; do
        tries=$((tries + 1))
        if play_once; then
            first=$(($(now_ms) - t0))
            break
        fi
    done
    wait "$poller" || true
    down=$(cat "$DIR/down" 2>/dev/null || echo "-")
    for p in "${players[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    wait "${players[@]}" 2>/dev/null || true
    printf '%-4s %12s %18s %7s %14s\n' "$run" "$before" "${first:--}" "$tries" "$down"
    BEFORE+=("$before") FIRST+=("${first:-99999}") DOWN+=("${down/-/99999}")
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-4s %12s %18s %7s %14s\n' median "$(median "${BEFORE[@]}")" \
    "$(median "${FIRST[@]}")" "" "$(median "${DOWN[@]}")"
