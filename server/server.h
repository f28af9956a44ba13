/*
 * The running server's shared parts, wired together by main(): the
 * scheduler, the reactor, the hub and the registry of live sessions.
 * Fields are set before any thread starts and never change after, except
 * the atomics.
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

struct sl_server {
    struct sl_sched *sched;
    struct sl_loop  *loop;
    struct sl_hub   *hub;
    uint32_t         chunk_size;  /* fixed for the process: see hub.h */

    atomic_int    stopping;       /* graceful stop under way */
    atomic_int    nsessions;
    atomic_ullong next_id;

    /* Every live session, so a stop can reach them all. */
    pthread_mutex_t lock;
    struct sl_list  sessions;

    atomic_ullong bytes_in;
    atomic_ullong bytes_out;
    atomic_int    publishers;
    atomic_int    players;
    atomic_ullong players_dropped;  /* disconnected for lagging */

    /* Abuse limits (docs/security.md).  pending: sessions neither
     * publishing nor playing (sl_session_pending_enter/leave in
     * session_int.h), which the acceptors compare with max_pending;
     * refused: connections refused, by enum sl_refuse. */
    atomic_int    pending;
    atomic_ullong refused[SL_REFUSE_N];

    /* Cluster (server/cluster.h): the outgoing bits/s over the stats
     * window, stored by the sampler once a second for the agent and
     * admission; plays refused because the node was full. */
    atomic_ullong out_bps;
    atomic_ullong plays_refused_capacity;
};

#endif
