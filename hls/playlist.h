/*
 * HLS playlists as text: the media playlist of one variant (RFC 8216
 * with Apple's Low-Latency HLS additions) and the master playlist of a
 * stream's variants, rendered from a plain description that the
 * packager (hls/packager.h) fills under its lock; and the query of a
 * playlist request (_HLS_msn, _HLS_part, _HLS_skip), split from the
 * parameters the server carries on (a token, a viewer id).
 *
 * Pure: no I/O, no locks, no allocation but the output's; any thread.
 *
 * URIs, relative to the media playlist (which is /APP/STREAM/media.m3u8;
 * the master playlist /APP/NAME.m3u8 lists STREAM/media.m3u8):
 *   init<ID>.mp4        the initialization segment (EXT-X-MAP)
 *   s<MSN>.m4s          a whole segment
 *   p<MSN>.<I>.m4s      part I (from 0) of segment MSN
 * each followed by "?" and the carried query when it is not empty.
 */
#ifndef SL_HLS_PLAYLIST_H
#define SL_HLS_PLAYLIST_H

#include <stddef.h>
#include <stdint.h>

struct sl_hls_part {
    uint32_t dur_ms;
    uint8_t  independent; /* starts with a video keyframe (or audio only) */
};

struct sl_hls_seg {
    uint64_t msn;
    uint32_t dur_ms;
    int64_t  pdt_ms;        /* wall clock (Unix ms) of its first sample */
    uint8_t  discontinuity; /* the timeline jumps, or a new encoding starts */
    uint32_t init_id;       /* the EXT-X-MAP it needs (init<ID>.mp4) */
    /* Its parts, listed only for the newest segments (the packager
     * drops the parts of older ones: nparts 0, parts NULL). */
    uint32_t                  nparts;
    const struct sl_hls_part *parts;
};

/* What another variant of the same stream has, for EXT-X-RENDITION-REPORT. */
struct sl_hls_report {
    const char *uri; /* relative to this playlist: "../NAME_360p/media.m3u8" */
    uint64_t    last_msn; /* its newest segment with at least one part */
    uint32_t    last_part;
};

struct sl_hls_media_view {
    uint32_t target_s;       /* EXT-X-TARGETDURATION, whole seconds, >= 1 */
    uint32_t part_target_ms; /* PART-TARGET; 0: not low-latency (no
                              * parts, hints or server control) */
    uint32_t disc_seq;       /* EXT-X-DISCONTINUITY-SEQUENCE of segs[0] */
    /* Complete segments, oldest first (segs[i].msn consecutive). */
    uint32_t                 nsegs;
    const struct sl_hls_seg *segs;
    /* The segment being written: its msn follows the last complete one;
     * its parts so far (nparts may be 0); dur_ms unused.  Ignored when
     * ended. */
    struct sl_hls_seg cur;
    uint8_t           ended; /* EXT-X-ENDLIST; no hint, no cur */
    /* Carried on every URI (without "?"; "" for none), e.g.
     * "expires=1700000000&sign=ab12&sid=9f"; URI query characters only
     * (it is written inside quoted URIs), as sl_hls_parse_query's carry
     * guarantees. */
    const char *query;
    /* Delta update (_HLS_skip): 1 = YES, 2 = v2 (also skips date ranges,
     * which we have none of); 0 = a whole playlist. */
    int                         skip;
    uint32_t                    nreports;
    const struct sl_hls_report *reports;
};

/* Renders the media playlist into out (cap bytes, NUL-terminated).
 * With part_target_ms: EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,
 * PART-HOLD-BACK (3 part targets), CAN-SKIP-UNTIL (6 target durations);
 * EXT-X-PART-INF; the EXT-X-PART lines of the segments that carry parts
 * (INDEPENDENT=YES where so) and of cur; EXT-X-PRELOAD-HINT for the next
 * part of cur; EXT-X-RENDITION-REPORT lines.  A delta update replaces
 * the segments older than CAN-SKIP-UNTIL from the live edge with
 * EXT-X-SKIP:SKIPPED-SEGMENTS=N (never the ones after the newest
 * discontinuity's EXT-X-MAP change that a client would then miss: a
 * skipped range contains no EXT-X-MAP change).  Every segment carries
 * EXT-X-PROGRAM-DATE-TIME (ISO 8601, UTC, milliseconds), its EXTINF
 * with milliseconds and an EXT-X-MAP line where its init differs from
 * the previous one's (always for the first listed).  Returns the
 * length, or -1 when cap is too small. */
int sl_hls_render_media(const struct sl_hls_media_view *v, char *out,
                        size_t cap);

struct sl_hls_variant_info {
    const char *uri;           /* "NAME_720p/media.m3u8" (the query is added) */
    uint32_t    bandwidth;     /* peak segment bit rate, bit/s */
    uint32_t    avg_bandwidth; /* average over the window, bit/s */
    int         width, height; /* 0: no video (RESOLUTION left out) */
    double      fps;           /* 0: left out */
    const char *codecs;        /* "avc1.64001f,mp4a.40.2" */
};

/* Renders the master playlist: EXT-X-INDEPENDENT-SEGMENTS, then one
 * EXT-X-STREAM-INF (BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION,
 * FRAME-RATE with 3 decimals, CODECS quoted) and its URI per variant,
 * in the order given, each URI with "?" and query when query is not
 * empty.  Returns the length, or -1 when cap is too small. */
int sl_hls_render_master(const struct sl_hls_variant_info *v, int n,
                         const char *query, char *out, size_t cap);

/* A playlist request's query. */
struct sl_hls_query {
    int64_t msn;  /* _HLS_msn, -1 when absent */
    int64_t part; /* _HLS_part, -1 when absent */
    int     skip; /* _HLS_skip: 0 absent, 1 YES, 2 v2 */
};

/* Splits the query q (len bytes, without the "?", not NUL-terminated)
 * into the _HLS_ directives (*out) and the other parameters, copied in
 * their order, joined by "&", into carry (carry_cap bytes,
 * NUL-terminated).  0; -EINVAL when a directive is malformed (a number
 * that is not decimal digits or does not fit 32 bits, an unknown
 * _HLS_skip value, _HLS_part without _HLS_msn, a directive given
 * twice, or a carried parameter with a byte that RFC 3986 does not
 * allow in a query: a quote, space, control or raw non-ASCII byte would
 * break the quoted URIs it is copied into), -ENOSPC when carry is too
 * small.  Parameters with an empty name ("&&", "=x") are dropped. */
int sl_hls_parse_query(const char *q, size_t len, struct sl_hls_query *out,
                       char *carry, size_t carry_cap);

#endif
