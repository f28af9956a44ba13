/*
 * Every config key, one row each (the row's fields: server/config_keys.h),
 * then the parsers of the keys no generic type fits (lists, URLs, files
 * checked at load) and the checks that need the whole file.
 *
 * A new key: a row here, a field in server/config.h, a line in
 * docs/config.md.  The unit suite "config" checks that the docs list the
 * same keys with the same defaults, that every default parses, and that
 * conf/sluice.ini loads with its examples uncommented.
 */
#include "server/config_keys.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/tls.h"

/* ---- the load, keys and sections: what the loader and the custom
 * parsers share ---- */

void
sl_config_fail(struct sl_config_load *ctx, const char *fmt, ...)
{
    char    msg[256];
    va_list ap;

    if (ctx->failed)
        return;
    ctx->failed = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ctx->line > 0)
        snprintf(ctx->err, ctx->errlen, "%s:%d: %s", ctx->cfg->path, ctx->line,
                 msg);
    else
        snprintf(ctx->err, ctx->errlen, "%s: %s", ctx->cfg->path, msg);
}

const struct sl_config_key *
sl_config_key_find(enum sl_config_section section, const char *key)
{
    for (size_t i = 0; i < sl_config_nkeys; i++)
        if (sl_config_keys[i].section == section &&
            (!strcmp(sl_config_keys[i].name, key) ||
             (sl_config_keys[i].alias != NULL &&
              !strcmp(sl_config_keys[i].alias, key))))
            return &sl_config_keys[i];
    return NULL;
}

/* Where each section lives in sl_config.  The named ones are arrays of
 * structs whose first member is the name. */
const struct sl_config_section_info sl_config_sections[SL_SECTION_COUNT] = {
    [SL_SECTION_SERVER] = {"server", 0, 0, 0, 0},
    [SL_SECTION_HTTP] = {"http", 0, 0, 0, 0},
    [SL_SECTION_CLUSTER] = {"cluster", 0, 0, 0, 0},
    [SL_SECTION_WEB] = {"web", 0, 0, 0, 0},
    [SL_SECTION_APP] = {"app", offsetof(struct sl_config, apps),
                        offsetof(struct sl_config, napps),
                        sizeof(struct sl_app_config), SL_CONFIG_MAX_APPS},
    [SL_SECTION_RENDITION] = {"rendition",
                              offsetof(struct sl_config, renditions),
                              offsetof(struct sl_config, nrenditions),
                              sizeof(struct sl_rendition_config),
                              SL_CONFIG_MAX_RENDITIONS},
    [SL_SECTION_RELAY] = {"relay", offsetof(struct sl_config, relays),
                          offsetof(struct sl_config, nrelays),
                          sizeof(struct sl_relay_config), SL_CONFIG_MAX_RELAYS},
};
_Static_assert(offsetof(struct sl_app_config, name) == 0 &&
                   offsetof(struct sl_rendition_config, name) == 0 &&
                   offsetof(struct sl_relay_config, name) == 0,
               "a named section's struct starts with its name");

const char *
sl_config_section_name(enum sl_config_section section)
{
    return sl_config_sections[section].name;
}

int
sl_config_find(const struct sl_config *c, enum sl_config_section s,
               const char *name)
{
    int n;

    memcpy(&n, (const char *) c + sl_config_sections[s].count, sizeof(n));
    for (int i = 0; i < n; i++)
        if (!strcmp(sl_config_section_at(c, s, i), name))
            return i;
    return -1;
}

#define SECOND 1000u
#define MINUTE (60 * SECOND)
#define HOUR (60 * MINUTE)
#define KIB 1024u
#define MIB (1024 * KIB)

#define SERVER SL_SECTION_SERVER
#define HTTP SL_SECTION_HTTP
#define CLUSTER SL_SECTION_CLUSTER
#define WEB SL_SECTION_WEB
#define APP SL_SECTION_APP
#define RENDITION SL_SECTION_RENDITION
#define RELAY SL_SECTION_RELAY
#define START SL_KEY_START_ONLY

/* The field f of the section's struct. */
#define FIELD(type, f) .off = offsetof(type, f), .size = sizeof(((type *) 0)->f)
#define CFG(f) FIELD(struct sl_config, f)
#define APPF(f) FIELD(struct sl_app_config, f)
#define RENF(f) FIELD(struct sl_rendition_config, f)
#define RELF(f) FIELD(struct sl_relay_config, f)
/* A listen address: host, port and (with "off") the on flag. */
#define ADDR(host, port) CFG(host), .port_off = offsetof(struct sl_config, port)
#define ADDR_OFF(host, port, on)                                               \
    ADDR(host, port), .on_off = offsetof(struct sl_config, on)

static void parse_renditions(struct sl_config_load *,
                             const struct sl_config_key *, void *,
                             const char *);
static void parse_relays(struct sl_config_load *, const struct sl_config_key *,
                         void *, const char *);
static void parse_pull(struct sl_config_load *, const struct sl_config_key *,
                       void *, const char *);
static void parse_cidrs(struct sl_config_load *, const struct sl_config_key *,
                        void *, const char *);
static void parse_publish_keys(struct sl_config_load *,
                               const struct sl_config_key *, void *,
                               const char *);
static void parse_callback(struct sl_config_load *,
                           const struct sl_config_key *, void *, const char *);
static void parse_record(struct sl_config_load *, const struct sl_config_key *,
                         void *, const char *);
static void parse_url(struct sl_config_load *, const struct sl_config_key *,
                      void *, const char *);
static void parse_backup_url(struct sl_config_load *,
                             const struct sl_config_key *, void *,
                             const char *);
static void parse_streams(struct sl_config_load *, const struct sl_config_key *,
                          void *, const char *);
static void parse_origins(struct sl_config_load *, const struct sl_config_key *,
                          void *, const char *);

const struct sl_config_key sl_config_keys[] = {
    /* [server] */
    {"listen", SERVER, SL_KEY_ADDR, START, ADDR(listen_host, listen_port),
     .def = "1935", .help = "RTMP address: HOST:PORT, [V6]:PORT or PORT"},
    {"workers", SERVER, SL_KEY_UINT, START, CFG(workers), .max = 256,
     .def = "0", .help = "pool worker threads; 0 = one per CPU"},
    {"acceptors", SERVER, SL_KEY_UINT, START, CFG(acceptors), .min = 1,
     .max = 64, .def = "1", .help = "acceptor threads (SO_REUSEPORT)"},
    {"chunk_size", SERVER, SL_KEY_SIZE, START, CFG(chunk_size), .min = 128,
     .max = 64 * KIB, .def = "4096", .help = "outgoing RTMP chunk size"},
    {"max_connections", SERVER, SL_KEY_UINT, 0, CFG(max_connections), .min = 1,
     .max = 1000000, .def = "10000",
     .help = "connections beyond this are closed at once"},
    {"max_pending_per_ip", SERVER, SL_KEY_UINT, 0, CFG(max_pending_per_ip),
     .alias = "max_connections_per_ip", .max = 1000000, .def = "100",
     .help = "an address's connections not yet publishing or playing; "
             "0 = no limit"},
    {"max_players_per_ip", SERVER, SL_KEY_UINT, 0, CFG(max_players_per_ip),
     .max = 1000000, .def = "0",
     .help = "players one address may hold; 0 = no limit"},
    {"connection_rate_per_ip", SERVER, SL_KEY_UINT, 0,
     CFG(connection_rate_per_ip), .max = 1000000, .def = "20",
     .help = "new connections per second per address; 0 = no limit"},
    {"connection_burst_per_ip", SERVER, SL_KEY_UINT, 0,
     CFG(connection_burst_per_ip), .min = 1, .max = 1000000, .def = "100",
     .help = "the rate's bucket: connections an address may open at once"},
    {"max_pending", SERVER, SL_KEY_UINT, 0, CFG(max_pending), .max = 1000000,
     .def = "1000",
     .help = "connections neither publishing nor playing; 0 = no limit"},
    {"max_message_size", SERVER, SL_KEY_SIZE, 0, CFG(max_message_size),
     .min = 4 * KIB, .max = 64 * MIB, .def = "8m",
     .help = "a longer peer message closes the connection"},
    {"gop_cache", SERVER, SL_KEY_BOOL, 0, CFG(gop_cache), .def = "on",
     .help = "late players start at the last keyframe"},
    {"max_lag", SERVER, SL_KEY_DURATION, 0, CFG(max_lag_ms), .min = 100,
     .max = SL_KEY_NO_MAX, .unit = SECOND, .def = "5s",
     .help = "a player further behind skips ahead"},
    {"merge_write_ms", SERVER, SL_KEY_UINT, 0, CFG(merge_write_ms), .max = 1000,
     .def = "50", .help = "players are woken at most this often"},
    {"handshake_timeout", SERVER, SL_KEY_DURATION, 0, CFG(handshake_timeout_ms),
     .min = 1, .max = SL_KEY_NO_MAX, .unit = SECOND, .def = "10s",
     .help = "time to finish the RTMP (and TLS) handshake"},
    {"idle_timeout", SERVER, SL_KEY_DURATION, 0, CFG(idle_timeout_ms), .min = 1,
     .max = SL_KEY_NO_MAX, .unit = SECOND, .def = "30s",
     .help = "a connection silent this long is closed"},
    {"publish_grace", SERVER, SL_KEY_DURATION, 0, CFG(publish_grace_ms),
     .max = SL_KEY_NO_MAX, .unit = SECOND, .def = "5s",
     .help = "players wait this long for a returning publisher"},
    {"log_level", SERVER, SL_KEY_ENUM, 0, CFG(log_level),
     .choices = "error|warn|info|debug", /* enum sl_log_level */
     .def = "info", .help = "the least important lines logged"},
    {"tls_listen", SERVER, SL_KEY_ADDR, START | SL_KEY_OFF,
     ADDR_OFF(tls_host, tls_port, tls_enabled), .def = "off",
     .help = "RTMPS address, or off"},
    {"srt_listen", SERVER, SL_KEY_ADDR, START | SL_KEY_OFF,
     ADDR_OFF(srt_host, srt_port, srt_enabled), .def = "off",
     .help = "SRT address (UDP), or off"},
    {"tls_cert", SERVER, SL_KEY_PATH, 0, CFG(tls_cert), .nodef = "none",
     .help = "PEM certificate chain for RTMPS and the web port's HTTPS"},
    {"tls_key", SERVER, SL_KEY_PATH, 0, CFG(tls_key), .nodef = "none",
     .help = "PEM private key of tls_cert"},

    /* [http] */
    {"listen", HTTP, SL_KEY_ADDR, START | SL_KEY_OFF,
     ADDR_OFF(http_host, http_port, http_enabled), .def = "127.0.0.1:8080",
     .help = "API, metrics and dashboard address, or off"},
    {"api_token", HTTP, SL_KEY_SECRET, 0, CFG(api_token), .max = 255,
     .nodef = "none", .help = "bearer token of the control calls"},
    {"max_connections", HTTP, SL_KEY_UINT, START, CFG(http_max_connections),
     .min = 1, .max = 4096, .def = "64", .help = "HTTP connections at a time"},
    {"timeout", HTTP, SL_KEY_DURATION, START, CFG(http_timeout_ms),
     .min = SECOND, .max = SL_KEY_NO_MAX, .unit = SECOND, .def = "10s",
     .help = "an idle HTTP connection is closed"},

    /* [web] */
    {"listen", WEB, SL_KEY_ADDR, START | SL_KEY_OFF,
     ADDR_OFF(web_host, web_port, web_enabled), .def = "0.0.0.0:8088",
     .help = "public web port (HTTP-FLV) address, or off"},
    {"tls_listen", WEB, SL_KEY_ADDR, START | SL_KEY_OFF,
     ADDR_OFF(web_tls_host, web_tls_port, web_tls_enabled), .def = "off",
     .help = "the web port over HTTPS (needs tls_cert, tls_key), or off"},
    {"cors_origins", WEB, SL_KEY_CUSTOM, 0, CFG(web_cors_origins),
     .parse = parse_origins, .def = "*",
     .help = "origins whose pages may read the media: * or a list"},
    {"request_timeout", WEB, SL_KEY_DURATION, 0, CFG(web_request_timeout_ms),
     .min = SECOND, .max = 10 * MINUTE, .unit = SECOND, .def = "10s",
     .help = "time a client has to send a complete request head"},
    {"keepalive_timeout", WEB, SL_KEY_DURATION, 0,
     CFG(web_keepalive_timeout_ms), .min = SECOND, .max = 10 * MINUTE,
     .unit = SECOND, .def = "15s",
     .help = "an idle keep-alive connection is closed"},
    {"hls_viewer_timeout", WEB, SL_KEY_DURATION, 0,
     CFG(web_hls_viewer_timeout_ms), .min = 2 * SECOND, .max = 10 * MINUTE,
     .unit = SECOND, .def = "15s",
     .help = "an HLS viewer without a playlist request this long has ended"},

    /* [cluster] */
    {"capacity_mbps", CLUSTER, SL_KEY_UINT, 0, CFG(cluster_capacity_mbps),
     .max = 10000000, .def = "0",
     .help = "outgoing Mbit/s this node may serve; 0 = unlimited"},
    {"max_players", CLUSTER, SL_KEY_UINT, 0, CFG(cluster_max_players),
     .max = 10000000, .def = "0",
     .help = "players this node may serve; 0 = unlimited"},
    {"agent_listen", CLUSTER, SL_KEY_ADDR, START | SL_KEY_OFF,
     ADDR_OFF(agent_host, agent_port, agent_enabled), .def = "off",
     .help = "HAProxy agent-check address, or off"},

    /* [app:NAME] */
    {"renditions", APP, SL_KEY_CUSTOM, 0, .parse = parse_renditions,
     .nodef = "none", .help = "the ladder: [rendition:NAME] names"},
    {"relays", APP, SL_KEY_CUSTOM, 0, .parse = parse_relays, .nodef = "none",
     .help = "push relays: [relay:NAME] names"},
    {"pull", APP, SL_KEY_CUSTOM, 0, .parse = parse_pull, .nodef = "none",
     .help = "edge: origin rtmp:// URLs"},
    {"pull_idle_timeout", APP, SL_KEY_DURATION, 0, APPF(pull_idle_ms),
     .max = SL_KEY_NO_MAX, .unit = SECOND, .def = "10s",
     .help = "a pull outlives its last player by this"},
    {"pull_retry_min", APP, SL_KEY_DURATION, 0, APPF(pull_retry_min_ms),
     .min = 10, .max = HOUR, .unit = SECOND, .def = "1s",
     .help = "a pull's interval between origin rounds at first"},
    {"pull_retry_max", APP, SL_KEY_DURATION, 0, APPF(pull_retry_max_ms),
     .min = 10, .max = HOUR, .unit = SECOND, .def = "30s",
     .help = "a pull's longest interval between origin rounds"},
    {"pull_retry_fast_for", APP, SL_KEY_DURATION, 0, APPF(pull_retry_fast_ms),
     .max = HOUR, .unit = SECOND, .def = "60s",
     .help = "a pull keeps pull_retry_min this long, then doubles"},
    {"backup_publish", APP, SL_KEY_BOOL, 0, APPF(backup_publish), .def = "off",
     .help = "a second publisher waits as hot standby"},
    {"ingest_timeout", APP, SL_KEY_DURATION, 0, APPF(ingest_timeout_ms),
     .min = 500, .max = 10 * MINUTE, .unit = SECOND, .def = "5s",
     .help = "a primary silent this long gives way to the standby"},
    {"keyframe_interval", APP, SL_KEY_DURATION, 0, APPF(keyframe_interval_ms),
     .min = 100, .max = MINUTE, .unit = SECOND, .def = "2s",
     .help = "every rung's keyframe spacing"},
    {"allow_publish", APP, SL_KEY_CUSTOM, 0, APPF(allow_publish),
     .parse = parse_cidrs, .nodef = "none",
     .help = "addresses or CIDR ranges that may publish"},
    {"deny_publish", APP, SL_KEY_CUSTOM, 0, APPF(deny_publish),
     .parse = parse_cidrs, .nodef = "none",
     .help = "addresses or CIDR ranges that may not publish"},
    {"allow_play", APP, SL_KEY_CUSTOM, 0, APPF(allow_play),
     .parse = parse_cidrs, .nodef = "none",
     .help = "addresses or CIDR ranges that may play"},
    {"deny_play", APP, SL_KEY_CUSTOM, 0, APPF(deny_play), .parse = parse_cidrs,
     .nodef = "none", .help = "addresses or CIDR ranges that may not play"},
    {"publish_keys", APP, SL_KEY_CUSTOM, 0, APPF(publish_keys_path),
     .parse = parse_publish_keys, .nodef = "none",
     .help = "file of stream keys that may publish"},
    {"publish_secret", APP, SL_KEY_SECRET, 0, APPF(publish_secret), .min = 8,
     .max = 127, .nodef = "none", .help = "publishes need a signed URL"},
    {"play_secret", APP, SL_KEY_SECRET, 0, APPF(play_secret), .min = 8,
     .max = 127, .nodef = "none", .help = "plays need a signed URL"},
    {"on_connect", APP, SL_KEY_CUSTOM, 0, APPF(on_connect),
     .parse = parse_callback, .nodef = "none",
     .help = "HTTP callback asked before a connect"},
    {"on_publish", APP, SL_KEY_CUSTOM, 0, APPF(on_publish),
     .parse = parse_callback, .nodef = "none",
     .help = "HTTP callback asked before a publish"},
    {"on_play", APP, SL_KEY_CUSTOM, 0, APPF(on_play), .parse = parse_callback,
     .nodef = "none", .help = "HTTP callback asked before a play"},
    {"on_done", APP, SL_KEY_CUSTOM, 0, APPF(on_done), .parse = parse_callback,
     .nodef = "none", .help = "HTTP callback told when one ends"},
    {"callback_timeout", APP, SL_KEY_DURATION, 0, APPF(callback_timeout_ms),
     .min = 100, .max = MINUTE, .unit = SECOND, .def = "3s",
     .help = "an unanswered callback refuses after this"},
    {"record", APP, SL_KEY_CUSTOM, 0, APPF(record_dir), .parse = parse_record,
     .def = "off", .help = "folder to record every stream in, or off"},
    {"record_renditions", APP, SL_KEY_BOOL, 0, APPF(record_renditions),
     .def = "off", .help = "also record the ladder's rungs"},
    {"record_segment", APP, SL_KEY_DURATION, 0, APPF(record_segment_ms),
     .min = SECOND, .max = 24 * HOUR, .unit = SECOND, .def = "1h",
     .help = "a new file at the first keyframe after this"},
    {"hls", APP, SL_KEY_BOOL, 0, APPF(hls), .def = "off",
     .help = "package every stream (and rung) as LL-HLS on the web port"},
    {"hls_part", APP, SL_KEY_DURATION, 0, APPF(hls_part_ms), .min = 100,
     .max = 5 * SECOND, .unit = 1, .def = "500ms",
     .help = "LL-HLS part duration"},
    {"hls_segments", APP, SL_KEY_UINT, 0, APPF(hls_segments), .min = 2,
     .max = 32, .def = "6", .help = "complete segments kept per variant"},
    {"hls_source", APP, SL_KEY_BOOL, 0, APPF(hls_source), .def = "on",
     .help = "list the source in the master playlist beside the rungs"},
    {"hls_path", APP, SL_KEY_CUSTOM, 0, APPF(hls_dir), .parse = parse_record,
     .def = "off", .help = "also write the HLS files to this folder, or off"},
    {"srt_latency", APP, SL_KEY_DURATION, 0, APPF(srt_latency_ms), .min = 20,
     .max = 8 * SECOND, .unit = 1, .def = "120ms",
     .help = "SRT receive latency: time allowed for resends"},
    {"srt_passphrase", APP, SL_KEY_SECRET, 0, APPF(srt_passphrase), .min = 10,
     .max = 79, .nodef = "none",
     .help = "SRT encryption passphrase (10..79 characters)"},
    {"srt_pbkeylen", APP, SL_KEY_ENUM, 0, APPF(srt_pbkeylen),
     .choices = "0|16|24|32", .def = "0",
     .help = "SRT AES key length in bytes; 0: the caller's, else 16"},
    {"srt_overhead", APP, SL_KEY_UINT, 0, APPF(srt_overhead), .min = 5,
     .max = 100, .def = "25",
     .help = "SRT bandwidth for resends, % over the input rate"},

    /* [rendition:NAME] */
    {"width", RENDITION, SL_KEY_UINT, SL_KEY_EVEN, RENF(width), .max = 8192,
     .def = "0", .help = "picture width; 0 = from height"},
    {"height", RENDITION, SL_KEY_UINT, SL_KEY_EVEN, RENF(height), .max = 8192,
     .def = "0", .help = "picture height; 0 = from width"},
    {"video_bitrate", RENDITION, SL_KEY_RATE, 0, RENF(video_bitrate),
     .min = 1000, .max = 1000000000, .nodef = "required",
     .help = "target average video bit rate"},
    {"maxrate", RENDITION, SL_KEY_RATE, 0, RENF(maxrate), .min = 1000,
     .max = 1000000000, .nodef = "video_bitrate", /* check_renditions() */
     .help = "VBV maximum rate"},
    {"bufsize", RENDITION, SL_KEY_RATE, 0, RENF(bufsize), .min = 1000,
     .max = 1000000000, .nodef = "maxrate", .help = "VBV buffer size, bits"},
    {"fps", RENDITION, SL_KEY_UINT, 0, RENF(fps), .max = 240, .def = "0",
     .help = "at most this many frames a second; 0 = the source's"},
    {"preset", RENDITION, SL_KEY_WORD, 0, RENF(preset), .def = "veryfast",
     .help = "encoder preset"},
    {"profile", RENDITION, SL_KEY_WORD, 0, RENF(profile),
     .choices = "baseline|main|high", .def = "high", .help = "H.264 profile"},
    {"encoder", RENDITION, SL_KEY_WORD, 0, RENF(encoder), .def = "libx264",
     .help = "libavcodec encoder name"},
    {"audio", RENDITION, SL_KEY_ENUM, 0, RENF(audio_copy),
     .choices = "aac|copy", /* audio_copy: 0 aac, 1 copy */
     .def = "copy", .help = "copy the source's audio, or re-encode it"},
    {"audio_bitrate", RENDITION, SL_KEY_RATE, 0, RENF(audio_bitrate),
     .min = 1000, .max = 1000000000, .def = "128k",
     .help = "AAC bit rate with audio = aac"},
    {"latency", RENDITION, SL_KEY_ENUM, 0, RENF(latency),
     .choices = "normal|low", /* enum sl_rendition_latency */
     .def = "normal",
     .help = "normal: quality first; low: less delay, more bits"},

    /* [relay:NAME] */
    {"url", RELAY, SL_KEY_CUSTOM, 0, .parse = parse_url, .nodef = "required",
     .help = "rtmp://, rtmps:// or srt:// target"},
    {"backup_url", RELAY, SL_KEY_CUSTOM, 0, .parse = parse_backup_url,
     .nodef = "none", .help = "targets tried after failover_after failures"},
    {"streams", RELAY, SL_KEY_CUSTOM, 0, .parse = parse_streams,
     .def = "source", .help = "source and/or rendition names to push"},
    {"retry_min", RELAY, SL_KEY_DURATION, 0, RELF(retry_min_ms), .min = 10,
     .max = HOUR, .unit = SECOND, .def = "1s",
     .help = "interval between attempts at first"},
    {"retry_max", RELAY, SL_KEY_DURATION, 0, RELF(retry_max_ms), .min = 10,
     .max = HOUR, .unit = SECOND, .def = "30s",
     .help = "the longest interval between attempts"},
    {"retry_fast_for", RELAY, SL_KEY_DURATION, 0, RELF(retry_fast_ms),
     .max = HOUR, .unit = SECOND, .def = "60s",
     .help = "retry_min holds this long into an outage, then doubles"},
    {"failover_after", RELAY, SL_KEY_UINT, 0, RELF(failover_after), .min = 1,
     .max = 1000, .def = "3", .help = "failures before the next URL"},
    {"timeout", RELAY, SL_KEY_DURATION, 0, RELF(timeout_ms), .min = 10,
     .max = HOUR, .unit = SECOND, .def = "5s",
     .help = "a connect or one write that takes longer fails"},
    {"max_buffer", RELAY, SL_KEY_SIZE, 0, RELF(max_buffer), .min = 64 * KIB,
     .max = 1024 * MIB, .def = "8m", .help = "bytes held for the relay"},
};
const size_t sl_config_nkeys =
    sizeof(sl_config_keys) / sizeof(sl_config_keys[0]);
_Static_assert(sizeof(sl_config_keys) / sizeof(sl_config_keys[0]) <=
                   SL_CONFIG_KEYS_MAX,
               "sl_config_load.line_of has a slot per key");

/* ---- lists ---- */

typedef void add_fn(struct sl_config_load *ctx, const struct sl_config_key *k,
                    void *base, const char *item);

/* Splits a comma-separated list and adds each item until one fails. */
static void
for_each_item(struct sl_config_load *ctx, const struct sl_config_key *k,
              void *base, const char *v, add_fn *add)
{
    char list[2048], *save = NULL, *tok;

    if (strlen(v) >= sizeof(list)) {
        sl_config_fail(ctx, "%s: list too long", k->name);
        return;
    }
    memcpy(list, v, strlen(v) + 1);
    for (tok = strtok_r(list, ", \t", &save); tok != NULL && !ctx->failed;
         tok = strtok_r(NULL, ", \t", &save))
        add(ctx, k, base, tok);
}

/* Appends the index of the [section:name] section to one of an app's
 * lists, once. */
static void
add_section(struct sl_config_load *ctx, const struct sl_config_key *k,
            enum sl_config_section section, const char *name, int *list, int *n,
            int max)
{
    int idx = sl_config_find(ctx->cfg, section, name);

    if (idx < 0) {
        sl_config_fail(ctx, "%s: no [%s:%s] section", k->name,
                       sl_config_section_name(section), name);
        return;
    }
    for (int i = 0; i < *n; i++)
        if (list[i] == idx) {
            sl_config_fail(ctx, "%s: '%s' listed twice", k->name, name);
            return;
        }
    if (*n == max) {
        sl_config_fail(ctx, "%s: more than %d", k->name, max);
        return;
    }
    list[(*n)++] = idx;
}

static void
add_rendition(struct sl_config_load *ctx, const struct sl_config_key *k,
              void *base, const char *name)
{
    struct sl_app_config *app = base;

    add_section(ctx, k, SL_SECTION_RENDITION, name, app->renditions,
                &app->nrenditions, SL_APP_MAX_RENDITIONS);
}

static void
parse_renditions(struct sl_config_load *ctx, const struct sl_config_key *k,
                 void *base, const char *v)
{
    ((struct sl_app_config *) base)->nrenditions = 0;
    for_each_item(ctx, k, base, v, add_rendition);
}

static void
add_relay(struct sl_config_load *ctx, const struct sl_config_key *k, void *base,
          const char *name)
{
    struct sl_app_config *app = base;

    add_section(ctx, k, SL_SECTION_RELAY, name, app->relays, &app->nrelays,
                SL_APP_MAX_RELAYS);
}

static void
parse_relays(struct sl_config_load *ctx, const struct sl_config_key *k,
             void *base, const char *v)
{
    ((struct sl_app_config *) base)->nrelays = 0;
    for_each_item(ctx, k, base, v, add_relay);
}

/* A URL of scheme PROTO:// or PROTOs:// ("rtmp", "http") with a host,
 * printable and without spaces, that fits SL_URL_MAX. */
static int
valid_url(const char *v, const char *proto)
{
    size_t      n = strlen(proto);
    const char *host;

    if (strncmp(v, proto, n) != 0)
        return 0;
    host = v + n;
    if (*host == 's')
        host++;
    if (strncmp(host, "://", 3) != 0)
        return 0;
    host += 3;
    if (*host == '\0' || *host == '/' || strlen(v) >= SL_URL_MAX)
        return 0;
    for (const char *p = v; *p; p++)
        if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f)
            return 0;
    return 1;
}

/* Appends an rtmp(s):// URL to a list of at most max. */
static void
add_rtmp_url(struct sl_config_load *ctx, const struct sl_config_key *k,
             const char *url, char (*list)[SL_URL_MAX], int *n, int max)
{
    if (!valid_url(url, "rtmp"))
        sl_config_fail(ctx, "%s: '%s' is not an rtmp:// or rtmps:// URL",
                       k->name, url);
    else if (*n == max)
        sl_config_fail(ctx, "%s: more than %d URLs", k->name, max);
    else
        memcpy(list[(*n)++], url, strlen(url) + 1); /* valid_url: fits */
}

static void
add_pull(struct sl_config_load *ctx, const struct sl_config_key *k, void *base,
         const char *url)
{
    struct sl_app_config *app = base;

    add_rtmp_url(ctx, k, url, app->pulls, &app->npulls, SL_APP_MAX_PULLS);
}

static void
parse_pull(struct sl_config_load *ctx, const struct sl_config_key *k,
           void *base, const char *v)
{
    ((struct sl_app_config *) base)->npulls = 0;
    for_each_item(ctx, k, base, v, add_pull);
}

static void
add_cidr(struct sl_config_load *ctx, const struct sl_config_key *k, void *base,
         const char *item)
{
    struct sl_cidr_list *l = (struct sl_cidr_list *) ((char *) base + k->off);

    if (l->n == SL_ACCESS_MAX_CIDRS)
        sl_config_fail(ctx, "%s: more than %d address rules", k->name,
                       SL_ACCESS_MAX_CIDRS);
    else if (sl_cidr_parse(item, &l->v[l->n]) < 0)
        sl_config_fail(ctx, "%s: '%s' is not an address or ADDRESS/BITS",
                       k->name, item);
    else
        l->n++;
}

static void
parse_cidrs(struct sl_config_load *ctx, const struct sl_config_key *k,
            void *base, const char *v)
{
    ((struct sl_cidr_list *) ((char *) base + k->off))->n = 0;
    for_each_item(ctx, k, base, v, add_cidr);
}

/* A relay pushes over RTMP(S), or over SRT (MPEG-TS): an srt:// URL
 * names the stream in its streamid, so it must hold {name}. */
static void
add_relay_url(struct sl_config_load *ctx, const struct sl_config_key *k,
              void *base, const char *url)
{
    struct sl_relay_config *r = base;

    if (strncmp(url, "srt://", 6) != 0) {
        add_rtmp_url(ctx, k, url, r->urls, &r->nurls, SL_RELAY_MAX_URLS);
        return;
    }
    if (!valid_url(url, "srt") || strstr(url, "{name}") == NULL)
        sl_config_fail(ctx,
                       "%s: an srt:// URL names the stream with {name} in its "
                       "streamid (srt://HOST:PORT?streamid=#!::r=APP/{name},"
                       "m=publish)",
                       k->name);
    else if (r->nurls == SL_RELAY_MAX_URLS)
        sl_config_fail(ctx, "%s: more than %d URLs", k->name,
                       SL_RELAY_MAX_URLS);
    else
        memcpy(r->urls[r->nurls++], url, strlen(url) + 1);
}

/* The primary goes first, whatever the order of url and backup_url. */
static void
parse_url(struct sl_config_load *ctx, const struct sl_config_key *k, void *base,
          const char *v)
{
    struct sl_relay_config *r = base;
    char                    keep[SL_RELAY_MAX_URLS - 1][SL_URL_MAX];
    int                     nkeep = 0;

    if (r->has_url) {
        sl_config_fail(ctx, "url given twice (use backup_url)");
        return;
    }
    for (int i = 0; i < r->nurls && nkeep < SL_RELAY_MAX_URLS - 1; i++)
        memcpy(keep[nkeep++], r->urls[i], SL_URL_MAX);
    r->nurls = 0;
    add_relay_url(ctx, k, r, v);
    for (int i = 0; i < nkeep && !ctx->failed; i++)
        add_relay_url(ctx, k, r, keep[i]);
    r->has_url = 1;
}

/* Repeated, the key adds more. */
static void
parse_backup_url(struct sl_config_load *ctx, const struct sl_config_key *k,
                 void *base, const char *v)
{
    /* An SRT stream id holds commas: one srt:// URL per line. */
    if (strncmp(v, "srt://", 6) == 0)
        add_relay_url(ctx, k, base, v);
    else
        for_each_item(ctx, k, base, v, add_relay_url);
}

static void
add_stream(struct sl_config_load *ctx, const struct sl_config_key *k,
           void *base, const char *name)
{
    struct sl_relay_config *r = base;

    if (!strcmp(name, "source"))
        r->push_source = 1;
    else if (sl_config_find(ctx->cfg, SL_SECTION_RENDITION, name) < 0)
        sl_config_fail(ctx, "%s: '%s' is neither source nor a [rendition:...]",
                       k->name, name);
    else if (r->nrungs == SL_APP_MAX_RENDITIONS)
        sl_config_fail(ctx, "%s: more than %d renditions", k->name,
                       SL_APP_MAX_RENDITIONS);
    else
        snprintf(r->rungs[r->nrungs++], SL_NAME_MAX, "%s", name);
}

static void
parse_streams(struct sl_config_load *ctx, const struct sl_config_key *k,
              void *base, const char *v)
{
    struct sl_relay_config *r = base;

    r->push_source = 0;
    r->nrungs = 0;
    for_each_item(ctx, k, base, v, add_stream);
}

/* An origin, "scheme://host[:port]" (RFC 6454), into out as a browser
 * writes it in an Origin header, so that a plain comparison matches:
 * scheme and host in lower case, the scheme's default port left out.
 * Any scheme is taken (an app's web view may send capacitor://...); the
 * host is a name (letters, digits, - and .) or an IPv6 address in
 * brackets; no user, path, query or trailing slash.  0 or -EINVAL. */
static int
normalise_origin(const char *v, char *out, size_t cap)
{
    const char *p = v, *host;
    size_t      scheme_len, host_len;
    uint64_t    port = 0;
    int         n;

    if (!isalpha((unsigned char) *p))
        return -EINVAL;
    while (isalnum((unsigned char) *p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    scheme_len = (size_t) (p - v);
    if (strncmp(p, "://", 3) != 0)
        return -EINVAL;
    host = p += 3;
    if (*p == '[') {
        p += 1 + strspn(p + 1, "0123456789abcdefABCDEF:.");
        if (*p != ']' || p == host + 1)
            return -EINVAL;
        p++;
    } else {
        p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789-.");
        if (p == host || *host == '.' || *host == '-')
            return -EINVAL;
    }
    host_len = (size_t) (p - host);
    if (*p == ':') {
        p++;
        if (!isdigit((unsigned char) *p) || strlen(p) > 5)
            return -EINVAL;
        for (; isdigit((unsigned char) *p); p++)
            port = port * 10 + (uint64_t) (*p - '0');
        if (port == 0 || port > 65535)
            return -EINVAL;
    }
    if (*p != '\0')
        return -EINVAL;
    /* Browsers never send a default port (nor leading zeros); one
     * written out would match nothing. */
    if ((scheme_len == 4 && !strncasecmp(v, "http", 4) && port == 80) ||
        (scheme_len == 5 && !strncasecmp(v, "https", 5) && port == 443))
        port = 0;
    if (port != 0)
        n = snprintf(out, cap, "%.*s://%.*s:%u", (int) scheme_len, v,
                     (int) host_len, host, (unsigned) port);
    else
        n = snprintf(out, cap, "%.*s://%.*s", (int) scheme_len, v,
                     (int) host_len, host);
    if (n < 0 || (size_t) n >= cap)
        return -EINVAL;
    for (char *o = out; *o != '\0'; o++)
        *o = (char) tolower((unsigned char) *o);
    return 0;
}

static void
add_origin(struct sl_config_load *ctx, const struct sl_config_key *k,
           void *base, const char *item)
{
    struct sl_origin_list *l =
        (struct sl_origin_list *) ((char *) base + k->off);
    int star = !strcmp(item, "*");

    /* "*, https://a.example" would read as a restriction and be none. */
    if (star ? l->n > 0 : l->any)
        sl_config_fail(ctx, "%s: * stands alone, not in a list of origins",
                       k->name);
    else if (star)
        l->any = 1;
    else if (l->n == SL_WEB_MAX_ORIGINS)
        sl_config_fail(ctx, "%s: more than %d origins", k->name,
                       SL_WEB_MAX_ORIGINS);
    else if (normalise_origin(item, l->v[l->n], sizeof(l->v[l->n])) < 0)
        sl_config_fail(ctx, "%s: '%s' is not an origin (scheme://host[:port])",
                       k->name, item);
    else
        l->n++;
}

/* "*" or a list of origins, comma or space separated.  A list longer
 * than a line (inih reads at most 200 characters of one) goes on in
 * indented lines or in the key repeated, which inih hands over one at a
 * time: they add up.  "*" (the default, or a line of its own) is
 * replaced by the first list that follows it. */
static void
parse_origins(struct sl_config_load *ctx, const struct sl_config_key *k,
              void *base, const char *v)
{
    struct sl_origin_list *l =
        (struct sl_origin_list *) ((char *) base + k->off);

    if (l->any) {
        l->any = 0;
        l->n = 0;
    }
    for_each_item(ctx, k, base, v, add_origin);
    if (!ctx->failed && !l->any && l->n == 0)
        sl_config_fail(ctx, "%s: empty (* or a list of origins)", k->name);
}

/* ---- URLs and files ---- */

/* Never quoted: a callback URL may carry credentials. */
static void
parse_callback(struct sl_config_load *ctx, const struct sl_config_key *k,
               void *base, const char *v)
{
    if (!valid_url(v, "http"))
        sl_config_fail(ctx, "%s: not an http:// or https:// URL", k->name);
    else
        snprintf((char *) base + k->off, k->size, "%s", v);
}

/* A relative path is relative to the config file's folder, so a config
 * and the files it names move together. */
static int
resolve_path(struct sl_config_load *ctx, const char *v, char *out, size_t cap)
{
    const char *path = ctx->cfg->path, *slash = strrchr(path, '/');
    int         n;

    if (v[0] == '/' || slash == NULL)
        n = snprintf(out, cap, "%s", v);
    else
        n = snprintf(out, cap, "%.*s/%s", (int) (slash - path), path, v);
    return n >= 0 && (size_t) n < cap ? 0 : -1;
}

/* The file is read now, so a bad one fails the load (or the reload). */
static void
parse_publish_keys(struct sl_config_load *ctx, const struct sl_config_key *k,
                   void *base, const char *v)
{
    struct sl_app_config *app = base;
    char                  err[512];

    if (resolve_path(ctx, v, app->publish_keys_path,
                     sizeof(app->publish_keys_path)) < 0) {
        sl_config_fail(ctx, "%s: path too long", k->name);
        return;
    }
    sl_keyset_free(app->publish_keys);
    app->publish_keys =
        sl_keyset_load(app->publish_keys_path, err, sizeof(err));
    if (app->publish_keys == NULL)
        sl_config_fail(ctx, "%s: %s", k->name, err);
}

/* The folder is checked now, so a typo fails the load rather than the
 * first publish. */
static void
parse_record(struct sl_config_load *ctx, const struct sl_config_key *k,
             void *base, const char *v)
{
    char       *dir = (char *) base + k->off;
    struct stat st;

    dir[0] = '\0';
    if (!strcmp(v, "off"))
        return;
    if (v[0] == '\0' || resolve_path(ctx, v, dir, k->size) < 0)
        sl_config_fail(ctx, "%s: '%s' is not a usable path", k->name, v);
    else if (stat(dir, &st) < 0)
        sl_config_fail(ctx, "%s: %s: %s", k->name, dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        sl_config_fail(ctx, "%s: %s: not a directory", k->name, dir);
    else if (access(dir, W_OK | X_OK) < 0)
        sl_config_fail(ctx, "%s: %s: not writable: %s", k->name, dir,
                       strerror(errno));
}

/* ---- whole-file checks ---- */

/* What a rung needs that has no default, and the derived defaults. */
static void
check_renditions(struct sl_config_load *ctx)
{
    for (int i = 0; i < ctx->cfg->nrenditions && !ctx->failed; i++) {
        struct sl_rendition_config *r = &ctx->cfg->renditions[i];

        if (r->width == 0 && r->height == 0)
            sl_config_fail(ctx, "[rendition:%s] needs a width or a height",
                           r->name);
        else if (r->video_bitrate == 0)
            sl_config_fail(ctx, "[rendition:%s] needs a video_bitrate",
                           r->name);
        if (r->maxrate == 0)
            r->maxrate = r->video_bitrate;
        if (r->bufsize == 0)
            r->bufsize = r->maxrate;
    }
}

static void
check_relays(struct sl_config_load *ctx)
{
    for (int i = 0; i < ctx->cfg->nrelays && !ctx->failed; i++) {
        struct sl_relay_config *r = &ctx->cfg->relays[i];

        if (!r->has_url)
            sl_config_fail(ctx, "[relay:%s] needs a url", r->name);
        else if (r->retry_max_ms < r->retry_min_ms)
            sl_config_fail(ctx, "[relay:%s]: retry_max is below retry_min",
                           r->name);
    }
    for (int i = 0; i < ctx->cfg->napps && !ctx->failed; i++) {
        const struct sl_app_config *a = &ctx->cfg->apps[i];

        if (a->pull_retry_max_ms < a->pull_retry_min_ms)
            sl_config_fail(ctx,
                           "[app:%s]: pull_retry_max is below pull_retry_min",
                           a->name);
    }
}

/* The line that set a key (0: its default). */
static int
line_of(struct sl_config_load *ctx, enum sl_config_section section,
        const char *key)
{
    return ctx->line_of[sl_config_key_find(section, key) - sl_config_keys];
}

/* Whether an address row (of an unnamed section) is on in c. */
static int
addr_on(const struct sl_config_key *k, const struct sl_config *c)
{
    int on = 1;

    if (k->flags & SL_KEY_OFF)
        memcpy(&on, (const char *) c + k->on_off, sizeof(on));
    return on;
}

static int
same_addr(const struct sl_config_key *a, const struct sl_config_key *b,
          const struct sl_config *c)
{
    const char *base = (const char *) c;

    return !strcmp(base + a->off, base + b->off) &&
           !memcmp(base + a->port_off, base + b->port_off, sizeof(uint16_t));
}

/* srt_listen is a UDP port: it may share a number with a TCP one. */
static int
udp_port(const struct sl_config_key *k)
{
    return k->section == SL_SECTION_SERVER && !strcmp(k->name, "srt_listen");
}

/* Two listeners on one address ([server] listen and tls_listen, [http]
 * listen, [web] listen and tls_listen, [cluster] agent_listen): the
 * second bind would fail at start with no line to point at, so the
 * config is refused at the line of the one written last.  Only the same
 * text is caught; 0.0.0.0:1935 against 127.0.0.1:1935 is left to the
 * bind, which refuses it at start. */
static void
check_listeners(struct sl_config_load *ctx)
{
    const struct sl_config *c = ctx->cfg;

    for (size_t i = 0; i < sl_config_nkeys; i++) {
        const struct sl_config_key *a = &sl_config_keys[i];

        if (a->type != SL_KEY_ADDR || !addr_on(a, c) || udp_port(a))
            continue;
        for (size_t j = i + 1; j < sl_config_nkeys; j++) {
            const struct sl_config_key *b = &sl_config_keys[j], *late, *other;
            int  la = ctx->line_of[i], lb = ctx->line_of[j];
            char name[64];

            if (b->type != SL_KEY_ADDR || !addr_on(b, c) || udp_port(b) ||
                !same_addr(a, b, c))
                continue;
            late = lb >= la ? b : a;
            other = late == b ? a : b;
            if (other->section == late->section)
                snprintf(name, sizeof(name), "%s", other->name);
            else
                snprintf(name, sizeof(name), "[%s] %s",
                         sl_config_section_name(other->section), other->name);
            ctx->line = late == b ? lb : la;
            sl_config_fail(ctx, "%s: the same address as %s%s", late->name,
                           name,
                           (late == b ? la : lb) == 0 ? " (its default)" : "");
            return;
        }
    }
}

/* RTMPS and the web port's HTTPS need both files.  They are loaded
 * here, so `sluice -t` and a reload refuse a missing, unreadable or
 * mismatched one (at the line of the key that names it) before anything
 * uses it. */
static void
check_tls(struct sl_config_load *ctx)
{
    struct sl_config *c = ctx->cfg;
    int  cert = c->tls_cert[0] != '\0', key = c->tls_key[0] != '\0';
    int  bad = 0;
    char why[256];

    if (c->tls_enabled && (!cert || !key)) {
        ctx->line = line_of(ctx, SL_SECTION_SERVER, "tls_listen");
        sl_config_fail(ctx, "tls_listen needs tls_cert and tls_key");
    } else if (c->web_tls_enabled && (!cert || !key)) {
        ctx->line = line_of(ctx, SL_SECTION_WEB, "tls_listen");
        sl_config_fail(ctx, "tls_listen needs [server] tls_cert and tls_key");
    } else if (cert != key) {
        ctx->line =
            line_of(ctx, SL_SECTION_SERVER, cert ? "tls_cert" : "tls_key");
        sl_config_fail(ctx, "%s needs %s too", cert ? "tls_cert" : "tls_key",
                       cert ? "tls_key" : "tls_cert");
    } else if (cert) {
        c->tls =
            sl_tls_ctx_new(c->tls_cert, c->tls_key, &bad, why, sizeof(why));
        ctx->line = line_of(ctx, SL_SECTION_SERVER,
                            bad == SL_TLS_BAD_CERT ? "tls_cert" : "tls_key");
        if (c->tls == NULL)
            sl_config_fail(ctx, "%s", why);
    }
}

void
sl_config_check(struct sl_config_load *ctx)
{
    check_renditions(ctx);
    check_relays(ctx);
    if (!ctx->failed)
        check_listeners(ctx);
    if (!ctx->failed)
        check_tls(ctx); /* nothing loaded for a config refused anyway */
}

void
sl_config_print_keys(FILE *f)
{
    for (size_t i = 0; i < sl_config_nkeys; i++) {
        const struct sl_config_key *k = &sl_config_keys[i];
        const char                 *sect = sl_config_section_name(k->section);
        char                        where[32], old[64] = "";

        snprintf(where, sizeof(where), "[%s%s]", sect,
                 sl_config_sections[k->section].max > 0 ? ":NAME" : "");
        if (k->alias != NULL)
            snprintf(old, sizeof(old), " (old name: %s)", k->alias);
        fprintf(f, "%-18s %-24s %-12s %s%s%s\n", where, k->name,
                k->def != NULL ? k->def : k->nodef, k->help,
                (k->flags & SL_KEY_START_ONLY) ? " (read at start only)" : "",
                old);
    }
}
