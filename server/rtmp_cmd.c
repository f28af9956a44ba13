/*
 * The RTMP message and command state machine of a session.
 *
 * Protocol control messages adjust the chunk stream; audio, video and
 * data from a publisher go to the hub; commands (AMF0, or AMF3-wrapped
 * AMF0) drive the session:
 *   connect -> createStream -> publish | play -> deleteStream
 * with releaseStream, FCPublish, FCUnpublish, closeStream and
 * getStreamLength answered as the clients that send them expect.
 * Every reply to a stream command travels on message stream 1, the one
 * createStream always hands out, so the hub's shared media bytes (also
 * on stream 1) fit every player.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pool/clock.h"
#include "rtmp/amf.h"
#include "server/auth.h"
#include "server/cluster.h"
#include "server/log.h"
#include "rtmp/msg.h"
#include "server/session_int.h"

#define CSID_COMMAND 3
#define CSID_STATUS 5
#define STREAM_ID 1
#define AMF_NODES 256
#define REPLY_MAX 4096

/* The window we ask peers to acknowledge and the bandwidth we offer. */
#define SERVER_ACK_WINDOW 5000000
#define SERVER_PEER_BW 5000000

static int
send_amf(struct sl_session *s, uint32_t csid, uint32_t msid, uint8_t type,
         struct sl_wr *w)
{
    if (w->err)
        return -ENOMEM;
    return sl_session_send(s, csid, type, msid, w->start, sl_wr_len(w));
}

static int
send_ctrl(struct sl_session *s, struct sl_buf *b)
{
    int rc;

    if (b == NULL)
        return -ENOMEM;
    rc = sl_session_send_buf(s, b);
    sl_buf_unref(b);
    return rc;
}

int
sl_rtmp_send_status(struct sl_session *s, const char *level, const char *code,
                    const char *desc)
{
    uint8_t      out[REPLY_MAX];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_status(&w, level, code, desc, s->stream_name, (double) s->id);
    return send_amf(s, CSID_STATUS, STREAM_ID, SL_MSG_COMMAND_AMF0, &w);
}

/* _result or _error for transaction tid with a null command object and
 * one value written by the caller's callback-free convention: kind 0 =
 * null, 1 = number v. */
static int
send_result(struct sl_session *s, double tid, int with_number, double v)
{
    uint8_t      out[256];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_string(&w, "_result");
    sl_amf_put_number(&w, tid);
    sl_amf_put_null(&w);
    if (with_number)
        sl_amf_put_number(&w, v);
    else
        sl_amf_put_undefined(&w);
    return send_amf(s, CSID_COMMAND, 0, SL_MSG_COMMAND_AMF0, &w);
}

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

static int
clean_name(const struct sl_amf_node *n, char *dst, size_t cap)
{
    return clean_name_q(n, dst, cap, NULL, 0);
}

/* connect's tcUrl without its query (kept for callbacks), and the query
 * when the app carried none. */
static void
take_tc_url(struct sl_session *s, const struct sl_amf_node *tc)
{
    char  tmp[SL_URL_MAX + SL_QUERY_MAX];
    char *q;

    if (sl_amf_str_copy(tc, tmp, sizeof(tmp)) < 0)
        return;
    q = strchr(tmp, '?');
    if (q != NULL) {
        *q++ = '\0';
        if (s->connect_query[0] == '\0' && strlen(q) < sizeof(s->connect_query))
            memcpy(s->connect_query, q, strlen(q) + 1);
    }
    tmp[sizeof(s->tc_url) - 1] = '\0';
    for (char *c = tmp; *c; c++)
        if ((unsigned char) *c < 0x20 || (unsigned char) *c >= 0x7f)
            *c = '?';
    memcpy(s->tc_url, tmp, strlen(tmp) + 1);
}

static double
number_or(const struct sl_amf_node *n, double dflt)
{
    return n != NULL && n->type == SL_AMF_NUMBER ? n->num : dflt;
}

/* _error for connect: NetConnection.Connect.Rejected, with a redirect
 * URL (ex.redirect, as Flash-era servers sent it) when there is one. */
static void
send_connect_error(struct sl_session *s, double tid, const char *desc,
                   const char *redirect)
{
    uint8_t      out[REPLY_MAX];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_string(&w, "_error");
    sl_amf_put_number(&w, tid);
    sl_amf_put_null(&w);
    sl_amf_put_object_start(&w);
    sl_amf_put_key(&w, "level");
    sl_amf_put_string(&w, "error");
    sl_amf_put_key(&w, "code");
    sl_amf_put_string(&w, "NetConnection.Connect.Rejected");
    sl_amf_put_key(&w, "description");
    sl_amf_put_string(&w, desc);
    if (redirect != NULL) {
        sl_amf_put_key(&w, "ex");
        sl_amf_put_object_start(&w);
        sl_amf_put_key(&w, "code");
        sl_amf_put_number(&w, 302);
        sl_amf_put_key(&w, "redirect");
        sl_amf_put_string(&w, redirect);
        sl_amf_put_object_end(&w);
    }
    sl_amf_put_object_end(&w);
    send_amf(s, CSID_COMMAND, 0, SL_MSG_COMMAND_AMF0, &w);
}

static int
cmd_connect(struct sl_session *s, struct sl_amf_doc *d, double tid)
{
    const struct sl_amf_node *obj = sl_amf_at(d, 2);
    const struct sl_amf_node *appn = sl_amf_prop(d, obj, "app");
    char                      app[SL_NAME_MAX], *slash;
    int                       rc;

    if (s->connected || sl_auth_pending(s)) {
        sl_session_close(s, SL_LOG_WARN, "second connect on one connection");
        return -EPROTO;
    }
    if (obj == NULL || obj->type != SL_AMF_OBJECT ||
        clean_name_q(appn, app, sizeof(app), s->connect_query,
                     sizeof(s->connect_query)) < 0) {
        sl_session_close(s, SL_LOG_WARN,
                         "connect without a usable command object or app");
        return -EPROTO;
    }
    take_tc_url(s, sl_amf_prop(d, obj, "tcUrl"));
    /* "app/instance" names the app "app". */
    slash = strchr(app, '/');
    if (slash != NULL)
        *slash = '\0';
    s->object_encoding = number_or(sl_amf_prop(d, obj, "objectEncoding"), 0);
    {
        const struct sl_amf_node *fv = sl_amf_prop(d, obj, "flashVer");

        if (fv != NULL && fv->type == SL_AMF_STRING)
            sl_session_set_client(s, (const char *) fv->str, fv->str_len);
    }

    /* Our chunk size first: everything after it is chunked with it. */
    send_ctrl(s, sl_chunk_ctrl(SL_MSG_SET_CHUNK_SIZE, s->srv->chunk_size,
                               s->out_chunk_size));
    s->out_chunk_size = s->srv->chunk_size;

    if (sl_config_app(s->cfg, app) == NULL) {
        char why[SL_NAME_MAX + 64];

        send_connect_error(s, tid, "no such application", NULL);
        snprintf(why, sizeof(why), "connect rejected: unknown app '%s'", app);
        sl_session_close(s, SL_LOG_WARN, why);
        return -EPROTO;
    }
    snprintf(s->app, sizeof(s->app), "%s", app);
    rc = sl_auth_connect(s, tid);
    if (rc == SL_AUTH_OK)
        return sl_rtmp_connect_accept(s, tid);
    return rc == SL_AUTH_PENDING ? 0 : -EPROTO;
}

int
sl_rtmp_connect_accept(struct sl_session *s, double tid)
{
    uint8_t      out[REPLY_MAX];
    struct sl_wr w;

    s->connected = 1;
    send_ctrl(s, sl_chunk_ctrl(SL_MSG_WINDOW_ACK_SIZE, SERVER_ACK_WINDOW,
                               s->out_chunk_size));
    send_ctrl(s, sl_chunk_peer_bw(SERVER_PEER_BW, 2, s->out_chunk_size));
    send_ctrl(s,
              sl_chunk_user_control(SL_UC_STREAM_BEGIN, 0, s->out_chunk_size));

    /* Clients that speak AMF3 get their encoding echoed; our messages
     * stay AMF0, which every AMF3 client also reads. */
    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_connect_result(&w, tid, s->object_encoding);
    slog(SL_LOG_DEBUG, s, "connected to app %s", s->app);
    return send_amf(s, CSID_COMMAND, 0, SL_MSG_COMMAND_AMF0, &w) < 0 ? -EPROTO
                                                                     : 0;
}

int
sl_rtmp_refuse(struct sl_session *s, enum sl_auth_kind kind, double tid,
               const char *desc, const char *redirect)
{
    if (kind == SL_AUTH_CONNECT) {
        send_connect_error(s, tid, desc, redirect);
    } else {
        uint8_t      out[REPLY_MAX];
        struct sl_wr w;

        sl_wr_init(&w, out, sizeof(out));
        sl_amf_put_string(&w, "onStatus");
        sl_amf_put_number(&w, 0);
        sl_amf_put_null(&w);
        sl_amf_put_object_start(&w);
        sl_amf_put_key(&w, "level");
        sl_amf_put_string(&w, "error");
        sl_amf_put_key(&w, "code");
        sl_amf_put_string(&w, kind == SL_AUTH_PUBLISH
                                  ? "NetStream.Publish.BadName"
                                  : "NetStream.Play.Failed");
        sl_amf_put_key(&w, "description");
        sl_amf_put_string(&w, desc);
        if (redirect != NULL) {
            sl_amf_put_key(&w, "redirect");
            sl_amf_put_string(&w, redirect);
        }
        sl_amf_put_key(&w, "clientid");
        sl_amf_put_number(&w, (double) s->id);
        sl_amf_put_object_end(&w);
        send_amf(s, CSID_STATUS, STREAM_ID, SL_MSG_COMMAND_AMF0, &w);
    }
    s->stream_name[0] = '\0';
    /* Logged by the caller, with the reason. */
    sl_session_close(s, SL_LOG_DEBUG, "refused");
    return -EPROTO;
}

static int
cmd_publish(struct sl_session *s, struct sl_amf_doc *d, double tid)
{
    char name[SL_NAME_MAX], query[SL_QUERY_MAX], pubname[SL_NAME_MAX];
    int  rc;

    if (clean_name_q(sl_amf_at(d, 3), name, sizeof(name), query,
                     sizeof(query)) < 0) {
        sl_rtmp_send_status(s, "error", "NetStream.Publish.BadName",
                            "publish needs a stream name");
        sl_session_close(s, SL_LOG_WARN, "publish without a usable name");
        return -EPROTO;
    }
    if (s->role != SL_ROLE_NONE) {
        sl_rtmp_send_status(s, "error", "NetStream.Publish.BadConnection",
                            "this connection already publishes or plays");
        sl_session_close(s, SL_LOG_WARN, "publish on a busy connection");
        return -EPROTO;
    }
    rc = sl_auth_publish(s, tid, name, query, pubname, sizeof(pubname));
    if (rc == SL_AUTH_OK)
        return sl_rtmp_publish_start(s, pubname);
    return rc == SL_AUTH_PENDING ? 0 : -EPROTO;
}

int
sl_rtmp_publish_start(struct sl_session *s, const char *name)
{
    const struct sl_app_config *app = sl_config_app(s->cfg, s->app);
    int                         backup = app != NULL && app->backup_publish;
    struct sl_stream *st;
    int               rc;

    snprintf(s->stream_name, sizeof(s->stream_name), "%s", name);
    /* With backup_publish a second publisher stands by (rc 1): it gets
     * Publish.Start and streams as usual; the hub keeps its media. */
    if (backup)
        rc = sl_hub_publish_backup(s->srv->hub, s->app, name, s, s->id,
                                   app->ingest_timeout_ms, &st);
    else
        rc = sl_hub_publish(s->srv->hub, s->app, name, s, &st);
    if (rc == -EBUSY) {
        char why[2 * SL_NAME_MAX + 64];

        sl_rtmp_send_status(s, "error", "NetStream.Publish.BadName",
                            backup ? "the stream is already being published "
                                     "and has a standby publisher"
                                   : "the stream is already being published");
        snprintf(why, sizeof(why), "%s/%s is already being published%s", s->app,
                 name, backup ? " and has a standby" : "");
        sl_session_close(s, SL_LOG_WARN, why);
        return -EPROTO;
    }
    if (rc < 0) {
        sl_session_close(s, SL_LOG_ERROR, "out of memory");
        return -EPROTO;
    }
    s->role = SL_ROLE_PUBLISHER;
    s->pub_stream = st;
    s->done_due = 1;
    atomic_fetch_add(&s->srv->publishers, 1);
    sl_session_info_role(s, SL_ROLE_PUBLISHER);
    send_ctrl(s, sl_chunk_user_control(SL_UC_STREAM_BEGIN, STREAM_ID,
                                       s->out_chunk_size));
    sl_rtmp_send_status(s, "status", "NetStream.Publish.Start", "publishing");
    if (rc == 1)
        sl_log(SL_LOG_INFO, "%s/%s: standby publisher c%llu held", s->app, name,
               (unsigned long long) s->id);
    else
        slog(SL_LOG_INFO, s, "publishing %s/%s", s->app, name);
    return 0;
}

static int
cmd_play(struct sl_session *s, struct sl_amf_doc *d, double tid)
{
    const struct sl_amf_node *reset_n = sl_amf_at(d, 6);
    char                      name[SL_NAME_MAX], query[SL_QUERY_MAX];
    double                    start = number_or(sl_amf_at(d, 4), -2);
    int                       reset = 1, rc;

    if (clean_name_q(sl_amf_at(d, 3), name, sizeof(name), query,
                     sizeof(query)) < 0) {
        sl_rtmp_send_status(s, "error", "NetStream.Play.Failed",
                            "play needs a stream name");
        sl_session_close(s, SL_LOG_WARN, "play without a usable name");
        return -EPROTO;
    }
    if (s->role != SL_ROLE_NONE) {
        sl_rtmp_send_status(s, "error", "NetStream.Play.Failed",
                            "this connection already publishes or plays");
        sl_session_close(s, SL_LOG_WARN, "play on a busy connection");
        return -EPROTO;
    }
    if (reset_n != NULL && reset_n->type == SL_AMF_BOOLEAN)
        reset = reset_n->boolean;
    rc = sl_auth_play(s, tid, name, query, start, reset);
    if (rc == SL_AUTH_OK)
        return sl_rtmp_play_start(s, name, start, reset);
    return rc == SL_AUTH_PENDING ? 0 : -EPROTO;
}

int
sl_rtmp_play_start(struct sl_session *s, const char *name, double start,
                   int reset)
{
    uint8_t      out[128];
    struct sl_wr w;
    int          live;
    char         full[96];

    /* Capacity last, after auth: a full node says so and closes, and the
     * client (or the balancer in front) tries another node. */
    if (sl_cluster_admit_play(s->srv, full, sizeof(full)) < 0) {
        slog(SL_LOG_INFO, s, "play %s/%s refused: %s", s->app, name, full);
        return sl_rtmp_refuse(s, SL_AUTH_PLAY, 0, full, NULL);
    }
    snprintf(s->stream_name, sizeof(s->stream_name), "%s", name);
    live = sl_hub_is_live(s->srv->hub, s->app, name);
    /* start >= 0 asks for recorded content.  Sluice keeps none: such a
     * play gets the live stream when there is one, and otherwise
     * StreamNotFound at once instead of waiting for a publisher as -1
     * (live only) and -2 (live or recorded) do. */
    if (start >= 0 && !live) {
        sl_rtmp_send_status(s, "error", "NetStream.Play.StreamNotFound",
                            "no live stream by that name and no "
                            "recordings");
        slog(SL_LOG_INFO, s, "play %s/%s (start %.0f): not live", s->app, name,
             start);
        s->stream_name[0] = '\0';
        return 0;
    }
    send_ctrl(s, sl_chunk_user_control(SL_UC_STREAM_BEGIN, STREAM_ID,
                                       s->out_chunk_size));
    if (reset)
        sl_rtmp_send_status(s, "status", "NetStream.Play.Reset",
                            "playing and resetting");
    sl_rtmp_send_status(s, "status", "NetStream.Play.Start", "playing");
    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_string(&w, "|RtmpSampleAccess");
    sl_amf_put_bool(&w, 1);
    sl_amf_put_bool(&w, 1);
    send_amf(s, CSID_STATUS, STREAM_ID, SL_MSG_DATA_AMF0, &w);

    s->sub.q = &s->outq;
    s->sub.task = &s->task;
    s->sub.max_lag_ms = s->cfg->max_lag_ms;
    if (sl_hub_subscribe(s->srv->hub, s->app, name, &s->sub) < 0) {
        sl_session_close(s, SL_LOG_ERROR, "out of memory");
        return -EPROTO;
    }
    s->subscribed = 1;
    s->role = SL_ROLE_PLAYER;
    s->done_due = 1;
    atomic_fetch_add(&s->srv->players, 1);
    sl_session_info_role(s, SL_ROLE_PLAYER);
    {
        struct sl_stream_state st;

        sl_hub_stream_state(s->sub.stream, &st);
        s->seen_gen = st.live ? st.publish_gen : 0;
    }
    slog(SL_LOG_INFO, s, "playing %s/%s%s", s->app, name,
         live ? "" : " (waiting for a publisher)");
    return 0;
}

static int
cmd_leave(struct sl_session *s, const char *cmd)
{
    int was_publisher = s->role == SL_ROLE_PUBLISHER;

    sl_session_leave_stream(s);
    if (was_publisher)
        sl_rtmp_send_status(s, "status", "NetStream.Unpublish.Success",
                            "stopped publishing");
    slog(SL_LOG_DEBUG, s, "%s", cmd);
    s->stream_name[0] = '\0';
    return 0;
}

static int
handle_command(struct sl_session *s, const uint8_t *p, size_t len)
{
    struct sl_amf_node        nodes[AMF_NODES];
    struct sl_amf_doc         d;
    const struct sl_amf_node *name;
    char                      cmd[64];
    double                    tid;

    sl_amf_doc_init(&d, nodes, AMF_NODES);
    if (sl_amf_decode(&d, p, len) < 0) {
        sl_session_close(s, SL_LOG_WARN, "malformed AMF in a command");
        return -EPROTO;
    }
    name = sl_amf_at(&d, 0);
    if (sl_amf_str_copy(name, cmd, sizeof(cmd)) < 0) {
        sl_session_close(s, SL_LOG_WARN, "command without a name");
        return -EPROTO;
    }
    tid = number_or(sl_amf_at(&d, 1), 0);
    if (!isfinite(tid))
        tid = 0;
    slog(SL_LOG_DEBUG, s, "command %s (%g)", cmd, tid);

    if (!strcmp(cmd, "connect"))
        return cmd_connect(s, &d, tid);
    if (!s->connected) {
        char why[96];

        snprintf(why, sizeof(why), "'%s' before connect", cmd);
        sl_session_close(s, SL_LOG_WARN, why);
        return -EPROTO;
    }
    if (!strcmp(cmd, "createStream"))
        return send_result(s, tid, 1, STREAM_ID);
    if (!strcmp(cmd, "publish"))
        return cmd_publish(s, &d, tid);
    if (!strcmp(cmd, "play"))
        return cmd_play(s, &d, tid);
    if (!strcmp(cmd, "deleteStream") || !strcmp(cmd, "closeStream"))
        return cmd_leave(s, cmd);
    if (!strcmp(cmd, "releaseStream") || !strcmp(cmd, "FCUnpublish") ||
        !strcmp(cmd, "_checkbw"))
        return tid > 0 ? send_result(s, tid, 0, 0) : 0;
    if (!strcmp(cmd, "FCPublish")) {
        uint8_t      out[REPLY_MAX];
        struct sl_wr w;
        char         sname[SL_NAME_MAX] = "";

        clean_name(sl_amf_at(&d, 3), sname, sizeof(sname));
        sl_wr_init(&w, out, sizeof(out));
        sl_amf_put_string(&w, "onFCPublish");
        sl_amf_put_number(&w, 0);
        sl_amf_put_null(&w);
        sl_amf_put_object_start(&w);
        sl_amf_put_key(&w, "code");
        sl_amf_put_string(&w, "NetStream.Publish.Start");
        sl_amf_put_key(&w, "description");
        sl_amf_put_string(&w, sname);
        sl_amf_put_object_end(&w);
        return send_amf(s, CSID_COMMAND, 0, SL_MSG_COMMAND_AMF0, &w);
    }
    if (!strcmp(cmd, "getStreamLength"))
        return send_result(s, tid, 1, 0); /* live: no length */
    /* _result/_error/onStatus from the client, pause, seek, receiveAudio,
     * receiveVideo, play2, ...: nothing to do for a live server. */
    return 0;
}

/* An aggregate message is a run of FLV tags: 11-byte header (type,
 * 24-bit size, 24-bit timestamp + 8 high bits, 24-bit stream id), the
 * body, and a 4-byte back pointer.  The tags' timestamps are re-based on
 * the aggregate's own. */
static int
handle_aggregate(struct sl_session *s, const struct sl_chunk_msg *m)
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
            sl_session_close(s, SL_LOG_WARN, "truncated aggregate message");
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
        sl_session_info_media(s, type, body, size);
        sl_hub_publisher_media(s->pub_stream, s, type,
                               m->timestamp + (ts - first_ts), b, sl_now_ms());
        sl_buf_unref(b);
    }
    return 0;
}

static int
handle_media(struct sl_session *s, struct sl_chunk_msg *m)
{
    if (s->role != SL_ROLE_PUBLISHER || s->pub_stream == NULL)
        return 0; /* media from a non-publisher is ignored */
    if (m->type == SL_MSG_AGGREGATE)
        return handle_aggregate(s, m);
    if (m->type == SL_MSG_DATA_AMF3) {
        /* AMF3 data messages wrap AMF0 after one format byte. */
        struct sl_buf *b;

        if (m->payload->len < 1)
            return 0;
        b = sl_buf_from(m->payload->data + 1, m->payload->len - 1);
        if (b == NULL)
            return -ENOMEM;
        sl_session_info_media(s, SL_MSG_DATA_AMF0, b->data, b->len);
        sl_hub_publisher_media(s->pub_stream, s, SL_MSG_DATA_AMF0, m->timestamp,
                               b, sl_now_ms());
        sl_buf_unref(b);
        return 0;
    }
    sl_session_info_media(s, m->type, m->payload->data, m->payload->len);
    sl_hub_publisher_media(s->pub_stream, s, m->type, m->timestamp, m->payload,
                           sl_now_ms());
    return 0;
}

int
sl_rtmp_handle(struct sl_session *s, struct sl_chunk_msg *m)
{
    struct sl_rd r;
    uint32_t     v;
    char         why[96];

    sl_rd_init(&r, m->payload->data, m->payload->len);
    switch (m->type) {
    case SL_MSG_SET_CHUNK_SIZE:
        v = sl_rd_u32(&r);
        if (r.err || sl_chunk_reader_set_chunk_size(s->rd, v) < 0) {
            snprintf(why, sizeof(why), "bad Set Chunk Size %u", v);
            sl_session_close(s, SL_LOG_WARN, why);
            return -EPROTO;
        }
        return 0;
    case SL_MSG_ABORT:
        v = sl_rd_u32(&r);
        if (!r.err)
            sl_chunk_reader_abort(s->rd, v);
        return 0;
    case SL_MSG_ACK:
    case SL_MSG_SET_PEER_BW:
        return 0;
    case SL_MSG_WINDOW_ACK_SIZE:
        v = sl_rd_u32(&r);
        if (!r.err)
            s->peer_ack_window = v;
        return 0;
    case SL_MSG_USER_CONTROL: {
        uint16_t ev = sl_rd_u16(&r);

        v = sl_rd_u32(&r);
        if (!r.err && ev == SL_UC_PING_REQUEST)
            return send_ctrl(s, sl_chunk_user_control(SL_UC_PING_RESPONSE, v,
                                                      s->out_chunk_size));
        return 0;
    }
    case SL_MSG_AUDIO:
    case SL_MSG_VIDEO:
    case SL_MSG_DATA_AMF0:
    case SL_MSG_DATA_AMF3:
    case SL_MSG_AGGREGATE:
        /* Out of memory for one frame is not the publisher's fault:
         * the frame is lost, the session goes on. */
        handle_media(s, m);
        return 0;
    case SL_MSG_COMMAND_AMF0:
        return handle_command(s, m->payload->data, m->payload->len);
    case SL_MSG_COMMAND_AMF3:
        /* One format byte (0), then AMF0 values. */
        if (m->payload->len < 1)
            return 0;
        return handle_command(s, m->payload->data + 1, m->payload->len - 1);
    default:
        slog(SL_LOG_DEBUG, s, "ignored message type %u", m->type);
        return 0;
    }
}
