#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/query.h"

/* Decodes a copy of s in a buffer of exactly its length, so ASan reports
 * any read past the end. */
static int
decode_exact(const char *s, char *out, size_t cap)
{
    size_t len = strlen(s);
    char  *copy = malloc(len ? len : 1);
    int    rc;

    memcpy(copy, s, len);
    rc = sl_query_decode(copy, len, out, cap);
    free(copy);
    return rc;
}

static void
test_decode(void)
{
    char out[64];

    CU_ASSERT_EQUAL(decode_exact("a+b%20c", out, sizeof(out)), 5);
    CU_ASSERT_STRING_EQUAL(out, "a b c");
    CU_ASSERT_EQUAL(decode_exact("%2b%2B%3d%26", out, sizeof(out)), 4);
    CU_ASSERT_STRING_EQUAL(out, "++=&");
    /* Broken escapes stay as they are, also at the very end. */
    CU_ASSERT_EQUAL(decode_exact("%zz%4%", out, sizeof(out)), 6);
    CU_ASSERT_STRING_EQUAL(out, "%zz%4%");
    CU_ASSERT_EQUAL(decode_exact("%4g", out, sizeof(out)), 3);
    CU_ASSERT_STRING_EQUAL(out, "%4g");
    /* A NUL decodes like any byte; the length tells it. */
    CU_ASSERT_EQUAL(decode_exact("a%00b", out, sizeof(out)), 3);
    CU_ASSERT_EQUAL(memcmp(out, "a\0b", 4), 0);
    CU_ASSERT_EQUAL(decode_exact("%ff", out, sizeof(out)), 1);
    CU_ASSERT_EQUAL((unsigned char) out[0], 0xff);
    CU_ASSERT_EQUAL(decode_exact("", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
}

static void
test_decode_bounds(void)
{
    char out[8];

    /* Exactly fits: 7 bytes and the NUL. */
    CU_ASSERT_EQUAL(decode_exact("%41bcdefg", out, 8), 7);
    CU_ASSERT_STRING_EQUAL(out, "Abcdefg");
    /* One more: truncated, terminated, and said so. */
    memset(out, 'x', sizeof(out));
    CU_ASSERT_EQUAL(decode_exact("abcdefgh", out, 8), -ENOSPC);
    CU_ASSERT_STRING_EQUAL(out, "abcdefg");
    CU_ASSERT_EQUAL(decode_exact("a", out, 1), -ENOSPC);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(decode_exact("", out, 1), 0);
    CU_ASSERT_EQUAL(sl_query_decode("", 0, out, 0), -ENOSPC);
}

struct want {
    const char *key;
    const char *val;
};

/* Iterates q (an exact-size copy) and compares the raw pairs to want. */
static void
check_pairs(const char *q, const struct want *want, int n)
{
    size_t               len = strlen(q);
    char                *copy = malloc(len ? len : 1);
    struct sl_query_iter it;
    struct sl_query_pair p;
    int                  i = 0;

    memcpy(copy, q, len);
    sl_query_iter_init(&it, copy, len);
    while (sl_query_next(&it, &p)) {
        CU_ASSERT_FATAL(i < n);
        CU_ASSERT_EQUAL(p.key_len, strlen(want[i].key));
        CU_ASSERT_EQUAL(memcmp(p.key, want[i].key, p.key_len), 0);
        CU_ASSERT_EQUAL(p.val_len, strlen(want[i].val));
        CU_ASSERT_EQUAL(memcmp(p.val, want[i].val, p.val_len), 0);
        i++;
    }
    CU_ASSERT_EQUAL(i, n);
    CU_ASSERT_EQUAL(sl_query_next(&it, &p), 0); /* stays at the end */
    free(copy);
}

static void
test_iterate(void)
{
    const struct want a[] = {{"k", "v"},   {"sig", "a%2Bb"}, {"e", ""},
                             {"flag", ""}, {"x", "1=2"},     {"", "v"}};
    const struct want b[] = {{"a", "1"}};

    check_pairs("k=v&sig=a%2Bb&e=&flag&&x=1=2&=v&", a, 6);
    check_pairs("?a=1", b, 1);
    check_pairs("", NULL, 0);
    check_pairs("&&&", NULL, 0);
    check_pairs("?", NULL, 0);
}

static void
test_get(void)
{
    char out[16];

    CU_ASSERT_EQUAL(sl_query_get("a=1&key=s%2Bt&key=2", "key", out, 16), 3);
    CU_ASSERT_STRING_EQUAL(out, "s+t");
    /* Keys compare decoded. */
    CU_ASSERT_EQUAL(sl_query_get("my%20k=x", "my k", out, 16), 1);
    CU_ASSERT_STRING_EQUAL(out, "x");
    CU_ASSERT_EQUAL(sl_query_get("my+k=y", "my k", out, 16), 1);
    CU_ASSERT_EQUAL(sl_query_get("flag&b=2", "flag", out, 16), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    /* No prefix or suffix matches. */
    CU_ASSERT_EQUAL(sl_query_get("keyx=1&ke=2", "key", out, 16), -ENOENT);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(sl_query_get("", "key", out, 16), -ENOENT);
    CU_ASSERT_EQUAL(sl_query_get("k=0123456789abcdef", "k", out, 16), -ENOSPC);
    CU_ASSERT_STRING_EQUAL(out, "0123456789abcde");
}

/* Every split of a query gives pairs that never leave the split: what
 * the parser reads is bounded by the length it is told. */
static void
test_every_prefix(void)
{
    const char *q = "key=va%41lue&b=%zz&c+d=e%2";
    size_t      len = strlen(q);

    for (size_t n = 0; n <= len; n++) {
        char                *copy = malloc(n ? n : 1);
        struct sl_query_iter it;
        struct sl_query_pair p;
        char                 out[64];

        memcpy(copy, q, n);
        sl_query_iter_init(&it, copy, n);
        while (sl_query_next(&it, &p)) {
            CU_ASSERT(p.key >= copy && p.key + p.key_len <= copy + n);
            CU_ASSERT(p.val >= copy && p.val + p.val_len <= copy + n);
            CU_ASSERT(sl_query_decode(p.key, p.key_len, out, 64) >= 0);
            CU_ASSERT(sl_query_decode(p.val, p.val_len, out, 64) >= 0);
        }
        free(copy);
    }
}

static void
test_scrub_utf8(void)
{
    char ok[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xa5 plain";
    char bad[] = "a\xff"
                 "b\xc0\xaf"
                 "c\xed\xa0\x80"
                 "d\xf4\x90\x80\x80"
                 "e\xe2\x82";

    CU_ASSERT_EQUAL(sl_query_scrub_utf8(ok, strlen(ok)), 0);
    CU_ASSERT_STRING_EQUAL(ok, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xa5 "
                               "plain");
    /* A stray byte, an overlong '/', a surrogate, a code point above
     * U+10FFFF and a sequence cut short: every byte of each replaced. */
    CU_ASSERT_EQUAL(sl_query_scrub_utf8(bad, strlen(bad)), 12);
    CU_ASSERT_STRING_EQUAL(bad, "a?b??c???d????e??");
}

void
sl_test_suite_query(void)
{
    CU_pSuite s = CU_add_suite("query", NULL, NULL);

    CU_add_test(s, "decode: + and %XX, broken escapes kept", test_decode);
    CU_add_test(s, "decode: exact fit, truncation reported",
                test_decode_bounds);
    CU_add_test(s, "iterate: empty pairs skipped, no '=' is empty",
                test_iterate);
    CU_add_test(s, "get: decoded key, first wins, bounds", test_get);
    CU_add_test(s, "every prefix stays in bounds", test_every_prefix);
    CU_add_test(s, "scrub UTF-8: valid kept, each bad byte replaced",
                test_scrub_utf8);
}
