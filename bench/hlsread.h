/*
 * What an LL-HLS viewer of the load generator parses: the head of an
 * HTTP/1.1 response whose body has a Content-Length, and a media
 * playlist, scanned for the parts it lists.  Pure: bytes in, a verdict
 * out; no socket, clock or allocation, so tests/unit/test_hlsread.c
 * feeds both at every split point, right before an unreadable page.
 *
 * This is a load generator's reader, not a parser to trust: it reads
 * only what the viewer needs (status, Content-Length, Connection; the
 * media sequence, PART-TARGET, PROGRAM-DATE-TIME, EXTINF, EXT-X-PART,
 * EXT-X-PRELOAD-HINT, EXT-X-SKIP, EXT-X-ENDLIST) and refuses what it
 * cannot follow (a chunked body, a head over SL_BENCH_HLS_HEAD_MAX, a
 * part URI over SL_BENCH_HLS_URI_MAX) rather than guessing.
 */
#ifndef SL_BENCH_HLSREAD_H
#define SL_BENCH_HLSREAD_H

#include <stddef.h>
#include <stdint.h>

/* The longest response head a viewer accepts. */
#define SL_BENCH_HLS_HEAD_MAX 8192

/* The longest part URI (as written in the playlist) a viewer keeps. */
#define SL_BENCH_HLS_URI_MAX 256

/* The largest body a viewer accepts (a part of a 2.5 Mbit/s stream is
 * about 160 KB; anything near this is not a part or a playlist). */
#define SL_BENCH_HLS_BODY_MAX (64ull << 20)

/* What a viewer needs of a response head. */
struct sl_bench_http_resp {
    int      status;         /* 100..999 */
    uint64_t content_length; /* the body's length (0 for 204 and 304) */
    uint8_t  close;          /* Connection: close (or HTTP/1.0) */
};

/* Looks for the end of a response head in p[0..len); the first `from`
 * bytes were searched before (pass the previous length, so a head that
 * arrives in pieces is not searched again from the start).  Returns the
 * head's length through its blank line, with *out filled, once it is
 * complete; -EAGAIN when it has not ended and is shorter than
 * SL_BENCH_HLS_HEAD_MAX; -EPROTO when it is that long without ending, or
 * its status line is malformed, or it has a Transfer-Encoding, no
 * Content-Length (except 1xx, 204 and 304), a malformed one, two that
 * differ or one above SL_BENCH_HLS_BODY_MAX.  The reason goes into why
 * (cap bytes, always terminated, printable). */
int sl_bench_http_resp_head(const uint8_t *p, size_t len, size_t from,
                            struct sl_bench_http_resp *out, char *why,
                            size_t cap);

/* A part's place: part `part` (from 0) of the segment with media
 * sequence number msn. */
struct sl_bench_hls_pos {
    uint64_t msn;
    uint32_t part;
};

/* -1, 0 or 1 as a is before, at or after b. */
int sl_bench_hls_pos_cmp(const struct sl_bench_hls_pos *a,
                         const struct sl_bench_hls_pos *b);

/* What a scan of a media playlist found. */
struct sl_bench_hls_scan {
    uint32_t part_target_ms; /* EXT-X-PART-INF PART-TARGET; 0: none */
    uint8_t  ended;          /* EXT-X-ENDLIST */

    /* The newest EXT-X-PART listed. */
    uint8_t                 have_newest;
    struct sl_bench_hls_pos newest;

    /* EXT-X-PRELOAD-HINT TYPE=PART: the place of the hinted part, which
     * is the one after the newest part of the open segment. */
    uint8_t                 have_hint;
    struct sl_bench_hls_pos hint;

    /* The part to fetch next: the first listed after `after`, or the
     * newest when there is no `after`.  Its URI as written (relative or
     * absolute path; NUL-terminated), and its end on the playlist's
     * clock, Unix milliseconds: the segment's PROGRAM-DATE-TIME plus
     * the durations of its parts through this one (-1: no date). */
    uint8_t                 have_next;
    struct sl_bench_hls_pos next;
    char                    next_uri[SL_BENCH_HLS_URI_MAX];
    int64_t                 next_end_ms;
};

/* Scans the media playlist p[0..len) (the whole body) for the parts it
 * lists after `after` (NULL: none yet).  Part places are counted the
 * way a player counts them: EXT-X-MEDIA-SEQUENCE, plus one per segment
 * URI and EXT-X-SKIP's SKIPPED-SEGMENTS, parts numbered from 0 in each
 * segment; part file names are never read.  Returns 0 with *out filled,
 * or -EPROTO when the body does not start with #EXTM3U or a tag the
 * scan reads is malformed (an EXT-X-PART without DURATION or URI, a URI
 * too long, a number that is not one). */
int sl_bench_hls_scan(const uint8_t *p, size_t len,
                      const struct sl_bench_hls_pos *after,
                      struct sl_bench_hls_scan      *out);

#endif
