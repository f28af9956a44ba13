/*
 * Hot-standby ingest ([app] backup_publish = on), with real ffmpeg
 * publishers and our RTMP client as the player.
 *
 * A second publisher of a live name is held as standby; when the primary
 * is killed, or stalls (SIGSTOP) for ingest_timeout, the standby takes
 * over and the same player connection goes on: no UnpublishNotify, no
 * Play.Stop, timestamps that never go back and take no big step, a new
 * AVC sequence header followed by a keyframe, and frames after it.  The
 * old primary publishing again is held as standby and takes over in its
 * turn; a third publisher is refused, and so is a second one without
 * backup_publish.  With a ladder and a relay to a second Sluice, the
 * rung's player and the downstream player go on as well.
 *
 * The player is pumped on the test's own thread in short slices between
 * steps, so the test can read its counters at each step.  Every wait is
 * bounded by IT_S(); the only figure checked against a bound is the
 * takeover gap the issue asks for (under 2 s of media time, and of
 * arrival time within a generous IT_S bound).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"
#include "tests/support/http_client.h"

/* Long enough to outlast every test; each publisher is killed. */
static const struct sl_av AV = {320, 240, 30, 60, 30, 0};

#define BACKUP "backup_publish = on\n"

/* Pumps the players in turn for about secs seconds.  0, or the first
 * error (a player the server closed). */
static int
pump_for(struct sl_rc **pl, int n, double secs)
{
    double end = sl_now() + secs;

    while (sl_now() < end)
        for (int i = 0; i < n; i++) {
            int rc = sl_rc_pump(pl[i], 0.05, 0);

            if (rc < 0)
                return rc;
        }
    return 0;
}

/* Pumps the players until log holds needle k times (bounded).  0,
 * -ETIMEDOUT, or a player's error. */
static int
pump_until(struct sl_rc **pl, int n, const char *log, const char *needle, int k,
           double bound_s)
{
    double end = sl_now() + IT_S(bound_s);

    while (sl_file_count(log, needle) < k) {
        int rc;

        if (sl_now() >= end)
            return -ETIMEDOUT;
        rc = pump_for(pl, n, 0.1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Pumps the players until each has had at least total video messages,
 * headers AVC sequence headers, and since_header AVC frames after the
 * latest of them (one second of this stream is 30), bounded.  A
 * takeover's log line comes before its header reaches a player, so a
 * step after one names the header count it waits for.  0, -ETIMEDOUT,
 * or a player's error. */
static int
pump_video(struct sl_rc **pl, int n, unsigned long total, unsigned long headers,
           unsigned long since_header, double bound_s)
{
    double end = sl_now() + IT_S(bound_s);

    for (;;) {
        int done = 1, rc;

        for (int i = 0; i < n; i++) {
            const struct sl_rc_stats *st = sl_rc_stats(pl[i]);

            done = done && st->video >= total && st->avc_headers >= headers &&
                   st->frames_since_header >= since_header;
        }
        if (done)
            return 0;
        if (sl_now() >= end) {
            fprintf(stderr,
                    "  players short of %lu video, %lu headers, %lu "
                    "frames since the last\n",
                    total, headers, since_header);
            return -ETIMEDOUT;
        }
        rc = pump_for(pl, n, 0.1);
        if (rc < 0)
            return rc;
    }
}

static struct sl_rc *
player(const struct sl_srv *srv, const char *name)
{
    struct sl_rc *c = sl_rc_player(srv->port, "live", name, -2, 0, IT_S(5));

    if (c != NULL &&
        sl_rc_wait_status(c, "NetStream.Play.Start", IT_S(5)) < 0) {
        sl_rc_close(c);
        c = NULL;
    }
    return c;
}

static void
show(const char *what, const struct sl_rc_stats *st)
{
    fprintf(stderr,
            "  %s: %lu video, %lu audio, %lu AVC headers, %lu frames "
            "since the last, key after header %d, monotonic v %d a %d, "
            "max ts step %u ms, max arrival gap %.0f ms, unpublish %d, "
            "stop %d\n",
            what, st->video, st->audio, st->avc_headers,
            st->frames_since_header, st->key_after_header,
            st->video_ts_monotonic, st->audio_ts_monotonic,
            st->max_video_ts_step, st->max_video_arrival_gap_ms,
            st->unpublish_notify, st->play_stop);
}

/* What a player that lived through takeovers must have seen: the same
 * connection (the caller checked the pump), no end of stream, one AVC
 * header per publisher (headers, then a keyframe, each time), frames
 * from the last one, and a timeline without a step back or a big one. */
static void
expect_continued(const struct sl_rc_stats *st, unsigned long headers,
                 double max_arrival_gap_s)
{
    CU_ASSERT_EQUAL(st->unpublish_notify, 0);
    CU_ASSERT_EQUAL(st->play_stop, 0);
    CU_ASSERT(st->video_ts_monotonic);
    CU_ASSERT(st->audio_ts_monotonic);
    CU_ASSERT_EQUAL(st->avc_headers, headers);
    CU_ASSERT(st->key_after_header);
    CU_ASSERT(st->frames_since_header >= 30);
    CU_ASSERT(st->max_video_ts_step < 2000);
    CU_ASSERT(st->max_video_arrival_gap_ms < max_arrival_gap_s * 1000.0);
}

/* Starts ffmpeg publishing live/name into DIR/TAG.log and waits
 * (pumping) until the server logs the n-th line with needle. */
static int
publish(struct sl_proc *p, const struct sl_srv *srv, const char *name,
        const char *tag, struct sl_rc **pl, int npl, const char *needle, int n)
{
    char url[256], log[PATH_MAX + 32];

    sl_srv_url(srv, "live", name, url, sizeof(url));
    snprintf(log, sizeof(log), "%s/%s.log", srv->dir, tag);
    if (sl_ffmpeg_publish(p, url, &AV, log) < 0)
        return -EIO;
    if (npl == 0)
        return sl_wait_file_count(srv->log, needle, n, IT_S(10));
    return pump_until(pl, npl, srv->log, needle, n, 10);
}

/* 1. The primary is killed: the standby goes on for the same player. */
static void
test_killed_primary(void)
{
    struct sl_srv   srv;
    struct sl_proc  p1, p2, rec;
    struct sl_rc   *c;
    struct sl_probe pr;
    char            url[256], flv[PATH_MAX + 32], log[PATH_MAX + 32];
    unsigned long   before;

    IT_START(&srv, NULL, BACKUP);
    c = player(&srv, "x");
    CU_ASSERT_FATAL(c != NULL);
    /* And ffmpeg recording with -copyts, which must not end either. */
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    sl_srv_path(&srv, "rec.flv", flv, sizeof(flv));
    sl_srv_path(&srv, "rec.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_record(&rec, url, flv, log) == 0);

    CU_ASSERT_FATAL(
        publish(&p1, &srv, "x", "pub1", &c, 1, "] publishing live/x", 1) == 0);
    CU_ASSERT_FATAL(publish(&p2, &srv, "x", "pub2", &c, 1,
                            "live/x: standby publisher c", 1) == 0);
    CU_ASSERT(sl_file_count(srv.log, "held") == 1);
    CU_ASSERT(pump_video(&c, 1, 30, 1, 30, 10) == 0);
    before = sl_rc_stats(c)->video;
    CU_ASSERT(before > 0);
    CU_ASSERT(sl_rc_stats(c)->avc_headers == 1);

    sl_proc_kill(&p1);
    IT_EXPECT_LOGS(
        pump_until(&c, 1, srv.log, "took over after primary c", 1, 10) == 0,
        srv.log, NULL);
    CU_ASSERT(sl_file_count(srv.log, "left (gap") == 1);
    /* A second of the standby's frames, and enough in all for the
     * recording's check below. */
    CU_ASSERT(pump_video(&c, 1, before + 31 > 100 ? before + 31 : 100, 2, 30,
                         10) == 0);
    show("player", sl_rc_stats(c));
    expect_continued(sl_rc_stats(c), 2, IT_S(2));
    CU_ASSERT(sl_rc_stats(c)->video > before + 30);
    sl_rc_close(c);

    /* The standby leaves too: after publish_grace the recording ends
     * by itself, once. */
    sl_proc_kill(&p2);
    CU_ASSERT(sl_proc_wait(&rec, IT_S(15)) == 0);
    CU_ASSERT(sl_proc_exited_with(&rec, 0));
    sl_proc_kill(&rec);
    CU_ASSERT_FATAL(sl_probe_file(flv, &pr) == 0);
    sl_probe_print("ffmpeg -copyts", &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(pr.video_packets > 90);
    CU_ASSERT(pr.video_dts_monotonic);
    CU_ASSERT(pr.audio_dts_monotonic);
    IT_STOP(&srv);
}

/* 2. The primary stalls without disconnecting: after ingest_timeout
 * the standby takes over; the stalled one, resumed, is the standby. */
static void
test_stalled_primary(void)
{
    struct sl_srv  srv;
    struct sl_proc p1, p2;
    struct sl_rc  *c;

    IT_START(&srv, NULL, BACKUP "ingest_timeout = 1s\n");
    c = player(&srv, "x");
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_FATAL(
        publish(&p1, &srv, "x", "pub1", &c, 1, "] publishing live/x", 1) == 0);
    CU_ASSERT_FATAL(publish(&p2, &srv, "x", "pub2", &c, 1,
                            "live/x: standby publisher c", 1) == 0);
    CU_ASSERT(pump_video(&c, 1, 30, 1, 30, 10) == 0);

    CU_ASSERT(sl_proc_signal(&p1, SIGSTOP) == 0);
    IT_EXPECT_LOGS(pump_until(&c, 1, srv.log, "sent no media for", 1, 10) == 0,
                   srv.log, NULL);
    CU_ASSERT(pump_video(&c, 1, 0, 2, 30, 10) == 0);
    show("player", sl_rc_stats(c));
    /* The gap here is ingest_timeout plus the time to notice. */
    expect_continued(sl_rc_stats(c), 2, 1 + IT_S(2));

    /* Resumed, it is the standby: its media goes nowhere. */
    CU_ASSERT(sl_proc_signal(&p1, SIGCONT) == 0);
    CU_ASSERT(pump_for(&c, 1, 1) == 0);
    CU_ASSERT_EQUAL(sl_rc_stats(c)->avc_headers, 2);
    CU_ASSERT(sl_file_count(srv.log, "is the standby now") == 1);
    sl_rc_close(c);
    sl_proc_kill(&p1);
    sl_proc_kill(&p2);
    IT_STOP(&srv);
}

/* 3. The old primary comes back as the standby and takes over when the
 * current primary goes. */
static void
test_primary_returns_as_standby(void)
{
    struct sl_srv  srv;
    struct sl_proc p1, p2, p3;
    struct sl_rc  *c;

    IT_START(&srv, NULL, BACKUP);
    c = player(&srv, "x");
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_FATAL(
        publish(&p1, &srv, "x", "pub1", &c, 1, "] publishing live/x", 1) == 0);
    CU_ASSERT_FATAL(publish(&p2, &srv, "x", "pub2", &c, 1,
                            "live/x: standby publisher c", 1) == 0);
    CU_ASSERT(pump_video(&c, 1, 30, 1, 30, 10) == 0);
    sl_proc_kill(&p1);
    IT_EXPECT_LOGS(
        pump_until(&c, 1, srv.log, "took over after primary c", 1, 10) == 0,
        srv.log, NULL);
    /* The old primary's encoder reconnects: held as the standby. */
    CU_ASSERT_FATAL(publish(&p3, &srv, "x", "pub3", &c, 1,
                            "live/x: standby publisher c", 2) == 0);
    /* Held, it sends the player nothing: no third header. */
    CU_ASSERT(pump_for(&c, 1, 1) == 0);
    CU_ASSERT_EQUAL(sl_rc_stats(c)->avc_headers, 2);
    sl_proc_kill(&p2);
    IT_EXPECT_LOGS(
        pump_until(&c, 1, srv.log, "took over after primary c", 2, 10) == 0,
        srv.log, NULL);
    CU_ASSERT(pump_video(&c, 1, 0, 3, 30, 10) == 0);
    show("player", sl_rc_stats(c));
    expect_continued(sl_rc_stats(c), 3, IT_S(2));
    sl_rc_close(c);
    sl_proc_kill(&p3);
    IT_STOP(&srv);
}

/* Our client publishing live/name: 0 when the server answered code. */
static int
publish_expect(const struct sl_srv *srv, const char *name, const char *code)
{
    struct sl_rc *c = sl_rc_open(srv->port, 0, IT_S(5));
    int           rc = -EIO;

    if (c == NULL)
        return rc;
    if (sl_rc_handshake(c, IT_S(5)) == 0 &&
        sl_rc_connect(c, "live", IT_S(5)) == 0 &&
        sl_rc_create_stream(c, IT_S(5)) > 0 && sl_rc_send_publish(c, name) == 0)
        rc = sl_rc_wait_status(c, code, IT_S(5));
    sl_rc_close(c);
    return rc;
}

/* 4. Without backup_publish a second publisher is refused as ever; with
 * it, a third one is. */
static void
test_refusals(void)
{
    struct sl_srv  srv, bsrv;
    struct sl_proc p1, p2, p3;

    IT_START(&srv, NULL, NULL);
    CU_ASSERT_FATAL(publish(&p1, &srv, "x", "pub1", NULL, 0,
                            "] publishing live/x", 1) == 0);
    CU_ASSERT(publish_expect(&srv, "x", "NetStream.Publish.BadName") == 0);
    CU_ASSERT(sl_file_count(srv.log, "live/x is already being published") == 1);
    CU_ASSERT(sl_file_count(srv.log, "standby") == 0);
    sl_proc_kill(&p1);
    IT_STOP(&srv);

    IT_START(&bsrv, NULL, BACKUP);
    CU_ASSERT_FATAL(publish(&p2, &bsrv, "x", "pub1", NULL, 0,
                            "] publishing live/x", 1) == 0);
    CU_ASSERT_FATAL(publish(&p3, &bsrv, "x", "pub2", NULL, 0,
                            "live/x: standby publisher c", 1) == 0);
    CU_ASSERT(publish_expect(&bsrv, "x", "NetStream.Publish.BadName") == 0);
    CU_ASSERT(sl_file_count(bsrv.log, "already being published and has a "
                                      "standby") == 1);
    /* The API lists the stream once, with its primary. */
    {
        struct sl_http_resp r;
        int                 n = 0;

        CU_ASSERT(sl_http_get(bsrv.http_port, "/api/v1/streams", &r) == 200);
        for (const char *p = r.body; p && (p = strstr(p, "\"app\":")); p++)
            n++;
        CU_ASSERT_EQUAL(n, 1);
        /* ... and names its standby. */
        CU_ASSERT(r.body != NULL &&
                  strstr(r.body, "\"standby\":{\"id\":") != NULL);
        sl_http_resp_free(&r);
    }
    /* The standby leaves: simply dropped, the primary goes on. */
    sl_proc_kill(&p3);
    CU_ASSERT(sl_wait_file_count(bsrv.log, "live/x: standby publisher c", 2,
                                 IT_S(5)) == 0);
    CU_ASSERT(sl_file_count(bsrv.log, "took over") == 0);
    sl_proc_kill(&p2);
    IT_STOP(&bsrv);

    /* DELETE through the API ends the stream: the primary and its
     * standby are both disconnected, nobody takes over. */
    IT_START(&bsrv, NULL, BACKUP "[http]\napi_token = del-t0ken-1234\n");
    CU_ASSERT_FATAL(publish(&p2, &bsrv, "y", "pub1", NULL, 0,
                            "] publishing live/y", 1) == 0);
    CU_ASSERT_FATAL(publish(&p3, &bsrv, "y", "pub2", NULL, 0,
                            "live/y: standby publisher c", 1) == 0);
    {
        struct sl_http_resp r;

        CU_ASSERT(sl_http_request(bsrv.http_port, "DELETE",
                                  "/api/v1/streams/live/y",
                                  "Authorization: Bearer del-t0ken-1234\r\n",
                                  IT_S(5), &r) == 0);
        CU_ASSERT(r.status == 200);
        sl_http_resp_free(&r);
    }
    CU_ASSERT(sl_proc_wait(&p2, IT_S(10)) == 0);
    CU_ASSERT(sl_proc_wait(&p3, IT_S(10)) == 0);
    CU_ASSERT(sl_file_count(bsrv.log, "took over") == 0);
    CU_ASSERT(sl_file_count(bsrv.log, "dropped through the HTTP API") == 2);
    sl_proc_kill(&p2);
    sl_proc_kill(&p3);
    IT_STOP(&bsrv);
}

/* 5. A ladder (one tiny rung) and a relay to a second Sluice hang off
 * the stream: after the takeover the rung's player and the downstream
 * player go on without a reconnect, and the relay keeps its connection
 * (identical encoder settings give identical codec headers). */
static void
test_ladder_and_relay(void)
{
    struct sl_srv  down, orig;
    struct sl_proc p1, p2;
    struct sl_rc  *pl[2];
    char           sec[1024];
    unsigned long  want;

    IT_START(&down, NULL, NULL);
    snprintf(sec, sizeof(sec),
             BACKUP "renditions = 120p\nkeyframe_interval = 1s\n"
                    "relays = down\n"
                    "[rendition:120p]\nwidth = 160\nheight = 120\n"
                    "video_bitrate = 150k\npreset = ultrafast\n"
                    "[relay:down]\nurl = rtmp://127.0.0.1:%d/live\n",
             down.port);
    IT_START(&orig, NULL, sec);
    pl[0] = player(&orig, "x_120p");
    CU_ASSERT_FATAL(pl[0] != NULL);
    pl[1] = player(&down, "x");
    CU_ASSERT_FATAL(pl[1] != NULL);

    CU_ASSERT_FATAL(
        publish(&p1, &orig, "x", "pub1", pl, 2, "] publishing live/x", 1) == 0);
    IT_EXPECT_LOGS(pump_until(pl, 2, down.log, "] publishing live/x", 1, 15) ==
                       0,
                   orig.log, down.log);
    CU_ASSERT_FATAL(publish(&p2, &orig, "x", "pub2", pl, 2,
                            "live/x: standby publisher c", 1) == 0);
    CU_ASSERT(pump_video(pl, 2, 30, 1, 30, 10) == 0);
    CU_ASSERT(sl_rc_stats(pl[0])->video > 0);
    CU_ASSERT(sl_rc_stats(pl[1])->video > 0);

    sl_proc_kill(&p1);
    IT_EXPECT_LOGS(
        pump_until(pl, 2, orig.log, "took over after primary c", 1, 10) == 0,
        orig.log, down.log);
    /* Two seconds of frames after the takeover on each (from the
     * larger count of the two), and at least the count checked below. */
    want = sl_rc_stats(pl[0])->video > sl_rc_stats(pl[1])->video
               ? sl_rc_stats(pl[0])->video
               : sl_rc_stats(pl[1])->video;
    want = want + 60 > 5 * 30 + 1 ? want + 60 : 5 * 30 + 1;
    CU_ASSERT(pump_video(pl, 2, want, 0, 0, 10) == 0);
    show("rung player", sl_rc_stats(pl[0]));
    show("downstream player", sl_rc_stats(pl[1]));
    for (int i = 0; i < 2; i++) {
        const struct sl_rc_stats *st = sl_rc_stats(pl[i]);

        CU_ASSERT_EQUAL(st->unpublish_notify, 0);
        CU_ASSERT_EQUAL(st->play_stop, 0);
        CU_ASSERT(st->video_ts_monotonic);
        CU_ASSERT(st->key_after_header);
        CU_ASSERT(st->max_video_ts_step < 2000);
        CU_ASSERT(st->max_video_arrival_gap_ms < IT_S(3) * 1000.0);
    }
    /* Neither the ladder nor the relay started again. */
    CU_ASSERT_EQUAL(sl_file_count(orig.log, "rendition live/x_120p started"),
                    1);
    CU_ASSERT_EQUAL(sl_file_count(orig.log, "relay down: pushing live/x to"),
                    1);
    CU_ASSERT_EQUAL(sl_file_count(orig.log, "changed codec configuration"), 0);
    CU_ASSERT_EQUAL(sl_file_count(down.log, "] publishing live/x"), 1);
    CU_ASSERT_EQUAL(sl_file_count(down.log, "unpublished live/x"), 0);
    /* Frames kept coming after the takeover: the relay's from the
     * standby and the rung's from its encoder, both past the takeover's
     * few seconds. */
    CU_ASSERT(sl_rc_stats(pl[0])->video > 5 * 30);
    CU_ASSERT(sl_rc_stats(pl[1])->video > 5 * 30);
    sl_rc_close(pl[0]);
    sl_rc_close(pl[1]);
    sl_proc_kill(&p2);
    IT_STOP(&orig);
    IT_STOP(&down);
}

void
sl_itest_suite_standby(void)
{
    CU_pSuite s = sl_itest_suite("standby");

    CU_add_test(s, "killed primary: the standby goes on for the player",
                test_killed_primary);
    CU_add_test(s, "stalled primary: replaced after ingest_timeout",
                test_stalled_primary);
    CU_add_test(s, "the old primary returns as the standby",
                test_primary_returns_as_standby);
    CU_add_test(s, "second publisher refused without backup_publish",
                test_refusals);
    CU_add_test(s, "ladder and relay go on across a takeover",
                test_ladder_and_relay);
}
