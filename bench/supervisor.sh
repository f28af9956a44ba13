#!/bin/bash
# How long the master takes to bring back a killed serving process:
# SIGKILL to the serving process, then the time until the new one is
# logged as started and until its HTTP API answers /healthz (it serves
# RTMP from the same moment; the RTMP port itself never closes).  The
# killed process has run RUN_S seconds each time, past the 10 s after
# which a death gets no back-off, so this is the plain restart.
#   bench/supervisor.sh [RUNS]   (default 5; RUN_S=11)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
RUN_S=${RUN_S:-11}
SLUICE=${SLUICE:-build/sluice}
command -v curl >/dev/null || { echo "needs curl" >&2; exit 1; }
[ -x "$SLUICE" ] || { echo "build $SLUICE first (make)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TMP=$(mktemp -d /tmp/sluice-super.XXXXXX)
RTMP=$(free_port); HTTP=$(free_port)
cat >"$TMP/s.ini" <<INI
[server]
listen = 127.0.0.1:$RTMP
workers = 1
[http]
listen = 127.0.0.1:$HTTP
[web]
listen = off
[app:live]
INI
"$SLUICE" -c "$TMP/s.ini" >"$TMP/log" 2>&1 &
MASTER=$!
trap 'kill -TERM $MASTER 2>/dev/null; wait $MASTER 2>/dev/null; rm -rf "$TMP"' EXIT
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
nth_pid() { grep -o 'serving process [0-9]* started' "$TMP/log" | sed -n "${1}p" | awk '{print $3}'; }
wait_for() { local t=$(( $(now_ms) + 10000 )); until eval "$1"; do
    [ "$(now_ms)" -lt $t ] || { echo "timed out: $1" >&2; exit 1; }; sleep 0.005; done; }

wait_for '[ -n "$(nth_pid 1)" ]'
printf '%-4s %14s %16s\n' run "started (ms)" "/healthz (ms)"
starts=(); healths=()
for i in $(seq 1 "$RUNS"); do
    sleep "$RUN_S"
    pid=$(nth_pid "$i")
    t0=$(now_ms)
    kill -KILL "$pid"
    wait_for '[ -n "$(nth_pid $((i + 1)))" ]'
    t1=$(now_ms)
    wait_for 'curl -s -o /dev/null --max-time 0.2 http://127.0.0.1:$HTTP/healthz'
    t2=$(now_ms)
    printf '%-4s %14s %16s\n' "$i" $((t1 - t0)) $((t2 - t0))
    starts+=($((t1 - t0))); healths+=($((t2 - t0)))
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-4s %14s %16s\n' med "$(median "${starts[@]}")" "$(median "${healths[@]}")"
