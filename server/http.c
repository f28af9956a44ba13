/*
 * libmicrohttpd glue for the HTTP API (see http.h, api.h, docs/api.md).
 *
 * One MHD daemon with its internal polling thread: every request is
 * answered on that thread from a fresh snapshot.  Bounds: at most
 * [http] max_connections connections, [http] timeout of idle time each,
 * 32 KiB of request buffer each (a longer header is refused by MHD).
 * Request bodies are never read: every call we serve is a bare method
 * and path, and MHD closes a connection whose body is left unread.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/api.h"
#include "server/assets.h"
#include "server/log.h"
#include "server/session_info.h"

#define CONN_MEMORY (32 * 1024)

struct sl_http {
    struct MHD_Daemon *d;
    struct sl_server  *srv;
    struct sl_stats   *st;
    sl_http_reload_fn  reload;
    void              *reload_ctx;
    atomic_int         draining;
};

static enum MHD_Result
send_body(struct MHD_Connection *c, unsigned status, const char *type,
          char *body, size_t len, enum MHD_ResponseMemoryMode mode,
          const char *allow, int auth_challenge)
{
    struct MHD_Response *r;
    enum MHD_Result      rc;

    r = MHD_create_response_from_buffer(len, body, mode);
    if (r == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (allow != NULL)
        MHD_add_response_header(r, "Allow", allow);
    if (auth_challenge)
        MHD_add_response_header(r, "WWW-Authenticate",
                                "Bearer realm=\"sluice\"");
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned status, char *json)
{
    static char oom[] = "{\"error\":\"internal\",\"message\":\"out of "
                        "memory\"}";

    if (json == NULL)
        return send_body(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                         oom, sizeof(oom) - 1, MHD_RESPMEM_PERSISTENT, NULL, 0);
    return send_body(c, status, "application/json", json, strlen(json),
                     MHD_RESPMEM_MUST_FREE, NULL, 0);
}

static enum MHD_Result
send_error(struct MHD_Connection *c, unsigned status, const char *code,
           const char *msg, const char *allow)
{
    char *json = sl_api_error_json(code, msg);

    if (json == NULL)
        return send_json(c, status, NULL);
    return send_body(c, status, "application/json", json, strlen(json),
                     MHD_RESPMEM_MUST_FREE, allow,
                     status == MHD_HTTP_UNAUTHORIZED);
}

/* The ?players= flag: 1 on, 0 off, -1 unusable. */
static int
players_flag(struct MHD_Connection *c)
{
    const char *v =
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "players");

    if (v == NULL || !strcmp(v, "0") || !strcasecmp(v, "false") ||
        !strcasecmp(v, "no"))
        return 0;
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
        v[0] == '\0')
        return 1;
    return -1;
}

/* Control calls: a configured token, presented.  Returns MHD_YES with a
 * response queued when refused (*refused = 1). */
static enum MHD_Result
check_auth(struct MHD_Connection *c, int *refused)
{
    struct sl_config *cfg = sl_config_get();
    const char       *auth;
    enum MHD_Result   rc = MHD_YES;

    *refused = 1;
    auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_AUTHORIZATION);
    if (cfg == NULL || cfg->api_token[0] == '\0')
        rc = send_error(c, MHD_HTTP_FORBIDDEN, "forbidden",
                        "control calls are disabled: no [http] api_token is "
                        "configured",
                        NULL);
    else if (!sl_api_token_ok(auth, cfg->api_token))
        rc = send_error(c, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                        auth == NULL ? "this call needs the header "
                                       "Authorization: Bearer <api_token>"
                                     : "wrong token",
                        NULL);
    else
        *refused = 0;
    sl_config_unref(cfg);
    return rc;
}

static enum MHD_Result
serve_asset(struct MHD_Connection *c, const char *name)
{
    for (size_t i = 0; i < sl_nassets; i++) {
        if (strcmp(sl_assets[i].name, name) != 0)
            continue;
        struct MHD_Response *r = MHD_create_response_from_buffer(
            sl_assets[i].len, (void *) sl_assets[i].data,
            MHD_RESPMEM_PERSISTENT);
        enum MHD_Result rc;

        if (r == NULL)
            return MHD_NO;
        MHD_add_response_header(r, "Content-Type", sl_assets[i].type);
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        /* Everything the page needs comes from here. */
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:");
        rc = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return rc;
    }
    return send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such file", NULL);
}

static enum MHD_Result
serve_stream(struct sl_http *h, struct MHD_Connection *c,
             const struct sl_api_route *r, int method)
{
    struct sl_snapshot *snap;
    int                 players, refused, rc;
    char               *json;

    if (method == SL_API_DELETE) {
        enum MHD_Result res = check_auth(c, &refused);

        if (refused)
            return res;
        rc = sl_session_kick_publisher(h->srv, r->app, r->name);
        if (rc < 0)
            return send_error(c, MHD_HTTP_NOT_FOUND, "not_found",
                              "nobody publishes that stream", NULL);
        sl_log_info("http: publisher of %s/%s dropped through the API", r->app,
                    r->name);
        return send_json(c, MHD_HTTP_OK, sl_api_dropped_json(r->app, r->name));
    }
    players = players_flag(c);
    if (players < 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request",
                          "players must be 0 or 1", NULL);
    snap = sl_stats_snapshot(h->st, players ? SL_SNAP_PLAYERS : 0, r->app,
                             r->name);
    if (snap == NULL)
        return send_json(c, 500, NULL);
    if (snap->nstreams == 0) {
        sl_snapshot_free(snap);
        return send_error(c, MHD_HTTP_NOT_FOUND, "not_found",
                          "no live stream by that name", NULL);
    }
    json = sl_api_stream_json(&snap->streams[0], players);
    sl_snapshot_free(snap);
    return send_json(c, MHD_HTTP_OK, json);
}

/* /healthz: 503 while the server drains or stops, so a balancer moves
 * new players elsewhere. */
static enum MHD_Result
serve_healthz(struct sl_http *h, struct MHD_Connection *c)
{
    if (atomic_load(&h->draining) || atomic_load(&h->srv->stopping)) {
        static char stopping[] = "stopping\n";

        return send_body(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                         "text/plain; charset=utf-8", stopping,
                         sizeof(stopping) - 1, MHD_RESPMEM_PERSISTENT, NULL, 0);
    } else {
        static char ok[] = "ok\n";

        return send_body(c, MHD_HTTP_OK, "text/plain; charset=utf-8", ok,
                         sizeof(ok) - 1, MHD_RESPMEM_PERSISTENT, NULL, 0);
    }
}

static enum MHD_Result
serve_metrics(struct sl_http *h, struct MHD_Connection *c)
{
    struct sl_snapshot *snap = sl_stats_snapshot(h->st, 0, NULL, NULL);
    size_t              len;
    char               *body = snap != NULL ? sl_api_metrics(snap, &len) : NULL;

    sl_snapshot_free(snap);
    if (body == NULL)
        return send_json(c, 500, NULL);
    return send_body(c, MHD_HTTP_OK,
                     "text/plain; version=0.0.4; "
                     "charset=utf-8",
                     body, len, MHD_RESPMEM_MUST_FREE, NULL, 0);
}

static enum MHD_Result
serve_server(struct sl_http *h, struct MHD_Connection *c)
{
    struct sl_snapshot *snap = sl_stats_snapshot(h->st, 0, NULL, NULL);
    char               *body = snap != NULL ? sl_api_server_json(snap) : NULL;

    sl_snapshot_free(snap);
    return send_json(c, MHD_HTTP_OK, body);
}

static enum MHD_Result
serve_streams(struct sl_http *h, struct MHD_Connection *c)
{
    struct sl_snapshot *snap;
    char               *body;
    int                 players = players_flag(c);

    if (players < 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request",
                          "players must be 0 or 1", NULL);
    snap = sl_stats_snapshot(h->st, players ? SL_SNAP_PLAYERS : 0, NULL, NULL);
    body = snap != NULL ? sl_api_streams_json(snap, players) : NULL;
    sl_snapshot_free(snap);
    return send_json(c, MHD_HTTP_OK, body);
}

static enum MHD_Result
serve_history(struct sl_http *h, struct MHD_Connection *c)
{
    struct sl_history *hist = sl_stats_history(h->st);
    char              *body = hist != NULL ? sl_api_history_json(hist) : NULL;

    sl_history_free(hist);
    return send_json(c, MHD_HTTP_OK, body);
}

static enum MHD_Result
serve_reload(struct sl_http *h, struct MHD_Connection *c)
{
    char            err[512];
    int             refused;
    enum MHD_Result res = check_auth(c, &refused);

    if (refused)
        return res;
    if (h->reload(h->reload_ctx, err, sizeof(err)) < 0)
        return send_error(c, 422, "reload_failed", err, NULL);
    return send_json(c, MHD_HTTP_OK, sl_api_reloaded_json());
}

static enum MHD_Result
serve(struct sl_http *h, struct MHD_Connection *c, const char *url, int method)
{
    struct sl_api_route r;

    sl_api_route(url, strlen(url), &r);
    if (r.kind == SL_API_NOT_FOUND)
        return send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such path",
                          NULL);
    if (!(r.methods & method))
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                          "this path does not take that method",
                          sl_api_allow(r.methods));
    switch (r.kind) {
    case SL_API_BAD:
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request",
                          "app and stream names are printable ASCII "
                          "without spaces",
                          NULL);
    case SL_API_ASSET:
        return serve_asset(c, r.asset);
    case SL_API_HEALTHZ:
        return serve_healthz(h, c);
    case SL_API_METRICS:
        return serve_metrics(h, c);
    case SL_API_SERVER:
        return serve_server(h, c);
    case SL_API_STREAMS:
        return serve_streams(h, c);
    case SL_API_STREAM:
        return serve_stream(h, c, &r, method);
    case SL_API_HISTORY:
        return serve_history(h, c);
    case SL_API_RELOAD:
        return serve_reload(h, c);
    default:
        return send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such path",
                          NULL);
    }
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **req)
{
    struct sl_http *h = cls;
    int             m;

    (void) version;
    (void) upload;
    if (*req == NULL) {
        /* First call, headers only: answer now.  A body, if any, is
         * never read (MHD then closes the connection). */
        *req = h;
    } else {
        *upload_size = 0; /* a body we did not ask for: discarded */
        return MHD_YES;
    }
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
        m = SL_API_GET;
    else if (!strcmp(method, "POST"))
        m = SL_API_POST;
    else if (!strcmp(method, "DELETE"))
        m = SL_API_DELETE;
    else
        m = 0; /* 405 on a known path, 404 elsewhere */
    sl_log_debug("http: %s %s", method, url);
    return serve(h, c, url, m);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char   msg[256];
    size_t n;

    (void) cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    sl_log_warn("http: %s", msg);
}

int
sl_http_bind(const struct sl_config *cfg, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t               len;
    int                     fd, one = 1, zero = 0;

    memset(&ss, 0, sizeof(ss));
    if (cfg->http_host[0] == '\0' || strchr(cfg->http_host, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;

        a->sin6_family = AF_INET6;
        a->sin6_port = htons(cfg->http_port);
        a->sin6_addr = in6addr_any;
        if (cfg->http_host[0] != '\0' &&
            inet_pton(AF_INET6, cfg->http_host, &a->sin6_addr) != 1) {
            snprintf(err, errlen, "http: '%s' is not an IPv6 address",
                     cfg->http_host);
            return -1;
        }
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *) &ss;

        a->sin_family = AF_INET;
        a->sin_port = htons(cfg->http_port);
        if (inet_pton(AF_INET, cfg->http_host, &a->sin_addr) != 1) {
            snprintf(err, errlen, "http: '%s' is not an IPv4 address",
                     cfg->http_host);
            return -1;
        }
        len = sizeof(*a);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "http: socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* The wildcard takes IPv4 clients too. */
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, 64) < 0) {
        snprintf(err, errlen, "http: cannot listen on %s:%u: %s",
                 cfg->http_host[0] ? cfg->http_host : "*", cfg->http_port,
                 strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct sl_http *
sl_http_start(struct sl_server *srv, struct sl_stats *st,
              const struct sl_config *cfg, int listen_fd,
              sl_http_reload_fn reload, void *reload_ctx, char *err,
              size_t errlen)
{
    struct sl_http *h = calloc(1, sizeof(*h));
    unsigned        flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;

    if (h == NULL) {
        snprintf(err, errlen, "http: out of memory");
        return NULL;
    }
    if (listen_fd < 0)
        listen_fd = sl_http_bind(cfg, err, errlen);
    if (listen_fd < 0) {
        free(h);
        return NULL;
    }
    h->srv = srv;
    h->st = st;
    h->reload = reload;
    h->reload_ctx = reload_ctx;
    h->d = MHD_start_daemon(
        flags, cfg->http_port, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
        (MHD_socket) listen_fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned) cfg->http_max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned) ((cfg->http_timeout_ms + 999) / 1000),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONN_MEMORY,
        MHD_OPTION_END);
    if (h->d == NULL) {
        snprintf(err, errlen, "http: cannot serve on %s:%u",
                 cfg->http_host[0] ? cfg->http_host : "*", cfg->http_port);
        close(listen_fd);
        free(h);
        return NULL;
    }
    return h;
}

void
sl_http_draining(struct sl_http *h)
{
    if (h != NULL)
        atomic_store(&h->draining, 1);
}

void
sl_http_stop(struct sl_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
