/*
 * Who may publish and play, driven by real clients: ffmpeg and GStreamer
 * publishing with good and wrong stream keys, good, expired, tampered
 * and missing signatures; a Python HTTP server (tests/support/
 * callback_server.py) as the callback that allows, refuses, redirects
 * and times out; and after each, every secret the test used searched
 * for in the server's log, its API and its metrics.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/integration/itest.h"
#include "tests/support/http_client.h"
#include "tests/support/tcp_proxy.h"

#define KEY1 "k3y-0d9f8a7b6c5e4f30"
#define KEY2 "k3y-late-added-99127"
#define WRONGKEY "k3y-guess-000000000"
#define PUB_SECRET "pub-s3cret-for-tests"
#define PLAY_SECRET "play-s3cret-for-tests"

/* One second (one GOP): what the checks need is that the player got
 * the stream, not how long it was. */
static const struct sl_av AV = {320, 240, 25, 1, 25, 0};

/* The [server] keys of every server here: a short publish_grace, since
 * players end with the stream and nothing here waits for a publisher to
 * come back. */
#define KEYS "publish_grace = 250ms\n"

/* "rtmp://.../live/NAME?QUERY" (query may be NULL). */
static void
url_q(const struct sl_srv *srv, const char *name, const char *query, char *out,
      size_t cap)
{
    char base[256];

    sl_srv_url(srv, "live", name, base, sizeof(base));
    if (snprintf(out, cap, "%s%s%s", base, query ? "?" : "",
                 query ? query : "") >= (int) cap)
        out[0] = '\0'; /* the test fails on an empty URL */
}

/* Publishes AV to pub_url while an ffmpeg player records play_url; 1
 * when the publisher exited 0 and the player got at least 90% of the
 * video frames. */
static int
publish_and_watch(const struct sl_srv *srv, const char *pub_url,
                  const char *play_url, const char *tag)
{
    struct sl_proc  pub, play;
    struct sl_probe pr;
    char out[PATH_MAX + 32], plog[PATH_MAX + 32], flog[PATH_MAX + 32], f[64];
    int  ok, playing = sl_file_count(srv->log, "] playing ");

    snprintf(f, sizeof(f), "%s.flv", tag);
    sl_srv_path(srv, f, out, sizeof(out));
    snprintf(f, sizeof(f), "%s-play.log", tag);
    sl_srv_path(srv, f, plog, sizeof(plog));
    snprintf(f, sizeof(f), "%s-pub.log", tag);
    sl_srv_path(srv, f, flog, sizeof(flog));
    if (sl_ffmpeg_play(&play, play_url, out, plog) < 0)
        return 0;
    /* The player waits for the stream before the publisher starts, so
     * it can get every frame. */
    if (sl_wait_file_count(srv->log, "] playing ", playing + 1, IT_S(10)) < 0) {
        fprintf(stderr, "%s: the player did not start\n", tag);
        sl_show_tail("player", plog);
        sl_proc_kill(&play);
        return 0;
    }
    if (sl_ffmpeg_publish(&pub, pub_url, &AV, flog) < 0) {
        sl_proc_kill(&play);
        return 0;
    }
    ok = sl_proc_wait(&pub, IT_S(30)) == 0 && sl_proc_exited_with(&pub, 0);
    /* publish_grace ends the player after the publisher. */
    ok = sl_proc_wait(&play, IT_S(20)) == 0 && ok;
    sl_proc_kill(&play);
    sl_proc_kill(&pub);
    if (!ok) {
        sl_show_tail("publisher", flog);
        sl_show_tail("player", plog);
        return 0;
    }
    if (sl_probe_file(out, &pr) < 0)
        return 0;
    sl_probe_print(tag, &pr);
    return pr.video_packets >= (long) AV.fps * AV.seconds * 9 / 10;
}

/* Runs a publisher that must be refused: 1 when ffmpeg failed within the
 * bound. */
static int
publish_refused(const struct sl_srv *srv, const char *url, const char *tag)
{
    struct sl_proc pub;
    char           flog[PATH_MAX + 32], f[64];
    int            refused;

    snprintf(f, sizeof(f), "%s-pub.log", tag);
    sl_srv_path(srv, f, flog, sizeof(flog));
    if (sl_ffmpeg_publish(&pub, url, &AV, flog) < 0)
        return 0;
    refused =
        sl_proc_wait(&pub, IT_S(20)) == 0 && !sl_proc_exited_with(&pub, 0);
    sl_proc_kill(&pub);
    return refused;
}

/* ffmpeg playing url must fail (refused) within the bound. */
static int
play_refused(const struct sl_srv *srv, const char *url, const char *tag)
{
    struct sl_proc play;
    char           out[PATH_MAX + 32], log[PATH_MAX + 32], f[64];
    int            refused;

    snprintf(f, sizeof(f), "%s.flv", tag);
    sl_srv_path(srv, f, out, sizeof(out));
    snprintf(f, sizeof(f), "%s-play.log", tag);
    sl_srv_path(srv, f, log, sizeof(log));
    if (sl_ffmpeg_play(&play, url, out, log) < 0)
        return 0;
    refused =
        sl_proc_wait(&play, IT_S(20)) == 0 && !sl_proc_exited_with(&play, 0);
    sl_proc_kill(&play);
    return refused;
}

/* GStreamer publishes 1 s of test video to url with rtmp2sink: its exit
 * status (0: it streamed to the end), or -1 when it did not end within
 * the bound. */
static int
gst_publish(const struct sl_srv *srv, const char *url, const char *tag)
{
    struct sl_proc g;
    char           glog[PATH_MAX + 32], f[64], loc[600];
    char          *argv[] = {"gst-launch-1.0",
                             "-e",
                             "videotestsrc",
                             "is-live=true",
                             "num-buffers=25",
                             "!",
                             "video/x-raw,width=320,height=240,framerate=25/1",
                             "!",
                             "openh264enc",
                             "!",
                             "h264parse",
                             "!",
                             "flvmux",
                             "streamable=true",
                             "!",
                             "rtmp2sink",
                             loc,
                             NULL};
    int            rc = -1;

    snprintf(f, sizeof(f), "%s.log", tag);
    sl_srv_path(srv, f, glog, sizeof(glog));
    if (snprintf(loc, sizeof(loc), "location=%s", url) >= (int) sizeof(loc) ||
        sl_proc_spawn(&g, argv, glog, glog) < 0)
        return -1;
    if (sl_proc_wait(&g, IT_S(30)) == 0)
        rc = sl_proc_exited_with(&g, 0) ? 0 : 1;
    sl_proc_kill(&g);
    if (rc != 0)
        sl_show_tail(tag, glog);
    return rc;
}

/* 1 when none of the secrets appears in the server's log, its API's
 * stream and server documents, or its metrics. */
static int
secrets_absent(const struct sl_srv *srv, const char *const secrets[], int n)
{
    static const char *const paths[] = {"/api/v1/streams?players=1",
                                        "/api/v1/server", "/metrics",
                                        "/api/v1/history"};
    char                    *log = sl_read_file(srv->log);
    int                      ok = log != NULL;

    for (int i = 0; ok && i < n; i++)
        if (strstr(log, secrets[i]) != NULL) {
            fprintf(stderr, "secret #%d found in the server log\n", i);
            ok = 0;
        }
    free(log);
    for (size_t p = 0; ok && p < sizeof(paths) / sizeof(paths[0]); p++) {
        struct sl_http_resp r;

        if (sl_http_get(srv->http_port, paths[p], &r) != 200) {
            fprintf(stderr, "%s did not answer 200\n", paths[p]);
            ok = 0;
        }
        for (int i = 0; ok && i < n; i++)
            if (r.body != NULL && strstr(r.body, secrets[i]) != NULL) {
                fprintf(stderr, "secret #%d found in %s\n", i, paths[p]);
                ok = 0;
            }
        sl_http_resp_free(&r);
    }
    return ok;
}

static void
test_stream_keys(void)
{
    struct sl_srv srv;
    char          dir[PATH_MAX], keys[PATH_MAX + 16], sect[PATH_MAX + 64];
    char          pub[320], play[320];
    static const char *const secrets[] = {KEY1, KEY2, WRONGKEY};

    CU_ASSERT_FATAL(sl_tmpdir(dir) == 0);
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    CU_ASSERT_FATAL(
        sl_write_file(keys, "# key and public name\n" KEY1 " cam1\n\n") == 0);
    snprintf(sect, sizeof(sect), "publish_keys = %s\n", keys);
    IT_START(&srv, KEYS, sect);

    /* The key publishes; players use the public name. */
    url_q(&srv, KEY1, NULL, pub, sizeof(pub));
    url_q(&srv, "cam1", NULL, play, sizeof(play));
    IT_EXPECT_LOGS(publish_and_watch(&srv, pub, play, "key"), srv.log, NULL);
    CU_ASSERT(sl_file_count(srv.log, "publishing live/cam1") == 1);

    /* A wrong key is refused and says why, without quoting the key. */
    url_q(&srv, WRONGKEY, NULL, pub, sizeof(pub));
    CU_ASSERT(publish_refused(&srv, pub, "wrongkey"));
    CU_ASSERT(sl_file_count(srv.log, "refused: unknown stream key") == 1);

    /* GStreamer (rtmp2sink) with the good key, then a wrong one. */
    url_q(&srv, KEY1, NULL, pub, sizeof(pub));
    CU_ASSERT(gst_publish(&srv, pub, "gst-key") == 0);
    CU_ASSERT(sl_file_count(srv.log, "publishing live/cam1") == 2);
    url_q(&srv, WRONGKEY, NULL, pub, sizeof(pub));
    CU_ASSERT(gst_publish(&srv, pub, "gst-wrongkey") > 0);
    CU_ASSERT(sl_file_count(srv.log, "refused: unknown stream key") == 2);
    CU_ASSERT(sl_file_count(srv.log, "publishing live/cam1") == 2);

    /* A key added to the file works after SIGHUP, without a restart. */
    CU_ASSERT_FATAL(sl_write_file(keys, KEY1 " cam1\n" KEY2 " cam2\n") == 0);
    CU_ASSERT(sl_proc_signal(&srv.proc, SIGHUP) == 0);
    CU_ASSERT(sl_wait_file_count(srv.log, "config reloaded", 1, IT_S(10)) == 0);
    url_q(&srv, KEY2, NULL, pub, sizeof(pub));
    url_q(&srv, "cam2", NULL, play, sizeof(play));
    IT_EXPECT_LOGS(publish_and_watch(&srv, pub, play, "key2"), srv.log, NULL);

    CU_ASSERT(secrets_absent(&srv, secrets, 3));
    IT_STOP(&srv);
}

static void
test_signed_urls(void)
{
    struct sl_srv      srv;
    char               pub[400], play[400], q[200], sig[65], bad[65];
    long long          later = (long long) time(NULL) + 3600;
    long long          past = (long long) time(NULL) - 60;
    static const char *secrets[5] = {PUB_SECRET, PLAY_SECRET};

    IT_START(&srv, KEYS,
             "publish_secret = " PUB_SECRET "\nplay_secret = " PLAY_SECRET
             "\n");
    /* Good signatures for both: the player gets the stream. */
    sl_itest_sign(PUB_SECRET, "live", "s1", later, sig);
    snprintf(q, sizeof(q), "expires=%lld&sign=%s", later, sig);
    url_q(&srv, "s1", q, pub, sizeof(pub));
    secrets[2] = strdup(sig);
    sl_itest_sign(PLAY_SECRET, "live", "s1", later, sig);
    snprintf(q, sizeof(q), "expires=%lld&sign=%s", later, sig);
    url_q(&srv, "s1", q, play, sizeof(play));
    secrets[3] = strdup(sig);
    IT_EXPECT_LOGS(publish_and_watch(&srv, pub, play, "signed"), srv.log, NULL);
    CU_ASSERT(sl_file_count(srv.log, "publishing live/s1") == 1);

    /* Expired (signed correctly for a time that has passed). */
    sl_itest_sign(PUB_SECRET, "live", "s1", past, sig);
    snprintf(q, sizeof(q), "expires=%lld&sign=%s", past, sig);
    url_q(&srv, "s1", q, pub, sizeof(pub));
    CU_ASSERT(publish_refused(&srv, pub, "expired"));
    CU_ASSERT(sl_file_count(srv.log, "signature expired") == 1);

    /* Tampered: one hex digit changed; and a signature for another name. */
    sl_itest_sign(PUB_SECRET, "live", "s1", later, bad);
    bad[10] = bad[10] == '0' ? '1' : '0';
    snprintf(q, sizeof(q), "expires=%lld&sign=%s", later, bad);
    url_q(&srv, "s1", q, pub, sizeof(pub));
    CU_ASSERT(publish_refused(&srv, pub, "tampered"));
    sl_itest_sign(PUB_SECRET, "live", "s1", later, sig);
    snprintf(q, sizeof(q), "expires=%lld&sign=%s", later, sig);
    url_q(&srv, "s2", q, pub, sizeof(pub));
    CU_ASSERT(publish_refused(&srv, pub, "othername"));
    CU_ASSERT(sl_file_count(srv.log, "wrong signature") == 2);

    /* Malformed and missing. */
    snprintf(q, sizeof(q), "expires=soon&sign=%s", sig);
    url_q(&srv, "s1", q, pub, sizeof(pub));
    CU_ASSERT(publish_refused(&srv, pub, "malformed"));
    CU_ASSERT(sl_file_count(srv.log, "malformed expires") == 1);
    url_q(&srv, "s1", NULL, pub, sizeof(pub));
    CU_ASSERT(publish_refused(&srv, pub, "unsigned"));

    /* A player with the publisher's signature, or none, is refused. */
    snprintf(q, sizeof(q), "expires=%lld&sign=%s", later, secrets[2]);
    url_q(&srv, "s1", q, play, sizeof(play));
    CU_ASSERT(play_refused(&srv, play, "play-wrongsig"));
    url_q(&srv, "s1", NULL, play, sizeof(play));
    CU_ASSERT(play_refused(&srv, play, "play-unsigned"));
    CU_ASSERT(sl_file_count(srv.log, "play live/s1 refused") == 2);

    /* GStreamer with a good signature, an expired and a tampered one. */
    sl_itest_sign(PUB_SECRET, "live", "s1", later, sig);
    snprintf(q, sizeof(q), "expires=%lld&sign=%s", later, sig);
    url_q(&srv, "s1", q, pub, sizeof(pub));
    CU_ASSERT(gst_publish(&srv, pub, "gst-signed") == 0);
    CU_ASSERT(sl_file_count(srv.log, "publishing live/s1") == 2);
    sl_itest_sign(PUB_SECRET, "live", "s1", past, sig);
    snprintf(q, sizeof(q), "expires=%lld&sign=%s", past, sig);
    url_q(&srv, "s1", q, pub, sizeof(pub));
    CU_ASSERT(gst_publish(&srv, pub, "gst-expired") > 0);
    CU_ASSERT(sl_file_count(srv.log, "signature expired") == 2);
    snprintf(q, sizeof(q), "expires=%lld&sign=%s", later, bad);
    url_q(&srv, "s1", q, pub, sizeof(pub));
    CU_ASSERT(gst_publish(&srv, pub, "gst-tampered") > 0);
    CU_ASSERT(sl_file_count(srv.log, "wrong signature") == 4);
    CU_ASSERT(sl_file_count(srv.log, "publishing live/s1") == 2);

    CU_ASSERT(secrets_absent(&srv, secrets, 4));
    free((void *) secrets[2]);
    free((void *) secrets[3]);
    IT_STOP(&srv);
}

/* ---- callbacks ---- */

static void
test_callbacks(void)
{
    struct sl_srv            srv;
    struct sl_itest_cb       cb;
    char                     dir[PATH_MAX], sect[1024], pub[320], play[320];
    static const char *const secrets[] = {"tok-9f8e7d6c5b4a"};

    CU_ASSERT_FATAL(sl_tmpdir(dir) == 0);
    CU_ASSERT_FATAL(sl_itest_cb_start(&cb, dir) == 0);
    snprintf(sect, sizeof(sect),
             "on_publish = http://127.0.0.1:%d/rules\n"
             "on_play = http://127.0.0.1:%d/rules?to=ok2\n"
             "on_done = http://127.0.0.1:%d/allow\n"
             "callback_timeout = 1s\n"
             "[app:slow]\non_publish = http://127.0.0.1:%d/slow\n"
             "callback_timeout = 500ms\n"
             "[app:guarded]\non_connect = http://127.0.0.1:%d/deny\n",
             cb.port, cb.port, cb.port, cb.port, cb.port);
    IT_START(&srv, KEYS, sect);

    /* Allowed: the callback sees app, name, address and the query. */
    url_q(&srv, "ok1", "token=tok-9f8e7d6c5b4a", pub, sizeof(pub));
    url_q(&srv, "ok1", NULL, play, sizeof(play));
    IT_EXPECT_LOGS(publish_and_watch(&srv, pub, play, "cb-ok"), srv.log, NULL);
    CU_ASSERT(sl_wait_file_count(cb.log, "\"on_publish\"", 1, IT_S(5)) == 0);
    CU_ASSERT(sl_file_count(cb.log, "\"tok-9f8e7d6c5b4a\"") >= 1);
    CU_ASSERT(sl_file_count(cb.log, "\"127.0.0.1\"") >= 2);
    CU_ASSERT(sl_file_count(cb.log, "\"ok1\"") >= 2);
    /* on_done for the publisher and the player. */
    CU_ASSERT(sl_wait_file_count(cb.log, "_done\"", 2, IT_S(10)) == 0);

    /* Refused by the callback (403). */
    url_q(&srv, "bad1", NULL, pub, sizeof(pub));
    CU_ASSERT(publish_refused(&srv, pub, "cb-bad"));
    CU_ASSERT(sl_file_count(srv.log, "callback said no") == 1);

    /* Redirected: a player of "moved1" gets the stream "ok2". */
    url_q(&srv, "ok2", NULL, pub, sizeof(pub));
    url_q(&srv, "moved1", NULL, play, sizeof(play));
    IT_EXPECT_LOGS(publish_and_watch(&srv, pub, play, "cb-redirect"), srv.log,
                   NULL);
    CU_ASSERT(sl_file_count(srv.log, "redirected play live/moved1 to "
                                     "live/ok2") == 1);

    /* A callback that does not answer in time refuses. */
    {
        char base[256];

        sl_srv_url(&srv, "slow", "x", base, sizeof(base));
        CU_ASSERT(publish_refused(&srv, base, "cb-slow"));
        CU_ASSERT(sl_file_count(srv.log, "publish slow/x refused") == 1);
        /* on_connect refuses the whole connection. */
        sl_srv_url(&srv, "guarded", "x", base, sizeof(base));
        CU_ASSERT(publish_refused(&srv, base, "cb-connect"));
        CU_ASSERT(sl_file_count(srv.log, "connect guarded refused") == 1);
    }
    CU_ASSERT(secrets_absent(&srv, secrets, 1));
    IT_STOP(&srv);
    CU_ASSERT(sl_proc_stop(&cb.proc, SIGTERM, IT_S(5)) == 0);
}

/* Address rules: ffmpeg from 127.0.0.1 directly, and from 127.0.0.2
 * through a loopback forwarder that connects from there (ffmpeg has no
 * source-address option for RTMP). */
static void
test_ip_rules(void)
{
    struct sl_srv       srv;
    struct sl_tcp_proxy px;
    char                direct[320], via[320], base[256];

    IT_START(&srv, KEYS,
             "deny_publish = 127.0.0.2\nallow_play = 127.0.0.2/32, ::1\n"
             "[app:closed]\ndeny_publish = 127.0.0.0/8\n"
             "deny_play = 127.0.0.0/8\n");
    CU_ASSERT_FATAL(sl_tcp_proxy_start_from(&px, srv.port, 0, "127.0.0.2") ==
                    0);
    url_q(&srv, "ip1", NULL, direct, sizeof(direct));
    snprintf(via, sizeof(via), "rtmp://127.0.0.1:%d/live/ip1", px.port);

    /* 127.0.0.1 publishes; only 127.0.0.2 may play. */
    IT_EXPECT_LOGS(publish_and_watch(&srv, direct, via, "ip-ok"), srv.log,
                   NULL);
    CU_ASSERT(play_refused(&srv, direct, "ip-play-direct"));
    CU_ASSERT(sl_file_count(srv.log, "play live/ip1 refused: address not "
                                     "allowed to play") == 1);
    CU_ASSERT(publish_refused(&srv, via, "ip-pub-via"));
    CU_ASSERT(sl_file_count(srv.log, "publish live/ip1 refused: address not "
                                     "allowed to publish") == 1);
    /* An address that may do neither is refused at connect. */
    sl_srv_url(&srv, "closed", "x", base, sizeof(base));
    CU_ASSERT(publish_refused(&srv, base, "ip-closed"));
    CU_ASSERT(sl_file_count(srv.log, "connect closed refused: address may "
                                     "neither publish nor play") == 1);
    sl_tcp_proxy_stop(&px);
    IT_STOP(&srv);
}

void
sl_itest_suite_auth(void)
{
    CU_pSuite s = sl_itest_suite("auth");

    CU_add_test(s,
                "stream keys: ffmpeg and GStreamer, good and wrong, "
                "reload",
                test_stream_keys);
    CU_add_test(s, "signed URLs: good, expired, tampered, malformed, missing",
                test_signed_urls);
    CU_add_test(s, "callbacks allow, refuse, redirect, time out; on_done",
                test_callbacks);
    CU_add_test(s, "address rules: 127.0.0.1 vs 127.0.0.2", test_ip_rules);
}
