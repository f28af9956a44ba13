/*
 * The player page (web/page.h): which paths are the page's, what each
 * serves and with which cache policy, and /streams.json built from a
 * real hub and config (listed: live, configured, servable, not refused;
 * left out: renditions, signed-only apps, denied addresses, unknown apps,
 * names the web port cannot serve).
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "pool/sched.h"
#include "server/config.h"
#include "server/hub.h"
#include "tests/support/proc.h"
#include "web/page.h"

#define LIB_CACHE "public, max-age=31536000, immutable"

static void
test_owns(void)
{
    static const char *const yes[] = {"/",      "/streams.json", "/play/a/b",
                                      "/play/", "/assets/x.js",  "/assets/"};
    static const char *const no[] = {"/live/cam.flv",
                                     "/live/cam.m3u8",
                                     "/live/cam/media.m3u8",
                                     "/playx",
                                     "/assetsx/a",
                                     "/streams.jsonx",
                                     ""};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        CU_ASSERT(sl_web_page_owns(yes[i]));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        CU_ASSERT(!sl_web_page_owns(no[i]));
}

/* sl_web_page_find(path) gives the file named want (NULL: -ENOENT) with
 * Cache-Control cache. */
static void
expect_file(const char *path, const char *want, const char *cache)
{
    struct sl_page_obj o;
    int                rc = sl_web_page_find(path, &o);

    if (want == NULL) {
        CU_ASSERT_EQUAL(rc, -ENOENT);
        if (rc != -ENOENT)
            fprintf(stderr, "  %s: found, should not be\n", path);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(o.kind, SL_PAGE_FILE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o.file);
    CU_ASSERT_STRING_EQUAL(o.file->name, want);
    CU_ASSERT_STRING_EQUAL(o.cache, cache);
    CU_ASSERT(o.file->len > 0);
}

static void
test_find(void)
{
    struct sl_page_obj o;

    expect_file("/", "index.html", "no-cache");
    expect_file("/play/live/cam", "index.html", "no-cache");
    expect_file("/play/live/cam.v2", "index.html", "no-cache");
    expect_file("/assets/index.html", "index.html", "no-cache");
    expect_file("/assets/player.js", "player.js", "no-cache");
    expect_file("/assets/style.css", "style.css", "no-cache");
    expect_file("/assets/hls-1.7.4.min.js", "hls-1.7.4.min.js", LIB_CACHE);
    expect_file("/assets/mpegts-1.8.2.js", "mpegts-1.8.2.js", LIB_CACHE);
    expect_file("/assets/mpegts.js-1.8.2.LICENSE.txt",
                "mpegts.js-1.8.2.LICENSE.txt", LIB_CACHE);
    expect_file("/assets/", NULL, NULL);
    expect_file("/assets/nothing.js", NULL, NULL);
    expect_file("/assets/a/player.js", NULL, NULL);
    expect_file("/play/", NULL, NULL);
    expect_file("/play/live", NULL, NULL);
    expect_file("/play/live/", NULL, NULL);
    expect_file("/play/live/cam/x", NULL, NULL);
    expect_file("/play/li ve/cam", NULL, NULL);
    expect_file("/play/../cam", NULL, NULL);
    expect_file("/nothing", NULL, NULL);
    CU_ASSERT_EQUAL(sl_web_page_find("/streams.json", &o), 0);
    CU_ASSERT_EQUAL(o.kind, SL_PAGE_STREAMS);
    CU_ASSERT_STRING_EQUAL(o.cache, "no-cache");
    /* The page loads what the server has: every /assets/ name that
     * index.html and player.js give is found. */
    for (size_t i = 0; i < sl_player_nassets; i++) {
        const struct sl_asset *a = &sl_player_assets[i];
        const char            *p = (const char *) a->data;

        while ((p = strstr(p, "/assets/")) != NULL) {
            char path[128];
            int  n = (int) strcspn(p, "'\" )");

            snprintf(path, sizeof(path), "%.*s", n, p);
            CU_ASSERT(sl_web_page_find(path, &o) == 0);
            if (sl_web_page_find(path, &o) != 0)
                fprintf(stderr, "  %s names %s, which is not there\n", a->name,
                        path);
            p += n;
        }
    }
}

/* The streams of /streams.json as "app/name hls" words, one string. */
static void
list_of(struct sl_hub *hub, const struct sl_config *cfg, int hls_on,
        const char *ip, char *out, size_t cap)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in     *sin = (struct sockaddr_in *) &ss;
    struct sl_buf          *b;
    json_t                 *j, *arr;
    size_t                  n = 0;

    sin->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sin->sin_addr);
    out[0] = '\0';
    b = sl_web_page_streams(hub, cfg, hls_on, &ss);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    j = json_loadb((const char *) b->data, b->len, 0, NULL);
    sl_buf_unref(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    arr = json_object_get(j, "streams");
    CU_ASSERT(json_is_array(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t     *s = json_array_get(arr, i);
        json_t     *urls = json_object_get(s, "urls");
        const char *app = json_string_value(json_object_get(s, "app"));
        const char *name = json_string_value(json_object_get(s, "name"));
        int         hls = json_is_true(json_object_get(s, "hls"));
        char        want[300];

        CU_ASSERT_FATAL(app != NULL && name != NULL);
        n += (size_t) snprintf(out + n, cap - n, "%s%s/%s%s", n ? " " : "", app,
                               name, hls ? "+hls" : "");
        snprintf(want, sizeof(want), "/%s/%s.flv", app, name);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(urls, "flv")),
                               want);
        snprintf(want, sizeof(want), "/%s/%s.m3u8", app, name);
        if (hls) {
            CU_ASSERT_STRING_EQUAL(
                json_string_value(json_object_get(urls, "hls")), want);
        } else {
            CU_ASSERT_PTR_NULL(json_object_get(urls, "hls"));
        }
        snprintf(want, sizeof(want), "/play/%s/%s", app, name);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s, "page")),
                               want);
    }
    json_decref(j);
}

static void
test_streams(void)
{
    struct sl_hub_limits lim = {.chunk_size = 4096,
                                .gop_cache = 1,
                                .gop_max_msgs = 64,
                                .gop_max_bytes = 1 << 20};
    struct sl_hub       *hub = sl_hub_new(&lim);
    struct sl_config    *cfg;
    struct sl_stream    *s[7];
    int                  pub[7];
    char                 dir[PATH_MAX], ini[PATH_MAX + 16], err[512];
    char                 got[512];
    long                 bufs = sl_buf_live_count();

    CU_ASSERT_FATAL(hub != NULL && sl_tmpdir(dir) == 0);
    snprintf(ini, sizeof(ini), "%s/page.ini", dir);
    CU_ASSERT_FATAL(sl_write_file(ini,
                                  "[app:live]\nhls = on\n"
                                  "[app:flv]\n"
                                  "[app:signed]\nplay_secret = secret-123\n"
                                  "[app:lan]\nallow_play = 10.0.0.0/8\n") == 0);
    cfg = sl_config_load(ini, err, sizeof(err));
    if (cfg == NULL)
        fprintf(stderr, "%s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);

    list_of(hub, cfg, 1, "127.0.0.1", got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "");
    CU_ASSERT(sl_hub_publish(hub, "live", "zed", &pub[0], &s[0]) == 0);
    CU_ASSERT(sl_hub_publish(hub, "live", "cam", &pub[1], &s[1]) == 0);
    CU_ASSERT(sl_hub_publish_derived(hub, "live", "cam_720p", &pub[2], &s[2]) ==
              0);
    CU_ASSERT(sl_hub_publish(hub, "flv", "a", &pub[3], &s[3]) == 0);
    CU_ASSERT(sl_hub_publish(hub, "signed", "b", &pub[4], &s[4]) == 0);
    CU_ASSERT(sl_hub_publish(hub, "lan", "c", &pub[5], &s[5]) == 0);
    /* A name the web port cannot serve (RTMP takes it). */
    CU_ASSERT(sl_hub_publish(hub, "live", "a b", &pub[6], &s[6]) == 0);

    list_of(hub, cfg, 1, "127.0.0.1", got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "flv/a live/cam+hls live/zed+hls");
    list_of(hub, cfg, 1, "10.1.2.3", got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "flv/a lan/c live/cam+hls live/zed+hls");
    /* No packager running: no HLS offered. */
    list_of(hub, cfg, 0, "127.0.0.1", got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "flv/a live/cam live/zed");

    for (int i = 0; i < 7; i++)
        sl_hub_unpublish(s[i], &pub[i]);
    list_of(hub, cfg, 1, "10.1.2.3", got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "");
    sl_config_unref(cfg);
    sl_hub_free(hub);
    sl_tmpdir_remove_all();
    CU_ASSERT_EQUAL(sl_buf_live_count(), bufs);
}

void
sl_test_suite_page(void)
{
    CU_pSuite s = CU_add_suite("page", NULL, NULL);

    CU_add_test(s, "which paths are the page's", test_owns);
    CU_add_test(s, "what each path serves, and its cache policy", test_find);
    CU_add_test(s, "/streams.json: what a viewer may pick", test_streams);
}
