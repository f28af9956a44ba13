#include "record/flvw.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "rtmp/rd.h"

void
sl_flvw_file_header(uint8_t out[SL_FLVW_FILE_HDR], int audio, int video)
{
    struct sl_wr w;

    sl_wr_init(&w, out, SL_FLVW_FILE_HDR);
    sl_wr_bytes(&w, "FLV", 3);
    sl_wr_u8(&w, 1); /* version */
    sl_wr_u8(&w, (uint8_t) ((audio ? 4 : 0) | (video ? 1 : 0)));
    sl_wr_u32(&w, 9); /* header size */
    sl_wr_u32(&w, 0); /* PreviousTagSize0 */
}

void
sl_flvw_tag_header(uint8_t out[SL_FLVW_TAG_HDR], uint8_t type, uint32_t len,
                   uint32_t ts)
{
    struct sl_wr w;

    sl_wr_init(&w, out, SL_FLVW_TAG_HDR);
    sl_wr_u8(&w, type);
    sl_wr_u24(&w, len);
    sl_wr_u24(&w, ts & 0xffffff);
    sl_wr_u8(&w, (uint8_t) (ts >> 24)); /* TimestampExtended */
    sl_wr_u24(&w, 0);                   /* StreamID */
}

void
sl_flvw_tag_trailer(uint8_t out[SL_FLVW_TAG_TAIL], uint32_t len)
{
    struct sl_wr w;

    sl_wr_init(&w, out, SL_FLVW_TAG_TAIL);
    sl_wr_u32(&w, SL_FLVW_TAG_HDR + len);
}

int
sl_flvw_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n > 0) {
        ssize_t k = write(fd, b, n);

        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EIO; /* never for a regular file; no endless loop */
        b += k;
        n -= (size_t) k;
    }
    return 0;
}

int
sl_flvw_write_tag(int fd, uint8_t type, uint32_t ts, const uint8_t *body,
                  uint32_t len)
{
    uint8_t      hdr[SL_FLVW_TAG_HDR], tail[SL_FLVW_TAG_TAIL];
    struct iovec iov[3];
    int          i = 0;

    if (len > SL_FLVW_MAX_BODY)
        return -EMSGSIZE;
    sl_flvw_tag_header(hdr, type, len, ts);
    sl_flvw_tag_trailer(tail, len);
    iov[0] = (struct iovec){hdr, sizeof(hdr)};
    iov[1] = (struct iovec){(void *) body, len};
    iov[2] = (struct iovec){tail, sizeof(tail)};
    while (i < 3) {
        ssize_t k = writev(fd, iov + i, 3 - i);

        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EIO;
        /* A short write (a signal, or the disk filling up): move past
         * what went out and try the rest, which then reports why. */
        while (i < 3 && (size_t) k >= iov[i].iov_len) {
            k -= (ssize_t) iov[i].iov_len;
            i++;
        }
        if (i < 3) {
            iov[i].iov_base = (uint8_t *) iov[i].iov_base + k;
            iov[i].iov_len -= (size_t) k;
        }
    }
    return 0;
}
