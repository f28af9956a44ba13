/*
 * The HAProxy agent-check listener (see agent.h).
 *
 * The thread sleeps in poll() on the listening socket and an eventfd
 * that sl_agent_stop() makes readable.  A connection is answered within
 * the accept loop: accept4 (non-blocking), one send of a line shorter
 * than any socket buffer, a half close, whatever the client sent read
 * without waiting (so the close sends FIN rather than a reset that could
 * cut our line off at the peer), close.  No connection outlives its
 * turn of the loop, so there is nothing to time out.
 */
#include "server/agent.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/cluster.h"
#include "server/listener.h"
#include "server/log.h"
#include "server/server.h"

/* Connections answered per wake before poll() looks at the stop fd. */
#define ACCEPT_BATCH 64

struct sl_agent {
    struct sl_server *srv;
    int               fd;      /* listening, non-blocking */
    int               stop_fd; /* eventfd: readable once stop begins */
    pthread_t         thread;
};

int
sl_agent_bind(const char *host, uint16_t port, char *err, size_t errlen)
{
    char why[256];
    int  fd;

    /* The same socket set-up as an RTMP port (one acceptor's worth). */
    if (sl_listener_bind(host, port, 1, &fd, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "agent_%s", why);
        return -1;
    }
    return fd;
}

static void
answer(struct sl_agent *a, int fd)
{
    char line[64], sink[256];
    int  n;

    n = sl_cluster_agent_reply(line, sizeof(line), sl_cluster_load_now(a->srv),
                               atomic_load(&a->srv->stopping));
    /* A fresh socket's send buffer is empty: the line fits at once or
     * the peer is gone; either way we do not wait. */
    if (n > 0 && send(fd, line, (size_t) n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        sl_log_debug("agent: send: %s", strerror(errno));
    shutdown(fd, SHUT_WR);
    for (int i = 0; i < 4; i++)
        if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
            break;
    close(fd);
}

static void *
agent_main(void *arg)
{
    struct sl_agent *a = arg;
    struct pollfd    pf[2] = {{a->fd, POLLIN, 0}, {a->stop_fd, POLLIN, 0}};

    for (;;) {
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            sl_log_error("agent: poll: %s", strerror(errno));
            break;
        }
        if (pf[1].revents != 0)
            break;
        for (int i = 0; i < ACCEPT_BATCH; i++) {
            int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

            if (fd < 0)
                break; /* EAGAIN, or an error of that one connection */
            answer(a, fd);
        }
    }
    return NULL;
}

struct sl_agent *
sl_agent_start(struct sl_server *srv, int fd, const char *host, uint16_t port,
               char *err, size_t errlen)
{
    struct sl_agent *a = calloc(1, sizeof(*a));
    int              rc;

    if (a == NULL) {
        snprintf(err, errlen, "agent: out of memory");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    a->srv = srv;
    a->stop_fd = eventfd(0, EFD_CLOEXEC);
    a->fd = fd >= 0 ? fd : sl_agent_bind(host, port, err, errlen);
    if (a->fd < 0 || a->stop_fd < 0) {
        if (a->stop_fd < 0)
            snprintf(err, errlen, "agent: eventfd: %s", strerror(errno));
        goto fail;
    }
    rc = pthread_create(&a->thread, NULL, agent_main, a);
    if (rc != 0) {
        snprintf(err, errlen, "agent: thread: %s", strerror(rc));
        goto fail;
    }
    sl_log_info("agent-check on %s:%u", host[0] ? host : "*", port);
    return a;

fail:
    if (a->fd >= 0)
        close(a->fd);
    if (a->stop_fd >= 0)
        close(a->stop_fd);
    free(a);
    return NULL;
}

void
sl_agent_stop(struct sl_agent *a)
{
    uint64_t one = 1;

    if (a == NULL)
        return;
    if (write(a->stop_fd, &one, sizeof(one)) != sizeof(one))
        sl_log_warn("agent: cannot signal the stop: %s", strerror(errno));
    pthread_join(a->thread, NULL);
    close(a->fd);
    close(a->stop_fd);
    free(a);
}
