/*
 * Connections from a chosen loopback address, for the abuse-limit tests.
 *
 * Linux routes all of 127.0.0.0/8 to the loopback device, so a socket
 * bound to 127.0.0.2 before connect() reaches a server on 127.0.0.1 and
 * the server sees 127.0.0.2 as the peer: one machine can play several
 * clients.  (Only loopback addresses: nothing here leaves the host.)
 *
 * sl_flood runs a thread that holds up to n half-open connections to a
 * port from one such address: half of them connect and send nothing,
 * the other half send C0 and part of C1 of an RTMP handshake and stall.
 * They open in one burst, and every connection the server closes (or
 * refuses) is opened again, at most max_rate new connections a second
 * so the flood does not eat the CPUs of the machine it tests on.  Every
 * wait inside is bounded (poll with a short timeout, a stop flag).
 */
#ifndef SL_TEST_FLOOD_H
#define SL_TEST_FLOOD_H

#include <pthread.h>
#include <stdatomic.h>

/* A TCP socket bound to src (an IPv4 address, port 0), blocking unless
 * nonblock; src NULL or "" leaves it unbound.  The fd, or -errno. */
int sl_socket_from(const char *src, int nonblock);

/* A blocking connect from src to 127.0.0.1:port, bounded by timeout_s
 * (also set as SO_RCVTIMEO/SO_SNDTIMEO).  The fd, or -errno. */
int sl_connect_from(const char *src, int port, double timeout_s);

/* Reads until the peer closes (EOF or a reset): 0 then, -ETIMEDOUT when
 * the connection is still open after timeout_s. */
int sl_wait_peer_closed(int fd, double timeout_s);

#define SL_FLOOD_MAX 1024

struct sl_flood {
    pthread_t  thread;
    int        started;
    char       src[64];
    int        port;
    int        n;        /* connections to hold */
    int        max_rate; /* new connections a second, at most */
    atomic_int stop;
    /* Counters, readable from any thread while it runs. */
    atomic_long attempts;  /* connect() calls */
    atomic_long connected; /* connections that were established */
    atomic_long closed;    /* closed or reset by the server */
    atomic_int  open_now;  /* established and not yet closed */
    int         fd[SL_FLOOD_MAX];
    int         state[SL_FLOOD_MAX];
};

/* Starts holding n (<= SL_FLOOD_MAX) connections from src to
 * 127.0.0.1:port, opening at most max_rate a second (0: 2000).
 * 0 or -errno. */
int sl_flood_start(struct sl_flood *f, const char *src, int port, int n,
                   int max_rate);

/* Ends the thread (within a poll period) and closes every socket. */
void sl_flood_stop(struct sl_flood *f);

#endif
