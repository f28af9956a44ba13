/*
 * A forwarder that can stall.  See tcp_proxy.h.
 */
#include "tests/support/tcp_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/support/flood.h"

#define POLL_MS 50

static int
connect_target(int port, const char *source)
{
    struct sockaddr_in a;
    struct timeval     tv = {2, 0};
    int                fd = sl_socket_from(source, 0);

    if (fd < 0)
        return -1;
    /* Bounded: a blocking write to the target never waits long. */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Writes all of buf to a blocking fd with a send timeout.  0 or -1. */
static int
write_all(int fd, const char *buf, ssize_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, (size_t) n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= w;
    }
    return 0;
}

static void
close_pair(struct sl_tcp_proxy *p, int i)
{
    if (p->client[i] >= 0)
        close(p->client[i]);
    if (p->server[i] >= 0)
        close(p->server[i]);
    p->client[i] = -1;
    p->server[i] = -1;
}

static void *
proxy_main(void *arg)
{
    struct sl_tcp_proxy *p = arg;
    char                 buf[65536];

    while (!atomic_load(&p->stop)) {
        struct pollfd fds[1 + 2 * SL_TCP_PROXY_MAX];
        int           who[1 + 2 * SL_TCP_PROXY_MAX];
        int           n = 0, stalled = atomic_load(&p->stalled);

        fds[n].fd = p->lfd;
        fds[n].events = POLLIN;
        who[n++] = -1;
        for (int i = 0; i < p->nconn; i++) {
            if (p->client[i] >= 0 && !stalled) {
                fds[n].fd = p->client[i];
                fds[n].events = POLLIN;
                who[n++] = 2 * i;
            }
            if (p->server[i] >= 0 && !stalled) {
                fds[n].fd = p->server[i];
                fds[n].events = POLLIN;
                who[n++] = 2 * i + 1;
            }
        }
        if (poll(fds, (nfds_t) n, POLL_MS) <= 0)
            continue;
        if ((fds[0].revents & POLLIN) && p->nconn < SL_TCP_PROXY_MAX) {
            int c = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);

            if (c >= 0) {
                struct timeval tv = {2, 0};
                int            i = p->nconn++;

                setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

                atomic_fetch_add(&p->accepted, 1);
                p->client[i] = c;
                p->server[i] =
                    stalled ? -1 : connect_target(p->target, p->source);
                if (!stalled && p->server[i] < 0)
                    close_pair(p, i);
            }
        }
        if (atomic_load(&p->stalled))
            continue; /* read nothing more */
        for (int k = 1; k < n; k++) {
            int     i = who[k] / 2, from_client = who[k] % 2 == 0;
            int     src = from_client ? p->client[i] : p->server[i];
            int     dst = from_client ? p->server[i] : p->client[i];
            ssize_t r;

            if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)) || src < 0 ||
                dst < 0)
                continue;
            r = read(src, buf, sizeof(buf));
            if (r <= 0 || write_all(dst, buf, r) < 0) {
                close_pair(p, i);
                continue;
            }
            if (from_client)
                atomic_fetch_add(&p->forwarded, (long) r);
        }
    }
    for (int i = 0; i < p->nconn; i++)
        close_pair(p, i);
    return NULL;
}

int
sl_tcp_proxy_start(struct sl_tcp_proxy *p, int target, int rcvbuf)
{
    return sl_tcp_proxy_start_from(p, target, rcvbuf, NULL);
}

int
sl_tcp_proxy_start_from(struct sl_tcp_proxy *p, int target, int rcvbuf,
                        const char *source)
{
    struct sockaddr_in a;
    socklen_t          len = sizeof(a);
    int                one = 1, rc;

    memset(p, 0, sizeof(*p));
    p->target = target;
    snprintf(p->source, sizeof(p->source), "%s", source ? source : "");
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (p->lfd < 0)
        return -errno;
    setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* Set before listen so accepted sockets inherit it (and the kernel
     * does not grow their window). */
    if (rcvbuf > 0)
        setsockopt(p->lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(p->lfd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
        getsockname(p->lfd, (struct sockaddr *) &a, &len) < 0 ||
        listen(p->lfd, 64) < 0) {
        rc = -errno;
        close(p->lfd);
        return rc;
    }
    p->port = ntohs(a.sin_port);
    for (int i = 0; i < SL_TCP_PROXY_MAX; i++)
        p->client[i] = p->server[i] = -1;
    if (pthread_create(&p->thread, NULL, proxy_main, p) != 0) {
        close(p->lfd);
        return -EAGAIN;
    }
    p->started = 1;
    return 0;
}

void
sl_tcp_proxy_stall(struct sl_tcp_proxy *p)
{
    atomic_store(&p->stalled, 1);
}

void
sl_tcp_proxy_stop(struct sl_tcp_proxy *p)
{
    if (!p->started)
        return;
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    close(p->lfd);
    p->started = 0;
}
