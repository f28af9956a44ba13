/*
 * The web port's protocol (web/http_conn.h) against a fake transport:
 * the test plays the browser, writing requests into the protocol's feed
 * and reading back the bytes it queued, with a real hub behind it.  No
 * sockets; the deadlines are read, not waited for.
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
#include "rtmp/flv.h"
#include "server/access.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/proto.h"
#include "server/server.h"
#include "server/session_info.h"
#include "tests/support/proc.h"
#include "tests/support/test_server.h"
#include "web/http_conn.h"

#define OUT_MAX 65536
#define SECRET "web-secret-for-tests"

/* A browser's connection: the protocol's state, the transport it writes
 * to, and what the browser has received. */
struct fake {
    struct sl_task          task;
    struct sl_conn         *c; /* the protocol's state, sl_web_proto.size */
    struct sl_sess_info     info;
    struct sl_outq          q;
    struct sockaddr_storage addr;
    char                    peer[64];
    char                    out[OUT_MAX]; /* everything queued, in order */
    size_t                  nout;
    int                     closed;
    char                    close_why[160];
};

static struct sl_server  srv;
static struct sl_config *cfg;
static char              dir[PATH_MAX];
static uint64_t          next_id;

static void
no_run(struct sl_task *t)
{
}

static int
fake_send(void *io, struct sl_buf *b)
{
    struct fake *f = io;

    CU_ASSERT_FATAL(f->nout + b->len < sizeof(f->out));
    memcpy(f->out + f->nout, b->data, b->len);
    f->nout += b->len;
    f->out[f->nout] = '\0';
    return 0;
}

static void
fake_close(void *io, int level, const char *why)
{
    struct fake *f = io;

    if (f->closed)
        return;
    f->closed = 1;
    snprintf(f->close_why, sizeof(f->close_why), "%s", why);
    sl_conn_closing(f->c);
}

static const struct sl_conn_transport fake_transport = {
    .send = fake_send,
    .close = fake_close,
};

static struct fake *
fake_new(void)
{
    struct fake        *f = calloc(1, sizeof(*f));
    struct sockaddr_in *a = (struct sockaddr_in *) &f->addr;
    struct sl_conn     *c = calloc(1, sl_web_proto.size);

    CU_ASSERT_FATAL(f != NULL && c != NULL);
    sl_task_init(&f->task, srv.sched, no_run, no_run);
    a->sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
    snprintf(f->peer, sizeof(f->peer), "127.0.0.1:4321");
    c->tp = &fake_transport;
    c->io = f;
    c->srv = &srv;
    c->cfg = cfg;
    c->task = &f->task;
    c->info = &f->info;
    c->id = ++next_id;
    c->peer = f->peer;
    c->peer_ip = "127.0.0.1";
    c->addr = &f->addr;
    c->proto = sl_web_proto.id;
    CU_ASSERT_FATAL(sl_outq_init(&f->q, 512) == 0);
    c->sub.q = &f->q;
    sl_session_info_init(&f->info, c->id, f->peer, &f->task);
    f->c = c;
    CU_ASSERT_FATAL(sl_web_proto.init(c, 1) == 0);
    return f;
}

static void
fake_free(struct fake *f)
{
    sl_conn_closing(f->c);
    sl_web_proto.free(f->c);
    CU_ASSERT(sl_test_task_quiet(&f->task) == 0);
    sl_outq_destroy(&f->q);
    sl_session_info_destroy(&f->info);
    free(f->c);
    free(f);
}

/* The browser writes text; what the protocol's feed returns. */
static int
send_text(struct fake *f, const char *text)
{
    return sl_web_proto.feed(f->c, (const uint8_t *) text, strlen(text));
}

/* How many times s occurs in what the browser received. */
static int
count(const struct fake *f, const char *s)
{
    int         n = 0;
    const char *p = f->out;

    while ((p = strstr(p, s)) != NULL) {
        n++;
        p += strlen(s);
    }
    return n;
}

static void
feed_media(struct sl_stream *s, uint8_t type, uint32_t ts, const uint8_t *b,
           size_t len)
{
    struct sl_buf *buf = sl_buf_from(b, len);

    CU_ASSERT(sl_hub_media(s, type, ts, buf, sl_now_ms()) == 0);
    sl_buf_unref(buf);
}

static const uint8_t AVC_SEQ[] = {0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f};
static const uint8_t AVC_KEY[] = {0x17, 1, 0, 0, 0, 0xaa, 0xbb};
static const uint8_t AAC_SEQ[] = {0xaf, 0, 0x12, 0x10};

static void
test_answers_without_media(void)
{
    struct fake *f = fake_new();
    const char   two[] = "GET /live/a.flv HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n";

    /* Two pipelined requests: two answers, in order, the connection
     * kept. */
    CU_ASSERT(send_text(f, two) == (int) strlen(two));
    CU_ASSERT(count(f, "HTTP/1.1 404 Not Found\r\n") == 2);
    CU_ASSERT(strstr(f->out, "stream not live") != NULL);
    CU_ASSERT(strstr(f->out, "stream not live") <
              strstr(f->out + 20, "HTTP/1.1 404"));
    CU_ASSERT(count(f, "Access-Control-Allow-Origin: *\r\n") == 2);
    CU_ASSERT(!f->closed);
    /* An app that does not exist, a method we do not serve, a CORS
     * preflight. */
    f->nout = 0;
    CU_ASSERT(send_text(f, "GET /other/a.flv HTTP/1.1\r\nHost: x\r\n\r\n") > 0);
    CU_ASSERT(strstr(f->out, "404 Not Found: no such application") != NULL);
    f->nout = 0;
    CU_ASSERT(send_text(f, "DELETE /live/a.flv HTTP/1.1\r\nHost: x\r\n\r\n") >
              0);
    CU_ASSERT(strstr(f->out, "HTTP/1.1 405 ") == f->out);
    CU_ASSERT(strstr(f->out, "Allow: GET, HEAD, OPTIONS\r\n") != NULL);
    f->nout = 0;
    CU_ASSERT(send_text(f, "OPTIONS /live/a.flv HTTP/1.1\r\nHost: x\r\n"
                           "Origin: http://b.example\r\n\r\n") > 0);
    CU_ASSERT(strstr(f->out, "HTTP/1.1 204 ") == f->out);
    CU_ASSERT(strstr(f->out, "Access-Control-Allow-Methods: GET, HEAD, "
                             "OPTIONS\r\n") != NULL);
    CU_ASSERT(!f->closed);
    /* HTTP/1.0 without keep-alive: answered, then closed. */
    f->nout = 0;
    CU_ASSERT(send_text(f, "GET /x HTTP/1.0\r\n\r\n") == -EPROTO);
    CU_ASSERT(strstr(f->out, "Connection: close\r\n") != NULL);
    CU_ASSERT(f->closed);
    fake_free(f);

    /* A malformed request: its status, and the connection ends. */
    f = fake_new();
    CU_ASSERT(send_text(f, "GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n") ==
              -EPROTO);
    CU_ASSERT(strstr(f->out, "HTTP/1.1 400 ") == f->out);
    CU_ASSERT(f->closed);
    fake_free(f);
}

static void
test_flv_stream(void)
{
    struct fake      *f = fake_new(), *h = fake_new();
    struct sl_stream *s;
    struct sl_sub_msg m[16];
    const char       *body;
    int               pub, n, players = atomic_load(&srv.players);

    CU_ASSERT_FATAL(sl_hub_publish(srv.hub, "live", "cam", &pub, &s) == 0);
    feed_media(s, 9, 0, AVC_SEQ, sizeof(AVC_SEQ));
    feed_media(s, 8, 0, AAC_SEQ, sizeof(AAC_SEQ));
    feed_media(s, 9, 0, AVC_KEY, sizeof(AVC_KEY));

    /* HEAD: what a GET starts with, without the stream. */
    CU_ASSERT(send_text(h, "HEAD /live/cam.flv HTTP/1.1\r\nHost: x\r\n\r\n") >
              0);
    CU_ASSERT(strstr(h->out, "HTTP/1.1 200 OK\r\n") == h->out);
    CU_ASSERT(strstr(h->out, "Content-Type: video/x-flv\r\n") != NULL);
    CU_ASSERT(strstr(h->out, "\r\n\r\n")[4] == '\0');
    CU_ASSERT(h->c->role == SL_ROLE_NONE && !h->closed);

    /* GET: the head, the FLV header (audio and video), then the
     * subscription's FLV tags: headers, then the GOP. */
    CU_ASSERT(send_text(f, "GET /live/cam.flv HTTP/1.1\r\nHost: x\r\n\r\n") >
              0);
    CU_ASSERT(strstr(f->out, "HTTP/1.1 200 OK\r\n") == f->out);
    CU_ASSERT(strstr(f->out, "Content-Length") == NULL);
    body = strstr(f->out, "\r\n\r\n");
    CU_ASSERT_FATAL(body != NULL);
    body += 4;
    CU_ASSERT(memcmp(body, "FLV\x01\x05", 5) == 0);
    CU_ASSERT(f->c->role == SL_ROLE_PLAYER && f->c->sub.flv);
    CU_ASSERT(atomic_load(&srv.players) == players + 1);
    CU_ASSERT(atomic_load(&f->info.role_a) == SL_SNAP_ROLE_PLAYER);
    CU_ASSERT(f->q.tail - f->q.head == 2); /* the two codec headers */
    CU_ASSERT(f->q.items[f->q.head & (f->q.cap - 1)].buf->data[0] == 9);
    n = sl_sub_collect(&f->c->sub, m, 16);
    CU_ASSERT_FATAL(n == 1);
    CU_ASSERT(m[0].buf->data[0] == 9 &&
              m[0].buf->len == SL_FLV_TAG_HDR + sizeof(AVC_KEY) + 4);
    sl_buf_unref(m[0].buf);
    /* Input after a streaming request is not read as requests. */
    CU_ASSERT(send_text(f, "garbage") == 7);
    CU_ASSERT(!f->closed);

    /* The publisher leaves: the response ends after publish_grace. */
    sl_hub_unpublish(s, &pub);
    CU_ASSERT(sl_web_proto.poll(f->c, sl_now_ms()) > 0);
    CU_ASSERT(!f->closed);
    sl_web_proto.poll(f->c, sl_now_ms() + cfg->publish_grace_ms + 1000);
    CU_ASSERT(f->closed);
    CU_ASSERT_STRING_EQUAL(f->close_why, "the stream ended");
    CU_ASSERT(f->c->role == SL_ROLE_NONE);
    fake_free(f);
    fake_free(h);
}

static void
test_signed_urls(void)
{
    struct fake      *f = fake_new();
    struct sl_stream *s;
    int               pub;
    char              req[512], sig[65];
    long long         exp = (long long) time(NULL) + 60;

    CU_ASSERT_FATAL(sl_hub_publish(srv.hub, "signed", "cam", &pub, &s) == 0);
    CU_ASSERT(send_text(f, "GET /signed/cam.flv HTTP/1.1\r\nHost: x\r\n\r\n") >
              0);
    CU_ASSERT(strstr(f->out, "HTTP/1.1 403 ") == f->out);
    CU_ASSERT(strstr(f->out, "no signature") != NULL);
    CU_ASSERT(f->c->role == SL_ROLE_NONE && !f->closed);
    f->nout = 0;
    sl_sign_make(SECRET, "signed", "cam", exp, sig);
    snprintf(req, sizeof(req),
             "GET /signed/cam.flv?expires=%lld&sign=%s HTTP/1.1\r\n"
             "Host: x\r\n\r\n",
             exp, sig);
    CU_ASSERT(send_text(f, req) > 0);
    CU_ASSERT(strstr(f->out, "HTTP/1.1 200 OK\r\n") == f->out);
    CU_ASSERT(f->c->role == SL_ROLE_PLAYER);
    sl_hub_unpublish(s, &pub);
    fake_free(f);
}

static void
test_deadlines(void)
{
    struct fake          *f = fake_new();
    struct sl_proto_times t = {1000, 1000, 1000};
    const char           *why = NULL;
    uint64_t              due;

    /* A fresh connection has request_timeout for its first head. */
    due = sl_web_proto.deadline(f->c, &t, &why);
    CU_ASSERT(due == 1000 + cfg->web_request_timeout_ms);
    CU_ASSERT_STRING_EQUAL(why, "request timeout");
    /* After an answer: keepalive_timeout from it. */
    CU_ASSERT(send_text(f, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n") > 0);
    due = sl_web_proto.deadline(f->c, &t, &why);
    CU_ASSERT_STRING_EQUAL(why, "keep-alive timeout");
    CU_ASSERT(due >= sl_now_ms() - 1000 &&
              due <= sl_now_ms() + cfg->web_keepalive_timeout_ms);
    /* The next head begun: request_timeout from its first bytes. */
    CU_ASSERT(send_text(f, "GET /y HT") == 9);
    due = sl_web_proto.deadline(f->c, &t, &why);
    CU_ASSERT_STRING_EQUAL(why, "request timeout");
    CU_ASSERT(due <= sl_now_ms() + cfg->web_request_timeout_ms);
    fake_free(f);
}

static void
test_cors_list(void)
{
    struct sl_config *open = cfg;
    char              ini[PATH_MAX + 16], err[512];
    struct fake      *f;

    snprintf(ini, sizeof(ini), "%s/cors.ini", dir);
    CU_ASSERT_FATAL(sl_write_file(ini, "[web]\ncors_origins = "
                                       "http://a.example\n[app:live]\n") == 0);
    cfg = sl_config_load(ini, err, sizeof(err));
    CU_ASSERT_FATAL(cfg != NULL);
    f = fake_new();
    CU_ASSERT(send_text(f, "GET /x HTTP/1.1\r\nHost: x\r\n"
                           "Origin: http://a.example\r\n\r\n") > 0);
    CU_ASSERT(
        strstr(f->out, "Access-Control-Allow-Origin: http://a.example\r\n") !=
        NULL);
    f->nout = 0;
    CU_ASSERT(send_text(f, "GET /x HTTP/1.1\r\nHost: x\r\n"
                           "Origin: http://b.example\r\n\r\n") > 0);
    CU_ASSERT(strstr(f->out, "Access-Control-Allow-Origin") == NULL);
    fake_free(f);
    sl_config_unref(cfg);
    cfg = open;
}

static int
init_suite(void)
{
    struct sl_hub_limits lim = {.chunk_size = 4096,
                                .gop_cache = 1,
                                .gop_max_msgs = 512,
                                .gop_max_bytes = 1 << 20,
                                .ring_max_ms = 6000};
    char                 ini[PATH_MAX + 16], err[512];

    if (sl_tmpdir(dir) < 0)
        return -1;
    snprintf(ini, sizeof(ini), "%s/sluice.ini", dir);
    if (sl_write_file(ini, "[server]\npublish_grace = 1s\n"
                           "[web]\nrequest_timeout = 3s\n"
                           "keepalive_timeout = 5s\n"
                           "[app:live]\n"
                           "[app:signed]\nplay_secret = " SECRET "\n") < 0)
        return -1;
    cfg = sl_config_load(ini, err, sizeof(err));
    if (cfg == NULL) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    if (sl_test_server_init(&srv, &lim) < 0)
        return -1;

    return 0;
}

static int
clean_suite(void)
{
    sl_test_server_free(&srv);
    sl_config_unref(cfg);
    return 0;
}

void
sl_test_suite_http_conn(void)
{
    CU_pSuite s = CU_add_suite("http_conn", init_suite, clean_suite);

    CU_add_test(s,
                "answers without media: 404, 405, OPTIONS, pipelining, "
                "HTTP/1.0, a bad request",
                test_answers_without_media);
    CU_add_test(s, "HTTP-FLV: HEAD, GET, FLV tags, the stream's end",
                test_flv_stream);
    CU_add_test(s, "signed URLs on the web port", test_signed_urls);
    CU_add_test(s, "deadlines: first request, keep-alive, a begun request",
                test_deadlines);
    CU_add_test(s, "cors_origins lists origins", test_cors_list);
}
