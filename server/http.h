/*
 * The HTTP server: the JSON API, /metrics, /healthz and the dashboard,
 * served by libmicrohttpd on a thread of its own (MHD's internal polling
 * thread).  Requests read the server through sl_stats snapshots, so they
 * never hold a hub or stream lock while rendering; the number of
 * connections, their memory and their idle time are bounded, so a slow
 * or flooding client costs at most that one thread's time, never a pool
 * worker's.
 *
 * Control calls (DELETE a stream, POST reload) need
 * "Authorization: Bearer <[http] api_token>"; with no token configured
 * they are refused.  The token is read from the current config at each
 * request, so a reload changes it at once.
 */
#ifndef SL_HTTP_H
#define SL_HTTP_H

#include <stddef.h>

#include "server/config.h"
#include "server/server.h"
#include "server/stats.h"

struct sl_http;

/* Reloads the config; 0, or -1 with the reason in err.  Runs on the
 * HTTP thread; main() provides it. */
typedef int (*sl_http_reload_fn)(void *ctx, char *err, size_t errlen);

/* A listening socket on cfg's [http] address (the supervisor opens it
 * once and every serving process inherits it).  -1 with the reason in
 * err. */
int sl_http_bind(const struct sl_config *cfg, char *err, size_t errlen);

/* Serves on listen_fd (taken over: closed when the server stops), or on
 * a socket of its own for cfg's [http] address when it is -1.  NULL on
 * failure with the reason in err.  Call from the main thread with the
 * signals blocked that the HTTP thread must not take. */
struct sl_http *sl_http_start(struct sl_server *srv, struct sl_stats *st,
                              const struct sl_config *cfg, int listen_fd,
                              sl_http_reload_fn reload, void *reload_ctx,
                              char *err, size_t errlen);

/* From now on /healthz answers 503: the server is stopping. */
void sl_http_draining(struct sl_http *h);

/* Stops listening, waits for the thread, frees h.  NULL is a no-op. */
void sl_http_stop(struct sl_http *h);

#endif
