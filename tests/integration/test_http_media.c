/*
 * The HTTP API's renditions and relays against a real ladder and real
 * relays: an origin Sluice transcodes what ffmpeg publishes into two
 * rungs and pushes it to a second Sluice (through a URL with user info
 * and a query string, which the API and the log must never show) and to
 * a port nobody listens on.  Every field of renditions and relays, in
 * the stream, the stream list and /metrics, is checked against what the
 * test set up; the downstream's recording shows the push was real.
 *
 * Every wait is bounded by IT_S(); nothing asserts how fast anything
 * happened beyond "the two cores keep up with a 25 fps source".
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/itest.h"
#include "tests/support/http_client.h"
#include "tests/support/prom.h"

#define KEY "cam"
#define FPS 25
#define SECRET "s3cret"
#define HIDDEN "hidden"

/* ---- helpers ---- */

/* Neither secret of the relay URL appears in text (an API answer, the
 * metrics, a log). */
static void
expect_no_secrets(const char *what, const char *text)
{
    int ok = text != NULL && strstr(text, SECRET) == NULL &&
             strstr(text, HIDDEN) == NULL && strstr(text, "user@") == NULL;

    CU_ASSERT(ok);
    if (!ok)
        fprintf(stderr, "  %s shows the relay's credentials: %.2000s\n", what,
                text ? text : "(nothing)");
}

/* sl_itest_get_json(), and the body's text is checked for the secrets. */
static json_t *
get_json_no_secrets(int port, const char *path, int want_status)
{
    char   *body;
    json_t *j = sl_itest_get_json(port, path, want_status, &body);

    if (body != NULL)
        expect_no_secrets(path, body);
    free(body);
    return j;
}

static double
jnum(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : -1;
}

/* The element of a JSON array whose "name" is name, or NULL. */
static json_t *
by_name(json_t *arr, const char *name)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);

        if (!strcmp(sl_itest_jstr(e, "name"), name))
            return e;
    }
    return NULL;
}

/* The stream app/name of a /api/v1/streams answer, or NULL. */
static json_t *
list_stream(json_t *list, const char *app, const char *name)
{
    json_t *a = json_object_get(list, "streams");

    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *s = json_array_get(a, i);

        if (!strcmp(sl_itest_jstr(s, "app"), app) &&
            !strcmp(sl_itest_jstr(s, "name"), name))
            return s;
    }
    return NULL;
}

/* A side derived from the source's aspect ratio, rounded to the nearest
 * even number (config.md). */
static int
derived_even(int side, int src_this, int src_other)
{
    double x = (double) side * src_this / src_other;

    return (int) (x / 2.0 + 0.5) * 2;
}

/* Everything the test can know about one rung: its size, an fps near the
 * source's (the ladder keeps up; averages since it started, so within
 * 50%), a speed above 0, a dropped-frame count, a bit rate. */
static void
expect_rendition(json_t *rends, const char *name, int width, int height)
{
    json_t *r = by_name(rends, name);
    json_t *d = json_object_get(r, "dropped_frames");
    double  fps = jnum(r, "fps");

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    fprintf(stderr,
            "  rendition %s: %lldx%lld fps %.2f speed %.2f dropped %lld "
            "bitrate %lld\n",
            name, (long long) jnum(r, "width"), (long long) jnum(r, "height"),
            fps, jnum(r, "speed"), (long long) json_integer_value(d),
            (long long) jnum(r, "bitrate"));
    CU_ASSERT_EQUAL((int) jnum(r, "width"), width);
    CU_ASSERT_EQUAL((int) jnum(r, "width") % 2, 0);
    CU_ASSERT_EQUAL((int) jnum(r, "height"), height);
    CU_ASSERT(fps > FPS * 0.5 && fps < FPS * 1.5);
    CU_ASSERT(json_is_number(json_object_get(r, "speed")) &&
              jnum(r, "speed") > 0);
    CU_ASSERT(json_is_integer(d) && json_integer_value(d) >= 0);
    CU_ASSERT(json_is_number(json_object_get(r, "bitrate")) &&
              jnum(r, "bitrate") > 0);
}

/* The stream's JSON has both rungs and the relay "down" is live. */
static int
ready(json_t *st)
{
    json_t *down = by_name(json_object_get(st, "relays"), "down");

    return json_array_size(json_object_get(st, "renditions")) == 2 &&
           down != NULL && !strcmp(sl_itest_jstr(down, "state"), "live");
}

/* Polls (bounded) GET /api/v1/streams/live/KEY until ready() and the
 * stream is min_uptime_s old; the last answer (caller frees), or NULL. */
static json_t *
poll_stream(const struct sl_srv *srv, double min_uptime_s, double bound_s)
{
    double  deadline = sl_now() + IT_S(bound_s);
    json_t *st = NULL;

    while (sl_now() < deadline) {
        struct sl_http_resp r;
        json_error_t        e;
        int code = sl_http_get(srv->http_port, "/api/v1/streams/live/" KEY, &r);

        json_decref(st);
        st = code == 200 ? json_loads(r.body, 0, &e) : NULL;
        if (code == 200)
            expect_no_secrets("stream", r.body);
        sl_http_resp_free(&r);
        if (st != NULL && ready(st) && jnum(st, "uptime_s") >= min_uptime_s)
            return st;
        sl_sleep(0.25);
    }
    if (st != NULL) {
        char *txt = json_dumps(st, JSON_COMPACT);

        fprintf(stderr, "  stream never got ready: %s\n", txt ? txt : "");
        free(txt);
    } else {
        fprintf(stderr, "  stream never appeared in the API\n");
    }
    json_decref(st);
    return NULL;
}

/* The renditions and relays of one stream, checked against the setup. */
static void
expect_arrays(json_t *st, int down_port, int dead_port, long long *down_bytes)
{
    json_t *rends = json_object_get(st, "renditions");
    json_t *rels = json_object_get(st, "relays");
    json_t *down, *dead;
    char    want[256];

    CU_ASSERT(json_is_array(rends));
    CU_ASSERT_EQUAL(json_array_size(rends), 2);
    /* 240 high from 640x360: 426.67 wide, so 426; 180 high: 320. */
    expect_rendition(rends, "240p", derived_even(240, 640, 360), 240);
    expect_rendition(rends, "180p", derived_even(180, 640, 360), 180);

    CU_ASSERT(json_is_array(rels));
    CU_ASSERT_EQUAL(json_array_size(rels), 2);
    down = by_name(rels, "down");
    dead = by_name(rels, "dead");
    CU_ASSERT_PTR_NOT_NULL_FATAL(down);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dead);
    fprintf(stderr,
            "  relay down: %s %s reconnects %lld bytes_sent %lld\n"
            "  relay dead: %s %s reconnects %lld bytes_sent %lld\n",
            sl_itest_jstr(down, "state"), sl_itest_jstr(down, "url"),
            (long long) jnum(down, "reconnects"),
            (long long) jnum(down, "bytes_sent"), sl_itest_jstr(dead, "state"),
            sl_itest_jstr(dead, "url"), (long long) jnum(dead, "reconnects"),
            (long long) jnum(dead, "bytes_sent"));

    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(down, "state"), "live");
    snprintf(want, sizeof(want), "rtmp://127.0.0.1:%d/live/" KEY, down_port);
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(down, "url"), want);
    CU_ASSERT(json_is_integer(json_object_get(down, "reconnects")) &&
              json_integer_value(json_object_get(down, "reconnects")) == 0);
    CU_ASSERT(json_is_integer(json_object_get(down, "bytes_sent")) &&
              jnum(down, "bytes_sent") > 0);
    *down_bytes = (long long) jnum(down, "bytes_sent");

    CU_ASSERT(!strcmp(sl_itest_jstr(dead, "state"), "connecting") ||
              !strcmp(sl_itest_jstr(dead, "state"), "backoff"));
    snprintf(want, sizeof(want), "rtmp://127.0.0.1:%d/live/" KEY, dead_port);
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(dead, "url"), want);
    CU_ASSERT(json_is_integer(json_object_get(dead, "reconnects")) &&
              jnum(dead, "reconnects") >= 0);
    /* It never connected: nothing was sent. */
    CU_ASSERT(json_is_integer(json_object_get(dead, "bytes_sent")) &&
              json_integer_value(json_object_get(dead, "bytes_sent")) == 0);
}

/* The list's entry for the stream carries the same rungs and relays. */
static void
expect_same_arrays(json_t *one, json_t *listed)
{
    json_t *r1 = json_object_get(one, "renditions");
    json_t *r2 = json_object_get(listed, "renditions");
    json_t *l1 = json_object_get(one, "relays");
    json_t *l2 = json_object_get(listed, "relays");

    CU_ASSERT_EQUAL(json_array_size(r2), json_array_size(r1));
    for (size_t i = 0; i < json_array_size(r1); i++) {
        json_t *a = json_array_get(r1, i);
        json_t *b = by_name(r2, sl_itest_jstr(a, "name"));

        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_EQUAL(jnum(b, "width"), jnum(a, "width"));
        CU_ASSERT_EQUAL(jnum(b, "height"), jnum(a, "height"));
        CU_ASSERT(jnum(b, "fps") > 0 && jnum(b, "speed") > 0 &&
                  jnum(b, "bitrate") > 0);
        CU_ASSERT(jnum(b, "dropped_frames") >= jnum(a, "dropped_frames"));
    }
    CU_ASSERT_EQUAL(json_array_size(l2), json_array_size(l1));
    for (size_t i = 0; i < json_array_size(l1); i++) {
        json_t *a = json_array_get(l1, i);
        json_t *b = by_name(l2, sl_itest_jstr(a, "name"));

        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_STRING_EQUAL(sl_itest_jstr(b, "url"),
                               sl_itest_jstr(a, "url"));
        CU_ASSERT(jnum(b, "bytes_sent") >= jnum(a, "bytes_sent"));
        CU_ASSERT(jnum(b, "reconnects") >= jnum(a, "reconnects"));
        if (!strcmp(sl_itest_jstr(a, "name"), "down"))
            CU_ASSERT_STRING_EQUAL(sl_itest_jstr(b, "state"), "live");
    }
}

static void
expect_metrics(const struct sl_srv *srv)
{
    static const char *const rungs[] = {"240p", "180p"};
    static const char *const relays[] = {"down", "dead"};
    struct sl_http_resp      r;
    struct sl_prom          *p;
    char                     err[256], labels[256];
    double                   v;

    CU_ASSERT_EQUAL_FATAL(sl_http_get(srv->http_port, "/metrics", &r), 200);
    expect_no_secrets("/metrics", r.body);
    p = sl_prom_parse(r.body, err, sizeof(err));
    if (p == NULL)
        fprintf(stderr, "metrics rejected: %s\n", err);
    sl_http_resp_free(&r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < 2; i++) {
        snprintf(labels, sizeof(labels),
                 "app=\"live\",name=\"" KEY "\",rendition=\"%s\"", rungs[i]);
        CU_ASSERT(sl_prom_value(p, "sluice_transcode_dropped_frames_total",
                                labels, &v) == 0 &&
                  v >= 0);
        CU_ASSERT(
            sl_prom_value(p, "sluice_transcode_speed_ratio", labels, &v) == 0 &&
            v > 0);
    }
    CU_ASSERT_EQUAL(sl_prom_count(p, "sluice_transcode_dropped_frames_total"),
                    2);
    for (int i = 0; i < 2; i++) {
        snprintf(labels, sizeof(labels),
                 "app=\"live\",name=\"" KEY "\",relay=\"%s\"", relays[i]);
        CU_ASSERT(sl_prom_value(p, "sluice_relay_reconnects_total", labels,
                                &v) == 0 &&
                  v >= 0);
        if (i == 0)
            CU_ASSERT(v == 0);
        CU_ASSERT(sl_prom_value(p, "sluice_relay_bytes_sent_total", labels,
                                &v) == 0 &&
                  (i == 0 ? v > 0 : v == 0));
    }
    CU_ASSERT_EQUAL(sl_prom_count(p, "sluice_relay_reconnects_total"), 2);
    CU_ASSERT(sl_prom_value(p, "sluice_connections", "role=\"relay\"", &v) ==
                  0 &&
              v >= 2);
    fprintf(stderr, "  sluice_connections{role=\"relay\"} %.0f\n", v);
    CU_ASSERT(
        sl_prom_value(p, "sluice_connections", "role=\"publisher\"", &v) == 0 &&
        v == 1);
    sl_prom_free(p);
}

/* ---- the test ---- */

/* ffmpeg -> origin (ladder 240p,180p; relays down and dead) -> downstream
 * Sluice -> ffmpeg player; the origin's API and metrics meanwhile. */
static void
test_renditions_relays(void)
{
    struct sl_av    av = {640, 360, FPS, 12, 2 * FPS, 0};
    long            sent = (long) av.fps * av.seconds;
    struct sl_srv   down, orig;
    struct sl_proc  pub, play;
    struct sl_probe pr;
    json_t         *st, *st2, *list, *server;
    char            sec[2048], url[256], needle[512];
    char            flv[PATH_MAX + 32], plog[PATH_MAX + 32];
    char            publog[PATH_MAX + 32], *text;
    int             dead_port;
    long long       bytes1 = 0, bytes2 = 0;

    IT_START(&down, NULL, NULL);
    dead_port = sl_free_port();
    CU_ASSERT_FATAL(dead_port > 0);
    snprintf(sec, sizeof(sec),
             "renditions = 240p,180p\n"
             "relays = down,dead\n"
             "[rendition:240p]\nheight = 240\nvideo_bitrate = 300k\n"
             "preset = ultrafast\n"
             "[rendition:180p]\nheight = 180\nvideo_bitrate = 200k\n"
             "preset = ultrafast\n"
             "[relay:down]\n"
             "url = rtmp://user:" SECRET "@127.0.0.1:%d/live?key=" HIDDEN "\n"
             "[relay:dead]\n"
             "url = rtmp://127.0.0.1:%d/live\nretry_min = 300ms\n",
             down.port, dead_port);
    IT_START(&orig, NULL, sec);

    /* The downstream's player waits before anything is published. */
    sl_srv_url(&down, "live", KEY, url, sizeof(url));
    snprintf(flv, sizeof(flv), "%s/play.flv", down.dir);
    snprintf(plog, sizeof(plog), "%s/play.log", down.dir);
    CU_ASSERT_FATAL(sl_ffmpeg_play(&play, url, flv, plog) == 0);
    IT_EXPECT_LOGS(
        sl_wait_file_count(down.log, "] playing live/" KEY, 1, IT_S(10)) == 0,
        down.log, NULL);

    sl_srv_url(&orig, "live", KEY, url, sizeof(url));
    sl_srv_path(&orig, "publish.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, publog) == 0);
    CU_ASSERT_FATAL(
        sl_wait_file_count(orig.log, "publishing live/" KEY, 1, IT_S(15)) == 0);

    /* Both rungs reported and the push live, a few seconds in (fps and
     * speed are averages since the ladder started). */
    st = poll_stream(&orig, 4, 20);
    IT_EXPECT_LOGS(st != NULL, orig.log, down.log);
    CU_ASSERT_FATAL(st != NULL);
    expect_arrays(st, down.port, dead_port, &bytes1);

    /* The push goes on: bytes_sent grows. */
    sl_sleep(1);
    st2 = get_json_no_secrets(orig.http_port, "/api/v1/streams/live/" KEY, 200);
    CU_ASSERT_FATAL(st2 != NULL);
    expect_arrays(st2, down.port, dead_port, &bytes2);
    CU_ASSERT(bytes2 > bytes1);

    /* The list holds the same arrays for the stream. */
    list = get_json_no_secrets(orig.http_port, "/api/v1/streams", 200);
    CU_ASSERT_FATAL(list != NULL);
    /* The source, and each rung as a stream of its own (published by
     * the server: its "publisher" says whose rendition it is). */
    CU_ASSERT_EQUAL(json_array_size(json_object_get(list, "streams")), 3);
    {
        json_t *ls = list_stream(list, "live", KEY);

        CU_ASSERT_PTR_NOT_NULL_FATAL(ls);
        expect_same_arrays(st2, ls);
    }
    {
        static const struct {
            const char *name;
            int         w, h;
        } rungs[] = {{KEY "_240p", 426, 240}, {KEY "_180p", 320, 180}};

        for (int i = 0; i < 2; i++) {
            json_t *rs = list_stream(list, "live", rungs[i].name);
            json_t *who = json_object_get(rs, "publisher");
            json_t *vid = json_object_get(rs, "video");
            char    want[128];

            CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
            snprintf(want, sizeof(want), "rendition %s of live/%s",
                     rungs[i].name + strlen(KEY) + 1, KEY);
            CU_ASSERT_STRING_EQUAL(sl_itest_jstr(who, "address"), want);
            CU_ASSERT_STRING_EQUAL(sl_itest_jstr(who, "client"),
                                   "sluice transcoder");
            CU_ASSERT_STRING_EQUAL(sl_itest_jstr(vid, "codec"), "h264");
            CU_ASSERT_EQUAL((int) jnum(vid, "width"), rungs[i].w);
            CU_ASSERT_EQUAL((int) jnum(vid, "height"), rungs[i].h);
            CU_ASSERT(jnum(rs, "bitrate") > 0);
            CU_ASSERT_EQUAL((int) jnum(rs, "players"), 0);
        }
    }
    json_decref(list);

    /* The downstream got about what the relay says it sent: its
     * payload count lies between two of the relay's. */
    {
        json_t   *ds = get_json_no_secrets(down.http_port,
                                           "/api/v1/streams/live/" KEY, 200);
        json_t   *st3 = get_json_no_secrets(orig.http_port,
                                            "/api/v1/streams/live/" KEY, 200);
        long long got = (long long) jnum(ds, "bytes_in");
        long long after = (long long) jnum(
            by_name(json_object_get(st3, "relays"), "down"), "bytes_sent");

        fprintf(stderr,
                "  relay sent %lld .. %lld bytes, downstream received %lld\n",
                bytes2, after, got);
        CU_ASSERT(got >= bytes2 / 2);
        /* Codec headers and metadata are not media the relay counts. */
        CU_ASSERT(got <= after + 4096);
        CU_ASSERT_EQUAL((int) jnum(json_object_get(ds, "video"), "width"), 640);
        json_decref(ds);
        json_decref(st3);
    }

    server = get_json_no_secrets(orig.http_port, "/api/v1/server", 200);
    CU_ASSERT(jnum(json_object_get(server, "connections"), "relays") >= 2);
    json_decref(server);
    expect_metrics(&orig);
    json_decref(st);
    json_decref(st2);
    {
        json_t *h = get_json_no_secrets(orig.http_port, "/api/v1/history", 200);

        json_decref(h);
    }

    /* The log shows the targets, without credentials. */
    snprintf(needle, sizeof(needle),
             "relay down: pushing live/" KEY
             " to rtmp://127.0.0.1:%d/live/" KEY,
             down.port);
    IT_EXPECT_LOGS(sl_file_count(orig.log, needle) >= 1, orig.log, NULL);
    snprintf(needle, sizeof(needle),
             "relay dead: cannot push live/" KEY
             " to rtmp://127.0.0.1:%d/live/" KEY,
             dead_port);
    IT_EXPECT_LOGS(sl_file_count(orig.log, needle) >= 1, orig.log, NULL);
    IT_EXPECT_LOGS(sl_file_count(down.log, "] publishing live/" KEY) >= 1,
                   orig.log, down.log);

    /* The end: the publisher finishes, the relay ends with the stream,
     * the downstream's player ends after publish_grace. */
    sl_itest_expect_exit0(&pub, "publisher", publog, IT_S(40));
    IT_EXPECT_LOGS(sl_wait_file_count(down.log, "] unpublished live/" KEY, 1,
                                      IT_S(15)) == 0,
                   orig.log, down.log);
    sl_itest_expect_exit0(&play, "downstream player", plog, IT_S(30));
    CU_ASSERT(sl_probe_file(flv, &pr) == 0);
    sl_probe_print("downstream player", &pr);
    CU_ASSERT(pr.ok);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
    CU_ASSERT_EQUAL(pr.width, 640);
    CU_ASSERT_EQUAL(pr.height, 360);
    CU_ASSERT(pr.video_packets >= sent * 95 / 100);
    CU_ASSERT(pr.video_packets <= sent + 2);

    IT_STOP(&orig);
    IT_STOP(&down);
    /* Neither log ever held the credentials or the query. */
    text = sl_read_file(orig.log);
    expect_no_secrets("origin log", text);
    free(text);
    text = sl_read_file(down.log);
    expect_no_secrets("downstream log", text);
    free(text);
}

void
sl_itest_suite_http_media(void)
{
    CU_pSuite s = sl_itest_suite("http_media");

    CU_add_test(s, "renditions and relays in the API and metrics",
                test_renditions_relays);
}
