/*
 * Config loading.  inih calls us once per key; to report the line of a
 * bad key we feed inih through our own line reader, which counts lines,
 * so the count is the line inih just handed us.
 */
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/log.h"
#include "server/tls.h"

struct load_ctx {
    FILE             *fp;
    int               line;
    struct sl_config *cfg;
    char             *err;
    size_t            errlen;
    int               failed;
    int               tls_line[3]; /* tls_listen, tls_cert, tls_key */
};

static char *
read_line(char *str, int num, void *stream)
{
    struct load_ctx *ctx = stream;
    char            *r = fgets(str, num, ctx->fp);

    if (r != NULL)
        ctx->line++;
    return r;
}

/* The first problem found is the one reported.  A printf format, checked
 * by the compiler against its arguments. */
static void fail(struct load_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct load_ctx *ctx, const char *fmt, ...)
{
    char    msg[256];
    va_list ap;

    if (ctx->failed)
        return;
    ctx->failed = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ctx->line > 0)
        snprintf(ctx->err, ctx->errlen, "%s:%d: %s", ctx->cfg->path, ctx->line,
                 msg);
    else
        snprintf(ctx->err, ctx->errlen, "%s: %s", ctx->cfg->path, msg);
}

static int
parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "on") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "true") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcasecmp(v, "off") || !strcasecmp(v, "no") ||
             !strcasecmp(v, "false") || !strcmp(v, "0"))
        *out = 0;
    else
        return -EINVAL;
    return 0;
}

static int
parse_uint(const char *v, uint64_t max, uint64_t *out)
{
    char              *end;
    unsigned long long n;

    if (!isdigit((unsigned char) *v))
        return -EINVAL;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || n > max)
        return -EINVAL;
    *out = n;
    return 0;
}

/* Sizes take an optional k/m suffix (KiB, MiB). */
static int
parse_size(const char *v, uint64_t max, uint64_t *out)
{
    char     num[32];
    size_t   n = strlen(v);
    uint64_t mul = 1;

    if (n == 0 || n >= sizeof(num))
        return -EINVAL;
    memcpy(num, v, n + 1);
    if (num[n - 1] == 'k' || num[n - 1] == 'K')
        mul = 1024;
    else if (num[n - 1] == 'm' || num[n - 1] == 'M')
        mul = 1024 * 1024;
    if (mul != 1)
        num[n - 1] = '\0';
    if (parse_uint(num, max / mul, out) < 0)
        return -EINVAL;
    *out *= mul;
    return 0;
}

/* Durations: a number with a unit, "ms", "s" or "m"; a bare number is in
 * the unit the key's name or documentation gives (default_ms_per). */
static int
parse_duration(const char *v, uint64_t default_ms_per, uint64_t *out_ms)
{
    char     num[32];
    size_t   n = strlen(v);
    uint64_t per = default_ms_per;

    if (n == 0 || n >= sizeof(num))
        return -EINVAL;
    memcpy(num, v, n + 1);
    if (n > 2 && !strcmp(num + n - 2, "ms")) {
        per = 1;
        num[n - 2] = '\0';
    } else if (num[n - 1] == 's') {
        per = 1000;
        num[n - 1] = '\0';
    } else if (num[n - 1] == 'm') {
        per = 60000;
        num[n - 1] = '\0';
    }
    if (parse_uint(num, UINT32_MAX / per, out_ms) < 0)
        return -EINVAL;
    *out_ms *= per;
    return 0;
}

static int
parse_addr(const char *v, char *out_host, size_t host_cap, uint16_t *out_port)
{
    const char *colon = strrchr(v, ':');
    const char *host = v;
    size_t      hlen;
    uint64_t    port;

    if (colon == NULL) {
        host = "";
        hlen = 0;
        colon = v - 1;
    } else {
        hlen = (size_t) (colon - v);
        if (hlen >= 2 && v[0] == '[' && v[hlen - 1] == ']') {
            host = v + 1;
            hlen -= 2;
        }
    }
    if (hlen >= host_cap || parse_uint(colon + 1, 65535, &port) < 0 ||
        port == 0)
        return -EINVAL;
    memcpy(out_host, host, hlen);
    out_host[hlen] = '\0';
    if (!strcmp(out_host, "*"))
        out_host[0] = '\0';
    *out_port = (uint16_t) port;
    return 0;
}

static int
parse_listen(const char *v, struct sl_config *c)
{
    return parse_addr(v, c->listen_host, sizeof(c->listen_host),
                      &c->listen_port);
}

/* An API token: printable ASCII without spaces, so it survives a header
 * unchanged.  The message never quotes the value: it is a secret. */
static int
valid_token(const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || n > 255)
        return 0;
    for (; *v; v++)
        if ((unsigned char) *v <= 0x20 || (unsigned char) *v >= 0x7f)
            return 0;
    return 1;
}

static int
http_key(struct load_ctx *ctx, const char *key, const char *v)
{
    struct sl_config *c = ctx->cfg;
    uint64_t          n = 0;

    if (!strcmp(key, "listen")) {
        if (!strcasecmp(v, "off")) {
            c->http_enabled = 0;
        } else if (parse_addr(v, c->http_host, sizeof(c->http_host),
                              &c->http_port) < 0) {
            fail(ctx, "listen: '%s' is not HOST:PORT, PORT or off", v);
        } else {
            c->http_enabled = 1;
        }
    } else if (!strcmp(key, "api_token")) {
        if (v[0] != '\0' && !valid_token(v))
            fail(ctx, "api_token: not 1..255 printable characters without "
                      "spaces (value not shown)");
        else
            snprintf(c->api_token, sizeof(c->api_token), "%s", v);
    } else if (!strcmp(key, "max_connections")) {
        if (parse_uint(v, 4096, &n) < 0 || n == 0)
            fail(ctx, "max_connections: '%s' is not 1..4096", v);
        c->http_max_connections = (int) n;
    } else if (!strcmp(key, "timeout")) {
        if (parse_duration(v, 1000, &n) < 0 || n < 1000)
            fail(ctx, "timeout: '%s' is not a duration >= 1s", v);
        c->http_timeout_ms = (uint32_t) n;
    } else {
        fail(ctx, "unknown key '%s' in [http]", key);
    }
    return 0;
}

static int
cluster_key(struct load_ctx *ctx, const char *key, const char *v)
{
    struct sl_config *c = ctx->cfg;
    uint64_t          n = 0;

    if (!strcmp(key, "capacity_mbps") || !strcmp(key, "max_players")) {
        if (parse_uint(v, 10000000, &n) < 0)
            fail(ctx, "%s: '%s' is not 0..10000000", key, v);
        *(key[0] == 'c' ? &c->cluster_capacity_mbps : &c->cluster_max_players) =
            (uint32_t) n;
    } else if (!strcmp(key, "agent_listen")) {
        c->agent_enabled = strcasecmp(v, "off") != 0;
        if (c->agent_enabled &&
            parse_addr(v, c->agent_host, sizeof(c->agent_host),
                       &c->agent_port) < 0)
            fail(ctx, "agent_listen: '%s' is not HOST:PORT, PORT or off", v);
    } else {
        fail(ctx, "unknown key '%s' in [cluster]", key);
    }
    return 0;
}

static int
valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= SL_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char) *s) && !strchr("_-.", *s))
            return 0;
    return 1;
}

/* The abuse limits of [server]: 1 when key is one of them. */
static int
limit_key(struct load_ctx *ctx, const char *key, const char *v)
{
    static const struct {
        const char *name;
        size_t      off;
        uint64_t    min;
    } keys[] = {
        {"max_connections_per_ip",
         offsetof(struct sl_config, max_connections_per_ip), 0},
        {"connection_rate_per_ip",
         offsetof(struct sl_config, connection_rate_per_ip), 0},
        {"connection_burst_per_ip",
         offsetof(struct sl_config, connection_burst_per_ip), 1},
        {"max_pending", offsetof(struct sl_config, max_pending), 0},
    };
    uint64_t n = 0;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(key, keys[i].name) != 0)
            continue;
        if (parse_uint(v, 1000000, &n) < 0 || n < keys[i].min)
            fail(ctx, "%s: '%s' is not %u..1000000", key, v,
                 (unsigned) keys[i].min);
        else
            *(uint32_t *) ((char *) ctx->cfg + keys[i].off) = (uint32_t) n;
        return 1;
    }
    return 0;
}

static int
server_key(struct load_ctx *ctx, const char *key, const char *v)
{
    struct sl_config *c = ctx->cfg;
    uint64_t          n = 0;
    int               b = 0, lvl;

    if (limit_key(ctx, key, v))
        return 0;
    if (!strcmp(key, "listen")) {
        if (parse_listen(v, c) < 0)
            fail(ctx, "listen: '%s' is not HOST:PORT or PORT", v);
    } else if (!strcmp(key, "workers")) {
        if (parse_uint(v, 256, &n) < 0)
            fail(ctx, "workers: '%s' is not a number 0..256", v);
        c->workers = (int) n;
    } else if (!strcmp(key, "acceptors")) {
        if (parse_uint(v, 64, &n) < 0 || n == 0)
            fail(ctx, "acceptors: '%s' is not a number 1..64", v);
        c->acceptors = (int) n;
    } else if (!strcmp(key, "chunk_size")) {
        if (parse_size(v, 65536, &n) < 0 || n < 128)
            fail(ctx, "chunk_size: '%s' is not 128..65536", v);
        c->chunk_size = (uint32_t) n;
    } else if (!strcmp(key, "max_connections")) {
        if (parse_uint(v, 1000000, &n) < 0 || n == 0)
            fail(ctx, "max_connections: '%s' is not 1..1000000", v);
        c->max_connections = (int) n;
    } else if (!strcmp(key, "max_message_size")) {
        if (parse_size(v, 64 * 1024 * 1024, &n) < 0 || n < 4096)
            fail(ctx, "max_message_size: '%s' is not 4k..64m", v);
        c->max_message_size = (uint32_t) n;
    } else if (!strcmp(key, "gop_cache")) {
        if (parse_bool(v, &b) < 0)
            fail(ctx, "gop_cache: '%s' is not on or off", v);
        c->gop_cache = b;
    } else if (!strcmp(key, "max_lag")) {
        if (parse_duration(v, 1000, &n) < 0 || n < 100)
            fail(ctx, "max_lag: '%s' is not a duration >= 100ms", v);
        c->max_lag_ms = (uint32_t) n;
    } else if (!strcmp(key, "merge_write_ms")) {
        if (parse_uint(v, 1000, &n) < 0)
            fail(ctx, "merge_write_ms: '%s' is not 0..1000", v);
        c->merge_write_ms = (uint32_t) n;
    } else if (!strcmp(key, "handshake_timeout")) {
        if (parse_duration(v, 1000, &n) < 0 || n == 0)
            fail(ctx, "handshake_timeout: '%s' is not a duration", v);
        c->handshake_timeout_ms = (uint32_t) n;
    } else if (!strcmp(key, "idle_timeout")) {
        if (parse_duration(v, 1000, &n) < 0 || n == 0)
            fail(ctx, "idle_timeout: '%s' is not a duration", v);
        c->idle_timeout_ms = (uint32_t) n;
    } else if (!strcmp(key, "publish_grace")) {
        if (parse_duration(v, 1000, &n) < 0)
            fail(ctx, "publish_grace: '%s' is not a duration", v);
        c->publish_grace_ms = (uint32_t) n;
    } else if (!strcmp(key, "tls_listen")) {
        ctx->tls_line[0] = ctx->line;
        c->tls_enabled = strcasecmp(v, "off") != 0;
        if (c->tls_enabled &&
            parse_addr(v, c->tls_host, sizeof(c->tls_host), &c->tls_port) < 0)
            fail(ctx, "tls_listen: '%s' is not HOST:PORT, PORT or off", v);
    } else if (!strcmp(key, "tls_cert") || !strcmp(key, "tls_key")) {
        int k = key[4] == 'c' ? 1 : 2;

        ctx->tls_line[k] = ctx->line;
        if (v[0] == '\0' || strlen(v) >= sizeof(c->tls_cert))
            fail(ctx, "%s: not a file name of 1..511 characters", key);
        else
            snprintf(k == 1 ? c->tls_cert : c->tls_key, sizeof(c->tls_cert),
                     "%s", v);
    } else if (!strcmp(key, "log_level")) {
        lvl = sl_log_level_parse(v);
        if (lvl < 0)
            fail(ctx, "log_level: '%s' is not error, warn, info or debug", v);
        c->log_level = lvl;
    } else {
        fail(ctx, "unknown key '%s' in [server]", key);
    }
    return 0;
}

/* Bit rates: a number with an optional k or m (1000s: bit rates are
 * decimal, unlike sizes). */
static int
parse_bitrate(const char *v, uint64_t *out)
{
    char     num[32];
    size_t   n = strlen(v);
    uint64_t mul = 1;

    if (n == 0 || n >= sizeof(num))
        return -EINVAL;
    memcpy(num, v, n + 1);
    if (num[n - 1] == 'k' || num[n - 1] == 'K')
        mul = 1000;
    else if (num[n - 1] == 'm' || num[n - 1] == 'M')
        mul = 1000 * 1000;
    if (mul != 1)
        num[n - 1] = '\0';
    if (parse_uint(num, 1000u * 1000 * 1000 / mul, out) < 0)
        return -EINVAL;
    *out *= mul;
    return 0;
}

static int
find_rendition(const struct sl_config *c, const char *name)
{
    for (int i = 0; i < c->nrenditions; i++)
        if (!strcmp(c->renditions[i].name, name))
            return i;
    return -1;
}

/* Appends section idx (-1: no section of that name) to one of an app's
 * lists, once. */
static void
add_to_list(struct load_ctx *ctx, const char *key, const char *kind,
            const char *name, int idx, int *list, int *n, int max)
{
    char msg[SL_NAME_MAX + 64];

    if (idx < 0)
        snprintf(msg, sizeof(msg), "%s: no [%s:%s] section", key, kind, name);
    else if (*n == max)
        snprintf(msg, sizeof(msg), "%s: more than %d", key, max);
    else
        msg[0] = '\0';
    for (int i = 0; i < *n && !msg[0]; i++)
        if (list[i] == idx)
            snprintf(msg, sizeof(msg), "%s: '%s' listed twice", key, name);
    if (msg[0]) {
        fail(ctx, "%s", msg);
        return;
    }
    list[(*n)++] = idx;
}

static void
add_app_rendition(struct load_ctx *ctx, void *arg, const char *name)
{
    struct sl_app_config *app = arg;

    add_to_list(ctx, "renditions", "rendition", name,
                find_rendition(ctx->cfg, name), app->renditions,
                &app->nrenditions, SL_APP_MAX_RENDITIONS);
}

static int
find_relay(const struct sl_config *c, const char *name)
{
    for (int i = 0; i < c->nrelays; i++)
        if (!strcmp(c->relays[i].name, name))
            return i;
    return -1;
}

/* rtmp:// or rtmps://, a host, no blanks; the rest is the server's. */
/* A URL of scheme PROTO:// or PROTOs:// ("rtmp", "http") with a host,
 * printable and without spaces, that fits SL_URL_MAX. */
static int
valid_url(const char *v, const char *proto)
{
    size_t      n = strlen(proto);
    const char *host;

    if (strncmp(v, proto, n) != 0)
        return 0;
    host = v + n;
    if (*host == 's')
        host++;
    if (strncmp(host, "://", 3) != 0)
        return 0;
    host += 3;
    if (*host == '\0' || *host == '/' || strlen(v) >= SL_URL_MAX)
        return 0;
    for (const char *p = v; *p; p++)
        if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f)
            return 0;
    return 1;
}

static int
valid_rtmp_url(const char *v)
{
    return valid_url(v, "rtmp");
}

/* Splits a comma-separated list; calls add(ctx, arg, item) per item
 * until it fails. */
static void
for_each_item(struct load_ctx *ctx, const char *key, const char *v,
              void (*add)(struct load_ctx *, void *, const char *), void *arg)
{
    char list[2048], *save = NULL, *tok;

    if (strlen(v) >= sizeof(list)) {
        fail(ctx, "%s: list too long", key);
        return;
    }
    memcpy(list, v, strlen(v) + 1);
    for (tok = strtok_r(list, ", \t", &save); tok != NULL && !ctx->failed;
         tok = strtok_r(NULL, ", \t", &save))
        add(ctx, arg, tok);
}

static void
add_app_relay(struct load_ctx *ctx, void *arg, const char *name)
{
    struct sl_app_config *app = arg;

    add_to_list(ctx, "relays", "relay", name, find_relay(ctx->cfg, name),
                app->relays, &app->nrelays, SL_APP_MAX_RELAYS);
}

/* Appends an rtmp(s):// URL to a list of at most max; what names the
 * list in errors ("pull: ", or "" inside a relay's section). */
static void
add_rtmp_url(struct load_ctx *ctx, const char *what, const char *url,
             char (*list)[SL_URL_MAX], int *n, int max)
{
    if (!valid_rtmp_url(url)) {
        fail(ctx, "%s'%s' is not an rtmp:// or rtmps:// URL", what, url);
        return;
    }
    if (*n == max) {
        fail(ctx, "%smore than %d URLs", what, max);
        return;
    }
    snprintf(list[(*n)++], SL_URL_MAX, "%s", url);
}

static void
add_app_pull(struct load_ctx *ctx, void *arg, const char *url)
{
    struct sl_app_config *app = arg;

    add_rtmp_url(ctx, "pull: ", url, app->pulls, &app->npulls,
                 SL_APP_MAX_PULLS);
}

static void
add_cidr(struct load_ctx *ctx, void *arg, const char *item)
{
    struct sl_cidr_list *l = arg;

    if (l->n == SL_ACCESS_MAX_CIDRS) {
        fail(ctx, "more than %d address rules in one list",
             SL_ACCESS_MAX_CIDRS);
        return;
    }
    if (sl_cidr_parse(item, &l->v[l->n]) < 0) {
        fail(ctx, "'%s' is not an address or ADDRESS/BITS", item);
        return;
    }
    l->n++;
}

/* A relative path is relative to the config file's folder, so a config
 * and the files it names move together. */
static int
resolve_path(struct load_ctx *ctx, const char *v, char *out, size_t cap)
{
    const char *slash = strrchr(ctx->cfg->path, '/');
    int         n;

    if (v[0] == '/' || slash == NULL)
        n = snprintf(out, cap, "%s", v);
    else
        n = snprintf(out, cap, "%.*s/%s", (int) (slash - ctx->cfg->path),
                     ctx->cfg->path, v);
    return n >= 0 && (size_t) n < cap ? 0 : -1;
}

/* Secrets: never quoted in an error. */
static void
set_secret(struct load_ctx *ctx, const char *key, const char *v, char *dst,
           size_t cap)
{
    size_t len = strlen(v);

    if (len < 8 || len >= cap) {
        fail(ctx, "%s: must be 8..%zu characters", key, cap - 1);
        return;
    }
    for (const char *p = v; *p; p++)
        if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f) {
            fail(ctx, "%s: printable characters without spaces only", key);
            return;
        }
    memcpy(dst, v, len + 1);
}

/* The access-control keys of [app:NAME]; 1 when key was one of them. */
static int
app_access_key(struct load_ctx *ctx, struct sl_app_config *app, const char *key,
               const char *v)
{
    static const struct {
        const char *key;
        size_t      off;
    } lists[] =
        {
            {"allow_publish", offsetof(struct sl_app_config, allow_publish)},
            {"deny_publish", offsetof(struct sl_app_config, deny_publish)},
            {"allow_play", offsetof(struct sl_app_config, allow_play)},
            {"deny_play", offsetof(struct sl_app_config, deny_play)},
        },
      urls[] = {
          {"on_connect", offsetof(struct sl_app_config, on_connect)},
          {"on_publish", offsetof(struct sl_app_config, on_publish)},
          {"on_play", offsetof(struct sl_app_config, on_play)},
          {"on_done", offsetof(struct sl_app_config, on_done)},
      };
    uint64_t n = 0;

    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        if (strcmp(key, lists[i].key) != 0)
            continue;
        struct sl_cidr_list *l =
            (struct sl_cidr_list *) ((char *) app + lists[i].off);

        l->n = 0;
        for_each_item(ctx, key, v, add_cidr, l);
        return 1;
    }
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        if (strcmp(key, urls[i].key) != 0)
            continue;
        /* Not quoted: a callback URL may carry credentials. */
        if (!valid_url(v, "http"))
            fail(ctx, "%s: not an http:// or https:// URL", key);
        else
            snprintf((char *) app + urls[i].off, SL_URL_MAX, "%s", v);
        return 1;
    }
    if (!strcmp(key, "publish_keys")) {
        char err[512];

        if (resolve_path(ctx, v, app->publish_keys_path,
                         sizeof(app->publish_keys_path)) < 0) {
            fail(ctx, "publish_keys: path too long");
            return 1;
        }
        sl_keyset_free(app->publish_keys);
        app->publish_keys =
            sl_keyset_load(app->publish_keys_path, err, sizeof(err));
        if (app->publish_keys == NULL)
            fail(ctx, "publish_keys: %s", err);
    } else if (!strcmp(key, "publish_secret")) {
        set_secret(ctx, key, v, app->publish_secret,
                   sizeof(app->publish_secret));
    } else if (!strcmp(key, "play_secret")) {
        set_secret(ctx, key, v, app->play_secret, sizeof(app->play_secret));
    } else if (!strcmp(key, "callback_timeout")) {
        if (parse_duration(v, 1000, &n) < 0 || n < 100 || n > 60000)
            fail(ctx, "callback_timeout: '%s' is not 100ms..60s", v);
        app->callback_timeout_ms = (uint32_t) n;
    } else {
        return 0;
    }
    return 1;
}

/* The recording keys of [app:NAME]; 1 when key was one of them.  The
 * folder is checked now, so a typo fails the load rather than the first
 * publish. */
static int
app_record_key(struct load_ctx *ctx, struct sl_app_config *app, const char *key,
               const char *v)
{
    struct stat st;
    uint64_t    n = 0;

    if (!strcmp(key, "record")) {
        app->record_dir[0] = '\0';
        if (!strcmp(v, "off"))
            return 1;
        if (v[0] == '\0' ||
            resolve_path(ctx, v, app->record_dir, sizeof(app->record_dir)) < 0)
            fail(ctx, "record: '%s' is not a usable path", v);
        else if (stat(app->record_dir, &st) < 0)
            fail(ctx, "record: %s: %s", app->record_dir, strerror(errno));
        else if (!S_ISDIR(st.st_mode))
            fail(ctx, "record: %s: not a directory", app->record_dir);
        else if (access(app->record_dir, W_OK | X_OK) < 0)
            fail(ctx, "record: %s: not writable: %s", app->record_dir,
                 strerror(errno));
    } else if (!strcmp(key, "record_renditions")) {
        if (parse_bool(v, &app->record_renditions) < 0)
            fail(ctx, "record_renditions: '%s' is not on or off", v);
    } else if (!strcmp(key, "record_segment")) {
        if (parse_duration(v, 1000, &n) < 0 || n < 1000 || n > 86400000)
            fail(ctx, "record_segment: '%s' is not 1s..24h", v);
        app->record_segment_ms = (uint32_t) n;
    } else {
        return 0;
    }
    return 1;
}

static int
app_key(struct load_ctx *ctx, struct sl_app_config *app, const char *key,
        const char *v)
{
    uint64_t n = 0;

    if (app_access_key(ctx, app, key, v))
        return 0;
    if (app_record_key(ctx, app, key, v))
        return 0;

    if (!strcmp(key, "renditions")) {
        app->nrenditions = 0;
        for_each_item(ctx, key, v, add_app_rendition, app);
    } else if (!strcmp(key, "keyframe_interval")) {
        if (parse_duration(v, 1000, &n) < 0 || n < 100 || n > 60000)
            fail(ctx, "keyframe_interval: '%s' is not 100ms..60s", v);
        app->keyframe_interval_ms = (uint32_t) n;
    } else if (!strcmp(key, "relays")) {
        app->nrelays = 0;
        for_each_item(ctx, key, v, add_app_relay, app);
    } else if (!strcmp(key, "pull")) {
        app->npulls = 0;
        for_each_item(ctx, key, v, add_app_pull, app);
    } else if (!strcmp(key, "backup_publish")) {
        if (parse_bool(v, &app->backup_publish) < 0)
            fail(ctx, "backup_publish: '%s' is not on or off", v);
    } else if (!strcmp(key, "ingest_timeout")) {
        if (parse_duration(v, 1000, &n) < 0 || n < 500 || n > 600000)
            fail(ctx, "ingest_timeout: '%s' is not 500ms..10m", v);
        app->ingest_timeout_ms = (uint32_t) n;
    } else if (!strcmp(key, "pull_idle_timeout")) {
        if (parse_duration(v, 1000, &n) < 0)
            fail(ctx, "pull_idle_timeout: '%s' is not a duration", v);
        app->pull_idle_ms = (uint32_t) n;
    } else {
        fail(ctx, "unknown key '%s' in [app:%s]", key, app->name);
    }
    return 0;
}

static void
copy_word(struct load_ctx *ctx, const char *key, const char *v, char *dst,
          size_t cap)
{
    if (strlen(v) == 0 || strlen(v) >= cap) {
        fail(ctx, "%s: '%s' is empty or too long", key, v);
        return;
    }
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char) *p) && !strchr("_-.", *p)) {
            fail(ctx, "%s: '%s' is not a plain word", key, v);
            return;
        }
    memcpy(dst, v, strlen(v) + 1);
}

static void
rendition_key(struct load_ctx *ctx, struct sl_rendition_config *r,
              const char *key, const char *v)
{
    uint64_t n = 0;

    if (!strcmp(key, "width") || !strcmp(key, "height")) {
        if (parse_uint(v, 8192, &n) < 0 || n % 2 != 0)
            fail(ctx, "%s: '%s' is not an even number 0..8192", key, v);
        *(key[0] == 'w' ? &r->width : &r->height) = (int) n;
    } else if (!strcmp(key, "video_bitrate") || !strcmp(key, "maxrate") ||
               !strcmp(key, "bufsize") || !strcmp(key, "audio_bitrate")) {
        if (parse_bitrate(v, &n) < 0 || n < 1000)
            fail(ctx, "%s: '%s' is not a bit rate like 2500k", key, v);
        if (key[0] == 'v')
            r->video_bitrate = (uint32_t) n;
        else if (key[0] == 'm')
            r->maxrate = (uint32_t) n;
        else if (key[0] == 'b')
            r->bufsize = (uint32_t) n;
        else
            r->audio_bitrate = (uint32_t) n;
    } else if (!strcmp(key, "fps")) {
        if (parse_uint(v, 240, &n) < 0)
            fail(ctx, "fps: '%s' is not 0..240", v);
        r->fps = (int) n;
    } else if (!strcmp(key, "preset")) {
        copy_word(ctx, key, v, r->preset, sizeof(r->preset));
    } else if (!strcmp(key, "profile")) {
        if (strcmp(v, "baseline") && strcmp(v, "main") && strcmp(v, "high"))
            fail(ctx, "profile: '%s' is not baseline, main or high", v);
        else
            copy_word(ctx, key, v, r->profile, sizeof(r->profile));
    } else if (!strcmp(key, "encoder")) {
        copy_word(ctx, key, v, r->encoder, sizeof(r->encoder));
    } else if (!strcmp(key, "audio")) {
        if (!strcmp(v, "copy"))
            r->audio_copy = 1;
        else if (!strcmp(v, "aac"))
            r->audio_copy = 0;
        else
            fail(ctx, "audio: '%s' is not copy or aac", v);
    } else {
        fail(ctx, "unknown key '%s' in [rendition:%s]", key, r->name);
    }
}

static void
add_relay_url(struct load_ctx *ctx, void *arg, const char *url)
{
    struct sl_relay_config *r = arg;

    add_rtmp_url(ctx, "", url, r->urls, &r->nurls, SL_RELAY_MAX_URLS);
}

static void
add_relay_stream(struct load_ctx *ctx, void *arg, const char *name)
{
    struct sl_relay_config *r = arg;

    if (!strcmp(name, "source")) {
        r->push_source = 1;
        return;
    }
    if (find_rendition(ctx->cfg, name) < 0) {
        fail(ctx, "streams: '%s' is neither source nor a [rendition:...]",
             name);
        return;
    }
    if (r->nrungs == SL_APP_MAX_RENDITIONS) {
        fail(ctx, "streams: more than %s renditions", "8");
        return;
    }
    snprintf(r->rungs[r->nrungs++], SL_NAME_MAX, "%s", name);
}

static void
relay_key(struct load_ctx *ctx, struct sl_relay_config *r, const char *key,
          const char *v)
{
    uint64_t n = 0;

    if (!strcmp(key, "url")) {
        /* The primary goes first, whatever the order of the keys. */
        char keep[SL_RELAY_MAX_URLS - 1][SL_URL_MAX];
        int  nkeep = 0;

        if (r->has_url) {
            fail(ctx, "url given twice (use backup_url)");
            return;
        }
        for (int i = 0; i < r->nurls && nkeep < SL_RELAY_MAX_URLS - 1; i++)
            memcpy(keep[nkeep++], r->urls[i], SL_URL_MAX);
        r->nurls = 0;
        add_relay_url(ctx, r, v);
        for (int i = 0; i < nkeep && !ctx->failed; i++)
            add_relay_url(ctx, r, keep[i]);
        r->has_url = 1;
    } else if (!strcmp(key, "backup_url")) {
        for_each_item(ctx, key, v, add_relay_url, r);
    } else if (!strcmp(key, "streams")) {
        r->push_source = 0;
        r->nrungs = 0;
        for_each_item(ctx, key, v, add_relay_stream, r);
    } else if (!strcmp(key, "retry_min") || !strcmp(key, "retry_max") ||
               !strcmp(key, "timeout")) {
        if (parse_duration(v, 1000, &n) < 0 || n < 10 || n > 3600000)
            fail(ctx, "%s: '%s' is not a duration 10ms..1h", key, v);
        if (!strcmp(key, "retry_min"))
            r->retry_min_ms = (uint32_t) n;
        else if (!strcmp(key, "retry_max"))
            r->retry_max_ms = (uint32_t) n;
        else
            r->timeout_ms = (uint32_t) n;
    } else if (!strcmp(key, "failover_after")) {
        if (parse_uint(v, 1000, &n) < 0 || n == 0)
            fail(ctx, "failover_after: '%s' is not 1..1000", v);
        r->failover_after = (int) n;
    } else if (!strcmp(key, "max_buffer")) {
        if (parse_size(v, 1024u * 1024 * 1024, &n) < 0 || n < 65536)
            fail(ctx, "max_buffer: '%s' is not a size 64k..1024m", v);
        r->max_buffer = (uint32_t) n;
    } else {
        fail(ctx, "unknown key '%s' in [relay:%s]", key, r->name);
    }
}

static struct sl_relay_config *
find_or_add_relay(struct load_ctx *ctx, const char *name)
{
    struct sl_config       *c = ctx->cfg;
    struct sl_relay_config *r;
    int                     idx = find_relay(c, name);

    if (idx >= 0)
        return &c->relays[idx];
    if (c->nrelays == SL_CONFIG_MAX_RELAYS) {
        fail(ctx, "too many [relay:...] sections (limit %s)", "32");
        return NULL;
    }
    r = &c->relays[c->nrelays++];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->push_source = 1;
    r->retry_min_ms = 1000;
    r->retry_max_ms = 30000;
    r->failover_after = 3;
    r->timeout_ms = 5000;
    r->max_buffer = 8u << 20;
    return r;
}

static struct sl_rendition_config *
find_or_add_rendition(struct load_ctx *ctx, const char *name)
{
    struct sl_config           *c = ctx->cfg;
    struct sl_rendition_config *r;
    int                         idx = find_rendition(c, name);

    if (idx >= 0)
        return &c->renditions[idx];
    if (c->nrenditions == SL_CONFIG_MAX_RENDITIONS) {
        fail(ctx, "too many [rendition:...] sections (limit %s)", "32");
        return NULL;
    }
    r = &c->renditions[c->nrenditions++];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    snprintf(r->preset, sizeof(r->preset), "veryfast");
    snprintf(r->profile, sizeof(r->profile), "high");
    snprintf(r->encoder, sizeof(r->encoder), "libx264");
    r->audio_copy = 1;
    r->audio_bitrate = 128000;
    return r;
}

/* What a relay needs that has no default. */
static void
check_relays(struct load_ctx *ctx)
{
    for (int i = 0; i < ctx->cfg->nrelays && !ctx->failed; i++) {
        struct sl_relay_config *r = &ctx->cfg->relays[i];

        if (!r->has_url)
            fail(ctx, "[relay:%s] needs a url", r->name);
        else if (r->retry_max_ms < r->retry_min_ms)
            fail(ctx, "[relay:%s]: retry_max is below retry_min", r->name);
    }
}

/* RTMPS needs both files.  They are loaded here, so `sluice -t` and a
 * reload refuse a missing, unreadable or mismatched one (at the line of
 * the key that names it) before anything uses it. */
static void
check_tls(struct load_ctx *ctx)
{
    struct sl_config *c = ctx->cfg;
    int  cert = c->tls_cert[0] != '\0', key = c->tls_key[0] != '\0';
    int  bad = 0;
    char why[256];

    if (ctx->failed)
        return; /* nothing loaded for a config that is refused anyway */
    if (c->tls_enabled && (!cert || !key)) {
        ctx->line = ctx->tls_line[0];
        fail(ctx, "tls_listen needs tls_cert and tls_key");
    } else if (cert != key) {
        ctx->line = ctx->tls_line[cert ? 1 : 2];
        fail(ctx, "%s needs %s too", cert ? "tls_cert" : "tls_key",
             cert ? "tls_key" : "tls_cert");
    } else if (c->tls_enabled && c->tls_port == c->listen_port &&
               !strcmp(c->tls_host, c->listen_host)) {
        ctx->line = ctx->tls_line[0];
        fail(ctx, "tls_listen: the same address as listen");
    } else if (cert) {
        c->tls =
            sl_tls_ctx_new(c->tls_cert, c->tls_key, &bad, why, sizeof(why));
        ctx->line = ctx->tls_line[bad == SL_TLS_BAD_CERT ? 1 : 2];
        if (c->tls == NULL)
            fail(ctx, "%s", why);
    }
}

/* What a rung needs that has no default; run after every key is read. */
static void
check_renditions(struct load_ctx *ctx)
{
    char what[SL_NAME_MAX + 16];

    for (int i = 0; i < ctx->cfg->nrenditions && !ctx->failed; i++) {
        struct sl_rendition_config *r = &ctx->cfg->renditions[i];

        snprintf(what, sizeof(what), "[rendition:%s]", r->name);
        if (r->width == 0 && r->height == 0)
            fail(ctx, "%s needs a width or a height", what);
        else if (r->video_bitrate == 0)
            fail(ctx, "%s needs a video_bitrate", what);
        if (r->maxrate == 0)
            r->maxrate = r->video_bitrate;
        if (r->bufsize == 0)
            r->bufsize = r->maxrate;
    }
}

static struct sl_app_config *
find_or_add_app(struct load_ctx *ctx, const char *name, int *created)
{
    struct sl_config *c = ctx->cfg;

    *created = 0;
    for (int i = 0; i < c->napps; i++)
        if (!strcmp(c->apps[i].name, name))
            return &c->apps[i];
    if (c->napps == SL_CONFIG_MAX_APPS) {
        fail(ctx, "too many [app:...] sections (limit %s)", "64");
        return NULL;
    }
    *created = 1;
    memset(&c->apps[c->napps], 0, sizeof(c->apps[0]));
    snprintf(c->apps[c->napps].name, SL_NAME_MAX, "%s", name);
    c->apps[c->napps].keyframe_interval_ms = 2000;
    c->apps[c->napps].pull_idle_ms = 10000;
    c->apps[c->napps].callback_timeout_ms = 3000;
    c->apps[c->napps].record_segment_ms = 3600 * 1000;
    c->apps[c->napps].ingest_timeout_ms = 5000;
    return &c->apps[c->napps++];
}

static int
on_key(void *user, const char *section, const char *key, const char *value)
{
    struct load_ctx      *ctx = user;
    struct sl_app_config *app;
    int                   created;

    if (ctx->failed)
        return 1;
    /* inih calls with key NULL at a new section only when built with
     * INI_CALL_HANDLER_ON_NEW_SECTION; guard anyway. */
    if (key == NULL)
        return 1;
    if (!strcmp(section, "server"))
        return server_key(ctx, key, value), 1;
    if (!strcmp(section, "http"))
        return http_key(ctx, key, value), 1;
    if (!strcmp(section, "cluster"))
        return cluster_key(ctx, key, value), 1;
    if (!strncmp(section, "app:", 4)) {
        if (!valid_name(section + 4)) {
            fail(ctx, "bad app name '%s' (letters, digits, _ - .)",
                 section + 4);
            return 1;
        }
        app = find_or_add_app(ctx, section + 4, &created);
        if (app != NULL)
            app_key(ctx, app, key, value);
        return 1;
    }
    if (!strncmp(section, "relay:", 6)) {
        struct sl_relay_config *r;

        if (!valid_name(section + 6)) {
            fail(ctx, "bad relay name '%s' (letters, digits, _ - .)",
                 section + 6);
            return 1;
        }
        r = find_or_add_relay(ctx, section + 6);
        if (r != NULL)
            relay_key(ctx, r, key, value);
        return 1;
    }
    if (!strncmp(section, "rendition:", 10)) {
        struct sl_rendition_config *r;

        if (!valid_name(section + 10)) {
            fail(ctx, "bad rendition name '%s' (letters, digits, _ - .)",
                 section + 10);
            return 1;
        }
        r = find_or_add_rendition(ctx, section + 10);
        if (r != NULL)
            rendition_key(ctx, r, key, value);
        return 1;
    }
    fail(ctx, "unknown section [%s]", section);
    return 1;
}

/* What a config owns besides itself: the apps' key sets and the TLS
 * context. */
static void
config_free(struct sl_config *c)
{
    for (int i = 0; i < c->napps; i++)
        sl_keyset_free(c->apps[i].publish_keys);
    sl_tls_ctx_unref(c->tls);
    free(c);
}

static void
set_defaults(struct sl_config *c)
{
    atomic_init(&c->refs, 1);
    c->listen_host[0] = '\0';
    c->listen_port = 1935;
    c->workers = 0;
    c->acceptors = 1;
    c->chunk_size = 4096;
    c->max_connections = 10000;
    c->max_message_size = 8 * 1024 * 1024;
    c->gop_cache = 1;
    c->max_lag_ms = 5000;
    c->merge_write_ms = 50;
    c->handshake_timeout_ms = 10000;
    c->idle_timeout_ms = 30000;
    c->publish_grace_ms = 5000;
    c->log_level = SL_LOG_INFO;
    c->max_connections_per_ip = 100;
    c->connection_rate_per_ip = 20;
    c->connection_burst_per_ip = 100;
    c->max_pending = 1000;
    c->http_enabled = 1;
    snprintf(c->http_host, sizeof(c->http_host), "127.0.0.1");
    c->http_port = 8080;
    c->api_token[0] = '\0';
    c->http_max_connections = 64;
    c->http_timeout_ms = 10000;
    c->napps = 0;
}

struct sl_config *
sl_config_defaults(void)
{
    struct sl_config *c = calloc(1, sizeof(*c));

    if (c != NULL)
        set_defaults(c);
    return c;
}

/* Section headers name apps even when they hold no keys, which inih does
 * not report; a second pass over the file picks those up. */
static void
scan_sections(struct load_ctx *ctx)
{
    char line[512];
    int  created;

    rewind(ctx->fp);
    ctx->line = 0;
    while (!ctx->failed && fgets(line, sizeof(line), ctx->fp) != NULL) {
        char *s = line, *end;

        ctx->line++;
        while (isspace((unsigned char) *s))
            s++;
        if (*s != '[')
            continue;
        end = strchr(s, ']');
        if (end == NULL)
            continue; /* inih reports it */
        *end = '\0';
        s++;
        if (!strncmp(s, "app:", 4)) {
            if (!valid_name(s + 4))
                fail(ctx, "bad app name '%s' (letters, digits, _ - .)", s + 4);
            else
                find_or_add_app(ctx, s + 4, &created);
        } else if (!strncmp(s, "relay:", 6)) {
            if (!valid_name(s + 6))
                fail(ctx, "bad relay name '%s' (letters, digits, _ - .)",
                     s + 6);
            else
                find_or_add_relay(ctx, s + 6);
        } else if (!strncmp(s, "rendition:", 10)) {
            if (!valid_name(s + 10))
                fail(ctx, "bad rendition name '%s' (letters, digits, _ - .)",
                     s + 10);
            else
                find_or_add_rendition(ctx, s + 10);
        } else if (strcmp(s, "server") != 0 && strcmp(s, "http") != 0 &&
                   strcmp(s, "cluster") != 0) {
            fail(ctx, "unknown section [%s]", s);
        }
    }
}

struct sl_config *
sl_config_load(const char *path, char *err, size_t errlen)
{
    struct load_ctx ctx = {.err = err, .errlen = errlen};
    int             rc;

    ctx.cfg = sl_config_defaults();
    if (ctx.cfg == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    snprintf(ctx.cfg->path, sizeof(ctx.cfg->path), "%s", path);
    ctx.fp = fopen(path, "r");
    if (ctx.fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(ctx.cfg);
        return NULL;
    }
    scan_sections(&ctx);
    if (!ctx.failed) {
        rewind(ctx.fp);
        ctx.line = 0;
        rc = ini_parse_stream(read_line, &ctx, on_key, &ctx);
        if (rc > 0 && !ctx.failed) {
            ctx.line = rc;
            fail(&ctx, "syntax error");
        } else if (rc < 0 && !ctx.failed) {
            snprintf(err, errlen, "%s: cannot read", path);
            ctx.failed = 1;
        }
    }
    if (!ctx.failed) {
        /* Problems of a whole section have no one line to point at. */
        ctx.line = 0;
        check_renditions(&ctx);
        check_relays(&ctx);
        check_tls(&ctx);
    }
    fclose(ctx.fp);
    if (ctx.failed) {
        config_free(ctx.cfg);
        return NULL;
    }
    return ctx.cfg;
}

void
sl_config_ref(struct sl_config *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void
sl_config_unref(struct sl_config *c)
{
    if (c == NULL)
        return;
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    config_free(c);
}

const struct sl_app_config *
sl_config_app(const struct sl_config *c, const char *name)
{
    for (int i = 0; i < c->napps; i++)
        if (!strcmp(c->apps[i].name, name))
            return &c->apps[i];
    return NULL;
}

/* The current config pointer is swapped under a mutex: reloads are rare
 * and getters take a reference, which a bare atomic pointer load could
 * not do safely against a concurrent final unref. */
static pthread_mutex_t   current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sl_config *current;

struct sl_config *
sl_config_get(void)
{
    struct sl_config *c;

    pthread_mutex_lock(&current_lock);
    c = current;
    if (c != NULL)
        sl_config_ref(c);
    pthread_mutex_unlock(&current_lock);
    return c;
}

void
sl_config_set(struct sl_config *c)
{
    struct sl_config *old;

    pthread_mutex_lock(&current_lock);
    old = current;
    current = c;
    pthread_mutex_unlock(&current_lock);
    sl_config_unref(old);
}
