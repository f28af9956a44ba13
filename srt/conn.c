/*
 * One SRT connection: a task of the pool, woken by the SRT thread when
 * its socket has something (srt/server.c) and by the callback thread
 * when an answer arrives.  It runs on one worker at a time, so its
 * state needs no lock.
 *
 * A publisher reads every datagram libsrt holds for it (live mode: one
 * message of up to 1316 bytes, seven TS packets, each), feeds them to
 * its MPEG-TS demuxer (media/ts_in.h), and hands each body to the hub
 * as an RTMP publisher's session does.  Its role, the pending count,
 * on_done and the API's facts go through struct sl_conn (conn.h) like
 * every session's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <srt/srt.h>

#include "media/ts_in.h"
#include "pool/clock.h"
#include "pool/loop.h"
#include "rtmp/rtmp.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/log.h"
#include "server/proto.h"
#include "server/server.h"
#include "server/session.h"
#include "server/session_info.h"
#include "srt/srt_int.h"

#define slog sl_log_conn

/* TS bytes in one SRT live message: seven packets, as callers send. */
#define SRT_PAYLOAD 1316
/* Entries a player takes from its feed at a time. */
#define BATCH 32
/* Skips this close together: the player cannot keep up. */
#define SKIPS_MAX 3
#define SKIPS_WINDOW_MS 30000
/* A caller's receive buffer with less room than this (in packets, about
 * 10 KB: not even a small frame) is full: its reader takes nothing. */
#define FULL_WINDOW_PKTS 8

/* Bytes read in one run before the task gives the worker to others. */
#define READ_BUDGET (256u * 1024)
/* An SRT live message is at most 1456 bytes (1316 as callers send). */
#define MSG_MAX 1500
#define STATS_EVERY_MS 1000

struct sl_srt_conn {
    struct sl_conn      base; /* first: the sl_conn functions take it */
    struct sl_task      task;
    struct sl_sess_info info;
    struct sl_timer     timer;
    struct sl_srt      *owner;
    SRTSOCKET           sock;
    atomic_int          events; /* SRT_EPOLL_* seen by the thread */

    struct sockaddr_storage addr;
    struct sl_ipticket      ticket;
    struct sl_srt_admission adm;
    char                    peer[64], peer_ip[64];

    struct sl_ts_in *ts;

    /* A player: its place in the stream's TS feed, the entries taken
     * from it and not yet sent (the first one from off). */
    struct sl_srt_reader reader;
    struct sl_buf       *pend[BATCH];
    int                  npend, ipend;
    size_t               off;
    uint64_t             last_sent_ms, skips_seen, first_skip_ms;
    uint8_t              playing;
    /* peer_stalled's: the sender's drops at the last look, and since
     * when the caller's buffer has been full with drops (0: it is not). */
    int64_t  drops_seen;
    uint64_t full_since_ms;

    uint64_t stats_at, retrans_total;
    uint8_t  started, watched, closing, finished;
    int      close_level;
    char     close_why[400];
};

static void conn_close(struct sl_srt_conn *c, int level, const char *why);

/* ---- sl_conn's transport ---- */

/* Nothing is ever sent to an SRT publisher: its protocol has no
 * replies. */
static int
tp_send(void *io, struct sl_buf *b)
{
    (void) io;
    (void) b;
    return -ENOTSUP;
}

static void
tp_close(void *io, int level, const char *why)
{
    conn_close(io, level, why);
}

static const struct sl_conn_transport transport = {tp_send, tp_close};

/* ---- the hub ---- */

static void
emit(void *ctx, uint8_t type, uint32_t ts, struct sl_buf *b)
{
    struct sl_srt_conn *c = ctx;

    if (c->base.pub_stream == NULL)
        return;
    sl_session_info_media(&c->info, type, b->data, b->len);
    sl_hub_publisher_media(c->base.pub_stream, &c->base, type, ts, b,
                           sl_now_ms());
}

static void
note(void *ctx, const char *line)
{
    struct sl_srt_conn *c = ctx;

    slog(SL_LOG_WARN, &c->base, "%s/%s: %s", c->base.app, c->base.stream_name,
         line);
}

/* Publishes under name (the verdict's).  0, or -1 when closing. */
static int
publish_start(struct sl_srt_conn *c, const char *name)
{
    const struct sl_app_config *app = sl_config_app(c->base.cfg, c->base.app);
    int                         backup = app != NULL && app->backup_publish;
    struct sl_hub              *hub = c->base.srv->hub;
    struct sl_stream           *st;
    int                         rc;

    snprintf(c->base.stream_name, sizeof(c->base.stream_name), "%s", name);
    c->ts = sl_ts_in_new(emit, note, c);
    if (c->ts == NULL) {
        conn_close(c, SL_LOG_ERROR, "out of memory");
        return -1;
    }
    rc = backup ? sl_hub_publish_backup(hub, c->base.app, name, &c->base,
                                        c->base.id, app->ingest_timeout_ms, &st)
                : sl_hub_publish(hub, c->base.app, name, &c->base, &st);
    if (rc == -EBUSY) {
        char why[2 * SL_NAME_MAX + 64];

        snprintf(why, sizeof(why), "%s/%s is already being published%s",
                 c->base.app, name, backup ? " and has a standby" : "");
        conn_close(c, SL_LOG_WARN, why);
        return -1;
    }
    if (rc < 0) {
        conn_close(c, SL_LOG_ERROR, "out of memory");
        return -1;
    }
    c->base.pub_stream = st;
    c->base.done_due = 1;
    atomic_fetch_add(&c->base.srv->publishers, 1);
    sl_conn_set_role(&c->base, SL_ROLE_PUBLISHER);
    if (rc == 1)
        sl_log(SL_LOG_INFO, "%s/%s: standby publisher c%llu held (srt)",
               c->base.app, name, (unsigned long long) c->base.id);
    else
        slog(SL_LOG_INFO, &c->base, "publishing %s/%s (srt)", c->base.app,
             name);
    return 0;
}

/* Plays name as MPEG-TS from the stream's feed. */
static void
play_start(struct sl_srt_conn *c, const char *name)
{
    char why[96];

    if (sl_conn_admit_play(&c->base, why, sizeof(why)) < 0) {
        char line[160];

        snprintf(line, sizeof(line), "play refused: %s", why);
        conn_close(c, SL_LOG_INFO, line);
        return;
    }
    snprintf(c->base.stream_name, sizeof(c->base.stream_name), "%s", name);
    c->reader.task = &c->task;
    c->reader.max_lag_ms = c->base.cfg->max_lag_ms;
    if (sl_srt_feed_join(c->owner->feeds, c->base.app, name, &c->reader) < 0) {
        conn_close(c, SL_LOG_ERROR, "out of memory");
        return;
    }
    c->playing = 1;
    c->last_sent_ms = sl_now_ms();
    c->base.done_due = 1;
    atomic_fetch_add(&c->base.srv->players, 1);
    sl_conn_set_role(&c->base, SL_ROLE_PLAYER);
    slog(SL_LOG_INFO, &c->base, "playing %s/%s (srt)", c->base.app, name);
}

/* The player's end: out of its feed, its unsent entries dropped.
 * Idempotent. */
static void
play_stop(struct sl_srt_conn *c)
{
    if (!c->playing)
        return;
    c->playing = 0;
    sl_srt_feed_leave(c->owner->feeds, &c->reader);
    for (int i = c->ipend; i < c->npend; i++)
        sl_buf_unref(c->pend[i]);
    c->npend = c->ipend = 0;
    atomic_fetch_sub(&c->base.srv->players, 1);
    slog(SL_LOG_INFO, &c->base, "stopped playing %s/%s", c->base.app,
         c->base.stream_name);
}

/* Acts on a verdict for the request the handshake carried. */
static void
act_on(struct sl_srt_conn *c, const struct sl_auth_verdict *v)
{
    if (v->outcome == SL_AUTH_REFUSE) {
        char why[sizeof(v->why) + 32];

        snprintf(why, sizeof(why), "%s refused: %s",
                 c->adm.sid.mode == SL_SRT_PUBLISH ? "publish" : "play",
                 v->why);
        conn_close(c, SL_LOG_WARN, why);
        return;
    }
    if (v->redirected) {
        const struct sl_app_config *app =
            sl_config_app(c->base.cfg, c->base.app);

        /* The name asked for may be a stream key: never logged. */
        slog(SL_LOG_INFO, &c->base, "callback moved %s/%s to %s/%s",
             c->base.app,
             app != NULL && app->publish_keys != NULL ? "(key)" : c->adm.name,
             c->base.app, v->name);
    }
    if (c->adm.sid.mode == SL_SRT_PUBLISH)
        publish_start(c, v->name);
    else
        play_start(c, v->name);
}

/* The URL an ASK verdict meant: auth.c asks the kind's own callback
 * (SRT has no connect of its own: on_connect is not asked). */
static const char *
callback_of(const struct sl_app_config *app, enum sl_auth_kind kind)
{
    return kind == SL_AUTH_PUBLISH ? app->on_publish : app->on_play;
}

/* The first run: the role the admission granted, or the app's callback
 * asked first. */
static void
start(struct sl_srt_conn *c)
{
    struct sl_conn_wait   *w = &c->base.wait;
    struct sl_auth_verdict v;

    c->started = 1;
    if (!c->adm.ask) {
        memset(&v, 0, sizeof(v));
        v.outcome = SL_AUTH_ALLOW;
        snprintf(v.name, sizeof(v.name), "%s", c->adm.name);
        act_on(c, &v);
        return;
    }
    snprintf(w->name, sizeof(w->name), "%s", c->adm.sid.name);
    w->rq = (struct sl_auth_request){
        .kind =
            c->adm.sid.mode == SL_SRT_PUBLISH ? SL_AUTH_PUBLISH : SL_AUTH_PLAY,
        .app = sl_config_app(c->base.cfg, c->base.app),
        .name = w->name,
        .query = c->adm.sid.query,
        .addr = &c->addr,
        .now = time(NULL),
    };
    if (w->rq.app == NULL) {
        conn_close(c, SL_LOG_WARN, "the app is gone from the config");
        return;
    }
    if (sl_conn_wait_submit(&c->base, callback_of(w->rq.app, w->rq.kind), &v) <
        0) {
        w->rq.kind = SL_AUTH_NONE;
        act_on(c, &v);
    }
}

/* ---- reading ---- */

/* Whether a player's caller has taken nothing for twice max_lag.  In
 * live mode libsrt never refuses a message for a caller that stopped
 * reading, so send_more's EASYNCSND rule does not see one: the caller's
 * receive buffer fills and stays full (every ACK says it has no room:
 * the flow window), and the sender drops each packet once it is too
 * late to play (SRTO_TLPKTDROP) rather than keep it.  Both, at every
 * look (about once a second) for twice max_lag, is a stalled caller; a
 * slow or lossy link that drops has room, a small buffer that is read
 * drops nothing. */
static int
peer_stalled(struct sl_srt_conn *c, const SRT_TRACEBSTATS *perf, uint64_t now)
{
    int dropping = perf->pktSndDropTotal > c->drops_seen;

    c->drops_seen = perf->pktSndDropTotal;
    if (!dropping || perf->pktFlowWindow >= FULL_WINDOW_PKTS) {
        c->full_since_ms = 0;
        return 0;
    }
    if (c->full_since_ms == 0)
        c->full_since_ms = now;
    return now - c->full_since_ms >= 2 * (uint64_t) c->reader.max_lag_ms;
}

static void
update_stats(struct sl_srt_conn *c, uint64_t now)
{
    SRT_TRACEBSTATS perf;

    if (now - c->stats_at < STATS_EVERY_MS)
        return;
    c->stats_at = now;
    /* clear: the interval counters restart, so pktRcvRetrans (which has
     * no total) adds up here. */
    if (srt_bstats(c->sock, &perf, 1) < 0)
        return;
    /* A player's figures are the sender's side of the link. */
    c->retrans_total +=
        (uint64_t) (c->playing ? perf.pktRetrans : perf.pktRcvRetrans);
    sl_session_info_srt(
        &c->info,
        &(struct sl_srt_facts){
            .on = 1,
            .rtt_ms = perf.msRTT,
            .bandwidth_mbps = perf.mbpsBandwidth,
            .buffer_ms = c->playing ? perf.msSndBuf : perf.msRcvBuf,
            .pkts_lost = (uint64_t) (c->playing ? perf.pktSndLossTotal
                                                : perf.pktRcvLossTotal),
            .pkts_retransmitted = c->retrans_total,
            .pkts_dropped = (uint64_t) (c->playing ? perf.pktSndDropTotal
                                                   : perf.pktRcvDropTotal),
        });
    if (c->playing && peer_stalled(c, &perf, now))
        conn_close(c, SL_LOG_WARN,
                   "stalled: its receive buffer stayed full for 2 x max_lag");
}

/* Reads what libsrt holds, up to the budget.  1 when the budget ran out
 * (more may wait), 0 when it is all read, -1 when the connection is
 * gone (closing). */
static int
read_all(struct sl_srt_conn *c)
{
    char   buf[MSG_MAX];
    size_t total = 0;

    while (total < READ_BUDGET) {
        int n = srt_recvmsg(c->sock, buf, sizeof(buf));

        if (n < 0) {
            int  err = srt_getlasterror(NULL);
            char why[160];

            if (err == SRT_EASYNCRCV)
                return 0;
            snprintf(why, sizeof(why), "connection lost (%s)",
                     srt_getlasterror_str());
            /* The publisher is gone: what the demuxer still holds (the
             * last video frame, whose PES ends only at the next one)
             * reaches the hub before the unpublish. */
            if (c->ts != NULL)
                sl_ts_in_end(c->ts);
            conn_close(c, SL_LOG_INFO, why);
            return -1;
        }
        if (n == 0)
            continue;
        total += (size_t) n;
        atomic_fetch_add_explicit(&c->info.bytes_in, (uint64_t) n,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&c->base.srv->bytes_in, (uint64_t) n,
                                  memory_order_relaxed);
        if (c->ts != NULL &&
            sl_ts_in_feed(c->ts, (const uint8_t *) buf, (size_t) n) < 0) {
            conn_close(c, SL_LOG_WARN, "the MPEG-TS stream cannot be read");
            return -1;
        }
    }
    return 1;
}

/* ---- a player's sending ---- */

static void
count_sent(struct sl_srt_conn *c, size_t n)
{
    struct sl_server *srv = c->base.srv;

    atomic_fetch_add_explicit(&c->info.bytes_out, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&srv->bytes_out, n, memory_order_relaxed);
    sl_server_count_sent(srv, SL_PROTO_SRT, n);
}

/* Sends what the feed has, one SRT message (at most SRT_PAYLOAD bytes,
 * whole TS packets) at a time, until libsrt's send buffer is full (the
 * thread wakes the task when it has room) or nothing is left.  Returns
 * the time the player is next due to be looked at (0: on events only). */
static uint64_t
send_more(struct sl_srt_conn *c, uint64_t now)
{
    uint64_t grace = c->base.cfg->publish_grace_ms;
    int      live = 1;
    uint64_t ended = 0;

    for (;;) {
        if (c->ipend == c->npend) {
            uint64_t skips = c->reader.skips;

            c->ipend = c->off = 0;
            c->npend =
                sl_srt_feed_collect(&c->reader, c->pend, BATCH, &live, &ended);
            if (c->reader.skips != skips) {
                if (now - c->first_skip_ms > SKIPS_WINDOW_MS) {
                    c->first_skip_ms = now;
                    c->skips_seen = 0;
                }
                c->skips_seen += c->reader.skips - skips;
                atomic_fetch_add_explicit(&c->info.skips,
                                          c->reader.skips - skips,
                                          memory_order_relaxed);
                if (c->skips_seen >= SKIPS_MAX) {
                    conn_close(c, SL_LOG_WARN,
                               "too slow: fell max_lag behind 3 times");
                    return 0;
                }
            }
            if (c->npend == 0)
                break;
        }
        while (c->ipend < c->npend) {
            struct sl_buf *b = c->pend[c->ipend];
            size_t         n = b->len - c->off;
            int            rc;

            if (n > SRT_PAYLOAD)
                n = SRT_PAYLOAD;
            rc = srt_sendmsg2(c->sock, (const char *) b->data + c->off, (int) n,
                              NULL);
            if (rc < 0) {
                char why[160];

                if (srt_getlasterror(NULL) == SRT_EASYNCSND)
                    goto blocked;
                snprintf(why, sizeof(why), "connection lost (%s)",
                         srt_getlasterror_str());
                conn_close(c, SL_LOG_INFO, why);
                return 0;
            }
            count_sent(c, (size_t) rc);
            c->last_sent_ms = now;
            c->off += (size_t) rc;
            if (c->off >= b->len) {
                sl_buf_unref(b);
                c->ipend++;
                c->off = 0;
            }
        }
    }
    c->last_sent_ms = now; /* nothing waits: not stalled */
    if (!live && ended != 0) {
        if (now - ended >= grace) {
            conn_close(c, SL_LOG_INFO, "the stream ended");
            return 0;
        }
        return ended + grace;
    }
    return 0;
blocked:
    /* Nothing accepted for twice max_lag: the caller is gone or stuck. */
    if (now - c->last_sent_ms > 2 * (uint64_t) c->reader.max_lag_ms) {
        conn_close(c, SL_LOG_WARN, "stalled: no byte accepted for 2 x max_lag");
        return 0;
    }
    return c->last_sent_ms + 2 * (uint64_t) c->reader.max_lag_ms + 1;
}

/* ---- lifetime ---- */

static void
conn_close(struct sl_srt_conn *c, int level, const char *why)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->close_level = level;
    snprintf(c->close_why, sizeof(c->close_why), "%s", why);
    play_stop(c);
    sl_conn_closing(&c->base);
    sl_task_wake(&c->task);
}

/* Ends the connection for good: the role left (unpublished, on_done
 * sent), the socket closed and out of the thread's sight, the session
 * unlisted.  The task's memory lives on while a callback still holds a
 * reference. */
static void
finish(struct sl_srt_conn *c)
{
    struct sl_server *srv = c->base.srv;

    c->finished = 1;
    play_stop(c);
    sl_conn_closing(&c->base);
    slog(c->close_level, &c->base, "closing: %s", c->close_why);
    if (c->watched)
        sl_srt_unwatch(c->owner, c->sock, &c->task);
    srt_close(c->sock);
    sl_timer_cancel(srv->loop, &c->timer);
    sl_session_info_unlist(srv, &c->info);
    atomic_fetch_sub(&srv->nsessions, 1);
    sl_conn_free(&c->base);
    sl_ts_in_free(c->ts);
    c->ts = NULL;
    sl_task_unref(&c->task);
}

static void
destroy(struct sl_task *t)
{
    struct sl_srt_conn *c =
        (struct sl_srt_conn *) ((char *) t -
                                offsetof(struct sl_srt_conn, task));

    if (c->ticket.held)
        sl_iplimit_release(&c->ticket);
    sl_config_unref(c->base.cfg);
    sl_session_info_destroy(&c->info);
    free(c);
}

static void
run(struct sl_task *t)
{
    struct sl_srt_conn *c =
        (struct sl_srt_conn *) ((char *) t -
                                offsetof(struct sl_srt_conn, task));
    struct sl_server *srv = c->base.srv;
    uint64_t          now = sl_now_ms();
    int               ev;

    if (c->finished)
        return;
    if (!c->watched && !c->closing) {
        if (sl_srt_watch(c->owner, c->sock, c, &c->task) < 0)
            conn_close(c, SL_LOG_WARN, "too many SRT connections");
        else
            c->watched = 1;
    }
    if (!c->closing && atomic_load(&srv->stopping))
        conn_close(c, SL_LOG_INFO, "server stopping");
    if (!c->closing &&
        atomic_load_explicit(&c->info.kick, memory_order_relaxed))
        conn_close(c, SL_LOG_INFO, "dropped through the HTTP API");
    if (!c->closing && !c->started)
        start(c);
    if (!c->closing && sl_conn_waiting(&c->base)) {
        struct sl_auth_verdict v;

        if (!sl_conn_verdict_ready(&c->base))
            return; /* the answer wakes the task; libsrt holds the input */
        sl_conn_wait_verdict(&c->base, &v);
        c->base.wait.rq.kind = SL_AUTH_NONE;
        act_on(c, &v);
    }
    ev = atomic_exchange(&c->events, 0);
    if (!c->closing && c->base.role == SL_ROLE_PUBLISHER && read_all(c) > 0)
        sl_task_wake(t); /* the budget ran out: more in the next run */
    if (!c->closing && (ev & SRT_EPOLL_ERR))
        conn_close(c, SL_LOG_INFO, "connection lost");
    if (!c->closing && c->playing) {
        uint64_t due = send_more(c, now);

        if (due != 0 && !c->closing)
            sl_timer_arm(srv->loop, &c->timer, due);
        update_stats(c, now);
    }
    if (!c->closing && c->base.pub_stream != NULL) {
        uint64_t due = sl_hub_flush(c->base.pub_stream, now);

        if (due != 0)
            sl_timer_arm(srv->loop, &c->timer, due);
        update_stats(c, now);
    }
    if (c->closing)
        finish(c);
}

void
sl_srt_conn_event(struct sl_srt_conn *c, int events)
{
    atomic_fetch_or(&c->events, events);
    sl_task_wake(&c->task);
}

int
sl_srt_conn_start(struct sl_srt *s, SRTSOCKET sock, struct sl_srt_admitted *a)
{
    struct sl_server   *srv = s->srv;
    struct sl_srt_conn *c = calloc(1, sizeof(*c));
    int                 n;

    if (c == NULL) {
        srt_close(sock);
        sl_iplimit_release(&a->ticket);
        return -1;
    }
    sl_task_init(&c->task, srv->sched, run, destroy);
    c->owner = s;
    c->sock = sock;
    c->addr = a->addr;
    c->adm = a->adm;
    c->ticket = a->ticket; /* the connection owns the slot now */
    a->ticket.held = 0;
    atomic_init(&c->events, 0);
    sl_session_format_peer(&c->addr, c->peer, sizeof(c->peer), c->peer_ip,
                           sizeof(c->peer_ip));
    c->base.tp = &transport;
    c->base.io = c;
    c->base.srv = srv;
    c->base.cfg = sl_config_get();
    c->base.task = &c->task;
    c->base.info = &c->info;
    c->base.id = atomic_fetch_add(&srv->next_id, 1) + 1;
    c->base.peer = c->peer;
    c->base.peer_ip = c->peer_ip;
    c->base.addr = &c->addr;
    c->base.proto = SL_PROTO_SRT;
    c->base.ipslot = c->ticket.held ? &c->ticket : NULL;
    snprintf(c->base.app, sizeof(c->base.app), "%s", c->adm.sid.app);
    snprintf(c->base.url, sizeof(c->base.url), "srt://%s/%s", c->adm.sid.app,
             c->adm.sid.name);
    sl_session_info_init(&c->info, c->base.id, c->peer, &c->task);
    sl_session_info_client(&c->info, "srt", 3);
    sl_timer_init(&c->timer, &c->task);
    c->stats_at = sl_now_ms();
    if (c->base.cfg == NULL) {
        srt_close(sock);
        destroy(&c->task);
        return -1;
    }
    sl_conn_init(&c->base, 1);
    n = atomic_fetch_add(&srv->nsessions, 1) + 1;
    sl_session_info_list(srv, &c->info);
    if (n > c->base.cfg->max_connections) {
        char why[64];

        snprintf(why, sizeof(why), "max_connections (%d) reached",
                 c->base.cfg->max_connections);
        atomic_fetch_add_explicit(&srv->refused[SL_REFUSE_MAX], 1,
                                  memory_order_relaxed);
        conn_close(c, SL_LOG_WARN, why);
    }
    slog(SL_LOG_DEBUG, &c->base, "accepted (srt)");
    /* Watched by the first run, as a session registers its socket: the
     * thread could otherwise wake the task before this returns. */
    sl_task_wake(&c->task);
    return 0;
}
