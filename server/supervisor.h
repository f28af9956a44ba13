/*
 * The master process: `sluice` opens every listening socket once, then
 * forks the serving process (which inherits them) and starts a new one
 * if it dies, so a crash costs the sessions of that moment, never the
 * ports: connections that arrive while no serving process runs wait in
 * the sockets' backlogs and are served by the next one.
 *
 * The master runs no threads and touches no media; it only waits for
 * signals: SIGCHLD (restart, with a back-off when the serving process
 * keeps dying young), SIGTERM/SIGINT (passed on; the master exits with
 * the serving process's status once it has stopped gracefully) and
 * SIGHUP (passed on, and the file re-read so a restart uses the newest
 * good config).
 */
#ifndef SL_SUPERVISOR_H
#define SL_SUPERVISOR_H

#include <stddef.h>

#include "server/config.h"

#define SL_MAX_ACCEPTORS 64

/* The listening sockets of a server: -1 / 0 where there is none. */
struct sl_sockets {
    int nrtmp;
    int rtmp[SL_MAX_ACCEPTORS]; /* one per acceptor thread (SO_REUSEPORT) */
    int ntls;
    int tls[SL_MAX_ACCEPTORS]; /* the RTMPS port's */
    int nweb;
    int web[SL_MAX_ACCEPTORS]; /* the public web port's ([web] listen) */
    int nweb_tls;
    int web_tls[SL_MAX_ACCEPTORS]; /* its HTTPS port's ([web] tls_listen) */
    int http;                      /* the HTTP API's */
    int agent;                     /* HAProxy's agent-check */
};

/* Opens cfg's listening sockets: the RTMP, RTMPS, web and web HTTPS
 * ports one per acceptor (SO_REUSEPORT), the API's and the agent's one
 * each, those that are off not at all.  0, or -1 with the reason in err
 * (none is left open). */
int  sl_sockets_open(const struct sl_config *cfg, struct sl_sockets *s,
                     char *err, size_t errlen);
void sl_sockets_close(struct sl_sockets *s);

/* Runs the server on the sockets until a stop signal; returns the exit
 * status.  restarts says how many serving processes died before this
 * one (0 for the first). */
typedef int (*sl_serve_fn)(const char *path, struct sl_config *cfg,
                           struct sl_sockets *socks, int restarts);

/* The master's loop (see above).  Returns the process's exit status; in
 * a serving process it never returns (the process exits with serve's
 * status). */
int sl_supervise(const char *path, struct sl_config *cfg,
                 struct sl_sockets *socks, sl_serve_fn serve);

/* The back-off before restarting a serving process that ran for
 * lived_ms, after young earlier deaths in a row (updated): none for one
 * that lived SL_SUPERVISE_SETTLED_MS or more, otherwise 250 ms doubling
 * up to 30 s.  Pure, for tests. */
#define SL_SUPERVISE_SETTLED_MS 10000
unsigned sl_supervise_backoff_ms(unsigned long long lived_ms, int *young);

#endif
