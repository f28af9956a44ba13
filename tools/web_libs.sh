#!/bin/sh
# The player page's browser libraries, at pinned versions, checked by
# hash: each package's tarball comes from npm's registry (npm's own
# default, through `npm pack`), is kept in a cache folder, must match
# the sha256 that tools/web_libs.sha256 lists for it, and gives up one
# file, copied into OUTDIR under a name that carries its version (so it
# can be served as immutable), with its licence beside it.
#
# A tarball that does not match is refused: nothing is written to
# OUTDIR and the script exits 1.  A cached tarball is checked the same
# way every run, so the network is needed only for the first build.
#
# usage: tools/web_libs.sh CACHEDIR OUTDIR
set -eu

here=$(dirname "$0")
sums=$here/web_libs.sha256
cache=$1
out=$2

# package  version  file in the tarball  name served
LIBS="
hls.js    1.7.4 package/dist/hls.min.js hls-1.7.4.min.js
mpegts.js 1.8.2 package/dist/mpegts.js  mpegts-1.8.2.js
"

mkdir -p "$cache" "$out"
# First every tarball is fetched and checked, then files are extracted:
# one bad tarball leaves OUTDIR as it was.
echo "$LIBS" | while read -r pkg ver file served; do
    [ -n "$pkg" ] || continue
    tgz=$pkg-$ver.tgz
    want=$(awk -v f="$tgz" '$2 == f { print $1 }' "$sums")
    if [ -z "$want" ]; then
        echo "web_libs: $tgz has no line in $sums" >&2
        exit 1
    fi
    if [ ! -f "$cache/$tgz" ]; then
        if ! command -v npm >/dev/null 2>&1; then
            echo "web_libs: npm is needed to fetch $pkg@$ver" \
                "(make deps installs it)" >&2
            exit 1
        fi
        echo "web_libs: npm pack $pkg@$ver"
        (cd "$cache" && npm pack --silent --ignore-scripts "$pkg@$ver" \
            >/dev/null)
    fi
    got=$(sha256sum "$cache/$tgz" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
        echo "web_libs: REFUSED $cache/$tgz: its sha256 is $got" >&2
        echo "web_libs: but $sums pins $want:" >&2
        echo "web_libs: these are not the bytes that were reviewed," \
            "so nothing is embedded." >&2
        echo "web_libs: (a damaged download: delete the file and build" \
            "again; an upgrade: change the version here and the hash" \
            "there in one commit)" >&2
        exit 1
    fi
done
# The page loads each library by its served name: a version changed
# here alone would build a page that cannot play.
page=$here/../web/www/player.js
echo "$LIBS" | while read -r pkg ver file served; do
    [ -n "$pkg" ] || continue
    if ! grep -q "/assets/$served'" "$page"; then
        echo "web_libs: $page does not load /assets/$served" >&2
        exit 1
    fi
done
# OUTDIR holds these files only (an older version's would be embedded).
rm -f "$out"/*
echo "$LIBS" | while read -r pkg ver file served; do
    [ -n "$pkg" ] || continue
    tgz=$cache/$pkg-$ver.tgz
    tmp=$out/.$served.tmp
    tar -xzOf "$tgz" "$file" >"$tmp"
    mv "$tmp" "$out/$served"
    tar -xzOf "$tgz" package/LICENSE >"$tmp"
    mv "$tmp" "$out/$pkg-$ver.LICENSE.txt"
done
