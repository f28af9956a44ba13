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

#include "pool/clock.h"
#include "server/config.h"
#include "server/iplimit.h"
#include "server/log.h"
#include "server/server.h"
#include "server/session.h"

/* A refusal is logged at most once per address and reason in this long
 * (with the count of those not logged). */
#define REFUSE_LOG_MS 10000

struct acceptor {
    struct sl_listener *owner;
    int                 fd;
    pthread_t           thread;
    int                 started;
};

struct sl_listener {
    struct sl_server    *srv;
    struct sl_iplimit   *ipl;     /* per-address counts and buckets */
    int                  stop_fd; /* eventfd: readable once stop begins */
    int                  count;
    enum sl_session_kind kind; /* what its sessions speak */
    struct acceptor      acc[];
};

/* Closes a connection we refuse: with a reset (linger 0), so a flood
 * leaves no TIME_WAIT sockets behind on our side.  Counts it and logs
 * it, rate limited. */
static void
refuse(struct sl_listener *l, int fd, const struct sl_ipkey *key,
       const struct sockaddr_storage *peer, enum sl_refuse why,
       const struct sl_config *cfg, uint64_t now)
{
    struct linger lg = {1, 0};
    uint32_t      more = 0;

    atomic_fetch_add_explicit(&l->srv->refused[why], 1, memory_order_relaxed);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    if (sl_log_enabled(SL_LOG_WARN) &&
        sl_iplimit_should_log(l->ipl, key, why, now, REFUSE_LOG_MS, &more)) {
        char addr[64] = "?", what[96], tail[64] = "";

        if (key != NULL)
            sl_ipkey_format(key, addr, sizeof(addr));
        else if (peer->ss_family == AF_UNIX)
            snprintf(addr, sizeof(addr), "unix");
        switch (why) {
        case SL_REFUSE_PER_IP:
            snprintf(what, sizeof(what), "max_pending_per_ip (%u) reached",
                     cfg->max_pending_per_ip);
            break;
        case SL_REFUSE_RATE:
            snprintf(what, sizeof(what),
                     "connection_rate_per_ip (%u/s, burst %u) exceeded",
                     cfg->connection_rate_per_ip, cfg->connection_burst_per_ip);
            break;
        case SL_REFUSE_PENDING:
            snprintf(what, sizeof(what), "max_pending (%u) reached",
                     cfg->max_pending);
            break;
        default:
            snprintf(what, sizeof(what), "address table full");
            break;
        }
        if (more > 0)
            snprintf(tail, sizeof(tail), " (%u more not logged)", more);
        sl_log_warn("refused %s: %s%s", addr, what, tail);
    }
}

/* Right after accept4, before a session exists or a byte is read: the
 * address's pending count and bucket, then the pending cap of all
 * addresses.  An admitted connection becomes a session that holds the
 * address's slot, pending until it publishes or plays (conn.c). */
static void
admit(struct sl_listener *l, int fd, const struct sockaddr_storage *peer)
{
    struct sl_config  *cfg = sl_config_get();
    struct sl_ipticket tk = {0};
    struct sl_ipkey    key;
    int                have_key, rc = 0;
    uint64_t           now = sl_now_ms();

    if (cfg == NULL) {
        close(fd);
        return;
    }
    /* Peers that are not IP (none today) are not limited by address. */
    have_key = sl_ipkey_from_sockaddr(peer, &key) == 0;
    if (have_key) {
        struct sl_iplimit_conf lc = {
            cfg->max_pending_per_ip, cfg->connection_rate_per_ip,
            cfg->connection_burst_per_ip, cfg->max_players_per_ip};

        rc = sl_iplimit_acquire(l->ipl, &key, &lc, now, &tk);
    }
    if (rc < 0) {
        refuse(l, fd, have_key ? &key : NULL, peer, sl_iplimit_reason(rc), cfg,
               now);
    } else if (cfg->max_pending != 0 &&
               atomic_load_explicit(&l->srv->pending, memory_order_relaxed) >=
                   (int) cfg->max_pending) {
        /* Logged while the slot is still held, so the address's entry
         * (and its log state) is there. */
        refuse(l, fd, have_key ? &key : NULL, peer, SL_REFUSE_PENDING, cfg,
               now);
        sl_iplimit_release(&tk);
    } else {
        sl_session_start(l->srv, fd, peer, &tk, l->kind);
    }
    sl_config_unref(cfg);
}

static void *
acceptor_main(void *arg)
{
    struct acceptor *a = arg;
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
                admit(a->owner, fd, &peer);
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

int
sl_listener_bind(const char *host, uint16_t port, int count, int *fds,
                 char *err, size_t errlen)
{
    int probe;

    for (int i = 0; i < count; i++)
        fds[i] = -1;
    /* Without SO_REUSEPORT: fails when another process holds the port,
     * which a reuseport bind would share with it silently. */
    probe = bind_one(host, port, 0, err, errlen);
    if (probe < 0)
        return -1;
    close(probe);
    for (int i = 0; i < count; i++) {
        fds[i] = bind_one(host, port, 1, err, errlen);
        if (fds[i] < 0) {
            for (int k = 0; k < i; k++) {
                close(fds[k]);
                fds[k] = -1;
            }
            return -1;
        }
    }
    return 0;
}

struct sl_listener *
sl_listener_start_fds(struct sl_server *srv, struct sl_iplimit *ipl,
                      const int *fds, int count, enum sl_session_kind kind,
                      char *err, size_t errlen)
{
    struct sl_listener *l;

    l = calloc(1, sizeof(*l) + (size_t) count * sizeof(struct acceptor));
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        for (int i = 0; i < count; i++)
            close(fds[i]);
        return NULL;
    }
    l->srv = srv;
    l->count = count;
    l->kind = kind;
    l->stop_fd = eventfd(0, EFD_CLOEXEC);
    for (int i = 0; i < count; i++) {
        l->acc[i].owner = l;
        l->acc[i].fd = fds[i];
    }
    /* The per-address table is the server's, shared by its ports, so
     * an address's connections count once whichever port they use. */
    sl_iplimit_ref(ipl);
    l->ipl = ipl;
    if (l->stop_fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        sl_listener_stop(l);
        return NULL;
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
    /* Sessions still open keep the table alive through their slots. */
    sl_iplimit_unref(l->ipl);
    free(l);
}
