/*
 * libFuzzer target for hls/playlist.h: the query of a playlist request,
 * chosen by any viewer, and the playlists rendered with what it carries.
 * Linked with hls/playlist.c alone, which proves the file pure.
 *
 * Input: a 32-byte header that shapes a small media playlist view (see
 * view_from), then the query.  For any bytes: the parser's result is 0 or
 * -EINVAL (never -ENOSPC when carry has room for the whole query), its
 * numbers are in range, and a smaller carry gives -ENOSPC with whole
 * parameters or the same answer; the carry is NUL-terminated, holds only
 * URI query characters, no empty parameter and no directive.  The media
 * and master playlists rendered with it fit a bound worked out from the
 * view, are NUL-terminated at the returned length, hold no control byte
 * but '\n', balance their quotes per line, declare version 9 exactly when
 * they carry EXT-X-SKIP, and give -1 without writing past cap for any
 * smaller cap.  Anything else is reported by abort().
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hls/playlist.h"

#define HEADER 32
#define MAX_SEGS 8

static int
is_query_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~!$&'()*+,;=:@/?%", c) != NULL);
}

static int
is_directive(const char *p, size_t n)
{
    static const char *names[] = {"_HLS_msn", "_HLS_part", "_HLS_skip"};

    for (size_t i = 0; i < 3; i++)
        if (n == strlen(names[i]) && memcmp(p, names[i], n) == 0)
            return 1;
    return 0;
}

/* Every carried parameter: not empty, a name that is not empty and not a
 * directive, only query characters. */
static void
check_carry(const char *carry, size_t cap)
{
    size_t len;

    if (memchr(carry, '\0', cap) == NULL)
        abort();
    len = strlen(carry);
    for (size_t i = 0; i < len; i++)
        if (!is_query_char((unsigned char) carry[i]))
            abort();
    for (size_t start = 0; len > 0 && start <= len;) {
        const char *amp = memchr(carry + start, '&', len - start);
        size_t      end = amp != NULL ? (size_t) (amp - carry) : len;
        const char *eq = memchr(carry + start, '=', end - start);
        size_t nlen = eq != NULL ? (size_t) (eq - carry) - start : end - start;

        if (nlen == 0 || is_directive(carry + start, nlen))
            abort();
        start = end + 1;
    }
}

static void
check_query(const struct sl_hls_query *h)
{
    if (h->msn < -1 || h->msn > UINT32_MAX || h->part < -1 ||
        h->part > UINT32_MAX || h->skip < 0 || h->skip > 2 ||
        (h->part >= 0 && h->msn < 0))
        abort();
}

/* Parses q with a carry that fits any answer, then with a small one that
 * must agree.  Returns the first parse's result. */
static int
parse_both(const char *q, size_t len, struct sl_hls_query *h, char *carry,
           size_t small_cap)
{
    struct sl_hls_query h2;
    char               *small = malloc(small_cap ? small_cap : 1);
    int                 rc, rc2;

    rc = sl_hls_parse_query(q, len, h, carry, len + 1);
    if (rc != 0 && rc != -EINVAL)
        abort();
    check_carry(carry, len + 1);
    if (rc == 0)
        check_query(h);
    rc2 = sl_hls_parse_query(q, len, &h2, small, small_cap);
    if (rc == -EINVAL && rc2 != -EINVAL)
        abort();
    if (rc == 0) {
        size_t n = strlen(carry);

        if (n < small_cap ? rc2 != 0 || strcmp(small, carry) != 0
                          : rc2 != -ENOSPC)
            abort();
        if (h2.msn != h->msn || h2.part != h->part || h2.skip != h->skip)
            abort();
        /* What fitted is whole parameters from the front. */
        if (small_cap > 0) {
            size_t k = strlen(small);

            check_carry(small, small_cap);
            if (memcmp(small, carry, k) != 0 ||
                (k > 0 && carry[k] != '\0' && carry[k] != '&'))
                abort();
        }
    }
    free(small);
    return rc;
}

static uint64_t
get64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static const struct sl_hls_part   parts[3] = {{333, 1}, {500, 0}, {0, 1}};
static const struct sl_hls_report reports[2] = {{"../a_360p/media.m3u8", 7, 0},
                                                {"../a_720p/media.m3u8", 7, 2}};

/* The header bytes: [0] segments, [1] part target, [2] ended and skip,
 * [3] cur's parts, [4..12) first msn, [12..20) first date, [20..28) one
 * byte a segment (discontinuity, init change, parts, duration), [28]
 * target, [29] reports, [30] discontinuity sequence. */
static struct sl_hls_media_view
view_from(const uint8_t *b, struct sl_hls_seg *segs, int skip)
{
    struct sl_hls_media_view v;
    uint64_t                 msn = get64(b + 4);
    int64_t                  pdt = (int64_t) get64(b + 12);
    uint32_t                 init = 0;

    memset(&v, 0, sizeof(v));
    v.nsegs = b[0] % (MAX_SEGS + 1);
    v.part_target_ms = (b[1] % 4) * 250;
    v.ended = b[2] & 1;
    v.skip = skip >= 0 ? skip : (b[2] >> 1) % 3;
    v.target_s = b[28] % 10 + 1;
    v.nreports = b[29] % 3;
    v.reports = reports;
    v.disc_seq = b[30];
    for (uint32_t i = 0; i < v.nsegs; i++) {
        uint8_t f = b[20 + i];

        init += (f >> 1) & 1;
        segs[i] =
            (struct sl_hls_seg){.msn = msn + i,
                                .dur_ms = (uint32_t) (f >> 4) * 700,
                                .pdt_ms = (int64_t) ((uint64_t) pdt + i * 1000),
                                .discontinuity = f & 1,
                                .init_id = init,
                                .nparts = (f >> 2) & 3,
                                .parts = parts};
    }
    v.segs = segs;
    v.cur = (struct sl_hls_seg){.msn = msn + v.nsegs,
                                .pdt_ms = pdt,
                                .discontinuity = b[3] >> 7,
                                .init_id = init + ((b[3] >> 6) & 1),
                                .nparts = b[3] % 4,
                                .parts = parts};
    return v;
}

/* Lines of printable ASCII, each with an even number of quotes, the
 * first "#EXTM3U", and version 9 exactly with EXT-X-SKIP. */
static void
check_text(const char *t, int n)
{
    int quotes = 0;

    if ((size_t) n != strlen(t) || strncmp(t, "#EXTM3U\n", 8) != 0 ||
        t[n - 1] != '\n')
        abort();
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char) t[i];

        if (c == '\n') {
            if (quotes % 2 != 0)
                abort();
            quotes = 0;
        } else if (c < 0x20 || c >= 0x7f) {
            abort();
        }
        quotes += c == '"';
    }
    if ((strstr(t, "#EXT-X-SKIP:") != NULL) !=
        (strstr(t, "#EXT-X-VERSION:9\n") != NULL))
        abort();
}

/* Renders into exactly `small` bytes (ASan watches the end): -1 and an
 * empty string, as the full length did not fit. */
static void
check_small(int (*render)(const void *, char *, size_t), const void *arg,
            size_t small)
{
    char *buf = malloc(small ? small : 1);

    if (render(arg, buf, small) != -1 || (small > 0 && buf[0] != '\0'))
        abort();
    free(buf);
}

static int
render_media(const void *arg, char *out, size_t cap)
{
    return sl_hls_render_media(arg, out, cap);
}

struct master_args {
    const struct sl_hls_variant_info *v;
    int                               n;
    const char                       *query;
};

static int
render_master(const void *arg, char *out, size_t cap)
{
    const struct master_args *m = arg;

    return sl_hls_render_master(m->v, m->n, m->query, out, cap);
}

static void
check_render(int (*render)(const void *, char *, size_t), const void *arg,
             size_t bound, uint8_t cut)
{
    char *out = malloc(bound);
    int   n = render(arg, out, bound);

    if (n <= 0 || (size_t) n >= bound || out[n] != '\0')
        abort();
    check_text(out, n);
    check_small(render, arg, (size_t) n);
    check_small(render, arg, (size_t) n * cut / 256);
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t                    head[HEADER] = {0};
    size_t                     qlen = size > HEADER ? size - HEADER : 0;
    char                      *q = malloc(qlen ? qlen : 1);
    char                      *carry = malloc(qlen + 1);
    struct sl_hls_query        h;
    struct sl_hls_seg          segs[MAX_SEGS];
    struct sl_hls_media_view   v;
    struct master_args         m;
    struct sl_hls_variant_info variants[2] = {
        {"a_720p/media.m3u8", 3000000, 2500000, 1280, 720, 30,
         "avc1.64001f,mp4a.40.2"},
        {"a_audio/media.m3u8", 130000, 0, 0, 0, 0, ""},
    };
    int rc;

    memcpy(head, data, size < HEADER ? size : HEADER);
    /* An exact-size copy: ASan reports any read past the query. */
    memcpy(q, data + (size - qlen), qlen);
    rc = parse_both(q, qlen, &h, carry, head[31] % 24);
    v = view_from(head, segs, rc == 0 ? h.skip : -1);
    v.query = rc == 0 ? carry : "";
    /* At most 47 lines name a URI (8 segments of a map, 3 parts and a
     * URI; cur's map, parts and hint; 2 reports), each under 128 bytes
     * besides the query; the rest is under 1 KiB. */
    check_render(render_media, &v, 64 * (strlen(v.query) + 128) + 1024,
                 head[31]);
    variants[1].fps = (double) head[30] / 7;
    m = (struct master_args){variants, head[29] % 3, v.query};
    check_render(render_master, &m, 4 * (strlen(v.query) + 256), head[31]);
    free(carry);
    free(q);
    return 0;
}
