/*
 * The LL-HLS viewer's parsers (see hlsread.h): a response head with a
 * Content-Length body, and a media playlist scanned for its parts.
 */
#include "bench/hlsread.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "bench/httphead.h"

/* ---- the response head ------------------------------------------------ */

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Whether the comma-separated list [v, end) holds the token `tok`. */
static int
has_token(const char *v, const char *end, const char *tok)
{
    size_t n = strlen(tok);

    while (v < end) {
        const char *e = memchr(v, ',', (size_t) (end - v)), *t;

        if (e == NULL)
            e = end;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        for (t = e; t > v && (t[-1] == ' ' || t[-1] == '\t'); t--)
            ;
        if ((size_t) (t - v) == n && strncasecmp(v, tok, n) == 0)
            return 1;
        v = e + 1;
    }
    return 0;
}

/* Content-Length's value [v, end): digits, then optional white space;
 * -1 when malformed or above SL_BENCH_HLS_BODY_MAX. */
static long long
content_length(const char *v, const char *end)
{
    unsigned long long n = 0;
    const char        *s = v;

    for (; s < end && is_digit(*s); s++) {
        n = n * 10 + (unsigned) (*s - '0');
        if (n > SL_BENCH_HLS_BODY_MAX)
            return -1;
    }
    if (s == v)
        return -1;
    for (; s < end; s++)
        if (*s != ' ' && *s != '\t')
            return -1;
    return (long long) n;
}

/* Reads the header lines of a complete head [line, end). */
static int
head_fields(const char *line, const char *end, struct sl_bench_http_resp *out,
            char *why, size_t cap)
{
    struct sl_bench_http_field f;
    long long                  len = -1;
    int                        rc;

    while ((rc = sl_bench_http_field(&line, end, &f, why, cap)) > 0) {
        const char *v = f.value, *ve;

        for (ve = f.eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
            ;
        if (sl_bench_http_field_is(&f, "content-length")) {
            long long n = content_length(v, ve);

            if (n < 0 || (len >= 0 && n != len))
                return sl_bench_why(why, cap, "bad Content-Length %.*s",
                                    (int) (ve - v > 30 ? 30 : ve - v), v);
            len = n;
        } else if (sl_bench_http_field_is(&f, "transfer-encoding")) {
            /* Only Content-Length bodies are read: a chunked body would
             * need a de-chunking layer this reader does not have. */
            return sl_bench_why(why, cap,
                                "Transfer-Encoding %.*s is not supported",
                                (int) (ve - v > 40 ? 40 : ve - v), v);
        } else if (sl_bench_http_field_is(&f, "connection")) {
            if (has_token(v, ve, "close"))
                out->close = 1;
            else if (has_token(v, ve, "keep-alive"))
                out->close = 0;
        }
    }
    if (rc < 0)
        return rc;
    if (len < 0) {
        int s = out->status;

        if (s >= 200 && s != 204 && s != 304)
            return sl_bench_why(why, cap, "HTTP %d without Content-Length", s);
        len = 0;
    }
    out->content_length = (uint64_t) len;
    return 0;
}

int
sl_bench_http_resp_head(const uint8_t *p, size_t len, size_t from,
                        struct sl_bench_http_resp *out, char *why, size_t cap)
{
    const char *s = (const char *) p, *end, *eol;
    size_t      lim = len < SL_BENCH_HLS_HEAD_MAX ? len : SL_BENCH_HLS_HEAD_MAX;
    size_t      i = from > 3 ? from - 3 : 0, hlen = 0;
    int         status;

    /* The blank line may straddle what was searched before and what
     * came since: start three bytes back. */
    for (; i + 4 <= lim && hlen == 0; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' &&
            p[i + 3] == '\n')
            hlen = i + 4;
    if (hlen == 0) {
        if (len < SL_BENCH_HLS_HEAD_MAX)
            return -EAGAIN;
        return sl_bench_why(why, cap, "response head over %d bytes",
                            SL_BENCH_HLS_HEAD_MAX);
    }
    end = s + hlen;
    memset(out, 0, sizeof(*out));
    status = sl_bench_http_status(s, end, &eol, why, cap);
    if (status < 0)
        return -EPROTO;
    out->status = status;
    if (out->status < 100)
        return sl_bench_why(why, cap, "malformed status line");
    out->close = s[7] == '0'; /* HTTP/1.0 closes unless told otherwise */
    if (head_fields(eol + 2, end, out, why, cap) < 0)
        return -EPROTO;
    return (int) hlen;
}

/* ---- the media playlist ----------------------------------------------- */

int
sl_bench_hls_pos_cmp(const struct sl_bench_hls_pos *a,
                     const struct sl_bench_hls_pos *b)
{
    if (a->msn != b->msn)
        return a->msn < b->msn ? -1 : 1;
    if (a->part != b->part)
        return a->part < b->part ? -1 : 1;
    return 0;
}

/* One line of the playlist, without its line end. */
struct line {
    const char *s, *e;
};

/* Whether the line starts with `tag`; if so, *rest is what follows. */
static int
tag_is(const struct line *l, const char *tag, const char **rest)
{
    size_t n = strlen(tag);

    if ((size_t) (l->e - l->s) < n || memcmp(l->s, tag, n) != 0)
        return 0;
    *rest = l->s + n;
    return 1;
}

/* An unsigned decimal integer filling [s, e), at most 2^62; -1 if not. */
static int64_t
parse_u(const char *s, const char *e)
{
    int64_t n = 0;

    if (s == e)
        return -1;
    for (; s < e; s++) {
        if (!is_digit(*s) || n > (INT64_C(1) << 62) / 10)
            return -1;
        n = n * 10 + (*s - '0');
    }
    return n;
}

/* Seconds as a decimal ("0.500", "2", "1.5") in [s, e), to
 * milliseconds (further digits are dropped); -1 when malformed or above
 * a million seconds. */
static int64_t
parse_secs_ms(const char *s, const char *e)
{
    const char *dot = memchr(s, '.', (size_t) (e - s));
    int64_t     whole = parse_u(s, dot != NULL ? dot : e), ms = 0;

    if (whole < 0 || whole > 1000000)
        return -1;
    if (dot != NULL) {
        int scale = 100;

        if (dot + 1 == e)
            return -1;
        for (const char *d = dot + 1; d < e; d++) {
            if (!is_digit(*d))
                return -1;
            ms += (*d - '0') * scale;
            scale /= 10;
        }
    }
    return whole * 1000 + ms;
}

/* The value of attribute `name` in the attribute list [s, e) (RFC 8216
 * 4.2: NAME=value pairs separated by commas, a quoted string's quotes
 * removed).  0 with [*vs, *ve) set, or -1 when absent or malformed. */
static int
attr(const char *s, const char *e, const char *name, const char **vs,
     const char **ve)
{
    size_t n = strlen(name);

    while (s < e) {
        const char *eq = memchr(s, '=', (size_t) (e - s)), *v, *vend, *end;

        if (eq == NULL)
            return -1;
        v = eq + 1;
        if (v < e && *v == '"') {
            vend = memchr(v + 1, '"', (size_t) (e - v - 1));
            if (vend == NULL)
                return -1;
            v++;
            end = vend + 1;
        } else {
            vend = memchr(v, ',', (size_t) (e - v));
            if (vend == NULL)
                vend = e;
            end = vend;
        }
        /* After a value: the list's end or a comma, nothing else. */
        if (end < e && *end != ',')
            return -1;
        if ((size_t) (eq - s) == n && memcmp(s, name, n) == 0) {
            *vs = v;
            *ve = vend;
            return 0;
        }
        s = end + 1;
    }
    return -1;
}

/* Days from 1970-01-01 to the date y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t  era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}

/* Two digits at s (s + 2 <= e), or -1. */
static int
two(const char *s, const char *e)
{
    if (e - s < 2 || !is_digit(s[0]) || !is_digit(s[1]))
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* An ISO 8601 date-time "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm|-hh:mm]" in
 * [s, e), to Unix milliseconds; -1 when malformed. */
static int64_t
parse_date_ms(const char *s, const char *e)
{
    int     y, mo, d, h, mi, sec, ms = 0, off = 0;
    int64_t t;

    if (e - s < 19 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return -1;
    y = two(s, e) * 100 + two(s + 2, e);
    mo = two(s + 5, e);
    d = two(s + 8, e);
    h = two(s + 11, e);
    mi = two(s + 14, e);
    sec = two(s + 17, e);
    if (two(s, e) < 0 || two(s + 2, e) < 0 || mo < 1 || mo > 12 || d < 1 ||
        d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
        return -1;
    s += 19;
    if (s < e && *s == '.') {
        int scale = 100;

        for (s++; s < e && is_digit(*s); s++) {
            ms += (*s - '0') * scale;
            scale /= 10;
        }
    }
    if (s < e && (*s == 'Z' || *s == 'z')) {
        s++;
    } else if (s < e && (*s == '+' || *s == '-')) {
        int colon = e - s >= 4 && s[3] == ':', oh, om;

        if (e - s < 5 + colon)
            return -1;
        oh = two(s + 1, e);
        om = two(s + 3 + colon, e);
        if (oh < 0 || om < 0)
            return -1;
        off = (*s == '-' ? -1 : 1) * (oh * 60 + om);
        s += 5 + colon;
    }
    if (s != e)
        return -1;
    t = days_from_civil(y, (unsigned) mo, (unsigned) d) * 86400 + h * 3600 +
        mi * 60 + sec - (int64_t) off * 60;
    return t * 1000 + ms;
}

/* Where the scan is in the playlist. */
struct cursor {
    uint64_t msn;        /* the segment the next part or URI belongs to */
    uint32_t part;       /* the next part's number in it */
    int64_t  pdt_ms;     /* the segment's start on the clock; -1 unknown */
    int64_t  cum_ms;     /* its parts' durations so far */
    int64_t  extinf_ms;  /* its EXTINF, once read; -1 before */
    int      seen_media; /* a segment or part came: no more MEDIA-SEQ */
};

static int
on_part(struct cursor *c, const char *a, const char *e,
        const struct sl_bench_hls_pos *after, struct sl_bench_hls_scan *out)
{
    const char             *vs, *ve, *us, *ue;
    int64_t                 dur;
    struct sl_bench_hls_pos pos = {c->msn, c->part};

    if (attr(a, e, "DURATION", &vs, &ve) < 0 ||
        attr(a, e, "URI", &us, &ue) < 0 || us == ue)
        return -EPROTO;
    dur = parse_secs_ms(vs, ve);
    if (dur < 0 || ue - us >= SL_BENCH_HLS_URI_MAX)
        return -EPROTO;
    c->cum_ms += dur;
    out->have_newest = 1;
    out->newest = pos;
    /* With no part fetched yet, the newest is the one to fetch; with
     * one, the first listed after it. */
    if (after == NULL ||
        (!out->have_next && sl_bench_hls_pos_cmp(&pos, after) > 0)) {
        out->have_next = 1;
        out->next = pos;
        memcpy(out->next_uri, us, (size_t) (ue - us));
        out->next_uri[ue - us] = '\0';
        out->next_end_ms = c->pdt_ms >= 0 ? c->pdt_ms + c->cum_ms : -1;
    }
    c->part++;
    c->seen_media = 1;
    return 0;
}

/* A segment URI line: the next segment starts where this one ended. */
static void
on_segment(struct cursor *c)
{
    if (c->pdt_ms >= 0)
        c->pdt_ms += c->extinf_ms >= 0 ? c->extinf_ms : c->cum_ms;
    c->msn++;
    c->part = 0;
    c->cum_ms = 0;
    c->extinf_ms = -1;
    c->seen_media = 1;
}

static int
on_line(struct cursor *c, const struct line *l,
        const struct sl_bench_hls_pos *after, struct sl_bench_hls_scan *out)
{
    const char *r, *vs, *ve;
    int64_t     v;

    if (l->s == l->e)
        return 0;
    if (*l->s != '#') {
        on_segment(c);
        return 0;
    }
    if (tag_is(l, "#EXT-X-PART:", &r))
        return on_part(c, r, l->e, after, out);
    if (tag_is(l, "#EXTINF:", &r)) {
        const char *comma = memchr(r, ',', (size_t) (l->e - r));

        c->extinf_ms = parse_secs_ms(r, comma != NULL ? comma : l->e);
        return c->extinf_ms < 0 ? -EPROTO : 0;
    }
    if (tag_is(l, "#EXT-X-PROGRAM-DATE-TIME:", &r)) {
        c->pdt_ms = parse_date_ms(r, l->e);
        return c->pdt_ms < 0 ? -EPROTO : 0;
    }
    if (tag_is(l, "#EXT-X-PRELOAD-HINT:", &r)) {
        if (attr(r, l->e, "TYPE", &vs, &ve) == 0 && ve - vs == 4 &&
            memcmp(vs, "PART", 4) == 0) {
            out->have_hint = 1;
            out->hint.msn = c->msn;
            out->hint.part = c->part;
        }
        return 0;
    }
    if (tag_is(l, "#EXT-X-MEDIA-SEQUENCE:", &r)) {
        v = parse_u(r, l->e);
        if (v < 0 || c->seen_media)
            return -EPROTO;
        c->msn = (uint64_t) v;
        return 0;
    }
    if (tag_is(l, "#EXT-X-SKIP:", &r)) {
        /* A delta update: the skipped segments come before the listed
         * ones, and carry no parts. */
        if (attr(r, l->e, "SKIPPED-SEGMENTS", &vs, &ve) < 0 ||
            (v = parse_u(vs, ve)) < 0)
            return -EPROTO;
        c->msn += (uint64_t) v;
        c->pdt_ms = -1;
        return 0;
    }
    if (tag_is(l, "#EXT-X-PART-INF:", &r)) {
        if (attr(r, l->e, "PART-TARGET", &vs, &ve) < 0 ||
            (v = parse_secs_ms(vs, ve)) < 0)
            return -EPROTO;
        out->part_target_ms = (uint32_t) v;
        return 0;
    }
    if (tag_is(l, "#EXT-X-ENDLIST", &r))
        out->ended = 1;
    return 0;
}

int
sl_bench_hls_scan(const uint8_t *p, size_t len,
                  const struct sl_bench_hls_pos *after,
                  struct sl_bench_hls_scan      *out)
{
    const char   *s = (const char *) p, *end = s + len;
    struct cursor c = {.pdt_ms = -1, .extinf_ms = -1};

    memset(out, 0, sizeof(*out));
    out->next_end_ms = -1;
    if (len < 7 || memcmp(s, "#EXTM3U", 7) != 0)
        return -EPROTO;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t) (end - s));
        struct line l = {s, nl != NULL ? nl : end};

        if (l.e > l.s && l.e[-1] == '\r')
            l.e--;
        if (on_line(&c, &l, after, out) < 0)
            return -EPROTO;
        s = nl != NULL ? nl + 1 : end;
    }
    return 0;
}
