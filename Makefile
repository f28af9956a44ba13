# Sluice build.  `make` builds build/sluice and build/sluice-bench;
# `make run`, `make test`, `make bench`, `make bench-ladder`,
# `make bench-relay`, `make bench-hls`, `make bench-hls-latency`,
# `make bench-srt`,
# `make bench-cluster`, `make bench-scale`,
# `make cluster-demo`, `make fuzz`, `make install`, `make deb`,
# `make test-deb`;
# SAN=1 or TSAN=1 for sanitizer builds (they use their own build folder so
# objects never mix).

CC      ?= cc
VERSION := 0.1.0

# Debian packages each step needs.  `make deps` installs what is missing
# when run as root and otherwise prints the apt-get line and stops.
DEPS_BUILD := gcc make pkg-config libinih-dev libcunit1-dev libssl-dev \
              libavcodec-dev libavformat-dev libavutil-dev libswscale-dev \
              libswresample-dev libmicrohttpd-dev libjansson-dev \
              libcurl4-openssl-dev libhttp-parser-dev libsrt-gnutls-dev npm
DEPS_TEST  := ffmpeg openssl rtmpdump gstreamer1.0-tools \
              gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
              gstreamer1.0-plugins-bad \
              gstreamer1.0-plugins-ugly gstreamer1.0-libav procps \
              nginx-light libnginx-mod-rtmp chromium curl python3 haproxy
DEPS_FUZZ  := clang libclang-rt-14-dev
# make deb and make test-deb: the package tools, debootstrap for the
# fresh root the package is installed into, ffmpeg (ffprobe too) to
# publish to and play from the server there, curl for its API.
DEPS_DEB   := debhelper dpkg-dev fakeroot lintian debootstrap util-linux \
              ffmpeg curl
DEPS_BENCH := nginx-light libnginx-mod-rtmp procps util-linux srt-tools
# make cluster-demo and bench/cluster.sh: the balancer, ffmpeg to publish
# and play, curl for HAProxy's stats, python3 for free ports.
DEPS_CLUSTER := haproxy ffmpeg curl python3

ifeq ($(SAN),1)
BUILD    := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all
export SL_TEST_SKIP := player
else ifeq ($(TSAN),1)
BUILD    := build/tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
# Test binaries and the servers they start inherit it.
export TSAN_OPTIONS := suppressions=$(CURDIR)/tests/tsan.supp $(TSAN_OPTIONS)
# The browser's suite (headless Chromium playing the page) runs in the
# plain pass only: the server paths it drives are the web and hls
# suites', which the sanitizer passes run.
export SL_TEST_SKIP := player
else
BUILD    := build/obj
SANFLAGS :=
endif

# Expanded when used, not when the Makefile is read: on a fresh machine
# the deps step installs pkg-config and the libraries first.
# CUnit is the test binaries' alone: the server links only what it
# runs with, which is what the Debian package's Depends is computed from
# (and a package build needs no test library).  libsrt is the GnuTLS
# build (libsrt-gnutls-dev), the one Debian's libavformat links: one
# libsrt in the process, whether SRT comes in on our port or a relay
# pushes srt:// through libavformat.
PKGS    := inih libssl libcrypto libavcodec libavformat libavutil \
           libswscale libswresample libmicrohttpd jansson libcurl srt
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS  = $(shell pkg-config --libs cunit 2>/dev/null)
# The HTTP request parser (web/request.c) is the Node.js http_parser from
# libhttp-parser-dev, which ships no pkg-config file: its header is in
# /usr/include and its library in the default search path.  One name for
# every link line, the fuzz targets' included.
HTTP_PARSER_LIBS := -lhttp_parser

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
           -Wno-unused-parameter -pthread -I. $(PKG_CFLAGS) $(SANFLAGS) \
           -DSL_VERSION=\"$(VERSION)\"
LDFLAGS += -pthread $(SANFLAGS)
LDLIBS  += $(PKG_LIBS) $(HTTP_PARSER_LIBS) -lm

CORE_SRC := $(wildcard pool/*.c) $(wildcard rtmp/*.c) $(wildcard web/*.c) \
            $(filter-out server/main.c,$(wildcard server/*.c)) \
            $(wildcard media/*.c) $(wildcard transcode/*.c) \
            $(wildcard relay/*.c) $(wildcard record/*.c) \
            $(wildcard hls/*.c) $(wildcard srt/*.c)
# The dashboard (server/www/) is compiled in: tools/embed.sh turns it
# into a C file of byte arrays, shared by every build flavour.
WWW      := $(sort $(wildcard server/www/*))
ASSETS_C := build/gen/assets.c
# The player page (web/www/) and the browser libraries it plays with
# (hls.js, mpegts.js) are compiled in the same way, as a second table.
# tools/web_libs.sh gets the libraries with `npm pack` into a cache
# under build/ and refuses any tarball whose sha256 is not the one
# tools/web_libs.sha256 pins.
PLAYER_WWW := $(sort $(wildcard web/www/*))
WEB_LIBS   := build/gen/web-libs
PLAYER_C   := build/gen/player_assets.c build/gen/player_libs.c
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/assets.o \
            $(BUILD)/gen/player_assets.o $(BUILD)/gen/player_libs.o
UNIT_SRC := $(wildcard tests/unit/*.c) $(wildcard tests/support/*.c) \
            bench/flvread.c bench/hlsread.c bench/httphead.c bench/tsscan.c
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
INTEG_SRC := $(wildcard tests/integration/*.c) $(wildcard tests/support/*.c) bench/flvfile.c
INTEG_OBJ := $(INTEG_SRC:%.c=$(BUILD)/%.o)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_OBJ := $(BENCH_SRC:%.c=$(BUILD)/%.o)

SLUICE    := $(BUILD)/sluice
BENCHBIN  := $(BUILD)/sluice-bench
UNITBIN   := $(BUILD)/unit-tests
INTEGBIN  := $(BUILD)/integration-tests

.PHONY: all run test unit integration bench bench-ladder bench-relay bench-hls \
        bench-hls-latency bench-sendpath bench-srt \
        fuzz soak soak-web \
        deps deps-test deps-fuzz deps-bench clean format cluster-demo \
        bench-cluster deps-cluster bench-scale install uninstall deb \
        test-deb deps-deb

all: deps build/sluice build/sluice-bench

# build/sluice and build/sluice-bench, the names the README uses, are
# copies of the current build's binaries; copy-then-rename so a running
# server does not block the update ("text file busy").
build/sluice: $(SLUICE)
	@cp $< $@.tmp && mv -f $@.tmp $@
build/sluice-bench: $(BENCHBIN)
	@cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/sluice: $(BUILD)/server/main.o $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/sluice-bench: $(BENCH_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNITBIN): $(UNIT_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LDLIBS)
$(INTEGBIN): $(INTEG_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LDLIBS)

# A change of flags rebuilds everything (the stamp holds the flags).
# CPPFLAGS is empty unless given: a package build passes its
# _FORTIFY_SOURCE there (dpkg-buildflags).
$(BUILD)/flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(CPPFLAGS) $(CFLAGS)' | cmp -s - $@ || \
	    echo '$(CC) $(CPPFLAGS) $(CFLAGS)' > $@
FORCE:

$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(ASSETS_C): $(WWW) tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh $@ $(WWW)
$(BUILD)/gen/assets.o: $(ASSETS_C) $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<
$(WEB_LIBS).stamp: tools/web_libs.sh tools/web_libs.sha256
	sh tools/web_libs.sh build/web-libs $(WEB_LIBS)
	@touch $@
build/gen/player_assets.c: $(PLAYER_WWW) tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh -t sl_player_assets -n sl_player_nassets $@ \
	    $(PLAYER_WWW)
build/gen/player_libs.c: $(WEB_LIBS).stamp tools/embed.sh
	sh tools/embed.sh -t sl_player_libs -n sl_player_nlibs $@ \
	    $(sort $(wildcard $(WEB_LIBS)/*))
$(BUILD)/gen/player_%.o: build/gen/player_%.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

run: all
	./build/sluice -c conf/sluice.ini

# The test binaries take the server binary from $(SLUICE) so SAN=1 tests
# the sanitized server too.
# The layering check (tools/check_layers.py) reads the server's objects
# of this build, so it runs after them.
test: deps deps-test $(SLUICE) $(UNITBIN) $(INTEGBIN)
	python3 tools/check_layers.py $(BUILD)
	./$(UNITBIN)
	SLUICE_BIN=./$(SLUICE) ./$(INTEGBIN)
	@echo "all tests passed"

unit: deps $(UNITBIN)
	./$(UNITBIN) $(SUITE)

integration: deps deps-test $(SLUICE) $(INTEGBIN)
	SLUICE_BIN=./$(SLUICE) ./$(INTEGBIN) $(SUITE)

bench: all deps-bench
	./bench/run.sh

# The transcoding ladder against the ffmpeg command line, and the delay
# it adds to each rung with latency = normal and low (bench/ladder.sh,
# docs/performance.md).  It needs sluice, sluice-bench and ffmpeg/ffprobe.
bench-ladder: deps build/sluice build/sluice-bench
	$(call need_pkgs,ffmpeg)
	./bench/ladder.sh

# Push relays between Sluices on loopback: reconnect time after the
# downstream returns, the latency of one hop, CPU and memory per relayed
# stream (bench/relay.sh, docs/performance.md).  About 6 minutes.
bench-relay: deps build/sluice build/sluice-bench
	$(call need_pkgs,ffmpeg procps util-linux)
	./bench/relay.sh

# Memory of the web delivery plane: a three-rung ladder, LL-HLS and 50
# HTTP-FLV players for SOAK_MINUTES (10); RSS, threads, descriptors and
# the RSS slope (bench/web_soak.sh, docs/performance.md).
soak-web: deps build/sluice build/sluice-bench
	$(call need_pkgs,ffmpeg procps curl python3)
	./bench/web_soak.sh

# Memory under churn: a publisher that reconnects every 25 s with a
# standby beside it (and a full outage every fourth time), 30 players
# joining and leaving, the API polled, SIGHUP every 30 s, for
# SOAK_MINUTES (60); RSS, threads, descriptors, the RSS slope from
# minute 5 and the idle figures after (bench/soak.sh,
# docs/performance.md).
soak: deps build/sluice
	$(call need_pkgs,ffmpeg rtmpdump curl procps python3)
	SOAK_MINUTES=$(or $(SOAK_MINUTES),60) ./bench/soak.sh

# Players held with 1, 2, 4, ... workers: Sluice on the first half of the
# CPUs, sluice-bench processes on the other half (bench/scale.sh,
# docs/performance.md).  Below 4 CPUs it says it cannot measure and
# exits 0; SCALE_FORCE=1 smoke-tests the script there.
bench-scale: deps build/sluice build/sluice-bench
	$(call need_pkgs,ffmpeg util-linux)
	./bench/scale.sh

# LL-HLS viewers of one variant: Sluice from memory (blocking reloads)
# against nginx serving the files Sluice writes (bench/hls.sh,
# docs/performance.md).  About 4 minutes.
bench-hls: deps deps-bench build/sluice build/sluice-bench
	$(call need_pkgs,ffmpeg)
	./bench/hls.sh

# What each way of sending an HLS part (writev copy, sendfile from a
# memfd, vmsplice + splice) costs the sending thread, over loopback
# (bench/tools/sendpath.c; docs/performance.md, LL-HLS).  Seconds.
build/sendpath: bench/tools/sendpath.c
	@mkdir -p build
	$(CC) -O2 -std=c11 -Wall -Wextra -Werror -pthread -o $@ $<
bench-sendpath: build/sendpath
	./build/sendpath

# LL-HLS latency as hls.js reports it in headless Chromium on the player
# page: the source and a rung with 500 ms parts, the source with 200 ms
# parts, plain HLS (bench/hls_latency.sh, docs/performance.md).  About 8
# minutes with the defaults.
bench-hls-latency: deps build/sluice
	$(call need_pkgs,ffmpeg chromium curl python3)
	./bench/hls_latency.sh

# SRT: the ingest of one 2.5 Mbit/s stream against libsrt's own
# srt-live-transmit, and 100 SRT players beside 100 RTMP players of one
# stream, CPU and memory per player (bench/srt.sh, docs/performance.md).
# About 5 minutes.  It needs srt-live-transmit (srt-tools), ffmpeg and
# python3 (the UDP sink); SRT_PERF=1 adds a perf profile.
bench-srt: deps deps-bench build/sluice build/sluice-bench
	$(call need_pkgs,ffmpeg python3 curl)
	./bench/srt.sh

# An origin, two edges and HAProxy on loopback (conf/cluster/,
# docs/operations.md); Ctrl-C stops them all.
cluster-demo: deps deps-cluster build/sluice
	./conf/cluster/demo.sh

# How fast HAProxy moves new players off a killed edge
# (bench/cluster.sh, docs/performance.md).  About a minute.
bench-cluster: deps deps-cluster build/sluice
	./bench/cluster.sh

# Fuzz targets live beside the layer they drive: tests/fuzz/rtmp/ for
# the protocol parsers, which link rtmp/ and pool/buf.c alone (so the
# layer's rule, nothing outside rtmp/ and pool/buf, holds at link time
# too); tests/fuzz/web/ for the HTTP request parser, which links web/'s
# pure parsers (request, response) and libhttp_parser alone;
# tests/fuzz/hls/ for the playlist query and renderer, which link
# hls/playlist.c alone; tests/fuzz/srt/ for the SRT stream id parser,
# which links srt/streamid.c alone; tests/fuzz/server/ and
# tests/fuzz/media/ for the stages, which link the whole core.  Each
# target's seed corpus is the folder of its name beside it
# (tests/fuzz/rtmp/amf/ for fuzz_amf); libFuzzer writes new inputs only
# into build/fuzz/corpus-NAME.
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/*/fuzz_*.c))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))
RTMP_SRC     := $(wildcard rtmp/*.c) pool/buf.c
WEB_SRC      := web/request.c web/response.c
FUZZ_TIME ?= 30
fuzz: deps deps-fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	    name=$${t#*/}; dir=$${t%/*}; \
	    $(MAKE) --no-print-directory build/fuzz/$$t; \
	    mkdir -p build/fuzz/corpus-$$name; \
	    echo "fuzz: $$t for $(FUZZ_TIME)s"; \
	    ./build/fuzz/$$t -max_total_time=$(FUZZ_TIME) -timeout=5 \
	        -rss_limit_mb=2048 build/fuzz/corpus-$$name \
	        tests/fuzz/$$dir/$${name#fuzz_}; \
	done

FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -I. $(PKG_CFLAGS) \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -DSL_VERSION=\"$(VERSION)\"
# libcrypto for the handshake's HMAC; jansson only as fuzz_query's judge
# of valid UTF-8.
build/fuzz/rtmp/fuzz_%: tests/fuzz/rtmp/fuzz_%.c $(RTMP_SRC)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(RTMP_SRC) -lcrypto -ljansson
# web/'s parsers use only rtmp/rtmp.h's constants, so they need no rtmp/
# object (web/http_conn.c, the protocol, sits on server/: not linked).
# libhttp_parser is Debian's build, not instrumented: ASan watches our
# buffers and the bytes we hand it, not its inside.
build/fuzz/web/fuzz_%: tests/fuzz/web/fuzz_%.c $(WEB_SRC)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(WEB_SRC) $(HTTP_PARSER_LIBS)
# hls/playlist.c is pure (its header and libc): linked alone, the target
# proves it.
build/fuzz/hls/fuzz_%: tests/fuzz/hls/fuzz_%.c hls/playlist.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< hls/playlist.c
# srt/streamid.c is pure too (srt/streamid.h, rtmp/rtmp.h's limits and
# libc), unlike the rest of srt/ to come, which sits on server/ and
# media/: linked alone, the target proves it.
build/fuzz/srt/fuzz_%: tests/fuzz/srt/fuzz_%.c srt/streamid.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< srt/streamid.c
build/fuzz/%: tests/fuzz/%.c $(CORE_SRC) $(ASSETS_C) $(PLAYER_C)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRC) $(ASSETS_C) $(PLAYER_C) -pthread \
	    $(PKG_LIBS) $(HTTP_PARSER_LIBS) -lm

# ---- make deb / make test-deb ----
# build/deb/sluice_VERSION_ARCH.deb, built by dpkg-buildpackage from the
# debian/ folder in a copy of this tree (tools/deb.sh), with no network:
# the browser libraries' cache is filled here first.  make test-deb
# installs it into a fresh Debian 12 root and runs it there
# (tests/deb/run.sh, docs/operations.md "Installing").
deb: deps deps-deb $(WEB_LIBS).stamp
	sh tools/deb.sh $(VERSION) build/deb
test-deb: deb
	tests/deb/run.sh \
	    build/deb/sluice_$(VERSION)_$$(dpkg-architecture -qDEB_HOST_ARCH).deb

# ---- make install / make uninstall ----
# The usual names, each overridable: `make install PREFIX=/usr
# DESTDIR=/tmp/stage`.  The config goes under sysconfdir (/etc, whatever
# the PREFIX: that is where a service's config lives and where the unit
# looks).  The server's writable folder is /var/lib/sluice, fixed: it is
# the unit's StateDirectory=, which systemd always puts under /var/lib.
# The binary is $(SLUICE), built here if needed; install builds nothing
# else and installs no packages, so it runs as root after a `make` done
# as a user, and inside a package build that has no network.
PREFIX         ?= /usr/local
bindir         ?= $(PREFIX)/bin
mandir         ?= $(PREFIX)/share/man
docdir         ?= $(PREFIX)/share/doc/sluice
sysconfdir     ?= /etc
systemdunitdir ?= $(PREFIX)/lib/systemd/system
sysusersdir    ?= $(PREFIX)/lib/sysusers.d
STATEDIR       := /var/lib/sluice
INSTALL_DOCS   := docs/config.md docs/operations.md docs/security.md \
                  docs/api.md
# The two files install edits, remade every time: the paths they get
# are this command line's.
INSTALL_GEN    := build/install

# conf/sluice.ini is the one config: the installed copy is the same
# file with its two example folders (record, hls_path) moved from
# "beside this file" to the state folder, where the unit lets the server
# write.  A change to those lines in conf/sluice.ini that the edit no
# longer matches fails the install rather than shipping a config whose
# examples point into /etc.
$(INSTALL_GEN)/sluice.ini: conf/sluice.ini FORCE
	@mkdir -p $(@D)
	sed -e '1a ; Installed from conf/sluice.ini; the docs it names are in\n; $(docdir).  Its example folders are under $(STATEDIR),\n; the one place the systemd unit lets the server write (sluice(1)).' \
	    -e 's|^; record = recordings$$|; record = $(STATEDIR)/recordings|' \
	    -e 's|^; hls_path = hls$$|; hls_path = $(STATEDIR)/hls|' \
	    $< >$@.tmp
	@test "$$(grep -c '^; [a-z_]* = $(STATEDIR)/' $@.tmp)" = 2 || { \
	    echo "install: conf/sluice.ini's '; record = recordings' or" \
	        "'; hls_path = hls' line changed; update the Makefile's" \
	        "edit of them" >&2; rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@
# The unit names make install's default paths; the installed one names
# the paths of this install.
$(INSTALL_GEN)/sluice.service: conf/sluice.service FORCE
	@mkdir -p $(@D)
	sed -e 's|/usr/local/bin/sluice|$(bindir)/sluice|g' \
	    -e 's|/etc/sluice/|$(sysconfdir)/sluice/|g' $< >$@.tmp
	@mv $@.tmp $@

install: $(SLUICE) $(INSTALL_GEN)/sluice.ini $(INSTALL_GEN)/sluice.service
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(sysconfdir)/sluice \
	    $(DESTDIR)$(systemdunitdir) $(DESTDIR)$(sysusersdir) \
	    $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(docdir)
	install -m 0755 $(SLUICE) $(DESTDIR)$(bindir)/sluice
	install -m 0644 $(INSTALL_GEN)/sluice.service \
	    $(DESTDIR)$(systemdunitdir)/sluice.service
	install -m 0644 conf/sluice.sysusers \
	    $(DESTDIR)$(sysusersdir)/sluice.conf
	install -m 0644 docs/sluice.1 $(DESTDIR)$(mandir)/man1/sluice.1
	install -m 0644 $(INSTALL_DOCS) $(DESTDIR)$(docdir)
	@# An operator's config is never replaced: the new default goes
	@# beside it, as sluice.ini.new, to compare.
	@conf=$(DESTDIR)$(sysconfdir)/sluice/sluice.ini; \
	if [ -e $$conf ]; then \
	    install -m 0644 $(INSTALL_GEN)/sluice.ini $$conf.new; \
	    echo "install: kept $$conf; the shipped one is $$conf.new"; \
	else \
	    echo "install -m 0644 $(INSTALL_GEN)/sluice.ini $$conf"; \
	    install -m 0644 $(INSTALL_GEN)/sluice.ini $$conf; \
	fi
	@# Installing into the running system (no DESTDIR): make the user
	@# now, as a package would, and tell systemd about the unit.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	    if command -v systemd-sysusers >/dev/null 2>&1; then \
	        systemd-sysusers $(sysusersdir)/sluice.conf; fi; \
	    if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	    echo "install: start it with: systemctl enable --now sluice"; \
	fi

# Removes what install put there; the config only while it is still the
# shipped one (an edited config is kept, and said so), the user and
# /var/lib/sluice never (recordings live there).
uninstall: $(INSTALL_GEN)/sluice.ini
	rm -f $(DESTDIR)$(bindir)/sluice \
	    $(DESTDIR)$(systemdunitdir)/sluice.service \
	    $(DESTDIR)$(sysusersdir)/sluice.conf \
	    $(DESTDIR)$(mandir)/man1/sluice.1 \
	    $(addprefix $(DESTDIR)$(docdir)/,$(notdir $(INSTALL_DOCS))) \
	    $(DESTDIR)$(sysconfdir)/sluice/sluice.ini.new
	-rmdir $(DESTDIR)$(docdir) 2>/dev/null
	@conf=$(DESTDIR)$(sysconfdir)/sluice/sluice.ini; \
	if [ -e $$conf ] && ! cmp -s $$conf $(INSTALL_GEN)/sluice.ini; then \
	    echo "uninstall: kept $$conf (edited)"; \
	else \
	    rm -f $$conf; rmdir $(DESTDIR)$(sysconfdir)/sluice 2>/dev/null; \
	    true; \
	fi

# npm counts as there when an npm is on PATH: NodeSource's nodejs
# package provides one and conflicts with Debian's npm package.
define need_pkgs
	@missing=""; for p in $(1); do \
	    if [ $$p = npm ] && command -v npm >/dev/null 2>&1; then \
	        continue; fi; \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
	        grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "installing:$$missing"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	            apt-get install -y -qq --no-install-recommends $$missing \
	            >/dev/null || exit 1; \
	    else \
	        echo "missing packages; run:"; \
	        echo "  sudo apt-get install -y$$missing"; exit 1; \
	    fi; \
	fi
endef

deps:
	$(call need_pkgs,$(DEPS_BUILD))
deps-test:
	$(call need_pkgs,$(DEPS_TEST))
deps-fuzz:
	$(call need_pkgs,$(DEPS_FUZZ))
deps-bench:
	$(call need_pkgs,$(DEPS_BENCH))
deps-cluster:
	$(call need_pkgs,$(DEPS_CLUSTER))
deps-deb:
	$(call need_pkgs,$(DEPS_DEB))

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
