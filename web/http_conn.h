/*
 * The protocol of the public web port (sessions of kind SL_SESSION_HTTP
 * and SL_SESSION_HTTPS): HTTP/1.1 requests parsed by web/request.h,
 * routed, authorized like RTMP plays (auth.h), and answered; a request
 * for /APP/NAME.flv becomes an HTTP-FLV player, a hub subscriber whose
 * bytes are FLV tags made once per stream and shared (hub.h, sub.flv),
 * with the same merge window, lag skipping and slow-reader drop as an
 * RTMP player, because the session writes both the same way.  Requests
 * for /APP/NAME.m3u8 and /APP/STREAM/FILE are LL-HLS, answered from the
 * packager's memory (hls/hls.h); a blocking playlist reload or a hinted
 * part that is not cut yet parks the request (conn.held) until the
 * packager's waiter fires or the hold ends.
 *
 * Requests may be pipelined and connections kept alive between them;
 * an FLV stream ends the connection's requests (its response lasts until
 * the stream or the connection ends).  Every answer that is not media
 * carries a short text body; bad requests get their status and the
 * connection closes.  Deadlines: a request head must be complete within
 * request_timeout (slowloris), an idle kept-alive connection closes
 * after keepalive_timeout.
 *
 * Runs on the session's task, one run at a time (proto.h).
 */
#ifndef SL_WEB_HTTP_CONN_H
#define SL_WEB_HTTP_CONN_H

#include "server/proto.h"

extern const struct sl_proto sl_web_proto;

#endif
