/*
 * The player page (web/page.c, web/www/) with the real libraries, hls.js
 * and mpegts.js as the server embeds them, in headless Chromium driven
 * through the DevTools protocol by tests/integration/cdp.py.
 *
 * One server and one publisher serve every test: ffmpeg encodes a
 * 640x360 source once and publishes it twice (its tee muxer), to
 * live/cam (hls = on, 500 ms parts, keyframes every second, a ladder of
 * two cheap rungs, 480x270 and 320x180) and to signed/cam (play_secret,
 * no HLS).  The last test stops the server: exit status 0, no ERROR
 * line, no sanitizer report.
 *
 * - routes: the page's paths as a raw client sees them (types, cache
 *   headers, HEAD, 404s, CORS) and /streams.json's content.
 * - list: Chromium can decode H.264 through MediaSource (said plainly
 *   when not: nothing else here could pass); the page lists live/cam,
 *   not the signed stream nor the rungs.
 * - hls: hls.js in LL mode plays the master playlist: the video's time
 *   advances for 20 s, its decoded size is a rendition's; a throttle
 *   below the top rendition's bit rate makes it switch down, and the
 *   throttle's end back up.  The latency hls.js reports is printed,
 *   not judged.
 * - hls query: ?quality=270 starts on that rung with auto off; ?ll=0
 *   turns hls.js's low-latency mode off (plain HLS); LL mode may play
 *   faster than 1x to catch up with its target latency.
 * - flv: mpegts.js plays signed/cam's HTTP-FLV from a signed page URL
 *   (the page passes the signature on to the media URL; its app has no
 *   HLS, so the page falls back from hls.js to mpegts.js): the video's
 *   time advances for 10 s.
 *
 * Every wait is bounded (IT_S); nothing asserts how fast anything
 * happened.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/integration/itest.h"
#include "tests/support/http_client.h"

#define SECRET "player-play-s3cret"
#define TOP_W 640 /* the source: the top rendition */
#define TOP_H 360

static const char SECTIONS[] =
    "hls = on\nhls_part = 500ms\nkeyframe_interval = 1s\n"
    "renditions = r270, r180\n"
    "[app:signed]\nplay_secret = " SECRET "\n"
    "[rendition:r270]\nwidth = 480\nheight = 270\nvideo_bitrate = 400k\n"
    "preset = ultrafast\n"
    "[rendition:r180]\nwidth = 320\nheight = 180\nvideo_bitrate = 150k\n"
    "preset = ultrafast\n";

static struct {
    struct sl_srv  srv;
    struct sl_proc pub;
    int            runs; /* browser runs, for their file names */
} P;

/* ---- the shared server and publisher ---- */

static int
wait_publishing(const char *stream)
{
    char line[128];

    snprintf(line, sizeof(line), "publishing %s\n", stream);
    return sl_wait_file_count(P.srv.log, line, 1, IT_S(15));
}

static int
suite_init(void)
{
    char v[128], live[256], signed_url[256], tee[600], log[PATH_MAX];
    /* clang-format off */
    const char *args[] = {
        "-re", "-f", "lavfi", "-i", v,
        "-re", "-f", "lavfi", "-i",
        "sine=frequency=440:sample_rate=44100:duration=180",
        "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-pix_fmt", "yuv420p",
        /* a keyframe every second, as keyframe_interval puts the rungs' */
        "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
        "-b:v", "1000k", "-maxrate", "1000k", "-bufsize", "1000k",
        "-c:a", "aac", "-b:a", "64k",
        /* The tee muxer does not ask the encoders for the global headers
         * FLV's sequence headers are made of. */
        "-flags", "+global_header",
        "-f", "tee", tee, NULL};
    /* clang-format on */

    memset(&P, 0, sizeof(P));
    if (sl_srv_start(&P.srv, NULL, SECTIONS) < 0)
        return -1;
    /* Temporal noise: content that needs its bit rate, so the rungs'
     * rates really differ. */
    snprintf(v, sizeof(v),
             "testsrc2=size=%dx%d:rate=25:duration=180,noise=alls=12:allf=t",
             TOP_W, TOP_H);
    sl_srv_url(&P.srv, "live", "cam", live, sizeof(live));
    sl_srv_url(&P.srv, "signed", "cam", signed_url, sizeof(signed_url));
    snprintf(tee, sizeof(tee), "[f=flv]%s|[f=flv]%s", live, signed_url);
    sl_srv_path(&P.srv, "publisher.log", log, sizeof(log));
    if (sl_ffmpeg_spawn(&P.pub, args, log) < 0 ||
        wait_publishing("live/cam") < 0 || wait_publishing("signed/cam") < 0) {
        fprintf(stderr, "player: the publisher did not start\n");
        sl_show_tail("publisher", log);
        sl_show_tail("server", P.srv.log);
        return -1;
    }
    return 0;
}

/* After each test: whatever it left running goes, but for the server
 * and the publisher the next tests use. */
static void
test_teardown(void)
{
    pid_t keep[2] = {P.srv.proc.pid, P.pub.pid};

    sl_proc_kill_all_except(keep, 2);
}

/* ---- the browser ---- */

/* What one run of cdp.py printed: its step lines, in order, and whether
 * it finished. */
struct run {
    json_t *steps; /* array of the step objects */
    int     done;
    char    out[PATH_MAX + 32], log[PATH_MAX + 32];
};

/* Runs cdp.py with the steps (NULL-terminated) against a new profile,
 * bounded by timeout_s (the helper's own bound; this side waits a
 * little longer and then kills it).  Fills r; the caller frees
 * r->steps.  Returns 0 when every step succeeded. */
static int
browse(struct run *r, const char *const steps[], double timeout_s)
{
    char  prof[PATH_MAX + 32], tmo[32], logarg[PATH_MAX + 48], name[64];
    char *argv[64], *text, *save = NULL;
    int   n = 0, rc;

    P.runs++;
    snprintf(name, sizeof(name), "chromium-%d", P.runs);
    sl_srv_path(&P.srv, name, prof, sizeof(prof));
    snprintf(name, sizeof(name), "cdp-%d.jsonl", P.runs);
    sl_srv_path(&P.srv, name, r->out, sizeof(r->out));
    snprintf(name, sizeof(name), "chromium-%d.log", P.runs);
    sl_srv_path(&P.srv, name, r->log, sizeof(r->log));
    snprintf(tmo, sizeof(tmo), "%.0f", timeout_s);
    snprintf(logarg, sizeof(logarg), "--log=%s", r->log);
    argv[n++] = "python3";
    argv[n++] = getenv("SLUICE_CDP") ? getenv("SLUICE_CDP")
                                     : "tests/integration/cdp.py";
    argv[n++] = "--profile";
    argv[n++] = prof;
    argv[n++] = "--timeout";
    argv[n++] = tmo;
    argv[n++] = logarg;
    for (int i = 0; steps[i] != NULL && n < 63; i++)
        argv[n++] = (char *) steps[i];
    argv[n] = NULL;
    rc = sl_proc_run(argv, r->out, r->log, timeout_s + IT_S(15));
    r->steps = json_array();
    r->done = 0;
    text = sl_read_file(r->out);
    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l != NULL;
         l = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(l, 0, NULL);

        if (j == NULL)
            continue;
        if (json_object_get(j, "done") != NULL) {
            r->done = json_is_true(json_object_get(j, "done"));
            json_decref(j);
        } else {
            json_array_append_new(r->steps, j);
        }
    }
    free(text);
    if (rc != 0 || !r->done) {
        fprintf(stderr, "  cdp.py exited with %d\n", rc);
        sl_show_tail("cdp.py", r->out);
        sl_show_tail("chromium", r->log);
    }
    return rc == 0 && r->done ? 0 : -1;
}

/* The value step i printed (borrowed from r), or NULL. */
static json_t *
value(const struct run *r, size_t i)
{
    return json_object_get(json_array_get(r->steps, i), "value");
}

/* Step i's value parsed as JSON (it was a JSON.stringify), or NULL; the
 * caller json_decref()s it. */
static json_t *
state_at(const struct run *r, size_t i)
{
    json_t *v = value(r, i);

    return json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : NULL;
}

static double
jnum(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : -1;
}

/* The string at a[i][k], or "". */
static const char *
jstr_at(json_t *a, size_t i, size_t k)
{
    const char *v = json_string_value(json_array_get(json_array_get(a, i), k));

    return v != NULL ? v : "";
}

/* ---- the tests ---- */

static void
expect_page(const char *path, int status, const char *type, const char *cache)
{
    struct sl_http_resp r;
    char                got[128];
    int                 st = sl_http_get(P.srv.web_port, path, &r);

    CU_ASSERT_EQUAL(st, status);
    if (st != status)
        fprintf(stderr, "  GET %s: %d, not %d\n", path, st, status);
    if (type != NULL)
        CU_ASSERT(sl_http_header(&r, "Content-Type", got, sizeof(got)) &&
                  strcmp(got, type) == 0);
    if (cache != NULL)
        CU_ASSERT(sl_http_header(&r, "Cache-Control", got, sizeof(got)) &&
                  strcmp(got, cache) == 0);
    if (status == 200)
        CU_ASSERT(sl_http_header(&r, "Access-Control-Allow-Origin", got,
                                 sizeof(got)) &&
                  strcmp(got, "*") == 0);
    sl_http_resp_free(&r);
}

static void
test_routes(void)
{
    static const char   html[] = "text/html; charset=utf-8";
    static const char   js[] = "text/javascript; charset=utf-8";
    static const char   lib_cache[] = "public, max-age=31536000, immutable";
    struct sl_http_resp r;
    json_t             *j, *s;
    char                got[64];

    expect_page("/", 200, html, "no-cache");
    expect_page("/play/live/cam", 200, html, "no-cache");
    expect_page("/assets/player.js", 200, js, "no-cache");
    expect_page("/assets/style.css", 200, "text/css; charset=utf-8", NULL);
    expect_page("/assets/hls-1.7.4.min.js", 200, js, lib_cache);
    expect_page("/assets/mpegts-1.8.2.js", 200, js, lib_cache);
    expect_page("/assets/hls.js-1.7.4.LICENSE.txt", 200, NULL, lib_cache);
    expect_page("/streams.json", 200, "application/json", "no-cache");
    expect_page("/assets/nothing.js", 404, NULL, NULL);
    expect_page("/assets/", 404, NULL, NULL);
    expect_page("/play/live", 404, NULL, NULL);
    expect_page("/play/live/cam/more", 404, NULL, NULL);
    expect_page("/nothing", 404, NULL, NULL);

    /* HEAD: the head of a GET, no body. */
    CU_ASSERT(sl_http_request(P.srv.web_port, "HEAD", "/assets/player.js", NULL,
                              IT_S(5), &r) == 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(r.body_len, 0);
    CU_ASSERT(sl_http_header(&r, "Content-Length", got, sizeof(got)) &&
              atol(got) > 1000);
    sl_http_resp_free(&r);

    /* The list: live/cam with both URLs; no rung, no signed stream. */
    j = sl_itest_get_json(P.srv.web_port, "/streams.json", 200, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    s = json_object_get(j, "streams");
    CU_ASSERT(json_array_size(s) == 1);
    s = json_array_get(s, 0);
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(s, "app"), "live");
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(s, "name"), "cam");
    CU_ASSERT(json_is_true(json_object_get(s, "hls")));
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(s, "page"), "/play/live/cam");
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(s, "urls.hls"), "/live/cam.m3u8");
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(s, "urls.flv"), "/live/cam.flv");
    json_decref(j);
    /* The signed stream plays only with its signature. */
    expect_page("/signed/cam.flv", 403, NULL, NULL);
}

static void
test_list(void)
{
    char        url[96], mse[200];
    struct run  r;
    const char *steps[] = {
        "eval",
        mse,
        "open",
        url,
        "wait",
        "document.querySelector('li[data-stream=\"live/cam\"] a')",
        "10",
        "eval",
        "JSON.stringify([...document.querySelectorAll('#streams li')]"
        ".map(li => [li.dataset.stream, li.querySelector('a')"
        ".getAttribute('href')]))",
        NULL};
    json_t *list;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", P.srv.web_port);
    snprintf(mse, sizeof(mse),
             "MediaSource.isTypeSupported('video/mp4; "
             "codecs=\"avc1.64001e,mp4a.40.2\"')");
    CU_ASSERT(browse(&r, steps, IT_S(30)) == 0);
    if (!json_is_true(value(&r, 0)))
        fprintf(stderr, "  this Chromium cannot decode H.264 through "
                        "MediaSource: no player test can pass\n");
    CU_ASSERT(json_is_true(value(&r, 0)));
    list = state_at(&r, 3);
    CU_ASSERT(list != NULL && json_array_size(list) == 1);
    CU_ASSERT_STRING_EQUAL(jstr_at(list, 0, 0), "live/cam");
    CU_ASSERT_STRING_EQUAL(jstr_at(list, 0, 1), "/play/live/cam");
    json_decref(list);
    json_decref(r.steps);
}

/* The player's state, as one step's value. */
#define STATE "JSON.stringify(sluicePlayer)"

/* 1 when the decoded size w x h is one of the levels' sizes. */
static int
is_level_size(json_t *levels, double w, double h)
{
    for (size_t i = 0; i < json_array_size(levels); i++) {
        json_t *l = json_array_get(levels, i);

        if (jnum(l, "width") == w && jnum(l, "height") == h)
            return 1;
    }
    return 0;
}

/* The quality menu's entries and the bar's two figures. */
#define MENU                                                                   \
    "JSON.stringify([[...document.querySelectorAll('#quality option')]"        \
    ".map(o => o.textContent), document.getElementById('rendition')"           \
    ".textContent, document.getElementById('latency').textContent])"

/* Picks the 180p entry of the quality menu as a viewer would. */
#define PICK_180                                                               \
    "(() => { const q = document.getElementById('quality');"                   \
    " q.value = [...q.options].find(o => o.textContent.startsWith('180p'))"    \
    ".value; q.dispatchEvent(new Event('change')); return q.value; })()"

/* The steps of test_hls, by the index of the line each prints. */
enum {
    H_START = 2, /* playing, the ladder known */
    H_10S = 4,   /* 10 s later */
    H_20S = 6,   /* 20 s later */
    H_MENU = 7,  /* the quality menu and the bar */
    H_THROTTLE = 8,
    H_DOWN = 10,  /* switched below the top */
    H_BACK = 12,  /* the wait for the top again */
    H_UP = 13,    /* back at the top */
    H_PICKED = 16 /* 180p picked from the menu */
};

static void
test_hls(void)
{
    char       url[96], below[96], back[96];
    struct run r;
    /* clang-format off */
    const char *steps[] = {
        "open", url,
        "wait", "sluicePlayer.engine === 'hls' && "
                "sluicePlayer.levels.length === 3 && "
                "sluicePlayer.currentTime > 0 && sluicePlayer.width > 0", "25",
        "eval", STATE,
        "sleep", "10", "eval", STATE,
        "sleep", "10", "eval", STATE,
        "eval", MENU,
        /* Below the top rendition's bit rate: 60 % of it leaves the
         * 480x270 rung room. */
        "throttle", "Math.round(Math.max(...sluicePlayer.levels"
                    ".map(l => l.bitrate)) * 0.6 / 1000)",
        "wait", below, "40", "eval", STATE,
        "throttle", "0",
        "wait", back, "60", "eval", STATE,
        "eval", PICK_180,
        "wait", "sluicePlayer.height === 180 && !sluicePlayer.auto", "20",
        "eval", STATE,
        NULL};
    /* clang-format on */
    json_t *s0, *s1, *s2, *menu, *down, *up, *picked;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/play/live/cam?engine=hls",
             P.srv.web_port);
    snprintf(below, sizeof(below),
             "sluicePlayer.height > 0 && sluicePlayer.height < %d", TOP_H);
    snprintf(back, sizeof(back), "sluicePlayer.height === %d", TOP_H);
    CU_ASSERT(browse(&r, steps, IT_S(150)) == 0);
    s0 = state_at(&r, H_START);
    s1 = state_at(&r, H_10S);
    s2 = state_at(&r, H_20S);
    menu = state_at(&r, H_MENU);
    down = state_at(&r, H_DOWN);
    up = state_at(&r, H_UP);
    picked = state_at(&r, H_PICKED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s2);
    /* Plays: time advances over 20 s (at least half of it, whatever a
     * busy machine does to the pace), in both halves. */
    CU_ASSERT(jnum(s1, "currentTime") > jnum(s0, "currentTime") + 2);
    CU_ASSERT(jnum(s2, "currentTime") > jnum(s1, "currentTime") + 2);
    CU_ASSERT(jnum(s2, "currentTime") >= jnum(s0, "currentTime") + 10);
    /* The master playlist offered the ladder, the source and the two
     * rungs, and the decoded picture is one of them. */
    CU_ASSERT(is_level_size(json_object_get(s0, "levels"), TOP_W, TOP_H));
    CU_ASSERT(is_level_size(json_object_get(s0, "levels"), 480, 270));
    CU_ASSERT(is_level_size(json_object_get(s0, "levels"), 320, 180));
    CU_ASSERT(is_level_size(json_object_get(s2, "levels"), jnum(s2, "width"),
                            jnum(s2, "height")));
    /* The menu: "auto" and the three renditions, top first; the bar
     * shows the decoded size and the latency. */
    CU_ASSERT_STRING_EQUAL(jstr_at(menu, 0, 0), "auto");
    CU_ASSERT(strncmp(jstr_at(menu, 0, 1), "360p", 4) == 0);
    CU_ASSERT(strncmp(jstr_at(menu, 0, 3), "180p", 4) == 0);
    CU_ASSERT(json_array_size(json_array_get(menu, 0)) == 4);
    CU_ASSERT(strchr(json_string_value(json_array_get(menu, 1))
                         ? json_string_value(json_array_get(menu, 1))
                         : "",
                     'x') != NULL);
    fprintf(stderr,
            "\n  hls.js: %.0fx%.0f after 20 s, latency %.2f s (hls.latency)"
            "\n",
            jnum(s2, "width"), jnum(s2, "height"), jnum(s2, "latency"));
    /* The throttle: down to a lower rendition, then back up. */
    fprintf(stderr, "  throttled to %.0f kbit/s at %.1f s: ",
            jnum(json_array_get(r.steps, H_THROTTLE), "value"),
            jnum(json_array_get(r.steps, H_THROTTLE), "t"));
    if (down != NULL)
        fprintf(stderr, "%.0fx%.0f at %.1f s; ", jnum(down, "width"),
                jnum(down, "height"),
                jnum(json_array_get(r.steps, H_DOWN), "t"));
    else
        fprintf(stderr, "no switch down\n");
    if (up != NULL)
        fprintf(stderr, "unthrottled: %.0fx%.0f at %.1f s, latency %.2f s\n",
                jnum(up, "width"), jnum(up, "height"),
                jnum(json_array_get(r.steps, H_BACK), "t"),
                jnum(up, "latency"));
    else if (down != NULL)
        fprintf(stderr, "no switch back up\n");
    CU_ASSERT(down != NULL && jnum(down, "height") < TOP_H &&
              is_level_size(json_object_get(down, "levels"),
                            jnum(down, "width"), jnum(down, "height")));
    CU_ASSERT(up != NULL && jnum(up, "height") == TOP_H);
    /* 180p from the menu: the picture follows, auto is off. */
    CU_ASSERT(picked != NULL && jnum(picked, "height") == 180 &&
              json_is_false(json_object_get(picked, "auto")));
    json_decref(s0);
    json_decref(s1);
    json_decref(s2);
    json_decref(menu);
    json_decref(down);
    json_decref(up);
    json_decref(picked);
    json_decref(r.steps);
}

/* The page's query as a viewer or the latency bench uses it: ?quality=
 * starts on that rendition with auto off, ?ll=0 plays plain HLS (no
 * parts, no blocking reloads), and without ?ll=0 hls.js may speed up
 * to catch up with its target latency. */
static void
test_hls_query(void)
{
    char       plain[128], ll[128];
    struct run r;
    /* clang-format off */
    const char *steps[] = {
        "open", plain,
        "wait", "sluicePlayer.engine === 'hls' && "
                "sluicePlayer.currentTime > 0 && sluicePlayer.height > 0", "25",
        "eval", STATE,
        "eval", "JSON.stringify([sluiceHls.lowLatencyMode, "
                "sluiceHls.config.maxLiveSyncPlaybackRate])",
        "open", ll,
        "wait", "window.sluiceHls && sluiceHls.levels.length === 3", "15",
        "eval", "JSON.stringify([sluiceHls.lowLatencyMode, "
                "sluiceHls.config.maxLiveSyncPlaybackRate])",
        NULL};
    /* clang-format on */
    json_t *s, *mode, *llmode;

    snprintf(plain, sizeof(plain),
             "http://127.0.0.1:%d/play/live/cam?engine=hls&quality=270&ll=0",
             P.srv.web_port);
    snprintf(ll, sizeof(ll), "http://127.0.0.1:%d/play/live/cam?engine=hls",
             P.srv.web_port);
    CU_ASSERT(browse(&r, steps, IT_S(60)) == 0);
    s = state_at(&r, 2);
    mode = state_at(&r, 3);
    llmode = state_at(&r, 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    /* Started on the 270p rung, picked, not by the ABR. */
    CU_ASSERT(jnum(s, "height") == 270 && jnum(s, "width") == 480);
    CU_ASSERT(json_is_false(json_object_get(s, "auto")));
    /* Plain HLS without catching up; LL mode with it. */
    CU_ASSERT(json_is_false(json_array_get(mode, 0)));
    CU_ASSERT(json_is_true(json_array_get(llmode, 0)));
    CU_ASSERT(json_number_value(json_array_get(llmode, 1)) > 1);
    json_decref(s);
    json_decref(mode);
    json_decref(llmode);
    json_decref(r.steps);
}

static void
test_flv(void)
{
    char        url[400], sign[65];
    long long   e = (long long) time(NULL) + 3600;
    struct run  r;
    const char *steps[] = {"open",
                           url,
                           "wait",
                           "sluicePlayer.engine === 'flv' && "
                           "sluicePlayer.currentTime > 0 && "
                           "sluicePlayer.width > 0",
                           "20",
                           "eval",
                           STATE,
                           "sleep",
                           "10",
                           "eval",
                           STATE,
                           NULL};
    json_t     *s0, *s1;

    sl_itest_sign(SECRET, "signed", "cam", e, sign);
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%d/play/signed/cam?expires=%lld&sign=%s",
             P.srv.web_port, e, sign);
    CU_ASSERT(browse(&r, steps, IT_S(45)) == 0);
    s0 = state_at(&r, 2);
    s1 = state_at(&r, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s1);
    CU_ASSERT(jnum(s1, "currentTime") >= jnum(s0, "currentTime") + 5);
    CU_ASSERT(jnum(s1, "width") == TOP_W && jnum(s1, "height") == TOP_H);
    fprintf(stderr, "\n  mpegts.js: %.1f s played in 10 s, buffer %.2f s\n",
            jnum(s1, "currentTime") - jnum(s0, "currentTime"),
            jnum(s1, "latency"));
    json_decref(s0);
    json_decref(s1);
    json_decref(r.steps);
}

static void
test_stop(void)
{
    sl_proc_kill(&P.pub);
    IT_STOP(&P.srv);
}

void
sl_itest_suite_player(void)
{
    CU_pSuite s = sl_itest_suite_shared("player", suite_init, test_teardown);

    CU_add_test(s, "page routes and /streams.json", test_routes);
    CU_add_test(s, "the page lists the live stream", test_list);
    CU_add_test(s, "hls.js: LL-HLS, ladder switches down and up", test_hls);
    CU_add_test(s, "hls.js: ?quality= and ?ll=0 (plain HLS)", test_hls_query);
    CU_add_test(s, "mpegts.js: HTTP-FLV from a signed page URL", test_flv);
    CU_add_test(s, "the server stops cleanly", test_stop);
}
