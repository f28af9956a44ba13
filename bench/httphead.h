/*
 * What the load generator's two HTTP readers (bench/flvread.c for
 * HTTP-FLV players, bench/hlsread.c for LL-HLS viewers) share to read a
 * complete response head: its status line, its header lines one by one,
 * and the reason a head is refused.  Pure, like them: bytes in, a
 * verdict out; no socket, clock or allocation.
 */
#ifndef SL_BENCH_HTTPHEAD_H
#define SL_BENCH_HTTPHEAD_H

#include <stddef.h>

/* Writes a reason into why (at most cap bytes, always terminated) and
 * returns -EPROTO.  The reason may quote the server's bytes, so anything
 * unprintable becomes '?'. */
__attribute__((format(printf, 3, 4))) int sl_bench_why(char *why, size_t cap,
                                                       const char *fmt, ...);

/* The CR of the next CRLF in [s, end), or NULL. */
const char *sl_bench_find_crlf(const char *s, const char *end);

/* The status line at s, in a head that ends at end: "HTTP/1.x NNN", then
 * a space and the reason, or the line's end.  Returns NNN (0..999) with
 * *eol at the line's CR, or -EPROTO ("malformed status line" in why). */
int sl_bench_http_status(const char *s, const char *end, const char **eol,
                         char *why, size_t cap);

/* A header line: its name is [name, colon), its value [value, eol) with
 * the white space after the colon skipped (not the white space at its
 * end); eol is the line's CR. */
struct sl_bench_http_field {
    const char *name, *colon, *value, *eol;
};

/* Reads the header line at *pos in a head that ends at end.  1 with *f
 * filled and *pos past the line; 0 at the blank line (or at end); -EPROTO
 * for a line without a colon ("malformed header line" in why). */
int sl_bench_http_field(const char **pos, const char *end,
                        struct sl_bench_http_field *f, char *why, size_t cap);

/* Whether f's name is `name`, in any case. */
int sl_bench_http_field_is(const struct sl_bench_http_field *f,
                           const char                       *name);

#endif
