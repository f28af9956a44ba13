/*
 * libFuzzer target for the query-string parser (rtmp/query.h): the
 * query of a publish/play name or tcUrl, chosen by any client and decoded
 * into the JSON of an HTTP callback.  For any bytes: every pair lies
 * inside the input; a value decodes to at most its raw length, NUL
 * terminated, and -ENOSPC comes exactly when it does not fit; a decoded
 * key read back with sl_query_get() finds a value; a scrubbed string is
 * valid UTF-8 (jansson, which refuses anything else, is the judge).  The
 * signed-URL check over such bytes is fuzzed with the authorization
 * verdicts (tests/fuzz/server/fuzz_auth.c).
 * Anything else is reported by abort().
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/query.h"

static void
check_decode(const char *raw, size_t len)
{
    char big[4096], small[8];
    int  n, m;

    if (len >= sizeof(big))
        return;
    n = sl_query_decode(raw, len, big, sizeof(big));
    if (n < 0 || (size_t) n > len || big[n] != '\0')
        abort();
    m = sl_query_decode(raw, len, small, sizeof(small));
    if ((n < (int) sizeof(small) && m != n) ||
        (n >= (int) sizeof(small) && m != -ENOSPC) ||
        memchr(small, '\0', sizeof(small)) == NULL ||
        memcmp(small, big, strlen(small)) != 0)
        abort();
    sl_query_scrub_utf8(big, (size_t) n);
    json_t *s = json_stringn(big, (size_t) n);
    if (s == NULL)
        abort();
    json_decref(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                *copy = malloc(size + 1);
    struct sl_query_iter it;
    struct sl_query_pair p;
    char                 key[256], val[256];

    /* An exact-size copy for the iterator (ASan reports any over-read);
     * the NUL after it is for sl_query_get(), which takes a C string. */
    memcpy(copy, data, size);
    copy[size] = '\0';
    sl_query_iter_init(&it, copy, size);
    while (sl_query_next(&it, &p)) {
        if (p.key < copy || p.key + p.key_len > copy + size || p.val < copy ||
            p.val + p.val_len > copy + size || memchr(p.key, '&', p.key_len) ||
            memchr(p.key, '=', p.key_len) || memchr(p.val, '&', p.val_len))
            abort();
        check_decode(p.key, p.key_len);
        check_decode(p.val, p.val_len);
        int kl = sl_query_decode(p.key, p.key_len, key, sizeof(key));
        /* A key without NUL bytes is found again (maybe an earlier pair
         * with the same decoded key: first wins). */
        if (kl > 0 && memchr(key, '\0', (size_t) kl) == NULL &&
            memchr(copy, '\0', size) == NULL &&
            sl_query_get(copy, key, val, sizeof(val)) == -ENOENT)
            abort();
    }
    free(copy);
    return 0;
}
