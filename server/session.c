/*
 * Session I/O and lifetime.  One run of the task:
 *   1. take the reactor's events;
 *   2. react to a server stop;
 *   3. read (edge-triggered: until EAGAIN, or a budget, after which the
 *      task wakes itself so other sessions get the worker), feeding the
 *      handshake, then the chunk reader, then the command handler;
 *   4. player: announce publisher changes; publisher: flush the hub's
 *      merge window;
 *   5. write what the send queue holds with writev;
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
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pool/clock.h"
#include "rtmp/amf.h"
#include "rtmp/codec.h"
#include "rtmp/flv.h"
#include "rtmp/meta.h"
#include "server/log.h"
#include "server/auth.h"
#include "server/session_int.h"

_Static_assert(SL_SNAP_ROLE_PUBLISHER == SL_ROLE_PUBLISHER &&
                   SL_SNAP_ROLE_PLAYER == SL_ROLE_PLAYER,
               "the API's role numbers are the session's");

#define READ_CHUNK 65536
#define READ_BUDGET (256 * 1024) /* bytes per run before yielding */
#define WRITE_IOV 64
#define OUTQ_CAP 512
#define CLOSE_FLUSH_MS 2000 /* how long a closing session may flush */
#define MAX_SKIP_STRIKES 3  /* skips in a row without catching up */

static void session_run(struct sl_task *t);

static void
session_destroy(struct sl_task *t)
{
    struct sl_session *s = (struct sl_session *) t;

    sl_tls_conn_free(s->tls, 0);
    sl_handshake_free(s->hs);
    sl_chunk_reader_free(s->rd);
    sl_outq_destroy(&s->outq);
    sl_buf_unref(s->ring_part);
    free(s->pend.held);
    sl_config_unref(s->cfg);
    pthread_mutex_destroy(&s->info.lock);
    /* Every path ends here exactly once (the last task reference, or a
     * start that failed), so this is the one place the slot goes back. */
    sl_session_pending_leave(s);
    sl_iplimit_release(&s->ipslot);
    free(s);
}

void
sl_session_pending_enter(struct sl_session *s)
{
    if (s->pending)
        return;
    s->pending = 1;
    atomic_fetch_add_explicit(&s->srv->pending, 1, memory_order_relaxed);
}

void
sl_session_pending_leave(struct sl_session *s)
{
    if (!s->pending)
        return;
    s->pending = 0;
    atomic_fetch_sub_explicit(&s->srv->pending, 1, memory_order_relaxed);
}

/* "host:port" for the log into buf, the host alone into ip. */
static void
format_peer(const struct sockaddr_storage *ss, char *buf, size_t cap, char *ip,
            size_t ipcap)
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

static int
start(struct sl_server *srv, int fd, const struct sockaddr_storage *peer,
      struct sl_ipticket *slot, int tls)
{
    struct sl_session *s;
    uint8_t            seed[32];
    int                one = 1, n;

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        if (slot != NULL)
            sl_iplimit_release(slot);
        close(fd);
        return -ENOMEM;
    }
    sl_task_init(&s->task, srv->sched, session_run, session_destroy);
    pthread_mutex_init(&s->info.lock, NULL);
    s->srv = srv;
    if (slot != NULL) {
        s->ipslot = *slot; /* the session owns it now */
        slot->held = 0;
    }
    s->cfg = sl_config_get();
    s->id = atomic_fetch_add(&srv->next_id, 1) + 1;
    s->peer_addr = *peer;
    format_peer(peer, s->peer, sizeof(s->peer), s->peer_ip, sizeof(s->peer_ip));
    s->created_ms = s->last_read_ms = s->last_write_ms = sl_now_ms();
    s->out_chunk_size = SL_CHUNK_DEFAULT_SIZE;
    s->io.fd = fd;
    s->io.task = &s->task;
    atomic_init(&s->io.events, 0);
    sl_timer_init(&s->timer, &s->task);
    sl_list_init(&s->link);
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
        memset(seed, (int) s->id, sizeof(seed));
    s->hs = sl_handshake_new(seed);
    /* main refuses a reload that drops the certificate while the RTMPS
     * port is open, so a config under it always has one. */
    if (tls && s->cfg != NULL && s->cfg->tls != NULL)
        s->tls = sl_tls_conn_new(s->cfg->tls, fd);
    if (s->hs == NULL || s->cfg == NULL || (tls && s->tls == NULL) ||
        sl_outq_init(&s->outq, OUTQ_CAP) < 0) {
        close(fd);
        session_destroy(&s->task);
        return -ENOMEM;
    }
    /* Media must leave as soon as it is queued; batching is done by the
     * merge window, not by Nagle. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    n = atomic_fetch_add(&srv->nsessions, 1) + 1;
    pthread_mutex_lock(&srv->lock);
    sl_list_insert_tail(&srv->sessions, &s->link);
    pthread_mutex_unlock(&srv->lock);
    if (n > s->cfg->max_connections) {
        slog(SL_LOG_WARN, s, "refused: max_connections (%d) reached",
             s->cfg->max_connections);
        atomic_fetch_add_explicit(&srv->refused[SL_REFUSE_MAX], 1,
                                  memory_order_relaxed);
        s->closing = 1;
        s->close_deadline_ms = s->created_ms;
    } else {
        sl_session_pending_enter(s);
    }
    slog(SL_LOG_DEBUG, s, "accepted");
    /* The socket is registered with the reactor by the session's first
     * run, not here: once registered, events can run the session on a
     * worker at any moment, and it could finish and drop its references
     * while this thread still touched it. */
    sl_task_wake(&s->task);
    return 0;
}

int
sl_session_start(struct sl_server *srv, int fd,
                 const struct sockaddr_storage *peer, struct sl_ipticket *slot)
{
    return start(srv, fd, peer, slot, 0);
}

int
sl_session_start_tls(struct sl_server *srv, int fd,
                     const struct sockaddr_storage *peer,
                     struct sl_ipticket            *slot)
{
    return start(srv, fd, peer, slot, 1);
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
        sl_session_close(s, SL_LOG_ERROR, why);
        s->peer_eof = 1;
        return -1;
    }
    s->registered = 1;
    return 0;
}

void
sl_session_leave_stream(struct sl_session *s)
{
    if (s->role == SL_ROLE_PUBLISHER && s->pub_stream != NULL) {
        sl_hub_unpublish(s->pub_stream, s);
        s->pub_stream = NULL;
        atomic_fetch_sub(&s->srv->publishers, 1);
        slog(SL_LOG_INFO, s, "unpublished %s/%s", s->app, s->stream_name);
    } else if (s->role == SL_ROLE_PLAYER && s->subscribed) {
        sl_hub_unsubscribe(&s->sub);
        s->subscribed = 0;
        atomic_fetch_sub(&s->srv->players, 1);
        slog(SL_LOG_INFO, s, "stopped playing %s/%s", s->app, s->stream_name);
    }
    if (s->role != SL_ROLE_NONE) {
        sl_auth_ended(s);
        sl_session_info_role(s, SL_ROLE_NONE);
    }
    s->role = SL_ROLE_NONE;
    s->flush_due_ms = 0;
    s->grace_due_ms = 0;
}

void
sl_session_close(struct sl_session *s, int level, const char *why)
{
    if (s->closing)
        return;
    slog(level, s, "closing: %s", why);
    s->closing = 1;
    s->close_deadline_ms = sl_now_ms() + CLOSE_FLUSH_MS;
    sl_session_leave_stream(s);
}

/* Ends the session for good.  Afterwards only the references still held
 * elsewhere keep the memory alive; no field may be touched by this run
 * except through those. */
static void
finish(struct sl_session *s)
{
    struct sl_server *srv = s->srv;

    sl_session_leave_stream(s);
    if (s->registered)
        sl_loop_del(srv->loop, &s->io);
    sl_tls_conn_free(s->tls, 1); /* close_notify, best effort */
    s->tls = NULL;
    close(s->io.fd);
    sl_timer_cancel(srv->loop, &s->timer);
    pthread_mutex_lock(&srv->lock);
    sl_list_remove(&s->link);
    pthread_mutex_unlock(&srv->lock);
    atomic_fetch_sub(&srv->nsessions, 1);
    sl_session_pending_leave(s);
    s->closed = 1;
    slog(SL_LOG_DEBUG, s, "closed");
    sl_task_unref(&s->task);
}

int
sl_session_send_buf(struct sl_session *s, struct sl_buf *b)
{
    int rc = sl_outq_push(&s->outq, b, 0, SL_OUT_KEEP);

    return rc < 0 ? rc : 0;
}

int
sl_session_send(struct sl_session *s, uint32_t csid, uint8_t type,
                uint32_t msid, const uint8_t *payload, size_t len)
{
    struct sl_buf *b =
        sl_chunk_encode(csid, type, msid, 0, payload, len, s->out_chunk_size);
    int rc;

    if (b == NULL)
        return -ENOMEM;
    rc = sl_session_send_buf(s, b);
    sl_buf_unref(b);
    return rc;
}

/* Acknowledges received bytes when the peer asked for it. */
static void
maybe_ack(struct sl_session *s)
{
    uint64_t       total = sl_chunk_reader_bytes(s->rd);
    struct sl_buf *b;

    if (s->peer_ack_window == 0 ||
        total - s->last_ack_bytes < s->peer_ack_window)
        return;
    s->last_ack_bytes = total;
    b = sl_chunk_ctrl(SL_MSG_ACK, (uint32_t) total, s->out_chunk_size);
    if (b != NULL) {
        sl_session_send_buf(s, b);
        sl_buf_unref(b);
    }
}

/* A request waits for its callback: what the peer sent after it waits
 * too, unparsed (at most one read's worth), and reading stops. */
static int
hold_input(struct sl_session *s, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    s->pend.held = malloc(n);
    if (s->pend.held == NULL) {
        sl_session_close(s, SL_LOG_ERROR, "out of memory");
        return -1;
    }
    memcpy(s->pend.held, p, n);
    s->pend.held_len = n;
    return 0;
}

/* Feeds received bytes through the handshake and the chunk reader.
 * Returns -1 when the session must close (already logged). */
static int
feed(struct sl_session *s, const uint8_t *p, size_t n)
{
    while (n > 0 && !s->closing) {
        int rc;

        if (s->hs != NULL) {
            const uint8_t *reply;
            size_t         rlen;

            rc = sl_handshake_consume(s->hs, p, n);
            if (rc < 0) {
                sl_session_close(s, SL_LOG_WARN,
                                 "not an RTMP handshake (bad C0 version)");
                return -1;
            }
            p += rc;
            n -= (size_t) rc;
            reply = sl_handshake_reply(s->hs, &rlen);
            if (reply != NULL && !s->hs_replied) {
                struct sl_buf *b = sl_buf_from(reply, rlen);

                if (b == NULL || sl_session_send_buf(s, b) < 0) {
                    sl_buf_unref(b);
                    sl_session_close(s, SL_LOG_ERROR, "out of memory");
                    return -1;
                }
                sl_buf_unref(b);
                s->hs_replied = 1;
            }
            if (sl_handshake_done(s->hs)) {
                slog(SL_LOG_DEBUG, s, "handshake done (%s)",
                     sl_handshake_kind(s->hs) == SL_HANDSHAKE_DIGEST ? "digest"
                                                                     : "plain");
                sl_handshake_free(s->hs);
                s->hs = NULL;
                s->rd = sl_chunk_reader_new(s->cfg->max_message_size, 64);
                if (s->rd == NULL) {
                    sl_session_close(s, SL_LOG_ERROR, "out of memory");
                    return -1;
                }
            }
            continue;
        }

        struct sl_chunk_msg msg;

        rc = sl_chunk_read(s->rd, p, n, &msg);
        if (rc < 0) {
            char why[160];

            snprintf(why, sizeof(why), "chunk stream error: %s",
                     rc == -EPROTO ? sl_chunk_reader_error(s->rd)
                                   : strerror(-rc));
            sl_session_close(s, SL_LOG_WARN, why);
            return -1;
        }
        p += rc;
        n -= (size_t) rc;
        if (msg.payload != NULL) {
            rc = sl_rtmp_handle(s, &msg);
            sl_buf_unref(msg.payload);
            if (rc < 0)
                return -1;
            if (sl_auth_pending(s))
                return hold_input(s, p, n);
        }
    }
    if (s->rd != NULL)
        maybe_ack(s);
    return 0;
}

/* read() for an RTMPS session: > 0, 0 at the end of the stream, or -1
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
    while (!s->closing && !sl_auth_pending(s)) {
        ssize_t n = s->tls == NULL ? read(s->io.fd, buf, sizeof(buf))
                                   : tls_read(s, buf, sizeof(buf));

        if (n > 0) {
            s->last_read_ms = now;
            total += (size_t) n;
            atomic_fetch_add_explicit(&s->srv->bytes_in, (uint64_t) n,
                                      memory_order_relaxed);
            atomic_fetch_add_explicit(&s->info.bytes_in, (uint64_t) n,
                                      memory_order_relaxed);
            if (feed(s, buf, (size_t) n) < 0 || sl_auth_pending(s))
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
            sl_session_close(s, SL_LOG_INFO, "peer closed the connection");
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
                sl_session_close(s, SL_LOG_WARN, why);
                return;
            }
            snprintf(why, sizeof(why), "read failed: %s", strerror(errno));
            sl_session_close(s, SL_LOG_INFO, why);
        }
        return;
    }
}

void
sl_session_resume_input(struct sl_session *s)
{
    uint8_t *held = s->pend.held;
    size_t   len = s->pend.held_len;

    s->pend.held = NULL;
    s->pend.held_len = 0;
    if (held != NULL && !s->closing)
        feed(s, held, len); /* may park again: feed holds the rest */
    free(held);
    /* Edge-triggered: bytes that arrived while parked brought no event
     * we acted on, so read on without one. */
    if (!s->closing && !sl_auth_pending(s))
        s->read_more = 1;
}

/* Gives back ring messages collected but not written: the cursor goes
 * back to the first of them and the references are dropped. */
static void
release_msgs(struct sl_session *s, struct sl_sub_msg *m, int cnt)
{
    if (cnt == 0)
        return;
    sl_sub_rewind(&s->sub, m[0].seq);
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

/* Writes what is due, in one writev per round: the rest of a half
 * written ring message, the private queue (the session's own replies
 * and statuses, and codec headers after a join or a skip), then the
 * stream's ring from the cursor.  Returns -1 on a fatal write error. */
static int
flush_output(struct sl_session *s, uint64_t now)
{
    struct iovec      iov[WRITE_IOV];
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
            cnt = 1;
        }
        nq = sl_outq_collect(&s->outq, iov + cnt, WRITE_IOV - cnt, s->out_off);
        for (int i = cnt; i < cnt + nq; i++)
            qbytes += iov[i].iov_len;
        cnt += nq;
        if (s->subscribed && cnt < WRITE_IOV) {
            nm = sl_sub_collect(&s->sub, m, WRITE_IOV - cnt);
            for (int i = 0; i < nm; i++) {
                iov[cnt + i].iov_base = m[i].buf->data;
                iov[cnt + i].iov_len = m[i].buf->len;
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
        n = s->tls == NULL ? writev(s->io.fd, iov, cnt)
                           : tls_writev(s, iov, cnt);
        if (n > 0) {
            consume_written(s, (size_t) n, qbytes, m, nm);
            s->last_write_ms = now;
            atomic_fetch_add_explicit(&s->srv->bytes_out, (uint64_t) n,
                                      memory_order_relaxed);
            atomic_fetch_add_explicit(&s->info.bytes_out, (uint64_t) n,
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

/* Player: tell it when its publisher goes away (after the grace period,
 * so a quick publisher reconnect is invisible) and when one returns. */
static void
player_poll(struct sl_session *s, uint64_t now)
{
    struct sl_stream_state st;

    if (s->role != SL_ROLE_PLAYER || !s->subscribed)
        return;
    sl_hub_stream_state(s->sub.stream, &st);
    s->grace_due_ms = 0;
    if (st.live) {
        if (st.publish_gen != s->seen_gen) {
            if (s->unpublish_sent) {
                struct sl_buf *b = sl_chunk_user_control(SL_UC_STREAM_BEGIN, 1,
                                                         s->out_chunk_size);

                if (b != NULL) {
                    sl_session_send_buf(s, b);
                    sl_buf_unref(b);
                }
                sl_rtmp_send_status(s, "status", "NetStream.Play.PublishNotify",
                                    "the stream is published again");
            }
            s->seen_gen = st.publish_gen;
            s->unpublish_sent = 0;
        }
        return;
    }
    if (s->seen_gen == 0 || s->unpublish_sent)
        return;
    if (now < st.unpublished_ms + s->cfg->publish_grace_ms) {
        s->grace_due_ms = st.unpublished_ms + s->cfg->publish_grace_ms;
        return;
    }
    sl_rtmp_send_status(s, "status", "NetStream.Play.UnpublishNotify",
                        "the publisher stopped");
    {
        struct sl_buf *b =
            sl_chunk_user_control(SL_UC_STREAM_EOF, 1, s->out_chunk_size);

        if (b != NULL) {
            sl_session_send_buf(s, b);
            sl_buf_unref(b);
        }
    }
    s->unpublish_sent = 1;
}

/* The server is stopping: players hear that the stream ended, everyone
 * flushes and goes. */
static void
on_stop(struct sl_session *s)
{
    s->stop_seen = 1;
    if (s->role == SL_ROLE_PLAYER) {
        sl_rtmp_send_status(s, "status", "NetStream.Play.UnpublishNotify",
                            "the server is shutting down");
        struct sl_buf *b =
            sl_chunk_user_control(SL_UC_STREAM_EOF, 1, s->out_chunk_size);
        if (b != NULL) {
            sl_session_send_buf(s, b);
            sl_buf_unref(b);
        }
    }
    sl_session_close(s, SL_LOG_DEBUG, "server stopping");
}

/* Player: a queue that keeps skipping, or a socket that accepts nothing
 * for twice max_lag, means a player that cannot keep up. */
static void
check_player_health(struct sl_session *s, uint64_t now, uint64_t skips)
{
    if (s->role != SL_ROLE_PLAYER)
        return;
    if (skips != s->last_skips) {
        s->skip_strikes += (uint32_t) (skips - s->last_skips);
        s->last_skips = skips;
        slog(SL_LOG_INFO, s,
             "player fell %u ms behind, skipped to the "
             "next keyframe",
             s->cfg->max_lag_ms);
    }
    if (s->skip_strikes >= MAX_SKIP_STRIKES) {
        atomic_fetch_add(&s->srv->players_dropped, 1);
        sl_session_close(s, SL_LOG_WARN,
                         "player too slow: kept falling behind max_lag");
        s->peer_eof = 1; /* do not wait to flush to a stuck reader */
        return;
    }
    if (s->write_blocked &&
        now - s->last_write_ms >= 2ull * s->cfg->max_lag_ms) {
        atomic_fetch_add(&s->srv->players_dropped, 1);
        sl_session_close(s, SL_LOG_WARN, "player stopped reading");
        s->peer_eof = 1;
    }
}

static void
check_timeouts(struct sl_session *s, uint64_t now, uint64_t skips)
{
    const struct sl_config *c = s->cfg;

    if (s->hs != NULL) {
        if (now - s->created_ms >= c->handshake_timeout_ms) {
            sl_session_close(s, SL_LOG_WARN,
                             s->tls != NULL && !s->tls_up
                                 ? "TLS handshake timeout"
                                 : "handshake timeout");
            s->peer_eof = 1;
        }
        return;
    }
    if (s->role == SL_ROLE_PLAYER) {
        check_player_health(s, now, skips);
        return;
    }
    /* A callback has its own timeout; reading resumes after it. */
    if (sl_auth_pending(s)) {
        s->last_read_ms = now;
        return;
    }
    if (now - s->last_read_ms >= c->idle_timeout_ms) {
        sl_session_close(s, SL_LOG_WARN,
                         s->role == SL_ROLE_PUBLISHER ? "publisher idle timeout"
                                                      : "idle timeout");
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

static void
arm_timer(struct sl_session *s, uint64_t now)
{
    const struct sl_config *c = s->cfg;
    uint64_t                due = 0;

    if (s->closing)
        due = s->close_deadline_ms;
    else if (s->hs != NULL)
        due = s->created_ms + c->handshake_timeout_ms;
    else if (s->role == SL_ROLE_PLAYER)
        due = s->write_blocked ? s->last_write_ms + 2ull * c->max_lag_ms : 0;
    else
        due = s->last_read_ms + c->idle_timeout_ms;
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
        uint32_t d = sl_hub_stream_head_ts(s->sub.stream) - s->last_sent_ts;

        lag = d < 0x80000000u ? d : 0; /* wrap-aware; ahead is 0 */
    }
    atomic_store_explicit(&s->info.lag_ms, lag, memory_order_relaxed);
    atomic_store_explicit(&s->info.skips, s->sub.skips, memory_order_relaxed);
    atomic_store_explicit(&s->info.dropped, s->sub.dropped,
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

static void
session_run(struct sl_task *t)
{
    struct sl_session *s = (struct sl_session *) t;
    uint64_t           now, skips;
    unsigned           ev;

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
    if (!s->stop_seen && atomic_load(&s->srv->stopping))
        on_stop(s);
    if (!s->closing &&
        atomic_load_explicit(&s->info.kick, memory_order_relaxed)) {
        sl_session_close(s, SL_LOG_INFO, "dropped through the HTTP API");
        s->peer_eof = 1; /* close at once: the point is to cut it off */
    }
    if (!s->closing && sl_auth_pending(s) &&
        atomic_load_explicit(&s->pend.done, memory_order_acquire)) {
        if (sl_auth_resume(s) == 0)
            sl_session_resume_input(s);
    }
    if (!s->closing && ((ev & (SL_IO_IN | SL_IO_ERR)) || s->read_more))
        read_input(s, now);
    if (!s->closing) {
        player_poll(s, now);
        if (s->role == SL_ROLE_PUBLISHER && s->pub_stream != NULL)
            s->flush_due_ms = sl_hub_flush(s->pub_stream, now);
    }
    if (sl_outq_broken(&s->outq)) {
        if (!s->closing)
            atomic_fetch_add(&s->srv->players_dropped, 1);
        sl_session_close(s, SL_LOG_WARN,
                         "send queue overflow on a codec header");
        s->peer_eof = 1;
    }
    if (flush_output(s, now) < 0 && !s->closing)
        sl_session_close(s, SL_LOG_INFO, "write failed: peer gone");
    /* Skips are the subscription's (counted by this run's collects);
     * the private queue never skips, it holds only undroppable
     * messages. */
    skips = s->subscribed ? s->sub.skips : s->last_skips;
    if (s->subscribed)
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
}

void
sl_session_stop_all(struct sl_server *srv)
{
    struct sl_list *pos, *tmp;

    pthread_mutex_lock(&srv->lock);
    sl_list_foreach_safe(pos, tmp, &srv->sessions)
    {
        struct sl_session *s = sl_list_entry(pos, struct sl_session, link);

        sl_task_wake(&s->task);
    }
    pthread_mutex_unlock(&srv->lock);
}

/* ---- what the HTTP API sees ---- */

/* Copies a peer-supplied string for display: printable ASCII only, so
 * it can never break a log line or a JSON string. */
static void
copy_printable(char *dst, size_t cap, const char *src, size_t n)
{
    size_t j = 0;

    for (size_t i = 0; i < n && j + 1 < cap; i++) {
        unsigned char c = (unsigned char) src[i];

        dst[j++] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }
    dst[j] = '\0';
}

void
sl_session_set_client(struct sl_session *s, const char *client, size_t n)
{
    pthread_mutex_lock(&s->info.lock);
    copy_printable(s->info.client, sizeof(s->info.client), client, n);
    pthread_mutex_unlock(&s->info.lock);
}

void
sl_session_info_role(struct sl_session *s, enum sl_role role)
{
    if (role != SL_ROLE_NONE)
        sl_session_pending_leave(s);
    else if (!s->closing)
        sl_session_pending_enter(s);
    pthread_mutex_lock(&s->info.lock);
    s->info.role = (int) role;
    if (role != SL_ROLE_NONE) {
        snprintf(s->info.app, sizeof(s->info.app), "%s", s->app);
        snprintf(s->info.name, sizeof(s->info.name), "%s", s->stream_name);
        s->info.since_ms = sl_now_ms();
    }
    if (role == SL_ROLE_PUBLISHER) {
        memset(&s->info.media, 0, sizeof(s->info.media));
        atomic_store_explicit(&s->info.media_bytes, 0, memory_order_relaxed);
        atomic_store_explicit(&s->info.video_frames, 0, memory_order_relaxed);
    }
    atomic_store_explicit(&s->info.role_a, (int) role, memory_order_relaxed);
    pthread_mutex_unlock(&s->info.lock);
}

/* A metadata number the API can show: 0 unless 0..1e6. */
static double
meta_number(const struct sl_amf_doc *d, const struct sl_amf_node *obj,
            const char *key)
{
    double v = sl_meta_number(d, obj, key);

    return v <= 1e6 ? v : 0;
}

/* onMetaData: what the encoder says about its output. */
static void
info_metadata(struct sl_session *s, const uint8_t *p, size_t len)
{
    struct sl_amf_node        nodes[256];
    struct sl_amf_doc         d;
    const struct sl_amf_node *obj, *enc;
    struct sl_media_facts    *m = &s->info.media;

    sl_amf_doc_init(&d, nodes, 256);
    if (!sl_meta_find(&d, p, len, &obj) || obj == NULL)
        return;
    pthread_mutex_lock(&s->info.lock);
    m->meta_width = (int) meta_number(&d, obj, "width");
    m->meta_height = (int) meta_number(&d, obj, "height");
    m->meta_fps = meta_number(&d, obj, "framerate");
    if (m->meta_fps == 0)
        m->meta_fps = meta_number(&d, obj, "videoframerate");
    m->meta_rate = (int) meta_number(&d, obj, "audiosamplerate");
    enc = sl_amf_prop(&d, obj, "encoder");
    if (enc != NULL && enc->type == SL_AMF_STRING)
        copy_printable(m->encoder, sizeof(m->encoder), (const char *) enc->str,
                       enc->str_len);
    pthread_mutex_unlock(&s->info.lock);
}

void
sl_session_info_media(struct sl_session *s, uint8_t type, const uint8_t *p,
                      size_t len)
{
    struct sl_media_facts *m = &s->info.media;
    struct sl_flv_info     fi;
    char                   name[16];

    atomic_fetch_add_explicit(&s->info.media_bytes, len, memory_order_relaxed);
    if (type == SL_MSG_DATA_AMF0) {
        info_metadata(s, p, len);
        return;
    }
    sl_flv_inspect(type, p, len, &fi);
    if (fi.video && !fi.seq_header && !fi.seq_end && !fi.command)
        atomic_fetch_add_explicit(&s->info.video_frames, 1,
                                  memory_order_relaxed);
    /* This task is the only writer, so it reads its own fields without
     * the lock; it takes the lock only to change them. */
    if (fi.video && (fi.seq_header || m->vcodec[0] == '\0')) {
        struct sl_avc_info avc;
        int                have_sps = 0;

        sl_flv_codec_name(&fi, name, sizeof(name));
        if (fi.seq_header && !fi.enhanced && fi.codec == SL_FLV_VIDEO_AVC &&
            len > 5)
            have_sps = sl_avc_parse_config(p + 5, len - 5, &avc) == 0;
        pthread_mutex_lock(&s->info.lock);
        snprintf(m->vcodec, sizeof(m->vcodec), "%s", name);
        if (have_sps) {
            m->sps_width = avc.width;
            m->sps_height = avc.height;
            m->sps_fps = avc.fps;
        }
        pthread_mutex_unlock(&s->info.lock);
    } else if (fi.audio && (fi.seq_header || m->acodec[0] == '\0')) {
        struct sl_aac_info aac;
        int                rate = 0, channels = 0;

        sl_flv_codec_name(&fi, name, sizeof(name));
        if (fi.seq_header && !fi.enhanced && fi.codec == SL_FLV_AUDIO_AAC &&
            len > 2 && sl_aac_parse_asc(p + 2, len - 2, &aac) == 0) {
            rate = aac.sample_rate;
            channels = aac.channels;
        } else if (!fi.enhanced && fi.codec != SL_FLV_AUDIO_AAC && len > 0) {
            /* Classic FLV audio: the rate and channels are in the tag
             * header (the four rates FLV knows). */
            static const int rates[4] = {5512, 11025, 22050, 44100};

            rate = rates[(p[0] >> 2) & 3];
            channels = (p[0] & 1) + 1;
        }
        pthread_mutex_lock(&s->info.lock);
        snprintf(m->acodec, sizeof(m->acodec), "%s", name);
        if (rate > 0) {
            m->asc_rate = rate;
            m->asc_channels = channels;
        }
        pthread_mutex_unlock(&s->info.lock);
    }
}

static void
snap_one(struct sl_session *s, struct sl_sess_snap *o)
{
    struct sl_sess_info *in = &s->info;

    o->id = s->id;
    snprintf(o->peer, sizeof(o->peer), "%s", s->peer); /* immutable */
    pthread_mutex_lock(&in->lock);
    o->role = in->role;
    memcpy(o->app, in->app, sizeof(o->app));
    memcpy(o->name, in->name, sizeof(o->name));
    memcpy(o->client, in->client, sizeof(o->client));
    o->media = in->media;
    o->since_ms = in->since_ms;
    pthread_mutex_unlock(&in->lock);
    o->bytes_in = atomic_load_explicit(&in->bytes_in, memory_order_relaxed);
    o->bytes_out = atomic_load_explicit(&in->bytes_out, memory_order_relaxed);
    o->media_bytes =
        atomic_load_explicit(&in->media_bytes, memory_order_relaxed);
    o->video_frames =
        atomic_load_explicit(&in->video_frames, memory_order_relaxed);
    o->skips = atomic_load_explicit(&in->skips, memory_order_relaxed);
    o->dropped = atomic_load_explicit(&in->dropped, memory_order_relaxed);
    o->lag_ms = atomic_load_explicit(&in->lag_ms, memory_order_relaxed);
}

int
sl_session_collect(struct sl_server *srv, int publishers_only,
                   struct sl_sess_snap **out)
{
    struct sl_list      *pos, *tmp;
    struct sl_sess_snap *v = NULL;
    int                  n = 0, cap = 0;

    /* Sessions stay in the list until finish() removes them under this
     * lock, and finish() drops the owner reference only after that, so
     * every session seen here is alive while the lock is held. */
    pthread_mutex_lock(&srv->lock);
    sl_list_foreach_safe(pos, tmp, &srv->sessions)
    {
        struct sl_session *s = sl_list_entry(pos, struct sl_session, link);
        int role = atomic_load_explicit(&s->info.role_a, memory_order_relaxed);

        if (role == SL_ROLE_NONE ||
            (publishers_only && role != SL_ROLE_PUBLISHER))
            continue;
        if (n == cap) {
            int                  ncap = cap ? cap * 2 : 16;
            struct sl_sess_snap *nv = realloc(v, (size_t) ncap * sizeof(*v));

            if (nv == NULL) {
                pthread_mutex_unlock(&srv->lock);
                free(v);
                return -ENOMEM;
            }
            v = nv;
            cap = ncap;
        }
        snap_one(s, &v[n]);
        if (v[n].role != SL_ROLE_NONE) /* it may have left meanwhile */
            n++;
    }
    pthread_mutex_unlock(&srv->lock);
    *out = v;
    return n;
}

/* Sets the kick flag of the publishers of app/name (only the one with
 * client id only_id, unless it is 0).  How many were found. */
static int
kick_where(struct sl_server *srv, const char *app, const char *name,
           uint64_t only_id)
{
    struct sl_list *pos, *tmp;
    int             found = 0;

    pthread_mutex_lock(&srv->lock);
    sl_list_foreach_safe(pos, tmp, &srv->sessions)
    {
        struct sl_session *s = sl_list_entry(pos, struct sl_session, link);
        int                hit;

        if (atomic_load_explicit(&s->info.role_a, memory_order_relaxed) !=
                SL_ROLE_PUBLISHER ||
            (only_id != 0 && s->id != only_id))
            continue;
        pthread_mutex_lock(&s->info.lock);
        hit = s->info.role == SL_ROLE_PUBLISHER && !strcmp(s->info.app, app) &&
              !strcmp(s->info.name, name);
        pthread_mutex_unlock(&s->info.lock);
        if (hit) {
            atomic_store_explicit(&s->info.kick, 1, memory_order_relaxed);
            sl_task_wake(&s->task);
            found++;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    return found;
}

int
sl_session_kick_publisher(struct sl_server *srv, const char *app,
                          const char *name)
{
    uint64_t standby = sl_hub_standby_id(srv->hub, app, name);
    int      found = 0;

    /* A standby (backup_publish) goes first, and is gone before the
     * primary is cut, or it would take over the stream the operator
     * ended.  Bounded: a session acts on a kick at its next run. */
    if (standby != 0 && kick_where(srv, app, name, standby) > 0) {
        found = 1;
        for (int i = 0;
             i < 200 && sl_hub_standby_id(srv->hub, app, name) == standby;
             i++) {
            struct timespec ts = {0, 5 * 1000 * 1000};

            nanosleep(&ts, NULL);
        }
    }
    found += kick_where(srv, app, name, 0);
    return found > 0 ? 0 : -ENOENT;
}
