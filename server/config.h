/*
 * The configuration: conf/sluice.ini read with inih into an immutable,
 * refcounted struct.  A reload (SIGHUP) builds a new one and swaps the
 * current pointer; sessions keep the one they started with, so a reload
 * never changes a running session under its feet.  Every key and its
 * default is one row of the key table (server/config_keys.c) and one line
 * of docs/config.md.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rtmp/rtmp.h"
#include "server/access.h"

#define SL_CONFIG_MAX_APPS 64
#define SL_CONFIG_MAX_RENDITIONS 32 /* [rendition:...] sections */
#define SL_APP_MAX_RENDITIONS 8     /* rungs in one app's ladder */
#define SL_CONFIG_MAX_RELAYS 32     /* [relay:...] sections */
#define SL_APP_MAX_RELAYS 8
#define SL_RELAY_MAX_URLS 4   /* url plus backups */
#define SL_APP_MAX_PULLS 4    /* origins an edge pulls from */
#define SL_WEB_MAX_ORIGINS 16 /* [web] cors_origins entries */
#define SL_ORIGIN_MAX 256     /* one origin's text, NUL included */

/* The browser origins allowed to read the web port's media ([web]
 * cors_origins).  Each entry is "scheme://host[:port]" as a browser
 * sends it in an Origin header: scheme and host in lower case, no port
 * when it is the scheme's default (http 80, https 443), an IPv6 host in
 * brackets.  any: "*", every origin (n is 0 then). */
struct sl_origin_list {
    int  any;
    int  n;
    char v[SL_WEB_MAX_ORIGINS][SL_ORIGIN_MAX];
};

/* A rung's latency setting ([rendition:NAME] latency): what its encoder
 * (and the ladder's decoder) trade for delay. */
enum sl_rendition_latency {
    SL_LATENCY_NORMAL, /* quality first: B-frames, a short lookahead,
                        * frame threads */
    SL_LATENCY_LOW     /* no lookahead, no B-frames, slice threads */
};

/* One rung of a transcoding ladder ([rendition:NAME]). */
struct sl_rendition_config {
    char name[SL_NAME_MAX];
    int  width, height;     /* 0: derived from the other, keeping the
                             * source's aspect ratio */
    uint32_t video_bitrate; /* bits/s */
    uint32_t maxrate;       /* bits/s */
    uint32_t bufsize;       /* bits */
    int      fps;           /* 0: the source's rate */
    char     preset[32];
    char     profile[16];
    char     encoder[32];
    int      audio_copy;    /* 1: copy the source's AAC; 0: re-encode */
    uint32_t audio_bitrate; /* bits/s, when re-encoding */
    int      latency;       /* enum sl_rendition_latency */
};

/* A push relay ([relay:NAME]): where streams of the apps that list it
 * are pushed. */
struct sl_relay_config {
    char name[SL_NAME_MAX];
    int  has_url;
    int  nurls; /* urls[0] = url, then backup_url */
    char urls[SL_RELAY_MAX_URLS][SL_URL_MAX];
    int  push_source; /* streams lists "source" */
    int  nrungs;      /* rendition names in streams */
    char rungs[SL_APP_MAX_RENDITIONS][SL_NAME_MAX];
    /* The retry schedule (relay/retry.h): attempts retry_min apart for
     * the first retry_fast of an outage, then doubling to retry_max. */
    uint32_t retry_min_ms, retry_max_ms, retry_fast_ms;
    int      failover_after; /* failures before the next url */
    uint32_t timeout_ms;     /* connect and write timeout */
    uint32_t max_buffer;     /* bytes held while disconnected */
};

struct sl_app_config {
    char name[SL_NAME_MAX];
    /* The ladder: indexes into sl_config.renditions, in the order the
     * app lists them. */
    int      nrenditions;
    int      renditions[SL_APP_MAX_RENDITIONS];
    uint32_t keyframe_interval_ms; /* every rung's fixed GOP */
    /* Push relays: indexes into sl_config.relays. */
    int nrelays;
    int relays[SL_APP_MAX_RELAYS];
    /* Edge: origins to pull a stream from when it is not published
     * here, and how long a pull outlives its last player. */
    int      npulls;
    char     pulls[SL_APP_MAX_PULLS][SL_URL_MAX];
    uint32_t pull_idle_ms;
    /* A pull's retry schedule when no origin serves (as a relay's). */
    uint32_t pull_retry_min_ms, pull_retry_max_ms, pull_retry_fast_ms;
    /* Hot standby: a second publisher of a live name waits instead of
     * being refused, and replaces a primary that leaves or sends no
     * media for ingest_timeout_ms. */
    int      backup_publish;
    uint32_t ingest_timeout_ms;

    /* Access control (docs/security.md), checked in this order: address
     * rules, stream key, signature, then the HTTP callbacks. */
    struct sl_cidr_list allow_publish, deny_publish, allow_play, deny_play;
    char                publish_keys_path[512];
    struct sl_keyset   *publish_keys;        /* NULL: any name may publish */
    char                publish_secret[128]; /* "": no signature needed */
    char                play_secret[128];
    char                on_connect[SL_URL_MAX]; /* "": no callback */
    char                on_publish[SL_URL_MAX];
    char                on_play[SL_URL_MAX];
    char                on_done[SL_URL_MAX];
    uint32_t            callback_timeout_ms;

    /* Recording (record/): "" = off; otherwise an existing, writable
     * folder (relative paths resolved against the config's folder). */
    char     record_dir[512];
    int      record_renditions; /* also record the ladder's rungs */
    uint32_t record_segment_ms; /* a new file at the first keyframe after */

    /* LL-HLS (hls/): packaged in memory, served on the web port. */
    int      hls;
    uint32_t hls_part_ms;
    uint32_t hls_segments;
    int      hls_source; /* the source is listed in the master playlist */
    char     hls_dir[512]; /* hls_path: "" = memory only */

    /* SRT (srt/): per connection, set when the handshake is accepted. */
    uint32_t srt_latency_ms;
    char     srt_passphrase[80]; /* "": no encryption */
    int      srt_pbkeylen;       /* index into 0|16|24|32 (0: libsrt's) */
    uint32_t srt_overhead;       /* % over the input rate for resends */
};

struct sl_tls_ctx; /* server/tls.h */

struct sl_config {
    atomic_uint refs;
    char        path[256];

    /* [server] */
    char     listen_host[64]; /* "" = every address */
    uint16_t listen_port;
    int      workers; /* 0 = one per CPU we may run on */
    int      acceptors;
    uint32_t chunk_size; /* our outgoing chunk size */
    int      max_connections;
    uint32_t max_message_size;
    int      gop_cache; /* 0/1 */
    uint32_t max_lag_ms;
    uint32_t merge_write_ms;
    uint32_t handshake_timeout_ms;
    uint32_t idle_timeout_ms;
    uint32_t publish_grace_ms; /* players wait for a returning publisher */
    /* SRT (srt/): a UDP port of libsrt's; read at start only. */
    int      srt_enabled;  /* srt_listen given (not off) */
    char     srt_host[64]; /* "" = every address */
    uint16_t srt_port;
    int      log_level;        /* enum sl_log_level */
    /* Abuse limits (docs/security.md); 0 turns each off. */
    uint32_t max_pending_per_ip;      /* pending connections of one address */
    uint32_t max_players_per_ip;      /* players of one address */
    uint32_t connection_rate_per_ip;  /* new connections a second */
    uint32_t connection_burst_per_ip; /* the rate's bucket, >= 1 */
    uint32_t max_pending;             /* neither publishing nor playing */

    /* [http] */
    int      http_enabled;  /* 0: listen = off */
    char     http_host[64]; /* "" = every address */
    uint16_t http_port;
    char     api_token[256]; /* "": control calls refused */
    int      http_max_connections;
    uint32_t http_timeout_ms;

    /* RTMPS (docs/security.md): tls_listen is read at start only; the
     * certificate and key are loaded (and checked) with the config, so a
     * reload brings new ones for new connections. */
    int                tls_enabled;  /* tls_listen given (not off) */
    char               tls_host[64]; /* "" = every address */
    uint16_t           tls_port;
    char               tls_cert[512];
    char               tls_key[512];
    struct sl_tls_ctx *tls; /* NULL without tls_cert/tls_key; one reference,
                             * dropped with the config */
    /* [web]: the public port for browsers and phones (HTTP-FLV).  Its
     * addresses are read at start only; the rest applies to connections
     * accepted after a reload.  tls_listen serves HTTPS with the
     * certificate above (tls_cert, tls_key), loaded with the config. */
    int                   web_enabled;  /* 0: listen = off */
    char                  web_host[64]; /* "" = every address */
    uint16_t              web_port;
    int                   web_tls_enabled; /* tls_listen given (not off) */
    char                  web_tls_host[64];
    uint16_t              web_tls_port;
    struct sl_origin_list web_cors_origins;
    uint32_t web_request_timeout_ms;   /* to a complete request head */
    uint32_t web_keepalive_timeout_ms; /* idle between requests */
    uint32_t web_hls_viewer_timeout_ms; /* an HLS viewer's end */

    /* [cluster]: capacity and players change on reload; the agent's
     * address is read at start only. */
    uint32_t cluster_capacity_mbps; /* 0 = unlimited */
    uint32_t cluster_max_players;   /* 0 = unlimited */
    int      agent_enabled;
    char     agent_host[64]; /* "" = every address */
    uint16_t agent_port;

    int                  napps;
    struct sl_app_config apps[SL_CONFIG_MAX_APPS];

    int                        nrenditions;
    struct sl_rendition_config renditions[SL_CONFIG_MAX_RENDITIONS];

    int                    nrelays;
    struct sl_relay_config relays[SL_CONFIG_MAX_RELAYS];
};

/* Reads and validates path.  On success a config with one reference for
 * the caller.  On failure NULL, with "FILE:LINE: problem" (or
 * "FILE: problem") in err. */
struct sl_config *sl_config_load(const char *path, char *err, size_t errlen);

/* A config with every default and no apps (for tests). */
struct sl_config *sl_config_defaults(void);

/* Prints every key, one per line, with its section, default, whether a
 * reload applies it and its help line (sluice -k). */
void sl_config_print_keys(FILE *f);

void sl_config_ref(struct sl_config *c);
void sl_config_unref(struct sl_config *c);

/* What a reload cannot apply: names every key that is read at start only
 * ([server] listen, workers, ...; docs/config.md) and differs between
 * old and next, as "[server] listen, [http] timeout" in out (cut with
 * "..." when cap is too small; "" when none).  Returns how many differ.
 * Pure; any thread. */
int sl_config_describe_start_only_changes(const struct sl_config *old,
                                          const struct sl_config *next,
                                          char *out, size_t cap);

/* Whether a browser page of origin (an Origin header's value, len
 * bytes, not NUL-terminated) may read the web port's media under c's
 * [web] cors_origins: always with "*", otherwise when it equals one of
 * the listed origins, scheme and host compared without regard to case.
 * Pure; any thread. */
int sl_config_origin_allowed(const struct sl_config *c, const char *origin,
                             size_t len);

/* The app section named name, or NULL. */
const struct sl_app_config *sl_config_app(const struct sl_config *c,
                                          const char             *name);

/* The process-wide current config: get returns a new reference (any
 * thread); set replaces it, taking over the caller's reference. */
struct sl_config *sl_config_get(void);
void              sl_config_set(struct sl_config *c);

#endif
