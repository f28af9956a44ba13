/*
 * The RTMP command state machine of one connection: the chunk stream's
 * messages in, replies and statuses out, and the role that follows from
 *   connect -> createStream -> publish | play -> deleteStream
 * (publisher: its media goes to the hub; player: a subscription the
 * owner writes from).  It decides through auth.h, parks a request while
 * an HTTP callback answers, and keeps the API's facts (session_info.h).
 *
 * It knows nothing of sockets, TLS or timers: a session runs it as its
 * protocol (sl_rtmp_proto, server/proto.h: the handshake, then the
 * chunk stream), and tests/unit/test_rtmp_cmd.c drives it after the
 * handshake through a fake transport.  The protocol-independent parts
 * (the role, the pending count, parking a request for its callback) are
 * struct sl_conn's (conn.h), the first member of its state.
 *
 * Threads: everything runs on the session's task, one run at a time,
 * except the callback thread's hand-over of an answer (conn.h).
 */
#ifndef SL_RTMP_CMD_H
#define SL_RTMP_CMD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pool/buf.h"
#include "pool/sched.h"
#include "rtmp/chunk.h"
#include "rtmp/rtmp.h"
#include "server/conn.h"
#include "server/proto.h"

struct sl_handshake;

/* A publish or play parked for its callback keeps its RTMP arguments
 * here (the request itself is in base.wait). */
struct sl_rtmp_parked {
    double tid;
    double start; /* play's arguments */
    int    reset;
};

struct sl_rtmp_conn {
    struct sl_conn base; /* first: the session sees only this */

    struct sl_handshake    *hs;         /* until the handshake is done */
    uint8_t                 hs_replied; /* S0S1S2 queued */
    struct sl_chunk_reader *rd;         /* created when the handshake is done */
    uint32_t                out_chunk_size;  /* 128 until we announce ours */
    uint32_t                peer_ack_window; /* the peer's Window Ack Size */
    uint64_t                last_ack_bytes;
    uint8_t                 connected; /* connect accepted */
    double                  object_encoding;
    /* The connect's query (from the app or the tcUrl).  It may carry
     * keys and signatures: never logged. */
    char connect_query[SL_QUERY_MAX];

    struct sl_rtmp_parked parked;
};

/* The protocol for RTMP and RTMPS sessions: the handshake, then the
 * chunk stream fed to sl_rtmp_feed. */
extern const struct sl_proto sl_rtmp_proto;

/* The state machine after the handshake, for the protocol above and for
 * tests that play the client without one.  init: the initial protocol
 * state once the session set base's fixed fields (counted: see
 * sl_conn_init); the handshake is skipped when handshake is 0. */
void sl_rtmp_conn_init(struct sl_rtmp_conn *c, int counted, int handshake);

/* Frees what the state machine holds; the role must have been left
 * (sl_conn_closing).  Idempotent. */
void sl_rtmp_conn_free(struct sl_rtmp_conn *c);

/* Feeds n bytes of the chunk stream (everything after the handshake).
 * Returns how many were consumed: n, or fewer when a request began to
 * wait for its callback (the owner holds the rest and feeds it after
 * sl_rtmp_resume), or -EPROTO when the connection must close (a close
 * has begun and was logged). */
int sl_rtmp_feed(struct sl_rtmp_conn *c, const uint8_t *p, size_t n);

/* Once the answer to a parked request arrived (sl_conn_verdict_ready):
 * finishes or refuses the request.  0, or -EPROTO when the connection
 * is closing. */
int sl_rtmp_resume(struct sl_rtmp_conn *c);

/* Player: tells it when its publisher left (after publish_grace, so a
 * quick reconnect is invisible) and when one returned.  Returns when to
 * look again for a pending unpublish notice (0: no need). */
uint64_t sl_rtmp_player_poll(struct sl_rtmp_conn *c, uint64_t now_ms);

/* The server is stopping: a player is told its stream ended (statuses
 * queued; the owner closes). */
void sl_rtmp_server_stopping(struct sl_rtmp_conn *c);

#endif
