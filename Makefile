# Sluice build.  `make` builds build/sluice and build/sluice-bench;
# `make run`, `make test`, `make bench`, `make bench-ladder`,
# `make bench-relay`, `make bench-hls`, `make bench-cluster`,
# `make bench-scale`,
# `make cluster-demo`, `make fuzz`;
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
PKGS    := inih libssl libcrypto cunit libavcodec libavformat libavutil \
           libswscale libswresample libmicrohttpd jansson libcurl srt
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
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
            bench/flvread.c bench/hlsread.c bench/httphead.c
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
        fuzz soak soak-web \
        deps deps-test deps-fuzz deps-bench clean format cluster-demo \
        bench-cluster deps-cluster bench-scale

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
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(INTEGBIN): $(INTEG_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A change of flags rebuilds everything (the stamp holds the flags).
$(BUILD)/flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(CFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS)' > $@
FORCE:

$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(ASSETS_C): $(WWW) tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh $@ $(WWW)
$(BUILD)/gen/assets.o: $(ASSETS_C) $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<
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
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

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

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
