/*
 * What every protocol spoken on a session shares: how it reaches its
 * peer (a transport), who it is (server, config, task, id, address), the
 * role it takes in the hub (publisher or player, the subscription the
 * session writes from), and a request waiting for its HTTP callback.
 *
 * A protocol's state (struct sl_rtmp_conn, struct sl_web_conn) starts
 * with a struct sl_conn; the session (server/session.c) fills its fixed
 * fields, reads its role to write and time the connection, and calls
 * the protocol through struct sl_proto (server/proto.h).  The functions
 * here are the parts of a protocol that do not depend on it: the
 * pending count, the role and its end, parking a request for its
 * callback.  Everything runs on the session's task, one run at a time,
 * except the callback thread's hand-over of an answer (wait.done,
 * release; read with acquire by sl_conn_verdict_ready).
 */
#ifndef SL_CONN_H
#define SL_CONN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pool/buf.h"
#include "pool/sched.h"
#include "rtmp/rtmp.h"
#include "server/auth.h"
#include "server/callback.h"
#include "server/hub.h"

struct sl_server;
struct sl_config;
struct sl_sess_info;
struct sl_ipticket;

/* How a protocol reaches its peer. */
struct sl_conn_transport {
    /* Queues b, one complete message of the protocol, after what is
     * queued; the transport takes its own reference.  0, or -errno when
     * it cannot (it is then closing). */
    int (*send)(void *io, struct sl_buf *b);
    /* Starts a graceful close: what is queued is flushed (bounded in
     * time), then the connection ends; why goes to the log at level.
     * The transport calls sl_conn_closing() from it. */
    void (*close)(void *io, int level, const char *why);
};

enum sl_role {
    SL_ROLE_NONE = 0, /* connected, neither publishing nor playing */
    SL_ROLE_PUBLISHER,
    SL_ROLE_PLAYER
};

/* A connect, publish or play waiting for its HTTP callback.  The
 * session stops feeding (it holds what it read) until the callback
 * thread has stored the answer, set done and woken the task. */
struct sl_conn_wait {
    struct sl_auth_request rq; /* kind SL_AUTH_NONE: nothing waits */
    char                   name[SL_NAME_MAX]; /* as requested (a key?) */
    atomic_int             done;              /* set by the callback thread */
    struct sl_cb_result    answer;            /* written before done */
};

struct sl_conn {
    /* What every run of the session reads comes first, so that a
     * player's run (thousands a second at the default merge window)
     * touches a cache line or two of this struct, not one per field
     * spread over its 1.8 KB (docs/performance.md, "The fan-out at the
     * floor").  The wait's request kind, read by every run through
     * sl_conn_waiting, leads the next line. */
    enum sl_role role;
    uint8_t      closing;    /* a close began: take no new role */
    uint8_t      pending;    /* counted in srv->pending */
    uint8_t      done_due;   /* on_done owed when the role ends */
    uint8_t      subscribed; /* sub is in a stream's list */
    /* A request the protocol parked for something other than a callback
     * (an HLS blocking reload waiting for its part): the session holds
     * input while held, and calls the protocol's resume once held_ready
     * is set (release; by any thread, which then wakes the task). */
    uint8_t    held;
    atomic_int held_ready;
    int        proto; /* enum sl_proto_id: what the API counts it as (and
                       * every write is counted under) */
    struct sl_stream *pub_stream; /* publisher: its stream */
    struct sl_sub     sub;        /* player: its subscription; the
                                   * session sets sub.q */
    /* Player: the stream's publish generation it was last told of, and
     * whether it was told the stream ended (the protocol's poll reads
     * them every run, so they sit here and not in its own state). */
    uint64_t seen_gen;
    uint8_t  unpublish_sent;

    struct sl_conn_wait wait;

    /* Set by the session before the protocol's init, then fixed. */
    const struct sl_conn_transport *tp;
    void                           *io; /* the transport's argument */
    struct sl_server               *srv;
    struct sl_config    *cfg;  /* the session's reference, for its life */
    struct sl_task      *task; /* the session's task, woken by an answer */
    struct sl_sess_info *info;
    uint64_t             id;
    const char          *peer;           /* "host:port", for the log */
    const char          *peer_ip;        /* for callbacks */
    const struct sockaddr_storage *addr; /* for address rules */
    /* The address's slot in the per-address table (iplimit.h), which
     * follows the pending count and the role; NULL: not counted. */
    struct sl_ipticket *ipslot;

    char app[SL_NAME_MAX];
    char stream_name[SL_NAME_MAX];
    /* What the client asked for without its query (RTMP: connect's
     * tcUrl; HTTP: the request's URL), for callbacks. */
    char url[SL_URL_MAX];
};

/* After the session set the fixed fields: the initial state.  counted:
 * the connection enters srv->pending (the count of sessions neither
 * publishing nor playing that max_pending bounds); it leaves it while
 * it has a role and for good at sl_conn_free.  Its address slot
 * (ipslot) is pending from the accept, and moves with the role. */
void sl_conn_init(struct sl_conn *c, int counted);

/* Leaves the pending count for good.  Idempotent. */
void sl_conn_free(struct sl_conn *c);

/* Starts a graceful close through the transport. */
void sl_conn_close(struct sl_conn *c, int level, const char *why);

/* The API's role, the pending count and the address slot follow a role
 * change.  A role given up while staying connected makes the connection
 * pending again; when its address holds max_pending_per_ip pending
 * connections already, the connection is closed instead (WARN). */
void sl_conn_set_role(struct sl_conn *c, enum sl_role role);

/* Ends the publication or playback, if any (hub, counters, on_done, the
 * API's role).  Idempotent. */
void sl_conn_leave(struct sl_conn *c);

/* A close began: the role ends, none is taken after. */
void sl_conn_closing(struct sl_conn *c);

/* Admission for a play: 0, or -EBUSY with why filled when the address
 * plays max_players_per_ip streams already ("max_players_per_ip (N)
 * reached", counted in srv->plays_refused_per_ip) or the node is full
 * ("node full: ..."). */
int sl_conn_admit_play(struct sl_conn *c, char *why, size_t cap);

/* A connection that serves a known viewer without a hub role (an HLS
 * viewer's keep-alive connection, between its requests): it leaves the
 * pending counts as a player does, so viewers behind one address are
 * not held to max_pending_per_ip.  Idempotent; for good. */
void sl_conn_settle(struct sl_conn *c);

/* Plays name of c->app: the subscription (sub.flv and sub.max_lag_ms as
 * the caller set them), the counters and the role.  What the protocol
 * queued before (its statuses, a response head) goes out before the
 * headers a join queues.  0 or -ENOMEM. */
int sl_conn_play(struct sl_conn *c, const char *name);

/* A play that ended with no connection of its own left to say so (an
 * HLS viewer, whose end is its silence): what on_done says of it, the
 * same fields as a connection's play (app, name, the client's address,
 * the id of the connection that asked to play, its URL). */
struct sl_play_done {
    const char *app, *name, *addr, *url;
    uint64_t    client_id;
};

/* Sends the on_done of d->app as cfg has it (nothing when it has none,
 * or the server has no callback client).  Fire and forget: never
 * blocks, drops the note with a rate-limited WARN when every callback
 * slot is taken.  Any thread that may use srv->callbacks (a session's,
 * or one stopped before the callback client is). */
void sl_conn_play_done(struct sl_server *srv, const struct sl_config *cfg,
                       const struct sl_play_done *d);

/* Whether a request waits (for its callback, or held by the protocol),
 * and whether what it waits for has arrived (acquire: the answer's
 * fields are then visible). */
int sl_conn_waiting(const struct sl_conn *c);
int sl_conn_verdict_ready(struct sl_conn *c);

/* Sends the callback at url for the request in c->wait and parks it: 0.
 * When it cannot be sent (no callback client, every slot in flight),
 * -1 with the refusal in *refusal and nothing parked. */
int sl_conn_wait_submit(struct sl_conn *c, const char *url,
                        struct sl_auth_verdict *refusal);

/* Once sl_conn_verdict_ready: the verdict the answer gives the parked
 * request (the protocol then acts on it and clears wait.rq.kind). */
void sl_conn_wait_verdict(struct sl_conn *c, struct sl_auth_verdict *v);

#endif
