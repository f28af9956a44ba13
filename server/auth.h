/*
 * Authorization of connect, publish and play, as verdicts.
 *
 * Pure decisions on a request and the app's config: the address rules,
 * stream keys and signed URLs of access.h, then whether the app's HTTP
 * callback must be asked.  Nothing here sends, waits, logs or knows a
 * session: the command state machine (rtmp_cmd.c) submits the callback,
 * parks the request and applies the answer with sl_auth_apply_callback,
 * and acts on every verdict (start, refuse, or wait).  Any thread.
 *
 * Order of the checks, cheapest and least revealing first: address
 * rules, stream key, signature, callback.  A reason never holds a key,
 * a signature or a query string, so it may be logged and sent.
 */
#ifndef SL_AUTH_H
#define SL_AUTH_H

#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "rtmp/rtmp.h"

struct sl_app_config;
struct sl_cb_result;

enum sl_auth_kind {
    SL_AUTH_NONE = 0, /* no request (a parked request's empty slot) */
    SL_AUTH_CONNECT,
    SL_AUTH_PUBLISH,
    SL_AUTH_PLAY
};

/* What is decided on.  The strings are the caller's and only read. */
struct sl_auth_request {
    enum sl_auth_kind           kind;
    const struct sl_app_config *app;     /* the app connected to */
    const char                 *name;    /* as requested; NULL: connect */
    const char                 *query;   /* its query, or the connect's;
                                          * "" or NULL: none */
    const struct sockaddr_storage *addr; /* the client's address */
    time_t                         now;  /* for signature expiry */
};

enum sl_auth_outcome {
    SL_AUTH_ALLOW,  /* go on, under name */
    SL_AUTH_REFUSE, /* why says why; redirect may name a URL */
    SL_AUTH_ASK     /* POST to callback and wait for its answer */
};

struct sl_auth_verdict {
    enum sl_auth_outcome outcome;
    /* ALLOW (publish, play): the stream name to use: the public name a
     * stream key maps to, a callback's redirect target, or the name as
     * requested. */
    char name[SL_NAME_MAX];
    /* REFUSE: the rule that refused ("unknown stream key", "signature
     * expired", "callback said no (HTTP 403)", ...). */
    char why[200];
    /* REFUSE by a callback's redirect to somewhere this server cannot
     * follow (a URL, or any redirect of a connect): the Location, for
     * the client.  "" otherwise. */
    char redirect[SL_URL_MAX];
    /* ALLOW after a callback redirected a publish or play to another
     * stream of the app (name holds it): the caller logs the move. */
    int redirected;
    /* ASK: the app's callback URL for this kind (a pointer into the
     * config, valid while the caller holds it). */
    const char *callback;
};

/* Decides rq: ALLOW, REFUSE or ASK.  Never fails. */
void sl_auth_decide(const struct sl_auth_request *rq,
                    struct sl_auth_verdict       *v);

/* Applies the callback's answer r to the request rq that was ASKed
 * (rq->name as it was requested; query and now are not used): 2xx
 * allows (a publish under the key's mapped name), a 3xx naming another
 * stream of the app allows that stream, any other redirect refuses with
 * the Location, anything else refuses with the callback's reason. */
void sl_auth_apply_callback(const struct sl_auth_request *rq,
                            const struct sl_cb_result    *r,
                            struct sl_auth_verdict       *v);

/* The name of a request as logs may show it: masked when it may be a
 * stream key (a publish to an app with publish_keys), else as is.
 * NULL name: "". */
void sl_auth_loggable_name(const struct sl_auth_request *rq, char *out,
                           size_t cap);

/* "connect", "publish" or "play". */
const char *sl_auth_kind_name(enum sl_auth_kind kind);

#endif
