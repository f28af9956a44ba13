#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srt/streamid.h"

static struct sl_srt_streamid sid;
static const char            *why;

/* Parses id[0..len) from a heap copy of exactly len bytes, with no NUL
 * after it: ASan reports any read past len. */
static int
parse_n(const char *id, size_t len)
{
    char *copy = malloc(len ? len : 1);
    int   rc;

    memcpy(copy, id, len);
    why = NULL;
    rc = sl_srt_streamid_parse(copy, len, &sid, &why);
    free(copy);
    return rc;
}

static int
parse(const char *id)
{
    return parse_n(id, strlen(id));
}

/* Accepted with exactly these fields. */
static void
check_ok(const char *id, enum sl_srt_mode mode, const char *app,
         const char *name, const char *query, const char *user)
{
    int rc = parse(id);

    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NULL(why);
    if (rc != 0)
        return;
    CU_ASSERT_EQUAL(sid.mode, mode);
    CU_ASSERT_STRING_EQUAL(sid.app, app);
    CU_ASSERT_STRING_EQUAL(sid.name, name);
    CU_ASSERT_STRING_EQUAL(sid.query, query);
    CU_ASSERT_STRING_EQUAL(sid.user, user);
}

/* Refused with this reason, and *out left all zero. */
static void
check_refused_n(const char *id, size_t len, const char *reason)
{
    static const struct sl_srt_streamid zero;

    memset(&sid, 0xa5, sizeof(sid));
    CU_ASSERT_EQUAL(parse_n(id, len), -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CU_ASSERT_STRING_EQUAL(why, reason);
    CU_ASSERT_EQUAL(memcmp(&sid, &zero, sizeof(sid)), 0);
}

static void
check_refused(const char *id, const char *reason)
{
    check_refused_n(id, strlen(id), reason);
}

static void
test_access_control(void)
{
    check_ok("#!::r=live/cam,m=publish", SL_SRT_PUBLISH, "live", "cam", "", "");
    check_ok("#!::m=request,r=live/cam", SL_SRT_REQUEST, "live", "cam", "", "");
    /* u, s, t=stream and keys of other servers. */
    check_ok("#!::u=bob,r=live/cam,s=5f3a,t=stream,x=1,ke=y", SL_SRT_REQUEST,
             "live", "cam", "", "bob");
    /* An empty user is no user. */
    check_ok("#!::u=,r=live/cam", SL_SRT_REQUEST, "live", "cam", "", "");
    /* NAME may hold '/'; both ends of the path are trimmed. */
    check_ok("#!::r=/live/cam/hd/,m=publish", SL_SRT_PUBLISH, "live", "cam/hd",
             "", "");
}

static void
test_default_mode(void)
{
    check_ok("#!::r=live/cam", SL_SRT_REQUEST, "live", "cam", "", "");
    check_ok("#!::r=live/cam,u=eve", SL_SRT_REQUEST, "live", "cam", "", "eve");
    check_ok("live/cam", SL_SRT_REQUEST, "live", "cam", "", "");
}

/* A value runs from the first '=' to the next ',': a query's '=', '&'
 * and '?' pass as written, with no percent decoding. */
static void
test_query(void)
{
    check_ok("#!::r=live/cam?key=abc&sig=a%2Bb=,m=publish", SL_SRT_PUBLISH,
             "live", "cam", "key=abc&sig=a%2Bb=", "");
    check_ok("#!::r=live/cam?a=1?b=2/x", SL_SRT_REQUEST, "live", "cam",
             "a=1?b=2/x", "");
    /* A query of bytes above 0x7e and spaces is kept as it came. */
    check_ok("live/cam?n=caf\xc3\xa9 x", SL_SRT_REQUEST, "live", "cam",
             "n=caf\xc3\xa9 x", "");
    /* '?' and nothing after it: no query. */
    check_ok("live/cam?", SL_SRT_REQUEST, "live", "cam", "", "");
    /* The query is cut before the path is trimmed. */
    check_ok("live/cam/?t=1", SL_SRT_REQUEST, "live", "cam", "t=1", "");
}

static void
test_srs(void)
{
    check_ok("#!::h=live/stream,m=publish", SL_SRT_PUBLISH, "live", "stream",
             "", "");
    check_ok("#!::h=example.com,r=live/stream?secret=abc,m=publish",
             SL_SRT_PUBLISH, "live", "stream", "secret=abc", "");
    check_ok("#!::h=live/stream?secret=abc", SL_SRT_REQUEST, "live", "stream",
             "secret=abc", "");
    /* r wins over an h that looks like a resource. */
    check_ok("#!::h=other/one,r=live/cam", SL_SRT_REQUEST, "live", "cam", "",
             "");
    /* An h without '/' is a host, not a resource. */
    check_refused("#!::h=example.com,m=publish", "no resource (r=APP/NAME)");
}

static void
test_mediamtx(void)
{
    check_ok("publish:live/cam", SL_SRT_PUBLISH, "live", "cam", "", "");
    check_ok("read:live/cam", SL_SRT_REQUEST, "live", "cam", "", "");
    check_ok("publish:live/cam?token=x&a=1", SL_SRT_PUBLISH, "live", "cam",
             "token=x&a=1", "");
    /* The user is kept, the password (':' and all) dropped. */
    check_ok("publish:live/cam:alice:s3cr:et", SL_SRT_PUBLISH, "live", "cam",
             "", "alice");
    check_ok("read:live/cam?k=v:bob:pw", SL_SRT_REQUEST, "live", "cam", "k=v",
             "bob");
    check_ok("read:live/cam::", SL_SRT_REQUEST, "live", "cam", "", "");
    check_refused("read:live/cam:bob", "bad credentials (:USER:PASS)");
    check_refused("publish:live/cam:b b:pw", "bad character in user name");
    check_refused("publish:", "bad resource (not APP/NAME)");
    /* Only the lower-case prefixes are the short forms: this is a bare
     * name whose app is "Read:live". */
    check_ok("Read:live/cam", SL_SRT_REQUEST, "Read:live", "cam", "", "");
}

static void
test_bare(void)
{
    check_ok("live/cam", SL_SRT_REQUEST, "live", "cam", "", "");
    check_ok("/live/cam/", SL_SRT_REQUEST, "live", "cam", "", "");
    /* The run of '/' after APP is all separator; later ones are NAME's. */
    check_ok("live//cam//hd", SL_SRT_REQUEST, "live", "cam//hd", "", "");
    check_ok("live/cam?key=s3cret", SL_SRT_REQUEST, "live", "cam", "key=s3cret",
             "");
}

static void
test_refusals(void)
{
    check_refused("", "no stream id");
    check_refused_n("\0\0\0\0", 4, "no stream id");
    check_refused("#!::", "no resource (r=APP/NAME)");
    check_refused("#!::m=publish,u=bob", "no resource (r=APP/NAME)");
    check_refused("#!::r=live/cam,m=bidirectional",
                  "mode bidirectional is not supported");
    check_refused("#!::r=live/cam,m=play", "bad mode (m=request or m=publish)");
    check_refused("#!::r=live/cam,m=Publish",
                  "bad mode (m=request or m=publish)");
    check_refused("#!::r=live/cam,m=", "bad mode (m=request or m=publish)");
    check_refused("#!::r=live/cam,t=file",
                  "only type stream (t=stream) is supported");
    check_refused("#!::r=live/cam,t=auth",
                  "only type stream (t=stream) is supported");
    check_refused("#!::r=live/cam,r=live/other", "key r given twice");
    check_refused("#!::m=publish,r=live/cam,m=publish", "key m given twice");
    check_refused("#!::h=a,r=live/cam,h=b", "key h given twice");
    check_refused("#!::x=1,r=live/cam,x=1", "a key given twice");
    check_refused("#!::r=live/cam,", "bad key=value pair");
    check_refused("#!::r=live/cam,,m=publish", "bad key=value pair");
    check_refused("#!::r=live/cam,publish", "bad key=value pair");
    check_refused("#!::=x,r=live/cam", "bad key=value pair");
    check_refused("#!:r=live/cam", "bad access control prefix (#!::)");
    check_refused("#!live/cam", "bad access control prefix (#!::)");
    check_refused("live/c am", "bad character in resource");
    check_refused("live/c\x01m", "bad character in resource");
    check_refused("live/c\x7fm", "bad character in resource");
    check_refused("live/caf\xc3\xa9", "bad character in resource");
    check_refused("#!::r=live/cam?k=\x1b[2J", "bad character in query");
    check_refused("live", "bad resource (not APP/NAME)");
    check_refused("live/", "bad resource (not APP/NAME)");
    check_refused("/live//", "bad resource (not APP/NAME)");
    check_refused("///", "bad resource (not APP/NAME)");
    check_refused("?k=v", "bad resource (not APP/NAME)");
    check_refused("#!::r=", "bad resource (not APP/NAME)");
    check_refused("#!::r=live/cam,u=b\tb", "bad character in user name");
}

/* Names of SL_NAME_MAX - 1 bytes pass, SL_NAME_MAX is refused; the same
 * for the user. */
static void
test_name_limits(void)
{
    char a[SL_NAME_MAX + 1], id[600];

    memset(a, 'a', SL_NAME_MAX);
    a[SL_NAME_MAX - 1] = '\0';
    snprintf(id, sizeof(id), "%s/cam", a);
    CU_ASSERT_EQUAL(parse(id), 0);
    CU_ASSERT_EQUAL(strlen(sid.app), SL_NAME_MAX - 1);
    snprintf(id, sizeof(id), "live/%s", a);
    CU_ASSERT_EQUAL(parse(id), 0);
    CU_ASSERT_EQUAL(strlen(sid.name), SL_NAME_MAX - 1);
    snprintf(id, sizeof(id), "#!::u=%s,r=live/cam", a);
    CU_ASSERT_EQUAL(parse(id), 0);
    CU_ASSERT_EQUAL(strlen(sid.user), SL_NAME_MAX - 1);

    a[SL_NAME_MAX - 1] = 'a';
    a[SL_NAME_MAX] = '\0';
    snprintf(id, sizeof(id), "%s/cam", a);
    check_refused(id, "app name too long");
    snprintf(id, sizeof(id), "live/%s", a);
    check_refused(id, "stream name too long");
    /* A long NAME made of parts still counts whole. */
    snprintf(id, sizeof(id), "live/%.64s/%.63s", a, a);
    check_refused(id, "stream name too long");
    snprintf(id, sizeof(id), "#!::u=%s,r=live/cam", a);
    check_refused(id, "user name too long");
    snprintf(id, sizeof(id), "publish:live/cam:%s:pw", a);
    check_refused(id, "user name too long");
}

/* 512 bytes is the most SRT carries: an id of 512 passes, 513 does not,
 * but NULs padding a shorter id to any length are dropped. */
static void
test_id_length(void)
{
    char id[1024];

    memcpy(id, "#!::r=live/cam?k=", 17);
    memset(id + 17, 'x', sizeof(id) - 17);
    CU_ASSERT_EQUAL(parse_n(id, 512), 0);
    CU_ASSERT_EQUAL(strlen(sid.query), 512 - 15);
    check_refused_n(id, 513, "stream id too long");
    check_refused_n(id, sizeof(id), "stream id too long");

    memset(id + 17, '\0', sizeof(id) - 17);
    id[17] = 'v';
    CU_ASSERT_EQUAL(parse_n(id, sizeof(id)), 0);
    CU_ASSERT_STRING_EQUAL(sid.query, "k=v");
}

static void
test_nul(void)
{
    /* In the middle: refused, wherever it falls. */
    check_refused_n("live/c\0am", 9, "NUL inside the stream id");
    check_refused_n("\0live/cam", 9, "NUL inside the stream id");
    check_refused_n("#!::r=live/cam,\0m=publish", 25,
                    "NUL inside the stream id");
    check_refused_n("#!::r=live/cam,m=publish\0\0x\0", 28,
                    "NUL inside the stream id");
    /* Trailing: the padding SRT adds to whole words. */
    CU_ASSERT_EQUAL(parse_n("read:live/cam\0\0\0", 16), 0);
    CU_ASSERT_STRING_EQUAL(sid.name, "cam");
}

/* Only id[0..len) is read: the bytes after it are not part of the id,
 * whatever they are, and an id need not end in a NUL. */
static void
test_len_bound(void)
{
    const char *full = "#!::r=live/cam?k=v,m=publish,u=bob";
    size_t      n = strlen(full);

    CU_ASSERT_EQUAL(parse_n("live/camera", 8), 0);
    CU_ASSERT_STRING_EQUAL(sid.name, "cam");
    CU_ASSERT_EQUAL(parse_n("#!::r=live/cam,m=publisher", 24), 0);
    CU_ASSERT_EQUAL(sid.mode, SL_SRT_PUBLISH);
    /* Every prefix, each in a buffer that ends where it does. */
    for (size_t len = 0; len <= n; len++) {
        int rc = parse_n(full, len);

        CU_ASSERT(rc == 0 || rc == -1);
        if (len == n) {
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_EQUAL(sid.mode, SL_SRT_PUBLISH);
            CU_ASSERT_STRING_EQUAL(sid.user, "bob");
        }
    }
    /* NULL with no bytes is no id. */
    why = NULL;
    CU_ASSERT_EQUAL(sl_srt_streamid_parse(NULL, 0, &sid, &why), -1);
    CU_ASSERT_STRING_EQUAL(why, "no stream id");
}

/* *why is written only on -1 and may be NULL; on -1 *out is zero. */
static void
test_why(void)
{
    const char *w = "untouched";

    CU_ASSERT_EQUAL(sl_srt_streamid_parse("live/cam", 8, &sid, &w), 0);
    CU_ASSERT_STRING_EQUAL(w, "untouched");
    CU_ASSERT_EQUAL(sl_srt_streamid_parse("live", 4, &sid, NULL), -1);
    CU_ASSERT_EQUAL(sid.app[0], '\0');
    /* The reason never quotes the id. */
    CU_ASSERT_EQUAL(
        sl_srt_streamid_parse("#!::r=live/s3cret,t=file", 24, &sid, &w), -1);
    CU_ASSERT_PTR_NULL(strstr(w, "s3cret"));
}

void
sl_test_suite_srt_streamid(void)
{
    CU_pSuite s = CU_add_suite("srt_streamid", NULL, NULL);

    CU_add_test(s, "access control: r, m, u, s, t, other keys",
                test_access_control);
    CU_add_test(s, "no m: a request", test_default_mode);
    CU_add_test(s, "query kept as written, '=' '&' '?' included", test_query);
    CU_add_test(s, "SRS: h= as the resource, h= host with r=", test_srs);
    CU_add_test(s, "MediaMTX: publish: and read:, user kept", test_mediamtx);
    CU_add_test(s, "bare APP/NAME: a request, slashes trimmed", test_bare);
    CU_add_test(s, "refusals: each with its reason, *out zero", test_refusals);
    CU_add_test(s, "app, name and user: SL_NAME_MAX - 1 at most",
                test_name_limits);
    CU_add_test(s, "512 bytes at most, NUL padding dropped", test_id_length);
    CU_add_test(s, "a NUL inside is refused, trailing ones dropped", test_nul);
    CU_add_test(s, "nothing read past len", test_len_bound);
    CU_add_test(s, "why: only on -1, may be NULL, never quotes", test_why);
}
