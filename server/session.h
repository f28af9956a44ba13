/*
 * An RTMP connection: its socket, the handshake, the chunk stream in and
 * out, and its role (publisher or player).  A session is a pool task, so
 * its code runs on one worker at a time and needs no lock of its own;
 * other threads reach it only through its send queue and sl_task_wake().
 */
#ifndef SL_SESSION_H
#define SL_SESSION_H

#include <sys/socket.h>

#include "server/server.h"

/* Takes ownership of fd (an accepted, non-blocking socket): creates the
 * session, registers it with the reactor and schedules its first run.
 * Any thread.  0, or -errno (fd is closed then). */
int sl_session_start(struct sl_server *srv, int fd,
                     const struct sockaddr_storage *peer);

/* Wakes every session so it notices srv->stopping and winds down:
 * players get the end-of-stream status, publishers are closed. */
void sl_session_stop_all(struct sl_server *srv);

#endif
