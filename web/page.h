/*
 * The player page on the web port: which paths are the page's, the
 * embedded file each one serves (server/assets.h), and /streams.json,
 * the live streams a viewer may pick.  http_conn.c routes a request
 * here and writes the answer; this file decides what it is.
 *
 * The page's paths:
 *   /                  index.html: the list of live streams
 *   /play/APP/NAME     index.html again; its script opens that player
 *   /assets/FILE       the page's files (web/www/) and the libraries,
 *                      whose names carry their versions
 *   /streams.json      the list (sl_web_page_streams)
 * They come before the media routes, so an app named "play" or "assets"
 * cannot be reached on the web port (docs/config.md).
 *
 * Any thread: the files are read-only data and the list is built from
 * the hub and the config the caller holds.
 */
#ifndef SL_WEB_PAGE_H
#define SL_WEB_PAGE_H

#include <sys/socket.h>

#include "pool/buf.h"
#include "server/assets.h"

struct sl_hub;
struct sl_config;

enum sl_page_kind {
    SL_PAGE_FILE,   /* an embedded file */
    SL_PAGE_STREAMS /* /streams.json */
};

struct sl_page_obj {
    enum sl_page_kind      kind;
    const struct sl_asset *file;  /* SL_PAGE_FILE: static, never freed */
    const char            *cache; /* its Cache-Control, static */
};

/* 1 when path (decoded, as web/request.h gives it) is one of the page's
 * paths above, whether or not anything is there; 0 for any other. */
int sl_web_page_owns(const char *path);

/* What the page's path serves into *out: 0, or -ENOENT when there is
 * nothing (an unknown file, a malformed /play/ path): a 404. */
int sl_web_page_find(const char *path, struct sl_page_obj *out);

/* /streams.json as a new buffer (the caller's reference), or NULL when
 * out of memory:
 *   {"streams": [{"app": "live", "name": "cam", "hls": true,
 *                 "page": "/play/live/cam",
 *                 "urls": {"hls": "/live/cam.m3u8",
 *                          "flv": "/live/cam.flv"}}, ...]}
 * Sorted by app, then name.  Lists each stream being published (its
 * renditions are not listed: the master playlist offers them) in an app
 * of cfg, with a name the web port can serve, that a viewer at addr may
 * pick: one the app's rules do not refuse for a play without a query
 * (a signed-only app is not listed; one whose on_play callback decides
 * is).  "hls" and urls.hls only when the app has hls on and hls_on (the
 * packager runs).  At most SL_PAGE_MAX_STREAMS streams. */
#define SL_PAGE_MAX_STREAMS 1000
struct sl_buf *sl_web_page_streams(struct sl_hub          *hub,
                                   const struct sl_config *cfg, int hls_on,
                                   const struct sockaddr_storage *addr);

#endif
