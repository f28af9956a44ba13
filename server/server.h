/*
 * The running server's shared parts, wired together by main(): the
 * scheduler, the reactor, the hub, the callback client and the registry
 * of live sessions.  Fields are set before any thread starts and never
 * change after, except the atomics.
 */
#ifndef SL_SERVER_H
#define SL_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "pool/loop.h"
#include "pool/queue.h"
#include "pool/sched.h"
#include "server/hub.h"
#include "server/iplimit.h"
#include "server/proto.h"

struct sl_callbacks;
struct sl_proto;
struct sl_hls; /* hls/hls.h: only web/ and main use it */

struct sl_server {
    struct sl_sched *sched;
    struct sl_loop  *loop;
    struct sl_hub   *hub;
    uint32_t         chunk_size; /* fixed for the process: see hub.h */
    /* The HTTP callback client (callback.h): set before the listeners
     * start, cleared after the sessions are gone and before it is
     * freed.  Atomic because workers read it while main clears it (a
     * session that outlived the bounded wait for them). */
    _Atomic(struct sl_callbacks *) callbacks;
    /* What sessions of each kind speak (enum sl_session_kind; proto.h),
     * wired by main before the listeners start; NULL: no such port. */
    const struct sl_proto *protos[4];
    /* The LL-HLS packager the web port serves from, set by main before
     * the listeners start. */
    struct sl_hls *hls;

    atomic_int    stopping; /* graceful stop under way */
    atomic_int    nsessions;
    atomic_ullong next_id;

    /* Every live session's info (session_info.h), so a stop, the API
     * and a kick can reach them all. */
    pthread_mutex_t lock;
    struct sl_list  sessions;

    atomic_ullong bytes_in;
    atomic_ullong bytes_out;
    /* bytes_out again, split by the protocol the session spoke when it
     * wrote them (enum sl_proto_id; sl_server_count_sent).  Totals of
     * the server's life: an ended session's bytes stay counted. */
    atomic_ullong bytes_out_by[SL_PROTO_IDS];
    atomic_int    publishers;
    atomic_int    players;
    atomic_ullong players_dropped; /* disconnected for lagging */

    /* Abuse limits (docs/security.md).  pending: sessions neither
     * publishing nor playing (counted by the command state machine,
     * rtmp_cmd.h), which the acceptors compare with max_pending;
     * refused: connections refused, by enum sl_refuse. */
    atomic_int    pending;
    atomic_ullong refused[SL_REFUSE_N];

    /* Cluster (server/cluster.h): the outgoing bits/s over the stats
     * window, stored by the sampler once a second for the agent and
     * admission; plays refused because the node was full. */
    atomic_ullong out_bps;
    atomic_ullong plays_refused_capacity;
    /* Plays refused because their address played max_players_per_ip
     * streams already (conn.c). */
    atomic_ullong plays_refused_per_ip;
};

/* A session counted as protocol id (enum sl_proto_id, its struct
 * sl_conn's proto) wrote n bytes: they count in srv->bytes_out_by.  The
 * writer, beside its add to srv->bytes_out; any thread. */
static inline void
sl_server_count_sent(struct sl_server *srv, int id, uint64_t n)
{
    if (id >= 0 && id < SL_PROTO_IDS)
        atomic_fetch_add_explicit(&srv->bytes_out_by[id], n,
                                  memory_order_relaxed);
}

#endif
