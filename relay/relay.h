/*
 * Relays: push workers that send hub streams to downstream RTMP servers
 * (CDNs, other Sluice nodes) and pull workers that bring a stream from an
 * origin into this node's hub when a player asks for it (edge).  Both use
 * libavformat's RTMP/RTMPS client, one thread per relay, and never block
 * the publisher or the players: a push is fed through a bounded queue
 * (tap callbacks only queue), a pull is a publisher of its own.
 *
 * The manager registers with the hub as an observer: a publication starts
 * the pushes its app's [relay:...] sections select; a play of a stream
 * nobody publishes here, in an app with `pull`, starts one pull for that
 * name (however many players ask).
 */
#ifndef SL_RELAY_RELAY_H
#define SL_RELAY_RELAY_H

#include <stdint.h>

#include "server/config.h"
#include "server/hub.h"

enum sl_relay_state {
    SL_RELAY_CONNECTING,
    SL_RELAY_LIVE,
    SL_RELAY_BACKOFF,
    SL_RELAY_DONE
};

const char *sl_relay_state_name(enum sl_relay_state s);

struct sl_relay_stats {
    char     app[SL_NAME_MAX];
    char     name[SL_NAME_MAX];
    char     relay[SL_NAME_MAX]; /* [relay:NAME], or "pull" */
    char     url[SL_URL_MAX];    /* current target, without credentials */
    int      pull;               /* 1: an edge pull, 0: a push */
    int      state;              /* enum sl_relay_state */
    uint64_t reconnects;
    uint64_t bytes;         /* sent (push) or received (pull) */
    uint64_t dropped;       /* frames dropped while behind or down */
    int      width, height; /* a pull: the picture, when known */
};

struct sl_relays;

/* Registers with the hub (before any thread publishes).  NULL on
 * failure. */
struct sl_relays *sl_relays_new(struct sl_hub *hub);

/* Stops every push and pull promptly (blocking connects and writes are
 * interrupted) and waits for their threads.  No new one starts after. */
void sl_relays_stop(struct sl_relays *r);
void sl_relays_free(struct sl_relays *r);

/* Up to max running relays into out; the count. */
int sl_relays_stats(struct sl_relays *r, struct sl_relay_stats *out, int max);

#endif
