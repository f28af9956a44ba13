/*
 * GStreamer against Sluice, both ways.
 *
 * Players: rtmp2src (GStreamer's own RTMP client) and rtmpsrc (librtmp)
 * record an ffmpeg stream; the files are FLV with H.264 (and AAC).
 * Publishers: rtmp2sink, and rtmpsink, which is librtmp publishing the
 * way OBS does (releaseStream, FCPublish, then publish); an ffmpeg player
 * waiting on each name receives every frame they sent.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"

#define GST_FRAMES 90 /* 3 s at 30 fps */

/* 1 when gst-inspect-1.0 knows the element.  Running it also builds
 * GStreamer's plugin registry before any timed pipeline starts. */
static int
have_element(const char *name)
{
    char *argv[] = {"gst-inspect-1.0", (char *) name, NULL};

    return sl_proc_run(argv, NULL, NULL, IT_S(60)) == 0;
}

static void
check_flv(const char *what, const char *file, int want_audio)
{
    struct sl_probe pr;

    CU_ASSERT(sl_probe_file(file, &pr) == 0);
    sl_probe_print(what, &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(pr.width == 320 && pr.height == 240);
    CU_ASSERT(pr.video_packets > 0);
    CU_ASSERT(pr.first_video_key);
    CU_ASSERT(pr.video_dts_monotonic);
    if (want_audio) {
        CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
        CU_ASSERT(pr.audio_packets > 0);
    }
}

static void
test_gst_players(void)
{
    struct sl_av   av = {320, 240, 30, 5, 30, 0};
    struct sl_srv  srv;
    struct sl_proc pub, p2, p1;
    char url[256], loc[300], sink2[PATH_MAX + 64], sink1[PATH_MAX + 64],
        out2[PATH_MAX + 32], out1[PATH_MAX + 32], log[PATH_MAX + 32];

    CU_ASSERT_FATAL(have_element("rtmp2src"));
    CU_ASSERT_FATAL(have_element("rtmpsrc"));
    IT_START(&srv, NULL, NULL);
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    sl_srv_path(&srv, "rtmp2src.flv", out2, sizeof(out2));
    sl_srv_path(&srv, "rtmpsrc.flv", out1, sizeof(out1));
    snprintf(sink2, sizeof(sink2), "location=%s", out2);
    snprintf(sink1, sizeof(sink1), "location=%s", out1);
    /* librtmp options follow the URL, separated by spaces. */
    snprintf(loc, sizeof(loc), "location=%s live=1", url);

    sl_srv_path(&srv, "publish.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, log) == 0);
    CU_ASSERT(sl_wait_file_count(srv.log, "publishing live/x", 1, IT_S(10)) ==
              0);
    {
        char  l2[sizeof(url) + 16];
        char *a2[] = {"gst-launch-1.0", "-e",  "rtmp2src", l2, "!",
                      "filesink",       sink2, NULL};
        char *a1[] = {"gst-launch-1.0", "-e",  "rtmpsrc", loc, "!",
                      "filesink",       sink1, NULL};

        snprintf(l2, sizeof(l2), "location=%s", url);
        sl_srv_path(&srv, "rtmp2src.log", log, sizeof(log));
        CU_ASSERT_FATAL(sl_proc_spawn(&p2, a2, log, log) == 0);
        sl_srv_path(&srv, "rtmpsrc.log", log, sizeof(log));
        CU_ASSERT_FATAL(sl_proc_spawn(&p1, a1, log, log) == 0);
    }
    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    /* Both end on their own when the stream ends (EOS); the bound is an
     * interrupt, which -e turns into a clean EOS, then SIGKILL. */
    CU_ASSERT(sl_proc_wait(&p2, IT_S(15)) == 0);
    CU_ASSERT(sl_proc_wait(&p1, IT_S(5)) == 0);
    sl_proc_stop(&p2, SIGINT, IT_S(5));
    sl_proc_stop(&p1, SIGINT, IT_S(5));
    sl_proc_kill(&pub);

    check_flv("rtmp2src", out2, 1);
    check_flv("rtmpsrc", out1, 1);
    IT_STOP(&srv);
}

/* A GStreamer publishing pipeline: test video (and AAC audio when the
 * encoder is there) into flvmux and the given sink. */
static int
gst_publish(struct sl_proc *p, const char *sink, const char *url, int audio,
            const char *log)
{
    char  frames[32], loc[300];
    char *argv[64];
    int   n = 0;

    snprintf(frames, sizeof(frames), "num-buffers=%d", GST_FRAMES);
    snprintf(loc, sizeof(loc), "location=%s", url);
    argv[n++] = "gst-launch-1.0";
    argv[n++] = "-e";
    argv[n++] = "flvmux";
    argv[n++] = "name=mux";
    argv[n++] = "streamable=true";
    argv[n++] = "!";
    argv[n++] = (char *) sink;
    argv[n++] = loc;
    argv[n++] = "videotestsrc";
    argv[n++] = "is-live=true";
    argv[n++] = frames;
    argv[n++] = "!";
    argv[n++] = "video/x-raw,width=320,height=240,framerate=30/1";
    argv[n++] = "!";
    argv[n++] = "openh264enc";
    argv[n++] = "!";
    argv[n++] = "h264parse";
    argv[n++] = "!";
    argv[n++] = "mux.";
    if (audio) {
        /* 3 s of 1024-sample buffers at 44.1 kHz. */
        argv[n++] = "audiotestsrc";
        argv[n++] = "is-live=true";
        argv[n++] = "num-buffers=129";
        argv[n++] = "samplesperbuffer=1024";
        argv[n++] = "!";
        argv[n++] = "audio/x-raw,rate=44100";
        argv[n++] = "!";
        argv[n++] = "voaacenc";
        argv[n++] = "!";
        argv[n++] = "aacparse";
        argv[n++] = "!";
        argv[n++] = "mux.";
    }
    argv[n] = NULL;
    return sl_proc_spawn(p, argv, log, log);
}

static void
test_gst_publishers(void)
{
    static const char *const sinks[2] = {"rtmp2sink", "rtmpsink"};
    struct sl_srv            srv;
    struct sl_proc           pub[2], play[2];
    char url[2][256], out[2][PATH_MAX + 32], log[PATH_MAX + 32];
    int  audio, ok[2];

    CU_ASSERT_FATAL(have_element("videotestsrc"));
    CU_ASSERT_FATAL(have_element("openh264enc"));
    CU_ASSERT_FATAL(have_element("flvmux"));
    audio = have_element("voaacenc") && have_element("aacparse");
    for (int i = 0; i < 2; i++) {
        ok[i] = have_element(sinks[i]);
        if (!ok[i])
            fprintf(stderr, "  %s missing: its case is skipped\n", sinks[i]);
    }
    CU_ASSERT_FATAL(ok[1]); /* rtmpsink stands for OBS: required */
    IT_START(&srv, NULL, NULL);
    for (int i = 0; i < 2; i++) {
        if (!ok[i])
            continue;
        sl_srv_url(&srv, "live", i == 0 ? "gst" : "obs", url[i],
                   sizeof(url[i]));
        snprintf(log, sizeof(log), "%s/play-%s.log", srv.dir, sinks[i]);
        snprintf(out[i], sizeof(out[i]), "%s/play-%s.flv", srv.dir, sinks[i]);
        CU_ASSERT_FATAL(sl_ffmpeg_play(&play[i], url[i], out[i], log) == 0);
    }
    CU_ASSERT(sl_wait_file_count(srv.log, "waiting for a publisher",
                                 ok[0] + ok[1], IT_S(10)) == 0);
    for (int i = 0; i < 2; i++) {
        if (!ok[i])
            continue;
        snprintf(log, sizeof(log), "%s/%s.log", srv.dir, sinks[i]);
        CU_ASSERT_FATAL(gst_publish(&pub[i], sinks[i], url[i], audio, log) ==
                        0);
    }
    for (int i = 0; i < 2; i++) {
        struct sl_probe pr;

        if (!ok[i])
            continue;
        CU_ASSERT(sl_proc_wait(&pub[i], IT_S(30)) == 0);
        CU_ASSERT(sl_proc_exited_with(&pub[i], 0));
        CU_ASSERT(sl_proc_wait(&play[i], IT_S(20)) == 0);
        sl_proc_kill(&pub[i]);
        sl_proc_kill(&play[i]);
        check_flv(sinks[i], out[i], audio);
        if (sl_probe_file(out[i], &pr) == 0)
            CU_ASSERT(sl_within_pct(pr.video_packets, GST_FRAMES, 2));
    }
    /* librtmp's publish path says FCPublish first; the server answers. */
    CU_ASSERT(sl_file_count(srv.log, "publishing live/obs") == 1);
    IT_STOP(&srv);
}

void
sl_itest_suite_gstreamer(void)
{
    CU_pSuite s = sl_itest_suite("gstreamer");

    CU_add_test(s, "rtmp2src and rtmpsrc record H.264+AAC FLV",
                test_gst_players);
    CU_add_test(s, "rtmp2sink and rtmpsink (OBS-style) publish to ffmpeg",
                test_gst_publishers);
}
