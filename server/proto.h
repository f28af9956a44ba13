/*
 * A protocol spoken on a session: RTMP (server/rtmp_cmd.c) or HTTP, the
 * public web port (web/).  The session (server/session.c) owns the
 * socket, TLS, the send queue, the writes from a subscription and the
 * timers; it hands the bytes it reads to the protocol and asks it, once
 * per run, what it needs.  Which protocol a listener's sessions speak is
 * wired by main (srv->protos), so the session includes no protocol.
 *
 * Every function runs on the session's task and gets the protocol's
 * state, which starts with the struct sl_conn the session filled
 * (conn.h).  A protocol closes through the transport (sl_conn_close).
 */
#ifndef SL_PROTO_H
#define SL_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sl_conn;

/* The protocols the API counts players and bytes by (struct sl_conn's
 * proto; the API's session facts copy the name).  A protocol may rename a
 * connection when it changes what it serves: a web port connection is "http"
 * until it starts to play, then "http-flv".  The rows that can play come first;
 * their order is no API (the JSON and the metrics use the names).  A
 * name a protocol gives its connections needs a row here, or its bytes
 * go uncounted by protocol. */
enum sl_proto_id {
    SL_PROTO_RTMP,     /* "rtmp": RTMP and RTMPS */
    SL_PROTO_HTTP_FLV, /* "http-flv": an HTTP-FLV player (web port) */
    SL_PROTO_HLS,      /* "hls": playlists and media of LL-HLS; its
                        * players are viewers by id (hls/viewers.h) */
    SL_PROTO_SRT,      /* "srt": SRT publishers (srt/) */
    SL_PROTO_HTTP,     /* "http": the web port's other answers */
    SL_PROTO_IDS
};
#define SL_PROTO_PLAYING 4 /* the rows below this one can be players */

static inline const char *
sl_proto_id_name(int id)
{
    static const char *const names[SL_PROTO_IDS] = {"rtmp", "http-flv", "hls",
                                                      "srt", "http"};

    return id >= 0 && id < SL_PROTO_IDS ? names[id] : "";
}

/* The row of a protocol name, or -1 for a name without one (NULL too). */
static inline int
sl_proto_id_of(const char *name)
{
    for (int i = 0; name != NULL && i < SL_PROTO_IDS; i++)
        if (strcmp(name, sl_proto_id_name(i)) == 0)
            return i;
    return -1;
}

/* The times a protocol's deadlines count from (sl_now_ms clock). */
struct sl_proto_times {
    uint64_t created_ms;   /* the connection was accepted */
    uint64_t last_read_ms; /* bytes last arrived */
    uint64_t now_ms;
};

struct sl_proto {
    const char *name; /* "rtmp", "http": logs */
    int         id;   /* enum sl_proto_id its connections start as */
    size_t      size; /* bytes of state, starting with struct sl_conn */
    /* A connection that neither publishes nor plays ends without an
     * INFO line (HTTP: a browser opens and drops connections all the
     * time; RTMP: every connection is worth a line). */
    int quiet_close;

    /* A new connection: the state is zeroed but for its sl_conn, whose
     * fixed fields are set.  counted: it enters the pending count
     * (sl_conn_init).  0, or -ENOMEM. */
    int (*init)(struct sl_conn *c, int counted);

    /* Bytes read (after TLS).  Returns how many were used: n, or fewer
     * when a request began to wait for its callback (the session holds
     * the rest until resume), or -EPROTO when the connection must close
     * (the protocol began the close and logged why). */
    int (*feed)(struct sl_conn *c, const uint8_t *p, size_t n);

    /* The answer a parked request waited for is in (sl_conn_verdict_ready):
     * act on it.  0, or -EPROTO when the connection is closing. */
    int (*resume)(struct sl_conn *c);

    /* Once per run while not closing, after reading: what the protocol
     * does without input (a player told that its publisher left or came
     * back, or its stream ended).  Returns when to look again (0: no
     * need). */
    uint64_t (*poll)(struct sl_conn *c, uint64_t now_ms);

    /* The server is stopping: say goodbye where the protocol has words
     * for it (the session then closes). */
    void (*stopping)(struct sl_conn *c);

    /* For a connection that is neither playing nor waiting for a
     * callback: when it is closed for not making progress (an
     * unfinished handshake or request, an idle connection), with the
     * reason for the log in *why.  0: never. */
    uint64_t (*deadline)(struct sl_conn *c, const struct sl_proto_times *t,
                         const char **why);

    /* Frees what the state holds (the role was left).  Idempotent. */
    void (*free)(struct sl_conn *c);
};

#endif
