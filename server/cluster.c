/*
 * Load, agent replies and admission (see cluster.h).
 */
#include "server/cluster.h"

#include <errno.h>
#include <stdio.h>

#include "server/config.h"
#include "server/server.h"

#define BITS_PER_MBIT 1000000.0

double
sl_cluster_load(const struct sl_cluster_limits *l, uint64_t out_bps,
                int players)
{
    double load = 0, t;

    if (l->capacity_mbps > 0) {
        t = (double) out_bps / ((double) l->capacity_mbps * BITS_PER_MBIT);
        if (t > load)
            load = t;
    }
    if (l->max_players > 0 && players > 0) {
        t = (double) players / (double) l->max_players;
        if (t > load)
            load = t;
    }
    return load;
}

int
sl_cluster_weight(double load)
{
    int w;

    /* Also catches NaN: a load we cannot read is no room. */
    if (!(load < 1.0))
        return 0;
    if (load <= 0)
        return 100;
    /* The epsilon keeps 20/100 players at 80, not 79.999... -> 79. */
    w = (int) (100.0 - load * 100.0 + 1e-9);
    /* Weight 0 is HAProxy's drain; while a player still fits the node
     * must stay in the farm, however little room is left. */
    return w < 1 ? 1 : w > 100 ? 100 : w;
}

int
sl_cluster_agent_reply(char *buf, size_t cap, double load, int stopping)
{
    int w = sl_cluster_weight(load), n;

    /* Only the agent can undo what the agent set: "up" after "down",
     * "ready" after "drain", so a reply with room carries both. */
    if (stopping)
        n = snprintf(buf, cap, "down #stopping\n");
    else if (w == 0)
        n = snprintf(buf, cap, "drain\n");
    else
        n = snprintf(buf, cap, "up ready %d%%\n", w);
    return n < 0 || (size_t) n >= cap ? -ENOSPC : n;
}

int
sl_cluster_admit(const struct sl_cluster_limits *l, uint64_t out_bps,
                 int players, char *why, size_t cap)
{
    if (l->max_players > 0 && players >= 0 &&
        (uint32_t) players >= l->max_players) {
        snprintf(why, cap, "node full: %d/%u players", players,
                 (unsigned) l->max_players);
        return -EBUSY;
    }
    if (l->capacity_mbps > 0 &&
        (double) out_bps >= (double) l->capacity_mbps * BITS_PER_MBIT) {
        snprintf(why, cap, "node full: %.0f of %u Mbit/s",
                 (double) out_bps / BITS_PER_MBIT, (unsigned) l->capacity_mbps);
        return -EBUSY;
    }
    return 0;
}

void
sl_cluster_limits_get(struct sl_cluster_limits *out)
{
    struct sl_config *c = sl_config_get();

    out->capacity_mbps = c != NULL ? c->cluster_capacity_mbps : 0;
    out->max_players = c != NULL ? c->cluster_max_players : 0;
    sl_config_unref(c);
}

double
sl_cluster_load_now(struct sl_server *srv)
{
    struct sl_cluster_limits l;

    sl_cluster_limits_get(&l);
    return sl_cluster_load(
        &l, atomic_load_explicit(&srv->out_bps, memory_order_relaxed),
        atomic_load(&srv->players));
}

int
sl_cluster_admit_play(struct sl_server *srv, char *why, size_t cap)
{
    struct sl_cluster_limits l;
    int                      rc;

    sl_cluster_limits_get(&l);
    if (l.capacity_mbps == 0 && l.max_players == 0)
        return 0;
    rc = sl_cluster_admit(
        &l, atomic_load_explicit(&srv->out_bps, memory_order_relaxed),
        atomic_load(&srv->players), why, cap);
    if (rc < 0)
        atomic_fetch_add_explicit(&srv->plays_refused_capacity, 1,
                                  memory_order_relaxed);
    return rc;
}
