/*
 * The RTMP message and command state machine (see rtmp_cmd.h).
 *
 * Protocol control messages adjust the chunk stream; audio, video and
 * data from a publisher go to the hub; commands (AMF0, or AMF3-wrapped
 * AMF0) drive the connection:
 *   connect -> createStream -> publish | play -> deleteStream
 * with releaseStream, FCPublish, FCUnpublish, closeStream and
 * getStreamLength answered as the clients that send them expect.
 *
 * connect, publish and play are split in two: the command is parsed and
 * authorized (auth.h); an allowed request starts at once, a refused one
 * gets its status and the connection closes, and one the app's callback
 * must decide waits (sl_conn_wait_submit, conn.c) and starts or is
 * refused when the answer comes, through the same act_on().
 */
#include "server/rtmp_cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "pool/clock.h"
#include "rtmp/amf.h"
#include "rtmp/handshake.h"
#include "server/cluster.h"
#include "server/config.h"
#include "server/log.h"
#include "server/rtmp_reply.h"
#include "server/server.h"
#include "server/session_info.h"

#define slog sl_log_conn

#define AMF_NODES 256

/* The window we ask peers to acknowledge and the bandwidth we offer. */
#define SERVER_ACK_WINDOW 5000000
#define SERVER_PEER_BW 5000000

static void
conn_close(struct sl_rtmp_conn *c, int level, const char *why)
{
    sl_conn_close(&c->base, level, why);
}

void
sl_rtmp_conn_init(struct sl_rtmp_conn *c, int counted, int handshake)
{
    sl_conn_init(&c->base, counted);
    c->out_chunk_size = SL_CHUNK_DEFAULT_SIZE;
    if (handshake) {
        uint8_t seed[32];

        if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
            memset(seed, (int) c->base.id, sizeof(seed));
        c->hs = sl_handshake_new(seed);
    }
}

void
sl_rtmp_conn_free(struct sl_rtmp_conn *c)
{
    sl_conn_free(&c->base);
    sl_handshake_free(c->hs);
    c->hs = NULL;
    sl_chunk_reader_free(c->rd);
    c->rd = NULL;
}

/* ---- names ---- */

/* Copies a stream or app name, cutting a query string ("?key=...") and
 * surrounding slashes.  Query strings carry credentials, so they never
 * become part of a name or a log line; when query is not NULL the part
 * after '?' goes there (qcap bytes, "" when there is none or it does not
 * fit).  -1 when nothing usable remains or the name has bytes outside
 * printable ASCII. */
static int
clean_name_q(const struct sl_amf_node *n, char *dst, size_t cap, char *query,
             size_t qcap)
{
    char   tmp[2048];
    char  *p, *q;
    size_t len;

    if (query != NULL)
        query[0] = '\0';
    if (sl_amf_str_copy(n, tmp, sizeof(tmp)) < 0)
        return -1;
    q = strchr(tmp, '?');
    if (q != NULL) {
        *q = '\0';
        if (query != NULL && strlen(q + 1) < qcap)
            memcpy(query, q + 1, strlen(q + 1) + 1);
    }
    p = tmp;
    while (*p == '/')
        p++;
    len = strlen(p);
    while (len > 0 && p[len - 1] == '/')
        p[--len] = '\0';
    if (len == 0 || len >= cap)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (p[i] <= 0x20 || p[i] >= 0x7f)
            return -1;
    memcpy(dst, p, len + 1);
    return 0;
}

/* connect's tcUrl without its query (kept for callbacks), and the query
 * when the app carried none. */
static void
take_tc_url(struct sl_rtmp_conn *c, const struct sl_amf_node *tc)
{
    char  tmp[SL_URL_MAX + SL_QUERY_MAX];
    char *q;

    if (sl_amf_str_copy(tc, tmp, sizeof(tmp)) < 0)
        return;
    q = strchr(tmp, '?');
    if (q != NULL) {
        *q++ = '\0';
        if (c->connect_query[0] == '\0' && strlen(q) < sizeof(c->connect_query))
            memcpy(c->connect_query, q, strlen(q) + 1);
    }
    tmp[sizeof(c->base.url) - 1] = '\0';
    for (char *p = tmp; *p; p++)
        if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
            *p = '?';
    memcpy(c->base.url, tmp, strlen(tmp) + 1);
}

static double
number_or(const struct sl_amf_node *n, double dflt)
{
    return n != NULL && n->type == SL_AMF_NUMBER ? n->num : dflt;
}

/* ---- the second halves: what an allowed request does ---- */

static int
connect_accept(struct sl_rtmp_conn *c, double tid)
{
    c->connected = 1;
    sl_rtmp_reply_ctrl(c, SL_MSG_WINDOW_ACK_SIZE, SERVER_ACK_WINDOW);
    sl_rtmp_reply_peer_bw(c, SERVER_PEER_BW);
    sl_rtmp_reply_user_control(c, SL_UC_STREAM_BEGIN, 0);
    slog(SL_LOG_DEBUG, &c->base, "connected to app %s", c->base.app);
    return sl_rtmp_reply_connect_ok(c, tid) < 0 ? -EPROTO : 0;
}

/* Replies with the refusal its kind uses and closes.  Always -EPROTO. */
static int
refuse(struct sl_rtmp_conn *c, enum sl_auth_kind kind, double tid,
       const char *desc, const char *redirect)
{
    sl_rtmp_reply_refusal(c, kind, tid, desc, redirect);
    c->base.stream_name[0] = '\0';
    /* Logged by the caller, with the reason. */
    conn_close(c, SL_LOG_DEBUG, "refused");
    return -EPROTO;
}

static int
publish_start(struct sl_rtmp_conn *c, const char *name)
{
    const struct sl_app_config *app = sl_config_app(c->base.cfg, c->base.app);
    int                         backup = app != NULL && app->backup_publish;
    struct sl_stream           *st;
    int                         rc;

    snprintf(c->base.stream_name, sizeof(c->base.stream_name), "%s", name);
    /* With backup_publish a second publisher stands by (rc 1): it gets
     * Publish.Start and streams as usual; the hub keeps its media. */
    if (backup)
        rc =
            sl_hub_publish_backup(c->base.srv->hub, c->base.app, name, &c->base,
                                  c->base.id, app->ingest_timeout_ms, &st);
    else
        rc = sl_hub_publish(c->base.srv->hub, c->base.app, name, &c->base, &st);
    if (rc == -EBUSY) {
        char why[2 * SL_NAME_MAX + 64];

        sl_rtmp_reply_status(c, "error", "NetStream.Publish.BadName",
                             backup ? "the stream is already being published "
                                      "and has a standby publisher"
                                    : "the stream is already being published");
        snprintf(why, sizeof(why), "%s/%s is already being published%s",
                 c->base.app, name, backup ? " and has a standby" : "");
        conn_close(c, SL_LOG_WARN, why);
        return -EPROTO;
    }
    if (rc < 0) {
        conn_close(c, SL_LOG_ERROR, "out of memory");
        return -EPROTO;
    }
    c->base.pub_stream = st;
    c->base.done_due = 1;
    atomic_fetch_add(&c->base.srv->publishers, 1);
    sl_conn_set_role(&c->base, SL_ROLE_PUBLISHER);
    sl_rtmp_reply_user_control(c, SL_UC_STREAM_BEGIN, SL_RTMP_STREAM_ID);
    sl_rtmp_reply_status(c, "status", "NetStream.Publish.Start", "publishing");
    if (rc == 1)
        sl_log(SL_LOG_INFO, "%s/%s: standby publisher c%llu held", c->base.app,
               name, (unsigned long long) c->base.id);
    else
        slog(SL_LOG_INFO, &c->base, "publishing %s/%s", c->base.app, name);
    return 0;
}

static int
play_start(struct sl_rtmp_conn *c, const char *name, double start, int reset)
{
    struct sl_stream_state st;
    int                    live;
    char                   full[96];

    /* Capacity last, after auth: a full node says so and closes, and the
     * client (or the balancer in front) tries another node. */
    if (sl_conn_admit_play(&c->base, full, sizeof(full)) < 0) {
        slog(SL_LOG_INFO, &c->base, "play %s/%s refused: %s", c->base.app, name,
             full);
        return refuse(c, SL_AUTH_PLAY, 0, full, NULL);
    }
    snprintf(c->base.stream_name, sizeof(c->base.stream_name), "%s", name);
    live = sl_hub_is_live(c->base.srv->hub, c->base.app, name);
    /* start >= 0 asks for recorded content.  Sluice keeps none: such a
     * play gets the live stream when there is one, and otherwise
     * StreamNotFound at once instead of waiting for a publisher as -1
     * (live only) and -2 (live or recorded) do. */
    if (start >= 0 && !live) {
        sl_rtmp_reply_status(c, "error", "NetStream.Play.StreamNotFound",
                             "no live stream by that name and no "
                             "recordings");
        slog(SL_LOG_INFO, &c->base, "play %s/%s (start %.0f): not live",
             c->base.app, name, start);
        c->base.stream_name[0] = '\0';
        return 0;
    }
    /* The statuses first: the headers a join queues follow them. */
    sl_rtmp_reply_user_control(c, SL_UC_STREAM_BEGIN, SL_RTMP_STREAM_ID);
    if (reset)
        sl_rtmp_reply_status(c, "status", "NetStream.Play.Reset",
                             "playing and resetting");
    sl_rtmp_reply_status(c, "status", "NetStream.Play.Start", "playing");
    sl_rtmp_reply_sample_access(c);
    c->base.sub.max_lag_ms = c->base.cfg->max_lag_ms;
    if (sl_conn_play(&c->base, name) < 0) {
        conn_close(c, SL_LOG_ERROR, "out of memory");
        return -EPROTO;
    }
    sl_hub_stream_state(c->base.sub.stream, &st);
    c->base.seen_gen = st.live ? st.publish_gen : 0;
    slog(SL_LOG_INFO, &c->base, "playing %s/%s%s", c->base.app, name,
         live ? "" : " (waiting for a publisher)");
    return 0;
}

/* ---- authorization ---- */

/* Carries out a verdict on the request in c->base.wait: starts it, refuses
 * it (log line, status, close) or sends it to the callback.  0 (started
 * or waiting), or -EPROTO when the connection is closing. */
static int
act_on(struct sl_rtmp_conn *c, const struct sl_auth_verdict *v)
{
    struct sl_conn_wait   *w = &c->base.wait;
    enum sl_auth_kind      kind = w->rq.kind;
    struct sl_auth_verdict why_not;
    char                   shown[SL_NAME_MAX + 32], desc[240];

    /* Parked until the answer, unless the callback cannot be sent. */
    if (v->outcome == SL_AUTH_ASK) {
        if (sl_conn_wait_submit(&c->base, v->callback, &why_not) == 0)
            return 0;
        v = &why_not;
    }
    sl_auth_loggable_name(&w->rq, shown, sizeof(shown));
    w->rq.kind = SL_AUTH_NONE;
    if (v->outcome == SL_AUTH_REFUSE) {
        slog(SL_LOG_WARN, &c->base, "%s %s%s%s refused: %s",
             sl_auth_kind_name(kind), c->base.app, shown[0] ? "/" : "", shown,
             v->why);
        snprintf(desc, sizeof(desc), "%s: %s",
                 v->redirect[0] ? "redirected" : "unauthorized", v->why);
        return refuse(c, kind, c->parked.tid, desc,
                      v->redirect[0] ? v->redirect : NULL);
    }
    if (v->redirected)
        slog(SL_LOG_INFO, &c->base, "callback redirected %s %s/%s to %s/%s",
             sl_auth_kind_name(kind), c->base.app,
             kind == SL_AUTH_PUBLISH && w->rq.app->publish_keys != NULL
                 ? "(key)"
                 : w->name,
             c->base.app, v->name);
    switch (kind) {
    case SL_AUTH_CONNECT:
        return connect_accept(c, c->parked.tid);
    case SL_AUTH_PUBLISH:
        return publish_start(c, v->name);
    default:
        return play_start(c, v->name, c->parked.start, c->parked.reset);
    }
}

/* Decides a request of this kind on name and query ("" for none: the
 * connect's counts then) and acts on the verdict. */
static int
authorize(struct sl_rtmp_conn *c, enum sl_auth_kind kind, double tid,
          const char *name, const char *query, double start, int reset)
{
    struct sl_conn_wait   *w = &c->base.wait;
    struct sl_auth_verdict v;

    w->rq = (struct sl_auth_request){
        .kind = kind,
        .app = sl_config_app(c->base.cfg, c->base.app),
        .name = name != NULL ? w->name : NULL,
        .query = query != NULL && query[0] ? query : c->connect_query,
        .addr = c->base.addr,
        .now = time(NULL),
    };
    snprintf(w->name, sizeof(w->name), "%s", name != NULL ? name : "");
    c->parked = (struct sl_rtmp_parked){tid, start, reset};
    sl_auth_decide(&w->rq, &v);
    return act_on(c, &v);
}

int
sl_rtmp_resume(struct sl_rtmp_conn *c)
{
    struct sl_auth_verdict v;

    sl_conn_wait_verdict(&c->base, &v);
    return act_on(c, &v);
}

/* ---- commands ---- */

static int
cmd_connect(struct sl_rtmp_conn *c, struct sl_amf_doc *d, double tid)
{
    const struct sl_amf_node *obj = sl_amf_at(d, 2);
    const struct sl_amf_node *appn = sl_amf_prop(d, obj, "app");
    const struct sl_amf_node *fv = sl_amf_prop(d, obj, "flashVer");
    char                      app[SL_NAME_MAX], *slash;

    if (c->connected || sl_conn_waiting(&c->base)) {
        conn_close(c, SL_LOG_WARN, "second connect on one connection");
        return -EPROTO;
    }
    if (obj == NULL || obj->type != SL_AMF_OBJECT ||
        clean_name_q(appn, app, sizeof(app), c->connect_query,
                     sizeof(c->connect_query)) < 0) {
        conn_close(c, SL_LOG_WARN,
                   "connect without a usable command object or app");
        return -EPROTO;
    }
    take_tc_url(c, sl_amf_prop(d, obj, "tcUrl"));
    /* "app/instance" names the app "app". */
    slash = strchr(app, '/');
    if (slash != NULL)
        *slash = '\0';
    c->object_encoding = number_or(sl_amf_prop(d, obj, "objectEncoding"), 0);
    if (fv != NULL && fv->type == SL_AMF_STRING)
        sl_session_info_client(c->base.info, (const char *) fv->str,
                               fv->str_len);

    /* Our chunk size first: everything after it is chunked with it. */
    sl_rtmp_reply_ctrl(c, SL_MSG_SET_CHUNK_SIZE, c->base.srv->chunk_size);
    c->out_chunk_size = c->base.srv->chunk_size;

    if (sl_config_app(c->base.cfg, app) == NULL) {
        char why[SL_NAME_MAX + 64];

        sl_rtmp_reply_refusal(c, SL_AUTH_CONNECT, tid, "no such application",
                              NULL);
        snprintf(why, sizeof(why), "connect rejected: unknown app '%s'", app);
        conn_close(c, SL_LOG_WARN, why);
        return -EPROTO;
    }
    snprintf(c->base.app, sizeof(c->base.app), "%s", app);
    return authorize(c, SL_AUTH_CONNECT, tid, NULL, NULL, 0, 0);
}

/* The name argument of publish and play into name and query; refuses a
 * request without one, or on a connection that has a role already. */
static int
stream_request(struct sl_rtmp_conn *c, struct sl_amf_doc *d, const char *what,
               const char *fail_code, char *name, char *query)
{
    char why[64];

    if (clean_name_q(sl_amf_at(d, 3), name, SL_NAME_MAX, query, SL_QUERY_MAX) <
        0) {
        snprintf(why, sizeof(why), "%s needs a stream name", what);
        sl_rtmp_reply_status(c, "error", fail_code, why);
        snprintf(why, sizeof(why), "%s without a usable name", what);
        conn_close(c, SL_LOG_WARN, why);
        return -EPROTO;
    }
    if (c->base.role != SL_ROLE_NONE) {
        sl_rtmp_reply_status(c, "error",
                             !strcmp(what, "publish")
                                 ? "NetStream.Publish.BadConnection"
                                 : fail_code,
                             "this connection already publishes or plays");
        snprintf(why, sizeof(why), "%s on a busy connection", what);
        conn_close(c, SL_LOG_WARN, why);
        return -EPROTO;
    }
    return 0;
}

static int
cmd_publish(struct sl_rtmp_conn *c, struct sl_amf_doc *d, double tid)
{
    char name[SL_NAME_MAX], query[SL_QUERY_MAX];

    if (stream_request(c, d, "publish", "NetStream.Publish.BadName", name,
                       query) < 0)
        return -EPROTO;
    return authorize(c, SL_AUTH_PUBLISH, tid, name, query, 0, 0);
}

static int
cmd_play(struct sl_rtmp_conn *c, struct sl_amf_doc *d, double tid)
{
    const struct sl_amf_node *reset_n = sl_amf_at(d, 6);
    char                      name[SL_NAME_MAX], query[SL_QUERY_MAX];
    double                    start = number_or(sl_amf_at(d, 4), -2);
    int                       reset = 1;

    if (stream_request(c, d, "play", "NetStream.Play.Failed", name, query) < 0)
        return -EPROTO;
    if (reset_n != NULL && reset_n->type == SL_AMF_BOOLEAN)
        reset = reset_n->boolean;
    return authorize(c, SL_AUTH_PLAY, tid, name, query, start, reset);
}

static int
cmd_leave(struct sl_rtmp_conn *c, const char *cmd)
{
    int was_publisher = c->base.role == SL_ROLE_PUBLISHER;

    sl_conn_leave(&c->base);
    if (was_publisher)
        sl_rtmp_reply_status(c, "status", "NetStream.Unpublish.Success",
                             "stopped publishing");
    slog(SL_LOG_DEBUG, &c->base, "%s", cmd);
    c->base.stream_name[0] = '\0';
    return 0;
}

static int
handle_command(struct sl_rtmp_conn *c, const uint8_t *p, size_t len)
{
    struct sl_amf_node nodes[AMF_NODES];
    struct sl_amf_doc  d;
    char               cmd[64], why[96];
    double             tid;

    sl_amf_doc_init(&d, nodes, AMF_NODES);
    if (sl_amf_decode(&d, p, len) < 0) {
        conn_close(c, SL_LOG_WARN, "malformed AMF in a command");
        return -EPROTO;
    }
    if (sl_amf_str_copy(sl_amf_at(&d, 0), cmd, sizeof(cmd)) < 0) {
        conn_close(c, SL_LOG_WARN, "command without a name");
        return -EPROTO;
    }
    tid = number_or(sl_amf_at(&d, 1), 0);
    if (!isfinite(tid))
        tid = 0;
    slog(SL_LOG_DEBUG, &c->base, "command %s (%g)", cmd, tid);

    if (!strcmp(cmd, "connect"))
        return cmd_connect(c, &d, tid);
    if (!c->connected) {
        snprintf(why, sizeof(why), "'%s' before connect", cmd);
        conn_close(c, SL_LOG_WARN, why);
        return -EPROTO;
    }
    if (!strcmp(cmd, "createStream"))
        return sl_rtmp_reply_result(c, tid, 1, SL_RTMP_STREAM_ID);
    if (!strcmp(cmd, "publish"))
        return cmd_publish(c, &d, tid);
    if (!strcmp(cmd, "play"))
        return cmd_play(c, &d, tid);
    if (!strcmp(cmd, "deleteStream") || !strcmp(cmd, "closeStream"))
        return cmd_leave(c, cmd);
    if (!strcmp(cmd, "releaseStream") || !strcmp(cmd, "FCUnpublish") ||
        !strcmp(cmd, "_checkbw"))
        return tid > 0 ? sl_rtmp_reply_result(c, tid, 0, 0) : 0;
    if (!strcmp(cmd, "FCPublish")) {
        char sname[SL_NAME_MAX] = "";

        clean_name_q(sl_amf_at(&d, 3), sname, sizeof(sname), NULL, 0);
        return sl_rtmp_reply_fcpublish(c, sname);
    }
    if (!strcmp(cmd, "getStreamLength"))
        return sl_rtmp_reply_result(c, tid, 1, 0); /* live: no length */
    /* _result/_error/onStatus from the client, pause, seek, receiveAudio,
     * receiveVideo, play2, ...: nothing to do for a live server. */
    return 0;
}

/* ---- media ---- */

static void
publish_body(struct sl_rtmp_conn *c, uint8_t type, uint32_t ts,
             struct sl_buf *b)
{
    sl_session_info_media(c->base.info, type, b->data, b->len);
    sl_hub_publisher_media(c->base.pub_stream, c, type, ts, b, sl_now_ms());
}

/* An aggregate message is a run of FLV tags: 11-byte header (type,
 * 24-bit size, 24-bit timestamp + 8 high bits, 24-bit stream id), the
 * body, and a 4-byte back pointer.  The tags' timestamps are re-based on
 * the aggregate's own. */
static int
handle_aggregate(struct sl_rtmp_conn *c, const struct sl_chunk_msg *m)
{
    struct sl_rd r;
    uint32_t     first_ts = 0;
    int          first = 1;

    sl_rd_init(&r, m->payload->data, m->payload->len);
    while (sl_rd_left(&r) > 0) {
        uint8_t        type = sl_rd_u8(&r);
        uint32_t       size = sl_rd_u24(&r);
        uint32_t       ts = sl_rd_u24(&r);
        const uint8_t *body;
        struct sl_buf *b;

        ts |= (uint32_t) sl_rd_u8(&r) << 24;
        sl_rd_u24(&r);
        body = sl_rd_bytes(&r, size);
        sl_rd_u32(&r);
        if (r.err) {
            conn_close(c, SL_LOG_WARN, "truncated aggregate message");
            return -EPROTO;
        }
        if (first) {
            first_ts = ts;
            first = 0;
        }
        if (type != SL_MSG_AUDIO && type != SL_MSG_VIDEO &&
            type != SL_MSG_DATA_AMF0)
            continue;
        b = sl_buf_from(body, size);
        if (b == NULL)
            return -ENOMEM;
        publish_body(c, type, m->timestamp + (ts - first_ts), b);
        sl_buf_unref(b);
    }
    return 0;
}

static int
handle_media(struct sl_rtmp_conn *c, struct sl_chunk_msg *m)
{
    if (c->base.role != SL_ROLE_PUBLISHER || c->base.pub_stream == NULL)
        return 0; /* media from a non-publisher is ignored */
    if (m->type == SL_MSG_AGGREGATE)
        return handle_aggregate(c, m);
    if (m->type == SL_MSG_DATA_AMF3) {
        /* AMF3 data messages wrap AMF0 after one format byte. */
        struct sl_buf *b;

        if (m->payload->len < 1)
            return 0;
        b = sl_buf_from(m->payload->data + 1, m->payload->len - 1);
        if (b == NULL)
            return -ENOMEM;
        publish_body(c, SL_MSG_DATA_AMF0, m->timestamp, b);
        sl_buf_unref(b);
        return 0;
    }
    publish_body(c, m->type, m->timestamp, m->payload);
    return 0;
}

/* ---- messages ---- */

static int
handle_message(struct sl_rtmp_conn *c, struct sl_chunk_msg *m)
{
    struct sl_rd r;
    uint32_t     v;
    char         why[96];

    sl_rd_init(&r, m->payload->data, m->payload->len);
    switch (m->type) {
    case SL_MSG_SET_CHUNK_SIZE:
        v = sl_rd_u32(&r);
        if (r.err || sl_chunk_reader_set_chunk_size(c->rd, v) < 0) {
            snprintf(why, sizeof(why), "bad Set Chunk Size %u", v);
            conn_close(c, SL_LOG_WARN, why);
            return -EPROTO;
        }
        return 0;
    case SL_MSG_ABORT:
        v = sl_rd_u32(&r);
        if (!r.err)
            sl_chunk_reader_abort(c->rd, v);
        return 0;
    case SL_MSG_WINDOW_ACK_SIZE:
        v = sl_rd_u32(&r);
        if (!r.err)
            c->peer_ack_window = v;
        return 0;
    case SL_MSG_USER_CONTROL: {
        uint16_t ev = sl_rd_u16(&r);

        v = sl_rd_u32(&r);
        if (!r.err && ev == SL_UC_PING_REQUEST)
            return sl_rtmp_reply_user_control(c, SL_UC_PING_RESPONSE, v);
        return 0;
    }
    case SL_MSG_AUDIO:
    case SL_MSG_VIDEO:
    case SL_MSG_DATA_AMF0:
    case SL_MSG_DATA_AMF3:
    case SL_MSG_AGGREGATE:
        /* Out of memory for one frame is not the publisher's fault:
         * the frame is lost, the connection goes on. */
        handle_media(c, m);
        return 0;
    case SL_MSG_COMMAND_AMF0:
        return handle_command(c, m->payload->data, m->payload->len);
    case SL_MSG_COMMAND_AMF3:
        /* One format byte (0), then AMF0 values. */
        if (m->payload->len < 1)
            return 0;
        return handle_command(c, m->payload->data + 1, m->payload->len - 1);
    case SL_MSG_ACK:
    case SL_MSG_SET_PEER_BW:
        return 0;
    default:
        slog(SL_LOG_DEBUG, &c->base, "ignored message type %u", m->type);
        return 0;
    }
}

/* Acknowledges received bytes when the peer asked for it. */
static void
maybe_ack(struct sl_rtmp_conn *c)
{
    uint64_t total = sl_chunk_reader_bytes(c->rd);

    if (c->peer_ack_window == 0 ||
        total - c->last_ack_bytes < c->peer_ack_window)
        return;
    c->last_ack_bytes = total;
    sl_rtmp_reply_ctrl(c, SL_MSG_ACK, (uint32_t) total);
}

int
sl_rtmp_feed(struct sl_rtmp_conn *c, const uint8_t *p, size_t n)
{
    size_t used = 0;

    if (c->rd == NULL) {
        c->rd = sl_chunk_reader_new(c->base.cfg->max_message_size, 64);
        if (c->rd == NULL) {
            conn_close(c, SL_LOG_ERROR, "out of memory");
            return -EPROTO;
        }
    }
    while (used < n && !c->base.closing) {
        struct sl_chunk_msg msg;
        int                 rc = sl_chunk_read(c->rd, p + used, n - used, &msg);

        if (rc < 0) {
            char why[160];

            snprintf(why, sizeof(why), "chunk stream error: %s",
                     rc == -EPROTO ? sl_chunk_reader_error(c->rd)
                                   : strerror(-rc));
            conn_close(c, SL_LOG_WARN, why);
            return -EPROTO;
        }
        used += (size_t) rc;
        if (msg.payload == NULL)
            continue;
        rc = handle_message(c, &msg);
        sl_buf_unref(msg.payload);
        if (rc < 0)
            return -EPROTO;
        if (sl_conn_waiting(&c->base))
            break; /* the rest waits for the verdict */
    }
    maybe_ack(c);
    return c->base.closing ? -EPROTO : (int) used;
}

/* ---- players' notices ---- */

uint64_t
sl_rtmp_player_poll(struct sl_rtmp_conn *c, uint64_t now)
{
    struct sl_stream_state st;
    uint64_t               due;

    if (c->base.role != SL_ROLE_PLAYER || !c->base.subscribed)
        return 0;
    sl_hub_stream_state(c->base.sub.stream, &st);
    if (st.live) {
        if (st.publish_gen != c->base.seen_gen) {
            if (c->base.unpublish_sent) {
                sl_rtmp_reply_user_control(c, SL_UC_STREAM_BEGIN,
                                           SL_RTMP_STREAM_ID);
                sl_rtmp_reply_status(c, "status",
                                     "NetStream.Play.PublishNotify",
                                     "the stream is published again");
            }
            c->base.seen_gen = st.publish_gen;
            c->base.unpublish_sent = 0;
        }
        return 0;
    }
    if (c->base.seen_gen == 0 || c->base.unpublish_sent)
        return 0;
    due = st.unpublished_ms + c->base.cfg->publish_grace_ms;
    if (now < due)
        return due;
    sl_rtmp_reply_status(c, "status", "NetStream.Play.UnpublishNotify",
                         "the publisher stopped");
    sl_rtmp_reply_user_control(c, SL_UC_STREAM_EOF, SL_RTMP_STREAM_ID);
    c->base.unpublish_sent = 1;
    return 0;
}

void
sl_rtmp_server_stopping(struct sl_rtmp_conn *c)
{
    if (c->base.role != SL_ROLE_PLAYER)
        return;
    sl_rtmp_reply_status(c, "status", "NetStream.Play.UnpublishNotify",
                         "the server is shutting down");
    sl_rtmp_reply_user_control(c, SL_UC_STREAM_EOF, SL_RTMP_STREAM_ID);
}

/* ---- the protocol of RTMP sessions (proto.h) ---- */

/* The RTMP handshake: consumes what it needs of p[0..n) and queues the
 * reply.  Returns the bytes used, or -EPROTO (closing). */
static int
feed_handshake(struct sl_rtmp_conn *c, const uint8_t *p, size_t n)
{
    const uint8_t *reply;
    size_t         rlen;
    int            rc = sl_handshake_consume(c->hs, p, n);

    if (rc < 0) {
        conn_close(c, SL_LOG_WARN, "not an RTMP handshake (bad C0 version)");
        return -EPROTO;
    }
    reply = sl_handshake_reply(c->hs, &rlen);
    if (reply != NULL && !c->hs_replied) {
        struct sl_buf *b = sl_buf_from(reply, rlen);

        if (b == NULL || c->base.tp->send(c->base.io, b) < 0) {
            sl_buf_unref(b);
            conn_close(c, SL_LOG_ERROR, "out of memory");
            return -EPROTO;
        }
        sl_buf_unref(b);
        c->hs_replied = 1;
    }
    if (sl_handshake_done(c->hs)) {
        slog(SL_LOG_DEBUG, &c->base, "handshake done (%s)",
             sl_handshake_kind(c->hs) == SL_HANDSHAKE_DIGEST ? "digest"
                                                             : "plain");
        sl_handshake_free(c->hs);
        c->hs = NULL;
    }
    return rc;
}

static int
proto_init(struct sl_conn *base, int counted)
{
    struct sl_rtmp_conn *c = (struct sl_rtmp_conn *) base;

    sl_rtmp_conn_init(c, counted, 1);
    return c->hs != NULL ? 0 : -ENOMEM;
}

static int
proto_feed(struct sl_conn *base, const uint8_t *p, size_t n)
{
    struct sl_rtmp_conn *c = (struct sl_rtmp_conn *) base;
    int                  used = 0, rc;

    if (c->hs != NULL) {
        used = feed_handshake(c, p, n);
        if (used < 0)
            return -EPROTO;
        if (c->hs != NULL || (size_t) used == n)
            return used;
    }
    rc = sl_rtmp_feed(c, p + used, n - (size_t) used);
    return rc < 0 ? rc : used + rc;
}

static int
proto_resume(struct sl_conn *base)
{
    return sl_rtmp_resume((struct sl_rtmp_conn *) base);
}

static uint64_t
proto_poll(struct sl_conn *base, uint64_t now_ms)
{
    return sl_rtmp_player_poll((struct sl_rtmp_conn *) base, now_ms);
}

static void
proto_stopping(struct sl_conn *base)
{
    sl_rtmp_server_stopping((struct sl_rtmp_conn *) base);
}

/* The handshake (on the RTMPS port the TLS one too) within
 * handshake_timeout; then a publisher, or a connection that neither
 * publishes nor plays, must send something every idle_timeout. */
static uint64_t
proto_deadline(struct sl_conn *base, const struct sl_proto_times *t,
               const char **why)
{
    struct sl_rtmp_conn *c = (struct sl_rtmp_conn *) base;

    if (c->hs != NULL) {
        *why = "handshake timeout";
        return t->created_ms + base->cfg->handshake_timeout_ms;
    }
    *why = base->role == SL_ROLE_PUBLISHER ? "publisher idle timeout"
                                           : "idle timeout";
    return t->last_read_ms + base->cfg->idle_timeout_ms;
}

static void
proto_free(struct sl_conn *base)
{
    sl_rtmp_conn_free((struct sl_rtmp_conn *) base);
}

const struct sl_proto sl_rtmp_proto = {
    .name = "rtmp",
    .id = SL_PROTO_RTMP,
    .size = sizeof(struct sl_rtmp_conn),
    .init = proto_init,
    .feed = proto_feed,
    .resume = proto_resume,
    .poll = proto_poll,
    .stopping = proto_stopping,
    .deadline = proto_deadline,
    .free = proto_free,
};
