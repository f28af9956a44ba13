/*
 * Connections from a chosen loopback address.  See flood.h.
 */
#include "tests/support/flood.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/support/proc.h"

#define POLL_MS 10
#define C1_SENT 300 /* bytes of C1 a stalling connection sends */

enum { S_CLOSED = 0, S_CONNECTING, S_OPEN };

int
sl_socket_from(const char *src, int nonblock)
{
    struct sockaddr_in a;
    int                fd, rc;

    fd = socket(AF_INET,
                SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -errno;
    if (src == NULL || src[0] == '\0')
        return fd;
#ifdef IP_BIND_ADDRESS_NO_PORT
    {
        int one = 1;

        /* The port is then picked at connect(), per destination, so a
         * flood does not run out of ports as fast. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    }
#endif
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, src, &a.sin_addr) != 1) {
        close(fd);
        return -EINVAL;
    }
    if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static void
set_timeouts(int fd, double timeout_s)
{
    struct timeval tv;

    tv.tv_sec = (time_t) timeout_s;
    tv.tv_usec = (suseconds_t) ((timeout_s - (double) tv.tv_sec) * 1e6);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void
loopback(struct sockaddr_in *a, int port)
{
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t) port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

int
sl_connect_from(const char *src, int port, double timeout_s)
{
    struct sockaddr_in a;
    int                fd = sl_socket_from(src, 0), rc;

    if (fd < 0)
        return fd;
    /* connect() on a blocking socket honours SO_SNDTIMEO. */
    set_timeouts(fd, timeout_s);
    loopback(&a, port);
    if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

int
sl_wait_peer_closed(int fd, double timeout_s)
{
    double deadline = sl_now() + timeout_s;
    char   buf[4096];

    while (sl_now() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t       n;

        if (poll(&p, 1, 50) <= 0)
            continue;
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return 0;
    }
    return -ETIMEDOUT;
}

/* ---- the flood ---- */

static void
drop(struct sl_flood *f, int i, int by_server)
{
    if (f->state[i] == S_OPEN)
        atomic_fetch_sub(&f->open_now, 1);
    if (by_server)
        atomic_fetch_add(&f->closed, 1);
    close(f->fd[i]);
    f->fd[i] = -1;
    f->state[i] = S_CLOSED;
}

/* The connection is up: odd slots stall half way through C1, even
 * ones say nothing at all. */
static void
established(struct sl_flood *f, int i)
{
    static const uint8_t hs[1 + C1_SENT] = {3};

    f->state[i] = S_OPEN;
    atomic_fetch_add(&f->connected, 1);
    atomic_fetch_add(&f->open_now, 1);
    if (i % 2 == 1 && send(f->fd[i], hs, sizeof(hs), MSG_NOSIGNAL) < 0 &&
        errno != EAGAIN)
        drop(f, i, 1);
}

static void
open_slot(struct sl_flood *f, int i)
{
    struct sockaddr_in a;
    int                fd = sl_socket_from(f->src, 1);

    atomic_fetch_add(&f->attempts, 1);
    if (fd < 0)
        return;
    f->fd[i] = fd;
    loopback(&a, f->port);
    if (connect(fd, (struct sockaddr *) &a, sizeof(a)) == 0) {
        established(f, i);
    } else if (errno == EINPROGRESS) {
        f->state[i] = S_CONNECTING;
    } else {
        close(fd);
        f->fd[i] = -1;
    }
}

static void *
flood_main(void *arg)
{
    struct sl_flood *f = arg;
    struct pollfd    p[SL_FLOOD_MAX];
    int              who[SL_FLOOD_MAX];
    double           credit = (double) f->n; /* the burst */
    double           last = sl_now();
    char             buf[4096];

    while (!atomic_load(&f->stop)) {
        double now = sl_now();
        int    np = 0;

        credit += (now - last) * f->max_rate;
        if (credit > f->n)
            credit = f->n;
        last = now;
        for (int i = 0; i < f->n && credit >= 1; i++) {
            if (f->state[i] == S_CLOSED) {
                open_slot(f, i);
                credit -= 1;
            }
        }
        for (int i = 0; i < f->n; i++) {
            if (f->state[i] == S_CLOSED)
                continue;
            p[np].fd = f->fd[i];
            p[np].events = f->state[i] == S_CONNECTING ? POLLOUT : POLLIN;
            p[np].revents = 0;
            who[np++] = i;
        }
        if (poll(p, (nfds_t) np, POLL_MS) <= 0)
            continue;
        for (int k = 0; k < np; k++) {
            int i = who[k];

            if (p[k].revents == 0)
                continue;
            if (f->state[i] == S_CONNECTING) {
                int       err = 0;
                socklen_t len = sizeof(err);

                getsockopt(f->fd[i], SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0)
                    drop(f, i, 1);
                else
                    established(f, i);
                continue;
            }
            /* Whatever the server says is dropped; an end or a reset
             * means it closed us. */
            {
                ssize_t n = recv(f->fd[i], buf, sizeof(buf), MSG_DONTWAIT);

                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                    drop(f, i, 1);
            }
        }
    }
    for (int i = 0; i < f->n; i++)
        if (f->state[i] != S_CLOSED)
            drop(f, i, 0);
    return NULL;
}

int
sl_flood_start(struct sl_flood *f, const char *src, int port, int n,
               int max_rate)
{
    memset(f, 0, sizeof(*f));
    if (n <= 0 || n > SL_FLOOD_MAX)
        return -EINVAL;
    snprintf(f->src, sizeof(f->src), "%s", src);
    f->port = port;
    f->n = n;
    f->max_rate = max_rate > 0 ? max_rate : 2000;
    for (int i = 0; i < n; i++)
        f->fd[i] = -1;
    if (pthread_create(&f->thread, NULL, flood_main, f) != 0)
        return -EAGAIN;
    f->started = 1;
    return 0;
}

void
sl_flood_stop(struct sl_flood *f)
{
    if (!f->started)
        return;
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    f->started = 0;
}
