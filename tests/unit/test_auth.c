/*
 * Authorization verdicts (server/auth.h), without sockets: every rule an
 * app can have, in the order they apply, and every answer a callback can
 * give, each judged on a request built here.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "server/access.h"
#include "server/auth.h"
#include "server/callback.h"
#include "server/config.h"
#include "tests/support/proc.h"

#define SECRET "s3cret-for-tests"
#define KEY_MAPPED "f1aa7e5ecr3tk3y"
#define KEY_PLAIN "pla1nkey99"

static struct sl_app_config    app;
static struct sockaddr_storage v4, v4_other, v4_mapped;
static char                    keys_dir[PATH_MAX];

static void
addr4(struct sockaddr_storage *ss, const char *ip)
{
    struct sockaddr_in *a = (struct sockaddr_in *) ss;

    memset(ss, 0, sizeof(*ss));
    a->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &a->sin_addr);
}

static void
addr6(struct sockaddr_storage *ss, const char *ip)
{
    struct sockaddr_in6 *a = (struct sockaddr_in6 *) ss;

    memset(ss, 0, sizeof(*ss));
    a->sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &a->sin6_addr);
}

static void
rule(struct sl_cidr_list *l, const char *cidr)
{
    CU_ASSERT_FATAL(sl_cidr_parse(cidr, &l->v[l->n]) == 0);
    l->n++;
}

/* A fresh app "live" with no rules. */
static void
reset_app(void)
{
    sl_keyset_free(app.publish_keys);
    memset(&app, 0, sizeof(app));
    snprintf(app.name, sizeof(app.name), "live");
}

static void
load_keys(void)
{
    char path[PATH_MAX + 16], err[256];

    snprintf(path, sizeof(path), "%s/keys", keys_dir);
    CU_ASSERT_FATAL(sl_write_file(path, "# keys\n" KEY_MAPPED
                                        " cam1\n" KEY_PLAIN "\n") == 0);
    app.publish_keys = sl_keyset_load(path, err, sizeof(err));
    CU_ASSERT_FATAL(app.publish_keys != NULL);
}

static struct sl_auth_request
request(enum sl_auth_kind kind, const char *name, const char *query,
        const struct sockaddr_storage *addr)
{
    return (struct sl_auth_request){.kind = kind,
                                    .app = &app,
                                    .name = name,
                                    .query = query,
                                    .addr = addr,
                                    .now = 1700000000};
}

static enum sl_auth_outcome
decide(enum sl_auth_kind kind, const char *name, const char *query,
       const struct sockaddr_storage *addr, struct sl_auth_verdict *v)
{
    struct sl_auth_request rq = request(kind, name, query, addr);

    sl_auth_decide(&rq, v);
    return v->outcome;
}

/* "expires=E&sign=HEX" for app/name. */
static void
signed_query(const char *name, long long expires, char *out, size_t cap)
{
    char sig[65];

    sl_sign_make(SECRET, "live", name, expires, sig);
    snprintf(out, cap, "expires=%lld&sign=%s", expires, sig);
}

static int
init_suite(void)
{
    addr4(&v4, "127.0.0.1");
    addr4(&v4_other, "192.0.2.7");
    addr6(&v4_mapped, "::ffff:127.0.0.1");
    return sl_tmpdir(keys_dir);
}

static int
clean_suite(void)
{
    reset_app();
    return 0;
}

static void
test_open_app_allows_everything(void)
{
    struct sl_auth_verdict v;

    reset_app();
    CU_ASSERT(decide(SL_AUTH_CONNECT, NULL, "", &v4, &v) == SL_AUTH_ALLOW);
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "cam", "", &v4, &v) == SL_AUTH_ALLOW);
    CU_ASSERT_STRING_EQUAL(v.name, "cam");
    CU_ASSERT(decide(SL_AUTH_PLAY, "cam", NULL, &v4, &v) == SL_AUTH_ALLOW);
    CU_ASSERT_STRING_EQUAL(v.name, "cam");
    CU_ASSERT(v.redirected == 0);
}

static void
test_address_rules(void)
{
    struct sl_auth_verdict v;

    /* Publish only from 10/8, play from anywhere but 192.0.2.0/24. */
    reset_app();
    rule(&app.allow_publish, "10.0.0.0/8");
    rule(&app.deny_play, "192.0.2.0/24");
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "cam", "", &v4, &v) == SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "address not allowed to publish");
    CU_ASSERT(decide(SL_AUTH_PLAY, "cam", "", &v4, &v) == SL_AUTH_ALLOW);
    CU_ASSERT(decide(SL_AUTH_PLAY, "cam", "", &v4_other, &v) == SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "address not allowed to play");
    /* 127.0.0.1 may play, so it may connect; 192.0.2.7 may do neither. */
    CU_ASSERT(decide(SL_AUTH_CONNECT, NULL, "", &v4, &v) == SL_AUTH_ALLOW);
    CU_ASSERT(decide(SL_AUTH_CONNECT, NULL, "", &v4_other, &v) ==
              SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "address may neither publish nor play");

    /* Deny wins over allow; an IPv4-mapped IPv6 client matches IPv4. */
    reset_app();
    rule(&app.allow_publish, "127.0.0.0/8");
    rule(&app.deny_publish, "127.0.0.1");
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "cam", "", &v4, &v) == SL_AUTH_REFUSE);
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "cam", "", &v4_mapped, &v) ==
              SL_AUTH_REFUSE);
    reset_app();
    rule(&app.allow_publish, "127.0.0.0/8");
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "cam", "", &v4_mapped, &v) ==
              SL_AUTH_ALLOW);
}

static void
test_stream_keys(void)
{
    struct sl_auth_verdict v;
    struct sl_auth_request rq;
    char                   shown[64];

    reset_app();
    load_keys();
    /* A mapped key publishes under its public name, a plain one under
     * itself; anything else is refused without quoting it. */
    CU_ASSERT(decide(SL_AUTH_PUBLISH, KEY_MAPPED, "", &v4, &v) ==
              SL_AUTH_ALLOW);
    CU_ASSERT_STRING_EQUAL(v.name, "cam1");
    CU_ASSERT(decide(SL_AUTH_PUBLISH, KEY_PLAIN, "", &v4, &v) == SL_AUTH_ALLOW);
    CU_ASSERT_STRING_EQUAL(v.name, KEY_PLAIN);
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "guess-0000", "", &v4, &v) ==
              SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "unknown stream key");
    /* Keys guard publishing only: players use public names. */
    CU_ASSERT(decide(SL_AUTH_PLAY, "cam1", "", &v4, &v) == SL_AUTH_ALLOW);
    /* Logs see a publish name masked, a play name as it is. */
    rq = request(SL_AUTH_PUBLISH, KEY_MAPPED, "", &v4);
    sl_auth_loggable_name(&rq, shown, sizeof(shown));
    CU_ASSERT(strstr(shown, KEY_MAPPED) == NULL);
    CU_ASSERT(strstr(shown, "chars") != NULL);
    rq = request(SL_AUTH_PLAY, "cam1", "", &v4);
    sl_auth_loggable_name(&rq, shown, sizeof(shown));
    CU_ASSERT_STRING_EQUAL(shown, "cam1");
    /* An address rule comes before the key. */
    rule(&app.deny_publish, "127.0.0.1");
    CU_ASSERT(decide(SL_AUTH_PUBLISH, KEY_MAPPED, "", &v4, &v) ==
              SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "address not allowed to publish");
}

static void
test_signed_urls(void)
{
    struct sl_auth_verdict v;
    char                   q[256], other[256];
    long long              now = 1700000000;

    reset_app();
    snprintf(app.publish_secret, sizeof(app.publish_secret), SECRET);
    snprintf(app.play_secret, sizeof(app.play_secret), SECRET);
    signed_query("cam", now + 60, q, sizeof(q));
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "cam", q, &v4, &v) == SL_AUTH_ALLOW);
    CU_ASSERT(decide(SL_AUTH_PLAY, "cam", q, &v4, &v) == SL_AUTH_ALLOW);
    /* Expired, signed for another name, tampered, missing, malformed. */
    signed_query("cam", now - 1, q, sizeof(q));
    CU_ASSERT(decide(SL_AUTH_PLAY, "cam", q, &v4, &v) == SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "signature expired");
    signed_query("other", now + 60, other, sizeof(other));
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "cam", other, &v4, &v) == SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "wrong signature");
    signed_query("cam", now + 60, q, sizeof(q));
    q[strlen(q) - 1] = q[strlen(q) - 1] == '0' ? '1' : '0';
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "cam", q, &v4, &v) == SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "wrong signature");
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "cam", "", &v4, &v) == SL_AUTH_REFUSE);
    CU_ASSERT(strstr(v.why, "no signature") == v.why);
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "cam", NULL, &v4, &v) == SL_AUTH_REFUSE);
    CU_ASSERT(decide(SL_AUTH_PLAY, "cam", "expires=soon&sign=zz", &v4, &v) ==
              SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "malformed expires");
    /* The key is judged before the signature: a wrong key with a good
     * signature still says unknown key. */
    load_keys();
    signed_query("guess", now + 60, q, sizeof(q));
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "guess", q, &v4, &v) == SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "unknown stream key");
    /* A signed publish with a mapped key: signed for the key. */
    signed_query(KEY_MAPPED, now + 60, q, sizeof(q));
    CU_ASSERT(decide(SL_AUTH_PUBLISH, KEY_MAPPED, q, &v4, &v) == SL_AUTH_ALLOW);
    CU_ASSERT_STRING_EQUAL(v.name, "cam1");
}

static void
test_callbacks_are_asked_last(void)
{
    struct sl_auth_verdict v;

    reset_app();
    snprintf(app.on_connect, sizeof(app.on_connect), "http://h/connect");
    snprintf(app.on_publish, sizeof(app.on_publish), "http://h/publish");
    snprintf(app.on_play, sizeof(app.on_play), "http://h/play");
    CU_ASSERT(decide(SL_AUTH_CONNECT, NULL, "", &v4, &v) == SL_AUTH_ASK);
    CU_ASSERT(v.callback == app.on_connect);
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "cam", "", &v4, &v) == SL_AUTH_ASK);
    CU_ASSERT(v.callback == app.on_publish);
    CU_ASSERT(decide(SL_AUTH_PLAY, "cam", "", &v4, &v) == SL_AUTH_ASK);
    CU_ASSERT(v.callback == app.on_play);
    /* Cheaper rules refuse without asking. */
    load_keys();
    CU_ASSERT(decide(SL_AUTH_PUBLISH, "guess", "", &v4, &v) == SL_AUTH_REFUSE);
    rule(&app.deny_play, "127.0.0.1");
    CU_ASSERT(decide(SL_AUTH_PLAY, "cam", "", &v4, &v) == SL_AUTH_REFUSE);
}

static void
answer(struct sl_cb_result *r, enum sl_cb_verdict verdict, int status,
       const char *location, const char *why)
{
    memset(r, 0, sizeof(*r));
    r->verdict = verdict;
    r->http_status = status;
    snprintf(r->location, sizeof(r->location), "%s", location);
    snprintf(r->why, sizeof(r->why), "%s", why);
}

static void
test_callback_answers(void)
{
    struct sl_auth_request rq;
    struct sl_auth_verdict v;
    struct sl_cb_result    r;

    reset_app();
    load_keys();
    /* 2xx: a publish goes on under the key's public name, a play under
     * its own. */
    rq = request(SL_AUTH_PUBLISH, KEY_MAPPED, NULL, &v4);
    answer(&r, SL_CB_ALLOW, 200, "", "HTTP 200");
    sl_auth_apply_callback(&rq, &r, &v);
    CU_ASSERT(v.outcome == SL_AUTH_ALLOW);
    CU_ASSERT_STRING_EQUAL(v.name, "cam1");
    rq = request(SL_AUTH_PLAY, "cam1", NULL, &v4);
    sl_auth_apply_callback(&rq, &r, &v);
    CU_ASSERT(v.outcome == SL_AUTH_ALLOW);
    CU_ASSERT_STRING_EQUAL(v.name, "cam1");
    rq = request(SL_AUTH_CONNECT, NULL, NULL, &v4);
    sl_auth_apply_callback(&rq, &r, &v);
    CU_ASSERT(v.outcome == SL_AUTH_ALLOW);

    /* A refusal and a timeout say what the callback client saw. */
    rq = request(SL_AUTH_PLAY, "cam1", NULL, &v4);
    answer(&r, SL_CB_REFUSE, 403, "", "HTTP 403");
    sl_auth_apply_callback(&rq, &r, &v);
    CU_ASSERT(v.outcome == SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "callback said no (HTTP 403)");
    CU_ASSERT_STRING_EQUAL(v.redirect, "");
    answer(&r, SL_CB_REFUSE, 0, "", "timed out after 3000 ms");
    sl_auth_apply_callback(&rq, &r, &v);
    CU_ASSERT(v.outcome == SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "callback said no (timed out after 3000 ms)");

    /* A redirect to another stream of the app moves the request there
     * (its query dropped); to a URL, or for a connect, it refuses and
     * hands the Location to the client. */
    answer(&r, SL_CB_REDIRECT, 302, "other?token=1", "HTTP 302");
    sl_auth_apply_callback(&rq, &r, &v);
    CU_ASSERT(v.outcome == SL_AUTH_ALLOW);
    CU_ASSERT(v.redirected == 1);
    CU_ASSERT_STRING_EQUAL(v.name, "other");
    answer(&r, SL_CB_REDIRECT, 302, "rtmp://edge2/live/cam1", "HTTP 302");
    sl_auth_apply_callback(&rq, &r, &v);
    CU_ASSERT(v.outcome == SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.why, "callback redirected elsewhere");
    CU_ASSERT_STRING_EQUAL(v.redirect, "rtmp://edge2/live/cam1");
    answer(&r, SL_CB_REDIRECT, 302, "other/app", "HTTP 302");
    sl_auth_apply_callback(&rq, &r, &v);
    CU_ASSERT(v.outcome == SL_AUTH_REFUSE);
    rq = request(SL_AUTH_CONNECT, NULL, NULL, &v4);
    answer(&r, SL_CB_REDIRECT, 302, "other", "HTTP 302");
    sl_auth_apply_callback(&rq, &r, &v);
    CU_ASSERT(v.outcome == SL_AUTH_REFUSE);
    CU_ASSERT_STRING_EQUAL(v.redirect, "other");
}

static void
test_kind_names(void)
{
    CU_ASSERT_STRING_EQUAL(sl_auth_kind_name(SL_AUTH_CONNECT), "connect");
    CU_ASSERT_STRING_EQUAL(sl_auth_kind_name(SL_AUTH_PUBLISH), "publish");
    CU_ASSERT_STRING_EQUAL(sl_auth_kind_name(SL_AUTH_PLAY), "play");
}

void
sl_test_suite_auth(void)
{
    CU_pSuite s = CU_add_suite("auth", init_suite, clean_suite);

    CU_add_test(s, "an app without rules allows everything",
                test_open_app_allows_everything);
    CU_add_test(s, "address rules: allow, deny, connect, IPv4-mapped",
                test_address_rules);
    CU_add_test(s, "stream keys: mapped, plain, unknown, masked in logs",
                test_stream_keys);
    CU_add_test(s,
                "signed URLs: valid, expired, other name, tampered, "
                "missing, malformed",
                test_signed_urls);
    CU_add_test(s, "callbacks are asked after every other rule",
                test_callbacks_are_asked_last);
    CU_add_test(s, "callback answers: allow, refuse, timeout, redirects",
                test_callback_answers);
    CU_add_test(s, "kind names", test_kind_names);
}
