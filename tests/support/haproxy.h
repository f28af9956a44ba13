/*
 * HAProxy (Debian's /usr/sbin/haproxy) as the load balancer in front of
 * test edges: one process in the foreground (-db), started as our child
 * like every other, with its config and output in a temp folder of its
 * own.  A TCP frontend on a free loopback port spreads connections over
 * the given servers, each with a TCP health check and an agent-check on
 * its agent port; an HTTP stats frontend on a second port shows what
 * HAProxy thinks of each server (sl_haproxy_server_status).
 */
#ifndef SL_TEST_HAPROXY_H
#define SL_TEST_HAPROXY_H

#include <limits.h>
#include <stddef.h>

#include "tests/support/proc.h"

#define SL_HAPROXY_MAX_SERVERS 8

struct sl_haproxy_server {
    char name[32]; /* "edge1" */
    int  port;     /* RTMP, on 127.0.0.1 */
    int  agent_port;
};

struct sl_haproxy {
    struct sl_proc proc;
    int            port;       /* the RTMP frontend */
    int            stats_port; /* GET /stats;csv */
    char           dir[PATH_MAX];
    char           cfg[PATH_MAX + 16];
    char           out[PATH_MAX + 16]; /* stdout and stderr */
};

/* 1 when /usr/sbin/haproxy is installed. */
int sl_haproxy_available(void);

/* Writes the config (balance is "roundrobin" or "leastconn"; health
 * checks and agent checks every inter_ms), starts haproxy and waits
 * until its frontend accepts connections.  0, or -errno with the reason
 * (and haproxy's output) on stderr. */
int sl_haproxy_start(struct sl_haproxy *h, const struct sl_haproxy_server *srv,
                     int n, const char *balance, int inter_ms);

/* SIGTERM (hard stop), then SIGKILL after a bound; always reaped.  0 when
 * it exited by itself. */
int sl_haproxy_stop(struct sl_haproxy *h);

/* HAProxy's view of a server from its stats CSV: the status column
 * ("UP", "DOWN", "DRAIN", "MAINT", "UP 1/2", ...) into out and, when
 * weight is not NULL, its current weight.  0 or -errno (-ENOENT: no
 * such server). */
int sl_haproxy_server_status(const struct sl_haproxy *h, const char *name,
                             char *out, size_t cap, int *weight);

/* Waits up to timeout_s until the server's status starts with want.
 * 0 or -ETIMEDOUT (the last status seen is printed). */
int sl_haproxy_wait_status(const struct sl_haproxy *h, const char *name,
                           const char *want, double timeout_s);

/* Prints the tail of haproxy's output to stderr. */
void sl_haproxy_print_log(const struct sl_haproxy *h);

#endif
