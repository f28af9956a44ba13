/*
 * Address rules, stream key files, signed URLs and the app's access keys
 * in the config.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/access.h"
#include "server/config.h"

static struct sockaddr_storage
addr(const char *s)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (strchr(s, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;

        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, s, &a->sin6_addr);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *) &ss;

        a->sin_family = AF_INET;
        inet_pton(AF_INET, s, &a->sin_addr);
    }
    return ss;
}

static void
list_of(struct sl_cidr_list *l, const char *const items[], int n)
{
    l->n = 0;
    for (int i = 0; i < n; i++)
        CU_ASSERT_FATAL(sl_cidr_parse(items[i], &l->v[l->n++]) == 0);
}

static int
matches(const struct sl_cidr_list *l, const char *a)
{
    struct sockaddr_storage ss = addr(a);

    return sl_cidr_list_match(l, &ss);
}

static void
test_cidr(void)
{
    static const char *const items[] = {"10.0.0.0/8", "192.0.2.7",
                                        "2001:db8::/32", "127.0.0.2/31",
                                        "0.0.0.0/0"};
    static const char *const bad[] = {
        "",         "10.0.0.0/33", "10.0.0/8",    "::1/129",
        "1.2.3.4/", "1.2.3.4/x",   "example.com", "1.2.3.4/-1"};
    struct sl_cidr_list l, deny, allow, empty = {0};
    struct sl_cidr      c;

    list_of(&l, items, 4);
    CU_ASSERT(matches(&l, "10.200.3.4"));
    CU_ASSERT(!matches(&l, "11.0.0.1"));
    CU_ASSERT(matches(&l, "192.0.2.7"));
    CU_ASSERT(!matches(&l, "192.0.2.8"));
    CU_ASSERT(matches(&l, "2001:db8:1::5"));
    CU_ASSERT(!matches(&l, "2001:db9::5"));
    /* 127.0.0.2/31 covers .2 and .3, not .1 or .4. */
    CU_ASSERT(matches(&l, "127.0.0.2") && matches(&l, "127.0.0.3"));
    CU_ASSERT(!matches(&l, "127.0.0.1") && !matches(&l, "127.0.0.4"));
    /* An IPv4 client on a dual-stack socket matches IPv4 rules. */
    CU_ASSERT(matches(&l, "::ffff:10.1.2.3"));
    CU_ASSERT(!matches(&l, "::ffff:11.1.2.3"));
    list_of(&l, items + 4, 1);
    CU_ASSERT(matches(&l, "8.8.8.8"));
    CU_ASSERT(!matches(&l, "::1"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT(sl_cidr_parse(bad[i], &c) < 0);

    /* Deny wins; allow rules, when present, must match. */
    list_of(&allow, items, 1); /* 10/8 */
    list_of(&deny, (const char *const[]){"10.9.0.0/16"}, 1);
    {
        struct sockaddr_storage a = addr("10.1.1.1"), b = addr("10.9.1.1"),
                                o = addr("172.16.0.1");

        CU_ASSERT(sl_cidr_allowed(&allow, &deny, &a));
        CU_ASSERT(!sl_cidr_allowed(&allow, &deny, &b));
        CU_ASSERT(!sl_cidr_allowed(&allow, &deny, &o));
        CU_ASSERT(sl_cidr_allowed(&empty, &deny, &o));
        CU_ASSERT(sl_cidr_allowed(&empty, &empty, &o));
    }
}

static char *
write_tmp(const char *text)
{
    static char p[64];
    FILE       *f;
    int         fd;

    snprintf(p, sizeof(p), "/tmp/sl-keys-XXXXXX");
    fd = mkstemp(p);
    if (fd < 0)
        return NULL;
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static void
test_keyset(void)
{
    char              err[256];
    char             *p = write_tmp("# keys\n\nzz-key-1 studio\n"
                                                "aa-key-2\n  mm-key-3\tlobby  \r\n");
    struct sl_keyset *k;

    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    k = sl_keyset_load(p, err, sizeof(err));
    unlink(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_EQUAL(sl_keyset_count(k), 3);
    CU_ASSERT_STRING_EQUAL(sl_keyset_lookup(k, "zz-key-1"), "studio");
    CU_ASSERT_STRING_EQUAL(sl_keyset_lookup(k, "aa-key-2"), "aa-key-2");
    CU_ASSERT_STRING_EQUAL(sl_keyset_lookup(k, "mm-key-3"), "lobby");
    CU_ASSERT_PTR_NULL(sl_keyset_lookup(k, "zz-key-"));
    CU_ASSERT_PTR_NULL(sl_keyset_lookup(k, "zz-key-10"));
    CU_ASSERT_PTR_NULL(sl_keyset_lookup(k, "studio"));
    CU_ASSERT_PTR_NULL(sl_keyset_lookup(k, ""));
    sl_keyset_free(k);

    /* A bad line is reported by number, never quoted. */
    p = write_tmp("good-key\nsecret-one two three\n");
    k = sl_keyset_load(p, err, sizeof(err));
    unlink(p);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2:"));
    CU_ASSERT_PTR_NULL(strstr(err, "secret-one"));
    CU_ASSERT_PTR_NULL(sl_keyset_load("/nonexistent/keys", err, sizeof(err)));
    /* An empty file is a list with no keys: nobody may publish. */
    p = write_tmp("# none yet\n");
    k = sl_keyset_load(p, err, sizeof(err));
    unlink(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_PTR_NULL(sl_keyset_lookup(k, "anything"));
    sl_keyset_free(k);
}

static void
test_signatures(void)
{
    char        sig[65], q[256];
    const char *secret = "s3cret-value";

    sl_sign_make(secret, "live", "cam1", 2000000000LL, sig);
    CU_ASSERT_EQUAL(strlen(sig), 64);
    snprintf(q, sizeof(q), "expires=2000000000&sign=%s", sig);
    CU_ASSERT_PTR_NULL(sl_sign_check(secret, "live", "cam1", q, 1900000000));
    /* Upper-case hex and extra parameters are fine. */
    for (char *c = sig; *c; c++)
        *c = (char) (*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
    snprintf(q, sizeof(q), "x=1&sign=%s&expires=2000000000&y", sig);
    CU_ASSERT_PTR_NULL(sl_sign_check(secret, "live", "cam1", q, 1900000000));
    CU_ASSERT_STRING_EQUAL(sl_sign_check(secret, "live", "cam1", q, 2000000001),
                           "signature expired");
    CU_ASSERT_STRING_EQUAL(sl_sign_check(secret, "live", "cam2", q, 1900000000),
                           "wrong signature");
    CU_ASSERT_STRING_EQUAL(
        sl_sign_check("other-secret", "live", "cam1", q, 1900000000),
        "wrong signature");
    CU_ASSERT_STRING_EQUAL(sl_sign_check(secret, "vod", "cam1", q, 1900000000),
                           "wrong signature");
    snprintf(q, sizeof(q), "expires=2000000001&sign=%s", sig);
    CU_ASSERT_STRING_EQUAL(sl_sign_check(secret, "live", "cam1", q, 1900000000),
                           "wrong signature");
    CU_ASSERT_PTR_NOT_NULL(sl_sign_check(secret, "live", "cam1", "", 0));
    CU_ASSERT_PTR_NOT_NULL(
        sl_sign_check(secret, "live", "cam1", "expires=1", 0));
    CU_ASSERT_STRING_EQUAL(
        sl_sign_check(secret, "live", "cam1", "expires=x&sign=00", 0),
        "malformed expires");
    CU_ASSERT_STRING_EQUAL(
        sl_sign_check(secret, "live", "cam1", "expires=1&sign=00", 0),
        "malformed signature");
    CU_ASSERT_STRING_EQUAL(
        sl_sign_check(secret, "live", "cam1",
                      "expires=1%00&sign="
                      "zz00000000000000000000000000000000000000000000000000000"
                      "000000000",
                      0),
        "malformed expires");
}

static void
test_mask(void)
{
    char out[64];

    sl_mask("abcdefgh12345", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "ab*** (13 chars)");
    sl_mask("abc", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "*** (3 chars)");
}

static struct sl_config *
load(const char *text, char *err, size_t errlen)
{
    char             *p = write_tmp(text);
    struct sl_config *c;

    if (p == NULL)
        return NULL;
    c = sl_config_load(p, err, errlen);
    unlink(p);
    return c;
}

static void
test_config_keys(void)
{
    char                        err[512] = "", text[1024];
    char                       *keys = write_tmp("k1 one\n");
    struct sl_config           *c;
    const struct sl_app_config *a;
    static const struct {
        const char *line, *want, *never;
    } bad[] = {
        {"allow_play = 10.0.0.0/40", "not an address", NULL},
        {"publish_secret = short", "8..127", "short"},
        {"play_secret = has space inside", "without spaces", "inside"},
        {"on_publish = ftp://user:pw@x/", "not an http", "pw@"},
        {"callback_timeout = 0", "100ms..60s", NULL},
        {"publish_keys = /nonexistent/keys", "cannot read", NULL},
    };

    CU_ASSERT_PTR_NOT_NULL_FATAL(keys);
    snprintf(text, sizeof(text),
             "[app:live]\nallow_publish = 10.0.0.0/8, ::1\n"
             "deny_play = 192.0.2.0/24\npublish_keys = %s\n"
             "publish_secret = 0123456789abcdef\n"
             "on_publish = http://127.0.0.1:9/cb\non_done = https://x/done\n"
             "callback_timeout = 1500ms\n[app:open]\n",
             keys);
    c = load(text, err, sizeof(err));
    unlink(keys);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    a = sl_config_app(c, "live");
    CU_ASSERT_EQUAL(a->allow_publish.n, 2);
    CU_ASSERT_EQUAL(a->deny_play.n, 1);
    CU_ASSERT_STRING_EQUAL(sl_keyset_lookup(a->publish_keys, "k1"), "one");
    CU_ASSERT_STRING_EQUAL(a->publish_secret, "0123456789abcdef");
    CU_ASSERT_STRING_EQUAL(a->play_secret, "");
    CU_ASSERT_STRING_EQUAL(a->on_publish, "http://127.0.0.1:9/cb");
    CU_ASSERT_STRING_EQUAL(a->on_done, "https://x/done");
    CU_ASSERT_EQUAL(a->callback_timeout_ms, 1500);
    a = sl_config_app(c, "open");
    CU_ASSERT_PTR_NULL(a->publish_keys);
    CU_ASSERT_EQUAL(a->callback_timeout_ms, 3000);
    sl_config_unref(c);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "[app:live]\n%s\n", bad[i].line);
        err[0] = '\0';
        c = load(text, err, sizeof(err));
        CU_ASSERT_PTR_NULL(c);
        sl_config_unref(c);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2:"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].want));
        if (bad[i].never != NULL)
            CU_ASSERT_PTR_NULL(strstr(err, bad[i].never));
    }
}

/* backup_publish and ingest_timeout (hot standby, server/hub.c). */
static void
test_standby_keys(void)
{
    char                        err[256] = "";
    struct sl_config           *c;
    const struct sl_app_config *a;

    c = load("[app:live]\nbackup_publish = on\ningest_timeout = 1500ms\n"
             "[app:other]\n",
             err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    a = sl_config_app(c, "live");
    CU_ASSERT_EQUAL(a->backup_publish, 1);
    CU_ASSERT_EQUAL(a->ingest_timeout_ms, 1500);
    a = sl_config_app(c, "other");
    CU_ASSERT_EQUAL(a->backup_publish, 0);
    CU_ASSERT_EQUAL(a->ingest_timeout_ms, 5000);
    sl_config_unref(c);
    c = load("[app:live]\ningest_timeout = 100ms\n", err, sizeof(err));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2:"));
    c = load("[app:live]\n\nbackup_publish = maybe\n", err, sizeof(err));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":3:"));
}

void
sl_test_suite_access(void)
{
    CU_pSuite s = CU_add_suite("access", NULL, NULL);

    CU_add_test(s, "CIDR rules, IPv4/IPv6/mapped, allow and deny", test_cidr);
    CU_add_test(s, "stream key files", test_keyset);
    CU_add_test(s, "signed URLs", test_signatures);
    CU_add_test(s, "masking", test_mask);
    CU_add_test(s, "app access keys in the config", test_config_keys);
    CU_add_test(s, "backup_publish and ingest_timeout", test_standby_keys);
}
