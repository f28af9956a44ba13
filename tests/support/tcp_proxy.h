/*
 * A TCP forwarder on 127.0.0.1 that can turn into a downstream that
 * accepts but never reads, for the relay tests.
 *
 * It runs on a thread of its own.  While forwarding, every connection it
 * accepts is joined to a new connection to 127.0.0.1:target and bytes
 * flow both ways.  After sl_tcp_proxy_stall() it reads nothing more from
 * any client: connections already open stay open with their data unread,
 * and new ones are accepted and left unread too (so a client's handshake
 * is never answered).  Its listening socket has a small receive buffer
 * (inherited by what it accepts), so a client that keeps writing to a
 * stalled connection blocks after a bounded amount instead of filling a
 * window the kernel grew while the peer was reading fast.
 *
 * sl_tcp_proxy_start_from() makes its upstream connections from a given
 * loopback address (bound before connect), so a client without a
 * local-address option (ffmpeg's rtmp://) reaches the target "from
 * 127.0.0.2".
 *
 * Every wait inside is bounded (poll with a short timeout, a stop flag);
 * sl_tcp_proxy_stop() ends the thread and closes every socket.
 */
#ifndef SL_TEST_TCP_PROXY_H
#define SL_TEST_TCP_PROXY_H

#include <pthread.h>
#include <stdatomic.h>

#define SL_TCP_PROXY_MAX 32

struct sl_tcp_proxy {
    pthread_t   thread;
    int         started;
    int         lfd;
    int         port;       /* where it listens */
    int         target;     /* where it forwards to */
    char        source[64]; /* upstream source address; "": any */
    atomic_int  stop;
    atomic_int  stalled;
    atomic_int  accepted;  /* connections accepted so far */
    atomic_long forwarded; /* bytes client -> target so far */
    int         nconn;
    int         client[SL_TCP_PROXY_MAX];
    int         server[SL_TCP_PROXY_MAX]; /* -1: none (stalled) */
};

/* Listens on a free loopback port (rcvbuf bytes of receive buffer, 0 for
 * the kernel default) and starts the thread.  0 or -errno. */
int sl_tcp_proxy_start(struct sl_tcp_proxy *p, int target, int rcvbuf);

/* The same, with upstream connections bound to source (an IPv4
 * loopback address such as "127.0.0.2"; NULL or "" for any). */
int sl_tcp_proxy_start_from(struct sl_tcp_proxy *p, int target, int rcvbuf,
                            const char *source);

/* From now on nothing is read from clients (see above).  Any thread. */
void sl_tcp_proxy_stall(struct sl_tcp_proxy *p);

/* Ends the thread (within a poll period) and closes every socket. */
void sl_tcp_proxy_stop(struct sl_tcp_proxy *p);

#endif
