/*
 * The HTTP API's pure half: the router and the renderers.  They take
 * copies (struct sl_snapshot, struct sl_history) and return new strings,
 * touch no server state and no socket, so they are unit-tested and
 * fuzzed on their own.  server/http.c is the libmicrohttpd glue around
 * them.  The JSON shapes are documented in docs/api.md.
 */
#ifndef SL_API_H
#define SL_API_H

#include <stddef.h>

#include "server/config.h"
#include "server/stats.h"

enum sl_api_kind {
    SL_API_NOT_FOUND = 0, /* no such path */
    SL_API_BAD,           /* a path we know with an unusable name */
    SL_API_ASSET,         /* a dashboard file: asset names it */
    SL_API_HEALTHZ,       /* /healthz */
    SL_API_METRICS,       /* /metrics */
    SL_API_SERVER,        /* /api/v1/server */
    SL_API_STREAMS,       /* /api/v1/streams */
    SL_API_STREAM,        /* /api/v1/streams/{app}/{name} */
    SL_API_HISTORY,       /* /api/v1/history */
    SL_API_RELOAD         /* /api/v1/reload */
};

/* Methods a route accepts (a bit set). */
#define SL_API_GET 1
#define SL_API_POST 2
#define SL_API_DELETE 4

struct sl_api_route {
    enum sl_api_kind kind;
    int              methods; /* SL_API_* accepted on this path */
    const char      *asset;   /* SL_API_ASSET: file name, static */
    char             app[SL_NAME_MAX];
    char             name[SL_NAME_MAX];
};

/* Routes a decoded request path of len bytes (any bytes: it comes from
 * the peer; NULs included).  Stream paths are /api/v1/streams/APP/NAME
 * where APP is one segment and NAME the rest (stream names may hold '/'),
 * both printable ASCII without spaces.  Fills r; returns r->kind. */
enum sl_api_kind sl_api_route(const char *path, size_t len,
                              struct sl_api_route *r);

/* The "Allow" header value for a method set ("GET, HEAD"). */
const char *sl_api_allow(int methods);

/* Renderers.  Each returns a new NUL-terminated string the caller frees
 * with free(), or NULL when out of memory. */
char *sl_api_server_json(const struct sl_snapshot *s);
/* with_players: each stream carries its "player_list". */
char *sl_api_streams_json(const struct sl_snapshot *s, int with_players);
char *sl_api_stream_json(const struct sl_snap_stream *st, int with_players);
char *sl_api_history_json(const struct sl_history *h);
/* {"app": app, "name": name, "dropped": true} */
char *sl_api_dropped_json(const char *app, const char *name);
/* {"reloaded": true} */
char *sl_api_reloaded_json(void);
/* {"error": code, "message": message} */
char *sl_api_error_json(const char *code, const char *message);
/* Prometheus text exposition format 0.0.4; *len gets its length. */
char *sl_api_metrics(const struct sl_snapshot *s, size_t *len);

/* 1 when the Authorization header value auth is "Bearer TOKEN" with
 * TOKEN equal to token.  The comparison takes the same time wherever
 * the two differ (both are hashed, the digests compared with
 * CRYPTO_memcmp), so the time reveals nothing about the token. */
int sl_api_token_ok(const char *auth, const char *token);

#endif
