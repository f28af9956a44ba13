/*
 * A player that joins a running stream gets a picture it can decode:
 * its first video frame is a keyframe, and the stream's metadata (size,
 * codecs) reaches it before the video.  With gop_cache = on the server
 * replays the current GOP from its keyframe; with gop_cache = off the
 * player waits for the next keyframe instead of starting mid-GOP.
 *
 * Both servers run side by side with identical publishers (30 fps,
 * a keyframe every 60 frames, 7 s).  A watcher that plays from the start
 * tells how far the stream has got; the late players join once it has
 * seen 3 s of video, halfway through the second GOP (keyframes at 0, 2,
 * 4 and 6 s).  Joining by stream time, not wall time, keeps the test
 * independent of how fast ffmpeg starts.
 */
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"

#define JOIN_TS 3000 /* ms of stream the watcher has seen at the join */

struct side {
    const char          *keys;
    int                  gop_cache;
    struct sl_srv        srv;
    struct sl_proc       pub, play;
    struct sl_rc        *rc, *watch;
    struct sl_itest_pump pump, watch_pump;
    uint32_t             join_ts; /* the watcher's last video timestamp */
    char                 url[256], out[PATH_MAX + 32];
};

static void
check_side(struct side *s, const char *what, const struct sl_av *av)
{
    const struct sl_rc_stats *st;
    struct sl_probe           pr;

    CU_ASSERT(sl_proc_wait(&s->pub, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&s->pub, 0));
    CU_ASSERT(sl_proc_wait(&s->play, IT_S(20)) == 0);
    CU_ASSERT(sl_proc_exited_with(&s->play, 0));
    sl_proc_kill(&s->pub);
    sl_proc_kill(&s->play);

    /* The real player's recording. */
    CU_ASSERT(sl_probe_file(s->out, &pr) == 0);
    sl_probe_print(what, &pr);
    CU_ASSERT(pr.video_packets > 0);
    CU_ASSERT(pr.first_video_key);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(pr.width == av->width && pr.height == av->height);
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");

    /* Our client's view of the wire. */
    if (s->rc == NULL)
        return;
    sl_itest_pump_join(&s->pump);
    st = sl_rc_stats(s->rc);
    fprintf(stderr,
            "  %s client: %lu video, %lu audio, %lu metadata, "
            "metadata first %d, first video key %d, first frame key %d\n",
            what, st->video, st->audio, st->metadata, st->metadata_before_video,
            st->first_video_key, st->first_frame_key);
    CU_ASSERT(st->video > 0);
    CU_ASSERT(st->metadata >= 1);
    CU_ASSERT(st->metadata_before_video);
    CU_ASSERT(st->first_video_key);
    CU_ASSERT(st->first_frame_key == 1);
    CU_ASSERT(st->video_ts_monotonic);
    /* With the cache the first picture is the GOP's keyframe, from
     * before the join; without it, the next keyframe, after the join. */
    fprintf(stderr, "  %s client: joined at %u ms, first frame at %u ms\n",
            what, s->join_ts, st->first_frame_ts);
    if (s->gop_cache) {
        CU_ASSERT(st->first_frame_ts <= s->join_ts);
    } else {
        CU_ASSERT(st->first_frame_ts >= s->join_ts);
    }
    sl_rc_close(s->rc);
    if (s->watch != NULL) {
        sl_itest_pump_join(&s->watch_pump);
        sl_rc_close(s->watch);
    }
}

static void
test_late_join(void)
{
    struct sl_av av = {320, 240, 30, 7, 60, 0};
    struct side  sides[2] = {{.keys = "gop_cache = on\n", .gop_cache = 1},
                             {.keys = "gop_cache = off\n"}};
    char         log[PATH_MAX + 32];
    double       deadline;

    for (int i = 0; i < 2; i++) {
        struct side *s = &sides[i];

        IT_START(&s->srv, s->keys, NULL);
        sl_srv_url(&s->srv, "live", "x", s->url, sizeof(s->url));
        sl_srv_path(&s->srv, "play.flv", s->out, sizeof(s->out));
        s->watch = sl_rc_player(s->srv.port, "live", "x", -2, 0, IT_S(5));
        CU_ASSERT_FATAL(s->watch != NULL);
        CU_ASSERT_FATAL(
            sl_rc_wait_status(s->watch, "NetStream.Play.Start", IT_S(5)) == 0);
        sl_srv_path(&s->srv, "publish.log", log, sizeof(log));
        CU_ASSERT_FATAL(sl_ffmpeg_publish(&s->pub, s->url, &av, log) == 0);
    }
    /* Both watchers read in turns until each has seen JOIN_TS. */
    deadline = sl_now() + IT_S(20);
    while (sl_now() < deadline &&
           (sl_rc_stats(sides[0].watch)->last_video_ts < JOIN_TS ||
            sl_rc_stats(sides[1].watch)->last_video_ts < JOIN_TS)) {
        for (int i = 0; i < 2; i++)
            if (sl_rc_stats(sides[i].watch)->last_video_ts < JOIN_TS)
                sl_rc_pump(sides[i].watch, 0.02, 0);
    }
    for (int i = 0; i < 2; i++) {
        struct side *s = &sides[i];

        s->join_ts = sl_rc_stats(s->watch)->last_video_ts;
        CU_ASSERT(s->join_ts >= JOIN_TS);
        sl_itest_pump_start(&s->watch_pump, s->watch, IT_S(25), 1);
        sl_srv_path(&s->srv, "play.log", log, sizeof(log));
        CU_ASSERT(sl_ffmpeg_play(&s->play, s->url, s->out, log) == 0);
        s->rc = sl_rc_player(s->srv.port, "live", "x", -2, 0, IT_S(5));
        CU_ASSERT(s->rc != NULL);
        if (s->rc != NULL)
            sl_itest_pump_start(&s->pump, s->rc, IT_S(25), 1);
    }
    check_side(&sides[0], "gop_cache on ", &av);
    check_side(&sides[1], "gop_cache off", &av);
    for (int i = 0; i < 2; i++)
        IT_STOP(&sides[i].srv);
}

void
sl_itest_suite_late_join(void)
{
    CU_pSuite s = sl_itest_suite("late_join");

    CU_add_test(s,
                "late player starts on a keyframe, with metadata "
                "(gop_cache on and off)",
                test_late_join);
}
