/*
 * The player page's paths, files and stream list (see page.h).
 */
#include "web/page.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/auth.h"
#include "server/config.h"
#include "server/hub.h"
#include "web/response.h"

/* The page's own files may change with any release, so a cache asks
 * again each time; a library's name carries its version, so what is
 * served under it never changes. */
#define CACHE_PAGE "no-cache"
#define CACHE_LIB "public, max-age=31536000, immutable"

static int
starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int
sl_web_page_owns(const char *path)
{
    return strcmp(path, "/") == 0 || strcmp(path, "/streams.json") == 0 ||
           starts(path, "/play/") || starts(path, "/assets/");
}

static const struct sl_asset *
find_file(const struct sl_asset *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

int
sl_web_page_find(const char *path, struct sl_page_obj *out)
{
    char        a[SL_NAME_MAX], b[SL_NAME_MAX];
    const char *page = "index.html";

    memset(out, 0, sizeof(*out));
    out->kind = SL_PAGE_FILE;
    out->cache = CACHE_PAGE;
    if (strcmp(path, "/streams.json") == 0) {
        out->kind = SL_PAGE_STREAMS;
        out->cache = "no-cache";
        return 0;
    }
    if (starts(path, "/play/")) {
        /* /play/APP/NAME: the page, once APP/NAME is a name it could
         * play (the script reads them from its own location). */
        if (sl_web_stream_path(path + strlen("/play"), "", a, sizeof(a), b,
                               sizeof(b)) < 0)
            return -ENOENT;
    } else if (starts(path, "/assets/")) {
        if (sl_web_stream_path(path, "", a, sizeof(a), b, sizeof(b)) < 0)
            return -ENOENT;
        page = b;
        out->file = find_file(sl_player_libs, sl_player_nlibs, page);
        if (out->file != NULL) {
            out->cache = CACHE_LIB;
            return 0;
        }
    } else if (strcmp(path, "/") != 0) {
        return -ENOENT;
    }
    out->file = find_file(sl_player_assets, sl_player_nassets, page);
    return out->file != NULL ? 0 : -ENOENT;
}

/* ---- /streams.json ---- */

static int
cmp_name(const void *x, const void *y)
{
    const struct sl_hub_name *a = x, *b = y;
    int                       c = strcmp(a->app, b->app);

    return c != 0 ? c : strcmp(a->name, b->name);
}

/* Whether a viewer at addr may pick s: its app is configured, the web
 * port can serve its name, and a play without a query is not refused
 * (the address rules, a required signature).  A callback is asked at
 * play time, not here. */
static int
pickable(const struct sl_config *cfg, const struct sl_hub_name *s,
         const struct sockaddr_storage *addr, const struct sl_app_config **app)
{
    char                   path[2 * SL_NAME_MAX + 8];
    char                   a[SL_NAME_MAX], n[SL_NAME_MAX];
    struct sl_auth_request rq;
    struct sl_auth_verdict v;

    *app = sl_config_app(cfg, s->app);
    if (*app == NULL || s->derived)
        return 0;
    snprintf(path, sizeof(path), "/%s/%s", s->app, s->name);
    if (sl_web_stream_path(path, "", a, sizeof(a), n, sizeof(n)) < 0 ||
        strcmp(a, s->app) != 0 || strcmp(n, s->name) != 0)
        return 0;
    rq = (struct sl_auth_request){
        .kind = SL_AUTH_PLAY,
        .app = *app,
        .name = s->name,
        .query = "",
        .addr = addr,
        .now = time(NULL),
    };
    sl_auth_decide(&rq, &v);
    return v.outcome != SL_AUTH_REFUSE;
}

/* The JSON object of one listed stream, or NULL when out of memory. */
static json_t *
stream_obj(const struct sl_hub_name *s, int hls)
{
    char    url[2 * SL_NAME_MAX + 16];
    json_t *o = json_object(), *urls = json_object();

    if (o == NULL || urls == NULL) {
        json_decref(o);
        json_decref(urls);
        return NULL;
    }
    json_object_set_new(o, "app", json_string(s->app));
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "hls", json_boolean(hls));
    snprintf(url, sizeof(url), "/play/%s/%s", s->app, s->name);
    json_object_set_new(o, "page", json_string(url));
    if (hls) {
        snprintf(url, sizeof(url), "/%s/%s.m3u8", s->app, s->name);
        json_object_set_new(urls, "hls", json_string(url));
    }
    snprintf(url, sizeof(url), "/%s/%s.flv", s->app, s->name);
    json_object_set_new(urls, "flv", json_string(url));
    json_object_set_new(o, "urls", urls);
    return o;
}

struct sl_buf *
sl_web_page_streams(struct sl_hub *hub, const struct sl_config *cfg, int hls_on,
                    const struct sockaddr_storage *addr)
{
    struct sl_hub_name *names = NULL;
    struct sl_buf      *b = NULL;
    json_t             *arr = json_array(), *top = json_object();
    char               *text = NULL;
    int                 n, want, ok = 1;

    if (arr == NULL || top == NULL)
        goto out;
    /* Counted first, then copied; a publish in between is left for the
     * next request, one beyond the bound for ever. */
    want = sl_hub_live_streams(hub, NULL, 0);
    if (want > SL_PAGE_MAX_STREAMS)
        want = SL_PAGE_MAX_STREAMS;
    names = calloc((size_t) want + 1, sizeof(*names));
    if (names == NULL)
        goto out;
    n = sl_hub_live_streams(hub, names, want);
    if (n > want)
        n = want;
    qsort(names, (size_t) n, sizeof(*names), cmp_name);
    for (int i = 0; i < n && ok; i++) {
        const struct sl_app_config *app;
        json_t                     *o;

        if (!pickable(cfg, &names[i], addr, &app))
            continue;
        o = stream_obj(&names[i], hls_on && app->hls);
        ok = o != NULL && json_array_append_new(arr, o) == 0;
    }
    if (!ok)
        goto out;
    n = json_object_set_new(top, "streams", arr);
    arr = NULL; /* set_new took it, even when it failed */
    if (n < 0)
        goto out;
    text = json_dumps(top, JSON_INDENT(1));
    if (text != NULL)
        b = sl_buf_from(text, strlen(text));
out:
    free(text);
    free(names);
    json_decref(arr);
    json_decref(top);
    return b;
}
