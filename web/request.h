/*
 * HTTP/1.x request heads on the public web port (HTTP-FLV now, HLS and
 * the player page later).
 *
 * The bytes are parsed by the Node.js http_parser (Debian's
 * libhttp-parser-dev); this module drives it one request head at a time
 * and judges what it found: the request line and headers that the web
 * port acts on are copied into a struct sl_web_request, everything else
 * is checked for syntax and dropped.  Pure: bytes and state in, consumed
 * / -EAGAIN / -EPROTO out; no sockets, clocks, globals or logging, and
 * nothing allocated after sl_web_parser_new().  Any thread may use a
 * parser, one thread at a time (it belongs to one connection).
 *
 * What a request may be:
 * - HTTP/1.0 or HTTP/1.x (else 505); HTTP/1.1 needs exactly one Host
 *   header, any version at most one (else 400).
 * - The target is origin-form, "/path" with an optional "?query".  The
 *   absolute form ("http://host/path", meant for proxies), "*" and a
 *   fragment are 400.  The raw target is at most SL_WEB_MAX_TARGET - 1
 *   bytes, the decoded path and the raw query fit their fields (else
 *   414).
 * - The path is percent-decoded once, here, and must not be decoded
 *   again: "%252e" becomes the literal "%2e", which is harmless.  400
 *   for a '%' without two hex digits, an encoded '/' ("%2f": it would
 *   move a segment boundary), and any decoded path holding "..", "//",
 *   '\\', a NUL or another control byte, or a "." segment ("/./",
 *   trailing "/.").  So whatever the encoding, no path that reaches the
 *   caller can climb out of a directory or hide a second slash.
 * - No body: Content-Length above 0 is 413, Transfer-Encoding of any
 *   value 501 (our GET, HEAD and OPTIONS take none; refusing it also
 *   closes the door on request smuggling).
 * - Strict framing, where the lenient http_parser that Debian builds
 *   (HTTP_PARSER_STRICT=0) would guess: a CR not followed by LF, a line
 *   that starts with a space or a tab (obs-fold) and a space in a header
 *   name are 400 (RFC 9112 2.2, 5.2, 5.1).  Bare LF line ends are fine.
 * - The whole head, leading empty lines included, is at most
 *   SL_WEB_MAX_HEAD bytes (else 431, or 414 when the target alone is
 *   already too long); an Origin, Range or If-None-Match value longer
 *   than its field in struct sl_web_request is 431.  Two of any of those
 *   three headers is 400.
 * - A method http_parser does not know ("FOO", "get") is 501; one it
 *   knows that we do not serve (POST, PUT, ...) parses as SL_WEB_OTHER
 *   and the caller answers 405.
 *
 * The status of a bad request does not depend on how its bytes were
 * split across calls: http_parser's syntax errors come at fixed byte
 * offsets, and this module's own verdicts on the URL and the headers are
 * taken when the head is complete.
 */
#ifndef SL_WEB_REQUEST_H
#define SL_WEB_REQUEST_H

#include <stddef.h>
#include <stdint.h>

/* Request line and headers; a longer head is 431. */
#define SL_WEB_MAX_HEAD (16 * 1024)
/* The raw request target ("/path?query"), NUL included: a longer one is
 * 414.  A target that needs more cannot fit the fields below anyway. */
#define SL_WEB_MAX_TARGET 2048

enum sl_web_method {
    SL_WEB_GET = 1,
    SL_WEB_HEAD,
    SL_WEB_OPTIONS,
    SL_WEB_OTHER /* a method http_parser knows and we do not serve: 405 */
};

/* One request head, as sl_web_parse() returns it.  Every string is
 * NUL-terminated. */
struct sl_web_request {
    enum sl_web_method method;
    int                http_minor; /* 1.x: x as sent (0 or 1 in practice) */
    /* The client will send another request after this one: 1.1 unless
     * "Connection: close", 1.0 only with "Connection: keep-alive". */
    int keep_alive;
    /* Percent-decoded, without the query, starting with '/', free of
     * "..", "//", '\\' and control bytes (see above).  It may hold any
     * other byte, those of UTF-8 names included. */
    char path[1024];
    char query[1024];        /* raw (still encoded), without '?'; "" if none */
    char origin[256];        /* Origin header, "" when none (CORS) */
    char range[128];         /* Range header, "" when none */
    char if_none_match[128]; /* If-None-Match header, "" when none */
};

/* The state of one connection's requests.  Opaque: it holds
 * http_parser's state, the raw target and the header values seen so far
 * (under 5 KiB), so the header needs not include http_parser.h. */
struct sl_web_parser;

/* A parser ready for a connection's first request; NULL when out of
 * memory.  The caller owns it and frees it with sl_web_parser_free(). */
struct sl_web_parser *sl_web_parser_new(void);

/* NULL is fine. */
void sl_web_parser_free(struct sl_web_parser *p);

/* Forgets the head under way (and a past error): the next byte starts a
 * new request.  Not needed between requests: sl_web_parse() does it
 * itself after each complete head. */
void sl_web_parser_reset(struct sl_web_parser *p);

/* Feeds buf[0..n).  Returns:
 * - > 0: the bytes consumed up to and including the end of ONE request
 *   head; *req is filled.  Bytes after it (a pipelined request) are not
 *   consumed: the caller feeds them again when it is ready for the next
 *   request.  The parser is then already waiting for that request.
 * - -EAGAIN: all n bytes were consumed and the head is not complete
 *   (n == 0 included); *req is untouched.
 * - -EPROTO: the request is refused; *status is the HTTP status to
 *   answer before closing (400, 413, 414, 431, 501 or 505, as above).
 *   The error sticks: every later call returns it again until a reset.
 * The caller's buffer is only read, and only buf[0..n); req may differ
 * from call to call. */
int sl_web_parse(struct sl_web_parser *p, const uint8_t *buf, size_t n,
                 struct sl_web_request *req, int *status);

/* After -EPROTO: what was wrong, for the log ("a path that climbs or
 * repeats a directory", "HTTP/1.1 without Host", ...): a constant
 * string that quotes nothing of the request. */
const char *sl_web_parse_why(const struct sl_web_parser *p);

/* A Range header (the request's range field) against an object of
 * total bytes, as RFC 9110 14 reads it: one range of bytes, "bytes=A-B",
 * "bytes=A-" or "bytes=-N" (the last N).  Returns 1 with
 * [*first, *last] (inclusive, B clipped to the end) for a satisfiable
 * one; 0 when the whole object is to be sent (no Range, a unit other
 * than bytes, a malformed value, several ranges: RFC 9110 lets a server
 * ignore what it does not serve); -1 when the range cannot be
 * satisfied (A past the end, "bytes=-0", an empty object): a 416. */
int sl_web_range(const char *range, uint64_t total, uint64_t *first,
                 uint64_t *last);

#endif
