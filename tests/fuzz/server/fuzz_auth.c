/*
 * libFuzzer target for the authorization verdicts (server/auth.h) over
 * client-chosen bytes: a stream name and its query (a publish or play
 * name "NAME?QUERY", split at the first '?'), judged by an app with
 * address rules, stream keys, signed URLs and callbacks, and a
 * callback's Location header applied to the same request.  For any
 * bytes: a verdict is one of the three; a refusal's reason is one of the
 * fixed texts, never the client's bytes; an allowed publish goes on under
 * a listed key's public name; a redirect is followed only to a plain
 * name of the app.  Anything else is reported by abort().
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/access.h"
#include "server/auth.h"
#include "server/callback.h"
#include "server/config.h"

static struct sl_app_config    app, open_app;
static struct sockaddr_storage addr;

static void
setup(void)
{
    char                path[] = "/tmp/sl-fuzz-keys-XXXXXX", err[256];
    int                 fd = mkstemp(path);
    const char          text[] = "f1aa7e5ecr3tk3y cam1\nplainkey99\n";
    struct sockaddr_in *a = (struct sockaddr_in *) &addr;

    if (fd < 0 || write(fd, text, sizeof(text) - 1) != sizeof(text) - 1)
        abort();
    close(fd);
    snprintf(app.name, sizeof(app.name), "live");
    app.publish_keys = sl_keyset_load(path, err, sizeof(err));
    unlink(path);
    if (app.publish_keys == NULL)
        abort();
    snprintf(app.play_secret, sizeof(app.play_secret), "fuzz-secret-123");
    snprintf(app.on_publish, sizeof(app.on_publish), "http://h/p");
    sl_cidr_parse("127.0.0.0/8", &app.allow_play.v[app.allow_play.n++]);
    snprintf(open_app.name, sizeof(open_app.name), "live");
    a->sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
}

/* A reason may be logged and sent: it must be one of the fixed texts,
 * never anything the client wrote (a key, a signature). */
static void
check_reason(const struct sl_auth_verdict *v)
{
    static const char *const reasons[] = {
        "address may neither publish nor play",
        "address not allowed to publish",
        "address not allowed to play",
        "unknown stream key",
        "no signature (expires= and sign= are required)",
        "malformed expires",
        "malformed signature",
        "wrong signature",
        "signature expired",
    };

    if (v->outcome != SL_AUTH_REFUSE)
        return;
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (!strcmp(v->why, reasons[i]))
            return;
    abort();
}

static void
judge(const struct sl_app_config *a, enum sl_auth_kind kind, const char *name,
      const char *query)
{
    struct sl_auth_request rq = {.kind = kind,
                                 .app = a,
                                 .name = name,
                                 .query = query,
                                 .addr = &addr,
                                 .now = 1700000000};
    struct sl_auth_verdict v;
    struct sl_cb_result    r;
    const char            *mapped;

    sl_auth_decide(&rq, &v);
    if (v.outcome != SL_AUTH_ALLOW && v.outcome != SL_AUTH_REFUSE &&
        v.outcome != SL_AUTH_ASK)
        abort();
    check_reason(&v);
    if (kind == SL_AUTH_PUBLISH && a->publish_keys != NULL &&
        v.outcome != SL_AUTH_REFUSE) {
        mapped = sl_keyset_lookup(a->publish_keys, name);
        if (mapped == NULL)
            abort();
        if (v.outcome == SL_AUTH_ALLOW && strcmp(v.name, mapped) != 0)
            abort();
    }
    /* The query bytes as a callback's Location. */
    memset(&r, 0, sizeof(r));
    r.verdict = SL_CB_REDIRECT;
    snprintf(r.location, sizeof(r.location), "%s", query);
    sl_auth_apply_callback(&rq, &r, &v);
    if (v.outcome == SL_AUTH_ALLOW &&
        (kind == SL_AUTH_CONNECT || strchr(v.name, '/') != NULL ||
         v.name[0] == '\0' || strncmp(query, v.name, strlen(v.name)) != 0))
        abort();
    if (v.outcome == SL_AUTH_REFUSE && strcmp(v.redirect, r.location) != 0)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    char       buf[4096], *name, *query;

    if (!ready) {
        setup();
        ready = 1;
    }
    if (size >= sizeof(buf))
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    name = buf;
    query = strchr(buf, '?');
    if (query != NULL)
        *query++ = '\0';
    else
        query = buf + size;
    for (int k = SL_AUTH_CONNECT; k <= SL_AUTH_PLAY; k++) {
        judge(&app, (enum sl_auth_kind) k, name, query);
        judge(&open_app, (enum sl_auth_kind) k, name, query);
    }
    return 0;
}
