/*
 * The RTMP command state machine of one connection: the chunk stream's
 * messages in, replies and statuses out, and the role that follows from
 *   connect -> createStream -> publish | play -> deleteStream
 * (publisher: its media goes to the hub; player: a subscription the
 * owner writes from).  It decides through auth.h, parks a request while
 * an HTTP callback answers, and keeps the API's facts (session_info.h).
 *
 * It knows nothing of sockets, TLS or timers: its owner (a session,
 * server/session.c; a fake in tests/unit/test_rtmp_cmd.c) feeds it the
 * bytes after the handshake and gives it a transport that queues
 * encoded messages and starts a close.  The owner reads role, sub,
 * subscribed and pub_stream to write and time the connection.
 *
 * Threads: everything runs on the owner's task, one run at a time,
 * except the callback thread's hand-over of a verdict (wait.done,
 * release; read with acquire by sl_rtmp_verdict_ready).
 */
#ifndef SL_RTMP_CMD_H
#define SL_RTMP_CMD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pool/buf.h"
#include "pool/sched.h"
#include "rtmp/chunk.h"
#include "rtmp/rtmp.h"
#include "server/auth.h"
#include "server/callback.h"
#include "server/hub.h"

struct sl_server;
struct sl_config;
struct sl_sess_info;

/* How the state machine reaches its peer. */
struct sl_rtmp_transport {
    /* Queues b, one complete encoded message, after what is queued;
     * the transport takes its own reference.  0, or -errno when it
     * cannot (it is then closing). */
    int (*send)(void *io, struct sl_buf *b);
    /* Starts a graceful close: what is queued is flushed (bounded in
     * time), then the connection ends; why goes to the log at level.
     * The transport calls sl_rtmp_closing() from it. */
    void (*close)(void *io, int level, const char *why);
};

enum sl_role {
    SL_ROLE_NONE = 0, /* connected, neither publishing nor playing */
    SL_ROLE_PUBLISHER,
    SL_ROLE_PLAYER
};

/* A connect, publish or play waiting for its HTTP callback.  The owner
 * stops feeding (it holds what it read) until the callback thread has
 * stored the answer, set done and woken the task. */
struct sl_rtmp_wait {
    struct sl_auth_request rq; /* kind SL_AUTH_NONE: nothing waits */
    double                 tid;
    char                   name[SL_NAME_MAX]; /* as requested (a key?) */
    double                 start;             /* play's arguments */
    int                    reset;
    atomic_int             done;   /* set by the callback thread */
    struct sl_cb_result    answer; /* written before done */
};

struct sl_rtmp_conn {
    /* Set by the owner before sl_rtmp_conn_init, then fixed. */
    const struct sl_rtmp_transport *tp;
    void                           *io; /* the transport's argument */
    struct sl_server               *srv;
    struct sl_config    *cfg;  /* the owner's reference, for its lifetime */
    struct sl_task      *task; /* the owner's task, woken by a verdict */
    struct sl_sess_info *info;
    uint64_t             id;
    const char          *peer;           /* "host:port", for the log */
    const char          *peer_ip;        /* for callbacks */
    const struct sockaddr_storage *addr; /* for address rules */

    struct sl_chunk_reader *rd;              /* created by the first feed */
    uint32_t                out_chunk_size;  /* 128 until we announce ours */
    uint32_t                peer_ack_window; /* the peer's Window Ack Size */
    uint64_t                last_ack_bytes;
    uint8_t                 connected; /* connect accepted */
    uint8_t                 closing;   /* a close began: take no new role */
    uint8_t                 pending;   /* counted in srv->pending */
    uint8_t                 done_due;  /* on_done owed when the role ends */
    double                  object_encoding;

    char app[SL_NAME_MAX];
    char stream_name[SL_NAME_MAX];
    /* The connect's query (from the app or the tcUrl) and tcUrl without
     * it.  They may carry keys and signatures: never logged. */
    char connect_query[SL_QUERY_MAX];
    char tc_url[SL_URL_MAX];

    enum sl_role      role;
    struct sl_stream *pub_stream; /* publisher: its stream */
    struct sl_sub     sub;        /* player: its subscription */
    uint8_t           subscribed;
    uint64_t          seen_gen;       /* publish generation announced */
    uint8_t           unpublish_sent; /* told the player it ended */

    struct sl_rtmp_wait wait;
};

/* After the owner set the fixed fields: the initial protocol state.
 * counted: the connection enters srv->pending (the count of sessions
 * neither publishing nor playing that max_pending bounds); it leaves it
 * while it has a role and for good at sl_rtmp_conn_free. */
void sl_rtmp_conn_init(struct sl_rtmp_conn *c, int counted);

/* Frees what the state machine holds; the role must have been left
 * (sl_rtmp_closing).  Idempotent. */
void sl_rtmp_conn_free(struct sl_rtmp_conn *c);

/* Feeds n bytes of the chunk stream (everything after the handshake).
 * Returns how many were consumed: n, or fewer when a request began to
 * wait for its callback (the owner holds the rest and feeds it after
 * sl_rtmp_resume), or -EPROTO when the connection must close (a close
 * has begun and was logged). */
int sl_rtmp_feed(struct sl_rtmp_conn *c, const uint8_t *p, size_t n);

/* Whether a request waits for its callback, and whether its answer has
 * arrived (acquire: the answer's fields are then visible). */
int sl_rtmp_waiting(const struct sl_rtmp_conn *c);
int sl_rtmp_verdict_ready(struct sl_rtmp_conn *c);

/* Once the answer arrived: finishes or refuses the request.  0, or
 * -EPROTO when the connection is closing. */
int sl_rtmp_resume(struct sl_rtmp_conn *c);

/* Ends the publication or playback, if any (hub, counters, on_done, the
 * API's role).  Idempotent. */
void sl_rtmp_leave(struct sl_rtmp_conn *c);

/* The owner began to close: the role ends, none is taken after. */
void sl_rtmp_closing(struct sl_rtmp_conn *c);

/* Player: tells it when its publisher left (after publish_grace, so a
 * quick reconnect is invisible) and when one returned.  Returns when to
 * look again for a pending unpublish notice (0: no need). */
uint64_t sl_rtmp_player_poll(struct sl_rtmp_conn *c, uint64_t now_ms);

/* The server is stopping: a player is told its stream ended (statuses
 * queued; the owner closes). */
void sl_rtmp_server_stopping(struct sl_rtmp_conn *c);

#endif
