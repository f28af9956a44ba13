/*
 * Hostile and broken clients.  While a good ffmpeg publisher and player
 * pair streams, each bad case runs on its own connection; every one must
 * be closed by the server (our read sees the end or a reset within a
 * bound) with a WARN line about that connection in the log, and the good
 * player must still receive every frame.  The log names a connection by
 * its peer address, so each case finds its own line through the local
 * port of its socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/amf.h"
#include "rtmp/rtmp.h"
#include "rtmp/handshake.h"
#include "rtmp/rd.h"
#include "tests/integration/itest.h"

#define GARBAGE_CONNS 200
#define GARBAGE_SEED 20240601u

static struct sl_srv bad_srv;

static struct sl_rc *
open_hs(void)
{
    struct sl_rc *c = sl_rc_open(bad_srv.port, 0, IT_S(5));

    if (c != NULL && sl_rc_handshake(c, IT_S(5)) < 0) {
        sl_rc_close(c);
        return NULL;
    }
    return c;
}

static struct sl_rc *
open_connected(void)
{
    struct sl_rc *c = open_hs();

    if (c != NULL && sl_rc_connect(c, "live", IT_S(5)) < 0) {
        sl_rc_close(c);
        return NULL;
    }
    return c;
}

/* Each case: make the connection, misbehave, expect the close. */

static int
case_http(void)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    struct sl_rc     *c = sl_rc_open(bad_srv.port, 0, IT_S(5));
    int               ok;

    if (c == NULL)
        return 0;
    sl_rc_send_raw(c, req, sizeof(req) - 1);
    ok = sl_itest_expect_closed(&bad_srv, c, "not an RTMP handshake", IT_S(5));
    sl_rc_close(c);
    return ok;
}

static int
case_set_chunk_size(uint32_t size)
{
    struct sl_rc *c = open_connected();
    uint8_t       b[4];
    struct sl_wr  w;
    char          why[64];
    int           ok;

    if (c == NULL)
        return 0;
    sl_wr_init(&w, b, sizeof(b));
    sl_wr_u32(&w, size);
    sl_rc_send_msg(c, 2, SL_MSG_SET_CHUNK_SIZE, 0, 0, b, 4);
    snprintf(why, sizeof(why), "bad Set Chunk Size %u", size);
    ok = sl_itest_expect_closed(&bad_srv, c, why, IT_S(5));
    sl_rc_close(c);
    return ok;
}

static int
case_too_long(void)
{
    struct sl_rc *c = open_connected();
    size_t        len = 64 * 1024 + 1;
    uint8_t      *p = calloc(1, len);
    int           ok = 0;

    if (c != NULL && p != NULL) {
        /* The server may close before it all went out: a failed send
         * is part of the expected outcome. */
        sl_rc_send_msg(c, 4, SL_MSG_VIDEO, 1, 0, p, len);
        ok = sl_itest_expect_closed(&bad_srv, c, "longer than the limit",
                                    IT_S(5));
    }
    free(p);
    sl_rc_close(c);
    return ok;
}

static int
case_many_chunk_streams(void)
{
    struct sl_rc *c = open_connected();
    uint8_t       one = 0;
    int           ok;

    if (c == NULL)
        return 0;
    /* Harmless one-byte messages of an unknown type, each on a chunk
     * stream of its own (ids past 63 take the two-byte header). */
    for (uint32_t csid = 4; csid < 4 + 70; csid++)
        if (sl_rc_send_msg(c, csid, 0x50, 0, 0, &one, 1) < 0)
            break;
    ok = sl_itest_expect_closed(&bad_srv, c, "too many chunk streams", IT_S(5));
    sl_rc_close(c);
    return ok;
}

/* Sends an AMF0 command built by the caller on a handshaken connection
 * and expects the close with why. */
static int
send_command_expect(struct sl_rc *c, struct sl_wr *w, const char *why)
{
    int ok;

    if (c == NULL)
        return 0;
    sl_rc_send_command(c, 0, w->start, sl_wr_len(w));
    ok = sl_itest_expect_closed(&bad_srv, c, why, IT_S(5));
    sl_rc_close(c);
    return ok;
}

static int
case_deep_amf(void)
{
    uint8_t      buf[4096];
    struct sl_wr w;

    sl_wr_init(&w, buf, sizeof(buf));
    sl_amf_put_string(&w, "connect");
    sl_amf_put_number(&w, 1);
    sl_amf_put_object_start(&w);
    sl_amf_put_key(&w, "app");
    sl_amf_put_string(&w, "live");
    for (int i = 0; i < 4 * SL_AMF_MAX_DEPTH; i++) {
        sl_amf_put_key(&w, "n");
        sl_amf_put_object_start(&w);
    }
    for (int i = 0; i <= 4 * SL_AMF_MAX_DEPTH; i++)
        sl_amf_put_object_end(&w);
    return send_command_expect(open_hs(), &w, "malformed AMF");
}

static int
case_truncated_amf(void)
{
    uint8_t      buf[512];
    struct sl_wr w;

    sl_wr_init(&w, buf, sizeof(buf));
    sl_amf_put_string(&w, "connect");
    sl_amf_put_number(&w, 1);
    sl_amf_put_object_start(&w);
    sl_amf_put_key(&w, "app");
    sl_amf_put_string(&w, "live");
    sl_amf_put_key(&w, "tcUrl");
    sl_amf_put_string(&w, "rtmp://127.0.0.1/live");
    /* Cut in the middle of the tcUrl string. */
    w.p -= 10;
    return send_command_expect(open_hs(), &w, "malformed AMF");
}

static int
case_connect_number(void)
{
    uint8_t      buf[64];
    struct sl_wr w;

    sl_wr_init(&w, buf, sizeof(buf));
    sl_amf_put_string(&w, "connect");
    sl_amf_put_number(&w, 1);
    sl_amf_put_number(&w, 42);
    return send_command_expect(open_hs(), &w, "connect without a usable");
}

static int
case_before_connect(void)
{
    uint8_t      buf[64];
    struct sl_wr w;

    sl_wr_init(&w, buf, sizeof(buf));
    sl_amf_put_string(&w, "play");
    sl_amf_put_number(&w, 0);
    sl_amf_put_null(&w);
    sl_amf_put_string(&w, "good");
    return send_command_expect(open_hs(), &w, "before connect");
}

static int
case_publish_number(void)
{
    struct sl_rc *c = open_connected();
    uint8_t       buf[64];
    struct sl_wr  w;
    int           ok, status;

    if (c == NULL || sl_rc_create_stream(c, IT_S(5)) < 0) {
        sl_rc_close(c);
        return 0;
    }
    sl_wr_init(&w, buf, sizeof(buf));
    sl_amf_put_string(&w, "publish");
    sl_amf_put_number(&w, 0);
    sl_amf_put_null(&w);
    sl_amf_put_number(&w, 42);
    sl_amf_put_string(&w, "live");
    sl_rc_send_command(c, 1, buf, sl_wr_len(&w));
    status = sl_rc_wait_status(c, "NetStream.Publish.BadName", IT_S(5)) == 0;
    ok = sl_itest_expect_closed(&bad_srv, c, "publish without a usable name",
                                IT_S(5));
    sl_rc_close(c);
    if (!status)
        fprintf(stderr, "  publish 42: no NetStream.Publish.BadName\n");
    return ok && status;
}

static int
case_unknown_app(void)
{
    struct sl_rc *c = open_hs();
    int           ok, refused;

    if (c == NULL)
        return 0;
    refused = sl_rc_connect(c, "nosuchapp", IT_S(5)) == -ECONNREFUSED &&
              !strcmp(sl_rc_last_status(c), "NetConnection.Connect.Rejected");
    if (!refused)
        fprintf(stderr,
                "  unknown app: no NetConnection.Connect.Rejected "
                "(%s)\n",
                sl_rc_last_status(c));
    ok = sl_itest_expect_closed(&bad_srv, c, "unknown app", IT_S(5));
    sl_rc_close(c);
    return ok && refused;
}

static int
case_second_publisher(void)
{
    struct sl_rc *c = open_connected();
    int           ok, status;

    if (c == NULL || sl_rc_create_stream(c, IT_S(5)) < 0) {
        sl_rc_close(c);
        return 0;
    }
    sl_rc_send_publish(c, "good");
    status = sl_rc_wait_status(c, "NetStream.Publish.BadName", IT_S(5)) == 0;
    ok =
        sl_itest_expect_closed(&bad_srv, c, "already being published", IT_S(5));
    sl_rc_close(c);
    return ok && status;
}

/* A client that goes away in the middle of a message: nothing for the
 * server to refuse, but it must notice, log it and carry on. */
static int
case_closed_mid_message(void)
{
    struct sl_rc *c = open_connected();
    /* Format 0 on csid 4: timestamp 0, 300 bytes, video, stream 1. */
    uint8_t hdr[12] = {0x04, 0, 0, 0, 0, 0x01, 0x2c, SL_MSG_VIDEO, 1, 0, 0, 0};
    uint8_t body[100] = {0x17, 0x01};
    int     lport;

    if (c == NULL)
        return 0;
    lport = sl_rc_local_port(c);
    sl_rc_send_raw(c, hdr, sizeof(hdr));
    sl_rc_send_raw(c, body, sizeof(body));
    sl_rc_close(c);
    return sl_srv_wait_conn_log(&bad_srv, lport, NULL, "peer closed",
                                IT_S(5)) == 0;
}

/* Random bytes of random length, from a fixed seed so a failure can be
 * replayed.  The first byte decides the path: anything but 3 is refused
 * at once; 3 starts a handshake that the rest (under 3073 bytes) never
 * completes, so handshake_timeout closes it. */
static int
case_garbage(void)
{
    unsigned seed = GARBAGE_SEED;
    int      failed = 0;

    for (int i = 0; i < GARBAGE_CONNS; i++) {
        struct sl_rc *c = sl_rc_open(bad_srv.port, 0, IT_S(5));
        uint8_t       buf[3000];
        size_t        len = 1 + (size_t) rand_r(&seed) % sizeof(buf);

        if (c == NULL) {
            failed++;
            continue;
        }
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t) rand_r(&seed);
        sl_rc_send_raw(c, buf, len);
        if (!sl_itest_expect_closed(&bad_srv, c, "closing", IT_S(8)))
            failed++;
        sl_rc_close(c);
    }
    if (failed)
        fprintf(stderr,
                "  garbage: %d of %d connections not closed with "
                "a WARN\n",
                failed, GARBAGE_CONNS);
    return failed == 0;
}

static void
test_bad_input(void)
{
    struct sl_av    av = {320, 240, 30, 8, 30, 0};
    struct sl_proc  pub, play;
    struct sl_probe pr;
    struct sl_rc   *stalled, *after;
    uint8_t         c0c1[1 + SL_HANDSHAKE_SIZE];
    char            url[256], out[PATH_MAX + 32], log[PATH_MAX + 32];

    /* 200+ connections from 127.0.0.1 in a few seconds: the per-address
     * rate limit (tested in the flood suite) would refuse some of them
     * before they could show how bad input is handled. */
    IT_START(&bad_srv, "max_message_size = 64k\nconnection_rate_per_ip = 0\n",
             NULL);
    sl_srv_url(&bad_srv, "live", "good", url, sizeof(url));
    sl_srv_path(&bad_srv, "play.flv", out, sizeof(out));
    sl_srv_path(&bad_srv, "play.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_play(&play, url, out, log) == 0);
    CU_ASSERT(
        sl_wait_file_count(bad_srv.log, "playing live/good", 1, IT_S(10)) == 0);
    sl_srv_path(&bad_srv, "publish.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, log) == 0);
    CU_ASSERT(sl_wait_file_count(bad_srv.log, "publishing live/good", 1,
                                 IT_S(10)) == 0);

    /* A handshake that stops after C0+C1: it runs alongside the others
     * and is checked at the end, after handshake_timeout (2 s). */
    stalled = sl_rc_open(bad_srv.port, 0, IT_S(5));
    CU_ASSERT(stalled != NULL);
    if (stalled != NULL) {
        sl_handshake_client_c0c1(c0c1);
        sl_rc_send_raw(stalled, c0c1, sizeof(c0c1));
    }

    CU_ASSERT(case_http());
    CU_ASSERT(case_set_chunk_size(0));
    CU_ASSERT(case_set_chunk_size(0x80000000u));
    CU_ASSERT(case_too_long());
    CU_ASSERT(case_many_chunk_streams());
    CU_ASSERT(case_deep_amf());
    CU_ASSERT(case_truncated_amf());
    CU_ASSERT(case_connect_number());
    CU_ASSERT(case_before_connect());
    CU_ASSERT(case_publish_number());
    CU_ASSERT(case_unknown_app());
    CU_ASSERT(case_second_publisher());
    CU_ASSERT(case_closed_mid_message());
    if (stalled != NULL) {
        CU_ASSERT(sl_itest_expect_closed(&bad_srv, stalled, "handshake timeout",
                                         IT_S(8)));
        sl_rc_close(stalled);
    }
    CU_ASSERT(case_garbage());

    /* The server is still there for a well-behaved newcomer. */
    after = sl_rc_player(bad_srv.port, "live", "good", -2, 0, IT_S(5));
    CU_ASSERT(after != NULL);
    if (after != NULL)
        CU_ASSERT(sl_rc_wait_status(after, "NetStream.Play.Start", IT_S(5)) ==
                  0);
    sl_rc_close(after);

    /* The good pair never noticed. */
    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    CU_ASSERT(sl_proc_wait(&play, IT_S(20)) == 0);
    CU_ASSERT(sl_proc_exited_with(&play, 0));
    sl_proc_kill(&pub);
    sl_proc_kill(&play);
    CU_ASSERT_FATAL(sl_probe_file(out, &pr) == 0);
    sl_probe_print("good player", &pr);
    CU_ASSERT(sl_within_pct(pr.video_packets, (long) av.fps * av.seconds, 2));
    CU_ASSERT(pr.video_dts_monotonic);
    IT_STOP(&bad_srv);
}

void
sl_itest_suite_bad_input(void)
{
    CU_pSuite s = sl_itest_suite("bad_input");

    CU_add_test(s,
                "bad clients are closed with a WARN, the good pair "
                "plays on",
                test_bad_input);
}
