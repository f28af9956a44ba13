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

/* Binds host:port ("" = every address) and starts the thread.  NULL with
 * the reason in err when the address cannot be used.  Call from main. */
struct sl_agent *sl_agent_start(struct sl_server *srv, const char *host,
                                uint16_t port, char *err, size_t errlen);

/* Stops and joins the thread and closes the socket (NULL: no-op).  The
 * server must outlive the agent. */
void sl_agent_stop(struct sl_agent *a);

#endif
