/*
 * Acceptor threads.  Each owns one listening socket bound with
 * SO_REUSEPORT to the same address, so the kernel spreads new
 * connections over them; each hands what it accepts to the pool as a new
 * session.  They do nothing else, so a flood of connections never
 * delays media.
 */
#ifndef SL_LISTENER_H
#define SL_LISTENER_H

#include "server/session.h"

#include <stddef.h>
#include <stdint.h>

#include "server/server.h"

struct sl_listener;

/* Binds count sockets to host:port ("" = every address) and starts an
 * acceptor thread for each.  NULL on failure with the reason in err. */
/* Opens count listening sockets sharing host:port (SO_REUSEPORT, one
 * per acceptor thread), after checking that no other process holds the
 * port.  0 with fds[0..count), or -1 with the reason in err.  The
 * supervisor opens them once; every serving process inherits them. */
int sl_listener_bind(const char *host, uint16_t port, int count, int *fds,
                     char *err, size_t errlen);

struct sl_iplimit;

/* Starts one acceptor thread per socket in fds (taken over: closed by
 * sl_listener_stop, or here on failure), admitting connections through
 * the per-address table ipl (a reference is taken); accepted sessions
 * are of kind (RTMP, RTMPS, HTTP, HTTPS).  NULL with the reason in err. */
struct sl_listener *sl_listener_start_fds(struct sl_server  *srv,
                                          struct sl_iplimit *ipl,
                                          const int *fds, int count,
                                          enum sl_session_kind kind, char *err,
                                          size_t errlen);

void sl_listener_stop(struct sl_listener *l);

#endif
