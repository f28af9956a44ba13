# What the bench scripts share; sourced (`. "$ROOT/bench/lib.sh"`) by
# run.sh, hls.sh, relay.sh, ladder.sh, scale.sh, web_soak.sh and srt.sh
# after they set BENCH_TAG, the prefix of their messages.  It defines
# functions only:
#   say MSG...             MSG on stderr as "BENCH_TAG: MSG"
#   die MSG...             the same, then exit 1
#   need_bins FILE...      die unless each FILE is executable (run make)
#   port_busy PORT         true when something listens on TCP or UDP PORT
#                          (or holds it) on any address
#   free_port              a port nothing uses, below the ephemeral range
#   wait_listen PORT PID   until something listens on PORT, while PID lives
#   wait_udp PORT PID      until a UDP socket is bound to PORT, while PID
#                          lives
#   make_input_720p FILE   the 720p30 ~2 Mbit/s FLV clip, made once
#   child_of PID           the process that PID (a `timeout` we started)
#                          runs, once it has started it
#   stop_pid PID           SIGTERM to PID, SIGKILL after 5 s; reaped
#   proc_ticks PID         "utime stime" of PID, all threads, clock ticks
#   proc_run_ns PID        nanoseconds PID's live threads have run
#   proc_rss PID           VmRSS of PID in KiB
#   cpu_busy CPU           ticks CPU spent running tasks (user, nice,
#                          system, steal) since boot

say() { echo "$BENCH_TAG: $*" >&2; }
die() { say "$@"; exit 1; }

need_bins() {
    local bin
    for bin in "$@"; do
        [ -x "$bin" ] || die "$bin not found (run make first)"
    done
}

port_busy() {
    local hex
    hex=$(printf ':%04X ' "$1")
    cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 \
        2>/dev/null | grep -q "$hex"
}

# Below the kernel's ephemeral range: the players' own sockets (and other
# programs' outgoing connections) take ports from that range and could
# claim ours between the check and the bind.  Two calls may give the same
# port: a caller that needs several different ones compares them.
free_port() {
    local p lo
    lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    lo=${lo:-32768}
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % (lo - 10000)))
        if ! port_busy "$p"; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

wait_listen() {
    local hex
    hex=$(printf ':%04X ' "$1")
    for _ in $(seq 1 100); do
        kill -0 "$2" 2>/dev/null || return 1
        # state 0A is LISTEN
        if awk -v h="$hex" 'index($2 " ", h) && $4 == "0A" {f=1} END {exit !f}' \
            /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

wait_udp() {
    local hex
    hex=$(printf ':%04X' "$1")
    for _ in $(seq 1 100); do
        kill -0 "$2" 2>/dev/null || return 1
        if awk -v h="$hex" 'NR > 1 && substr($2, length($2) - 4) == h \
                {f=1} END {exit !f}' /proc/net/udp /proc/net/udp6 \
                2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# A benchmark starts each process as `timeout T taskset -c CPU PROG &`:
# $! is timeout's pid, PROG (taskset execs it) is timeout's one child.
# The child is what gets measured; killing timeout's pid ends both.
child_of() {
    local kids
    for _ in $(seq 1 100); do
        kids=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || return 1
        if [ -n "$kids" ]; then
            echo "${kids%% *}"
            return 0
        fi
        sleep 0.02
    done
    return 1
}

stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Fields 14 and 15 of /proc/PID/stat, counted after the last ')' since
# the command name may hold spaces.
proc_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo "${12} ${13}"
}

# The first field of each thread's schedstat: its run time in ns, exact
# where utime + stime are whole ticks (10 ms), which matters for a
# process that uses 1 % of a core.  Threads that have exited are not in
# it: use it for processes whose threads live through the window.
proc_run_ns() {
    cat /proc/"$1"/task/*/schedstat 2>/dev/null |
        awk '{t += $1} END {printf "%.0f\n", t}'
}

proc_rss() {
    awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status" 2>/dev/null
}

# Interrupt and softirq ticks are left out, as bench/measure.c does: the
# kernel may charge that time to the task it interrupted too.
cpu_busy() {
    awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $9}' /proc/stat
}

# The input of the RTMP and HTTP-FLV benches: 720p30 test pattern + tone,
# x264 at 1.9 Mbit/s (2.0 max), keyframe every 2 s, AAC 96k: about
# 2 Mbit/s in all, 25 s.  Made when FILE is missing or empty.
make_input_720p() {
    local input=$1
    [ ! -s "$input" ] || return 0
    say "making $input (25 s, ffmpeg)"
    ffmpeg -hide_banner -loglevel error -y \
        -f lavfi -i testsrc2=size=1280x720:rate=30 \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t 25 \
        -c:v libx264 -preset veryfast -b:v 1900k -maxrate 2000k \
        -bufsize 4000k -g 60 -pix_fmt yuv420p \
        -c:a aac -b:a 96k -f flv "$input.tmp" </dev/null
    mv "$input.tmp" "$input"
}
