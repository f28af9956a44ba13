/*
 * The HTTP API, /metrics and the dashboard against a real publisher
 * (ffmpeg) and real players (ffmpeg, the test RTMP client), every field
 * checked against what the test did; control calls with and without the
 * token; errors; a flood of idle HTTP connections that must not hold up
 * media; the dashboard rendered by headless Chromium.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/itest.h"
#include "tests/support/http_client.h"
#include "tests/support/prom.h"

#define TOKEN "t0k-en_for.tests"
#define AUTH "Authorization: Bearer " TOKEN "\r\n"

/* The number at a dotted path of o (see sl_itest_jpath), or -1 when
 * it is missing. */
static long long
jint(json_t *o, const char *path)
{
    json_t *v = sl_itest_jpath(o, path);

    return v != NULL ? (long long) json_number_value(v) : -1;
}

/* Status and the "error" field of a JSON error answer. */
static int
call(const struct sl_srv *srv, const char *method, const char *path,
     const char *headers, char *err_code, size_t cap)
{
    struct sl_http_resp r;
    json_error_t        e;
    json_t             *j;
    int                 rc =
        sl_http_request(srv->http_port, method, path, headers, IT_S(10), &r);

    if (rc < 0)
        return rc;
    rc = r.status;
    err_code[0] = '\0';
    j = json_loads(r.body, 0, &e);
    if (rc >= 400) {
        /* Every error is a JSON object with error and message. */
        CU_ASSERT_PTR_NOT_NULL(j);
        CU_ASSERT(json_is_string(json_object_get(j, "message")));
    }
    if (j != NULL)
        snprintf(err_code, cap, "%s", sl_itest_jstr(j, "error"));
    json_decref(j);
    sl_http_resp_free(&r);
    return rc;
}

static long long
worker_tasks(json_t *server)
{
    json_t   *w = json_object_get(server, "workers");
    long long sum = 0;

    for (size_t i = 0; i < json_array_size(w); i++)
        sum += jint(json_array_get(w, i), "tasks_run");
    return sum;
}

/* The dashboard in headless Chromium: its DOM must show the stream and a
 * chart with points; a screenshot must come out. */
static void
check_dashboard(const struct sl_srv *srv)
{
    char  url[64], dom[PATH_MAX + 32], png[PATH_MAX + 32], prof[PATH_MAX + 32];
    char  shot[PATH_MAX + 64], log[PATH_MAX + 32], log2[PATH_MAX + 32];
    char *text, *p;
    int   points = 0;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv->http_port);
    sl_srv_path(srv, "dom.html", dom, sizeof(dom));
    sl_srv_path(srv, "dash.png", png, sizeof(png));
    sl_srv_path(srv, "chromium", prof, sizeof(prof));
    sl_srv_path(srv, "chromium.log", log, sizeof(log));
    sl_srv_path(srv, "chromium-shot.log", log2, sizeof(log2));
    snprintf(shot, sizeof(shot), "--screenshot=%s", png);
    {
        char           udd[PATH_MAX + 64], udd2[PATH_MAX + 64];
        struct sl_proc ch[2];
        int            started[2];
        /* The page polls every 2 s; virtual time lets it run its first
         * round and draw without the test waiting in real time. */
        char *dump[] = {"chromium",
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--disable-dev-shm-usage",
                        udd,
                        "--virtual-time-budget=4000",
                        "--dump-dom",
                        url,
                        NULL};
        char *snap[] = {"chromium",
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--disable-dev-shm-usage",
                        udd2,
                        "--virtual-time-budget=4000",
                        "--window-size=1280,1400",
                        shot,
                        url,
                        NULL};

        /* Both at once, each with a profile of its own. */
        snprintf(udd, sizeof(udd), "--user-data-dir=%s", prof);
        snprintf(udd2, sizeof(udd2), "--user-data-dir=%s-2", prof);
        started[0] = sl_proc_spawn(&ch[0], dump, dom, log) == 0;
        started[1] = sl_proc_spawn(&ch[1], snap, NULL, log2) == 0;
        for (int i = 0; i < 2; i++) {
            int ok = started[i] && sl_proc_wait(&ch[i], IT_S(90)) == 0 &&
                     sl_proc_exited_with(&ch[i], 0);

            if (!ok)
                sl_show_tail("chromium", i == 0 ? log : log2);
            CU_ASSERT(ok);
            sl_proc_kill(&ch[i]);
        }
    }
    text = sl_read_file(dom);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "data-ready=\"1\""));
    p = strstr(text, "data-stream=\"live/x\"");
    CU_ASSERT_PTR_NOT_NULL(p);
    /* The stream's own chart, with points drawn. */
    if (p != NULL && (p = strstr(p, "data-chart=\"live/x\"")) != NULL &&
        (p = strstr(p, "<polyline")) != NULL &&
        (p = strstr(p, "data-points=\"")) != NULL)
        points = atoi(p + 13);
    CU_ASSERT(points >= 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "h264 320x240"));
    /* Players by protocol (two RTMP players) and each player's. */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "rtmp 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "<th>protocol</th>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "<td>rtmp</td>"));
    if (points < 2)
        fprintf(stderr, "dashboard DOM: %.3000s\n", text);
    free(text);
    /* A PNG with something in it. */
    text = sl_read_file(png);
    CU_ASSERT(text != NULL && !memcmp(text, "\x89PNG", 4));
    CU_ASSERT(sl_file_size(png) > 10000);
    free(text);
}

static void
check_metrics(const struct sl_srv *srv, double ref_bps)
{
    struct sl_http_resp r;
    struct sl_prom     *p;
    char                err[256], ctype[128], file[PATH_MAX + 32];
    double              v;

    CU_ASSERT_EQUAL_FATAL(sl_http_get(srv->http_port, "/metrics", &r), 200);
    CU_ASSERT_PTR_NOT_NULL(
        sl_http_header(&r, "Content-Type", ctype, sizeof(ctype)));
    CU_ASSERT_PTR_NOT_NULL(strstr(ctype, "text/plain; version=0.0.4"));
    p = sl_prom_parse(r.body, err, sizeof(err));
    if (p == NULL)
        fprintf(stderr, "metrics rejected: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT(
        sl_prom_value(p, "sluice_connections", "role=\"publisher\"", &v) == 0 &&
        v == 1);
    CU_ASSERT(sl_prom_value(p, "sluice_connections", "role=\"player\"", &v) ==
                  0 &&
              v == 2);
    CU_ASSERT(sl_prom_value(p, "sluice_connections", "role=\"relay\"", &v) ==
                  0 &&
              v == 0);
    CU_ASSERT(sl_prom_value(p, "sluice_stream_players",
                            "app=\"live\",name=\"x\"", &v) == 0 &&
              v == 2);
    CU_ASSERT(sl_prom_value(p, "sluice_stream_bitrate_bits",
                            "app=\"live\",name=\"x\"", &v) == 0);
    CU_ASSERT(sl_within_pct((long) v, (long) ref_bps, 20));
    CU_ASSERT(sl_prom_value(p, "sluice_bytes_received_total", "", &v) == 0 &&
              v > 100000);
    CU_ASSERT(sl_prom_value(p, "sluice_bytes_sent_total", "", &v) == 0 &&
              v > 100000);
    CU_ASSERT(sl_prom_value(p, "process_resident_memory_bytes", "", &v) == 0 &&
              v > 1e6);
    CU_ASSERT(sl_prom_value(p, "process_cpu_seconds_total", "", &v) == 0 &&
              v > 0);
    CU_ASSERT_STRING_EQUAL(sl_prom_type(p, "sluice_transcode_dropped_frames_"
                                           "total"),
                           "counter");
    CU_ASSERT_STRING_EQUAL(sl_prom_type(p, "sluice_relay_reconnects_total"),
                           "counter");
    sl_prom_free(p);
    /* promtool too, where it is installed. */
    sl_srv_path(srv, "metrics.txt", file, sizeof(file));
    if (sl_write_file(file, r.body) == 0 &&
        access("/usr/bin/promtool", X_OK) == 0) {
        char  cmd[PATH_MAX + 64];
        char *argv[] = {"sh", "-c", cmd, NULL};

        snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", file);
        CU_ASSERT(sl_proc_run(argv, NULL, NULL, IT_S(30)) == 0);
    }
    sl_http_resp_free(&r);
}

static void
test_api_live(void)
{
    struct sl_av         av = {320, 240, 30, 90, 30, 0};
    struct sl_srv        srv;
    struct sl_proc       pub, play;
    struct sl_itest_pump pump;
    struct sl_rc        *rc;
    struct sl_http_resp  r;
    json_t              *s1, *s2, *list, *st, *pl;
    char url[256], out[PATH_MAX + 32], plog[PATH_MAX + 32], flog[PATH_MAX + 32];
    char code[64];
    unsigned long b0, b1;
    double        t0, t1, ref_bps;

    IT_START(&srv, NULL, "[http]\napi_token = " TOKEN "\n");
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    sl_srv_path(&srv, "play.flv", out, sizeof(out));
    sl_srv_path(&srv, "play.log", plog, sizeof(plog));
    sl_srv_path(&srv, "publish.log", flog, sizeof(flog));

    CU_ASSERT_EQUAL(sl_http_get(srv.http_port, "/healthz", &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body, "ok\n");
    sl_http_resp_free(&r);
    list = sl_itest_get_json(srv.http_port, "/api/v1/streams", 200, NULL);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(list, "streams")), 0);
    json_decref(list);
    s1 = sl_itest_get_json(srv.http_port, "/api/v1/server", 200, NULL);

    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, flog) == 0);
    CU_ASSERT_FATAL(
        sl_wait_file_count(srv.log, "publishing live/x", 1, IT_S(15)) == 0);
    CU_ASSERT_FATAL(sl_ffmpeg_play(&play, url, out, plog) == 0);
    rc = sl_rc_player(srv.port, "live", "x", -2, 0, IT_S(5));
    CU_ASSERT_PTR_NOT_NULL_FATAL(rc);
    CU_ASSERT(sl_rc_wait_status(rc, "NetStream.Play.Start", IT_S(5)) == 0);

    /* The reference rate: what a player receives in a steady stretch
     * (after the GOP burst a joiner gets), same span as the API's. */
    sl_itest_pump_start(&pump, rc, 2.5, 0);
    sl_itest_pump_join(&pump);
    b0 = sl_rc_stats(rc)->bytes;
    t0 = sl_now();
    sl_itest_pump_start(&pump, rc, 6, 0);
    sl_itest_pump_join(&pump);
    b1 = sl_rc_stats(rc)->bytes;
    t1 = sl_now();
    ref_bps = (double) (b1 - b0) * 8 / (t1 - t0);
    fprintf(stderr, "player received %.0f bit/s\n", ref_bps);

    list = sl_itest_get_json(srv.http_port, "/api/v1/streams?players=1", 200,
                             NULL);
    st = json_array_get(json_object_get(list, "streams"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(st, "app"), "live");
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(st, "name"), "x");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(sl_itest_jstr(st, "publisher.address"), "127.0.0.1:"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(sl_itest_jstr(st, "publisher.client"), "Lavf"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(sl_itest_jstr(st, "publisher.encoder"), "Lavf"));
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(st, "video.codec"), "h264");
    CU_ASSERT_EQUAL(jint(st, "video.width"), av.width);
    CU_ASSERT_EQUAL(jint(st, "video.height"), av.height);
    CU_ASSERT(fabs(json_number_value(
                       json_object_get(json_object_get(st, "video"), "fps")) -
                   av.fps) < 0.5);
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(st, "audio.codec"), "aac");
    CU_ASSERT_EQUAL(jint(st, "audio.sample_rate"), 44100);
    CU_ASSERT_EQUAL(jint(st, "players"), 2);
    CU_ASSERT(jint(st, "uptime_s") >= 8);
    fprintf(stderr, "API bit rate %lld, player %.0f\n", jint(st, "bitrate"),
            ref_bps);
    CU_ASSERT(sl_within_pct(jint(st, "bitrate"), (long) ref_bps, 20));
    CU_ASSERT(json_is_array(json_object_get(st, "renditions")) &&
              json_array_size(json_object_get(st, "renditions")) == 0);
    CU_ASSERT(json_is_array(json_object_get(st, "relays")) &&
              json_array_size(json_object_get(st, "relays")) == 0);
    pl = json_object_get(st, "player_list");
    CU_ASSERT_EQUAL(json_array_size(pl), 2);
    for (size_t i = 0; i < json_array_size(pl); i++) {
        json_t *p = json_array_get(pl, i);
        char    me[64];

        CU_ASSERT(jint(p, "bytes_sent") > 100000);
        CU_ASSERT(jint(p, "lag_ms") >= 0 && jint(p, "lag_ms") < 2000);
        CU_ASSERT_EQUAL(jint(p, "skips"), 0);
        CU_ASSERT_EQUAL(jint(p, "dropped_frames"), 0);
        snprintf(me, sizeof(me), "127.0.0.1:%d", sl_rc_local_port(rc));
        if (!strcmp(sl_itest_jstr(p, "address"), me))
            CU_ASSERT(jint(p, "bytes_sent") >= (long long) b1);
    }
    json_decref(list);

    /* One stream by name, without the list. */
    st = sl_itest_get_json(srv.http_port, "/api/v1/streams/live/x", 200, NULL);
    CU_ASSERT_EQUAL(jint(st, "players"), 2);
    CU_ASSERT_PTR_NULL(json_object_get(st, "player_list"));
    json_decref(st);

    /* Server: counters grew, the connections are ours. */
    s2 = sl_itest_get_json(srv.http_port, "/api/v1/server", 200, NULL);
    CU_ASSERT_FATAL(s1 != NULL && s2 != NULL);
    CU_ASSERT(jint(s2, "bytes.in") > jint(s1, "bytes.in") + 500000);
    CU_ASSERT(jint(s2, "bytes.out") > jint(s1, "bytes.out") + 500000);
    CU_ASSERT(worker_tasks(s2) > worker_tasks(s1));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(s2, "workers")), 2);
    CU_ASSERT_EQUAL(jint(s2, "connections.publishers"), 1);
    CU_ASSERT_EQUAL(jint(s2, "connections.players"), 2);
    CU_ASSERT_EQUAL(jint(s2, "connections.relays"), 0);
    CU_ASSERT(sl_within_pct(jint(s2, "bitrate.in"), (long) ref_bps, 20));
    CU_ASSERT(jint(s2, "bitrate.out") > (long long) ref_bps);
    CU_ASSERT(jint(s2, "process.rss_bytes") > 1000000);
    CU_ASSERT(jint(s2, "uptime_s") > jint(s1, "uptime_s"));
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(s2, "config"), srv.ini);
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(s2, "version"), "0.1.0");
    json_decref(s1);
    json_decref(s2);

    /* History for the dashboard's charts. */
    s1 = sl_itest_get_json(srv.http_port, "/api/v1/history", 200, NULL);
    st = json_array_get(json_object_get(s1, "streams"), 0);
    CU_ASSERT(json_array_size(json_object_get(st, "bitrate")) >= 5);
    CU_ASSERT(json_array_size(json_object_get(s1, "bitrate_in")) >= 8);
    json_decref(s1);

    check_metrics(&srv, ref_bps);
    check_dashboard(&srv);

    /* Errors: JSON bodies, right statuses. */
    CU_ASSERT_EQUAL(call(&srv, "GET", "/nope", NULL, code, sizeof(code)), 404);
    CU_ASSERT_STRING_EQUAL(code, "not_found");
    CU_ASSERT_EQUAL(call(&srv, "GET", "/api/v1/streams/live/nope", NULL, code,
                         sizeof(code)),
                    404);
    CU_ASSERT_EQUAL(
        call(&srv, "PUT", "/api/v1/server", NULL, code, sizeof(code)), 405);
    CU_ASSERT_EQUAL(
        call(&srv, "GET", "/api/v1/reload", NULL, code, sizeof(code)), 405);
    CU_ASSERT_EQUAL(
        call(&srv, "GET", "/api/v1/streams/live/", NULL, code, sizeof(code)),
        400);
    CU_ASSERT_EQUAL(call(&srv, "GET", "/api/v1/streams?players=maybe", NULL,
                         code, sizeof(code)),
                    400);
    /* Control calls: no token, a wrong one. */
    CU_ASSERT_EQUAL(call(&srv, "DELETE", "/api/v1/streams/live/x", NULL, code,
                         sizeof(code)),
                    401);
    CU_ASSERT_STRING_EQUAL(code, "unauthorized");
    CU_ASSERT_EQUAL(call(&srv, "DELETE", "/api/v1/streams/live/x",
                         "Authorization: Bearer wrong\r\n", code, sizeof(code)),
                    401);
    CU_ASSERT_EQUAL(
        call(&srv, "POST", "/api/v1/reload", NULL, code, sizeof(code)), 401);
    CU_ASSERT_EQUAL(sl_proc_wait(&pub, 0.1), -ETIMEDOUT); /* still on */

    /* Reload with the token. */
    CU_ASSERT_EQUAL(
        call(&srv, "POST", "/api/v1/reload", AUTH, code, sizeof(code)), 200);
    CU_ASSERT(sl_wait_file_count(srv.log, "config reloaded", 1, IT_S(5)) == 0);

    /* Drop the publisher: its connection really ends. */
    CU_ASSERT_EQUAL(call(&srv, "DELETE", "/api/v1/streams/live/x", AUTH, code,
                         sizeof(code)),
                    200);
    CU_ASSERT(sl_wait_file_count(srv.log,
                                 "closing: dropped through the HTTP API", 1,
                                 IT_S(5)) == 0);
    CU_ASSERT(sl_proc_wait(&pub, IT_S(10)) == 0);
    CU_ASSERT(!sl_proc_exited_with(&pub, 0)); /* ffmpeg saw the cut */
    st = sl_itest_get_json(srv.http_port, "/api/v1/streams/live/x", 404, NULL);
    json_decref(st);
    CU_ASSERT_EQUAL(call(&srv, "DELETE", "/api/v1/streams/live/x", AUTH, code,
                         sizeof(code)),
                    404);
    s1 = sl_itest_get_json(srv.http_port, "/api/v1/server", 200, NULL);
    CU_ASSERT_EQUAL(jint(s1, "connections.publishers"), 0);
    json_decref(s1);
    /* The token never reaches the log. */
    CU_ASSERT_EQUAL(sl_file_count(srv.log, TOKEN), 0);

    sl_rc_close(rc);
    sl_proc_stop(&play, SIGTERM, IT_S(10));
    sl_proc_kill(&pub);
    IT_STOP(&srv);
}

/* No token configured: control calls are refused, reads work; an HTTP
 * flood and idle connections do not disturb media, and the HTTP server
 * recovers after its timeout. */
static void
test_no_token_and_flood(void)
{
    struct sl_av         av = {320, 240, 30, 30, 30, 0};
    struct sl_srv        srv;
    struct sl_proc       pub;
    struct sl_itest_pump pump;
    struct sl_rc        *rc;
    struct sl_http_resp  r;
    char                 url[256], flog[PATH_MAX + 32], code[64];
    int                  idle[8];
    unsigned long        v0;

    IT_START(&srv, NULL, "[http]\nmax_connections = 4\ntimeout = 2s\n");
    CU_ASSERT_EQUAL(
        call(&srv, "POST", "/api/v1/reload", AUTH, code, sizeof(code)), 403);
    CU_ASSERT_STRING_EQUAL(code, "forbidden");
    CU_ASSERT_EQUAL(call(&srv, "DELETE", "/api/v1/streams/live/x", NULL, code,
                         sizeof(code)),
                    403);

    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    sl_srv_path(&srv, "publish.log", flog, sizeof(flog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, flog) == 0);
    CU_ASSERT_FATAL(
        sl_wait_file_count(srv.log, "publishing live/x", 1, IT_S(15)) == 0);
    rc = sl_rc_player(srv.port, "live", "x", -2, 0, IT_S(5));
    CU_ASSERT_PTR_NOT_NULL_FATAL(rc);

    /* Idle connections beyond the limit (twice it: the server takes
     * them in two rounds of its timeout), and half-sent requests. */
    for (int i = 0; i < 8; i++) {
        idle[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        {
            struct sockaddr_in a = {.sin_family = AF_INET,
                                    .sin_port = htons(srv.http_port),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

            connect(idle[i], (struct sockaddr *) &a, sizeof(a));
        }
        if (i % 2)
            send(idle[i], "GET /api/v1/ser", 15, MSG_NOSIGNAL);
    }
    /* Media keeps flowing meanwhile. */
    v0 = sl_rc_stats(rc)->video;
    sl_itest_pump_start(&pump, rc, 3, 0);
    sl_itest_pump_join(&pump);
    CU_ASSERT(sl_rc_stats(rc)->video >= v0 + 60);
    /* After the idle timeout the server answers again. */
    {
        double deadline = sl_now() + IT_S(15);
        int    st = 0;

        while (sl_now() < deadline) {
            st = sl_http_get(srv.http_port, "/healthz", &r);
            sl_http_resp_free(&r);
            if (st == 200)
                break;
            sl_sleep(0.5);
        }
        CU_ASSERT_EQUAL(st, 200);
    }
    for (int i = 0; i < 8; i++)
        close(idle[i]);
    sl_rc_close(rc);
    sl_proc_kill(&pub);
    IT_STOP(&srv);
}

/* /metrics read and parsed, or NULL (said on stderr). */
static struct sl_prom *
get_metrics(const struct sl_srv *srv)
{
    struct sl_http_resp r;
    struct sl_prom     *p = NULL;
    char                err[256] = "";

    if (sl_http_get(srv->http_port, "/metrics", &r) == 200)
        p = sl_prom_parse(r.body, err, sizeof(err));
    if (p == NULL)
        fprintf(stderr, "  no metrics: %s\n", err);
    sl_http_resp_free(&r);
    return p;
}

/* A metric's value, or -1 when it is missing. */
static double
metric(const struct sl_prom *p, const char *name, const char *labels)
{
    double v;

    return p != NULL && sl_prom_value(p, name, labels, &v) == 0 ? v : -1;
}

/* Polls the API (bounded) until live/x is published: 0 or -ETIMEDOUT. */
static int
wait_stream(const struct sl_srv *srv, double bound_s)
{
    double deadline = sl_now() + IT_S(bound_s);

    while (sl_now() < deadline) {
        struct sl_http_resp r;
        int code = sl_http_get(srv->http_port, "/api/v1/streams/live/x", &r);

        sl_http_resp_free(&r);
        if (code == 200)
            return 0;
        sl_sleep(0.25);
    }
    return -ETIMEDOUT;
}

/* Polls /api/v1/server (bounded) until players_by_protocol shows rtmp
 * and http-flv players; the last answer (caller frees), or NULL. */
static json_t *
wait_players(const struct sl_srv *srv, int rtmp, int flv, double bound_s)
{
    double  deadline = sl_now() + IT_S(bound_s);
    json_t *s = NULL;

    while (sl_now() < deadline) {
        json_decref(s);
        s = sl_itest_get_json(srv->http_port, "/api/v1/server", 200, NULL);
        if (s != NULL && jint(s, "players_by_protocol.rtmp") == rtmp &&
            jint(s, "players_by_protocol.http-flv") == flv)
            return s;
        sl_sleep(0.25);
    }
    if (s != NULL) {
        char *txt = json_dumps(json_object_get(s, "players_by_protocol"), 0);

        fprintf(stderr, "  players_by_protocol stayed %s (want %d, %d)\n",
                txt ? txt : "?", rtmp, flv);
        free(txt);
    }
    json_decref(s);
    return NULL;
}

/* Polls the API (bounded) until live/x lists n players that were each
 * sent more than min_bytes; the last answer of /api/v1/streams?players=1
 * (caller frees), or NULL. */
static json_t *
wait_player_bytes(const struct sl_srv *srv, size_t n, long long min_bytes,
                  double bound_s)
{
    double  deadline = sl_now() + IT_S(bound_s);
    json_t *list = NULL;

    while (sl_now() < deadline) {
        json_t *pl;
        size_t  enough = 0;

        json_decref(list);
        list = sl_itest_get_json(srv->http_port, "/api/v1/streams?players=1",
                                 200, NULL);
        pl = json_object_get(
            json_array_get(json_object_get(list, "streams"), 0), "player_list");
        for (size_t i = 0; i < json_array_size(pl); i++)
            enough += jint(json_array_get(pl, i), "bytes_sent") > min_bytes;
        if (json_array_size(pl) == n && enough == n)
            return list;
        sl_sleep(0.1);
    }
    fprintf(stderr, "  live/x: not %zu players with %lld bytes each\n", n,
            min_bytes);
    return list;
}

/* One ffmpeg player over RTMP and one over HTTP-FLV (the web port) of
 * the same stream, at once: the API and the metrics count them by
 * protocol, list each player's protocol, and count the bytes each
 * protocol sent, which keep growing while the HTTP-FLV player plays
 * and stay counted after it left. */
static void
test_players_by_protocol(void)
{
    struct sl_av    av = {320, 240, 30, 60, 30, 0};
    struct sl_srv   srv;
    struct sl_proc  pub, rtmp_play, flv_play;
    struct sl_prom *m;
    json_t         *s, *list, *st, *pl;
    char url[256], flv_url[128], flog[PATH_MAX + 32], out1[PATH_MAX + 32];
    char out2[PATH_MAX + 32], log1[PATH_MAX + 32], log2[PATH_MAX + 32];
    const char *stream = "app=\"live\",name=\"x\"";
    char        labels[128];
    int         seen_rtmp = 0, seen_flv = 0;
    long long   flv_player_bytes = -1;
    double      flv0, flv1, rtmp1, http1, total;

    IT_START(&srv, NULL, NULL);
    CU_ASSERT_FATAL(srv.web_port > 0);
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    snprintf(flv_url, sizeof(flv_url), "http://127.0.0.1:%d/live/x.flv",
             srv.web_port);
    sl_srv_path(&srv, "publish.log", flog, sizeof(flog));
    sl_srv_path(&srv, "rtmp.flv", out1, sizeof(out1));
    sl_srv_path(&srv, "rtmp.log", log1, sizeof(log1));
    sl_srv_path(&srv, "http.flv", out2, sizeof(out2));
    sl_srv_path(&srv, "http.log", log2, sizeof(log2));

    /* Nobody plays yet: both protocols are there, at 0. */
    s = sl_itest_get_json(srv.http_port, "/api/v1/server", 200, NULL);
    CU_ASSERT_EQUAL(jint(s, "players_by_protocol.rtmp"), 0);
    CU_ASSERT_EQUAL(jint(s, "players_by_protocol.http-flv"), 0);
    CU_ASSERT_EQUAL(jint(s, "bytes_sent_by_protocol.http-flv"), 0);
    json_decref(s);

    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, flog) == 0);
    IT_EXPECT_LOGS(wait_stream(&srv, 15) == 0, flog, srv.log);
    CU_ASSERT_FATAL(sl_ffmpeg_play(&rtmp_play, url, out1, log1) == 0);
    CU_ASSERT_FATAL(sl_ffmpeg_play(&flv_play, flv_url, out2, log2) == 0);

    s = wait_players(&srv, 1, 1, 15);
    IT_EXPECT_LOGS(s != NULL, log2, srv.log);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_EQUAL(jint(s, "connections.players"), 2);
    json_decref(s);
    /* Let the players receive a while, so every count below is real. */
    list = wait_player_bytes(&srv, 2, 10000, 10);
    st = json_array_get(json_object_get(list, "streams"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(jint(st, "players"), 2);
    CU_ASSERT_EQUAL(jint(st, "players_by_protocol.rtmp"), 1);
    CU_ASSERT_EQUAL(jint(st, "players_by_protocol.http-flv"), 1);
    pl = json_object_get(st, "player_list");
    CU_ASSERT_EQUAL(json_array_size(pl), 2);
    for (size_t i = 0; i < json_array_size(pl); i++) {
        json_t     *p = json_array_get(pl, i);
        const char *proto = sl_itest_jstr(p, "protocol");

        CU_ASSERT(jint(p, "bytes_sent") > 10000);
        if (!strcmp(proto, "rtmp")) {
            seen_rtmp++;
        } else if (!strcmp(proto, "http-flv")) {
            seen_flv++;
            flv_player_bytes = jint(p, "bytes_sent");
        } else {
            fprintf(stderr, "  a player with protocol \"%s\"\n", proto);
        }
    }
    CU_ASSERT_EQUAL(seen_rtmp, 1);
    CU_ASSERT_EQUAL(seen_flv, 1);
    json_decref(list);

    /* Metrics: players by protocol, in the server and the stream; bytes
     * sent by protocol, which add up to the total (read a moment apart
     * while the players receive: within 5%). */
    m = get_metrics(&srv);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(metric(m, "sluice_players", "protocol=\"rtmp\""), 1);
    CU_ASSERT_EQUAL(metric(m, "sluice_players", "protocol=\"http-flv\""), 1);
    snprintf(labels, sizeof(labels), "%s,protocol=\"http-flv\"", stream);
    CU_ASSERT_EQUAL(metric(m, "sluice_stream_players_by_protocol", labels), 1);
    snprintf(labels, sizeof(labels), "%s,protocol=\"rtmp\"", stream);
    CU_ASSERT_EQUAL(metric(m, "sluice_stream_players_by_protocol", labels), 1);
    CU_ASSERT_EQUAL(metric(m, "sluice_stream_players", stream), 2);
    flv0 = metric(m, "sluice_bytes_sent_by_protocol_total",
                  "protocol=\"http-flv\"");
    rtmp1 =
        metric(m, "sluice_bytes_sent_by_protocol_total", "protocol=\"rtmp\"");
    http1 =
        metric(m, "sluice_bytes_sent_by_protocol_total", "protocol=\"http\"");
    total = metric(m, "sluice_bytes_sent_total", "");
    fprintf(stderr,
            "  bytes sent: rtmp %.0f, http-flv %.0f, http %.0f, total %.0f; "
            "the http-flv player had %lld\n",
            rtmp1, flv0, http1, total, flv_player_bytes);
    CU_ASSERT(flv0 >= (double) flv_player_bytes && flv_player_bytes > 0);
    CU_ASSERT(rtmp1 > 10000);
    CU_ASSERT(http1 >= 0);
    CU_ASSERT(sl_within_pct((long) (rtmp1 + flv0 + http1), (long) total, 5));
    sl_prom_free(m);

    /* The HTTP-FLV player's bytes keep growing while it plays. */
    for (double end = sl_now() + IT_S(5);; sl_sleep(0.1)) {
        m = get_metrics(&srv);
        flv1 = metric(m, "sluice_bytes_sent_by_protocol_total",
                      "protocol=\"http-flv\"");
        sl_prom_free(m);
        if (flv1 > flv0 || sl_now() >= end)
            break;
    }
    CU_ASSERT(flv1 > flv0);

    /* It leaves: no HTTP-FLV player, its bytes stay counted. */
    sl_proc_stop(&flv_play, SIGTERM, IT_S(10));
    s = wait_players(&srv, 1, 0, 10);
    CU_ASSERT_PTR_NOT_NULL(s);
    CU_ASSERT(jint(s, "bytes_sent_by_protocol.http-flv") >= (long long) flv1);
    json_decref(s);
    m = get_metrics(&srv);
    CU_ASSERT_EQUAL(metric(m, "sluice_players", "protocol=\"http-flv\""), 0);
    CU_ASSERT(metric(m, "sluice_bytes_sent_by_protocol_total",
                     "protocol=\"http-flv\"") >= flv1);
    sl_prom_free(m);

    sl_proc_stop(&rtmp_play, SIGTERM, IT_S(10));
    sl_proc_kill(&pub);
    IT_STOP(&srv);
}

static void
test_http_off(void)
{
    struct sl_srv       srv;
    struct sl_http_resp r;

    IT_START(&srv, NULL, "[http]\nlisten = off\n");
    CU_ASSERT_EQUAL(sl_file_count(srv.log, "http api on"), 0);
    CU_ASSERT(sl_http_request(srv.http_port, "GET", "/healthz", NULL, 2, &r) ==
              -ECONNREFUSED);
    IT_STOP(&srv);
}

void
sl_itest_suite_http(void)
{
    CU_pSuite s = sl_itest_suite("http");

    CU_add_test(s, "API, metrics, dashboard against ffmpeg; control calls",
                test_api_live);
    CU_add_test(s, "no token: control refused; flood does not stall media",
                test_no_token_and_flood);
    CU_add_test(s, "players and bytes by protocol: RTMP and HTTP-FLV",
                test_players_by_protocol);
    CU_add_test(s, "listen = off", test_http_off);
}
