#include "rtmp/query.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The byte that in[*i] starts, advancing *i past its encoding.  The one
 * place the decoding rules live, shared by decode and key comparison. */
static unsigned char
decode_byte(const char *in, size_t len, size_t *i)
{
    unsigned char c = (unsigned char) in[*i];

    if (c == '+') {
        (*i)++;
        return ' ';
    }
    if (c == '%' && len - *i >= 3) {
        int hi = hexval((unsigned char) in[*i + 1]);
        int lo = hexval((unsigned char) in[*i + 2]);

        if (hi >= 0 && lo >= 0) {
            *i += 3;
            return (unsigned char) (hi << 4 | lo);
        }
    }
    (*i)++;
    return c;
}

void
sl_query_iter_init(struct sl_query_iter *it, const char *query, size_t len)
{
    it->p = query;
    it->end = query + len;
    if (len > 0 && *query == '?')
        it->p++;
}

int
sl_query_next(struct sl_query_iter *it, struct sl_query_pair *pair)
{
    while (it->p < it->end) {
        const char *s = it->p;
        const char *amp = memchr(s, '&', (size_t) (it->end - s));
        const char *e = amp ? amp : it->end;
        const char *eq;

        it->p = amp ? amp + 1 : it->end;
        if (e == s)
            continue;
        eq = memchr(s, '=', (size_t) (e - s));
        pair->key = s;
        pair->key_len = (size_t) ((eq ? eq : e) - s);
        pair->val = eq ? eq + 1 : e;
        pair->val_len = (size_t) (e - pair->val);
        return 1;
    }
    return 0;
}

int
sl_query_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t i = 0, n = 0;

    if (cap == 0)
        return -ENOSPC;
    out[0] = '\0';
    if (len > INT_MAX)
        return -EOVERFLOW;
    while (i < len) {
        unsigned char c = decode_byte(in, len, &i);

        if (n + 1 >= cap) {
            out[n] = '\0';
            return -ENOSPC;
        }
        out[n++] = (char) c;
    }
    out[n] = '\0';
    return (int) n;
}

/* 1 when raw[0..len) decodes to exactly key. */
static int
decoded_equals(const char *raw, size_t len, const char *key)
{
    size_t i = 0, k = 0;

    while (i < len) {
        if (key[k] == '\0' ||
            decode_byte(raw, len, &i) != (unsigned char) key[k])
            return 0;
        k++;
    }
    return key[k] == '\0';
}

int
sl_query_get(const char *query, const char *key, char *out, size_t cap)
{
    struct sl_query_iter it;
    struct sl_query_pair p;

    sl_query_iter_init(&it, query, strlen(query));
    while (sl_query_next(&it, &p)) {
        if (decoded_equals(p.key, p.key_len, key))
            return sl_query_decode(p.val, p.val_len, out, cap);
    }
    if (cap > 0)
        out[0] = '\0';
    return -ENOENT;
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0 when none starts
 * there.  The ranges are RFC 3629's table: they exclude overlong forms,
 * the UTF-16 surrogates and anything above U+10FFFF. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t        n;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    /* Only the second byte has a narrower range. */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return n;
}

size_t
sl_query_scrub_utf8(char *s, size_t len)
{
    unsigned char *u = (unsigned char *) s;
    size_t         i = 0, bad = 0;

    while (i < len) {
        size_t n = utf8_seq(u + i, len - i);

        if (n == 0) {
            u[i++] = '?';
            bad++;
        } else {
            i += n;
        }
    }
    return bad;
}
