/*
 * SRT stream ids (srt/streamid.h).  Pure: the caller's bytes are copied
 * once into a bounded buffer on the stack and every later step works on
 * (pointer, length) spans of that copy, so nothing reads past len and
 * nothing needs the id to end in a NUL.
 *
 * The three forms are told apart by their first bytes: "#!::" is the SRT
 * Access Control form (Haivision's docs/features/access-control.md),
 * "publish:" and "read:" are MediaMTX's, and anything else is a bare
 * resource.  Whatever form, the resource goes through one function, so
 * an app or a name means the same here as in an RTMP publish or play.
 *
 * Every refusal is a static string chosen by this file; none quotes the
 * id, which may carry a password or a signed URL.
 */
#include "srt/streamid.h"

#include <string.h>

/* libsrt carries at most 512 bytes of stream id (SRTO_STREAMID). */
#define ID_MAX 512

#define AC_PREFIX "#!::"

/* A run of bytes inside the copied id; never NUL-terminated. */
struct span {
    const char *p;
    size_t      n;
};

/* The Access Control keys this parser knows, one row each: the name and
 * the refusal when it comes twice.  Other keys are ignored. */
enum { K_R, K_M, K_U, K_S, K_H, K_T, NKEYS };

static const struct {
    const char *name;
    const char *twice;
} keys[NKEYS] = {
    [K_R] = {"r", "key r given twice"}, [K_M] = {"m", "key m given twice"},
    [K_U] = {"u", "key u given twice"}, [K_S] = {"s", "key s given twice"},
    [K_H] = {"h", "key h given twice"}, [K_T] = {"t", "key t given twice"},
};

static int
span_is(struct span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Whether s starts with lit; if so, *rest is what follows it. */
static int
strip_prefix(struct span s, const char *lit, struct span *rest)
{
    size_t n = strlen(lit);

    if (s.n < n || memcmp(s.p, lit, n) != 0)
        return 0;
    *rest = (struct span){s.p + n, s.n - n};
    return 1;
}

/* Printable ASCII without spaces, as app and stream names are. */
static int
is_word(struct span s)
{
    for (size_t i = 0; i < s.n; i++)
        if ((unsigned char) s.p[i] <= 0x20 || (unsigned char) s.p[i] >= 0x7f)
            return 0;
    return 1;
}

/* Copies s into dst as a C string; the caller checked that it fits. */
static void
put(char *dst, struct span s)
{
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
}

static const char *
take_user(struct span u, struct sl_srt_streamid *out)
{
    if (u.n >= sizeof(out->user))
        return "user name too long";
    if (!is_word(u))
        return "bad character in user name";
    put(out->user, u);
    return NULL;
}

/* "APP/NAME[?query]" into out's app, name and query.  The query starts
 * at the first '?' and is kept as written: it may hold '?', '=', '&',
 * '/' or bytes above 0x7e (a signed URL's parameters are the caller's to
 * judge), but no control byte, which has no place in a URL and could end
 * up in a callback.  The slashes between APP and NAME are all separator,
 * so NAME never starts with '/': an RTMP name has its leading '/' trimmed
 * too, and "live//cam" must reach the stream "live/cam" either way. */
static const char *
take_resource(struct span r, struct sl_srt_streamid *out)
{
    const char *q = memchr(r.p, '?', r.n);
    struct span path = {r.p, q != NULL ? (size_t) (q - r.p) : r.n};
    struct span query = {r.p + r.n, 0};
    struct span app, name;
    const char *slash;

    if (q != NULL)
        query = (struct span){q + 1, r.n - path.n - 1};
    while (path.n > 0 && path.p[0] == '/') {
        path.p++;
        path.n--;
    }
    while (path.n > 0 && path.p[path.n - 1] == '/')
        path.n--;
    if (!is_word(path))
        return "bad character in resource";
    slash = memchr(path.p, '/', path.n);
    if (slash == NULL)
        return "bad resource (not APP/NAME)";
    /* Both ends are trimmed, so APP and NAME are non-empty. */
    app = (struct span){path.p, (size_t) (slash - path.p)};
    name = (struct span){slash, path.n - app.n};
    while (name.n > 0 && name.p[0] == '/') {
        name.p++;
        name.n--;
    }
    if (app.n >= sizeof(out->app))
        return "app name too long";
    if (name.n >= sizeof(out->name))
        return "stream name too long";
    if (query.n >= sizeof(out->query))
        return "query too long";
    for (size_t i = 0; i < query.n; i++)
        if ((unsigned char) query.p[i] < 0x20 || query.p[i] == 0x7f)
            return "bad character in query";
    put(out->app, app);
    put(out->name, name);
    put(out->query, query);
    return NULL;
}

static int
key_index(struct span key)
{
    for (int k = 0; k < NKEYS; k++)
        if (span_is(key, keys[k].name))
            return k;
    return -1;
}

/* Splits one element of the Access Control list at its first '=': the
 * value keeps any later '=' (a query's "a=1&b=2").  An element without
 * '=' or with an empty key is malformed. */
static const char *
split_pair(struct span pair, struct span *key, struct span *val)
{
    const char *eq = memchr(pair.p, '=', pair.n);

    if (eq == NULL || eq == pair.p)
        return "bad key=value pair";
    *key = (struct span){pair.p, (size_t) (eq - pair.p)};
    *val = (struct span){eq + 1, pair.n - key->n - 1};
    return NULL;
}

/* Whether key names one of the elements of body[0..end), which are all
 * valid pairs by now.  Quadratic, over at most 512 bytes. */
static int
seen_before(struct span body, size_t end, struct span key)
{
    for (size_t start = 0; start < end;) {
        const char *comma = memchr(body.p + start, ',', end - start);
        size_t      stop = comma != NULL ? (size_t) (comma - body.p) : end;
        struct span k, v;

        if (split_pair((struct span){body.p + start, stop - start}, &k, &v) ==
                NULL &&
            k.n == key.n && memcmp(k.p, key.p, k.n) == 0)
            return 1;
        start = stop + 1;
    }
    return 0;
}

/* The list after "#!::": comma-separated key=value elements, none empty
 * (so a trailing ',' is malformed too).  A key twice is refused whether
 * this parser knows it or not: which of the two was meant is unknown. */
static const char *
take_access_control(struct span body, struct sl_srt_streamid *out)
{
    struct span val[NKEYS];
    int         have[NKEYS] = {0};
    struct span res;
    const char *why;

    for (size_t start = 0; body.n > 0 && start <= body.n;) {
        const char *comma = memchr(body.p + start, ',', body.n - start);
        size_t      stop = comma != NULL ? (size_t) (comma - body.p) : body.n;
        struct span key, v;
        int         k;

        why = split_pair((struct span){body.p + start, stop - start}, &key, &v);
        if (why != NULL)
            return why;
        k = key_index(key);
        if (seen_before(body, start, key))
            return k >= 0 ? keys[k].twice : "a key given twice";
        if (k >= 0) {
            val[k] = v;
            have[k] = 1;
        }
        start = stop + 1;
    }

    out->mode = SL_SRT_REQUEST;
    if (have[K_M]) {
        if (span_is(val[K_M], "publish"))
            out->mode = SL_SRT_PUBLISH;
        else if (span_is(val[K_M], "bidirectional"))
            return "mode bidirectional is not supported";
        else if (!span_is(val[K_M], "request"))
            return "bad mode (m=request or m=publish)";
    }
    /* t=file is a file transfer and t=auth a login with no stream: both
     * need another server; an unknown type is no stream either. */
    if (have[K_T] && !span_is(val[K_T], "stream"))
        return "only type stream (t=stream) is supported";
    if (have[K_U] && (why = take_user(val[K_U], out)) != NULL)
        return why;

    /* SRS reads "#!::h=live/cam" as the resource: a host name holds no
     * '/', so an h with one is a resource, and only when r is absent. */
    if (have[K_R])
        res = val[K_R];
    else if (have[K_H] && memchr(val[K_H].p, '/', val[K_H].n) != NULL)
        res = val[K_H];
    else
        return "no resource (r=APP/NAME)";
    return take_resource(res, out);
}

/* MediaMTX's "publish:" or "read:" tail: "APP/NAME[?query][:USER:PASS]".
 * The resource ends at the first ':' (MediaMTX splits on every ':', so a
 * ':' in the query cannot work there either), USER at the next; the
 * password is the rest and is dropped unread: nothing here checks
 * passwords, and a copy in *out would only wait to be logged. */
static const char *
take_short(struct span rest, enum sl_srt_mode mode, struct sl_srt_streamid *out)
{
    const char *colon = memchr(rest.p, ':', rest.n);
    struct span res = {rest.p,
                       colon != NULL ? (size_t) (colon - rest.p) : rest.n};
    const char *why;

    out->mode = mode;
    if (colon != NULL) {
        struct span cred = {colon + 1, rest.n - res.n - 1};
        const char *sep = memchr(cred.p, ':', cred.n);

        if (sep == NULL)
            return "bad credentials (:USER:PASS)";
        why = take_user((struct span){cred.p, (size_t) (sep - cred.p)}, out);
        if (why != NULL)
            return why;
    }
    return take_resource(res, out);
}

static const char *
take_id(struct span id, struct sl_srt_streamid *out)
{
    struct span rest;

    if (strip_prefix(id, AC_PREFIX, &rest))
        return take_access_control(rest, out);
    /* "#!" opens every Access Control variant; one this parser does not
     * know must not pass as a bare name beginning with '#'. */
    if (strip_prefix(id, "#!", &rest))
        return "bad access control prefix (#!::)";
    if (strip_prefix(id, "publish:", &rest))
        return take_short(rest, SL_SRT_PUBLISH, out);
    if (strip_prefix(id, "read:", &rest))
        return take_short(rest, SL_SRT_REQUEST, out);
    out->mode = SL_SRT_REQUEST;
    return take_resource(id, out);
}

int
sl_srt_streamid_parse(const char *id, size_t len, struct sl_srt_streamid *out,
                      const char **why)
{
    char        buf[ID_MAX + 1];
    const char *reason;

    memset(out, 0, sizeof(*out));
    if (id == NULL)
        len = 0;
    /* SRT sends the id in 4-byte words padded with NULs: a caller may
     * hand over the padded words, so trailing NULs end the id.  A NUL
     * before another byte is refused below. */
    while (len > 0 && id[len - 1] == '\0')
        len--;
    if (len == 0) {
        reason = "no stream id";
    } else if (len > ID_MAX) {
        reason = "stream id too long";
    } else {
        memcpy(buf, id, len);
        buf[len] = '\0';
        if (memchr(buf, '\0', len) != NULL)
            reason = "NUL inside the stream id";
        else
            reason = take_id((struct span){buf, len}, out);
    }
    if (reason == NULL)
        return 0;
    memset(out, 0, sizeof(*out));
    if (why != NULL)
        *why = reason;
    return -1;
}
