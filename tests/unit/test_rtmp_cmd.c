/*
 * The command state machine (server/rtmp_cmd.h) against a fake
 * transport: the test plays the client, encoding real RTMP commands and
 * media into chunks, and reads back what the server queued (decoded
 * with the chunk reader and the AMF decoder), with a real hub behind.
 * No sockets; the callback cases use the real callback client, against a
 * closed port and against tests/support/callback_server.py.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool/clock.h"
#include "rtmp/amf.h"
#include "rtmp/chunk.h"
#include "rtmp/msg.h"
#include "server/callback.h"
#include "server/config.h"
#include "server/hub.h"
#include "server/iplimit.h"
#include "server/log.h"
#include "server/rtmp_cmd.h"
#include "server/server.h"
#include "server/session_info.h"
#include "tests/support/proc.h"
#include "tests/support/test_server.h"

#define MAX_REPLIES 64
#define SCRIPT "tests/support/callback_server.py"

/* One message the server queued, as a client sees it. */
struct reply {
    uint8_t type;
    char    cmd[32];   /* commands and data: the name */
    char    code[64];  /* _result/_error/onStatus: the info code */
    char    desc[160]; /* and its description */
    double  num;       /* _result's number; a user control's event */
};

/* A client connection: the state machine, the transport it writes to,
 * and what the client has received. */
struct fake {
    struct sl_task          task; /* first: the owner's task */
    struct sl_rtmp_conn     c;
    struct sl_sess_info     info;
    struct sl_outq          q;
    struct sl_chunk_reader *rd; /* the client's side of the stream */
    struct sockaddr_storage addr;
    char                    peer[64];
    struct reply            r[MAX_REPLIES];
    int                     nr;
    int                     closed, close_level;
    char                    close_why[160];
};

static struct sl_server  srv;
static struct sl_config *cfg;
static char              dir[PATH_MAX];
static struct sl_proc    backend;
static int               backend_port;
static uint64_t          next_id;

static void
no_run(struct sl_task *t)
{
}

static void
decode_command(struct reply *r, const uint8_t *p, size_t len)
{
    struct sl_amf_node        nodes[64];
    struct sl_amf_doc         d;
    const struct sl_amf_node *info, *code, *desc;

    sl_amf_doc_init(&d, nodes, 64);
    if (sl_amf_decode(&d, p, len) < 0)
        return;
    sl_amf_str_copy(sl_amf_at(&d, 0), r->cmd, sizeof(r->cmd));
    info = sl_amf_at(&d, 3);
    if (info != NULL && info->type == SL_AMF_NUMBER)
        r->num = info->num;
    code = sl_amf_prop(&d, info, "code");
    desc = sl_amf_prop(&d, info, "description");
    sl_amf_str_copy(code, r->code, sizeof(r->code));
    sl_amf_str_copy(desc, r->desc, sizeof(r->desc));
}

/* The transport: what the server sends is read as a client would. */
static int
fake_send(void *io, struct sl_buf *b)
{
    struct fake *f = io;
    size_t       off = 0;

    while (off < b->len) {
        struct sl_chunk_msg m;
        int rc = sl_chunk_read(f->rd, b->data + off, b->len - off, &m);

        CU_ASSERT_FATAL(rc > 0);
        off += (size_t) rc;
        if (m.payload == NULL)
            continue;
        if (f->nr < MAX_REPLIES) {
            struct reply  *r = &f->r[f->nr++];
            const uint8_t *p = m.payload->data;

            memset(r, 0, sizeof(*r));
            r->type = m.type;
            if (m.type == SL_MSG_COMMAND_AMF0 || m.type == SL_MSG_DATA_AMF0)
                decode_command(r, p, m.payload->len);
            else if (m.type == SL_MSG_USER_CONTROL && m.payload->len >= 2)
                r->num = (p[0] << 8) | p[1];
            if (m.type == SL_MSG_SET_CHUNK_SIZE && m.payload->len >= 4)
                sl_chunk_reader_set_chunk_size(f->rd, ((uint32_t) p[0] << 24) |
                                                          (p[1] << 16) |
                                                          (p[2] << 8) | p[3]);
        }
        sl_buf_unref(m.payload);
    }
    return 0;
}

static void
fake_close(void *io, int level, const char *why)
{
    struct fake *f = io;

    if (f->closed)
        return;
    f->closed = 1;
    f->close_level = level;
    snprintf(f->close_why, sizeof(f->close_why), "%s", why);
    sl_conn_closing(&f->c.base);
}

static const struct sl_conn_transport fake_transport = {
    .send = fake_send,
    .close = fake_close,
};

static struct fake *
fake_new(const char *ip)
{
    struct fake        *f = calloc(1, sizeof(*f));
    struct sockaddr_in *a = (struct sockaddr_in *) &f->addr;

    CU_ASSERT_FATAL(f != NULL);
    sl_task_init(&f->task, srv.sched, no_run, no_run);
    a->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &a->sin_addr);
    snprintf(f->peer, sizeof(f->peer), "%s:1234", ip);
    f->c.base.tp = &fake_transport;
    f->c.base.io = f;
    f->c.base.srv = &srv;
    f->c.base.cfg = cfg;
    f->c.base.task = &f->task;
    f->c.base.info = &f->info;
    f->c.base.id = ++next_id;
    f->c.base.peer = f->peer;
    f->c.base.peer_ip = ip;
    f->c.base.addr = &f->addr;
    CU_ASSERT_FATAL(sl_outq_init(&f->q, 512) == 0);
    f->c.base.sub.q = &f->q;
    f->c.base.proto = SL_PROTO_RTMP;
    sl_session_info_init(&f->info, f->c.base.id, f->peer, &f->task);
    f->rd = sl_chunk_reader_new(1 << 20, 64);
    CU_ASSERT_FATAL(f->rd != NULL);
    sl_rtmp_conn_init(&f->c, 1, 0);
    return f;
}

/* Ends the connection as its session would and waits until no wake or
 * callback holds the task any more. */
static void
fake_free(struct fake *f)
{
    sl_conn_closing(&f->c.base);
    sl_rtmp_conn_free(&f->c);
    CU_ASSERT(sl_test_task_quiet(&f->task) == 0);
    sl_outq_destroy(&f->q);
    sl_session_info_destroy(&f->info);
    sl_chunk_reader_free(f->rd);
    free(f);
}

/* Sends one message as the client: chunked at 128 bytes as clients do
 * before they announce a chunk size.  What sl_rtmp_feed returns. */
static int
client_send(struct fake *f, uint8_t type, uint32_t msid, uint32_t ts,
            const uint8_t *p, size_t len)
{
    struct sl_buf *b = sl_chunk_encode(type == SL_MSG_COMMAND_AMF0 ? 3 : 6,
                                       type, msid, ts, p, len, 128);
    int rc;

    CU_ASSERT_FATAL(b != NULL);
    rc = sl_rtmp_feed(&f->c, b->data, b->len);
    if (rc >= 0)
        CU_ASSERT(rc == (int) b->len || sl_conn_waiting(&f->c.base));
    sl_buf_unref(b);
    return rc;
}

static int
client_cmd(struct fake *f, uint32_t msid, const struct sl_wr *w)
{
    CU_ASSERT_FATAL(!w->err);
    return client_send(f, SL_MSG_COMMAND_AMF0, msid, 0, w->start, sl_wr_len(w));
}

static int
do_connect(struct fake *f, const char *app)
{
    uint8_t      out[1024];
    struct sl_wr w;
    char         tc[256];

    snprintf(tc, sizeof(tc), "rtmp://127.0.0.1/%s", app);
    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_connect(&w, 1, app, tc);
    return client_cmd(f, 0, &w);
}

static int
do_create_stream(struct fake *f)
{
    uint8_t      out[256];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_create_stream(&w, 2);
    return client_cmd(f, 0, &w);
}

static int
do_publish(struct fake *f, const char *name)
{
    uint8_t      out[512];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_publish(&w, name);
    return client_cmd(f, 1, &w);
}

static int
do_play(struct fake *f, const char *name, double start)
{
    uint8_t      out[512];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_play(&w, name, start);
    return client_cmd(f, 1, &w);
}

static int
do_simple(struct fake *f, const char *cmd)
{
    uint8_t      out[256];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_string(&w, cmd);
    sl_amf_put_number(&w, 0);
    sl_amf_put_null(&w);
    sl_amf_put_number(&w, 1);
    return client_cmd(f, 1, &w);
}

/* An AVC sequence header and a keyframe, as FLV video bodies. */
static void
send_video(struct fake *f, uint32_t ts)
{
    static const uint8_t seq[] = {0x17, 0,    0,    0, 0,    1,    0x64, 0,
                                  0x1f, 0xff, 0xe1, 0, 4,    0x67, 0x64, 0,
                                  0x1f, 1,    0,    4, 0x68, 0xee, 0x3c, 0x80};
    static const uint8_t key[] = {0x17, 1, 0,    0,    0,    0, 0,
                                  0,    5, 0x65, 0x88, 0x84, 0, 0x10};

    if (ts == 0)
        CU_ASSERT(client_send(f, SL_MSG_VIDEO, 1, 0, seq, sizeof(seq)) >= 0);
    CU_ASSERT(client_send(f, SL_MSG_VIDEO, 1, ts, key, sizeof(key)) >= 0);
}

/* The index of the first reply from `from` on with this command or code
 * (matched against cmd, then code), or -1. */
static int
find(const struct fake *f, int from, const char *what)
{
    for (int i = from; i < f->nr; i++)
        if (!strcmp(f->r[i].cmd, what) || !strcmp(f->r[i].code, what))
            return i;
    return -1;
}

static int
find_uc(const struct fake *f, int from, int event)
{
    for (int i = from; i < f->nr; i++)
        if (f->r[i].type == SL_MSG_USER_CONTROL && f->r[i].num == event)
            return i;
    return -1;
}

/* connect + createStream, checking the replies a client waits for. */
static void
connected(struct fake *f, const char *app)
{
    CU_ASSERT_FATAL(do_connect(f, app) >= 0);
    CU_ASSERT(f->r[0].type == SL_MSG_SET_CHUNK_SIZE);
    CU_ASSERT(find(f, 0, "NetConnection.Connect.Success") > 0);
    CU_ASSERT(find_uc(f, 0, SL_UC_STREAM_BEGIN) > 0);
    CU_ASSERT(f->c.connected);
    CU_ASSERT_FATAL(do_create_stream(f) >= 0);
    CU_ASSERT(f->r[f->nr - 1].num == 1); /* message stream 1, always */
    CU_ASSERT_STRING_EQUAL(f->r[f->nr - 1].cmd, "_result");
}

static const char *
last_code(const struct fake *f)
{
    for (int i = f->nr - 1; i >= 0; i--)
        if (f->r[i].code[0] != '\0')
            return f->r[i].code;
    return "";
}

static void
test_publish_play_leave(void)
{
    struct fake      *pub = fake_new("127.0.0.1"), *pl = fake_new("127.0.0.1");
    struct sl_sub_msg m[16];
    int               n, mark, pending0 = atomic_load(&srv.pending);

    CU_ASSERT(pending0 >= 2);
    connected(pub, "live");
    CU_ASSERT_FATAL(do_publish(pub, "cam") >= 0);
    CU_ASSERT_STRING_EQUAL(last_code(pub), "NetStream.Publish.Start");
    CU_ASSERT(pub->c.base.role == SL_ROLE_PUBLISHER);
    CU_ASSERT(sl_hub_is_live(srv.hub, "live", "cam"));
    CU_ASSERT(atomic_load(&srv.publishers) == 1);
    CU_ASSERT(atomic_load(&srv.pending) == pending0 - 1);
    CU_ASSERT(atomic_load(&pub->info.role_a) == SL_SNAP_ROLE_PUBLISHER);

    connected(pl, "live");
    CU_ASSERT_FATAL(do_play(pl, "cam", -2) >= 0);
    mark = find(pl, 0, "NetStream.Play.Reset");
    CU_ASSERT(mark > 0);
    CU_ASSERT(find(pl, mark, "NetStream.Play.Start") > mark);
    CU_ASSERT(find(pl, mark, "|RtmpSampleAccess") > mark);
    CU_ASSERT(pl->c.base.role == SL_ROLE_PLAYER && pl->c.base.subscribed);
    CU_ASSERT(atomic_load(&srv.players) == 1);

    /* The publisher's media reaches the player's cursor. */
    send_video(pub, 0);
    send_video(pub, 40);
    sl_hub_flush(pub->c.base.pub_stream, sl_now_ms() + 1000);
    n = sl_sub_collect(&pl->c.base.sub, m, 16);
    CU_ASSERT(n >= 2);
    for (int i = 0; i < n; i++)
        sl_buf_unref(m[i].buf);
    CU_ASSERT(atomic_load(&pub->info.video_frames) == 2);

    /* deleteStream ends the publish; the player hears after the grace
     * period, and hears again when a publisher returns. */
    CU_ASSERT(do_simple(pub, "deleteStream") >= 0);
    CU_ASSERT_STRING_EQUAL(last_code(pub), "NetStream.Unpublish.Success");
    CU_ASSERT(pub->c.base.role == SL_ROLE_NONE);
    CU_ASSERT(!sl_hub_is_live(srv.hub, "live", "cam"));
    CU_ASSERT(atomic_load(&srv.publishers) == 0);
    CU_ASSERT(atomic_load(&srv.pending) == pending0 - 1);
    mark = pl->nr;
    CU_ASSERT(sl_rtmp_player_poll(&pl->c, sl_now_ms()) > 0); /* in grace */
    CU_ASSERT(pl->nr == mark);
    sl_rtmp_player_poll(&pl->c, sl_now_ms() + cfg->publish_grace_ms + 1000);
    CU_ASSERT(find(pl, mark, "NetStream.Play.UnpublishNotify") >= mark);
    CU_ASSERT(find_uc(pl, mark, SL_UC_STREAM_EOF) >= mark);
    CU_ASSERT_FATAL(do_publish(pub, "cam") >= 0);
    mark = pl->nr;
    sl_rtmp_player_poll(&pl->c, sl_now_ms());
    CU_ASSERT(find(pl, mark, "NetStream.Play.PublishNotify") >= mark);

    CU_ASSERT(do_simple(pl, "closeStream") >= 0);
    CU_ASSERT(pl->c.base.role == SL_ROLE_NONE && !pl->c.base.subscribed);
    CU_ASSERT(atomic_load(&srv.players) == 0);
    CU_ASSERT(!pub->closed && !pl->closed);
    fake_free(pl);
    fake_free(pub);
    CU_ASSERT(atomic_load(&srv.publishers) == 0);
    CU_ASSERT(atomic_load(&srv.pending) == pending0 - 2);
}

static void
test_protocol_errors(void)
{
    struct fake *f = fake_new("127.0.0.1");
    struct fake *a, *b;

    /* Anything but connect first closes. */
    CU_ASSERT(do_create_stream(f) == -EPROTO);
    CU_ASSERT(f->closed);
    CU_ASSERT_STRING_EQUAL(f->close_why, "'createStream' before connect");
    fake_free(f);

    /* An unknown app is rejected. */
    f = fake_new("127.0.0.1");
    CU_ASSERT(do_connect(f, "nosuchapp") == -EPROTO);
    CU_ASSERT(find(f, 0, "NetConnection.Connect.Rejected") >= 0);
    CU_ASSERT(f->closed && f->close_level == SL_LOG_WARN);
    fake_free(f);

    /* A second connect on one connection closes it. */
    f = fake_new("127.0.0.1");
    connected(f, "live");
    CU_ASSERT(do_connect(f, "live") == -EPROTO);
    CU_ASSERT_STRING_EQUAL(f->close_why, "second connect on one connection");
    fake_free(f);

    /* Publishing twice on one connection, or a name already live. */
    a = fake_new("127.0.0.1");
    b = fake_new("127.0.0.1");
    connected(a, "live");
    connected(b, "live");
    CU_ASSERT(do_publish(a, "dup") >= 0);
    CU_ASSERT(do_publish(b, "dup") == -EPROTO);
    CU_ASSERT_STRING_EQUAL(last_code(b), "NetStream.Publish.BadName");
    CU_ASSERT(strstr(b->close_why, "already being published") != NULL);
    CU_ASSERT(do_publish(a, "dup2") == -EPROTO);
    CU_ASSERT_STRING_EQUAL(last_code(a), "NetStream.Publish.BadConnection");
    CU_ASSERT(!sl_hub_is_live(srv.hub, "live", "dup"));
    fake_free(a);
    fake_free(b);

    /* A play asking for recorded content that is not live: not found,
     * and the connection stays. */
    f = fake_new("127.0.0.1");
    connected(f, "live");
    CU_ASSERT(do_play(f, "nothing", 0) >= 0);
    CU_ASSERT_STRING_EQUAL(last_code(f), "NetStream.Play.StreamNotFound");
    CU_ASSERT(!f->closed && f->c.base.role == SL_ROLE_NONE);
    fake_free(f);
}

static void
test_refusals(void)
{
    struct fake *f = fake_new("127.0.0.1");

    /* A wrong stream key: BadName, the reason, and a close. */
    connected(f, "keyed");
    CU_ASSERT(do_publish(f, "guess-0000") == -EPROTO);
    CU_ASSERT_STRING_EQUAL(last_code(f), "NetStream.Publish.BadName");
    CU_ASSERT_STRING_EQUAL(f->r[f->nr - 1].desc,
                           "unauthorized: unknown stream key");
    CU_ASSERT(f->closed && f->c.base.role == SL_ROLE_NONE);
    fake_free(f);

    /* The right key publishes under its public name. */
    f = fake_new("127.0.0.1");
    connected(f, "keyed");
    CU_ASSERT(do_publish(f, "sekrit-key-1") >= 0);
    CU_ASSERT_STRING_EQUAL(f->c.base.stream_name, "public1");
    CU_ASSERT(sl_hub_is_live(srv.hub, "keyed", "public1"));
    fake_free(f);

    /* An address that may neither publish nor play cannot connect. */
    f = fake_new("192.0.2.9");
    CU_ASSERT(do_connect(f, "keyed") == -EPROTO);
    CU_ASSERT(find(f, 0, "NetConnection.Connect.Rejected") >= 0);
    fake_free(f);
}

/* The address slot a session hands its connection (conn.h ipslot),
 * taken from t as the acceptor would. */
static struct fake *
fake_counted(const char *ip, struct sl_iplimit *t, struct sl_ipticket *tk)
{
    struct fake           *f = fake_new(ip);
    struct sl_iplimit_conf lc = {cfg->max_pending_per_ip, 0, 1,
                                 cfg->max_players_per_ip};
    struct sl_ipkey        k;

    CU_ASSERT_FATAL(sl_ipkey_from_sockaddr(&f->addr, &k) == 0);
    CU_ASSERT_FATAL(sl_iplimit_acquire(t, &k, &lc, 0, tk) == 0);
    f->c.base.ipslot = tk;
    return f;
}

/* The per-address caps through the command state machine: a play over
 * max_players_per_ip is refused with Play.Failed and counted, and a
 * player that stops (closeStream) while its address is at its pending
 * cap is closed instead of counted back. */
static void
test_address_caps(void)
{
    struct sl_iplimit *t = sl_iplimit_new(0);
    struct sl_ipticket tk[3];
    struct fake       *f[3];
    struct sl_ipkey    k;
    uint32_t           old_pending = cfg->max_pending_per_ip;
    uint32_t           old_players = cfg->max_players_per_ip;
    uint64_t           refused0 = atomic_load(&srv.plays_refused_per_ip);

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    cfg->max_pending_per_ip = 2;
    cfg->max_players_per_ip = 1;
    f[0] = fake_counted("192.0.2.20", t, &tk[0]);
    f[1] = fake_counted("192.0.2.20", t, &tk[1]);
    CU_ASSERT_FATAL(sl_ipkey_from_sockaddr(&f[0]->addr, &k) == 0);
    CU_ASSERT(sl_iplimit_pending(t, &k) == 2);

    connected(f[0], "live");
    CU_ASSERT_FATAL(do_play(f[0], "caps", -2) >= 0);
    CU_ASSERT_STRING_EQUAL(last_code(f[0]), "NetStream.Play.Start");
    CU_ASSERT(sl_iplimit_pending(t, &k) == 1);
    CU_ASSERT(sl_iplimit_players(t, &k) == 1);

    /* The second player of the address: refused, said why, closed. */
    connected(f[1], "live");
    CU_ASSERT(do_play(f[1], "caps", -2) == -EPROTO);
    CU_ASSERT_STRING_EQUAL(last_code(f[1]), "NetStream.Play.Failed");
    CU_ASSERT_STRING_EQUAL(f[1]->r[f[1]->nr - 1].desc,
                           "max_players_per_ip (1) reached");
    CU_ASSERT(f[1]->closed && f[1]->c.base.role == SL_ROLE_NONE);
    CU_ASSERT(atomic_load(&srv.plays_refused_per_ip) == refused0 + 1);
    CU_ASSERT(sl_iplimit_players(t, &k) == 1);
    fake_free(f[1]);
    sl_iplimit_release(&tk[1]);

    /* Two pending again; the player stops and is not taken back. */
    f[1] = fake_counted("192.0.2.20", t, &tk[1]);
    f[2] = fake_counted("192.0.2.20", t, &tk[2]);
    CU_ASSERT(sl_iplimit_pending(t, &k) == 2);
    do_simple(f[0], "closeStream"); /* the feed ends: it is closing */
    CU_ASSERT(f[0]->closed && f[0]->close_level == SL_LOG_WARN);
    CU_ASSERT_STRING_EQUAL(f[0]->close_why, "max_pending_per_ip (2) reached");
    CU_ASSERT(sl_iplimit_pending(t, &k) == 2);
    CU_ASSERT(sl_iplimit_players(t, &k) == 0);

    for (int i = 0; i < 3; i++) {
        fake_free(f[i]);
        sl_iplimit_release(&tk[i]);
    }
    CU_ASSERT(sl_iplimit_live(t, &k) == 0);
    CU_ASSERT(sl_iplimit_underflows(t) == 0);
    sl_iplimit_unref(t);
    cfg->max_pending_per_ip = old_pending;
    cfg->max_players_per_ip = old_players;
}

/* Waits (bounded) for a parked request's answer. */
static int
wait_verdict(struct fake *f)
{
    double deadline = sl_now() + 10 * sl_time_scale();

    while (!sl_conn_verdict_ready(&f->c.base)) {
        if (sl_now() > deadline)
            return -1;
        sl_sleep(0.01);
    }
    return 0;
}

static void
test_callback_wait(void)
{
    struct fake   *f = fake_new("127.0.0.1");
    uint8_t        out[512];
    struct sl_wr   w;
    struct sl_buf *b1, *b2;
    uint8_t        both[1024];
    int            rc;

    /* publish then createStream in one read: the publish waits for the
     * callback, and the bytes after it are left for the owner. */
    connected(f, "cbdead");
    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_publish(&w, "cam");
    b1 = sl_chunk_encode(3, SL_MSG_COMMAND_AMF0, 1, 0, w.start, sl_wr_len(&w),
                         128);
    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_create_stream(&w, 3);
    b2 = sl_chunk_encode(3, SL_MSG_COMMAND_AMF0, 0, 0, w.start, sl_wr_len(&w),
                         128);
    CU_ASSERT_FATAL(b1 != NULL && b2 != NULL &&
                    b1->len + b2->len <= sizeof(both));
    memcpy(both, b1->data, b1->len);
    memcpy(both + b1->len, b2->data, b2->len);
    rc = sl_rtmp_feed(&f->c, both, b1->len + b2->len);
    CU_ASSERT(rc == (int) b1->len);
    CU_ASSERT(sl_conn_waiting(&f->c.base));
    CU_ASSERT(f->c.base.role == SL_ROLE_NONE && !f->closed);
    /* Nothing listens there: the answer is a refusal. */
    CU_ASSERT_FATAL(wait_verdict(f) == 0);
    CU_ASSERT(sl_rtmp_resume(&f->c) == -EPROTO);
    CU_ASSERT(!sl_conn_waiting(&f->c.base));
    CU_ASSERT_STRING_EQUAL(last_code(f), "NetStream.Publish.BadName");
    CU_ASSERT(strstr(f->r[f->nr - 1].desc, "unauthorized: callback said no") ==
              f->r[f->nr - 1].desc);
    CU_ASSERT(f->closed);
    sl_buf_unref(b1);
    sl_buf_unref(b2);
    fake_free(f);
}

static void
test_callback_allows_and_redirects(void)
{
    struct fake *f;

    if (backend_port <= 0) {
        CU_FAIL("callback backend did not start");
        return;
    }
    /* 2xx: the publish goes on once the answer is in. */
    f = fake_new("127.0.0.1");
    connected(f, "cbrules");
    CU_ASSERT(do_publish(f, "okcam") >= 0);
    CU_ASSERT(sl_conn_waiting(&f->c.base));
    CU_ASSERT_FATAL(wait_verdict(f) == 0);
    CU_ASSERT(sl_rtmp_resume(&f->c) == 0);
    CU_ASSERT_STRING_EQUAL(last_code(f), "NetStream.Publish.Start");
    CU_ASSERT(sl_hub_is_live(srv.hub, "cbrules", "okcam"));

    /* A redirect to another stream: the player plays that one. */
    {
        struct fake *p = fake_new("127.0.0.1");

        connected(p, "cbrules");
        CU_ASSERT(do_play(p, "moved", -2) >= 0);
        CU_ASSERT_FATAL(wait_verdict(p) == 0);
        CU_ASSERT(sl_rtmp_resume(&p->c) == 0);
        CU_ASSERT_STRING_EQUAL(last_code(p), "NetStream.Play.Start");
        CU_ASSERT_STRING_EQUAL(p->c.base.stream_name, "okcam");
        CU_ASSERT(p->c.base.subscribed);
        fake_free(p);
    }
    /* 403: refused with the status. */
    {
        struct fake *p = fake_new("127.0.0.1");

        connected(p, "cbrules");
        CU_ASSERT(do_play(p, "badcam", -2) >= 0);
        CU_ASSERT_FATAL(wait_verdict(p) == 0);
        CU_ASSERT(sl_rtmp_resume(&p->c) == -EPROTO);
        CU_ASSERT_STRING_EQUAL(last_code(p), "NetStream.Play.Failed");
        CU_ASSERT(strstr(p->r[p->nr - 1].desc, "HTTP 403") != NULL);
        fake_free(p);
    }
    fake_free(f);
}

static void
test_no_callback_client(void)
{
    struct fake         *f = fake_new("127.0.0.1");
    struct sl_callbacks *cb = atomic_load(&srv.callbacks);

    /* Without a callback client (a server stopping), a request that
     * needs one is refused at once rather than parked forever. */
    atomic_store(&srv.callbacks, NULL);
    connected(f, "cbdead");
    CU_ASSERT(do_publish(f, "cam") == -EPROTO);
    CU_ASSERT(!sl_conn_waiting(&f->c.base));
    CU_ASSERT_STRING_EQUAL(f->r[f->nr - 1].desc,
                           "unauthorized: callbacks are not available");
    atomic_store(&srv.callbacks, cb);
    fake_free(f);
}

static int
start_backend(void)
{
    char   port_file[PATH_MAX + 16], log_path[PATH_MAX + 16];
    char  *argv[] = {"python3", SCRIPT,   "--port-file", port_file,
                     "--log",   log_path, NULL};
    char  *text;
    double deadline = sl_now() + 10 * sl_time_scale();

    snprintf(port_file, sizeof(port_file), "%s/port", dir);
    snprintf(log_path, sizeof(log_path), "%s/requests.log", dir);
    if (sl_proc_spawn(&backend, argv, NULL, NULL) < 0)
        return -1;
    while ((text = sl_read_file(port_file)) == NULL) {
        if (sl_now() > deadline || sl_proc_wait(&backend, 0) == 0)
            return -1;
        sl_sleep(0.05);
    }
    backend_port = atoi(text);
    free(text);
    return sl_wait_port(backend_port, 10 * sl_time_scale());
}

static int
init_suite(void)
{
    struct sl_hub_limits lim = {.chunk_size = 4096,
                                .merge_write_ms = 0,
                                .gop_cache = 1,
                                .gop_max_msgs = 512,
                                .gop_max_bytes = 1 << 20,
                                .ring_max_ms = 6000};
    char ini[PATH_MAX + 16], keys[PATH_MAX + 16], text[PATH_MAX + 1024];
    char err[512];

    if (sl_tmpdir(dir) < 0)
        return -1;
    if (start_backend() < 0)
        backend_port = -1;
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    snprintf(ini, sizeof(ini), "%s/sluice.ini", dir);
    snprintf(text, sizeof(text),
             "[server]\npublish_grace = 1s\n"
             "[app:live]\n"
             "[app:keyed]\npublish_keys = %s\n"
             "allow_publish = 127.0.0.1\nallow_play = 127.0.0.1\n"
             "[app:cbdead]\non_publish = http://127.0.0.1:1/\n"
             "callback_timeout = 2s\n"
             "[app:cbrules]\non_publish = http://127.0.0.1:%d/rules\n"
             "on_play = http://127.0.0.1:%d/rules?to=okcam\n",
             keys, backend_port, backend_port);
    if (sl_write_file(keys, "sekrit-key-1 public1\n") < 0 ||
        sl_write_file(ini, text) < 0)
        return -1;
    cfg = sl_config_load(ini, err, sizeof(err));
    if (cfg == NULL) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    if (sl_test_server_init(&srv, &lim) < 0)
        return -1;
    srv.callbacks = sl_callbacks_new(16);
    if (srv.callbacks == NULL)
        return -1;
    return 0;
}

static int
clean_suite(void)
{
    sl_test_server_free(&srv);
    sl_config_unref(cfg);
    if (backend_port > 0 || backend.pid > 0)
        sl_proc_kill(&backend);
    return 0;
}

void
sl_test_suite_rtmp_cmd(void)
{
    CU_pSuite s = CU_add_suite("rtmp_cmd", init_suite, clean_suite);

    CU_add_test(s, "connect, createStream, publish, play, media, leave",
                test_publish_play_leave);
    CU_add_test(s, "protocol errors close, StreamNotFound does not",
                test_protocol_errors);
    CU_add_test(s, "refusals: stream key, address; a mapped key publishes",
                test_refusals);
    CU_add_test(s, "per-address caps: players, back to pending",
                test_address_caps);
    CU_add_test(s, "a callback parks the request and the bytes after it",
                test_callback_wait);
    CU_add_test(s, "callback answers: allow, redirect, refuse",
                test_callback_allows_and_redirects);
    CU_add_test(s, "no callback client: refused, not parked",
                test_no_callback_client);
}
