#!/bin/bash
# The cluster demo (make cluster-demo, docs/operations.md): the origin,
# two edges and HAProxy from conf/cluster/, on loopback ports, in the
# foreground.  Ctrl-C stops them all.  Logs go to a temp folder.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${SLUICE_BIN:-build/sluice}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
LOGS=$(mktemp -d /tmp/sluice-cluster-XXXXXX)
PIDS=()

stop() {
    trap - INT TERM EXIT
    echo
    echo "stopping..."
    # Sluice stops gracefully on SIGTERM; HAProxy too.  Bounded: whatever
    # is still there after 10 s is killed.
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for _ in $(seq 100); do
        alive=0
        for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    echo "stopped (logs in $LOGS)"
    exit 0
}
trap stop INT TERM EXIT

# Waits up to 10 s for needle in a log; stops everything when it fails.
await() {
    for _ in $(seq 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$1: no '$2' within 10 s:"
    tail -20 "$1"
    stop
}

for n in origin edge1 edge2; do
    "$BIN" -c "conf/cluster/$n.ini" >"$LOGS/$n.log" 2>&1 &
    PIDS+=($!)
    await "$LOGS/$n.log" "listening on"
done
"$HAPROXY" -db -f conf/cluster/haproxy.cfg >"$LOGS/haproxy.log" 2>&1 &
PIDS+=($!)
await_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "haproxy did not open port $1:"
    tail -20 "$LOGS/haproxy.log"
    stop
}
await_port 19360

cat <<TXT
Sluice cluster demo: origin, edge1, edge2 and HAProxy are running.

  publish (origin):   rtmp://127.0.0.1:19350/live/KEY
  play (HAProxy):     rtmp://127.0.0.1:19360/live/KEY

  origin API:         http://127.0.0.1:18080/api/v1/server
  edge1 API:          http://127.0.0.1:18081/api/v1/server   (agent 127.0.0.1:19451)
  edge2 API:          http://127.0.0.1:18082/api/v1/server   (agent 127.0.0.1:19452)
  HAProxy stats:      http://127.0.0.1:18090/stats

For example:
  ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine \\
      -c:v libx264 -preset veryfast -b:v 2000k -g 60 -c:a aac \\
      -f flv rtmp://127.0.0.1:19350/live/demo
  ffplay rtmp://127.0.0.1:19360/live/demo

Logs: $LOGS
Ctrl-C stops everything.
TXT

# Until Ctrl-C, or until one of them dies.
while :; do
    for i in "${!PIDS[@]}"; do
        if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
            echo "process ${PIDS[$i]} ended; see $LOGS"
            stop
        fi
    done
    # wait, unlike a foreground sleep, returns at once on a trapped
    # signal, so a SIGINT or SIGTERM to this script alone stops it too.
    sleep 1 &
    wait $!
done
