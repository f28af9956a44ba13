#!/bin/bash
# make test-deb: the Debian package on a fresh Debian 12.  It checks the
# package with lintian, debootstraps bookworm (minbase) into a temporary
# folder, installs the package there with apt (no recommends: Depends
# alone must bring every library the binary needs), and then, inside
# that root:
#   - the package is installed, its config is a conffile, the sluice user
#     and its state folders exist, ldd finds every library;
#   - `sluice -t` accepts the shipped config, as root and as sluice;
#   - `sluice -h` and the installed man page name the same options;
#   - the shipped config, with its ports moved to free loopback ports and
#     its two example folders (record, hls_path) uncommented, serves as
#     the sluice user: a publish from the host's ffmpeg (the root shares
#     this network namespace) shows in the API, plays back over RTMP,
#     is packaged as LL-HLS, is recorded and written under
#     /var/lib/sluice; SIGTERM stops it with status 0 and no ERROR line;
#   - installing the same package again (the upgrade path) and purging
#     it work, and the purge keeps the recordings.
# The unit is checked with the host's systemd-analyze when there is one.
#
# Needs root (debootstrap, chroot, mount) and the network for Debian's
# archive.  /proc and /dev are mounted in the root for the test's
# duration; every exit path unmounts them (and anything debootstrap left)
# before the folder is removed.  Downloads are kept in SLUICE_DEB_CACHE
# (/var/cache/sluice-debootstrap; empty: no cache) so a rerun is faster.
#
# usage: tests/deb/run.sh DEB
set -euo pipefail

BENCH_TAG=test-deb
ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# say, die, port_busy, free_port
. "$ROOT_DIR/bench/lib.sh"

[ $# = 1 ] && [ -f "$1" ] || die "usage: $0 PATH/sluice_VERSION_ARCH.deb"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount)"
DEB=$(realpath "$1")
MIRROR=${SLUICE_DEB_MIRROR:-http://deb.debian.org/debian}
CACHE=${SLUICE_DEB_CACHE-/var/cache/sluice-debootstrap}
SUITE=bookworm

t0=$(date +%s)
phase_t=$t0
# Prints how long the phase that just ended took.
phase() {
    local now
    now=$(date +%s)
    say "$1 ($((now - phase_t)) s)"
    phase_t=$now
}

# The logs of the last run stay here (the root itself is removed).
logs=$ROOT_DIR/build/deb/test-logs
work=$(mktemp -d /tmp/sluice-deb.XXXXXX)
root=$work/root
server_pid=
pub_pid=
step_pid=

# Mount points at or under $root, deepest first.
mounts_under_root() {
    awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' \
        /proc/self/mounts | sort -r
}

# cleanup() may run inside a step whose stderr goes to a log in $work
# (a signal while it ran): it writes to fd 3, the test's own stderr.
exec 3>&2
cleanup() {
    local rc=$? m left
    trap - EXIT INT TERM
    exec 2>&3
    # Each is a `timeout` leading its own process group: TERM is passed
    # on to its command, KILL to the group reaches the command too.
    for pid in $step_pid $pub_pid $server_pid; do
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for m in $(mounts_under_root); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    left=$(mounts_under_root)
    if [ -n "$left" ]; then
        # Removing the folder now would reach into what is mounted there
        # (the host's /dev): leave it and say so.
        say "could not unmount, NOT removing $work:" $left
        rc=1
    else
        rm -rf "$logs"
        mkdir -p "$logs"
        find "$work" -maxdepth 1 -type f -exec cp -t "$logs" {} + || true
        rm -rf --one-file-system "$work"
    fi
    say "$( ((rc == 0)) && echo passed || echo FAILED) in" \
        "$(($(date +%s) - t0)) s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# In the root, bounded in time.  as_sluice needs $ids, the sluice user's
# uid:gid in the root (names could mean another user on this host).
in_root() { timeout 60 chroot "$root" "$@"; }
as_sluice() { timeout 60 chroot --userspec="$ids" "$root" "$@"; }
# The long steps (debootstrap, apt, dpkg): SECONDS COMMAND..., run as a
# child that a signal does not have to wait for.  `timeout` puts it in a
# process group of its own, out of reach of a Ctrl-C, and bash would run
# the INT or TERM trap only once a foreground child ended; waiting with
# `wait` lets the trap run at once and cleanup() stop the step.
bounded() {
    local secs=$1 rc=0
    shift
    timeout "$secs" "$@" &
    step_pid=$!
    wait "$step_pid" || rc=$?
    step_pid=
    return "$rc"
}

# ---- the package as lintian sees it ----
# Errors and warnings fail the test; the ones the project accepts are
# overridden with their reasons in debian/sluice.lintian-overrides.
bounded 300 lintian --fail-on error,warning --display-info "$DEB" \
    >"$work/lintian.log" 2>&1 || {
    cat "$work/lintian.log" >&2
    die "lintian found errors or warnings"
}
grep -v '^running with root privileges' "$work/lintian.log" >&2 || true
phase "lintian: no error, no warning"

# ---- a fresh Debian 12 ----
cache_args=()
if [ -n "$CACHE" ]; then
    mkdir -p "$CACHE/debootstrap" "$CACHE/apt"
    cache_args=(--cache-dir="$CACHE/debootstrap")
fi
bounded 900 debootstrap --variant=minbase "${cache_args[@]}" "$SUITE" \
    "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    die "debootstrap failed (log above)"
}
phase "debootstrap $SUITE --variant=minbase into $root"

mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
# As a Debian 12 machine has it: the point releases and security fixes.
cat >"$root/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# A throwaway root need not survive a power cut: no fsync per file.
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/sluice-test-unsafe-io"
if [ -n "$CACHE" ]; then
    find "$CACHE/apt" -name '*.deb' -exec cp -t "$root/var/cache/apt/archives/" {} +
fi
cp "$DEB" "$root/tmp/"
debname=$(basename "$DEB")
before=$(in_root dpkg-query -W -f='${Package}\n' | sort)
bounded 300 chroot "$root" apt-get update -qq >"$work/apt.log" 2>&1 || {
    cat "$work/apt.log" >&2
    die "apt-get update failed in the root"
}
bounded 900 chroot "$root" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "/tmp/$debname" \
    >>"$work/apt.log" 2>&1 || {
    tail -n 30 "$work/apt.log" >&2
    die "apt-get install ./$debname failed in the root"
}
after=$(in_root dpkg-query -W -f='${Package}\n' | sort)
added=$(comm -13 <(echo "$before") <(echo "$after") | wc -l)
if [ -n "$CACHE" ]; then
    find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' \
        -exec cp -n -t "$CACHE/apt/" {} +
fi
phase "apt-get install ./$debname: $added packages, sluice included"

# ---- what the package installed ----
status=$(in_root dpkg-query -W -f='${Status}' sluice)
[ "$status" = "install ok installed" ] || die "dpkg -s sluice: $status"
in_root dpkg -s sluice >"$work/dpkg-s.txt"
in_root dpkg-query -W -f='${Conffiles}\n' sluice |
    grep -q '^ /etc/sluice/sluice.ini ' ||
    die "/etc/sluice/sluice.ini is not a conffile"
missing=$(in_root ldd /usr/bin/sluice | grep 'not found' || true)
[ -z "$missing" ] || die "libraries Depends did not bring: $missing"
pw=$(in_root getent passwd sluice) || die "no sluice user"
ids=$(echo "$pw" | cut -d: -f3,4)
case "$pw" in
*:/var/lib/sluice:/usr/sbin/nologin) ;;
*) die "sluice user: $pw (want home /var/lib/sluice, no login)" ;;
esac
for d in /var/lib/sluice /var/lib/sluice/recordings /var/lib/sluice/hls; do
    owner=$(stat -c %u:%g "$root$d" 2>/dev/null) ||
        die "$d is missing"
    [ "$owner" = "$ids" ] || die "$d belongs to $owner, not sluice ($ids)"
done
in_root sluice -t -c /etc/sluice/sluice.ini >/dev/null ||
    die "sluice -t refuses the shipped config (as root)"
as_sluice /usr/bin/sluice -t -c /etc/sluice/sluice.ini >/dev/null ||
    die "sluice -t refuses the shipped config (as sluice)"
# Every option `sluice -h` lists is in the man page, and the reverse.
opts_help=$(in_root sluice -h | grep -oE '(^|[ ,])--?[a-zA-Z][a-z]*' |
    tr -d ' ,' | sort -u)
opts_man=$(in_root zcat /usr/share/man/man1/sluice.1.gz |
    grep -E '^\.(B|BI|BR) ' | grep -oE '\\-\\?-?[a-zA-Z][a-z]*' |
    tr -d '\\' | sort -u)
[ "$opts_help" = "$opts_man" ] ||
    die "sluice -h lists $(echo $opts_help), sluice(1) $(echo $opts_man)"
if command -v systemd-analyze >/dev/null 2>&1; then
    # The unit as installed, its programs looked up in the root.
    sed -e "s|=/usr/bin/sluice|=$root/usr/bin/sluice|" \
        "$root/lib/systemd/system/sluice.service" >"$work/sluice.service"
    MANPATH=$root/usr/share/man systemd-analyze verify \
        "$work/sluice.service" 2>&1 | tee "$work/verify.log" >&2
    [ ! -s "$work/verify.log" ] || die "systemd-analyze verify: the unit"
fi
phase "installed: conffile, user, folders, libraries, -t, -h = man page"

# ---- the server, as the unit runs it (-n, user sluice) ----
rtmp=$(free_port)
http=$(free_port)
web=$(free_port)
srt=$(free_port) # a TCP port free now; its UDP twin is as likely free
while [ "$http" = "$rtmp" ]; do http=$(free_port); done
while [ "$web" = "$rtmp" ] || [ "$web" = "$http" ]; do web=$(free_port); done
mkdir -p "$root/tmp/sluice-test"
chmod 0755 "$root/tmp/sluice-test"
ini=/tmp/sluice-test/sluice.ini
# The shipped file with its ports moved and the examples that name
# /var/lib/sluice uncommented.
awk -v rtmp="$rtmp" -v http="$http" -v web="$web" -v srt="$srt" '
    /^\[/ { section = $0 }
    section == "[server]" && /^listen = / { $0 = "listen = 127.0.0.1:" rtmp }
    section == "[server]" && /^srt_listen = / { $0 = "srt_listen = 127.0.0.1:" srt }
    section == "[http]" && /^listen = / { $0 = "listen = 127.0.0.1:" http }
    /^; (record|hls_path) = \/var\/lib\/sluice\// { $0 = substr($0, 3) }
    { print }
    $0 == "[web]" { print "listen = 127.0.0.1:" web }
' "$root/etc/sluice/sluice.ini" >"$root$ini"
grep -q "^record = /var/lib/sluice/recordings$" "$root$ini" ||
    die "the shipped config has no '; record = /var/lib/sluice/...' example"
grep -q "^hls_path = /var/lib/sluice/hls$" "$root$ini" ||
    die "the shipped config has no '; hls_path = /var/lib/sluice/...' example"
as_sluice /usr/bin/sluice -t -c "$ini" >/dev/null ||
    die "sluice -t refuses the config with its examples uncommented"

# timeout passes SIGTERM on to the server and exits with its status.
timeout -s KILL 120 chroot --userspec="$ids" "$root" \
    /usr/bin/sluice -n -c "$ini" >"$work/server.log" 2>&1 &
server_pid=$!
listening() {
    awk -v h="$(printf ':%04X ' "$1")" \
        'index($2 " ", h) && $4 == "0A" { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
for _ in $(seq 1 150); do
    kill -0 "$server_pid" 2>/dev/null || break
    listening "$rtmp" && listening "$web" && break
    sleep 0.1
done
listening "$rtmp" || { cat "$work/server.log" >&2; die "not listening"; }
phase "the server listens on 127.0.0.1:$rtmp (RTMP), :$http, :$web"

url=rtmp://127.0.0.1:$rtmp/live/x
timeout 60 ffmpeg -hide_banner -loglevel error -re \
    -f lavfi -i testsrc2=size=320x240:rate=25 \
    -f lavfi -i sine=frequency=440:sample_rate=44100 -t 8 \
    -c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p \
    -c:a aac -b:a 64k -f flv "$url" </dev/null >"$work/publish.log" 2>&1 &
pub_pid=$!
seen=
for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$http/api/v1/streams/live/x" \
        >"$work/stream.json" 2>/dev/null; then
        seen=1
        break
    fi
    kill -0 "$pub_pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$seen" ] || { cat "$work/publish.log" >&2; die "live/x never showed"; }
codecs=$(timeout 30 ffprobe -v error -rw_timeout 10000000 \
    -show_entries stream=codec_name -of csv=p=0 "$url" | sort | tr '\n' ' ')
[ "$codecs" = "aac h264 " ] || die "playing $url gave: '$codecs'"
m3u8=
for _ in $(seq 1 50); do
    m3u8=$(curl -sf "http://127.0.0.1:$web/live/x.m3u8" 2>/dev/null) && break
    sleep 0.1
done
case "$m3u8" in
'#EXTM3U'*) ;;
*) die "no LL-HLS master playlist on the web port" ;;
esac
# hls_path: the same playlists written by the sluice user.
for _ in $(seq 1 50); do
    [ -z "$(find "$root/var/lib/sluice/hls" -name '*.m3u8' -uid "${ids%:*}")" ] ||
        break
    sleep 0.1
done
[ -n "$(find "$root/var/lib/sluice/hls" -name '*.m3u8' -uid "${ids%:*}")" ] ||
    die "no HLS files in /var/lib/sluice/hls"
wait "$pub_pid" || { cat "$work/publish.log" >&2; die "the publish failed"; }
pub_pid=
phase "publish: in the API, played back ($codecs), LL-HLS served and written"

kill -TERM "$server_pid"
stopped=
for _ in $(seq 1 150); do
    kill -0 "$server_pid" 2>/dev/null || { stopped=1; break; }
    sleep 0.1
done
[ -n "$stopped" ] || die "still running 15 s after SIGTERM"
rc=0
wait "$server_pid" || rc=$?
server_pid=
[ "$rc" = 0 ] || { cat "$work/server.log" >&2; die "exit status $rc"; }
if grep ' ERROR ' "$work/server.log" >&2; then
    die "the server logged an ERROR line"
fi
rec=$(find "$root/var/lib/sluice/recordings" -name 'live-x-*.flv' \
    -uid "${ids%:*}" -size +10k | head -n 1)
[ -n "$rec" ] || die "no recording of live/x in /var/lib/sluice/recordings"
phase "SIGTERM: exit 0, no ERROR; $(basename "$rec") ($(stat -c %s "$rec") bytes)"

# ---- upgrade path and purge ----
bounded 300 chroot "$root" dpkg -i "/tmp/$debname" >>"$work/apt.log" 2>&1 || {
    tail -n 20 "$work/apt.log" >&2
    die "installing the package over itself failed"
}
bounded 300 chroot "$root" dpkg --purge sluice >>"$work/apt.log" 2>&1 || {
    tail -n 20 "$work/apt.log" >&2
    die "dpkg --purge sluice failed"
}
for f in /usr/bin/sluice /etc/sluice /lib/systemd/system/sluice.service; do
    [ ! -e "$root$f" ] || die "$f is still there after the purge"
done
[ -f "$rec" ] || die "the purge removed the recordings"
phase "reinstall over itself, purge: clean, recordings kept"
