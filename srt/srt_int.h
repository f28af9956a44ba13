/*
 * What srt/'s files share: the port (server.c) and its connections
 * (conn.c).  Nothing outside srt/ includes it.
 */
#ifndef SL_SRT_INT_H
#define SL_SRT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include <srt/srt.h>

#include "server/iplimit.h"
#include "srt/admit.h"
#include "srt/feed.h"

struct sl_server;
struct sl_srt_conn;

/* Sockets the thread knows, by id: open addressing, at most half full. */
#define SL_SRT_MAP 8192
#define SL_SRT_MAX_CONNS (SL_SRT_MAP / 2)
/* Handshakes let in by the listen callback and not yet accepted. */
#define SL_SRT_ADMITTED 256

struct sl_srt_slot {
    SRTSOCKET           sock; /* SRT_INVALID_SOCK: empty */
    struct sl_srt_conn *conn; /* holds a reference on its task */
};

/* A caller the listen callback let in, waiting for srt_accept. */
struct sl_srt_admitted {
    SRTSOCKET               sock; /* SRT_INVALID_SOCK: free */
    uint64_t                at_ms;
    struct sockaddr_storage addr;
    struct sl_ipticket      ticket; /* its address's pending slot */
    struct sl_srt_admission adm;
    /* "APP/NAME" as logs may show it (a stream key masked). */
    char shown[2 * SL_NAME_MAX + 40];
};

struct sl_srt {
    struct sl_server  *srv;
    struct sl_iplimit *ipl;
    SRTSOCKET          lsn;    /* SRT_INVALID_SOCK once closed; lock */
    SRTSOCKET          lsn_id; /* its id, fixed once bound: the thread's */
    int                eid;
    pthread_t          thread;
    int                started;
    atomic_int         stop;

    pthread_mutex_t        lock; /* map, admitted, nconns */
    struct sl_srt_slot     map[SL_SRT_MAP];
    struct sl_srt_admitted admitted[SL_SRT_ADMITTED];
    int                    nconns;

    struct sl_srt_feeds *feeds; /* the streams its players read as TS */
};

/* conn.c: a new connection for an accepted socket, its task scheduled;
 * takes the socket and the admitted entry's ticket (a is copied).  0,
 * or -1 (the socket is closed and the ticket released). */
int sl_srt_conn_start(struct sl_srt *s, SRTSOCKET sock,
                      struct sl_srt_admitted *a);

/* conn.c: the thread saw events (SRT_EPOLL_*) on c's socket.  Under
 * s->lock, which keeps c alive. */
void sl_srt_conn_event(struct sl_srt_conn *c, int events);

/* server.c: c's socket joins the map and the epoll set (the map takes a
 * task reference), or leaves them (dropping it).  0, or -1 when the map
 * is full (the caller closes). */
int  sl_srt_watch(struct sl_srt *s, SRTSOCKET sock, struct sl_srt_conn *c,
                  struct sl_task *task);
void sl_srt_unwatch(struct sl_srt *s, SRTSOCKET sock, struct sl_task *task);

#endif
