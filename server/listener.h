/*
 * Acceptor threads.  Each owns one listening socket bound with
 * SO_REUSEPORT to the same address, so the kernel spreads new
 * connections over them; each hands what it accepts to the pool as a new
 * session.  They do nothing else, so a flood of connections never
 * delays media.
 */
#ifndef SL_LISTENER_H
#define SL_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include "server/server.h"

struct sl_listener;

/* Binds count sockets to host:port ("" = every address) and starts an
 * acceptor thread for each.  NULL on failure with the reason in err. */
struct sl_listener *sl_listener_start(struct sl_server *srv, const char *host,
                                      uint16_t port, int count, char *err,
                                      size_t errlen);

/* The same for the RTMPS port: every connection it accepts is a TLS
 * session (with the certificate of the config current at its accept). */
struct sl_listener *sl_listener_start_tls(struct sl_server *srv,
                                          const char *host, uint16_t port,
                                          int count, char *err, size_t errlen);

/* Stops accepting, closes the sockets and joins the threads. */
void sl_listener_stop(struct sl_listener *l);

#endif
