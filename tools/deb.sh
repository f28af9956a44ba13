#!/bin/sh
# Builds the Debian package from this tree: `make deb` runs it after the
# player page's browser libraries are in their checked cache
# (build/web-libs).
#
# dpkg-buildpackage cleans the tree it builds in and writes its results
# into that tree's parent folder, so it runs in a copy under OUTDIR/src:
# the working tree's build/ and its parent folder are left alone.  The
# copy holds the files git knows (tracked or not ignored, edits
# included) and the libraries' cache.  Where this user may make a
# network namespace (root), the build runs in one with no network, which
# proves it needs none.
#
# usage: tools/deb.sh VERSION OUTDIR
# Leaves OUTDIR/sluice_VERSION_ARCH.deb and OUTDIR/build.log; exits 1
# when the changelog's version is not VERSION (the Makefile's) or the
# build fails.
set -eu

version=$1
out=$2
cd "$(dirname "$0")/.."

say() { echo "deb: $*" >&2; }

logged=$(dpkg-parsechangelog -S Version)
if [ "$logged" != "$version" ]; then
    say "debian/changelog is at $logged but the Makefile's VERSION is" \
        "$version: add a changelog entry (dch -v $version)"
    exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
if ! ls build/web-libs/*.tgz >/dev/null 2>&1; then
    say "build/web-libs is empty (make deb fills it first)"
    exit 1
fi

src=$out/src/sluice-$version
rm -rf "$out/src"
mkdir -p "$src/build/web-libs"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # -c lists tracked files deleted in the working tree too: skip them.
    git ls-files -z -c -o --exclude-standard |
        xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
        tar --null -T - -cf - | tar -C "$src" -xf -
else
    tar --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
cp build/web-libs/*.tgz "$src/build/web-libs/"

nonet=
if unshare -n true 2>/dev/null; then
    nonet="unshare -n"
else
    say "cannot make a network namespace here; building with the network"
fi
say "dpkg-buildpackage in $src${nonet:+ (no network)}; log: $out/build.log"
if ! (cd "$src" && $nonet dpkg-buildpackage -b -us -uc) \
    >"$out/build.log" 2>&1; then
    tail -n 30 "$out/build.log" >&2
    say "the package build failed; the whole log: $out/build.log"
    exit 1
fi
deb=sluice_${version}_$arch.deb
cp "$out/src/$deb" "$out/$deb"
say "built $out/$deb"
