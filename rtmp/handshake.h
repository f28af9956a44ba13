/*
 * The server side of the RTMP handshake, as a pure state machine: it
 * takes the client's bytes and produces the reply bytes, with no socket,
 * clock or global state, so it can be fed byte by byte and fuzzed.
 *
 * Two forms are answered:
 * - plain (the original one): S1 is our time + zeros + random bytes and
 *   S2 echoes C1;
 * - digest ("complex", Flash Player 9+, sent by librtmp/OBS, rtmpdump,
 *   GStreamer's rtmpsrc): C1 carries an HMAC-SHA256 digest at an offset
 *   given by one of two schemes; we answer with S1 carrying our own
 *   digest in the same scheme and S2 signed with a key derived from the
 *   client's digest, which such clients verify.
 * A C1 whose digest does not validate under either scheme is treated as
 * plain.  C0 must be 3 (plain RTMP); anything else (RTMPE's 6, garbage,
 * an HTTP request) is -EPROTO.
 */
#ifndef SL_HANDSHAKE_H
#define SL_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#define SL_HANDSHAKE_SIZE 1536  /* bytes in C1, C2, S1, S2 */

struct sl_handshake;

enum sl_handshake_kind {
    SL_HANDSHAKE_UNKNOWN = 0,  /* C1 not complete yet */
    SL_HANDSHAKE_PLAIN,
    SL_HANDSHAKE_DIGEST
};

/* A server handshake.  seed gives the bytes from which S1's random part
 * is derived (the caller takes them from getrandom()), keeping this
 * module free of hidden entropy sources.  NULL when out of memory.  The
 * caller owns the result and frees it with sl_handshake_free(). */
struct sl_handshake *sl_handshake_new(const uint8_t seed[32]);
void sl_handshake_free(struct sl_handshake *hs);

/* Consumes client bytes (C0, C1, C2, in any split).  Returns the number
 * of bytes consumed: fewer than len only when the handshake completed and
 * the rest belongs to the chunk stream.  -EPROTO when C0 is not 3. */
int sl_handshake_consume(struct sl_handshake *hs, const uint8_t *in,
                         size_t len);

/* S0+S1+S2 (1 + 2 * 1536 bytes) once C0 and C1 have arrived, else NULL.
 * The bytes stay owned by hs. */
const uint8_t *sl_handshake_reply(const struct sl_handshake *hs,
                                  size_t *len);

/* 1 once C2 has been consumed, else 0. */
int sl_handshake_done(const struct sl_handshake *hs);

enum sl_handshake_kind sl_handshake_kind(const struct sl_handshake *hs);

/* Client side, for the bench tool and the tests: C0+C1 (1537 bytes) of a
 * plain handshake into out, and C2 for a received S0+S1 (it echoes S1). */
void sl_handshake_client_c0c1(uint8_t out[1 + SL_HANDSHAKE_SIZE]);
void sl_handshake_client_c2(const uint8_t s0s1[1 + SL_HANDSHAKE_SIZE],
                            uint8_t out[SL_HANDSHAKE_SIZE]);

#endif
