/*
 * An RTMP connection: its socket (plain or TLS), the handshake, the
 * chunk stream in and out through its command state machine
 * (rtmp_cmd.h), and its timers.  A session is a pool task, so its code
 * runs on one worker at a time and needs no lock of its own; other
 * threads reach it only through sl_task_wake() and the atomics of its
 * info (session_info.h).
 */
#ifndef SL_SESSION_H
#define SL_SESSION_H

#include <sys/socket.h>

#include "server/iplimit.h"

struct sl_server;

/* What a listening port speaks: RTMP or HTTP (the public web port),
 * plain or over TLS. */
enum sl_session_kind {
    SL_SESSION_RTMP,
    SL_SESSION_RTMPS,
    SL_SESSION_HTTP,
    SL_SESSION_HTTPS,
    SL_SESSION_KINDS
};

/* Takes ownership of fd (an accepted, non-blocking socket) and of the
 * address slot in *slot (NULL, or not held, for none): creates the
 * session of this kind (a TLS kind speaks TLS with the certificate of
 * the config in force now), lists it in srv->sessions and schedules its
 * first run, which registers the socket with the reactor.  The slot is released
 * exactly once, when the session is destroyed (at once when it cannot start);
 * *slot is left not held.  Any thread.  0, or -errno (fd is closed
 * then). */
int sl_session_start(struct sl_server *srv, int fd,
                     const struct sockaddr_storage *peer,
                     struct sl_ipticket *slot, enum sl_session_kind kind);

/* "HOST:PORT" ("[V6]:PORT") of a peer into buf, its address alone into
 * ip. */
void sl_session_format_peer(const struct sockaddr_storage *ss, char *buf,
                            size_t cap, char *ip, size_t ipcap);

/* Wakes every session so it notices srv->stopping and winds down:
 * players get the end-of-stream status, publishers are closed. */
void sl_session_stop_all(struct sl_server *srv);

#endif
