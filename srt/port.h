/*
 * The SRT port ([server] srt_listen): callers publish MPEG-TS over SRT
 * into the hub, like an RTMP publisher.
 *
 * One thread of its own waits on libsrt's epoll for every SRT socket
 * (the listener and each connection) and turns readiness into a wake of
 * the connection's task, as the reactor does for TCP sessions; the
 * connections are tasks of the pool (srt/conn.c), listed in
 * srv->sessions, so the API, a kick and a stop reach them like any
 * session.  Who may connect is decided in libsrt's listen callback
 * (srt/admit.h), on libsrt's receiving thread.  Never a thread per
 * connection.
 */
#ifndef SL_SRT_PORT_H
#define SL_SRT_PORT_H

#include <stddef.h>
#include <stdint.h>

struct sl_server;
struct sl_iplimit;
struct sl_srt;

/* Binds host:port (UDP; "" = every address) and starts the thread.
 * Connections share the per-address table ipl with the TCP ports.  NULL
 * with err filled when it cannot. */
struct sl_srt *sl_srt_start(struct sl_server *srv, struct sl_iplimit *ipl,
                            const char *host, uint16_t port, char *err,
                            size_t cap);

/* Stops accepting: the listening socket is closed (callers are refused
 * by libsrt from then on).  Connections go on until the server's stop
 * closes them. */
void sl_srt_stop_accepting(struct sl_srt *s);

/* After every session is gone (the pool still running): ends the
 * thread and frees everything.  NULL is a no-op. */
void sl_srt_free(struct sl_srt *s);

#endif
