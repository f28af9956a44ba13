/*
 * SRT stream ids: what a caller asks for, parsed from the string it sets
 * as SRTO_STREAMID (at most 512 bytes), before the handshake completes.
 *
 * Forms accepted:
 *  - the SRT Access Control form: "#!::" then comma-separated key=value
 *    pairs.  r = the resource "APP/NAME", optionally followed by
 *    "?query" (a stream key, a signed URL's parameters); m = "request"
 *    (play, the default) or "publish" ("bidirectional" is refused);
 *    u = user name; s = session id; h = host (SRS's form: when there is
 *    no r, an h holding a '/' is the resource); t = "stream" (the
 *    default; "file" and "auth" are refused).  Other keys are ignored;
 *    a key given twice is refused.  A value is everything after the
 *    first '=' up to the next ',' (so a query's own '=' and '&' pass).
 *  - MediaMTX's short forms: "publish:APP/NAME[?query]" and
 *    "read:APP/NAME[?query]", optionally followed by ":USER:PASS"
 *    (the user is kept, the password dropped).
 *  - a bare "APP/NAME[?query]": a request (play).
 *
 * The resource: leading and trailing '/' are trimmed, APP is what comes
 * before the first '/', NAME the rest (it may hold '/'); both non-empty,
 * printable ASCII without spaces (0x21..0x7e), shorter than SL_NAME_MAX,
 * as RTMP names are.  The query is kept as written (no percent
 * decoding), shorter than SL_QUERY_MAX.
 *
 * Pure: no allocation, no globals, any thread.  Untrusted bytes: any
 * input is valid, nothing is read past len (the id need not end in a
 * NUL).
 */
#ifndef SL_SRT_STREAMID_H
#define SL_SRT_STREAMID_H

#include <stddef.h>

#include "rtmp/rtmp.h"

enum sl_srt_mode {
    SL_SRT_REQUEST = 0, /* play ("m=request", "read:") */
    SL_SRT_PUBLISH      /* publish ("m=publish", "publish:") */
};

struct sl_srt_streamid {
    enum sl_srt_mode mode;
    char             app[SL_NAME_MAX];
    char             name[SL_NAME_MAX];
    char             query[SL_QUERY_MAX]; /* "" when none */
    char             user[SL_NAME_MAX];   /* u=, or the short form's; "" */
};

/* Parses id[0..len) into *out: 0, or -1 with *why set to a short static
 * reason fit for a log line and for the client ("no stream id", "no
 * resource (r=APP/NAME)", "mode bidirectional is not supported", "key
 * r given twice", "bad resource", ...).  It never quotes the id. */
int sl_srt_streamid_parse(const char *id, size_t len,
                          struct sl_srt_streamid *out, const char **why);

#endif
