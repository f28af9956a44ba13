/*
 * Relays, with real servers and real clients on both ends.
 *
 * Push: an origin Sluice whose app lists a [relay:...] pushes what ffmpeg
 * publishes to a second Sluice and to nginx-rtmp, where ffmpeg plays it
 * and ffprobe reads the recording; a relay that selects a rendition
 * pushes that rung and not the source; a downstream that is killed and
 * started again on the same port gets the stream again; a primary that
 * refuses sends the stream to the backup; with the default retry schedule
 * a downstream away for 3 s gets the stream again; a downstream that stops
 * reading costs the origin no memory beyond the relay's bound and never
 * its own players' media; a relay over SRT (srt:// with a stream id)
 * reaches a second Sluice's srt_listen whole, and again after that one
 * is killed and started on the same ports.
 *
 * Pull: an edge whose first origin is down gets the stream from the
 * second; an origin away for 3 s is pulled from again; 20 players on the
 * edge open one pull; the pull ends after the last player left and a new
 * player starts a new one.
 *
 * Every wait is bounded by IT_S(); nothing asserts how fast anything
 * happened.  Log lines are the server's ("relay NAME: pushing APP/KEY to
 * URL", "pull APP/KEY: from URL", ...).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/itest.h"
#include "tests/support/http_client.h"
#include "tests/support/nginx.h"
#include "tests/support/tcp_proxy.h"

/* Built with AddressSanitizer (the servers under test are too, with
 * `make integration SAN=1`). */
#if defined(__SANITIZE_ADDRESS__)
#define SL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_ASAN 1
#endif
#endif

/* With ThreadSanitizer every byte the server touches has 4 bytes of
 * shadow beside it, and its allocator keeps freed chunks mapped: RSS
 * figures grow about 5 times as fast.  The plain and ASan runs check
 * the real bound; TSan's scales it. */
#if defined(__SANITIZE_THREAD__)
#define SL_RSS_SCALE 5
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SL_RSS_SCALE 5
#endif
#endif
#ifndef SL_RSS_SCALE
#define SL_RSS_SCALE 1
#endif

/* ---- helpers ---- */

/* Waits (bounded) for the n-th occurrence of needle in a log. */
static int
seen(const char *log, const char *needle, int n, double bound_s)
{
    return sl_wait_file_count(log, needle, n, IT_S(bound_s)) == 0;
}

/* Offset of the n-th (1-based) occurrence of needle in the file, or -1. */
static long
nth_offset(const char *path, const char *needle, int n)
{
    char       *text = sl_read_file(path);
    const char *p;
    long        off = -1;

    if (text == NULL)
        return -1;
    p = text;
    while ((p = strstr(p, needle)) != NULL) {
        if (--n == 0) {
            off = (long) (p - text);
            break;
        }
        p += strlen(needle);
    }
    free(text);
    return off;
}

/* An ffmpeg player that records url into DIR/TAG.flv (log DIR/TAG.log). */
static int
player_start(struct sl_proc *p, const char *url, const char *dir,
             const char *tag, char *flv, char *log)
{
    snprintf(flv, PATH_MAX + 32, "%s/%s.flv", dir, tag);
    snprintf(log, PATH_MAX + 32, "%s/%s.log", dir, tag);
    return sl_ffmpeg_play(p, url, flv, log);
}

/* ffprobe of a recording, printed. */
static int
probe(const char *what, const char *flv, struct sl_probe *pr)
{
    int rc = sl_probe_file(flv, pr);

    sl_probe_print(what, pr);
    if (rc < 0)
        fprintf(stderr, "  ffprobe of %s failed: %d\n", flv, rc);
    return rc;
}

/* What a user checks of a relayed recording: H.264 of the given size
 * (height only when width is 0), AAC, at least min_video packets
 * starting with a keyframe, timestamps going forward. */
static void
expect_stream(const struct sl_probe *pr, int width, int height, long min_video,
              int first_key)
{
    CU_ASSERT(pr->ok);
    CU_ASSERT_STRING_EQUAL(pr->vcodec, "h264");
    CU_ASSERT_STRING_EQUAL(pr->acodec, "aac");
    if (width > 0)
        CU_ASSERT(pr->width == width);
    CU_ASSERT(pr->height == height);
    CU_ASSERT(pr->video_packets >= min_video);
    CU_ASSERT(pr->audio_packets > 0);
    if (first_key)
        CU_ASSERT(pr->first_video_key);
    CU_ASSERT(pr->video_dts_monotonic);
    CU_ASSERT(pr->audio_dts_monotonic);
    if (pr->video_packets < min_video)
        fprintf(stderr, "  %ld video packets, expected at least %ld\n",
                pr->video_packets, min_video);
}

/* Resident set size of a process in KiB, or -1. */
static long
rss_kib(pid_t pid)
{
    char path[64], *text, *p;
    long kib = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
    text = sl_read_file(path);
    if (text == NULL)
        return -1;
    p = strstr(text, "VmRSS:");
    if (p != NULL)
        kib = strtol(p + 6, NULL, 10);
    free(text);
    return kib;
}

/* The app keys and [relay:down] section of an origin pushing to url. */
static void
relay_sections(char *out, size_t cap, const char *app_keys, const char *url,
               const char *relay_keys)
{
    snprintf(out, cap, "%srelays = down\n[relay:down]\nurl = %s\n%s",
             app_keys ? app_keys : "", url, relay_keys ? relay_keys : "");
}

/* ---- push ---- */

/* ffmpeg -> origin -> relay -> second Sluice -> ffmpeg player. */
static void
test_push_sluice(void)
{
    struct sl_av    av = {640, 360, 30, 5, 30, 0};
    long            sent = (long) av.fps * av.seconds;
    struct sl_srv   down, orig;
    struct sl_proc  pub, play;
    struct sl_probe pr;
    char            sec[1024], url[256], durl[256], needle[512];
    char            flv[PATH_MAX + 32], plog[PATH_MAX + 32];
    char            publog[PATH_MAX + 32];

    IT_START(&down, NULL, NULL);
    snprintf(durl, sizeof(durl), "rtmp://127.0.0.1:%d/live", down.port);
    relay_sections(sec, sizeof(sec), NULL, durl, NULL);
    IT_START(&orig, NULL, sec);

    /* The downstream's player waits before anything is published, so
     * it should get the whole relayed stream. */
    sl_srv_url(&down, "live", "r1", url, sizeof(url));
    CU_ASSERT_FATAL(player_start(&play, url, down.dir, "play", flv, plog) == 0);
    IT_EXPECT_LOGS(seen(down.log, "] playing live/r1", 1, 10), down.log, NULL);

    sl_srv_url(&orig, "live", "r1", url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    snprintf(needle, sizeof(needle), "relay down: pushing live/r1 to %s/r1",
             durl);
    IT_EXPECT_LOGS(seen(orig.log, needle, 1, 10), orig.log, down.log);
    IT_EXPECT_LOGS(seen(down.log, "] publishing live/r1", 1, 10), orig.log,
                   down.log);

    sl_itest_expect_exit0(&pub, "publisher", publog, IT_S(40));
    /* The relay ends with the stream, the downstream unpublishes and
     * its player ends after publish_grace. */
    sl_itest_expect_exit0(&play, "downstream player", plog, IT_S(30));
    IT_EXPECT_LOGS(seen(down.log, "] unpublished live/r1", 1, 10), orig.log,
                   down.log);

    if (probe("downstream player", flv, &pr) == 0) {
        expect_stream(&pr, 640, 360, sent * 95 / 100, 1);
        CU_ASSERT(pr.video_packets <= sent + 2);
    } else {
        CU_FAIL("the downstream recording could not be probed");
    }
    IT_STOP(&orig);
    IT_STOP(&down);
}

/* ffmpeg -> origin -> relay -> nginx-rtmp -> ffmpeg player. */
static void
test_push_nginx(void)
{
    struct sl_av    av = {320, 240, 30, 7, 30, 0};
    long            sent = (long) av.fps * av.seconds;
    struct sl_nginx ng;
    struct sl_srv   orig;
    struct sl_proc  pub, play;
    struct sl_probe pr;
    char            sec[1024], url[512], nurl[256], needle[512];
    char            flv[PATH_MAX + 32], plog[PATH_MAX + 32];
    char            publog[PATH_MAX + 32];

    if (!sl_nginx_available()) {
        CU_FAIL("nginx with the RTMP module is not installed "
                "(make deps-test installs nginx-light libnginx-mod-rtmp)");
        return;
    }
    CU_ASSERT_FATAL(sl_nginx_start(&ng) == 0);
    snprintf(nurl, sizeof(nurl), "rtmp://127.0.0.1:%d/live", ng.port);
    relay_sections(sec, sizeof(sec), NULL, nurl, NULL);
    IT_START(&orig, NULL, sec);

    sl_srv_url(&orig, "live", "r2", url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    snprintf(needle, sizeof(needle), "relay down: pushing live/r2 to %s/r2",
             nurl);
    IT_EXPECT_LOGS(seen(orig.log, needle, 1, 10), orig.log, ng.log);

    /* nginx-rtmp plays what is being published to it now. */
    snprintf(url, sizeof(url), "%s/r2", nurl);
    CU_ASSERT_FATAL(player_start(&play, url, ng.dir, "play", flv, plog) == 0);
    sl_itest_expect_exit0(&pub, "publisher", publog, IT_S(40));
    /* nginx tells its player the stream ended when the relay leaves. */
    sl_itest_expect_exit0(&play, "nginx player", plog, IT_S(30));
    IT_EXPECT_LOGS(sl_file_count(ng.log, "publish: name='r2'") >= 1, ng.log,
                   orig.log);

    if (probe("nginx player", flv, &pr) == 0) {
        /* The player came a little after the publisher: most of it. */
        expect_stream(&pr, 320, 240, sent / 3, 0);
        CU_ASSERT(pr.video_packets <= sent + 2);
    } else {
        CU_FAIL("the recording from nginx could not be probed");
        sl_nginx_print_log(&ng);
    }
    CU_ASSERT(sl_nginx_stop(&ng) == 0);
    IT_STOP(&orig);
}

/* A relay with `streams = 240p` pushes KEY_240p and not KEY. */
static void
test_push_rendition(void)
{
    struct sl_av              av = {640, 360, 30, 6, 30, 0};
    long                      sent = (long) av.fps * av.seconds;
    struct sl_srv             down, orig;
    struct sl_proc            pub, play;
    struct sl_probe           pr;
    struct sl_rc             *rc;
    struct sl_itest_pump      pump;
    const struct sl_rc_stats *st;
    char                      sec[1024], url[256], durl[256], needle[512];
    char                      flv[PATH_MAX + 32], plog[PATH_MAX + 32];
    char                      publog[PATH_MAX + 32];

    IT_START(&down, NULL, NULL);
    snprintf(durl, sizeof(durl), "rtmp://127.0.0.1:%d/live", down.port);
    relay_sections(sec, sizeof(sec), "renditions = 240p\n", durl,
                   "streams = 240p\n"
                   "[rendition:240p]\nheight = 240\nvideo_bitrate = 300k\n"
                   "preset = ultrafast\n");
    IT_START(&orig, NULL, sec);

    /* On the downstream: ffmpeg waits for the rung, our client for the
     * source (which must never come). */
    sl_srv_url(&down, "live", "r3_240p", url, sizeof(url));
    CU_ASSERT_FATAL(player_start(&play, url, down.dir, "play", flv, plog) == 0);
    rc = sl_rc_player(down.port, "live", "r3", -2, 0, IT_S(5));
    CU_ASSERT_FATAL(rc != NULL);
    CU_ASSERT(sl_rc_wait_status(rc, "NetStream.Play.Start", IT_S(5)) == 0);
    IT_EXPECT_LOGS(seen(down.log, "] playing live/r3_240p", 1, 10), down.log,
                   NULL);
    /* It listens for as long as the publish lasts and a little more. */
    sl_itest_pump_start(&pump, rc, IT_S(av.seconds + 4), 1);

    sl_srv_url(&orig, "live", "r3", url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    snprintf(needle, sizeof(needle),
             "relay down: pushing live/r3_240p to %s/r3_240p", durl);
    IT_EXPECT_LOGS(seen(orig.log, needle, 1, 20), orig.log, down.log);
    IT_EXPECT_LOGS(seen(down.log, "] publishing live/r3_240p", 1, 10), orig.log,
                   down.log);

    sl_itest_expect_exit0(&pub, "publisher", publog, IT_S(40));
    sl_itest_expect_exit0(&play, "downstream player", plog, IT_S(30));
    sl_itest_pump_join(&pump);

    st = sl_rc_stats(rc);
    fprintf(stderr,
            "  player of the source on the downstream: %lu video, "
            "%lu audio\n",
            st->video, st->audio);
    CU_ASSERT(st->video == 0 && st->audio == 0);
    sl_rc_close(rc);
    /* The source was not pushed: never published downstream, never a
     * push of it in the origin's log. */
    snprintf(needle, sizeof(needle), "relay down: pushing live/r3 to");
    IT_EXPECT_LOGS(sl_file_count(orig.log, needle) == 0, orig.log, NULL);
    IT_EXPECT_LOGS(sl_file_count(down.log, "] publishing live/r3\n") == 0,
                   down.log, NULL);

    if (probe("downstream player of r3_240p", flv, &pr) == 0) {
        expect_stream(&pr, 0, 240, sent / 3, 1);
        CU_ASSERT(pr.width > 0 && pr.width < 640);
    } else {
        CU_FAIL("the downstream recording could not be probed");
    }
    IT_STOP(&orig);
    IT_STOP(&down);
}

/* The downstream is SIGKILLed while the relay is live and started again
 * on the same port: the relay reconnects and the stream plays there. */
static void
test_push_downstream_restart(void)
{
    struct sl_av    av = {320, 240, 30, 12, 30, 0};
    struct sl_srv   down, orig;
    struct sl_proc  pub, play;
    struct sl_probe pr;
    char            sec[1024], url[256], durl[256], pushing[512];
    char            lost[512], flv[PATH_MAX + 32], plog[PATH_MAX + 32];
    char            publog[PATH_MAX + 32];

    IT_START(&down, NULL, NULL);
    snprintf(durl, sizeof(durl), "rtmp://127.0.0.1:%d/live", down.port);
    relay_sections(sec, sizeof(sec), NULL, durl,
                   "retry_min = 500ms\nretry_max = 2s\n");
    IT_START(&orig, NULL, sec);

    sl_srv_url(&orig, "live", "r4", url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    snprintf(pushing, sizeof(pushing), "relay down: pushing live/r4 to %s/r4",
             durl);
    snprintf(lost, sizeof(lost), "relay down: connection to %s/r4 lost", durl);
    IT_EXPECT_LOGS(seen(orig.log, pushing, 1, 10), orig.log, down.log);
    IT_EXPECT_LOGS(seen(down.log, "] publishing live/r4", 1, 10), orig.log,
                   down.log);
    sl_sleep(1); /* media flows for a moment */

    sl_proc_kill(&down.proc);
    IT_EXPECT_LOGS(seen(orig.log, lost, 1, 10), orig.log, NULL);
    CU_ASSERT_FATAL(sl_srv_restart(&down, "sluice-2.log", IT_S(10)) == 0);
    IT_EXPECT_LOGS(seen(orig.log, pushing, 2, 15), orig.log, down.log);
    IT_EXPECT_LOGS(seen(down.log, "] publishing live/r4", 1, 10), orig.log,
                   down.log);
    /* In that order: lost, then the second push. */
    CU_ASSERT(nth_offset(orig.log, lost, 1) >= 0 &&
              nth_offset(orig.log, lost, 1) < nth_offset(orig.log, pushing, 2));

    sl_srv_url(&down, "live", "r4", url, sizeof(url));
    CU_ASSERT_FATAL(player_start(&play, url, down.dir, "play", flv, plog) == 0);
    sl_itest_expect_exit0(&pub, "publisher", publog, IT_S(40));
    sl_itest_expect_exit0(&play, "downstream player", plog, IT_S(30));
    if (probe("player of the restarted downstream", flv, &pr) == 0)
        expect_stream(&pr, 320, 240, 2L * av.fps, 1);
    else
        CU_FAIL("the downstream recording could not be probed");
    IT_STOP(&orig);
    IT_STOP(&down);
}

/* The relay pushes over SRT (MPEG-TS through libavformat's srt
 * protocol) to a second Sluice's srt_listen, where an RTMP player gets
 * every frame; the downstream is SIGKILLed and started again on the
 * same ports: the relay notices (SRT's peer idle timeout, 5 s),
 * publishes there again, and a new player gets frames. */
static void
test_push_srt_restart(void)
{
    struct sl_av   av = {320, 240, 25, 40, 25, 0};
    struct sl_srv  down, orig;
    struct sl_proc pub;
    struct sl_rc  *c;
    char           keys[128], sec[1024], url[256], durl[256], shown[128];
    char           pushing[512], lost[512], publog[PATH_MAX + 32];
    int            sport = sl_free_udp_port();
    long           got, want;
    uint32_t       span_ms;

    CU_ASSERT_FATAL(sport > 0);
    snprintf(keys, sizeof(keys), "srt_listen = 127.0.0.1:%d\n", sport);
    IT_START(&down, keys, NULL);
    snprintf(durl, sizeof(durl),
             "srt://127.0.0.1:%d?streamid=#!::r=live/{name},m=publish", sport);
    relay_sections(sec, sizeof(sec), NULL, durl,
                   "retry_min = 500ms\nretry_max = 2s\n");
    IT_START(&orig, NULL, sec);

    /* The downstream's player waits before anything is published. */
    c = sl_rc_player(down.port, "live", "s1", -2, 0, IT_S(5));
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(sl_rc_wait_status(c, "NetStream.Play.Start", IT_S(5)) == 0);

    sl_srv_url(&orig, "live", "s1", url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    /* The log shows the URL without its query. */
    snprintf(shown, sizeof(shown), "srt://127.0.0.1:%d", sport);
    snprintf(pushing, sizeof(pushing), "relay down: pushing live/s1 to %s",
             shown);
    snprintf(lost, sizeof(lost), "relay down: connection to %s lost", shown);
    IT_EXPECT_LOGS(seen(orig.log, pushing, 1, 10), orig.log, down.log);
    IT_EXPECT_LOGS(seen(down.log, "] publishing live/s1 (srt)", 1, 10),
                   orig.log, down.log);

    /* 3 s of it on the downstream: every frame of the time it spans. */
    sl_rc_pump(c, 3.0, 0);
    got = (long) (sl_rc_stats(c)->video - sl_rc_stats(c)->avc_headers);
    want = (long) (sl_rc_stats(c)->last_video_ts -
                   sl_rc_stats(c)->first_frame_ts) *
               av.fps / 1000 +
           1;
    fprintf(stderr,
            "  downstream player: %ld frames, %ld in the time they "
            "span; %lu audio\n",
            got, want, sl_rc_stats(c)->audio);
    CU_ASSERT(want >= 2 * av.fps);
    CU_ASSERT(got * 100 >= want * 98);
    CU_ASSERT(sl_rc_stats(c)->first_frame_key == 1);
    CU_ASSERT(sl_rc_stats(c)->video_ts_monotonic);
    CU_ASSERT(sl_rc_stats(c)->audio > 0);
    sl_rc_close(c);

    /* Killed and started again at once on the same ports: the relay
     * publishes there again. */
    sl_proc_kill(&down.proc);
    CU_ASSERT_FATAL(sl_srv_restart(&down, "sluice-2.log", IT_S(10)) == 0);
    IT_EXPECT_LOGS(seen(down.log, "] publishing live/s1 (srt)", 1, 15),
                   orig.log, down.log);
    IT_EXPECT_LOGS(seen(orig.log, pushing, 2, 5), orig.log, down.log);
    CU_ASSERT(nth_offset(orig.log, lost, 1) >= 0 &&
              nth_offset(orig.log, lost, 1) < nth_offset(orig.log, pushing, 2));

    /* A new player there gets frames. */
    c = sl_rc_player(down.port, "live", "s1", -2, 0, IT_S(5));
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(sl_rc_wait_status(c, "NetStream.Play.Start", IT_S(5)) == 0);
    for (double end = sl_now() + IT_S(10);
         sl_now() < end && sl_rc_stats(c)->video - sl_rc_stats(c)->avc_headers <
                               (unsigned long) av.fps;)
        if (sl_rc_pump(c, 0.2, 0) < 0)
            break;
    span_ms = sl_rc_stats(c)->last_video_ts - sl_rc_stats(c)->first_frame_ts;
    fprintf(stderr, "  restarted downstream's player: %lu frames over %u ms\n",
            sl_rc_stats(c)->video - sl_rc_stats(c)->avc_headers, span_ms);
    CU_ASSERT(sl_rc_stats(c)->video - sl_rc_stats(c)->avc_headers >=
              (unsigned long) av.fps);
    sl_rc_close(c);

    sl_proc_stop(&pub, SIGINT, IT_S(5));
    IT_STOP(&orig);
    IT_STOP(&down);
}

/* With the default retry schedule: the downstream is away about 3 s
 * (SIGKILL, then started again on its port) and the relay publishes
 * there again.  The wait is bounded generously; nothing is timed
 * (`make bench-relay` measures how soon). */
static void
test_push_back_after_outage(void)
{
    struct sl_av   av = {320, 240, 30, 25, 30, 0};
    struct sl_srv  down, orig;
    struct sl_proc pub;
    char           sec[1024], url[256], durl[256], pushing[512];
    char           lost[512], publog[PATH_MAX + 32];

    IT_START(&down, NULL, NULL);
    snprintf(durl, sizeof(durl), "rtmp://127.0.0.1:%d/live", down.port);
    relay_sections(sec, sizeof(sec), NULL, durl, NULL);
    IT_START(&orig, NULL, sec);

    sl_srv_url(&orig, "live", "r6", url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    snprintf(pushing, sizeof(pushing), "relay down: pushing live/r6 to %s/r6",
             durl);
    snprintf(lost, sizeof(lost), "relay down: connection to %s/r6 lost", durl);
    IT_EXPECT_LOGS(seen(down.log, "] publishing live/r6", 1, 10), orig.log,
                   down.log);
    /* Long enough for the connection to count as healthy. */
    sl_sleep(3.5);

    sl_proc_kill(&down.proc);
    IT_EXPECT_LOGS(seen(orig.log, lost, 1, 10), orig.log, NULL);
    sl_sleep(3);
    CU_ASSERT_FATAL(sl_srv_restart(&down, "sluice-2.log", IT_S(10)) == 0);
    IT_EXPECT_LOGS(seen(down.log, "] publishing live/r6", 1, 10), orig.log,
                   down.log);
    IT_EXPECT_LOGS(seen(orig.log, pushing, 2, 5), orig.log, down.log);
    /* It was tried while the downstream was away (the first failure is
     * a warning, later ones may be quiet). */
    snprintf(pushing, sizeof(pushing),
             "relay down: cannot push live/r6 to %s/r6", durl);
    CU_ASSERT(sl_file_count(orig.log, pushing) >= 1);

    sl_proc_stop(&pub, SIGINT, IT_S(5));
    IT_STOP(&orig);
    IT_STOP(&down);
}

/* url refuses (nobody listens there), backup_url receives. */
static void
test_push_failover(void)
{
    struct sl_av    av = {320, 240, 30, 6, 30, 0};
    long            sent = (long) av.fps * av.seconds;
    struct sl_srv   down, orig;
    struct sl_proc  pub, play;
    struct sl_probe pr;
    char            sec[1024], relay[512], url[256], durl[256], dead[256];
    char            needle[512], flv[PATH_MAX + 32], plog[PATH_MAX + 32];
    char            publog[PATH_MAX + 32];
    int             dead_port = sl_free_port();

    CU_ASSERT_FATAL(dead_port > 0);
    IT_START(&down, NULL, NULL);
    snprintf(durl, sizeof(durl), "rtmp://127.0.0.1:%d/live", down.port);
    snprintf(dead, sizeof(dead), "rtmp://127.0.0.1:%d/live", dead_port);
    snprintf(relay, sizeof(relay),
             "backup_url = %s\nfailover_after = 2\nretry_min = 300ms\n"
             "retry_max = 1s\n",
             durl);
    relay_sections(sec, sizeof(sec), NULL, dead, relay);
    IT_START(&orig, NULL, sec);

    sl_srv_url(&down, "live", "r5", url, sizeof(url));
    CU_ASSERT_FATAL(player_start(&play, url, down.dir, "play", flv, plog) == 0);
    IT_EXPECT_LOGS(seen(down.log, "] playing live/r5", 1, 10), down.log, NULL);
    sl_srv_url(&orig, "live", "r5", url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);

    snprintf(needle, sizeof(needle), "relay down: cannot push live/r5 to %s/r5",
             dead);
    IT_EXPECT_LOGS(seen(orig.log, needle, 1, 10), orig.log, NULL);
    IT_EXPECT_LOGS(seen(orig.log, "relay down: switching to URL 2 of 2", 1, 10),
                   orig.log, NULL);
    snprintf(needle, sizeof(needle), "relay down: pushing live/r5 to %s/r5",
             durl);
    IT_EXPECT_LOGS(seen(orig.log, needle, 1, 10), orig.log, down.log);
    IT_EXPECT_LOGS(seen(down.log, "] publishing live/r5", 1, 10), orig.log,
                   down.log);
    snprintf(needle, sizeof(needle), "relay down: pushing live/r5 to %s/r5",
             dead);
    CU_ASSERT(sl_file_count(orig.log, needle) == 0);

    sl_itest_expect_exit0(&pub, "publisher", publog, IT_S(40));
    sl_itest_expect_exit0(&play, "backup's player", plog, IT_S(30));
    if (probe("player of the backup", flv, &pr) == 0)
        expect_stream(&pr, 320, 240, sent / 3, 1);
    else
        CU_FAIL("the backup's recording could not be probed");
    IT_STOP(&orig);
    IT_STOP(&down);
}

/* The downstream stops reading (behind a forwarder that stalls: the
 * relay's connection stays open with nothing read, new connections are
 * accepted and never answered).  The origin's memory stays within a
 * bound, its relay fails and retries instead of hanging, and its own
 * player gets every frame. */
static void
test_push_stalled_downstream(void)
{
    /* About 3.5 Mbit/s, long enough that the relay's socket fills (the
     * kernel takes up to tcp_wmem's maximum, 4 MiB, before a write
     * blocks: about 8 s here), its write times out (2 s), and it retries
     * at least once (the first retry fails 2 s later): about 13 s, plus
     * the warm-up and room to spare. */
    struct sl_av        av = {640, 360, 30, 18, 30, 10};
    long                sent = (long) av.fps * av.seconds;
    struct sl_srv       down, orig;
    struct sl_tcp_proxy px;
    struct sl_proc      pub, play;
    struct sl_probe     pr;
    char                sec[1024], url[256], purl[256], needle[512];
    char                flv[PATH_MAX + 32], plog[PATH_MAX + 32];
    char                publog[PATH_MAX + 32];
    long                base, top, now;
    double              deadline;
    int                 samples = 0, started;

    IT_START(&down, NULL, NULL);
    CU_ASSERT_FATAL(sl_tcp_proxy_start(&px, down.port, 64 * 1024) == 0);
    snprintf(purl, sizeof(purl), "rtmp://127.0.0.1:%d/live", px.port);
    relay_sections(sec, sizeof(sec), NULL, purl,
                   "timeout = 2s\nmax_buffer = 2m\nretry_min = 500ms\n"
                   "retry_max = 2s\n");
#ifdef SL_ASAN
    {
        /* ASan holds freed memory in a quarantine (256 MiB by default),
         * so the RSS of a sanitized origin would grow with every byte
         * that passed through it.  A small quarantine for this one
         * server keeps the measure about its own buffers. */
        const char *old = getenv("ASAN_OPTIONS");
        char        saved[1024], opts[1100];

        snprintf(saved, sizeof(saved), "%s", old != NULL ? old : "");
        snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=4", saved,
                 saved[0] != '\0' ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
        started = sl_srv_start(&orig, NULL, sec);
        if (old != NULL)
            setenv("ASAN_OPTIONS", saved, 1);
        else
            unsetenv("ASAN_OPTIONS");
    }
#else
    started = sl_srv_start(&orig, NULL, sec);
#endif
    if (started != 0) {
        sl_tcp_proxy_stop(&px);
        CU_FAIL_FATAL("origin did not start");
    }

    sl_srv_url(&orig, "live", "r6", url, sizeof(url));
    CU_ASSERT(player_start(&play, url, orig.dir, "play", flv, plog) == 0);
    IT_EXPECT_LOGS(seen(orig.log, "] playing live/r6", 1, 10), orig.log, NULL);
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    snprintf(needle, sizeof(needle), "relay down: pushing live/r6 to %s/r6",
             purl);
    IT_EXPECT_LOGS(seen(orig.log, needle, 1, 10), orig.log, down.log);
    IT_EXPECT_LOGS(seen(down.log, "] publishing live/r6", 1, 10), orig.log,
                   down.log);
    sl_sleep(1); /* warm-up: the relay carries media */

    base = rss_kib(orig.proc.pid);
    top = base;
    sl_tcp_proxy_stall(&px);
    /* Sample the origin's memory until the publisher is done. */
    deadline = sl_now() + IT_S(av.seconds + 20);
    while (sl_proc_wait(&pub, 0.25) == -ETIMEDOUT && sl_now() < deadline) {
        now = rss_kib(orig.proc.pid);
        if (now > top)
            top = now;
        samples++;
    }
    fprintf(stderr,
            "  origin RSS: %ld KiB after warm-up, at most %ld KiB while the "
            "downstream stalled (%d samples); forwarder: %d connections, "
            "%ld bytes before the stall\n",
            base, top, samples, atomic_load(&px.accepted),
            atomic_load(&px.forwarded));
    CU_ASSERT(base > 0);
    CU_ASSERT(top - base < 20 * 1024 * SL_RSS_SCALE);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    sl_proc_kill(&pub);

    /* The stuck write was given up, then connections that were never
     * answered: failing and retrying, not hanging. */
    snprintf(needle, sizeof(needle), "relay down: connection to %s/r6 lost",
             purl);
    IT_EXPECT_LOGS(sl_file_count(orig.log, needle) >= 1, orig.log, NULL);
    if (sl_file_count(orig.log, needle) == 0)
        fprintf(stderr,
                "  the relay never gave up the stalled connection "
                "(timeout = 2s): it should log \"%s\" and retry\n",
                needle);
    snprintf(needle, sizeof(needle), "relay down: cannot push live/r6 to %s/r6",
             purl);
    IT_EXPECT_LOGS(sl_file_count(orig.log, needle) >= 1, orig.log, NULL);
    CU_ASSERT(atomic_load(&px.accepted) >= 2);

    sl_itest_expect_exit0(&play, "origin's player", plog, IT_S(30));
    if (probe("origin's player", flv, &pr) == 0) {
        expect_stream(&pr, 640, 360, 0, 1);
        /* Every frame, through the whole outage. */
        CU_ASSERT(sl_within_pct(pr.video_packets, sent, 3));
    } else {
        CU_FAIL("the origin player's recording could not be probed");
    }
    IT_STOP(&orig);
    sl_tcp_proxy_stop(&px);
    IT_STOP(&down);
}

/* ---- pull ---- */

/* The edge's first origin is down; the second serves the stream. */
/* The edge's API lists the pulled stream, says where it comes from and
 * counts its player (no session publishes it there).  Polled: the pull
 * is listed once it is live. */
static void
expect_pulled_in_api(const struct sl_srv *edge, const char *key,
                     const char *origin)
{
    char                path[128], want[300];
    struct sl_http_resp r = {0};
    int                 ok = 0;

    snprintf(path, sizeof(path), "/api/v1/streams/live/%s", key);
    snprintf(want, sizeof(want), "\"address\":\"%s/%s\"", origin, key);
    for (int i = 0; i < 40 && !ok; i++) {
        sl_http_resp_free(&r);
        memset(&r, 0, sizeof(r));
        ok = sl_http_get(edge->http_port, path, &r) == 200 && r.body &&
             strstr(r.body, want) != NULL &&
             strstr(r.body, "\"client\":\"sluice edge pull\"") != NULL &&
             strstr(r.body, "\"players\":1") != NULL;
        if (!ok)
            sl_sleep(IT_S(0.25));
    }
    if (!ok)
        fprintf(stderr, "  edge API: %s\n", r.body ? r.body : "(none)");
    CU_ASSERT(ok);
    sl_http_resp_free(&r);
}

static void
test_pull_second_origin(void)
{
    struct sl_av    av = {320, 240, 30, 6, 30, 0};
    long            sent = (long) av.fps * av.seconds;
    struct sl_srv   orig, edge;
    struct sl_proc  pub, play;
    struct sl_probe pr;
    char            sec[1024], url[256], dead[256], ourl[256];
    char            failed[512], from[512], flv[PATH_MAX + 32];
    char            plog[PATH_MAX + 32], publog[PATH_MAX + 32];
    int             dead_port = sl_free_port();

    CU_ASSERT_FATAL(dead_port > 0);
    IT_START(&orig, NULL, NULL);
    snprintf(dead, sizeof(dead), "rtmp://127.0.0.1:%d/live", dead_port);
    snprintf(ourl, sizeof(ourl), "rtmp://127.0.0.1:%d/live", orig.port);
    snprintf(sec, sizeof(sec), "pull = %s, %s\npull_idle_timeout = 2s\n", dead,
             ourl);
    IT_START(&edge, NULL, sec);

    sl_srv_url(&orig, "live", "e7", url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    IT_EXPECT_LOGS(seen(orig.log, "] publishing live/e7", 1, 10), orig.log,
                   NULL);

    sl_srv_url(&edge, "live", "e7", url, sizeof(url));
    CU_ASSERT_FATAL(player_start(&play, url, edge.dir, "play", flv, plog) == 0);
    snprintf(failed, sizeof(failed), "pull live/e7: origin %s/e7", dead);
    snprintf(from, sizeof(from), "pull live/e7: from %s/e7", ourl);
    IT_EXPECT_LOGS(seen(edge.log, failed, 1, 10), edge.log, NULL);
    IT_EXPECT_LOGS(seen(edge.log, from, 1, 15), edge.log, orig.log);
    CU_ASSERT(nth_offset(edge.log, failed, 1) < nth_offset(edge.log, from, 1));
    expect_pulled_in_api(&edge, "e7", ourl);

    sl_itest_expect_exit0(&pub, "publisher", publog, IT_S(40));
    sl_itest_expect_exit0(&play, "edge player", plog, IT_S(30));
    if (probe("edge player", flv, &pr) == 0)
        expect_stream(&pr, 320, 240, sent / 3, 1);
    else
        CU_FAIL("the edge player's recording could not be probed");
    IT_STOP(&edge);
    IT_STOP(&orig);
}

/* The same for an edge's pull, default schedule: the origin is away
 * about 3 s while a player waits on the edge; a new publisher there is
 * pulled again by the same pull and reaches the same player. */
static void
test_pull_back_after_outage(void)
{
    struct sl_av         av = {320, 240, 30, 30, 30, 0};
    struct sl_srv        orig, edge;
    struct sl_proc       pub;
    struct sl_rc        *rc;
    struct sl_itest_pump pump;
    char                 sec[1024], url[256], ourl[256], from[512];
    char                 publog[PATH_MAX + 32];
    unsigned long        before, at_return, after;
    double               deadline;

    IT_START(&orig, NULL, NULL);
    snprintf(ourl, sizeof(ourl), "rtmp://127.0.0.1:%d/live", orig.port);
    snprintf(sec, sizeof(sec), "pull = %s\n", ourl);
    IT_START(&edge, "publish_grace = 60s\n", sec);
    snprintf(from, sizeof(from), "pull live/e10: from %s/e10", ourl);

    sl_srv_url(&orig, "live", "e10", url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    IT_EXPECT_LOGS(seen(orig.log, "] publishing live/e10", 1, 10), orig.log,
                   NULL);
    rc = sl_rc_player(edge.port, "live", "e10", -2, 0, IT_S(5));
    CU_ASSERT_FATAL(rc != NULL);
    /* Media flows long enough for the pull to count as healthy. */
    CU_ASSERT_FATAL(sl_itest_pump_start(&pump, rc, IT_S(3.5), 0) == 0);
    sl_itest_pump_join(&pump);
    before = sl_rc_stats(rc)->video;
    CU_ASSERT(before > 0);
    IT_EXPECT_LOGS(sl_file_count(edge.log, from) == 1, edge.log, orig.log);

    /* The origin dies (its publisher with it) and is back 3 s later
     * with a new publisher.  The player reads on meanwhile (what was
     * on its way before the outage is counted before the return). */
    sl_proc_kill(&orig.proc);
    sl_proc_stop(&pub, SIGKILL, IT_S(5));
    sl_rc_pump(rc, 3, 0);
    at_return = sl_rc_stats(rc)->video;
    CU_ASSERT_FATAL(sl_srv_restart(&orig, "sluice-2.log", IT_S(10)) == 0);
    sl_srv_path(&orig, "publish-2.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    IT_EXPECT_LOGS(seen(edge.log, from, 2, 10), edge.log, orig.log);
    CU_ASSERT(sl_file_count(edge.log, "pull live/e10: ended") == 0);
    /* Until video of the new publication reaches the player (bounded). */
    deadline = sl_now() + IT_S(10);
    while (sl_rc_stats(rc)->video <= at_return && sl_now() < deadline)
        if (sl_rc_pump(rc, 0.2, 0) < 0)
            break;
    IT_STOP(&edge);
    after = sl_rc_stats(rc)->video;
    fprintf(stderr,
            "  edge player: %lu video messages before the outage, %lu "
            "after the return, on one connection\n",
            before, after - at_return);
    CU_ASSERT(at_return >= before);
    CU_ASSERT(after > at_return);
    sl_rc_close(rc);
    sl_proc_stop(&pub, SIGINT, IT_S(5));
    IT_STOP(&orig);
}

#define EDGE_PLAYERS 20

/* 20 players asking the edge for one name open one pull. */
static void
test_pull_one_for_many(void)
{
    struct sl_av         av = {320, 240, 30, 30, 30, 0};
    struct sl_srv        orig, edge;
    struct sl_proc       pub;
    struct sl_rc        *rc[EDGE_PLAYERS];
    struct sl_itest_pump pump[EDGE_PLAYERS];
    char                 sec[1024], url[256], ourl[256], from[512];
    char                 publog[PATH_MAX + 32];
    int                  n, fed, starved = 0;
    unsigned long        least = ~0UL;
    double               deadline;

    IT_START(&orig, NULL, NULL);
    snprintf(ourl, sizeof(ourl), "rtmp://127.0.0.1:%d/live", orig.port);
    snprintf(sec, sizeof(sec), "pull = %s\npull_idle_timeout = 2s\n", ourl);
    IT_START(&edge, NULL, sec);

    sl_srv_url(&orig, "live", "e8", url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    IT_EXPECT_LOGS(seen(orig.log, "] publishing live/e8", 1, 10), orig.log,
                   NULL);

    /* All of them ask at about the same time. */
    for (n = 0; n < EDGE_PLAYERS; n++) {
        rc[n] = sl_rc_player(edge.port, "live", "e8", -2, 0, IT_S(5));
        if (rc[n] == NULL)
            break;
    }
    CU_ASSERT(n == EDGE_PLAYERS);
    for (int i = 0; i < n; i++)
        CU_ASSERT(sl_rc_wait_status(rc[i], "NetStream.Play.Start", IT_S(5)) ==
                  0);
    /* They listen, all at once, in rounds until each got a second of
     * video and some audio, or the bound within which media must reach
     * every one of them has passed. */
    deadline = sl_now() + IT_S(6);
    do {
        for (int i = 0; i < n; i++)
            sl_itest_pump_start(&pump[i], rc[i], 0.5, 1);
        for (int i = 0; i < n; i++)
            sl_itest_pump_join(&pump[i]);
        fed = 0;
        for (int i = 0; i < n; i++)
            fed += sl_rc_stats(rc[i])->video >= (unsigned long) av.fps &&
                   sl_rc_stats(rc[i])->audio > 0;
    } while (fed < n && sl_now() < deadline);
    for (int i = 0; i < n; i++) {
        const struct sl_rc_stats *st = sl_rc_stats(rc[i]);

        if (st->video < least)
            least = st->video;
        if (st->video == 0 || st->audio == 0 || !st->video_ts_monotonic) {
            fprintf(stderr,
                    "  edge player %d: %lu video, %lu audio, "
                    "monotonic %d\n",
                    i, st->video, st->audio, st->video_ts_monotonic);
            starved++;
        }
    }
    fprintf(stderr, "  %d edge players, the least got %lu video messages\n", n,
            n > 0 ? least : 0UL);
    CU_ASSERT(starved == 0);

    /* Counted while the origin still publishes (after it stops the
     * edge's pull would ask the origin again). */
    CU_ASSERT(sl_proc_wait(&pub, 0) == -ETIMEDOUT);
    snprintf(from, sizeof(from), "pull live/e8: from %s/e8", ourl);
    IT_EXPECT_LOGS(sl_file_count(edge.log, from) == 1, edge.log, orig.log);
    IT_EXPECT_LOGS(sl_file_count(edge.log, "pull live/e8: from") == 1, edge.log,
                   NULL);
    IT_EXPECT_LOGS(sl_file_count(orig.log, "] playing live/e8") == 1, orig.log,
                   edge.log);
    CU_ASSERT(sl_file_count(edge.log, "] playing live/e8") == n);

    for (int i = 0; i < n; i++)
        sl_rc_close(rc[i]);
    sl_proc_stop(&pub, SIGINT, IT_S(5));
    IT_STOP(&edge);
    IT_STOP(&orig);
}

/* With pull_idle_timeout = 2s the pull ends after the last player
 * left (the origin sees its player go), and a new player starts a new
 * pull. */
static void
test_pull_idle_end(void)
{
    struct sl_av              av = {320, 240, 30, 40, 30, 0};
    struct sl_srv             orig, edge;
    struct sl_proc            pub;
    struct sl_rc             *rc;
    const struct sl_rc_stats *st;
    char                      sec[1024], url[256], ourl[256], from[512];
    char                      publog[PATH_MAX + 32];
    double                    deadline;
    int                       prc;

    IT_START(&orig, NULL, NULL);
    snprintf(ourl, sizeof(ourl), "rtmp://127.0.0.1:%d/live", orig.port);
    snprintf(sec, sizeof(sec), "pull = %s\npull_idle_timeout = 2s\n", ourl);
    IT_START(&edge, NULL, sec);
    snprintf(from, sizeof(from), "pull live/e9: from %s/e9", ourl);

    sl_srv_url(&orig, "live", "e9", url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    IT_EXPECT_LOGS(seen(orig.log, "] publishing live/e9", 1, 10), orig.log,
                   NULL);

    /* First player: plays for a while, which is longer than the idle
     * timeout (2 s) by half as much again, so the pull must not end
     * under it. */
    rc = sl_rc_player(edge.port, "live", "e9", -2, 0, IT_S(5));
    CU_ASSERT_FATAL(rc != NULL);
    CU_ASSERT(sl_rc_wait_status(rc, "NetStream.Play.Start", IT_S(5)) == 0);
    CU_ASSERT(sl_rc_pump(rc, IT_S(3), 1) == 0);
    st = sl_rc_stats(rc);
    fprintf(stderr, "  first edge player: %lu video, %lu audio\n", st->video,
            st->audio);
    CU_ASSERT(st->video > 0 && st->audio > 0);
    IT_EXPECT_LOGS(sl_file_count(edge.log, from) == 1, edge.log, orig.log);
    IT_EXPECT_LOGS(sl_file_count(edge.log, "pull live/e9: ended") == 0,
                   edge.log, NULL);
    sl_rc_close(rc);

    /* The last player left: the pull ends, the origin loses its
     * player. */
    IT_EXPECT_LOGS(seen(edge.log, "pull live/e9: ended", 1, 15), edge.log,
                   orig.log);
    IT_EXPECT_LOGS(seen(orig.log, "stopped playing live/e9", 1, 10), orig.log,
                   edge.log);

    /* A new player starts a new pull and gets media (it reads until
     * both tracks came, bounded). */
    rc = sl_rc_player(edge.port, "live", "e9", -2, 0, IT_S(5));
    CU_ASSERT_FATAL(rc != NULL);
    CU_ASSERT(sl_rc_wait_status(rc, "NetStream.Play.Start", IT_S(5)) == 0);
    st = sl_rc_stats(rc);
    deadline = sl_now() + IT_S(5);
    do
        prc = sl_rc_pump(rc, 0.2, 1);
    while (prc == 0 && !(st->video > 0 && st->audio > 0) &&
           !st->unpublish_notify && sl_now() < deadline);
    CU_ASSERT(prc == 0);
    fprintf(stderr, "  second edge player: %lu video, %lu audio\n", st->video,
            st->audio);
    CU_ASSERT(st->video > 0 && st->audio > 0);
    IT_EXPECT_LOGS(seen(edge.log, from, 2, 5), edge.log, orig.log);
    IT_EXPECT_LOGS(sl_file_count(orig.log, "] playing live/e9") == 2, orig.log,
                   edge.log);
    CU_ASSERT(sl_proc_wait(&pub, 0) == -ETIMEDOUT); /* still publishing */
    sl_rc_close(rc);

    sl_proc_stop(&pub, SIGINT, IT_S(5));
    IT_STOP(&edge);
    IT_STOP(&orig);
}

void
sl_itest_suite_relay(void)
{
    CU_pSuite s = sl_itest_suite("relay");

    CU_add_test(s, "push to a second Sluice plays there", test_push_sluice);
    CU_add_test(s, "push to nginx-rtmp plays there", test_push_nginx);
    CU_add_test(s, "a relay of a rendition pushes that rung only",
                test_push_rendition);
    CU_add_test(s, "the relay reconnects to a restarted downstream",
                test_push_downstream_restart);
    CU_add_test(s, "default schedule: publishing again after a 3 s outage",
                test_push_back_after_outage);
    CU_add_test(s, "push over SRT; the relay reconnects to a restarted one",
                test_push_srt_restart);
    CU_add_test(s, "primary refuses, the backup receives", test_push_failover);
    CU_add_test(s, "a downstream that stops reading costs bounded memory",
                test_push_stalled_downstream);
    CU_add_test(s,
                "edge pulls from the second origin when the first is "
                "down",
                test_pull_second_origin);
    CU_add_test(s, "default schedule: pulling again after a 3 s outage",
                test_pull_back_after_outage);
    CU_add_test(s, "20 edge players open one pull", test_pull_one_for_many);
    CU_add_test(s, "the pull ends after the last player and starts again",
                test_pull_idle_end);
}
