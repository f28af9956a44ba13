/*
 * HLS playlists as text (hls/playlist.h).  Pure: the output buffer is the
 * only memory written, and every number is formatted with integer
 * arithmetic (seconds with milliseconds, dates from Unix milliseconds)
 * so the text is the same on every machine and locale.
 *
 * Versions.  A playlist declares the lowest EXT-X-VERSION its tags need
 * (RFC 8216 section 7 and its successor draft): 6 for EXT-X-MAP in a
 * playlist that is not I-frames only, which every playlist here has; 9
 * only when it carries EXT-X-SKIP.  The LL-HLS tags (EXT-X-PART,
 * EXT-X-PRELOAD-HINT, EXT-X-SERVER-CONTROL, ...) need no version of their
 * own, and staying at 6 keeps older plain clients willing to read the
 * same full playlist.
 *
 * Discontinuities.  EXT-X-DISCONTINUITY is written before every segment
 * that has it, the first listed included, and disc_seq as the tag's value:
 * a segment's Discontinuity Sequence Number is that value plus the
 * EXT-X-DISCONTINUITY tags before it (RFC 8216 section 6.2.2), so the
 * packager adds one to disc_seq when such a segment leaves the window.
 *
 * Delta updates.  _HLS_skip=v2 is answered like YES: there are no date
 * ranges to skip and CAN-SKIP-DATERANGES is not offered, so no
 * RECENTLY-REMOVED-DATERANGES (and no version 10).  A playlist that is
 * not low-latency offers no CAN-SKIP-UNTIL and ignores a skip request.
 */
#include "hls/playlist.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* EXT-X-VERSION: EXT-X-MAP without EXT-X-I-FRAMES-ONLY needs 6;
 * EXT-X-SKIP needs 9. */
#define VERSION_BASE 6
#define VERSION_SKIP 9

/* The server-control values the header promises, in multiples of the
 * part target and the target duration. */
#define PART_HOLD_BACK_PARTS 3
#define CAN_SKIP_UNTIL_TARGETS 6

/* The output being written.  Once a write does not fit, full is set and
 * every later write is a no-op: the caller learns it once, at the end. */
struct out {
    char  *buf;
    size_t cap;
    size_t len;
    int    full;
};

static void
put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    size_t  room;
    int     n;

    if (o->full)
        return;
    room = o->cap - o->len;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= room) {
        o->full = 1;
        return;
    }
    o->len += (size_t) n;
}

/* The length written, or -1 with out emptied when it did not fit: a
 * caller never sees half a playlist. */
static int
finish(struct out *o)
{
    if (o->full || o->len > INT_MAX) {
        if (o->cap > 0)
            o->buf[0] = '\0';
        return -1;
    }
    return (int) o->len;
}

/* Milliseconds as decimal seconds with three decimals ("4.000"). */
static void
put_seconds(struct out *o, uint64_t ms)
{
    put(o, "%" PRIu64 ".%03u", ms / 1000, (unsigned) (ms % 1000));
}

/* "?QUERY" when there is a query to carry. */
static void
put_query(struct out *o, const char *query)
{
    if (query != NULL && query[0] != '\0')
        put(o, "?%s", query);
}

/* Unix milliseconds as ISO 8601 UTC with milliseconds
 * (2026-12-07T12:34:56.789Z).  Days to a civil date by the proleptic
 * Gregorian calendar in eras of 400 years (H. Hinnant's method), so any
 * int64 works without gmtime's range limits or its locale and time zone
 * state. */
static void
put_date(struct out *o, int64_t unix_ms)
{
    int64_t  days = unix_ms / 86400000, ms = unix_ms % 86400000;
    int64_t  era, year;
    uint32_t doe, yoe, doy, mp, day, month;

    if (ms < 0) { /* floor, not truncation, before 1970 */
        ms += 86400000;
        days--;
    }
    days += 719468; /* from 1970-01-01 to 0000-03-01 */
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = (uint32_t) (days - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    day = doy - (153 * mp + 2) / 5 + 1;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = (int64_t) yoe + era * 400 + (month <= 2);
    put(o, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ", year, month, day,
        (unsigned) (ms / 3600000), (unsigned) (ms / 60000 % 60),
        (unsigned) (ms / 1000 % 60), (unsigned) (ms % 1000));
}

/* What the segments listed so far leave a client with: whether an
 * EXT-X-MAP has been written and which init it named. */
struct map_state {
    int      written;
    uint32_t init_id;
};

/* The tags before a segment's (or cur's) parts and URI: the discontinuity,
 * the EXT-X-MAP where the init differs from the one in force (always for
 * the first listed), and, when the time of its first sample is known, its
 * date. */
static void
put_seg_head(struct out *o, const struct sl_hls_seg *s, int with_date,
             struct map_state *map, const char *query)
{
    if (s->discontinuity)
        put(o, "#EXT-X-DISCONTINUITY\n");
    if (!map->written || map->init_id != s->init_id) {
        put(o, "#EXT-X-MAP:URI=\"init%" PRIu32 ".mp4", s->init_id);
        put_query(o, query);
        put(o, "\"\n");
        map->written = 1;
        map->init_id = s->init_id;
    }
    if (with_date) {
        put(o, "#EXT-X-PROGRAM-DATE-TIME:");
        put_date(o, s->pdt_ms);
        put(o, "\n");
    }
}

static void
put_parts(struct out *o, const struct sl_hls_seg *s, const char *query)
{
    for (uint32_t i = 0; i < s->nparts; i++) {
        put(o, "#EXT-X-PART:DURATION=");
        put_seconds(o, s->parts[i].dur_ms);
        put(o, ",URI=\"p%" PRIu64 ".%" PRIu32 ".m4s", s->msn, i);
        put_query(o, query);
        put(o, s->parts[i].independent ? "\",INDEPENDENT=YES\n" : "\"\n");
    }
}

/* A complete segment: its head, its parts (low latency only; a plain
 * client skips the EXT-X-PART lines as unknown tags), EXTINF and URI. */
static void
put_segment(struct out *o, const struct sl_hls_media_view *v,
            const struct sl_hls_seg *s, struct map_state *map)
{
    put_seg_head(o, s, 1, map, v->query);
    if (v->part_target_ms > 0)
        put_parts(o, s, v->query);
    put(o, "#EXTINF:");
    put_seconds(o, s->dur_ms);
    put(o, ",\ns%" PRIu64 ".m4s", s->msn);
    put_query(o, v->query);
    put(o, "\n");
}

/* CAN-SKIP-UNTIL, the Skip Boundary, in milliseconds. */
static uint64_t
skip_until_ms(const struct sl_hls_media_view *v)
{
    return (uint64_t) v->target_s * CAN_SKIP_UNTIL_TARGETS * 1000;
}

static uint64_t
parts_ms(const struct sl_hls_seg *s)
{
    uint64_t sum = 0;

    for (uint32_t i = 0; i < s->nparts; i++)
        sum += s->parts[i].dur_ms;
    return sum;
}

/* A segment may be skipped only when no tag of its own would be lost
 * with it: a discontinuity changes the Discontinuity Sequence Number of
 * every later segment and an init change needs its EXT-X-MAP, and a
 * client that merges a delta update never sees the skipped tags. */
static int
skippable(const struct sl_hls_seg *segs, uint32_t i)
{
    return !segs[i].discontinuity &&
           (i == 0 || segs[i].init_id == segs[i - 1].init_id);
}

/* How many of the oldest segments a delta update replaces with
 * EXT-X-SKIP: those that end more than CAN-SKIP-UNTIL before the live
 * edge (the end of the last complete segment plus cur's parts), from the
 * oldest up to the first that is not skippable. */
static uint32_t
count_skipped(const struct sl_hls_media_view *v)
{
    uint64_t edge = 0, end = 0, until;
    uint32_t n = 0;

    if (v->skip == 0 || v->part_target_ms == 0)
        return 0;
    until = skip_until_ms(v);
    for (uint32_t i = 0; i < v->nsegs; i++)
        edge += v->segs[i].dur_ms;
    if (!v->ended)
        edge += parts_ms(&v->cur);
    while (n < v->nsegs && skippable(v->segs, n)) {
        end += v->segs[n].dur_ms;
        if (edge - end <= until)
            break;
        n++;
    }
    return n;
}

static void
put_header(struct out *o, const struct sl_hls_media_view *v, uint32_t skip)
{
    uint64_t first = v->nsegs > 0 ? v->segs[0].msn : v->ended ? 0 : v->cur.msn;

    put(o, "#EXTM3U\n#EXT-X-VERSION:%d\n",
        skip > 0 ? VERSION_SKIP : VERSION_BASE);
    put(o, "#EXT-X-TARGETDURATION:%" PRIu32 "\n", v->target_s);
    /* The first segment of the whole playlist, skipped ones included:
     * EXT-X-SKIP stands for segments first, first + 1, ... */
    put(o, "#EXT-X-MEDIA-SEQUENCE:%" PRIu64 "\n", first);
    put(o, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRIu32 "\n", v->disc_seq);
    put(o, "#EXT-X-INDEPENDENT-SEGMENTS\n");
    if (v->part_target_ms == 0)
        return;
    /* Kept once ended too: it costs one line and a client that asks for
     * a delta or a blocking reload of an ended playlist still parses. */
    put(o, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=");
    put_seconds(o, (uint64_t) v->part_target_ms * PART_HOLD_BACK_PARTS);
    put(o, ",CAN-SKIP-UNTIL=");
    put_seconds(o, skip_until_ms(v));
    put(o, "\n#EXT-X-PART-INF:PART-TARGET=");
    put_seconds(o, v->part_target_ms);
    put(o, "\n");
}

/* The segment being written: its head and parts so far, then the hint
 * for its next part.  Its discontinuity and EXT-X-MAP are written even
 * before its first part, so the hinted part is read with the right init;
 * its date only once a part exists (before, it has no first sample). */
static void
put_cur(struct out *o, const struct sl_hls_media_view *v, struct map_state *map)
{
    const struct sl_hls_seg *c = &v->cur;

    put_seg_head(o, c, c->nparts > 0, map, v->query);
    put_parts(o, c, v->query);
    put(o, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p%" PRIu64 ".%" PRIu32 ".m4s",
        c->msn, c->nparts);
    put_query(o, v->query);
    put(o, "\"\n");
}

static void
put_reports(struct out *o, const struct sl_hls_media_view *v)
{
    for (uint32_t i = 0; i < v->nreports; i++) {
        const struct sl_hls_report *r = &v->reports[i];

        put(o, "#EXT-X-RENDITION-REPORT:URI=\"%s", r->uri);
        put_query(o, v->query);
        put(o, "\",LAST-MSN=%" PRIu64 ",LAST-PART=%" PRIu32 "\n", r->last_msn,
            r->last_part);
    }
}

int
sl_hls_render_media(const struct sl_hls_media_view *v, char *out, size_t cap)
{
    struct out       o = {out, cap, 0, cap == 0};
    struct map_state map = {0, 0};
    uint32_t         skip = count_skipped(v);
    int              ll = v->part_target_ms > 0;

    put_header(&o, v, skip);
    /* The first segment listed after EXT-X-SKIP still gets its EXT-X-MAP.
     * The skip tag replaces the skipped segments' tags, the EXT-X-MAP in
     * force among them; a client that merges the delta into its earlier
     * playlist keeps that map, and since the skipped range holds no init
     * change the repeated line names the same URI (no new request).  A
     * client that reads the delta on its own still finds a map for every
     * segment it lists. */
    if (skip > 0)
        put(&o, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%" PRIu32 "\n", skip);
    for (uint32_t i = skip; i < v->nsegs; i++)
        put_segment(&o, v, &v->segs[i], &map);
    if (ll && !v->ended)
        put_cur(&o, v, &map);
    if (ll)
        put_reports(&o, v);
    if (v->ended)
        put(&o, "#EXT-X-ENDLIST\n");
    return finish(&o);
}

static void
put_variant(struct out *o, const struct sl_hls_variant_info *v,
            const char *query)
{
    put(o, "#EXT-X-STREAM-INF:BANDWIDTH=%" PRIu32, v->bandwidth);
    /* Unknown until a window of segments exists: left out, not 0. */
    if (v->avg_bandwidth > 0)
        put(o, ",AVERAGE-BANDWIDTH=%" PRIu32, v->avg_bandwidth);
    if (v->width > 0 && v->height > 0)
        put(o, ",RESOLUTION=%dx%d", v->width, v->height);
    if (isfinite(v->fps) && v->fps > 0)
        put(o, ",FRAME-RATE=%.3f", v->fps);
    if (v->codecs != NULL && v->codecs[0] != '\0')
        put(o, ",CODECS=\"%s\"", v->codecs);
    put(o, "\n%s", v->uri);
    put_query(o, query);
    put(o, "\n");
}

int
sl_hls_render_master(const struct sl_hls_variant_info *v, int n,
                     const char *query, char *out, size_t cap)
{
    struct out o = {out, cap, 0, cap == 0};

    /* Nothing in a master playlist here needs more than the media
     * playlists' base version. */
    put(&o, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n",
        VERSION_BASE);
    for (int i = 0; i < n; i++)
        put_variant(&o, &v[i], query);
    return finish(&o);
}

/* ---- the query of a playlist request ---- */

/* The bytes a carried parameter may hold: RFC 3986's query characters
 * (unreserved, sub-delims, ':', '@', '/', '?', and '%' of an escape).
 * The carry is written inside quoted URIs of every playlist line, so a
 * '"', a space, a control byte or raw UTF-8 would break or forge a line. */
static int
query_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("-._~!$&'()*+,;=:@/?%", c) != NULL;
}

/* A directive's number: 1 to 10 decimal digits that fit 32 bits. */
static int
parse_u32(const char *s, size_t len, int64_t *out)
{
    uint64_t n = 0;

    if (len == 0 || len > 10)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        n = n * 10 + (uint64_t) (s[i] - '0');
    }
    if (n > UINT32_MAX)
        return -EINVAL;
    *out = (int64_t) n;
    return 0;
}

static int
parse_skip(const char *s, size_t len, int *out)
{
    if (len == 3 && memcmp(s, "YES", 3) == 0)
        *out = 1;
    else if (len == 2 && memcmp(s, "v2", 2) == 0)
        *out = 2;
    else
        return -EINVAL;
    return 0;
}

static int
name_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

/* One _HLS_ directive into *out.  1 when name is a directive, 0 when it
 * is not (the caller carries it), -EINVAL when it is one but malformed
 * or already given (value NULL: no '='). */
static int
parse_directive(const char *name, size_t nlen, const char *val, size_t vlen,
                struct sl_hls_query *out)
{
    int64_t *num = NULL;

    if (name_is(name, nlen, "_HLS_msn"))
        num = &out->msn;
    else if (name_is(name, nlen, "_HLS_part"))
        num = &out->part;
    else if (!name_is(name, nlen, "_HLS_skip"))
        return 0;
    if (val == NULL)
        return -EINVAL;
    if (num == NULL) {
        if (out->skip != 0)
            return -EINVAL;
        return parse_skip(val, vlen, &out->skip) < 0 ? -EINVAL : 1;
    }
    if (*num >= 0)
        return -EINVAL;
    return parse_u32(val, vlen, num) < 0 ? -EINVAL : 1;
}

/* The carried parameters being joined.  Once one does not fit, full is
 * set and no later one is added, so carry never skips a parameter and
 * then holds a later one. */
struct carry {
    char  *buf;
    size_t cap;
    size_t used;
    int    full;
};

/* Appends one raw parameter ("&" between).  -EINVAL for a byte that may
 * not appear in a URI query; -ENOSPC when it does not fit (buf keeps the
 * parameters before it, NUL-terminated). */
static int
carry_param(struct carry *c, const char *p, size_t len)
{
    size_t need = len + (c->used > 0);

    for (size_t i = 0; i < len; i++)
        if (!query_char((unsigned char) p[i]))
            return -EINVAL;
    if (c->full || need >= c->cap - c->used) {
        c->full = 1;
        return -ENOSPC;
    }
    if (c->used > 0)
        c->buf[c->used++] = '&';
    memcpy(c->buf + c->used, p, len);
    c->used += len;
    c->buf[c->used] = '\0';
    return 0;
}

/* One parameter, p[0..len) without its "&": a directive into *out, or
 * carried on; an empty name is dropped. */
static int
parse_param(const char *p, size_t len, struct sl_hls_query *out,
            struct carry *c)
{
    const char *eq = memchr(p, '=', len);
    size_t      nlen = eq != NULL ? (size_t) (eq - p) : len;
    const char *val = eq != NULL ? eq + 1 : NULL;
    size_t      vlen = eq != NULL ? len - nlen - 1 : 0;
    int         rc;

    if (nlen == 0)
        return 0;
    rc = parse_directive(p, nlen, val, vlen, out);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return carry_param(c, p, len);
}

int
sl_hls_parse_query(const char *q, size_t len, struct sl_hls_query *out,
                   char *carry, size_t carry_cap)
{
    struct carry c = {carry, carry_cap, 0, carry_cap == 0};
    size_t       start = 0;

    out->msn = -1;
    out->part = -1;
    out->skip = 0;
    if (carry_cap > 0)
        carry[0] = '\0';
    /* Every parameter is looked at even once carry is full, so a
     * malformed one is reported as such whatever carry's size. */
    while (len > 0 && start <= len) {
        const char *amp = memchr(q + start, '&', len - start);
        size_t      end = amp != NULL ? (size_t) (amp - q) : len;
        int         rc = parse_param(q + start, end - start, out, &c);

        if (rc == -EINVAL)
            return rc;
        start = end + 1;
    }
    if (out->part >= 0 && out->msn < 0)
        return -EINVAL;
    return c.full ? -ENOSPC : 0;
}
