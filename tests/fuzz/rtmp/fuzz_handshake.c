/*
 * libFuzzer target for the server handshake.  The input's first byte
 * says how many of the following bytes are piece sizes (low 3 bits, 0 =
 * feed everything in one call); the rest is what the client sends, fed
 * in pieces of those sizes, cycled.  Besides "never crash", it checks the
 * contract's promises: bytes are left over only once the handshake is
 * done, the reply exists exactly once C0 and C1 are in, and a refused
 * handshake stays refused.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "rtmp/handshake.h"

/* A piece size from one byte: 1..128 byte by byte, then steps of 32 up
 * to 4096 so single calls can span C1 and C2. */
static size_t
piece_size(uint8_t b)
{
    return b < 128 ? (size_t) b + 1 : (size_t) (b - 127) * 32;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t seed[32] = {42};
    struct sl_handshake *hs;
    const uint8_t       *sizes;
    size_t               nsizes, off = 0, fed = 0, i = 0;

    if (size < 1)
        return 0;
    nsizes = data[0] & 7;
    if (size < 1 + nsizes)
        return 0;
    sizes = data + 1;
    data += 1 + nsizes;
    size -= 1 + nsizes;

    hs = sl_handshake_new(seed);
    if (hs == NULL)
        return 0;
    while (off < size) {
        size_t n = nsizes == 0 ? size - off : piece_size(sizes[i++ % nsizes]);
        size_t len;
        int    r;

        if (n > size - off)
            n = size - off;
        r = sl_handshake_consume(hs, data + off, n);
        if (r < 0) {
            if (r != -EPROTO || sl_handshake_reply(hs, NULL) != NULL ||
                sl_handshake_consume(hs, data, size) != -EPROTO)
                abort();
            break;
        }
        if ((size_t) r > n || ((size_t) r < n && !sl_handshake_done(hs)))
            abort();
        fed += (size_t) r;
        off += n;
        if ((sl_handshake_reply(hs, &len) != NULL) !=
            (fed >= 1 + SL_HANDSHAKE_SIZE))
            abort();
        if (fed >= 1 + SL_HANDSHAKE_SIZE &&
            (len != 1 + 2 * SL_HANDSHAKE_SIZE ||
             sl_handshake_kind(hs) == SL_HANDSHAKE_UNKNOWN))
            abort();
        if (sl_handshake_done(hs) != (fed == 1 + 2 * SL_HANDSHAKE_SIZE))
            abort();
    }
    sl_handshake_free(hs);
    return 0;
}
