/*
 * nginx with libnginx-mod-rtmp as a downstream RTMP server for the
 * integration tests: one process in the foreground (no master, no
 * daemon), started as our child like every other, listening on a free
 * loopback port, with its config, pid file and logs in a temp folder of
 * its own.  It serves one application, `live` (live on), so what a relay
 * pushes to rtmp://127.0.0.1:PORT/live/KEY plays from the same URL; with
 * idle_streams off, so its players are disconnected when the publisher
 * leaves (by default nginx-rtmp keeps them waiting, and ffmpeg with
 * them).
 */
#ifndef SL_TEST_NGINX_H
#define SL_TEST_NGINX_H

#include <limits.h>
#include <stddef.h>

#include "tests/support/proc.h"

struct sl_nginx {
    struct sl_proc proc;
    int            port;
    char           dir[PATH_MAX];
    char           conf[PATH_MAX + 16];
    char           log[PATH_MAX + 16]; /* error_log, level info */
    char           out[PATH_MAX + 16]; /* stdout and stderr */
};

/* 1 when the nginx binary and the RTMP module are installed. */
int sl_nginx_available(void);

/* Writes the config, starts nginx and waits until it accepts
 * connections.  0, or -errno with the reason (and nginx's output) on
 * stderr. */
int sl_nginx_start(struct sl_nginx *n);

/* SIGTERM (fast shutdown), then SIGKILL after a bound; always reaped.
 * 0 when it exited by itself. */
int sl_nginx_stop(struct sl_nginx *n);

/* Prints the tails of nginx's output and error log to stderr. */
void sl_nginx_print_log(const struct sl_nginx *n);

#endif
