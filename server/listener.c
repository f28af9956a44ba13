#include "server/listener.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/log.h"
#include "server/session.h"
#include "server/session_int.h" /* sl_session_start_tls */

struct acceptor {
    struct sl_listener *owner;
    int                 fd;
    pthread_t           thread;
    int                 started;
};

struct sl_listener {
    struct sl_server *srv;
    int               stop_fd; /* eventfd: readable once stop begins */
    int               count;
    int               tls; /* the RTMPS port: sessions speak TLS */
    struct acceptor   acc[];
};

static void *
acceptor_main(void *arg)
{
    struct acceptor  *a = arg;
    struct sl_server *srv = a->owner->srv;
    struct pollfd pfd[2] = {{a->fd, POLLIN, 0}, {a->owner->stop_fd, POLLIN, 0}};

    for (;;) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            sl_log_error("acceptor: poll: %s", strerror(errno));
            return NULL;
        }
        if (pfd[1].revents)
            return NULL;
        for (;;) {
            struct sockaddr_storage peer;
            socklen_t               plen = sizeof(peer);
            int fd = accept4(a->fd, (struct sockaddr *) &peer, &plen,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);

            if (fd >= 0) {
                if (a->owner->tls)
                    sl_session_start_tls(srv, fd, &peer);
                else
                    sl_session_start(srv, fd, &peer);
                continue;
            }
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
                errno == ENOBUFS) {
                /* Out of descriptors: back off briefly instead of
                 * spinning on a socket that stays readable. */
                sl_log_warn("accept: %s", strerror(errno));
                poll(&pfd[1], 1, 50);
            }
            break;
        }
    }
}

/* SO_REUSEPORT lets our acceptors share one port, but it would equally
 * let a second Sluice (same user) join an address already in use and
 * silently take half of its connections.  A probe bound without the
 * option fails with EADDRINUSE in that case, so we refuse to start. */
static int
bind_one(const char *host, uint16_t port, int reuseport, char *err,
         size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL, *ai;
    char            portstr[8];
    int             fd = -1, one = 1, rc;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%u", port);
    rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "listen %s:%u: %s", host, port, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        /* Without a host prefer the IPv6 wildcard, which also takes IPv4
         * unless the system says otherwise; fall back to IPv4. */
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuseport)
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
            break;
        snprintf(err, errlen, "listen %s:%u: %s", host[0] ? host : "*", port,
                 strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static struct sl_listener *
start(struct sl_server *srv, const char *host, uint16_t port, int count,
      int tls, char *err, size_t errlen)
{
    struct sl_listener *l;
    int                 probe;

    l = calloc(1, sizeof(*l) + (size_t) count * sizeof(struct acceptor));
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->srv = srv;
    l->count = count;
    l->tls = tls;
    l->stop_fd = eventfd(0, EFD_CLOEXEC);
    for (int i = 0; i < count; i++)
        l->acc[i].fd = -1;
    if (l->stop_fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        sl_listener_stop(l);
        return NULL;
    }
    probe = bind_one(host, port, 0, err, errlen);
    if (probe < 0) {
        sl_listener_stop(l);
        return NULL;
    }
    close(probe);
    for (int i = 0; i < count; i++) {
        l->acc[i].owner = l;
        l->acc[i].fd = bind_one(host, port, 1, err, errlen);
        if (l->acc[i].fd < 0) {
            sl_listener_stop(l);
            return NULL;
        }
    }
    for (int i = 0; i < count; i++) {
        if (pthread_create(&l->acc[i].thread, NULL, acceptor_main,
                           &l->acc[i]) != 0) {
            snprintf(err, errlen, "cannot start acceptor thread");
            sl_listener_stop(l);
            return NULL;
        }
        l->acc[i].started = 1;
    }
    return l;
}

struct sl_listener *
sl_listener_start(struct sl_server *srv, const char *host, uint16_t port,
                  int count, char *err, size_t errlen)
{
    return start(srv, host, port, count, 0, err, errlen);
}

struct sl_listener *
sl_listener_start_tls(struct sl_server *srv, const char *host, uint16_t port,
                      int count, char *err, size_t errlen)
{
    return start(srv, host, port, count, 1, err, errlen);
}

void
sl_listener_stop(struct sl_listener *l)
{
    uint64_t one = 1;

    if (l == NULL)
        return;
    if (l->stop_fd >= 0 && write(l->stop_fd, &one, sizeof(one)) < 0)
        sl_log_error("listener: cannot signal stop: %s", strerror(errno));
    for (int i = 0; i < l->count; i++) {
        if (l->acc[i].started)
            pthread_join(l->acc[i].thread, NULL);
        if (l->acc[i].fd >= 0)
            close(l->acc[i].fd);
    }
    if (l->stop_fd >= 0)
        close(l->stop_fd);
    free(l);
}
