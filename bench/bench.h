/*
 * The load generator's parts, shared by its three files:
 *
 *   bench.c    options, set-up, and the run's phases (publish, settle,
 *              connect, warm-up, window, drain) around one epoll loop;
 *   client.c   the RTMP client of the publisher and of every player:
 *              connect, handshake, commands, the publisher's paced
 *              media, and the chunk reader that hands a player's video
 *              to measure.c;
 *   httpflv.c  the HTTP-FLV player (--flv-url): request, response head,
 *              FLV tags through flvread.c, video to measure.c;
 *   hls.c      the LL-HLS viewer (--hls-url): playlists, blocking
 *              reloads or polls, parts, through hlsread.c; its own
 *              result line;
 *   measure.c  the frames as sent, the matching of what players receive
 *              against them, /proc around the window, the result line;
 *   delay.c    with --rungs: a source player and one player per rung,
 *              and the delay the ladder adds, frame by frame.
 *
 * The generator is one thread, so nothing here is locked and every
 * function may only be called from that thread.
 */
#ifndef SL_BENCH_BENCH_H
#define SL_BENCH_BENCH_H

#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bench/flvfile.h"
#include "bench/flvread.h"
#include "rtmp/chunk.h"

/* ROLE_PLAYER plays over RTMP, ROLE_FLV_PLAYER over HTTP-FLV,
 * ROLE_HLS_VIEWER follows an LL-HLS media playlist. */
enum sl_bench_role {
    ROLE_PUBLISHER,
    ROLE_PLAYER,
    ROLE_FLV_PLAYER,
    ROLE_HLS_VIEWER
};

/* A connection's progress.  Each state names what we wait for. */
enum sl_bench_state {
    ST_CONNECTING, /* TCP connect in progress */
    ST_HANDSHAKE,  /* S0+S1+S2 */
    ST_CONNECT,    /* _result of connect (transaction 1) */
    ST_CREATE,     /* _result of createStream (transaction 2) */
    ST_START,      /* onStatus Publish.Start / Play.Start */
    ST_RESPONSE,   /* HTTP-FLV: the response head, the FLV file header;
                    * LL-HLS: the first 200 for the playlist */
    ST_LIVE,       /* publishing or playing */
    ST_DEAD        /* failed or dropped; socket closed */
};

/* The publisher or one player.  client.c moves it through its states;
 * the last five fields are measure.c's, for scoring a player's video. */
struct sl_bench_conn {
    int      fd;
    uint8_t  role;
    uint8_t  state;
    uint8_t  stream_ix;             /* --rungs: 0 the source, k rung k */
    uint8_t  synced;                /* offset below is known */
    uint8_t  in_window;             /* was live when the window began */
    uint32_t hs_got;                /* handshake or head bytes received */
    uint8_t *hs;                    /* S0+S1 while handshaking; an
                                     * HTTP-FLV player's response head
                                     * until it is complete */
    union {                         /* by role: */
        struct sl_chunk_reader *rd; /* RTMP */
        struct sl_bench_flvrd  *fr; /* HTTP-FLV */
        struct sl_bench_hlsv   *hv; /* LL-HLS (hls.c) */
    };
    uint32_t stream_id;
    int32_t  offset;    /* sent ts - received ts */
    uint32_t got;       /* window frames received */
    uint32_t unmatched; /* frames found nowhere */
};

/* Where a role connects: the publisher to -u, players to --play-url
 * (the same place unless given) or --flv-url. */
struct sl_bench_endpoint {
    char                    host[256];
    char                    port[16];
    char                    app[256];
    char                    stream[256];
    char                    tc_url[600];
    char                    target[1024]; /* HTTP: the path and query */
    struct sockaddr_storage addr;
    socklen_t               addr_len;
};

/* --rungs: at most this many, each a rendition name. */
#define SL_BENCH_MAX_RUNGS 8
#define SL_BENCH_RUNG_NAME 64

struct sl_bench_options {
    const char *url;
    const char *play_url; /* NULL: players play url */
    const char *flv_url;  /* set: players are HTTP-FLV players of it */
    const char *hls_url;  /* set: players are LL-HLS viewers of it */
    int         hls_poll; /* viewers poll instead of blocking reloads */
    int         also_pid; /* a second process measured like the server */
    const char *input;
    unsigned    players;
    double      duration_s;
    double      warmup_s;
    double      drain_s;
    double      settle_s;
    int         server_pid;
    unsigned    concurrency;
    int         csv;
    /* --rungs A,B: one player of the source and one of each rung
     * (STREAM_A, STREAM_B) instead of -n players; delay.c reports. */
    int  nrungs;
    char rungs[SL_BENCH_MAX_RUNGS][SL_BENCH_RUNG_NAME];
};

/* What the three files share; defined in bench.c. */
struct sl_bench {
    struct sl_bench_options  opt;
    struct sl_bench_endpoint pub_at, play_at;
    int                      ep; /* the one epoll set */
    struct sl_flv_file       flv;
    struct sl_bench_conn     pub;

    /* Players: opt.players of them, opened in order. */
    struct sl_bench_conn *players;
    unsigned              opened;   /* connect() calls made */
    unsigned              inflight; /* opened but not yet playing or dead */
    unsigned              playing;  /* reached Play.Start */
    unsigned              failed;   /* died before Play.Start */
    unsigned              dropped;  /* died after Play.Start */
    int64_t               first_connect_us, last_start_us;
};

extern struct sl_bench sl_bench;

/* Set by SIGINT and SIGTERM, and when the publisher fails: the run
 * stops at the next turn of the loop. */
extern volatile sig_atomic_t sl_bench_stop;

/* ---- client.c ----------------------------------------------------------- */

/* Allocates the client's buffers and the epoll set (sl_bench.ep).  0 or
 * -ENOMEM; sl_bench_client_free() undoes it, also after a failure. */
int  sl_bench_client_init(void);
void sl_bench_client_free(void);

/* Starts a non-blocking connect of c (any previous contents are
 * overwritten) and registers it with the epoll set.  0 or -errno; on
 * failure c holds no socket. */
int sl_bench_conn_open(struct sl_bench_conn *c, enum sl_bench_role role);

/* Closes c's socket and frees its reader; c may be closed already. */
void sl_bench_conn_close(struct sl_bench_conn *c);

/* Marks c ST_DEAD with a reason (said on stderr for the first few
 * players), counts it failed or dropped, and closes it. */
void sl_bench_conn_fail(struct sl_bench_conn *c, const char *why);

/* Handles the epoll events of c: connect completion, reads, the
 * publisher's pending output.  A failure marks c ST_DEAD. */
void sl_bench_conn_event(struct sl_bench_conn *c, uint32_t events);

/* Queues every media tag that is due by now once the publisher is live;
 * returns the microseconds until the next is due. */
int64_t sl_bench_pub_pump(int64_t now);

/* Opens player connections while fewer than opt.concurrency are
 * setting up. */
void sl_bench_open_players(int64_t now);

/* ---- httpflv.c ---------------------------------------------------------- */

/* A new HTTP-FLV player's reader (NULL when out of memory); free() it. */
struct sl_bench_flvrd *sl_bench_flv_reader_new(void);

/* c's TCP connect completed: sends the GET and waits for the head. */
void sl_bench_flv_connected(struct sl_bench_conn *c);

/* Feeds bytes player c read at `at` through the response head, the FLV
 * header and the tags; video goes to sl_bench_score_video().  A failure
 * marks c ST_DEAD. */
void sl_bench_flv_bytes(struct sl_bench_conn *c, const uint8_t *p, size_t len,
                        int64_t at);

/* ---- hls.c -------------------------------------------------------------- */

/* A new LL-HLS viewer's state (NULL when out of memory); released by
 * sl_bench_hls_viewer_free(). */
struct sl_bench_hlsv *sl_bench_hls_viewer_new(void);
void                  sl_bench_hls_viewer_free(struct sl_bench_hlsv *v);

/* c's TCP connect completed: sends the first playlist GET. */
void sl_bench_hls_connected(struct sl_bench_conn *c);

/* Feeds bytes viewer c read at `at` through the response heads and
 * bodies and moves it on (next request or a wait).  A failure marks c
 * ST_DEAD. */
void sl_bench_hls_bytes(struct sl_bench_conn *c, const uint8_t *p, size_t len,
                        int64_t at);

/* Sends the requests of viewers whose wait (a poll period, a retry) is
 * over by now; returns the microseconds until the next is due (a large
 * value when none waits). */
int64_t sl_bench_hls_tick(int64_t now);

/* Prints the LL-HLS result (one CSV line with --csv) on stdout. */
void sl_bench_hls_report(void);

/* ---- measure.c ---------------------------------------------------------- */

/* What the window cost, in % of one core; -1 where unknown. */
struct sl_bench_loads {
    double window_s;
    double srv_cpu, srv_user, srv_sys; /* -p's process */
    double also_cpu;                   /* --also-pid's process */
    double gen_cpu;                    /* ours */
    double other[2];          /* others' use of the server's core and ours */
    long   rss_base, rss_end; /* -p's, KiB: before players, at the end */
    int    saturated;         /* we were near a full core: suspect */
};

/* Fills l once the window has closed. */
void sl_bench_window_loads(struct sl_bench_loads *l);

/* Whether `at` falls inside the measured window (open or closed). */
int sl_bench_in_window(int64_t at);

void sl_bench_measure_init(void);
void sl_bench_measure_free(void);

/* Records a video frame (not a codec header) the publisher handed to the
 * socket at `at` with timestamp ts.  0 or -ENOMEM. */
int sl_bench_record_sent(const struct sl_flv_tag *t, uint32_t ts, int64_t at);

/* Matches a video message (an FLV video tag body) of len bytes with
 * timestamp ts, which player c read at `at`, against the frames sent,
 * and scores it when it was sent inside the window.  head holds the
 * body's first min(len, SL_BENCH_HASH_BYTES) bytes, all that identifies
 * a frame; RTMP and HTTP-FLV players are scored alike. */
void sl_bench_score_video(struct sl_bench_conn *c, uint32_t ts,
                          const uint8_t *head, uint32_t len, int64_t at);

/* Reads the server's RSS before the players connect (with -p). */
void sl_bench_measure_baseline(void);

/* Opens the measured window at now: the players live now are the ones
 * scored, and the CPU counters are sampled.  Returns its planned end. */
int64_t sl_bench_window_open(int64_t now);

/* Closes the window at now: the CPU counters and RSS are sampled again. */
void sl_bench_window_close(int64_t now);

/* Prints the result (one CSV line with --csv) on stdout. */
void sl_bench_report(void);

/* ---- delay.c ------------------------------------------------------------ */

/* The measured window, as sl_bench_window_open() set it. */
void sl_bench_delay_window(int64_t start_us, int64_t end_us);

/* Keeps a video message (an FLV video tag body of len bytes at
 * timestamp ts) that player c read at `at`; sequence headers and
 * anything that is not AVC are ignored. */
void sl_bench_delay_video(const struct sl_bench_conn *c, uint32_t ts,
                          const uint8_t *body, uint32_t len, int64_t at);

/* Prints one "delay ..." line for the source and one per rung (frames
 * matched, missing, median, p90, min and max of the added delay in ms).
 * 0, -ENODATA when a rung matched no frame, -ENOMEM. */
int  sl_bench_delay_report(void);
void sl_bench_delay_free(void);

#endif
