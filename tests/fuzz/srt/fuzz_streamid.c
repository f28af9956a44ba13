/*
 * libFuzzer target for the SRT stream id parser (srt/streamid.h): the
 * string any SRT caller sets before its handshake completes.  Linked
 * with srt/streamid.c alone, which proves the file pure.
 *
 * For any bytes, handed over in a heap copy of exactly their length (so
 * ASan reports any read past len): the result is 0 or -1.  On -1, *out
 * is all zero and *why a short printable reason.  On 0, *why is not
 * written, the mode is in range, every string is NUL-terminated inside
 * its array, app and name are non-empty printable ASCII without spaces,
 * app holds no '/', APP/NAME neither starts nor ends with '/' (nor does
 * NAME start with one), the user is printable (or empty) and the query
 * holds no control byte.  Trailing NULs change nothing.  An accepted id
 * written back in the Access Control form parses to the same result.
 * Anything else is reported by abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srt/streamid.h"

static const char *const unset = "unset";

static int
parse_exact(const uint8_t *data, size_t size, size_t pad,
            struct sl_srt_streamid *out, const char **why)
{
    char *copy = malloc(size + pad ? size + pad : 1);
    int   rc;

    memcpy(copy, data, size);
    memset(copy + size, 0, pad);
    rc = sl_srt_streamid_parse(copy, size + pad, out, why);
    free(copy);
    return rc;
}

/* NUL-terminated inside its array, and, when word, printable without
 * spaces. */
static void
check_string(const char *s, size_t cap, int word)
{
    const char *end = memchr(s, '\0', cap);

    if (end == NULL)
        abort();
    for (const char *p = s; p < end; p++) {
        unsigned char c = (unsigned char) *p;

        if (word ? c <= 0x20 || c >= 0x7f : c < 0x20 || c == 0x7f)
            abort();
    }
}

static void
check_ok(const struct sl_srt_streamid *s)
{
    size_t n;

    if (s->mode != SL_SRT_REQUEST && s->mode != SL_SRT_PUBLISH)
        abort();
    check_string(s->app, sizeof(s->app), 1);
    check_string(s->name, sizeof(s->name), 1);
    check_string(s->user, sizeof(s->user), 1);
    check_string(s->query, sizeof(s->query), 0);
    n = strlen(s->name);
    if (s->app[0] == '\0' || n == 0 || strchr(s->app, '/') != NULL ||
        s->name[0] == '/' || s->name[n - 1] == '/')
        abort();
    /* The path was cut at the first '?'. */
    if (strchr(s->app, '?') != NULL || strchr(s->name, '?') != NULL)
        abort();
}

static void
check_refused(const struct sl_srt_streamid *s, const char *why)
{
    static const struct sl_srt_streamid zero;

    if (memcmp(s, &zero, sizeof(zero)) != 0 || why == unset || why == NULL ||
        why[0] == '\0' || strlen(why) > 64)
        abort();
    check_string(why, strlen(why) + 1, 0);
}

/* The result written back as "#!::r=APP/NAME[?QUERY],m=MODE[,u=USER]"
 * must parse to itself, when no part holds the ',' that would split it. */
static void
check_round_trip(const struct sl_srt_streamid *s)
{
    struct sl_srt_streamid again;
    const char            *why = unset;
    char                   id[600];
    int                    n;

    if (strchr(s->app, ',') != NULL || strchr(s->name, ',') != NULL ||
        strchr(s->query, ',') != NULL || strchr(s->user, ',') != NULL)
        return;
    n = snprintf(id, sizeof(id), "#!::r=%s/%s%s%s,m=%s%s%s", s->app, s->name,
                 s->query[0] != '\0' ? "?" : "", s->query,
                 s->mode == SL_SRT_PUBLISH ? "publish" : "request",
                 s->user[0] != '\0' ? ",u=" : "", s->user);
    if (n < 0 || (size_t) n >= sizeof(id) || n > 512)
        return;
    if (parse_exact((const uint8_t *) id, (size_t) n, 0, &again, &why) != 0 ||
        memcmp(&again, s, sizeof(again)) != 0)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_srt_streamid s, padded;
    const char            *why = unset, *why2 = unset;
    int                    rc, rc2;

    rc = parse_exact(data, size, 0, &s, &why);
    if (rc == 0) {
        if (why != unset)
            abort();
        check_ok(&s);
        check_round_trip(&s);
    } else if (rc == -1) {
        check_refused(&s, why);
    } else {
        abort();
    }
    /* SRT pads the id with NULs to whole words: padding changes nothing. */
    rc2 = parse_exact(data, size, 1 + size % 4, &padded, &why2);
    if (rc2 != rc || memcmp(&padded, &s, sizeof(s)) != 0 ||
        (rc != 0 && strcmp(why, why2) != 0))
        abort();
    return 0;
}
