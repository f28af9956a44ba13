/*
 * The HAProxy agent-check listener ([cluster] agent_listen).
 *
 * One thread of its own polls a listening TCP socket.  Each connection
 * gets one line (sl_cluster_agent_reply: "up ready W%", "drain" or
 * "down #stopping") and is closed at once: the line goes out with one
 * non-blocking send into an empty socket buffer, nothing is waited for,
 * so a slow or silent client never holds the thread.  The thread never
 * touches the pool, a session or a hub lock; it reads the server's
 * counters (atomics) and the current config.
 */
#ifndef SL_AGENT_H
#define SL_AGENT_H

#include <stddef.h>
#include <stdint.h>

struct sl_server;
struct sl_agent;

/* A listening socket on host:port ("" = every address), or -1 with the
 * reason in err.  The master process opens it once (supervisor.c). */
int sl_agent_bind(const char *host, uint16_t port, char *err, size_t errlen);

/* Starts the thread on fd (taken over), or on a socket of its own for
 * host:port when fd is -1.  NULL with the reason in err.  Call from
 * main. */
struct sl_agent *sl_agent_start(struct sl_server *srv, int fd, const char *host,
                                uint16_t port, char *err, size_t errlen);

/* Stops and joins the thread and closes the socket (NULL: no-op).  The
 * server must outlive the agent. */
void sl_agent_stop(struct sl_agent *a);

#endif
