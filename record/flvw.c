#include "record/flvw.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "rtmp/flv.h"

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
    uint8_t      hdr[SL_FLV_TAG_HDR], tail[SL_FLV_TAG_TAIL];
    struct iovec iov[3];
    int          i = 0;

    if (len > SL_FLV_MAX_BODY)
        return -EMSGSIZE;
    sl_flv_tag_header(hdr, type, len, ts);
    sl_flv_tag_trailer(tail, len);
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
