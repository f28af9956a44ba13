/*
 * RTMP handshake, server side.  See handshake.h for the contract.
 *
 * The client sends C0 (1 byte) and C1 (1536 bytes); we buffer both, then
 * build S0+S1+S2 in one go so the caller can write them with one send.
 * C2 is counted but not looked at: several clients (old encoders, some
 * hardware boxes) send bytes there that match neither form, and nothing
 * we do later depends on it.
 *
 * The digest form in a few lines, since it is documented nowhere
 * official.  A 1536-byte C1/S1 is split into an 8-byte header (time,
 * version) and two 764-byte blocks.  One block carries a 4-byte offset
 * field followed by 728 bytes in which a 32-byte HMAC-SHA256 digest sits
 * at (sum of the 4 offset bytes) % 728.  Scheme 0 puts that block first
 * (offset bytes at 8..11, digest from 12), scheme 1 second (offset bytes
 * at 772..775, digest from 776).  The digest covers the other 1504 bytes.
 * The client keys it with the first 30 bytes of the Flash Player key,
 * the server with the first 36 bytes of the Flash Media Server key; S2's
 * last 32 bytes are an HMAC keyed with HMAC(full FMS key, C1's digest),
 * which proves to the client that the server saw its C1.
 */
#include "rtmp/handshake.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rd.h"

#define DIGEST_LEN   32
#define DIGEST_SPAN  728   /* positions a digest may start at, per block */
#define MSG_LEN      (SL_HANDSHAKE_SIZE - DIGEST_LEN)   /* 1504 */
#define C0C1_LEN     (1 + SL_HANDSHAKE_SIZE)
#define REPLY_LEN    (1 + 2 * SL_HANDSHAKE_SIZE)
#define RTMP_VERSION 3

/* The version we put in a digest S1.  Clients only test it for being
 * nonzero (librtmp) or its first byte for being >= 3 (FFmpeg). */
#define SERVER_VERSION 0x04050001u

/* The 32 constant bytes shared by both keys below. */
#define KEY_TAIL                                                        \
    0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0,   \
    0xd1, 0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80,   \
    0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae

/* "Genuine Adobe Flash Player 001" + tail; a client's C1 digest uses
 * the first 30 bytes (the text alone). */
static const uint8_t fp_key[62] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ',
    'F', 'l', 'a', 's', 'h', ' ', 'P', 'l', 'a', 'y', 'e', 'r', ' ',
    '0', '0', '1', KEY_TAIL
};
#define FP_KEY_SHORT 30

/* "Genuine Adobe Flash Media Server 001" + tail; S1's digest uses the
 * first 36 bytes, the S2 signature key derivation all 68. */
static const uint8_t fms_key[68] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ',
    'F', 'l', 'a', 's', 'h', ' ', 'M', 'e', 'd', 'i', 'a', ' ',
    'S', 'e', 'r', 'v', 'e', 'r', ' ', '0', '0', '1', KEY_TAIL
};
#define FMS_KEY_SHORT 36

/* Where the handshake stands.  Bytes are consumed strictly in order. */
enum hs_state {
    HS_C0C1 = 0,  /* buffering C0 and C1; no reply yet */
    HS_C2,        /* reply built; counting C2's bytes */
    HS_DONE,      /* C2 consumed; further bytes are the chunk stream's */
    HS_FAILED     /* C0 was not 3; every later call is -EPROTO */
};

struct sl_handshake {
    enum hs_state          state;
    enum sl_handshake_kind kind;
    size_t                 have;     /* bytes of C0+C1, then of C2 */
    uint64_t               rng[4];   /* xoshiro256** state from the seed */
    uint8_t                c0c1[C0C1_LEN];
    uint8_t                reply[REPLY_LEN];  /* S0 S1 S2 */
};

/*
 * Random bytes for S1 and S2.  They need only look random to the client
 * (nothing secret rests on them), so a small generator seeded by the
 * caller's 32 bytes is enough and keeps the module deterministic.
 */
static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t v, int k)
{
    return (v << k) | (v >> (64 - k));
}

static uint64_t
rng_next(uint64_t s[4])
{
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Seeds through splitmix64 so that an all-zero seed still gives a
 * nonzero xoshiro state (an all-zero state would only ever yield 0). */
static void
rng_seed(uint64_t s[4], const uint8_t seed[32])
{
    uint64_t x = 0;

    for (int i = 0; i < 4; i++) {
        uint64_t w = 0;

        for (int j = 0; j < 8; j++)
            w = (w << 8) | seed[8 * i + j];
        x ^= w;
        s[i] = splitmix64(&x);
    }
}

static void
rng_fill(uint64_t s[4], uint8_t *p, size_t n)
{
    while (n > 0) {
        uint64_t v = rng_next(s);
        size_t   k = n < 8 ? n : 8;

        memcpy(p, &v, k);
        p += k;
        n -= k;
    }
}

/* Offset of the digest in a 1536-byte C1/S1 under scheme 0 or 1.  The
 * result is at most 776 + 727, so the digest always lies inside. */
static size_t
digest_offset(const uint8_t *sig, int scheme)
{
    size_t        base = scheme == 0 ? 8 : 772;
    struct sl_rd  r;
    unsigned      sum = 0;

    sl_rd_init(&r, sig + base, 4);
    for (int i = 0; i < 4; i++)
        sum += sl_rd_u8(&r);
    return base + 4 + sum % DIGEST_SPAN;
}

/* HMAC-SHA256 of sig's 1504 bytes around the digest at off. */
static int
digest_at(const uint8_t *sig, size_t off, const uint8_t *key,
          size_t keylen, uint8_t out[DIGEST_LEN])
{
    uint8_t      msg[MSG_LEN];
    unsigned int outlen = 0;

    memcpy(msg, sig, off);
    memcpy(msg + off, sig + off + DIGEST_LEN,
           SL_HANDSHAKE_SIZE - off - DIGEST_LEN);
    if (HMAC(EVP_sha256(), key, (int) keylen, msg, MSG_LEN, out,
             &outlen) == NULL || outlen != DIGEST_LEN)
        return -EIO;
    return 0;
}

/* The offset of a client digest valid under scheme 0 or, failing that,
 * scheme 1 (the order librtmp and FFmpeg clients make likely), or 0
 * when neither validates.  0 is never a digest offset, so it is a safe
 * "none". */
static size_t
find_client_digest(const uint8_t *c1, int *scheme)
{
    for (int s = 0; s < 2; s++) {
        size_t  off = digest_offset(c1, s);
        uint8_t d[DIGEST_LEN];

        if (digest_at(c1, off, fp_key, FP_KEY_SHORT, d) < 0)
            continue;
        /* Constant time, so a forger learns nothing from timing; cheap
         * insurance even though the digest guards little. */
        if (CRYPTO_memcmp(d, c1 + off, DIGEST_LEN) == 0) {
            *scheme = s;
            return off;
        }
    }
    return 0;
}

/* S1 = time 0, zeros, random; S2 = C1 echoed (time, time2, random). */
static void
build_plain(struct sl_handshake *hs)
{
    uint8_t     *s1 = hs->reply + 1;
    struct sl_wr w;

    /* Our "time" is 0: this module has no clock, and clients use S1's
     * time only as an epoch they echo back. */
    sl_wr_init(&w, s1, 8);
    sl_wr_u32(&w, 0);
    sl_wr_u32(&w, 0);
    rng_fill(hs->rng, s1 + 8, SL_HANDSHAKE_SIZE - 8);
    memcpy(s1 + SL_HANDSHAKE_SIZE, hs->c0c1 + 1, SL_HANDSHAKE_SIZE);
    hs->kind = SL_HANDSHAKE_PLAIN;
}

/* S1 with our digest in the client's scheme; S2 random with the
 * signature derived from the client's digest at coff.  -EIO only when
 * libcrypto fails, and then the caller answers plain instead. */
static int
build_digest(struct sl_handshake *hs, int scheme, size_t coff)
{
    uint8_t     *s1 = hs->reply + 1;
    uint8_t     *s2 = s1 + SL_HANDSHAKE_SIZE;
    uint8_t      key[DIGEST_LEN];
    unsigned int keylen = 0;
    size_t       soff;
    struct sl_wr w;

    sl_wr_init(&w, s1, 8);
    sl_wr_u32(&w, 0);               /* time */
    sl_wr_u32(&w, SERVER_VERSION);  /* version: marks the digest form */
    rng_fill(hs->rng, s1 + 8, SL_HANDSHAKE_SIZE - 8);
    /* The offset depends on the random bytes just written, so it is
     * computed after them, and the digest last of all. */
    soff = digest_offset(s1, scheme);
    if (digest_at(s1, soff, fms_key, FMS_KEY_SHORT, s1 + soff) < 0)
        return -EIO;

    rng_fill(hs->rng, s2, MSG_LEN);
    if (HMAC(EVP_sha256(), fms_key, (int) sizeof(fms_key),
             hs->c0c1 + 1 + coff, DIGEST_LEN, key, &keylen) == NULL ||
        keylen != DIGEST_LEN)
        return -EIO;
    keylen = 0;
    if (HMAC(EVP_sha256(), key, DIGEST_LEN, s2, MSG_LEN, s2 + MSG_LEN,
             &keylen) == NULL || keylen != DIGEST_LEN)
        return -EIO;
    hs->kind = SL_HANDSHAKE_DIGEST;
    return 0;
}

/* C0 and C1 are in: decide the form and build S0 S1 S2. */
static void
build_reply(struct sl_handshake *hs)
{
    const uint8_t *c1 = hs->c0c1 + 1;
    struct sl_rd   r;
    uint32_t       version;
    size_t         coff = 0;
    int            scheme = 0;

    hs->reply[0] = RTMP_VERSION;
    sl_rd_init(&r, c1 + 4, 4);
    version = sl_rd_u32(&r);
    /* A zero version announces the plain form; only a nonzero one is
     * worth two HMACs. */
    if (version != 0)
        coff = find_client_digest(c1, &scheme);
    if (coff == 0 || build_digest(hs, scheme, coff) < 0)
        build_plain(hs);
}

struct sl_handshake *
sl_handshake_new(const uint8_t seed[32])
{
    struct sl_handshake *hs = calloc(1, sizeof(*hs));

    if (hs == NULL)
        return NULL;
    hs->state = HS_C0C1;
    hs->kind = SL_HANDSHAKE_UNKNOWN;
    rng_seed(hs->rng, seed);
    return hs;
}

void
sl_handshake_free(struct sl_handshake *hs)
{
    free(hs);
}

int
sl_handshake_consume(struct sl_handshake *hs, const uint8_t *in,
                     size_t len)
{
    size_t used = 0;

    if (hs->state == HS_FAILED)
        return -EPROTO;
    if (hs->state == HS_C0C1 && len > 0) {
        size_t n = C0C1_LEN - hs->have;

        /* Judge C0 on its own byte, so that an HTTP request or an RTMPE
         * client is refused at once rather than after 1536 bytes. */
        if (hs->have == 0 && in[0] != RTMP_VERSION) {
            hs->state = HS_FAILED;
            return -EPROTO;
        }
        if (n > len)
            n = len;
        memcpy(hs->c0c1 + hs->have, in, n);
        hs->have += n;
        used += n;
        if (hs->have == C0C1_LEN) {
            build_reply(hs);
            hs->state = HS_C2;
            hs->have = 0;
        }
    }
    if (hs->state == HS_C2 && used < len) {
        size_t n = SL_HANDSHAKE_SIZE - hs->have;

        if (n > len - used)
            n = len - used;
        hs->have += n;
        used += n;
        if (hs->have == SL_HANDSHAKE_SIZE)
            hs->state = HS_DONE;
    }
    /* At most 1537 + 1536 bytes are ever taken, so this fits an int. */
    return (int) used;
}

const uint8_t *
sl_handshake_reply(const struct sl_handshake *hs, size_t *len)
{
    if (hs->state != HS_C2 && hs->state != HS_DONE)
        return NULL;
    if (len != NULL)
        *len = REPLY_LEN;
    return hs->reply;
}

int
sl_handshake_done(const struct sl_handshake *hs)
{
    return hs->state == HS_DONE;
}

enum sl_handshake_kind
sl_handshake_kind(const struct sl_handshake *hs)
{
    return hs->kind;
}

void
sl_handshake_client_c0c1(uint8_t out[1 + SL_HANDSHAKE_SIZE])
{
    /* A fixed seed: the bench and the tests want repeatable bytes, and a
     * plain C1 carries nothing that needs to be unpredictable. */
    static const uint8_t seed[32] = {'s', 'l', 'u', 'i', 'c', 'e'};
    uint64_t             s[4];
    struct sl_wr         w;

    rng_seed(s, seed);
    sl_wr_init(&w, out, 9);
    sl_wr_u8(&w, RTMP_VERSION);
    sl_wr_u32(&w, 0);  /* time */
    sl_wr_u32(&w, 0);  /* zero: the plain form */
    rng_fill(s, out + 9, SL_HANDSHAKE_SIZE - 8);
}

void
sl_handshake_client_c2(const uint8_t s0s1[1 + SL_HANDSHAKE_SIZE],
                       uint8_t out[SL_HANDSHAKE_SIZE])
{
    memcpy(out, s0s1 + 1, SL_HANDSHAKE_SIZE);
}
