/*
 * Handshake tests.  The digest checks here recompute every HMAC with
 * their own code from the protocol's definition rather than calling into
 * the module, so a mistake shared by both sides cannot pass unnoticed
 * (the end-to-end check against rtmpdump and FFmpeg backs this up).
 * Input is fed whole, byte by byte and at every split point, from a
 * buffer that ends right before an unreadable page, so any over-read
 * faults.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rtmp/handshake.h"

#define SIG        SL_HANDSHAKE_SIZE
#define C0C1_LEN   (1 + SIG)
#define ALL_LEN    (1 + 2 * SIG)   /* C0 C1 C2, and S0 S1 S2 */

#define KEY_TAIL                                                        \
    0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0,   \
    0xd1, 0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80,   \
    0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae

static const uint8_t fp_key[62] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ',
    'F', 'l', 'a', 's', 'h', ' ', 'P', 'l', 'a', 'y', 'e', 'r', ' ',
    '0', '0', '1', KEY_TAIL
};

static const uint8_t fms_key[68] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ',
    'F', 'l', 'a', 's', 'h', ' ', 'M', 'e', 'd', 'i', 'a', ' ',
    'S', 'e', 'r', 'v', 'e', 'r', ' ', '0', '0', '1', KEY_TAIL
};

static const uint8_t seed_a[32] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t seed_b[32] = {8, 7, 6, 5, 4, 3, 2, 1};

/* A guarded copy: the bytes end exactly at a PROT_NONE page. */
struct guarded {
    uint8_t *map;
    size_t   maplen;
    uint8_t *p;
};

static int
guard(struct guarded *g, const uint8_t *src, size_t n)
{
    size_t pg = (size_t) sysconf(_SC_PAGESIZE);
    size_t data_pages = (n + pg - 1) / pg;

    g->maplen = (data_pages + 1) * pg;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED)
        return -errno;
    if (mprotect(g->map + data_pages * pg, pg, PROT_NONE) != 0) {
        munmap(g->map, g->maplen);
        return -errno;
    }
    g->p = g->map + data_pages * pg - n;
    memcpy(g->p, src, n);
    return 0;
}

static void
unguard(struct guarded *g)
{
    munmap(g->map, g->maplen);
}

/* Deterministic filler so every run sees the same bytes. */
static void
fill(uint8_t *p, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t) (x >> 16);
    }
}

static size_t
offset_for(const uint8_t *sig, int scheme)
{
    size_t b = scheme == 0 ? 8 : 772;

    return b + 4 + ((size_t) sig[b] + sig[b + 1] + sig[b + 2] +
                    sig[b + 3]) % 728;
}

/* HMAC-SHA256 over the 1536 bytes minus the 32 at off. */
static void
hmac_around(const uint8_t *sig, size_t off, const uint8_t *key,
            int keylen, uint8_t out[32])
{
    uint8_t      msg[SIG - 32];
    unsigned int len = 0;

    memcpy(msg, sig, off);
    memcpy(msg + off, sig + off + 32, SIG - off - 32);
    HMAC(EVP_sha256(), key, keylen, msg, sizeof(msg), out, &len);
    CU_ASSERT_EQUAL(len, 32);
}

/* A client digest C0 C1 C2 as librtmp builds it (Flash Player 9.0.124.2
 * version), with the digest placed under scheme; returns the digest's
 * offset inside C1.  C2 is filler. */
static size_t
make_digest_c0c1c2(uint8_t out[ALL_LEN], int scheme, uint32_t x)
{
    uint8_t *c1 = out + 1;
    size_t   off;

    fill(out, ALL_LEN, x);
    out[0] = 3;
    memset(c1, 0, 4);
    c1[4] = 0x80;
    c1[5] = 0x00;
    c1[6] = 0x07;
    c1[7] = 0x02;
    off = offset_for(c1, scheme);
    hmac_around(c1, off, fp_key, 30, c1 + off);
    return off;
}

static void
make_plain_c0c1c2(uint8_t out[ALL_LEN], uint32_t x)
{
    fill(out, ALL_LEN, x);
    out[0] = 3;
    memset(out + 1, 0, 8);
}

/* Feeds in[0..n) in pieces of at most step bytes; returns the total
 * consumed, or the first negative result. */
static int
feed(struct sl_handshake *hs, const uint8_t *in, size_t n, size_t step)
{
    size_t total = 0;

    while (total < n) {
        size_t k = n - total < step ? n - total : step;
        int    r = sl_handshake_consume(hs, in + total, k);

        if (r < 0)
            return r;
        total += (size_t) r;
        if ((size_t) r < k)
            break;
    }
    return (int) total;
}

static void
check_plain_reply(const struct sl_handshake *hs, const uint8_t *c1)
{
    size_t         len = 0;
    const uint8_t *s = sl_handshake_reply(hs, &len);
    static const uint8_t zero[4];

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(len, ALL_LEN);
    CU_ASSERT_EQUAL(s[0], 3);
    CU_ASSERT_EQUAL(memcmp(s + 1 + 4, zero, 4), 0);
    CU_ASSERT_EQUAL(memcmp(s + 1 + SIG, c1, SIG), 0);
    CU_ASSERT_EQUAL(sl_handshake_kind(hs), SL_HANDSHAKE_PLAIN);
}

static void
test_plain_whole(void)
{
    static uint8_t       in[ALL_LEN];
    struct guarded       g;
    struct sl_handshake *hs = sl_handshake_new(seed_a);

    CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
    CU_ASSERT_PTR_NULL(sl_handshake_reply(hs, NULL));
    CU_ASSERT_EQUAL(sl_handshake_kind(hs), SL_HANDSHAKE_UNKNOWN);
    make_plain_c0c1c2(in, 1);
    CU_ASSERT_EQUAL_FATAL(guard(&g, in, ALL_LEN), 0);
    CU_ASSERT_EQUAL(sl_handshake_consume(hs, g.p, ALL_LEN), ALL_LEN);
    CU_ASSERT(sl_handshake_done(hs));
    check_plain_reply(hs, in + 1);
    /* Done: nothing more is ours. */
    CU_ASSERT_EQUAL(sl_handshake_consume(hs, g.p, 5), 0);
    unguard(&g);
    sl_handshake_free(hs);
}

static void
test_plain_byte_by_byte(void)
{
    static uint8_t       in[ALL_LEN];
    struct guarded       g;
    struct sl_handshake *hs = sl_handshake_new(seed_a);

    CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
    make_plain_c0c1c2(in, 2);
    CU_ASSERT_EQUAL_FATAL(guard(&g, in, ALL_LEN), 0);
    for (size_t i = 0; i < ALL_LEN; i++) {
        /* Each byte from its own guarded position: the last byte of the
         * mapping is read alone, so reading one past it would fault. */
        uint8_t *b = g.p + ALL_LEN - 1;

        *b = in[i];
        CU_ASSERT_EQUAL_FATAL(sl_handshake_consume(hs, b, 1), 1);
        CU_ASSERT_EQUAL(sl_handshake_reply(hs, NULL) != NULL,
                        i + 1 >= C0C1_LEN);
        CU_ASSERT_EQUAL(sl_handshake_kind(hs) != SL_HANDSHAKE_UNKNOWN,
                        i + 1 >= C0C1_LEN);
        CU_ASSERT_EQUAL(sl_handshake_done(hs), i + 1 == ALL_LEN);
    }
    check_plain_reply(hs, in + 1);
    unguard(&g);
    sl_handshake_free(hs);
}

/* Every split of C0C1 into two calls, then C2 whole. */
static void
test_plain_every_split(void)
{
    static uint8_t in[ALL_LEN];
    struct guarded g;

    make_plain_c0c1c2(in, 3);
    CU_ASSERT_EQUAL_FATAL(guard(&g, in, ALL_LEN), 0);
    for (size_t i = 0; i <= C0C1_LEN; i++) {
        struct sl_handshake *hs = sl_handshake_new(seed_a);

        CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
        CU_ASSERT_EQUAL(sl_handshake_consume(hs, g.p, i), (int) i);
        CU_ASSERT_EQUAL(sl_handshake_reply(hs, NULL) != NULL,
                        i == C0C1_LEN);
        CU_ASSERT_EQUAL(sl_handshake_consume(hs, g.p + i, C0C1_LEN - i),
                        (int) (C0C1_LEN - i));
        CU_ASSERT_FALSE(sl_handshake_done(hs));
        check_plain_reply(hs, in + 1);
        CU_ASSERT_EQUAL(sl_handshake_consume(hs, g.p + C0C1_LEN, SIG),
                        SIG);
        CU_ASSERT(sl_handshake_done(hs));
        sl_handshake_free(hs);
    }
    unguard(&g);
}

/* Every split of the whole C0C1C2 into two calls. */
static void
test_plain_every_split_all(void)
{
    static uint8_t in[ALL_LEN];

    make_plain_c0c1c2(in, 4);
    for (size_t i = 0; i <= ALL_LEN; i++) {
        struct sl_handshake *hs = sl_handshake_new(seed_a);

        CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
        CU_ASSERT_EQUAL(sl_handshake_consume(hs, in, i), (int) i);
        CU_ASSERT_EQUAL(sl_handshake_consume(hs, in + i, ALL_LEN - i),
                        (int) (ALL_LEN - i));
        CU_ASSERT(sl_handshake_done(hs));
        sl_handshake_free(hs);
    }
}

static void
test_bad_c0(void)
{
    static const char   *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    uint8_t              six[C0C1_LEN];
    struct sl_handshake *hs = sl_handshake_new(seed_a);

    CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
    fill(six, sizeof(six), 5);
    six[0] = 6;  /* RTMPE */
    CU_ASSERT_EQUAL(sl_handshake_consume(hs, six, sizeof(six)), -EPROTO);
    CU_ASSERT_PTR_NULL(sl_handshake_reply(hs, NULL));
    CU_ASSERT_FALSE(sl_handshake_done(hs));
    /* The failure sticks, even for bytes that would look valid. */
    six[0] = 3;
    CU_ASSERT_EQUAL(sl_handshake_consume(hs, six, sizeof(six)), -EPROTO);
    sl_handshake_free(hs);

    hs = sl_handshake_new(seed_a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
    CU_ASSERT_EQUAL(sl_handshake_consume(hs, (const uint8_t *) http,
                                         strlen(http)), -EPROTO);
    sl_handshake_free(hs);

    /* Refused on the very first byte, without waiting for C1. */
    hs = sl_handshake_new(seed_a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
    CU_ASSERT_EQUAL(sl_handshake_consume(hs, (const uint8_t *) "G", 1),
                    -EPROTO);
    sl_handshake_free(hs);
}

static void
test_empty_input(void)
{
    struct sl_handshake *hs = sl_handshake_new(seed_a);

    CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
    CU_ASSERT_EQUAL(sl_handshake_consume(hs, NULL, 0), 0);
    CU_ASSERT_EQUAL(sl_handshake_kind(hs), SL_HANDSHAKE_UNKNOWN);
    sl_handshake_free(hs);
}

/* The checks a librtmp or FFmpeg client makes on a digest reply. */
static void
check_digest_reply(const struct sl_handshake *hs, const uint8_t *c1,
                   size_t coff, int scheme)
{
    size_t         len = 0;
    const uint8_t *s = sl_handshake_reply(hs, &len);
    const uint8_t *s1, *s2;
    uint8_t        d[32], key[32], sig[32];
    unsigned int   n = 0;
    size_t         soff;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(len, ALL_LEN);
    CU_ASSERT_EQUAL(sl_handshake_kind(hs), SL_HANDSHAKE_DIGEST);
    CU_ASSERT_EQUAL(s[0], 3);
    s1 = s + 1;
    s2 = s1 + SIG;
    /* A nonzero version; FFmpeg wants its first byte >= 3. */
    CU_ASSERT(s1[4] >= 3);

    soff = offset_for(s1, scheme);
    hmac_around(s1, soff, fms_key, 36, d);
    CU_ASSERT_EQUAL(memcmp(d, s1 + soff, 32), 0);

    HMAC(EVP_sha256(), fms_key, sizeof(fms_key), c1 + coff, 32, key, &n);
    CU_ASSERT_EQUAL(n, 32);
    HMAC(EVP_sha256(), key, 32, s2, SIG - 32, sig, &n);
    CU_ASSERT_EQUAL(n, 32);
    CU_ASSERT_EQUAL(memcmp(sig, s2 + SIG - 32, 32), 0);
}

static void
digest_scheme(int scheme)
{
    static uint8_t in[ALL_LEN];
    size_t         coff;
    struct guarded g;

    /* Several fillers so the digest lands at different offsets. */
    for (uint32_t x = 10; x < 20; x++) {
        struct sl_handshake *hs = sl_handshake_new(seed_a);

        CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
        coff = make_digest_c0c1c2(in, scheme, x);
        CU_ASSERT_EQUAL_FATAL(guard(&g, in, ALL_LEN), 0);
        CU_ASSERT_EQUAL(sl_handshake_consume(hs, g.p, ALL_LEN), ALL_LEN);
        CU_ASSERT(sl_handshake_done(hs));
        check_digest_reply(hs, in + 1, coff, scheme);
        unguard(&g);
        sl_handshake_free(hs);
    }
}

static void
test_digest_scheme0(void)
{
    digest_scheme(0);
}

static void
test_digest_scheme1(void)
{
    digest_scheme(1);
}

/* A digest C1 fed at every split point of C0C1 and byte by byte still
 * gets a digest answer. */
static void
test_digest_every_split(void)
{
    static uint8_t in[ALL_LEN];
    size_t         coff = make_digest_c0c1c2(in, 1, 21);

    for (size_t i = 0; i <= C0C1_LEN; i += 7) {
        struct sl_handshake *hs = sl_handshake_new(seed_b);

        CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
        CU_ASSERT_EQUAL(sl_handshake_consume(hs, in, i), (int) i);
        CU_ASSERT_EQUAL(feed(hs, in + i, ALL_LEN - i, ALL_LEN),
                        (int) (ALL_LEN - i));
        CU_ASSERT(sl_handshake_done(hs));
        check_digest_reply(hs, in + 1, coff, 1);
        sl_handshake_free(hs);
    }
    {
        struct sl_handshake *hs = sl_handshake_new(seed_b);

        CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
        CU_ASSERT_EQUAL(feed(hs, in, ALL_LEN, 1), ALL_LEN);
        CU_ASSERT(sl_handshake_done(hs));
        check_digest_reply(hs, in + 1, coff, 1);
        sl_handshake_free(hs);
    }
}

/* A flipped bit in the digest, or in the bytes it covers, makes the C1
 * plain: S2 then echoes it. */
static void
test_corrupt_digest_is_plain(void)
{
    static uint8_t in[ALL_LEN];

    for (int scheme = 0; scheme < 2; scheme++) {
        for (int where = 0; where < 2; where++) {
            struct sl_handshake *hs = sl_handshake_new(seed_a);
            size_t               coff = make_digest_c0c1c2(in, scheme, 30);

            CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
            if (where == 0)
                in[1 + coff + 31] ^= 0x01;
            else
                in[1 + 1535] ^= 0x80;
            CU_ASSERT_EQUAL(sl_handshake_consume(hs, in, ALL_LEN),
                            ALL_LEN);
            check_plain_reply(hs, in + 1);
            sl_handshake_free(hs);
        }
    }
}

/* A valid digest but a zero version field is answered plain (the
 * version is what announces the digest form). */
static void
test_zero_version_is_plain(void)
{
    static uint8_t       in[ALL_LEN];
    struct sl_handshake *hs = sl_handshake_new(seed_a);
    size_t               coff;

    CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
    fill(in, ALL_LEN, 40);
    in[0] = 3;
    memset(in + 1, 0, 8);
    coff = offset_for(in + 1, 0);
    hmac_around(in + 1, coff, fp_key, 30, in + 1 + coff);
    CU_ASSERT_EQUAL(sl_handshake_consume(hs, in, ALL_LEN), ALL_LEN);
    check_plain_reply(hs, in + 1);
    sl_handshake_free(hs);
}

/* The chunk stream's first bytes, arriving with C2, are left to the
 * caller, whatever the split. */
static void
test_bytes_after_c2(void)
{
    static uint8_t in[ALL_LEN + 16];

    make_digest_c0c1c2(in, 0, 50);
    memcpy(in + ALL_LEN, "\x03\x00\x00\x00chunkstream!", 16);
    for (size_t i = 0; i <= ALL_LEN; i += 97) {
        struct sl_handshake *hs = sl_handshake_new(seed_a);

        CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
        CU_ASSERT_EQUAL(sl_handshake_consume(hs, in, i), (int) i);
        CU_ASSERT_EQUAL(sl_handshake_consume(hs, in + i,
                                             sizeof(in) - i),
                        (int) (ALL_LEN - i));
        CU_ASSERT(sl_handshake_done(hs));
        CU_ASSERT_EQUAL(sl_handshake_consume(hs, in + ALL_LEN, 16), 0);
        sl_handshake_free(hs);
    }
}

/* The reply depends on the seed and nothing else. */
static void
test_seed_determines_reply(void)
{
    static uint8_t       in[ALL_LEN];
    static uint8_t       r1[ALL_LEN];
    struct sl_handshake *a = sl_handshake_new(seed_a);
    struct sl_handshake *a2 = sl_handshake_new(seed_a);
    struct sl_handshake *b = sl_handshake_new(seed_b);

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    make_digest_c0c1c2(in, 0, 60);
    sl_handshake_consume(a, in, C0C1_LEN);
    sl_handshake_consume(a2, in, C0C1_LEN);
    sl_handshake_consume(b, in, C0C1_LEN);
    memcpy(r1, sl_handshake_reply(a, NULL), ALL_LEN);
    CU_ASSERT_EQUAL(memcmp(r1, sl_handshake_reply(a2, NULL), ALL_LEN), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(r1, sl_handshake_reply(b, NULL), ALL_LEN),
                        0);
    sl_handshake_free(a);
    sl_handshake_free(a2);
    sl_handshake_free(b);
}

/* The client helpers complete a handshake against the server. */
static void
test_client_helpers(void)
{
    uint8_t              c0c1[C0C1_LEN], c2[SIG];
    const uint8_t       *s;
    struct sl_handshake *hs = sl_handshake_new(seed_b);

    CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
    sl_handshake_client_c0c1(c0c1);
    CU_ASSERT_EQUAL(c0c1[0], 3);
    CU_ASSERT_EQUAL(sl_handshake_consume(hs, c0c1, C0C1_LEN), C0C1_LEN);
    check_plain_reply(hs, c0c1 + 1);
    s = sl_handshake_reply(hs, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    sl_handshake_client_c2(s, c2);
    CU_ASSERT_EQUAL(memcmp(c2, s + 1, SIG), 0);
    CU_ASSERT_EQUAL(sl_handshake_consume(hs, c2, SIG), SIG);
    CU_ASSERT(sl_handshake_done(hs));
    sl_handshake_free(hs);
}

void
sl_test_suite_handshake(void)
{
    CU_pSuite s = CU_add_suite("handshake", NULL, NULL);

    CU_add_test(s, "plain whole", test_plain_whole);
    CU_add_test(s, "plain byte by byte", test_plain_byte_by_byte);
    CU_add_test(s, "plain every split of C0C1", test_plain_every_split);
    CU_add_test(s, "plain every split of C0C1C2",
                test_plain_every_split_all);
    CU_add_test(s, "bad C0 is EPROTO", test_bad_c0);
    CU_add_test(s, "empty input", test_empty_input);
    CU_add_test(s, "digest scheme 0", test_digest_scheme0);
    CU_add_test(s, "digest scheme 1", test_digest_scheme1);
    CU_add_test(s, "digest every split", test_digest_every_split);
    CU_add_test(s, "corrupt digest is plain", test_corrupt_digest_is_plain);
    CU_add_test(s, "zero version is plain", test_zero_version_is_plain);
    CU_add_test(s, "bytes after C2 not consumed", test_bytes_after_c2);
    CU_add_test(s, "seed determines reply", test_seed_determines_reply);
    CU_add_test(s, "client helpers", test_client_helpers);
}
