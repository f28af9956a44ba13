/*
 * The session's body, shared by session.c (I/O, lifetime, timers) and
 * rtmp_cmd.c (the command state machine).  Everything here is touched
 * only by the session's own task, except where a field says otherwise.
 */
#ifndef SL_SESSION_INT_H
#define SL_SESSION_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "pool/loop.h"
#include "pool/sched.h"
#include "rtmp/chunk.h"
#include "server/config.h"
#include "rtmp/handshake.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/outq.h"
#include "server/server.h"
#include "server/session.h"
#include "server/tls.h"

#include <sys/socket.h>

#define slog(lvl, s, fmt, ...)                                                 \
    sl_log(lvl, "[c%llu %s] " fmt, (unsigned long long) (s)->id, (s)->peer,    \
           ##__VA_ARGS__)

/* What an authorization decides on (auth.c).  kind is 0 when none is
 * under way. */
enum sl_auth_kind {
    SL_AUTH_NONE = 0,
    SL_AUTH_CONNECT,
    SL_AUTH_PUBLISH,
    SL_AUTH_PLAY
};

/* A publish, play or connect waiting for an HTTP callback's verdict.
 * The session stops reading (bytes already read wait in held) until the
 * callback thread stores the verdict, sets done and wakes the task; the
 * task then finishes or refuses the request (sl_auth_resume). */
struct sl_pending {
    enum sl_auth_kind kind;
    double            tid;
    char              name[SL_NAME_MAX]; /* as requested (a key, maybe) */
    double            start;             /* play's arguments */
    int               reset;
    atomic_int        done;    /* set by the callback thread, verdict in */
    int               verdict; /* enum sl_cb_verdict */
    int               http_status;
    char              location[SL_URL_MAX];
    char              why[160];
    uint8_t          *held; /* bytes read after the request, not fed */
    size_t            held_len;
};

enum sl_role {
    SL_ROLE_NONE = 0, /* connected, neither publishing nor playing */
    SL_ROLE_PUBLISHER,
    SL_ROLE_PLAYER
};

/* The session's facts for the HTTP API (sl_session_collect).  The task
 * writes them; any thread reads them, the strings and media facts under
 * lock, the counters as relaxed atomics (each is read on its own).
 * Lock order: srv->lock, then this lock; nothing is taken under it. */
struct sl_sess_info {
    pthread_mutex_t       lock;
    int                   role; /* SL_SNAP_ROLE_*, 0 while neither */
    char                  app[SL_NAME_MAX];
    char                  name[SL_NAME_MAX];
    char                  client[128];
    struct sl_media_facts media;
    uint64_t              since_ms;

    atomic_int    role_a; /* role, readable without the lock */
    atomic_int    kick;   /* the API asked this publisher to go */
    atomic_ullong bytes_in, bytes_out;
    atomic_ullong media_bytes, video_frames;
    atomic_ullong skips, dropped;
    atomic_uint   lag_ms;
};

struct sl_session {
    struct sl_task          task; /* first: the session is its own task */
    struct sl_io            io;
    struct sl_timer         timer;
    struct sl_list          link; /* in srv->sessions; srv->lock */
    struct sl_server       *srv;
    struct sl_config       *cfg; /* the config this session started with */
    uint64_t                id;
    char                    peer[64];
    char                    peer_ip[64]; /* address alone, for callbacks */
    struct sockaddr_storage peer_addr;
    /* RTMPS: all socket I/O goes through TLS; NULL for plain RTMP.  The
     * TLS handshake comes before the RTMP one, so hs stays set (and
     * handshake_timeout runs) through both. */
    struct sl_tls_conn *tls;
    uint8_t             tls_up; /* TLS handshake done (logged) */

    struct sl_handshake    *hs; /* until the handshake is done */
    struct sl_chunk_reader *rd; /* after it */
    struct sl_outq          outq;
    uint32_t                out_off; /* bytes of the head already sent */
    /* A ring message half written: its remaining bytes go out before
     * anything else (chunk stream integrity), even after a skip or an
     * unsubscribe.  The session owns this reference. */
    struct sl_buf *ring_part;
    uint32_t       ring_off;
    uint32_t       out_chunk_size; /* 128 until we announce ours */
    uint8_t        hs_replied;     /* S0S1S2 queued */
    uint64_t       armed_ms;       /* timer's deadline, 0: none */

    uint8_t registered; /* io added to the reactor */
    uint8_t closing;    /* flush what is queued, then close */
    uint8_t closed;
    uint8_t read_more;     /* stopped reading with bytes left: go on */
    uint8_t write_blocked; /* EAGAIN: wait for SL_IO_OUT */
    uint8_t stop_seen;     /* reacted to srv->stopping */
    uint8_t connected;     /* connect accepted */
    uint8_t peer_eof;

    uint64_t created_ms;
    uint64_t last_read_ms;
    uint64_t last_write_ms; /* last time bytes left or nothing waited */
    uint64_t close_deadline_ms;
    uint64_t flush_due_ms; /* publisher: hub flush wanted */
    uint64_t grace_due_ms; /* player: unpublish notice due */

    /* Acknowledgements the peer asked for with Window Ack Size. */
    uint32_t peer_ack_window;
    uint64_t last_ack_bytes;

    char              app[SL_NAME_MAX];
    char              stream_name[SL_NAME_MAX];
    double            object_encoding;
    enum sl_role      role;
    struct sl_stream *pub_stream; /* publisher: its stream */
    struct sl_sub     sub;        /* player: its subscription */
    uint8_t           subscribed;
    uint64_t          seen_gen;       /* publish generation last announced */
    uint8_t           unpublish_sent; /* told the player the publisher left */
    uint64_t          last_skips;     /* subscription skips seen so far */
    uint32_t          skip_strikes;   /* skips without catching up between */
    uint8_t           sent_media;     /* player: last_sent_ts is set */
    uint32_t          last_sent_ts;   /* player: newest media written */

    /* Access control (auth.c).  The query strings carry keys and
     * signatures: they are never logged. */
    char              connect_query[SL_QUERY_MAX]; /* connect's app/tcUrl */
    char              tc_url[SL_URL_MAX];          /* without its query */
    struct sl_pending pend;
    uint8_t           done_due; /* on_done owed when this role ends */

    struct sl_sess_info info;

    /* Abuse limits: the peer address's slot in the listener's table
     * (released by session_destroy), and whether this session counts
     * in srv->pending. */
    struct sl_ipticket ipslot;
    uint8_t            pending;
};

/* The pending count (srv->pending, capped by max_pending at accept):
 * sessions that hold a connection without publishing or playing.  A
 * session enters it when it starts, leaves it when it takes a role
 * (sl_session_info_role), enters it again when it gives the role up
 * while staying connected, and leaves it when it finishes.  Both calls
 * are idempotent (a flag in the session), so a stage that keeps a
 * session waiting (an auth callback) may call enter when the wait
 * begins and leave when it ends without counting twice.  The session's
 * task only (or sl_session_start before the first wake). */
void sl_session_pending_enter(struct sl_session *s);
void sl_session_pending_leave(struct sl_session *s);

/* sl_session_start() for a connection accepted on the RTMPS port
 * (listener.c): the session speaks TLS with the certificate of the
 * config in force now.  Any thread.  0, or -errno (fd is closed). */
int sl_session_start_tls(struct sl_server *srv, int fd,
                         const struct sockaddr_storage *peer,
                         struct sl_ipticket            *slot);

/* Sets the role the API reports (with app/name from the session), or
 * clears it with SL_ROLE_NONE; also moves the session out of the
 * pending count (a role) or back into it (none, unless closing).  The
 * session's task. */
void sl_session_info_role(struct sl_session *s, enum sl_role role);

/* rtmp_cmd.c: a publisher's audio, video or data message, inspected for
 * the API's codec facts and counted. */
/* rtmp_cmd.c: connect's flashVer (n bytes, not NUL-terminated). */
void sl_session_set_client(struct sl_session *s, const char *client, size_t n);

void sl_session_info_media(struct sl_session *s, uint8_t type, const uint8_t *p,
                           size_t len);

/* Queues one message of the session's own (a reply, a status) encoded
 * with the server's chunk size.  0, or -ENOMEM / -EPIPE (the session is
 * then closing). */
int sl_session_send(struct sl_session *s, uint32_t csid, uint8_t type,
                    uint32_t msid, const uint8_t *payload, size_t len);
/* Queues an already encoded message (control messages). */
int sl_session_send_buf(struct sl_session *s, struct sl_buf *b);

/* Starts a graceful close: what is queued is flushed (bounded in time),
 * then the connection ends.  why goes to the log at level. */
void sl_session_close(struct sl_session *s, int level, const char *why);

/* Ends the publication or playback (deleteStream, closeStream, close). */
void sl_session_leave_stream(struct sl_session *s);

/* rtmp_cmd.c: handles one complete message.  0, or -EPROTO when the
 * session must close (the handler has logged why). */
int sl_rtmp_handle(struct sl_session *s, struct sl_chunk_msg *m);

/* rtmp_cmd.c: status messages for players. */
int sl_rtmp_send_status(struct sl_session *s, const char *level,
                        const char *code, const char *desc);

/* rtmp_cmd.c: the second half of connect, publish and play, once they
 * are authorized (auth.c calls them at once or after a callback).
 * 0, or -EPROTO when the session is closing. */
int sl_rtmp_connect_accept(struct sl_session *s, double tid);
int sl_rtmp_publish_start(struct sl_session *s, const char *name);
int sl_rtmp_play_start(struct sl_session *s, const char *name, double start,
                       int reset);
/* Refuses the request with the status its kind uses (connect: _error
 * NetConnection.Connect.Rejected; publish: NetStream.Publish.BadName;
 * play: NetStream.Play.Failed), the description, and redirect (a URL,
 * or NULL) as "redirect"; then closes.  Always -EPROTO. */
int sl_rtmp_refuse(struct sl_session *s, enum sl_auth_kind kind, double tid,
                   const char *desc, const char *redirect);

/* session.c: stops reading and holds the unfed bytes (auth.c pauses a
 * session around a callback); resume feeds them. */
void sl_session_resume_input(struct sl_session *s);

#endif
