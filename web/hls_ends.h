/*
 * The end of HLS viewers.  An HLS viewer has no connection of its own
 * (it is the id its master playlist put in its URLs, hls/viewers.h), so
 * its end is its silence: no playlist request for [web]
 * hls_viewer_timeout, or its stream ended (EXT-X-ENDLIST).  A thread of
 * its own asks the packager once a second for the viewers that ended
 * and sends each one's on_done, exactly once, with the fields an RTMP
 * or HTTP-FLV player's carries (app, name, address, the id of the
 * connection that asked for the master playlist, its path).  The
 * callback client never blocks a submit, and the packager's locks are
 * let go before it is called, so nothing here waits on a pool worker
 * or holds one up.
 */
#ifndef SL_WEB_HLS_ENDS_H
#define SL_WEB_HLS_ENDS_H

struct sl_server;
struct sl_hls_ends;

/* Starts the thread for srv (srv->hls and srv->callbacks set).  NULL,
 * logged, when it cannot start; NULL without a log when srv has no
 * packager. */
struct sl_hls_ends *sl_hls_ends_start(struct sl_server *srv);

/* Ends the viewers left (their on_done sent as at any end), then stops
 * and joins the thread.  Call after the sessions are gone and before
 * the callback client and the packager are freed.  NULL: nothing. */
void sl_hls_ends_stop(struct sl_hls_ends *e);

#endif
