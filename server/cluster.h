/*
 * Load and admission for a node behind a load balancer ([cluster],
 * docs/operations.md).
 *
 * A node's load is the larger of its outgoing bit rate over capacity_mbps
 * and its player count over max_players (a limit of 0 leaves its term
 * out; with neither, the load is 0).  The HAProxy agent (server/agent.c)
 * turns the load into a weight or "drain"; a play that finds the node
 * full is refused so the client or the balancer goes elsewhere.  A
 * publish is never refused for player capacity.
 *
 * The first group of functions is pure (numbers in, numbers or text out)
 * and callable from any thread.  The glue below reads the current config
 * (so a reload changes the limits at once) and the server's counters.
 */
#ifndef SL_CLUSTER_H
#define SL_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

struct sl_server;

/* [cluster]: 0 = unlimited. */
struct sl_cluster_limits {
    uint32_t capacity_mbps; /* outgoing media, Mbit/s (10^6 bits) */
    uint32_t max_players;
};

/* The load: 0 when idle, 1 when full, more when over.  out_bps is the
 * outgoing rate in bits/s, players the live player count. */
double sl_cluster_load(const struct sl_cluster_limits *l, uint64_t out_bps,
                       int players);

/* The free capacity in percent for HAProxy's weight: 100 - load * 100
 * rounded down, at least 1 while load < 1; 0 when full. */
int sl_cluster_weight(double load);

/* The agent-check line (HAProxy configuration.txt, "agent-check") into
 * buf, NUL-terminated, with its '\n':
 *   "up ready W%"    room left: weight W (ready undoes an earlier drain)
 *   "drain"          full: no new connections
 *   "down #stopping" the server is stopping
 * Returns the length, or -ENOSPC when cap is too small. */
int sl_cluster_agent_reply(char *buf, size_t cap, double load, int stopping);

/* Whether one more player fits: 0, or -EBUSY with the reason for the
 * client ("node full: 40/40 players", "node full: 98 of 100 Mbit/s")
 * in why.  Full means players >= max_players or out_bps already at or
 * above capacity_mbps. */
int sl_cluster_admit(const struct sl_cluster_limits *l, uint64_t out_bps,
                     int players, char *why, size_t cap);

/* ---- glue ---- */

/* The current config's limits (all 0 without a config).  Any thread. */
void sl_cluster_limits_get(struct sl_cluster_limits *out);

/* The load of srv now: the sampler's latest outgoing rate and the live
 * player count against the current limits.  Any thread. */
double sl_cluster_load_now(struct sl_server *srv);

/* The admission decision for a play on srv: 0, or -EBUSY with why filled
 * and srv's capacity refusal counter incremented.  Any thread.  The
 * check and the player's arrival are not one atomic step: plays
 * admitted at the same moment on different workers may pass max_players
 * by at most the number of workers. */
int sl_cluster_admit_play(struct sl_server *srv, char *why, size_t cap);

#endif
