/*
 * The SRT port: libsrt's listener, its listen callback, and the thread
 * that waits on libsrt's epoll (see srt.h).
 *
 * Threads: libsrt's receiving thread calls listen_cb for each caller's
 * handshake; it decides (srt/admit.c, the per-address table) and, for
 * a caller let in, sets the app's socket options on the new socket and
 * notes it in s->admitted.  This file's thread accepts it (srt_accept
 * returns the same socket id), starts its connection (srt/conn.c) and
 * from then on only turns epoll events into task wakes.  s->lock
 * guards the map and the admitted table; the thread holds it while
 * waking a task, and a connection leaves the map under it, so a task
 * is never woken after it let go.
 */
#include "srt/port.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <srt/access_control.h>
#include <srt/srt.h>

#include "pool/clock.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/iplimit.h"
#include "server/log.h"
#include "server/server.h"
#include "server/session.h"
#include "srt/srt_int.h"

/* A caller let in whose handshake does not complete within this (a
 * wrong passphrase, a caller that gave up) gives its slot back. */
#define ADMITTED_TTL_MS 10000
/* How often the thread looks for such entries, busy or not. */
#define EXPIRE_EVERY_MS 1000
#define WAIT_MS 100
#define PLAYER_FC 1024
#define PLAYER_RCVBUF (64 * 1456)
#define BACKLOG 128

/* ---- the map: socket -> connection ---- */

static size_t
slot_of(SRTSOCKET sock)
{
    return ((uint32_t) sock * 2654435761u) & (SL_SRT_MAP - 1);
}

int
sl_srt_watch(struct sl_srt *s, SRTSOCKET sock, struct sl_srt_conn *c,
             struct sl_task *task)
{
    int    events = SRT_EPOLL_IN | SRT_EPOLL_OUT | SRT_EPOLL_ERR | SRT_EPOLL_ET;
    size_t i;

    pthread_mutex_lock(&s->lock);
    if (s->nconns >= SL_SRT_MAX_CONNS) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    for (i = slot_of(sock); s->map[i].sock != SRT_INVALID_SOCK;
         i = (i + 1) & (SL_SRT_MAP - 1))
        ;
    s->map[i].sock = sock;
    s->map[i].conn = c;
    s->nconns++;
    sl_task_ref(task);
    pthread_mutex_unlock(&s->lock);
    /* Added after the map has it: the first event finds the task. */
    if (srt_epoll_add_usock(s->eid, sock, &events) < 0) {
        sl_srt_unwatch(s, sock, task);
        return -1;
    }
    return 0;
}

/* Linear probing's delete: later entries of the same run move back so
 * every lookup still finds them. */
void
sl_srt_unwatch(struct sl_srt *s, SRTSOCKET sock, struct sl_task *task)
{
    size_t i, j;
    int    found = 0;

    srt_epoll_remove_usock(s->eid, sock);
    pthread_mutex_lock(&s->lock);
    for (i = slot_of(sock); s->map[i].sock != SRT_INVALID_SOCK;
         i = (i + 1) & (SL_SRT_MAP - 1))
        if (s->map[i].sock == sock) {
            found = 1;
            break;
        }
    if (found) {
        s->map[i].sock = SRT_INVALID_SOCK;
        s->map[i].conn = NULL;
        s->nconns--;
        for (j = (i + 1) & (SL_SRT_MAP - 1); s->map[j].sock != SRT_INVALID_SOCK;
             j = (j + 1) & (SL_SRT_MAP - 1)) {
            size_t home = slot_of(s->map[j].sock);

            /* j's entry may move to the hole i when i lies on its probe
             * path (cyclically between home and j). */
            if (((j - home) & (SL_SRT_MAP - 1)) >=
                ((j - i) & (SL_SRT_MAP - 1))) {
                s->map[i] = s->map[j];
                s->map[j].sock = SRT_INVALID_SOCK;
                s->map[j].conn = NULL;
                i = j;
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (found)
        sl_task_unref(task);
}

static void
dispatch(struct sl_srt *s, SRTSOCKET sock, int events)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = slot_of(sock); s->map[i].sock != SRT_INVALID_SOCK;
         i = (i + 1) & (SL_SRT_MAP - 1))
        if (s->map[i].sock == sock) {
            sl_srt_conn_event(s->map[i].conn, events);
            break;
        }
    pthread_mutex_unlock(&s->lock);
}

/* ---- the listen callback (libsrt's receiving thread) ---- */

static void
peer_name(const struct sockaddr *sa, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    char                    ip[64];

    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, sa,
           sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in));
    sl_session_format_peer(&ss, out, cap, ip, sizeof(ip));
}

/* The app's SRT options on the new socket, before libsrt answers the
 * handshake.  0, or -1 when libsrt refused one (logged by the caller). */
static int
set_options(SRTSOCKET ns, const struct sl_app_config *app, int player)
{
    static const int keylens[] = {0, 16, 24, 32};
    int              latency = (int) app->srt_latency_ms;
    int              overhead = (int) app->srt_overhead;
    int64_t          maxbw = 0; /* 0: input rate + overhead */
    int              no = 0;

    if (srt_setsockflag(ns, SRTO_RCVLATENCY, &latency, sizeof(latency)) < 0 ||
        srt_setsockflag(ns, SRTO_PEERLATENCY, &latency, sizeof(latency)) < 0 ||
        srt_setsockflag(ns, SRTO_MAXBW, &maxbw, sizeof(maxbw)) < 0 ||
        srt_setsockflag(ns, SRTO_OHEADBW, &overhead, sizeof(overhead)) < 0 ||
        srt_setsockflag(ns, SRTO_RCVSYN, &no, sizeof(no)) < 0 ||
        srt_setsockflag(ns, SRTO_SNDSYN, &no, sizeof(no)) < 0)
        return -1;
    /* A player receives only acknowledgements: libsrt's defaults (a
     * window of 25600 packets, an 8192-packet receive buffer) cost it
     * about 900 KiB of tables at connect; these, about 400.  1024
     * packets in flight still cover half a second of 15 Mbit/s. */
    if (player) {
        int fc = PLAYER_FC, rcvbuf = PLAYER_RCVBUF;

        if (srt_setsockflag(ns, SRTO_FC, &fc, sizeof(fc)) < 0 ||
            srt_setsockflag(ns, SRTO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
            return -1;
    }
    if (app->srt_passphrase[0] != '\0') {
        int keylen = keylens[app->srt_pbkeylen & 3];

        if (keylen != 0 &&
            srt_setsockflag(ns, SRTO_PBKEYLEN, &keylen, sizeof(keylen)) < 0)
            return -1;
        if (srt_setsockflag(ns, SRTO_PASSPHRASE, app->srt_passphrase,
                            (int) strlen(app->srt_passphrase)) < 0)
            return -1;
    }
    return 0;
}

/* A free entry of the admitted table (s->lock held), or NULL. */
static struct sl_srt_admitted *
admitted_slot(struct sl_srt *s)
{
    for (int i = 0; i < SL_SRT_ADMITTED; i++)
        if (s->admitted[i].sock == SRT_INVALID_SOCK)
            return &s->admitted[i];
    return NULL;
}

/* Gives back the entries whose handshake never completed (a wrong or
 * missing passphrase, a caller that gave up), a batch at a time under
 * s->lock, logging each batch after it: no I/O under the lock. */
static void
expire_admitted(struct sl_srt *s, uint64_t now)
{
    struct gone {
        char peer[64];
        char shown[sizeof(((struct sl_srt_admitted *) 0)->shown)];
    } gone[8];
    int n, from = 0;

    do {
        n = 0;
        pthread_mutex_lock(&s->lock);
        for (; from < SL_SRT_ADMITTED && n < 8; from++) {
            struct sl_srt_admitted *a = &s->admitted[from];

            if (a->sock == SRT_INVALID_SOCK ||
                now - a->at_ms <= ADMITTED_TTL_MS)
                continue;
            peer_name((const struct sockaddr *) &a->addr, gone[n].peer,
                      sizeof(gone[n].peer));
            memcpy(gone[n].shown, a->shown, sizeof(gone[n].shown));
            n++;
            sl_iplimit_release(&a->ticket);
            a->sock = SRT_INVALID_SOCK;
        }
        pthread_mutex_unlock(&s->lock);
        for (int i = 0; i < n; i++)
            sl_log_info("[srt %s] %s: the handshake did not complete "
                        "(a wrong or missing passphrase, or the caller gave "
                        "up)",
                        gone[i].peer, gone[i].shown);
    } while (from < SL_SRT_ADMITTED);
}

/* "APP/NAME" of a caller's request as the log may show it (the name
 * masked where it may be a stream key, as for RTMP), "APP" without a
 * name, "" when the id named no app. */
static void
loggable(const struct sl_config *cfg, const struct sl_srt_admission *adm,
         char *out, size_t cap)
{
    struct sl_auth_request rq = {
        .kind =
            adm->sid.mode == SL_SRT_PUBLISH ? SL_AUTH_PUBLISH : SL_AUTH_PLAY,
        .app = sl_config_app(cfg, adm->sid.app),
        .name = adm->sid.name,
    };
    char name[SL_NAME_MAX + 32];

    if (rq.app == NULL) /* no app, no keys: the name is no secret */
        snprintf(name, sizeof(name), "%s", adm->sid.name);
    else
        sl_auth_loggable_name(&rq, name, sizeof(name));
    snprintf(out, cap, "%s%s%s", adm->sid.app,
             adm->sid.app[0] && name[0] ? "/" : "", name);
}

static int
listen_cb(void *opaque, SRTSOCKET ns, int hsversion,
          const struct sockaddr *peeraddr, const char *streamid)
{
    struct sl_srt          *s = opaque;
    struct sl_config       *cfg = sl_config_get();
    struct sl_iplimit_conf  lim;
    struct sl_srt_admitted  a;
    struct sl_srt_admitted *slot;
    struct sl_ipkey         key;
    uint64_t                now = sl_now_ms();
    char                    peer[64];
    int                     rc;

    memset(&a, 0, sizeof(a));
    peer_name(peeraddr, peer, sizeof(peer));
    memcpy(&a.addr, peeraddr,
           peeraddr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                           : sizeof(struct sockaddr_in));
    if (cfg == NULL || atomic_load(&s->srv->stopping)) {
        srt_setrejectreason(ns, SRT_REJX_OVERLOAD);
        sl_config_unref(cfg);
        return -1;
    }
    if (hsversion < 5) {
        /* HSv4 callers (libsrt before 1.3) send no stream id. */
        sl_log_warn("[srt %s] refused: the caller's SRT is too old "
                    "(handshake v%d, no stream id)",
                    peer, hsversion);
        srt_setrejectreason(ns, SRT_REJX_BAD_REQUEST);
        sl_config_unref(cfg);
        return -1;
    }
    /* The address's bucket and pending count first: a flood of
     * handshakes from one address costs a table lookup each. */
    lim = (struct sl_iplimit_conf){
        .max_pending = cfg->max_pending_per_ip,
        .rate = cfg->connection_rate_per_ip,
        .burst = cfg->connection_burst_per_ip,
        .max_players = cfg->max_players_per_ip,
    };
    if (sl_ipkey_from_sockaddr(&a.addr, &key) == 0) {
        rc = sl_iplimit_acquire(s->ipl, &key, &lim, now, &a.ticket);
        if (rc < 0) {
            enum sl_refuse why = sl_iplimit_reason(rc);
            uint32_t       quiet = 0;

            atomic_fetch_add_explicit(&s->srv->refused[why], 1,
                                      memory_order_relaxed);
            if (sl_iplimit_should_log(s->ipl, &key, why, now, 10000, &quiet))
                sl_log_warn("[srt %s] refused: %s", peer, sl_refuse_name(why));
            srt_setrejectreason(ns, SRT_REJX_OVERLOAD);
            sl_config_unref(cfg);
            return -1;
        }
    }
    sl_srt_admit(streamid, strnlen(streamid, 512), cfg, s->srv->hub, &a.addr,
                 time(NULL), &a.adm);
    loggable(cfg, &a.adm, a.shown, sizeof(a.shown));
    if (a.adm.reject == 0 &&
        set_options(ns, sl_config_app(cfg, a.adm.sid.app),
                    a.adm.sid.mode == SL_SRT_REQUEST) < 0) {
        a.adm.reject = SRT_REJX_ISE;
        snprintf(a.adm.why, sizeof(a.adm.why), "cannot set SRT options: %s",
                 srt_getlasterror_str());
    }
    sl_config_unref(cfg);
    if (a.adm.reject == 0) {
        a.sock = ns;
        a.at_ms = now;
        pthread_mutex_lock(&s->lock);
        slot = admitted_slot(s);
        if (slot != NULL)
            *slot = a;
        pthread_mutex_unlock(&s->lock);
        if (slot != NULL)
            return 0;
        a.adm.reject = SRT_REJX_OVERLOAD;
        snprintf(a.adm.why, sizeof(a.adm.why),
                 "too many handshakes in progress");
    }
    if (a.ticket.held)
        sl_iplimit_release(&a.ticket);
    sl_log_warn("[srt %s] %s%srefused: %s", peer, a.shown,
                a.shown[0] ? " " : "", a.adm.why);
    srt_setrejectreason(ns, a.adm.reject);
    return -1;
}

/* ---- the thread ---- */

static void
accept_all(struct sl_srt *s)
{
    for (;;) {
        struct sockaddr_storage ss;
        int                     len = sizeof(ss);
        SRTSOCKET ns = srt_accept(s->lsn_id, (struct sockaddr *) &ss, &len);
        struct sl_srt_admitted a;
        int                    found = 0;

        if (ns == SRT_INVALID_SOCK)
            return; /* SRT_EASYNCRCV: none left */
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < SL_SRT_ADMITTED; i++)
            if (s->admitted[i].sock == ns) {
                a = s->admitted[i];
                s->admitted[i].sock = SRT_INVALID_SOCK;
                found = 1;
                break;
            }
        pthread_mutex_unlock(&s->lock);
        if (!found) {
            /* Its entry expired (the accept came very late). */
            srt_close(ns);
            continue;
        }
        sl_srt_conn_start(s, ns, &a);
    }
}

static void *
thread_main(void *arg)
{
    struct sl_srt  *s = arg;
    SRT_EPOLL_EVENT ev[64];
    uint64_t        expire_at = 0;

    while (!atomic_load(&s->stop)) {
        int      n = srt_epoll_uwait(s->eid, ev, 64, WAIT_MS);
        uint64_t now;

        for (int i = 0; i < n; i++) {
            if (ev[i].fd == s->lsn_id)
                accept_all(s);
            else
                dispatch(s, ev[i].fd, ev[i].events);
        }
        /* On the clock, not only when a wait times out: with publishers
         * sending, the waits never do, and a stale entry would hold
         * its address's pending slot until the next handshake. */
        now = sl_now_ms();
        if (now >= expire_at) {
            expire_at = now + EXPIRE_EVERY_MS;
            expire_admitted(s, now);
        }
    }
    return NULL;
}

/* libsrt's own log lines go to ours, errors only: a refused or broken
 * connection gets a line of ours that says more. */
static void
srt_log(void *opaque, int level, const char *file, int line, const char *area,
        const char *message)
{
    size_t n = strlen(message);

    (void) opaque;
    (void) level;
    (void) file;
    (void) line;
    (void) area;
    while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == '\r'))
        n--;
    sl_log_debug("libsrt: %.*s", (int) n, message);
}

static int
bind_listener(struct sl_srt *s, const char *host, uint16_t port, char *err,
              size_t cap)
{
    struct addrinfo  hints = {.ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_DGRAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char             portstr[8];
    int              no = 0, events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    int              rc;

    snprintf(portstr, sizeof(portstr), "%u", port);
    rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &ai);
    if (rc != 0) {
        snprintf(err, cap, "srt_listen: %s: %s", host, gai_strerror(rc));
        return -1;
    }
    s->lsn = srt_create_socket();
    if (s->lsn == SRT_INVALID_SOCK ||
        srt_setsockflag(s->lsn, SRTO_RCVSYN, &no, sizeof(no)) < 0 ||
        srt_listen_callback(s->lsn, listen_cb, s) < 0 ||
        srt_bind(s->lsn, ai->ai_addr, (int) ai->ai_addrlen) < 0 ||
        srt_listen(s->lsn, BACKLOG) < 0 ||
        srt_epoll_add_usock(s->eid, s->lsn, &events) < 0) {
        snprintf(err, cap, "srt_listen %s:%u: %s", host[0] ? host : "*", port,
                 srt_getlasterror_str());
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    s->lsn_id = s->lsn;
    return 0;
}

struct sl_srt *
sl_srt_start(struct sl_server *srv, struct sl_iplimit *ipl, const char *host,
             uint16_t port, char *err, size_t cap)
{
    struct sl_srt *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    s->srv = srv;
    s->ipl = ipl;
    s->lsn = SRT_INVALID_SOCK;
    s->eid = -1;
    pthread_mutex_init(&s->lock, NULL);
    for (int i = 0; i < SL_SRT_MAP; i++)
        s->map[i].sock = SRT_INVALID_SOCK;
    for (int i = 0; i < SL_SRT_ADMITTED; i++)
        s->admitted[i].sock = SRT_INVALID_SOCK;
    sl_iplimit_ref(ipl);
    s->feeds = sl_srt_feeds_new(srv->hub);
    if (s->feeds == NULL) {
        snprintf(err, cap, "out of memory");
        pthread_mutex_destroy(&s->lock);
        sl_iplimit_unref(ipl);
        free(s);
        return NULL;
    }
    srt_startup();
    srt_setloghandler(NULL, srt_log);
    srt_setloglevel(3); /* LOG_ERR */
    s->eid = srt_epoll_create();
    if (s->eid < 0) {
        snprintf(err, cap, "srt: cannot create an epoll set");
        sl_srt_free(s);
        return NULL;
    }
    /* The thread waits with nothing to wait for between connections. */
    srt_epoll_set(s->eid, SRT_EPOLL_ENABLE_EMPTY);
    if (bind_listener(s, host, port, err, cap) < 0) {
        sl_srt_free(s);
        return NULL;
    }
    if (pthread_create(&s->thread, NULL, thread_main, s) != 0) {
        snprintf(err, cap, "srt: cannot start its thread");
        sl_srt_free(s);
        return NULL;
    }
    s->started = 1;
    return s;
}

void
sl_srt_stop_accepting(struct sl_srt *s)
{
    SRTSOCKET lsn;

    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    lsn = s->lsn;
    s->lsn = SRT_INVALID_SOCK;
    pthread_mutex_unlock(&s->lock);
    if (lsn != SRT_INVALID_SOCK) {
        srt_epoll_remove_usock(s->eid, lsn);
        srt_close(lsn);
    }
}

void
sl_srt_free(struct sl_srt *s)
{
    if (s == NULL)
        return;
    sl_srt_stop_accepting(s);
    atomic_store(&s->stop, 1);
    if (s->started)
        pthread_join(s->thread, NULL);
    for (int i = 0; i < SL_SRT_ADMITTED; i++)
        if (s->admitted[i].sock != SRT_INVALID_SOCK)
            sl_iplimit_release(&s->admitted[i].ticket);
    if (s->eid >= 0)
        srt_epoll_release(s->eid);
    srt_cleanup();
    sl_srt_feeds_free(s->feeds);
    sl_iplimit_unref(s->ipl);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
