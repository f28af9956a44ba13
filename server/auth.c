/*
 * Authorization verdicts (see auth.h).  A refusal's reason names the
 * rule, never a key, a signature or a query string.
 */
#include "server/auth.h"

#include <stdio.h>
#include <string.h>

#include "server/access.h"
#include "server/callback.h"
#include "server/config.h"

const char *
sl_auth_kind_name(enum sl_auth_kind kind)
{
    switch (kind) {
    case SL_AUTH_CONNECT:
        return "connect";
    case SL_AUTH_PUBLISH:
        return "publish";
    case SL_AUTH_PLAY:
        return "play";
    default:
        return "?";
    }
}

void
sl_auth_loggable_name(const struct sl_auth_request *rq, char *out, size_t cap)
{
    if (rq->name == NULL)
        snprintf(out, cap, "%s", "");
    else if (rq->kind == SL_AUTH_PUBLISH && rq->app->publish_keys != NULL)
        sl_mask(rq->name, out, cap);
    else
        snprintf(out, cap, "%s", rq->name);
}

static void
allow(struct sl_auth_verdict *v, const char *name)
{
    v->outcome = SL_AUTH_ALLOW;
    snprintf(v->name, sizeof(v->name), "%s", name != NULL ? name : "");
}

static void
refuse(struct sl_auth_verdict *v, const char *why)
{
    v->outcome = SL_AUTH_REFUSE;
    snprintf(v->why, sizeof(v->why), "%s", why);
}

static void
ask(struct sl_auth_verdict *v, const char *url)
{
    v->outcome = SL_AUTH_ASK;
    v->callback = url;
}

/* The signature check of the request's kind, when the app signs it. */
static const char *
signature_problem(const struct sl_auth_request *rq)
{
    const struct sl_app_config *app = rq->app;
    const char                 *secret =
        rq->kind == SL_AUTH_PUBLISH ? app->publish_secret : app->play_secret;

    if (secret[0] == '\0')
        return NULL;
    return sl_sign_check(secret, app->name, rq->name,
                         rq->query != NULL ? rq->query : "", rq->now);
}

static void
decide_connect(const struct sl_auth_request *rq, struct sl_auth_verdict *v)
{
    const struct sl_app_config *app = rq->app;

    if (!sl_cidr_allowed(&app->allow_publish, &app->deny_publish, rq->addr) &&
        !sl_cidr_allowed(&app->allow_play, &app->deny_play, rq->addr))
        refuse(v, "address may neither publish nor play");
    else if (app->on_connect[0] != '\0')
        ask(v, app->on_connect);
    else
        allow(v, NULL);
}

static void
decide_publish(const struct sl_auth_request *rq, struct sl_auth_verdict *v)
{
    const struct sl_app_config *app = rq->app;
    const char                 *name = rq->name, *why;

    if (!sl_cidr_allowed(&app->allow_publish, &app->deny_publish, rq->addr)) {
        refuse(v, "address not allowed to publish");
        return;
    }
    if (app->publish_keys != NULL) {
        name = sl_keyset_lookup(app->publish_keys, rq->name);
        if (name == NULL) {
            refuse(v, "unknown stream key");
            return;
        }
    }
    if ((why = signature_problem(rq)) != NULL)
        refuse(v, why);
    else if (app->on_publish[0] != '\0')
        ask(v, app->on_publish);
    else
        allow(v, name);
}

static void
decide_play(const struct sl_auth_request *rq, struct sl_auth_verdict *v)
{
    const struct sl_app_config *app = rq->app;
    const char                 *why;

    if (!sl_cidr_allowed(&app->allow_play, &app->deny_play, rq->addr))
        refuse(v, "address not allowed to play");
    else if ((why = signature_problem(rq)) != NULL)
        refuse(v, why);
    else if (app->on_play[0] != '\0')
        ask(v, app->on_play);
    else
        allow(v, rq->name);
}

void
sl_auth_decide(const struct sl_auth_request *rq, struct sl_auth_verdict *v)
{
    memset(v, 0, sizeof(*v));
    switch (rq->kind) {
    case SL_AUTH_CONNECT:
        decide_connect(rq, v);
        break;
    case SL_AUTH_PUBLISH:
        decide_publish(rq, v);
        break;
    case SL_AUTH_PLAY:
        decide_play(rq, v);
        break;
    default:
        refuse(v, "no such request");
        break;
    }
}

/* A Location naming another stream of this app ("name", "name?args")
 * into out; 0, or -1 when it is anything else (a URL). */
static int
location_name(const char *loc, char *out, size_t cap)
{
    size_t len = strcspn(loc, "?");

    if (len == 0 || len >= cap || strstr(loc, "://") != NULL)
        return -1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) loc[i] <= ' ' || (unsigned char) loc[i] >= 0x7f ||
            loc[i] == '/')
            return -1;
    memcpy(out, loc, len);
    out[len] = '\0';
    return 0;
}

void
sl_auth_apply_callback(const struct sl_auth_request *rq,
                       const struct sl_cb_result *r, struct sl_auth_verdict *v)
{
    const struct sl_app_config *app = rq->app;
    char                        target[SL_NAME_MAX];

    memset(v, 0, sizeof(*v));
    if (r->verdict == SL_CB_REDIRECT) {
        if (rq->kind == SL_AUTH_CONNECT ||
            location_name(r->location, target, sizeof(target)) < 0) {
            refuse(v, "callback redirected elsewhere");
            snprintf(v->redirect, sizeof(v->redirect), "%s", r->location);
            return;
        }
        allow(v, target);
        v->redirected = 1;
        return;
    }
    if (r->verdict != SL_CB_ALLOW) {
        snprintf(v->why, sizeof(v->why), "callback said no (%.160s)", r->why);
        v->outcome = SL_AUTH_REFUSE;
        return;
    }
    if (rq->kind == SL_AUTH_PUBLISH && app->publish_keys != NULL) {
        /* The key was checked before the callback went out, against
         * the same config (a session keeps the one it started with). */
        const char *mapped = sl_keyset_lookup(app->publish_keys, rq->name);

        allow(v, mapped != NULL ? mapped : rq->name);
        return;
    }
    allow(v, rq->name);
}
