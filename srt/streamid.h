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
 *    default; "file" and "auth" are refused, and so is any other
 *    value).  Other keys are ignored; a key given twice, known or not,
 *    is refused.  A value is everything after the first '=' up to the
 *    next ',' (so a query's own '=' and '&' pass, a ',' cannot).  Every
 *    element must be key=value with a non-empty key: an element without
 *    '=' or an empty one (",," or a trailing ',') is refused.  Keys and
 *    values are case-sensitive ("m=Publish" is a bad mode).  An id that
 *    starts with "#!" but not "#!::" is refused, not read as a name.
 *  - MediaMTX's short forms: "publish:APP/NAME[?query]" and
 *    "read:APP/NAME[?query]", optionally followed by ":USER:PASS"
 *    (the user is kept, the password dropped).  The resource ends at
 *    the first ':' (so a query there cannot hold one), USER at the
 *    next; the password is the rest.
 *  - a bare "APP/NAME[?query]": a request (play).
 *
 * The resource: the query starts at the first '?'.  Leading and
 * trailing '/' are trimmed, APP is what comes before the first '/', NAME
 * the rest after the run of '/' that follows APP (so NAME never starts
 * with '/', as an RTMP name whose leading '/' is trimmed; it may hold
 * '/' further on); both non-empty, printable ASCII without spaces
 * (0x21..0x7e), shorter than SL_NAME_MAX, as RTMP names are.  The query
 * is kept as written (no percent decoding), shorter than SL_QUERY_MAX,
 * without control bytes (below 0x20, 0x7f).  A user name follows the
 * rules of a name but may be empty.
 *
 * Pure: no allocation, no globals, any thread.  Untrusted bytes: any
 * input is valid, nothing is read past len (the id need not end in a
 * NUL).  Trailing NULs are dropped (SRT pads the id to 4-byte words);
 * a NUL before any other byte is refused, as is an id longer than 512
 * bytes once they are dropped.
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
 * r given twice", "bad resource", ...).  It never quotes the id.  On -1
 * *out is all zero (mode request, every string empty); *why is written
 * only on -1 and may be NULL.  out must not be NULL; id may be NULL
 * when len is 0. */
int sl_srt_streamid_parse(const char *id, size_t len,
                          struct sl_srt_streamid *out, const char **why);

#endif
