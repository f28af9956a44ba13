/*
 * Query strings ("k=v&k2=v2") of publish/play names and tcUrls.
 *
 * Pure and allocation-free: every function takes the bytes and the
 * caller's buffers, so any thread may call it and the fuzzer can drive it
 * (tests/fuzz/server/fuzz_query.c).  The input is untrusted client bytes of any
 * value; nothing here reads past the length it is given.
 *
 * Syntax, as form decoders (Python's parse_qs, PHP, Go's url.ParseQuery)
 * read it, so a backend that parses the same URL itself sees the same
 * values:
 * - pairs are separated by '&'; empty pairs ("a&&b") are skipped;
 * - a pair without '=' has the empty value ("flag" -> "flag" = "");
 * - '+' decodes to a space and "%XX" (hex, either case) to that byte;
 *   a '%' not followed by two hex digits stays as it is;
 * - one leading '?' is skipped.
 * A decoded value may contain any byte, NUL included; the decoders return
 * its length.
 */
#ifndef SL_QUERY_H
#define SL_QUERY_H

#include <stddef.h>

/* One pair as it appears in the query: still encoded, pointing into it. */
struct sl_query_pair {
    const char *key;
    size_t      key_len;
    const char *val; /* after the '=', or an empty span when there is none */
    size_t      val_len;
};

/* Iterator over the pairs of a query; holds no copy of it. */
struct sl_query_iter {
    const char *p;
    const char *end;
};

void sl_query_iter_init(struct sl_query_iter *it, const char *query,
                        size_t len);

/* The next non-empty pair into *pair: 1, or 0 when there is none left. */
int sl_query_next(struct sl_query_iter *it, struct sl_query_pair *pair);

/* Decodes in[0..len) into out (cap bytes, NUL-terminated when cap > 0).
 * Returns the decoded length (never more than len), or -ENOSPC when it
 * needs more than cap - 1 bytes (or cap is 0): out then holds the
 * truncated prefix.  -EOVERFLOW when len exceeds INT_MAX. */
int sl_query_decode(const char *in, size_t len, char *out, size_t cap);

/* The decoded value of the first pair whose decoded key equals key (a C
 * string), into out as sl_query_decode() writes it.  Its length, -ENOENT
 * when no pair has that key (out is then ""), or -ENOSPC. */
int sl_query_get(const char *query, const char *key, char *out, size_t cap);

/* Replaces, in place, every byte of s[0..len) that is not part of a valid
 * UTF-8 sequence (overlong forms, surrogates and code points above
 * U+10FFFF included) with '?', so the text can go into JSON.  Returns the
 * number of bytes replaced. */
size_t sl_query_scrub_utf8(char *s, size_t len);

#endif
