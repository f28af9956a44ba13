/*
 * Session I/O and lifetime: an RTMP connection's socket (plain or TLS),
 * its handshake, its send queue and writes, its timers.  What the bytes
 * mean after the handshake is the command state machine's
 * (rtmp_cmd.h), which the session embeds and serves as its transport.
 * One run of the task:
 *   1. take the reactor's events;
 *   2. react to a server stop, a kick from the API, a callback's verdict;
 *   3. read (edge-triggered: until EAGAIN, or a budget, after which the
 *      task wakes itself so other sessions get the worker), feeding the
 *      handshake, then the command state machine;
 *   4. player: announce publisher changes; publisher: flush the hub's
 *      merge window;
 *   5. write what the send queue holds with writev (HLS parts with
 *      sendfile, from their memory file);
 *   6. enforce timeouts, then arm the timer for the next deadline.
 *
 * References on the task: the owner reference (dropped when the session
 * finishes), the reactor registration, an armed timer, a queued run.
 * The last one to go frees the session, on whatever thread.
 */
#include "server/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pool/clock.h"
#include "pool/loop.h"
#include "pool/sched.h"
#include "pool/slab.h"
#include "server/config.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/outq.h"
#include "server/conn.h"
#include "server/proto.h"
#include "server/server.h"
#include "server/session_info.h"
#include "server/tls.h"

#define slog sl_log_conn

#define READ_CHUNK 65536
#define READ_BUDGET (256 * 1024) /* bytes per run before yielding */
#define WRITE_IOV 64
#define OUTQ_CAP 512
#define CLOSE_FLUSH_MS 2000 /* how long a closing session may flush */
#define MAX_SKIP_STRIKES 3  /* skips in a row without catching up */

struct sl_session {
    /* The first five cache lines (SL_TASK_HOT_BYTES, which the scheduler
     * prefetches before the run) hold what every run reads or writes (a
     * player runs once per merge window: 20,000 runs a second for 1000
     * players at 50 ms, each after a writev that has pushed most of the
     * cache out): the task, the events, the flags, the write state, the
     * private queue's head and the API's counters.  The rest, cold in a
     * player's run, follows; the protocol's state (conn) comes last and
     * is prefetched by the run itself.  The session is allocated 64-byte
     * aligned so the lines are the lines. */
    struct sl_task task; /* first: the session is its own task */
    struct sl_io   io;
    uint8_t        registered; /* io added to the reactor */
    uint8_t        closing;    /* flush what is queued, then close */
    uint8_t        closed;
    uint8_t        read_more;     /* stopped reading with bytes left: go on */
    uint8_t        write_blocked; /* EAGAIN: wait for SL_IO_OUT */
    uint8_t        stop_seen;     /* reacted to srv->stopping */
    uint8_t        peer_eof;
    /* The peer closed its side (SL_IO_HUP seen), or the socket failed:
     * read to the end of the stream, not just to a short read.  Sticky:
     * a run that took the event may not have read up to the end (a read
     * budget, a parked request). */
    uint8_t peer_hup;
    uint8_t sent_media;   /* player: last_sent_ts is set */
    uint8_t deferring;    /* publisher: io.defer is set (read_later) */
    /* Player: skips without catching up between (up to
     * MAX_SKIP_STRIKES). */
    uint8_t  skip_strikes;
    uint32_t last_sent_ts; /* player: newest media written */
    uint32_t ring_off;
    uint32_t out_off; /* bytes of the private queue's head sent */

    struct sl_server *srv;
    /* What the bytes mean: the protocol of the port that accepted the
     * connection, and its state (starting with the struct sl_conn that
     * conn points to), allocated with the session. */
    const struct sl_proto *proto;
    struct sl_conn        *conn;
    /* RTMPS, HTTPS: all socket I/O goes through TLS; NULL for plain
     * connections.  The TLS handshake counts against the protocol's
     * first deadline (the RTMP handshake's, an HTTP request's). */
    struct sl_tls_conn *tls;
    /* A ring message half written: its remaining bytes go out before
     * anything else (chunk stream integrity), even after a skip or an
     * unsubscribe.  The session owns this reference. */
    struct sl_buf *ring_part; /* ring_off bytes of it sent */
    uint64_t       armed_ms;      /* timer's deadline, 0: none */
    uint64_t       last_write_ms; /* last time bytes left or nothing waited */
    uint64_t       flush_due_ms;  /* publisher: hub flush wanted */
    uint64_t       grace_due_ms;  /* player: unpublish notice due */
    uint64_t last_skips; /* player: subscription skips seen so far */

    /* The private queue (its hot fields lead it, outq.h). */
    struct sl_outq outq;
    /* What the API sees; its per-run counters lead it, on one line, the
     * last of the SL_TASK_HOT_BYTES the scheduler prefetches. */
    _Alignas(64) struct sl_sess_info info;

    uint8_t           tls_up; /* TLS handshake done (logged) */
    struct sl_timer   timer;
    struct sl_config *cfg; /* the config this session started with */
    uint64_t          id;
    uint64_t          created_ms;
    uint64_t          last_read_ms;
    uint64_t          close_deadline_ms;

    /* Bytes read after a request that waits for its callback: fed when
     * the verdict is in (at most one read's worth). */
    uint8_t *held;
    size_t   held_len;

    char                    peer[64];
    char                    peer_ip[64]; /* address alone, for callbacks */
    struct sockaddr_storage peer_addr;

    /* The peer address's slot in the listener's table, released by
     * session_destroy. */
    struct sl_ipticket ipslot;
    struct sl_slab    *slab; /* allocated from it; NULL: by malloc */

    _Alignas(64) unsigned char state[];
};

static void session_run(struct sl_task *t);
static void session_close(struct sl_session *s, int level, const char *why);

static void
session_destroy(struct sl_task *t)
{
    struct sl_session *s = (struct sl_session *) t;

    sl_tls_conn_free(s->tls, 0);
    /* Every path ends here exactly once (the last task reference, or a
     * start that failed), so this is the one place the pending count
     * and the address slot go back. */
    if (s->conn != NULL)
        s->proto->free(s->conn);
    sl_outq_destroy(&s->outq);
    sl_buf_unref(s->ring_part);
    free(s->held);
    sl_config_unref(s->cfg);
    sl_session_info_destroy(&s->info);
    sl_iplimit_release(&s->ipslot);
    if (s->slab != NULL)
        sl_slab_free(s->slab, s);
    else
        free(s);
}

/* Sessions live in huge-page slabs (pool/slab.h: a player's run then
 * starts without a TLB miss), one per session size, that is per
 * protocol, made on first use and kept for the process's life: a
 * session may be freed on any thread at any time, even after its server
 * stopped waiting for it.  NULL (more sizes than slots, no memory):
 * malloc instead. */
#define SESSION_SLABS 4

static pthread_mutex_t slabs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    size_t          size;
    struct sl_slab *slab;
} slabs[SESSION_SLABS];

static struct sl_slab *
slab_for(size_t size)
{
    struct sl_slab *found = NULL;

    pthread_mutex_lock(&slabs_lock);
    for (int i = 0; i < SESSION_SLABS; i++) {
        if (slabs[i].slab == NULL) {
            slabs[i].slab = sl_slab_new(size);
            slabs[i].size = size;
        }
        if (slabs[i].slab != NULL && slabs[i].size == size) {
            found = slabs[i].slab;
            break;
        }
    }
    pthread_mutex_unlock(&slabs_lock);
    return found;
}

/* The transport of the protocol: its messages go to the private send
 * queue, never dropped (an overflow breaks the queue and the session
 * closes). */
static int
transport_send(void *io, struct sl_buf *b)
{
    struct sl_session *s = io;
    int                rc = sl_outq_push(&s->outq, b, 0, SL_OUT_KEEP);

    return rc < 0 ? rc : 0;
}

static void
transport_close(void *io, int level, const char *why)
{
    session_close(io, level, why);
}

static const struct sl_conn_transport session_transport = {
    .send = transport_send,
    .close = transport_close,
};

/* The protocol's fixed fields: this session is its transport, owner
 * and task.  0, or -ENOMEM. */
static int
conn_setup(struct sl_session *s, int counted)
{
    struct sl_conn *c = (struct sl_conn *) s->state;

    c->tp = &session_transport;
    c->io = s;
    c->srv = s->srv;
    c->cfg = s->cfg;
    c->task = &s->task;
    c->info = &s->info;
    c->id = s->id;
    c->peer = s->peer;
    c->peer_ip = s->peer_ip;
    c->addr = &s->peer_addr;
    c->ipslot = &s->ipslot;
    c->proto = s->proto->id;
    c->sub.q = &s->outq;
    c->closing = !counted;
    s->conn = c;
    /* Its first lines are what a run reads of it: the worker fetches
     * them one run ahead (sched.h). */
    s->task.hot_extra = c;
    return s->proto->init(c, counted);
}

/* "host:port" for the log into buf, the host alone into ip. */
void
sl_session_format_peer(const struct sockaddr_storage *ss, char *buf, size_t cap,
                       char *ip, size_t ipcap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int  port = 0;

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *) ss;

        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
        snprintf(buf, cap, "%s:%d", host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *) ss;

        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
        snprintf(buf, cap, "[%s]:%d", host, port);
    } else {
        snprintf(buf, cap, "unix");
    }
    snprintf(ip, ipcap, "%s", host);
}

_Static_assert(offsetof(struct sl_session, info) + 64 <= SL_TASK_HOT_BYTES,
               "the API counters sit in the lines the scheduler prefetches");

static int
start(struct sl_server *srv, int fd, const struct sockaddr_storage *peer,
      struct sl_ipticket *slot, const struct sl_proto *proto, int tls)
{
    struct sl_session *s;
    struct sl_slab    *slab;
    size_t             size;
    int                one = 1, n;

    /* 64-byte aligned (aligned_alloc wants a multiple of it): the hot
     * lines at the top of the struct, and the protocol state's, must
     * start on a line. */
    size = (sizeof(*s) + proto->size + 63) & ~(size_t) 63;
    slab = slab_for(size);
    s = slab != NULL ? sl_slab_alloc(slab) : NULL;
    if (s == NULL) {
        slab = NULL;
        s = aligned_alloc(64, size);
    }
    if (s != NULL) {
        memset(s, 0, size);
        s->slab = slab;
    }
    if (s == NULL) {
        if (slot != NULL)
            sl_iplimit_release(slot);
        close(fd);
        return -ENOMEM;
    }
    sl_task_init(&s->task, srv->sched, session_run, session_destroy);
    s->srv = srv;
    s->proto = proto;
    if (slot != NULL) {
        s->ipslot = *slot; /* the session owns it now */
        slot->held = 0;
    }
    s->cfg = sl_config_get();
    s->id = atomic_fetch_add(&srv->next_id, 1) + 1;
    s->peer_addr = *peer;
    sl_session_format_peer(peer, s->peer, sizeof(s->peer), s->peer_ip,
                           sizeof(s->peer_ip));
    sl_session_info_init(&s->info, s->id, s->peer, &s->task);
    s->created_ms = s->last_read_ms = s->last_write_ms = sl_now_ms();
    s->io.fd = fd;
    s->io.task = &s->task;
    atomic_init(&s->io.events, 0);
    atomic_init(&s->io.defer, 0);
    sl_timer_init(&s->timer, &s->task);
    /* main refuses a reload that drops the certificate while a TLS port
     * is open, so a config under it always has one. */
    if (tls && s->cfg != NULL && s->cfg->tls != NULL)
        s->tls = sl_tls_conn_new(s->cfg->tls, fd);
    if (s->cfg == NULL || (tls && s->tls == NULL) ||
        sl_outq_init(&s->outq, OUTQ_CAP) < 0) {
        close(fd);
        session_destroy(&s->task);
        return -ENOMEM;
    }
    /* Media must leave as soon as it is queued; batching is done by the
     * merge window, not by Nagle. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    n = atomic_fetch_add(&srv->nsessions, 1) + 1;
    sl_session_info_list(srv, &s->info);
    if (n > s->cfg->max_connections) {
        slog(SL_LOG_WARN, s, "refused: max_connections (%d) reached",
             s->cfg->max_connections);
        atomic_fetch_add_explicit(&srv->refused[SL_REFUSE_MAX], 1,
                                  memory_order_relaxed);
        s->closing = 1;
        s->close_deadline_ms = s->created_ms;
    }
    if (conn_setup(s, !s->closing) < 0 && !s->closing) {
        slog(SL_LOG_ERROR, s, "closing: out of memory");
        s->closing = 1;
        s->close_deadline_ms = s->created_ms;
    }
    slog(SL_LOG_DEBUG, s, "accepted (%s%s)", proto->name, tls ? ", TLS" : "");
    /* The socket is registered with the reactor by the session's first
     * run, not here: once registered, events can run the session on a
     * worker at any moment, and it could finish and drop its references
     * while this thread still touched it. */
    sl_task_wake(&s->task);
    return 0;
}

int
sl_session_start(struct sl_server *srv, int fd,
                 const struct sockaddr_storage *peer, struct sl_ipticket *slot,
                 enum sl_session_kind kind)
{
    const struct sl_proto *proto =
        (unsigned) kind < SL_SESSION_KINDS ? srv->protos[kind] : NULL;

    if (proto == NULL) {
        /* A port main started without wiring its protocol: a bug, not
         * the peer's fault; refuse rather than guess. */
        sl_log_error("no protocol for sessions of kind %d", (int) kind);
        if (slot != NULL)
            sl_iplimit_release(slot);
        close(fd);
        return -ENOTSUP;
    }
    return start(srv, fd, peer, slot, proto,
                 kind == SL_SESSION_RTMPS || kind == SL_SESSION_HTTPS);
}

/* First run: start watching the socket.  Returns -1 when that failed
 * (the session is then closing). */
static int
register_io(struct sl_session *s)
{
    int rc = sl_loop_add(s->srv->loop, &s->io);

    if (rc < 0) {
        char why[96];

        snprintf(why, sizeof(why), "cannot watch socket: %s", strerror(-rc));
        session_close(s, SL_LOG_ERROR, why);
        s->peer_eof = 1;
        return -1;
    }
    s->registered = 1;
    return 0;
}

static void
session_close(struct sl_session *s, int level, const char *why)
{
    if (s->closing)
        return;
    slog(level, s, "closing: %s", why);
    s->closing = 1;
    s->close_deadline_ms = sl_now_ms() + CLOSE_FLUSH_MS;
    if (s->conn != NULL)
        sl_conn_closing(s->conn);
    s->flush_due_ms = 0;
    s->grace_due_ms = 0;
}

/* Ends the session for good.  Afterwards only the references still held
 * elsewhere keep the memory alive; no field may be touched by this run
 * except through those. */
static void
finish(struct sl_session *s)
{
    struct sl_server *srv = s->srv;

    if (s->conn != NULL)
        sl_conn_closing(s->conn);
    if (s->registered)
        sl_loop_del(srv->loop, &s->io);
    sl_tls_conn_free(s->tls, 1); /* close_notify, best effort */
    s->tls = NULL;
    close(s->io.fd);
    sl_timer_cancel(srv->loop, &s->timer);
    sl_session_info_unlist(srv, &s->info);
    atomic_fetch_sub(&srv->nsessions, 1);
    /* Out of the pending count now, not when a callback still holding
     * the task lets go. */
    if (s->conn != NULL)
        s->proto->free(s->conn);
    s->closed = 1;
    slog(SL_LOG_DEBUG, s, "closed");
    sl_task_unref(&s->task);
}

/* A request waits for its callback: what the peer sent after it waits
 * too, unparsed (at most one read's worth), and reading stops. */
static int
hold_input(struct sl_session *s, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    s->held = malloc(n);
    if (s->held == NULL) {
        session_close(s, SL_LOG_ERROR, "out of memory");
        return -1;
    }
    memcpy(s->held, p, n);
    s->held_len = n;
    return 0;
}

/* Feeds received bytes to the protocol.  Returns -1 when the session
 * must close (already logged). */
static int
feed(struct sl_session *s, const uint8_t *p, size_t n)
{
    int rc;

    if (n == 0 || s->closing)
        return 0;
    rc = s->proto->feed(s->conn, p, n);
    if (rc < 0)
        return -1;
    return hold_input(s, p + rc, n - (size_t) rc);
}

/* read() for a TLS session: > 0, 0 at the end of the stream, or -1
 * with errno (EAGAIN; EPROTO when TLS failed; the socket's error). */
static ssize_t
tls_read(struct sl_session *s, uint8_t *buf, size_t cap)
{
    ssize_t n = sl_tls_read(s->tls, buf, cap);

    if (!s->tls_up && sl_tls_handshake_done(s->tls)) {
        char what[96];

        s->tls_up = 1;
        sl_tls_describe(s->tls, what, sizeof(what));
        slog(SL_LOG_DEBUG, s, "TLS handshake done (%s)", what);
    }
    /* A write that waited for input may go on now that input was
     * processed; its readable event may have been this very one. */
    if (sl_tls_waits(s->tls) & SL_TLS_WRITE_WANTS_IN)
        s->write_blocked = 0;
    if (n >= 0)
        return n;
    errno = (int) -n;
    return -1;
}

static void
read_input(struct sl_session *s, uint64_t now)
{
    uint8_t buf[READ_CHUNK];
    size_t  total = 0;

    s->read_more = 0;
    while (!s->closing && !sl_conn_waiting(s->conn)) {
        ssize_t n = s->tls == NULL ? read(s->io.fd, buf, sizeof(buf))
                                   : tls_read(s, buf, sizeof(buf));

        if (n > 0) {
            s->last_read_ms = now;
            total += (size_t) n;
            atomic_fetch_add_explicit(&s->srv->bytes_in, (uint64_t) n,
                                      memory_order_relaxed);
            atomic_fetch_add_explicit(&s->info.bytes_in, (uint64_t) n,
                                      memory_order_relaxed);
            if (feed(s, buf, (size_t) n) < 0 || sl_conn_waiting(s->conn))
                return;
            /* A plain socket that gave less than asked for is empty
             * (edge-triggered: bytes that come later bring an event of
             * their own), so the read that would only say EAGAIN is
             * saved; one per event, half of all reads.  Not after a
             * hang-up, whose end of stream brings no later event, and
             * not with TLS, which may hold decrypted bytes back. */
            if ((size_t) n < sizeof(buf) && s->tls == NULL && !s->peer_hup)
                return;
            if (total >= READ_BUDGET) {
                /* Edge-triggered: no new event will come for bytes that
                 * are already waiting, so come back for them ourselves. */
                s->read_more = 1;
                sl_task_wake(&s->task);
                return;
            }
            continue;
        }
        if (n == 0) {
            s->peer_eof = 1;
            session_close(s,
                          s->proto->quiet_close && s->conn->role == SL_ROLE_NONE
                              ? SL_LOG_DEBUG
                              : SL_LOG_INFO,
                          "peer closed the connection");
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            char why[192];

            s->peer_eof = 1;
            if (s->tls != NULL && errno == EPROTO) {
                /* Not TLS at all (a plain RTMP client on this port), or
                 * a broken peer: worth a warning. */
                snprintf(why, sizeof(why), "TLS %s failed: %s",
                         s->tls_up ? "connection" : "handshake",
                         sl_tls_error(s->tls));
                session_close(s, SL_LOG_WARN, why);
                return;
            }
            snprintf(why, sizeof(why), "read failed: %s", strerror(errno));
            session_close(s, SL_LOG_INFO, why);
        }
        return;
    }
}

/* The verdict a parked request waited for is in: act on it, then feed
 * what was held back. */
static void
resume_input(struct sl_session *s)
{
    uint8_t *held = s->held;
    size_t   len = s->held_len;

    if (s->proto->resume(s->conn) < 0)
        return;
    s->held = NULL;
    s->held_len = 0;
    if (held != NULL && !s->closing)
        feed(s, held, len); /* may park again: feed holds the rest */
    free(held);
    /* Edge-triggered: bytes that arrived while parked brought no event
     * we acted on, so read on without one. */
    if (!s->closing && !sl_conn_waiting(s->conn))
        s->read_more = 1;
}

/* Gives back ring messages collected but not written: the cursor goes
 * back to the first of them and the references are dropped. */
static void
release_msgs(struct sl_session *s, struct sl_sub_msg *m, int cnt)
{
    if (cnt == 0)
        return;
    sl_sub_rewind(&s->conn->sub, m[0].seq);
    for (int i = 0; i < cnt; i++)
        sl_buf_unref(m[i].buf);
}

/* Accounts n written bytes over what one writev covered, in its order:
 * the rest of a half-written ring message, qbytes of the private queue,
 * then the ring messages m[0..cnt).  A ring message cut short becomes
 * ring_part; those not reached are given back. */
static void
consume_written(struct sl_session *s, size_t n, size_t qbytes,
                struct sl_sub_msg *m, int cnt)
{
    int i;

    if (s->ring_part != NULL) {
        size_t left = s->ring_part->len - s->ring_off;

        if (n < left) {
            s->ring_off += (uint32_t) n;
            release_msgs(s, m, cnt);
            return;
        }
        n -= left;
        sl_buf_unref(s->ring_part);
        s->ring_part = NULL;
        s->ring_off = 0;
    }
    if (qbytes > 0) {
        size_t take = n < qbytes ? n : qbytes;

        if (take > 0)
            s->out_off = sl_outq_consume(&s->outq, s->out_off, take);
        n -= take;
        if (take < qbytes) {
            release_msgs(s, m, cnt);
            return;
        }
    }
    for (i = 0; i < cnt && n >= m[i].buf->len; i++) {
        n -= m[i].buf->len;
        if (m[i].flags & SL_OUT_MEDIA) {
            s->sent_media = 1;
            s->last_sent_ts = m[i].ts;
        }
        sl_buf_unref(m[i].buf);
    }
    if (i < cnt && n > 0) {
        s->ring_part = m[i].buf; /* our reference moves there */
        s->ring_off = (uint32_t) n;
        i++;
    }
    release_msgs(s, m + i, cnt - i);
}

/* writev() for an RTMPS session: the bytes TLS accepted (they count as
 * written: they leave before anything later), or -1 with errno. */
static ssize_t
tls_writev(struct sl_session *s, const struct iovec *iov, int cnt)
{
    ssize_t n = sl_tls_writev(s->tls, iov, cnt);

    if (n >= 0)
        return n;
    errno = (int) -n;
    return -1;
}

/* RTMPS with nothing new to write: what the TLS stage still holds goes
 * out.  Returns as flush_output does. */
static int
tls_drain(struct sl_session *s, uint64_t now)
{
    int rc = sl_tls_flush(s->tls);

    if (rc == 0) {
        s->last_write_ms = now;
        s->skip_strikes = 0;
        return 0;
    }
    if (rc == -EAGAIN) {
        s->write_blocked = 1;
        return 0;
    }
    s->peer_eof = 1;
    return -1;
}

/* A plain socket's write of what one round collected: iov[i] comes
 * from src[i] (NULL: not from the private queue).  Bytes that lie in a
 * file (an HLS part in its segment's memory file) go with sendfile, so
 * the socket takes references to the file's pages instead of a copy;
 * what comes before them goes first with MSG_MORE, so a response head
 * and its body still leave in the same packets.  Returns what the
 * write returns (it may cover only a prefix of iov: the caller accounts
 * what was written and collects again). */
static ssize_t
plain_write(struct sl_session *s, struct iovec *iov, struct sl_buf *const *src,
            int cnt)
{
    struct msghdr mh = {.msg_iov = iov};
    uint64_t      off;
    int           k, fd = -1;

    for (k = 0; k < cnt; k++) {
        if (src[k] != NULL && src[k]->fd >= 0)
            break;
    }
    if (k == 0) {
        fd = sl_buf_file(
            src[0], (uint32_t) ((uint8_t *) iov[0].iov_base - src[0]->data),
            &off);
        return sendfile(s->io.fd, fd, (off_t *) &off, iov[0].iov_len);
    }
    if (k == cnt)
        return writev(s->io.fd, iov, cnt);
    mh.msg_iovlen = (size_t) k;
    return sendmsg(s->io.fd, &mh, MSG_MORE | MSG_NOSIGNAL);
}

/* Writes what is due, in one write per round (two or more where a part
 * goes with sendfile): the rest of a half written ring message, the
 * private queue (the session's own replies and statuses, codec headers
 * after a join or a skip, HTTP responses), then the stream's ring from
 * the cursor.  Returns -1 on a fatal write error. */
static int
flush_output(struct sl_session *s, uint64_t now)
{
    struct iovec      iov[WRITE_IOV];
    struct sl_buf    *src[WRITE_IOV];
    struct sl_sub_msg m[WRITE_IOV];

    if (s->write_blocked || s->peer_eof)
        return 0;
    for (;;) {
        int     cnt = 0, nq, nm = 0;
        size_t  total = 0, qbytes = 0;
        ssize_t n;

        if (s->ring_part != NULL) {
            iov[0].iov_base = s->ring_part->data + s->ring_off;
            iov[0].iov_len = s->ring_part->len - s->ring_off;
            src[0] = NULL;
            cnt = 1;
        }
        nq = sl_outq_idle(&s->outq)
                 ? 0
                 : sl_outq_collect_bufs(&s->outq, iov + cnt, src + cnt,
                                        WRITE_IOV - cnt, s->out_off);
        for (int i = cnt; i < cnt + nq; i++)
            qbytes += iov[i].iov_len;
        cnt += nq;
        if (s->conn->subscribed && cnt < WRITE_IOV) {
            nm = sl_sub_collect(&s->conn->sub, m, WRITE_IOV - cnt);
            for (int i = 0; i < nm; i++) {
                iov[cnt + i].iov_base = m[i].buf->data;
                iov[cnt + i].iov_len = m[i].buf->len;
                src[cnt + i] = NULL;
            }
            cnt += nm;
        }
        if (cnt == 0) {
            /* RTMPS: accepted bytes may still wait in the TLS stage. */
            if (s->tls != NULL && sl_tls_out_pending(s->tls))
                return tls_drain(s, now);
            s->last_write_ms = now;
            s->skip_strikes = 0;
            return 0;
        }
        for (int i = 0; i < cnt; i++)
            total += iov[i].iov_len;
        n = s->tls == NULL ? plain_write(s, iov, src, cnt)
                           : tls_writev(s, iov, cnt);
        if (n > 0) {
            consume_written(s, (size_t) n, qbytes, m, nm);
            s->last_write_ms = now;
            atomic_fetch_add_explicit(&s->srv->bytes_out, (uint64_t) n,
                                      memory_order_relaxed);
            sl_server_count_sent(s->srv, s->conn->proto, (uint64_t) n);
            /* Only this session writes its own counter. */
            atomic_store_explicit(
                &s->info.bytes_out,
                atomic_load_explicit(&s->info.bytes_out,
                                     memory_order_relaxed) +
                    (uint64_t) n,
                memory_order_relaxed);
            /* All of what was due went out: done, without another trip
             * through the locks.  Whatever arrived meanwhile comes with
             * a wake of its own. */
            if ((size_t) n == total && cnt < WRITE_IOV) {
                s->skip_strikes = 0;
                return 0;
            }
            continue;
        }
        release_msgs(s, m, nm);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            s->write_blocked = 1;
            return 0;
        }
        s->peer_eof = 1;
        return -1;
    }
}

/* The server is stopping: players hear that the stream ended, everyone
 * flushes and goes. */
static void
on_stop(struct sl_session *s)
{
    s->stop_seen = 1;
    if (s->conn != NULL)
        s->proto->stopping(s->conn);
    session_close(s, SL_LOG_DEBUG, "server stopping");
}

/* Player: a queue that keeps skipping, or a socket that accepts nothing
 * for twice max_lag, means a player that cannot keep up. */
static void
check_player_health(struct sl_session *s, uint64_t now, uint64_t skips)
{
    if (s->conn->role != SL_ROLE_PLAYER)
        return;
    if (skips != s->last_skips) {
        uint64_t more = skips - s->last_skips;

        s->skip_strikes = more >= (uint64_t) (MAX_SKIP_STRIKES - s->skip_strikes)
                              ? MAX_SKIP_STRIKES
                              : (uint8_t) (s->skip_strikes + more);
        s->last_skips = skips;
        slog(SL_LOG_INFO, s,
             "player fell %u ms behind, skipped to the "
             "next keyframe",
             s->cfg->max_lag_ms);
    }
    if (s->skip_strikes >= MAX_SKIP_STRIKES) {
        atomic_fetch_add(&s->srv->players_dropped, 1);
        session_close(s, SL_LOG_WARN,
                      "player too slow: kept falling behind max_lag");
        s->peer_eof = 1; /* do not wait to flush to a stuck reader */
        return;
    }
    if (s->write_blocked &&
        now - s->last_write_ms >= 2ull * s->cfg->max_lag_ms) {
        atomic_fetch_add(&s->srv->players_dropped, 1);
        session_close(s, SL_LOG_WARN, "player stopped reading");
        s->peer_eof = 1;
    }
}

/* The protocol's deadline for a connection that is neither playing nor
 * waiting for a callback (its handshake, a request, idleness), with the
 * reason a close gives. */
static uint64_t
proto_deadline(struct sl_session *s, uint64_t now, const char **why)
{
    struct sl_proto_times t = {s->created_ms, s->last_read_ms, now};
    uint64_t              due = s->proto->deadline(s->conn, &t, why);

    /* On a TLS port the TLS handshake comes first and counts against
     * the protocol's first deadline. */
    if (s->tls != NULL && !s->tls_up)
        *why = "TLS handshake timeout";
    return due;
}

static void
check_timeouts(struct sl_session *s, uint64_t now, uint64_t skips)
{
    const char *why;
    uint64_t    due;

    if (s->conn->role == SL_ROLE_PLAYER) {
        check_player_health(s, now, skips);
        return;
    }
    /* A callback has its own timeout; reading resumes after it. */
    if (sl_conn_waiting(s->conn)) {
        s->last_read_ms = now;
        return;
    }
    due = proto_deadline(s, now, &why);
    if (due != 0 && now >= due) {
        session_close(s, SL_LOG_WARN, why);
        s->peer_eof = 1;
    }
}

static uint64_t
min_nonzero(uint64_t a, uint64_t b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    return a < b ? a : b;
}

/* A player that is not blocked reads nothing here beyond its hot lines
 * (the config pointer lies on a cold one). */
static void
arm_timer(struct sl_session *s, uint64_t now)
{
    const char *why;
    uint64_t    due = 0;

    if (s->closing)
        due = s->close_deadline_ms;
    else if (s->conn->role == SL_ROLE_PLAYER)
        due = s->write_blocked
                  ? s->last_write_ms + 2ull * s->cfg->max_lag_ms
                  : 0;
    else if (!sl_conn_waiting(s->conn))
        due = proto_deadline(s, now, &why);
    due = min_nonzero(due, s->flush_due_ms);
    due = min_nonzero(due, s->grace_due_ms);
    if (s->armed_ms != 0 && now >= s->armed_ms)
        s->armed_ms = 0; /* it has fired */
    if (due == 0 || (s->armed_ms != 0 && s->armed_ms <= due))
        return; /* an earlier wake is already coming */
    if (due <= now)
        due = now + 1;
    s->armed_ms = due;
    sl_timer_arm(s->srv->loop, &s->timer, due);
}

/* Player: the figures the API shows, copied where other threads may
 * read them.  Lag: the newest media in the stream minus the newest media
 * this player has written, on the players' timeline. */
static void
publish_player_stats(struct sl_session *s)
{
    uint32_t lag = 0;

    if (s->sent_media) {
        uint32_t d =
            sl_hub_stream_head_ts(s->conn->sub.stream) - s->last_sent_ts;

        lag = d < 0x80000000u ? d : 0; /* wrap-aware; ahead is 0 */
    }
    atomic_store_explicit(&s->info.lag_ms, lag, memory_order_relaxed);
    atomic_store_explicit(&s->info.skips, s->conn->sub.skips,
                          memory_order_relaxed);
    atomic_store_explicit(&s->info.dropped, s->conn->sub.dropped,
                          memory_order_relaxed);
}

/* RTMPS: an operation blocked on the other direction is retried by that
 * direction's event (a write that must first read runs again when the
 * socket is readable, a read that must write when it is writable).
 * Events are edge-triggered and come once: ignoring one stalls. */
static unsigned
tls_events(const struct sl_session *s, unsigned ev)
{
    unsigned w = sl_tls_waits(s->tls);

    if ((ev & (SL_IO_IN | SL_IO_ERR)) && (w & SL_TLS_WRITE_WANTS_IN))
        ev |= SL_IO_OUT;
    if ((ev & (SL_IO_OUT | SL_IO_ERR)) && (w & SL_TLS_READ_WANTS_OUT))
        ev |= SL_IO_IN;
    return ev;
}

/* Publisher: while the hub's merge window is open (a flush is due,
 * and the timer armed for it), what the publisher sends can wait in the
 * socket until that timer's run reads it and flushes the window at
 * once: its players would get none of it earlier anyway.  The reactor
 * then records readiness without waking the task (sl_io_defer), so a
 * window costs the timer's run and the one that opened it, not one
 * reactor-to-worker hand-over per message (at 2 Mbit/s, 77 messages a
 * second in some 250 reads).  Taps (recording, HLS, the ladder) get the
 * messages up to one window later, as players do.  Errors and hang-ups
 * still wake at once. */
static void
read_later(struct sl_session *s)
{
    int want = !s->closing && s->flush_due_ms != 0;

    if (want == s->deferring)
        return;
    s->deferring = (uint8_t) want;
    /* Cleared: what came while it was set has had no wake. */
    if (sl_io_defer(&s->io, want) != 0)
        sl_task_wake(&s->task);
}

static void
session_run(struct sl_task *t)
{
    struct sl_session *s = (struct sl_session *) t;
    uint64_t           now, skips;
    unsigned           ev;

    /* The protocol state's first lines (conn.h puts what a run reads
     * there) are needed in a moment: ask for them together. */
    __builtin_prefetch(s->conn, 1, 3);
    __builtin_prefetch((const char *) s->conn + 64, 1, 3);
    __builtin_prefetch((const char *) s->conn + 128, 0, 3);
    if (s->closed)
        return;
    if (!s->registered && !s->closing)
        register_io(s);
    now = sl_now_ms();
    ev = sl_io_take_events(&s->io);
    if (s->tls != NULL)
        ev = tls_events(s, ev);
    if (ev & SL_IO_OUT)
        s->write_blocked = 0;
    if (ev & (SL_IO_HUP | SL_IO_ERR))
        s->peer_hup = 1;
    if (!s->stop_seen && atomic_load(&s->srv->stopping))
        on_stop(s);
    if (!s->closing &&
        atomic_load_explicit(&s->info.kick, memory_order_relaxed)) {
        session_close(s, SL_LOG_INFO, "dropped through the HTTP API");
        s->peer_eof = 1; /* close at once: the point is to cut it off */
    }
    if (!s->closing && sl_conn_verdict_ready(s->conn))
        resume_input(s);
    if (!s->closing && ((ev & (SL_IO_IN | SL_IO_ERR)) || s->read_more))
        read_input(s, now);
    if (!s->closing) {
        s->grace_due_ms = s->proto->poll(s->conn, now);
        if (s->conn->role == SL_ROLE_PUBLISHER && s->conn->pub_stream != NULL)
            s->flush_due_ms = sl_hub_flush(s->conn->pub_stream, now);
    }
    if (!sl_outq_idle(&s->outq) && sl_outq_broken(&s->outq)) {
        if (!s->closing)
            atomic_fetch_add(&s->srv->players_dropped, 1);
        session_close(s, SL_LOG_WARN,
                      "send queue overflow: a message that may not be dropped "
                      "did not fit");
        s->peer_eof = 1;
    }
    if (flush_output(s, now) < 0 && !s->closing)
        session_close(s, SL_LOG_INFO, "write failed: peer gone");
    /* Skips are the subscription's (counted by this run's collects);
     * the private queue never skips, it holds only undroppable
     * messages. */
    skips = s->conn->subscribed ? s->conn->sub.skips : s->last_skips;
    if (s->conn->subscribed)
        publish_player_stats(s);
    if (!s->closing)
        check_timeouts(s, now, skips);
    if (s->closing && (s->peer_eof || now >= s->close_deadline_ms ||
                       (sl_outq_empty(&s->outq) && s->ring_part == NULL &&
                        (s->tls == NULL || !sl_tls_out_pending(s->tls))))) {
        finish(s);
        return;
    }
    arm_timer(s, now);
    if (s->registered)
        read_later(s);
}

void
sl_session_stop_all(struct sl_server *srv)
{
    struct sl_list *pos, *tmp;

    pthread_mutex_lock(&srv->lock);
    sl_list_foreach_safe(pos, tmp, &srv->sessions)
    {
        sl_task_wake(sl_list_entry(pos, struct sl_sess_info, link)->task);
    }
    pthread_mutex_unlock(&srv->lock);
}
