/*
 * What the web port writes back: response heads, reason phrases, MIME
 * types by extension, short error bodies, and the split of a stream URL
 * path into app and name.
 *
 * Pure and allocation-free like request.h: every function writes into
 * the caller's buffer and returns a length or -errno, so any thread may
 * call them and the fuzzer can drive them.
 */
#ifndef SL_WEB_RESPONSE_H
#define SL_WEB_RESPONSE_H

#include <stddef.h>

/* A response head.  Every string is the caller's, NUL-terminated, and
 * goes into the head as it is; one holding a CR, an LF or another
 * control byte (a tab excepted) is refused, so an echoed Origin can never
 * add a header line of its own. */
struct sl_web_response {
    int         status;         /* 100..599 */
    const char *content_type;   /* NULL: none */
    long long   content_length; /* -1: none (a stream ended by close) */
    const char *cache_control;  /* NULL: none */
    /* NULL: no CORS headers.  Else Access-Control-Allow-Origin: it, plus
     * "Vary: Origin" when it is not "*" (a cache must not give one
     * origin's answer to another). */
    const char *allow_origin;
    int         keep_alive; /* Connection: keep-alive, or close when 0 */
    const char *allow;      /* the Allow header (405, OPTIONS); NULL: none */
    /* More complete header lines, each ending in "\r\n", or NULL.  Every
     * CR must start a "\r\n" that ends a non-empty line. */
    const char *extra;
};

/* Writes "HTTP/1.1 STATUS REASON", Server: sluice/SL_VERSION, the
 * headers r asks for (Content-Type, Content-Length, Cache-Control, the
 * CORS pair, Allow, Connection, then extra) and the blank line into
 * out[0..cap), NUL-terminated.  Returns the head's length (without the
 * NUL), -ENOSPC when it does not fit (out then holds no usable head), or
 * -EINVAL for a status outside 100..599, a string with a control byte or
 * a malformed extra. */
int sl_web_response_head(char *out, size_t cap,
                         const struct sl_web_response *r);

/* The reason phrase of status ("OK", "Not Found"); "Unknown" for a
 * status this server never sends.  A static string. */
const char *sl_web_reason(int status);

/* The MIME type for path's extension (compared without regard to case):
 * .flv video/x-flv, .m3u8 application/vnd.apple.mpegurl, .m4s
 * video/iso.segment, .mp4 video/mp4, .ts video/mp2t, .js text/javascript,
 * .html text/html; charset=utf-8, .css text/css, .json application/json,
 * .svg image/svg+xml, .ico image/x-icon, .png image/png; anything else,
 * NULL included, application/octet-stream.  A static string. */
const char *sl_web_mime(const char *path);

/* A short text/plain error body: "404 Not Found\n", or with what (NULL:
 * none) "404 Not Found: what\n".  Control bytes of what become '?' so the
 * body stays one line.  Returns its length, NUL-terminated in out, or
 * -ENOSPC when it does not fit cap. */
int sl_web_error_body(char *out, size_t cap, int status, const char *what);

/* Splits a stream path "/APP/NAME<ext>" (ext with its dot: ".flv") into
 * app and name, NUL-terminated.  Exactly two segments; each 1 to
 * SL_NAME_MAX - 1 bytes (and less than its cap) of letters, digits, '_',
 * '-' and '.', and neither "." nor "..".  The extension is compared
 * exactly.  0, or -EINVAL for any other path (app and name are then ""
 * when their cap allows). */
int sl_web_stream_path(const char *path, const char *ext, char *app,
                       size_t acap, char *name, size_t ncap);

/* Splits "/APP/STREAM/FILE" (an HLS variant's playlist or object)
 * into its three parts, each checked as sl_web_stream_path checks a
 * name.  0, or -EINVAL. */
int sl_web_object_path(const char *path, char *app, size_t acap, char *stream,
                       size_t scap, char *file, size_t fcap);

#endif
