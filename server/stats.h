/*
 * What the HTTP API and the metrics page report, as plain snapshots.
 *
 * A snapshot is a copy: sl_stats_snapshot() copies counters and session
 * facts under short locks (the server's session list lock, then each
 * session's info lock, never a hub or stream lock) and everything that
 * renders JSON or metrics works on the copy afterwards, so a request
 * never holds up the media path.  A sampler thread records the totals
 * once a second; bit rates are measured over the last SL_STATS_WINDOW_S
 * seconds of those samples, and the last SL_STATS_HISTORY samples are
 * kept for the dashboard's charts.
 *
 * Renditions and relays belong to stages that plug in later (transcode/,
 * relay/).  They report through struct sl_stats_providers, which main()
 * registers; with nothing registered streams have empty renditions and
 * relays arrays and the relay count is 0.
 */
#ifndef SL_STATS_H
#define SL_STATS_H

#include <stdint.h>

#include "server/config.h"
#include "server/iplimit.h"
#include "server/proto.h"
#include "server/session_info.h"

struct sl_server;

#define SL_STATS_WINDOW_S 5
#define SL_STATS_HISTORY 300   /* samples, one a second: 5 minutes */
#define SL_STATS_MAX_REND 16   /* renditions per stream */
#define SL_STATS_MAX_RELAYS 16 /* relays per stream */

/* ---- providers (transcode, relay) ---- */

/* One rung of a stream's transcoding ladder, as the transcoder sees it. */
struct sl_stats_rendition {
    char   name[64]; /* the rung, as in [rendition:NAME] */
    int    width, height;
    double fps;              /* frames encoded per second, measured */
    double speed;            /* source time processed per second the
                              * ladder's thread worked: how many times
                              * real time it could go; below 1 it cannot
                              * keep up and sheds frames */
    uint64_t dropped_frames; /* the ladder's: frames dropped rather than
                              * queued or encoded (every rung skips the
                              * same ones) */
    uint64_t bitrate;        /* bits/s of the encoded output; 0: unknown */
};

/* One relay of a stream. */
struct sl_stats_relay {
    char name[64];  /* as in [relay:NAME] */
    char state[16]; /* "connecting", "live" or "backoff" */
    /* The target.  Whatever the provider puts here goes through
     * sl_stats_redact_url() before it is shown: user info and the query
     * string are removed. */
    char     url[256];
    uint64_t reconnects;
    uint64_t bytes_sent;
};

/* A stream's recording (record/), in an app with `record`. */
struct sl_stats_recording {
    char     file[256]; /* the file being written, or the last one */
    char     state[16]; /* "waiting", "recording", "failed" or "done" */
    uint64_t bytes;     /* written, every file of the stream together */
    uint64_t files;
    uint64_t dropped_frames; /* the queue was full (slow disk) */
};

/* A stream's LL-HLS packaging (hls/): the publish and its rungs. */
struct sl_stats_hls {
    int      variants;
    int      source_aligned;  /* 1, 0, -1: not known yet */
    uint64_t segments, parts; /* cut since it started, every variant */
    uint64_t bytes;           /* held in memory */
};

/* A stream the server publishes itself (a rendition, an edge pull): no
 * session publishes it, so the sessions cannot tell the API about it. */
struct sl_stats_served {
    char app[SL_NAME_MAX];
    char name[SL_NAME_MAX];
    char origin[256];    /* "rendition 720p of live/demo", or the pull's
                          * origin URL (redacted like relay URLs) */
    char     client[64]; /* "sluice transcoder", "sluice edge pull" */
    char     vcodec[16], acodec[16];
    int      width, height;
    double   fps;
    uint64_t bitrate; /* bits/s; 0: unknown */
    double   uptime_s;
};

/* Callbacks the transcoder and the relays register.  Each is called on
 * the HTTP or the sampler thread, must not block (copy under your own
 * lock and return) and may be NULL.  renditions() and relays() fill at
 * most max entries for the stream app/name and return how many;
 * relay_count() returns the relays connected or connecting in all. */
struct sl_stats_providers {
    void *ctx;
    int (*renditions)(void *ctx, const char *app, const char *name,
                      struct sl_stats_rendition *out, int max);
    int (*relays)(void *ctx, const char *app, const char *name,
                  struct sl_stats_relay *out, int max);
    int (*relay_count)(void *ctx);
    /* The streams the server publishes itself, all apps. */
    int (*served)(void *ctx, struct sl_stats_served *out, int max);
    /* The recording of app/name into *out: 1, or 0 when there is none. */
    int (*recording)(void *ctx, const char *app, const char *name,
                     struct sl_stats_recording *out);
    /* HLS viewers of app/name now (every stream: app NULL). */
    int (*hls_viewers)(void *ctx, const char *app, const char *name);
    /* The packaging of app/name into *out: 1, or 0 when not packaged. */
    int (*hls)(void *ctx, const char *app, const char *name,
               struct sl_stats_hls *out);
};

/* Registers p (copied), or with NULL unregisters.  Any thread; call it
 * before sl_http_start() or after sl_http_stop() so no request sees a
 * provider whose ctx is going away. */
void sl_stats_set_providers(const struct sl_stats_providers *p);

/* Removes "user:password@" and "?query" from url, in place. */
void sl_stats_redact_url(char *url);

/* ---- snapshots ---- */

struct sl_snap_player {
    uint64_t id;
    char     address[64];
    char     protocol[16]; /* "rtmp", "http-flv" (enum sl_proto_id) */
    uint64_t bytes_sent;
    uint32_t lag_ms;         /* newest media in the stream minus the
                              * newest media this player was sent */
    uint64_t skips;          /* times it fell max_lag behind */
    uint64_t dropped_frames; /* media messages it skipped over */
    double   uptime_s;
    struct sl_srt_facts srt; /* an SRT player's link (srt.on) */
};

struct sl_snap_stream {
    char     app[SL_NAME_MAX];
    char     name[SL_NAME_MAX];
    uint64_t publisher_id;
    char     publisher_addr[256];   /* or where a served stream comes from */
    char     client[128];           /* flashVer of connect */
    char     encoder[128];          /* onMetaData encoder */
    char     protocol[16];          /* the publisher's: "rtmp", "srt"; "" */
    struct sl_srt_facts srt;        /* an SRT publisher's link (srt.on) */
    char                vcodec[16]; /* "" before the first video message */
    int                 width, height;
    double              fps; /* declared (metadata, SPS timing), else
                              * measured */
    char                   acodec[16];
    int                    sample_rate, channels;
    uint64_t               bytes_in; /* audio, video and data payload bytes */
    uint64_t               bitrate;  /* bits/s over the window */
    double                 uptime_s;
    int                    nplayers;
    struct sl_snap_player *players; /* nplayers entries, or NULL when
                                     * the list was not asked for */
    int                       nrenditions;
    struct sl_stats_rendition renditions[SL_STATS_MAX_REND];
    int                       nrelays;
    struct sl_stats_relay     relays[SL_STATS_MAX_RELAYS];
    int                       has_recording;
    struct sl_stats_recording recording;
    int                       has_hls;
    struct sl_stats_hls       hls;
    uint64_t standby_id; /* backup_publish: the standby's client id, or 0 */
    /* nplayers by enum sl_proto_id (a player of a protocol without a
     * row counts in neither). */
    int players_by_protocol[SL_PROTO_IDS];
};

struct sl_snap_worker {
    uint64_t tasks_run, steals, injected, parks;
};

struct sl_snapshot {
    char                   version[32];
    char                   config_path[256];
    double                 now; /* Unix time, seconds */
    double                 uptime_s;
    int                    stopping;
    int                    nworkers;
    struct sl_snap_worker *workers;
    int                    sessions; /* every open connection */
    int                    publishers, players, relays;
    uint64_t               bytes_in, bytes_out;     /* sockets, all sessions */
    uint64_t               bitrate_in, bitrate_out; /* bits/s over the window */
    uint64_t               players_dropped;
    /* Connections refused at accept, by enum sl_refuse. */
    uint64_t               refused[SL_REFUSE_N];
    double                 cpu_seconds; /* user + system */
    double                 cpu_percent; /* over the window; 100 = 1 core */
    uint64_t               rss_bytes;
    uint32_t               capacity_mbps, max_players; /* [cluster] */
    double                 load; /* server/cluster.h: 1 = full */
    uint64_t               plays_refused_capacity; /* node full */
    uint64_t               plays_refused_per_ip;   /* max_players_per_ip */
    int                    nstreams;
    struct sl_snap_stream *streams; /* live streams, by app/name */
    /* Playing sessions by enum sl_proto_id, from the same copy of the
     * sessions as the streams' players (players above is the server's
     * counter, read apart: plays starting or ending meanwhile can make
     * the two differ by those). */
    int players_by_protocol[SL_PROTO_IDS];
    /* bytes_out by enum sl_proto_id (srv->bytes_out_by). */
    uint64_t bytes_out_by_protocol[SL_PROTO_IDS];
};

/* History for the dashboard: one sample a second, oldest first. */
struct sl_hist_stream {
    char     app[SL_NAME_MAX];
    char     name[SL_NAME_MAX];
    int      n;
    double   t[SL_STATS_HISTORY];       /* Unix time */
    uint64_t bitrate[SL_STATS_HISTORY]; /* bits/s over the window */
};

struct sl_history {
    int                    n;
    double                 t[SL_STATS_HISTORY];
    uint64_t               bitrate_in[SL_STATS_HISTORY];
    uint64_t               bitrate_out[SL_STATS_HISTORY];
    double                 cpu_percent[SL_STATS_HISTORY];
    uint64_t               rss_bytes[SL_STATS_HISTORY];
    int                    nstreams;
    struct sl_hist_stream *streams;
};

struct sl_stats;

/* The statistics of srv.  config_path is reported as it is.  NULL when
 * out of memory. */
struct sl_stats *sl_stats_new(struct sl_server *srv, const char *config_path);
/* Starts the sampler thread.  0 or -errno. */
int sl_stats_start(struct sl_stats *st);
/* Stops and joins the sampler (safe when it never started), frees st. */
void sl_stats_free(struct sl_stats *st);

#define SL_SNAP_PLAYERS 1 /* fill each stream's player list */

/* A new snapshot (any thread), or NULL when out of memory.  app and name
 * restrict the streams to that one when not NULL.  Free with
 * sl_snapshot_free(). */
struct sl_snapshot *sl_stats_snapshot(struct sl_stats *st, int flags,
                                      const char *app, const char *name);
void                sl_snapshot_free(struct sl_snapshot *s);

/* A copy of the history (any thread), or NULL.  Free with
 * sl_history_free(). */
struct sl_history *sl_stats_history(struct sl_stats *st);
void               sl_history_free(struct sl_history *h);

#endif
