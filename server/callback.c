/*
 * The callback thread: libcurl's multi interface driving every HTTP
 * callback at once, each with its own deadline.
 *
 * Jobs live in one array allocated with the module; a job is on exactly
 * one of: the free list, the submit queue (both under cb->lock), or the
 * multi handle (callback thread only, job->running).  Submitting takes a
 * free job, copies the request into it and wakes the thread; the thread
 * builds the body and the easy handle, so a submitter only ever holds the
 * lock for a copy.  A finished job goes back to the free list, which is
 * what bounds the requests in flight, and then its done() runs.
 *
 * Locks: cb->lock only, a leaf, never held while calling libcurl (but for
 * curl_multi_wakeup(), see submit) or done().
 */
#include "server/callback.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pool/clock.h"
#include "server/log.h"
#include "rtmp/query.h"

/* curl_multi_wakeup() and curl_multi_poll() arrived in 7.68. */
#if LIBCURL_VERSION_NUM < 0x074400
#error "libcurl 7.68 or later is needed"
#endif

#define BODY_LIMIT (64 * 1024)
#define ARG_KEY_MAX 128
#define WARN_EVERY_MS 10000
#define POLL_MS 1000

struct job {
    struct sl_cb_request req;
    sl_cb_done_fn        done;
    void                *arg;
    struct job          *next; /* free list or submit queue (cb->lock) */
    /* The rest belongs to the callback thread. */
    int    running; /* its easy handle is in the multi */
    CURL  *easy;
    char  *body;    /* the JSON we POST (curl does not copy) */
    size_t got;     /* response body bytes read */
    int    too_big; /* we ended the transfer at BODY_LIMIT */
};

struct sl_callbacks {
    pthread_mutex_t    lock;
    struct job        *free_list; /* lock */
    struct job        *q_head;    /* lock: submitted, not yet started */
    struct job        *q_tail;
    int                stopping; /* lock */
    struct job        *jobs;
    int                max;
    CURLM             *multi;
    struct curl_slist *headers; /* shared by every easy handle, read-only */
    pthread_t          thread;
    /* Rate limit of our own WARN lines; any thread. */
    _Atomic uint64_t      warn_at;
    _Atomic unsigned long warn_skipped;
};

static const char *const action_names[] = {
    [SL_CB_CONNECT] = "on_connect",
    [SL_CB_PUBLISH] = "on_publish",
    [SL_CB_PLAY] = "on_play",
    [SL_CB_PUBLISH_DONE] = "on_publish_done",
    [SL_CB_PLAY_DONE] = "on_play_done",
};

const char *
sl_cb_action_name(enum sl_cb_action a)
{
    if ((unsigned) a >= sizeof(action_names) / sizeof(action_names[0]))
        return "?";
    return action_names[a];
}

/* At most one line per WARN_EVERY_MS, counting the ones it swallowed, so
 * a flood of refused clients cannot flood the log. */
static void warn_limited(struct sl_callbacks *cb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
warn_limited(struct sl_callbacks *cb, const char *fmt, ...)
{
    uint64_t      now = sl_now_ms();
    uint64_t      last = atomic_load(&cb->warn_at);
    unsigned long skipped;
    char          msg[200];
    va_list       ap;

    if ((last != 0 && now - last < WARN_EVERY_MS) ||
        !atomic_compare_exchange_strong(&cb->warn_at, &last, now)) {
        atomic_fetch_add(&cb->warn_skipped, 1);
        return;
    }
    skipped = atomic_exchange(&cb->warn_skipped, 0);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (skipped)
        sl_log_warn("callbacks: %s (%lu similar since the last warning)", msg,
                    skipped);
    else
        sl_log_warn("callbacks: %s", msg);
}

/* ---- the request body ---- */

/* A JSON string from a possibly unterminated, possibly non-UTF-8 field:
 * jansson refuses invalid UTF-8, and a client chooses these bytes. */
static json_t *
jstr(const char *s, size_t cap)
{
    char   tmp[1024];
    size_t n = strnlen(s, cap);

    if (n >= sizeof(tmp))
        n = sizeof(tmp) - 1;
    memcpy(tmp, s, n);
    sl_query_scrub_utf8(tmp, n);
    return json_stringn(tmp, n);
}

static json_t *
build_args(const char *query)
{
    json_t              *args = json_object();
    struct sl_query_iter it;
    struct sl_query_pair p;
    char                 key[ARG_KEY_MAX];
    char                 val[sizeof(((struct sl_cb_request *) 0)->query)];
    int                  n = 0, kl, vl;

    if (args == NULL)
        return NULL;
    sl_query_iter_init(&it, query, strlen(query));
    while (n < SL_CB_MAX_ARGS && sl_query_next(&it, &p)) {
        kl = sl_query_decode(p.key, p.key_len, key, sizeof(key));
        vl = sl_query_decode(p.val, p.val_len, val, sizeof(val));
        /* Empty and over-long keys are skipped, and keys with a NUL,
         * which a JSON object key built from a C string cannot hold. */
        if (kl <= 0 || vl < 0 || memchr(key, '\0', (size_t) kl))
            continue;
        sl_query_scrub_utf8(key, (size_t) kl);
        sl_query_scrub_utf8(val, (size_t) vl);
        /* The first occurrence wins, as sl_query_get() reads it. */
        if (json_object_get(args, key) != NULL)
            continue;
        if (json_object_set_new(args, key, json_stringn(val, (size_t) vl))) {
            json_decref(args);
            return NULL;
        }
        n++;
    }
    return args;
}

#define SET_FIELD(o, k, v, ok)                                                 \
    do {                                                                       \
        if (json_object_set_new((o), (k), (v)) != 0)                           \
            (ok) = 0;                                                          \
    } while (0)

/* The JSON body (malloc'd, caller frees), or NULL without memory. */
static char *
build_body(const struct sl_cb_request *r)
{
    json_t *o = json_object();
    char   *s = NULL;
    int     ok = o != NULL;

    if (!ok)
        return NULL;
    SET_FIELD(o, "action", json_string(sl_cb_action_name(r->action)), ok);
    SET_FIELD(o, "app", jstr(r->app, sizeof(r->app)), ok);
    SET_FIELD(o, "name", jstr(r->name, sizeof(r->name)), ok);
    SET_FIELD(o, "addr", jstr(r->addr, sizeof(r->addr)), ok);
    SET_FIELD(o, "client_id", json_integer((json_int_t) r->client_id), ok);
    SET_FIELD(o, "tc_url", jstr(r->tc_url, sizeof(r->tc_url)), ok);
    SET_FIELD(o, "args", build_args(r->query), ok);
    if (ok)
        s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* ---- one transfer ---- */

static size_t
on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct job *j = ud;
    size_t      len = size * nmemb;

    /* The verdict is the status; a body beyond the bound is not worth
     * waiting for (returning short ends the transfer). */
    if (len > BODY_LIMIT - j->got) {
        j->too_big = 1;
        return 0;
    }
    j->got += len;
    return len;
}

/* Unlinks the transfer, frees the job for reuse, then runs done(): the
 * slot is back first so that done() (or the session it wakes) can
 * submit the client's next request even at the bound. */
static void
complete(struct sl_callbacks *cb, struct job *j, const struct sl_cb_result *r)
{
    sl_cb_done_fn done = j->done;
    void         *arg = j->arg;

    if (j->running)
        curl_multi_remove_handle(cb->multi, j->easy);
    j->running = 0;
    if (j->easy)
        curl_easy_cleanup(j->easy);
    j->easy = NULL;
    free(j->body);
    j->body = NULL;
    pthread_mutex_lock(&cb->lock);
    j->next = cb->free_list;
    cb->free_list = j;
    pthread_mutex_unlock(&cb->lock);
    if (done)
        done(arg, r);
}

static void
refuse(struct sl_callbacks *cb, struct job *j, const char *why)
{
    struct sl_cb_result r;

    memset(&r, 0, sizeof(r));
    r.verdict = SL_CB_REFUSE;
    snprintf(r.why, sizeof(r.why), "%s", why);
    complete(cb, j, &r);
}

static uint32_t
timeout_of(const struct sl_cb_request *r)
{
    if (r->timeout_ms == 0)
        return SL_CB_DEFAULT_TIMEOUT;
    return r->timeout_ms > SL_CB_MAX_TIMEOUT ? SL_CB_MAX_TIMEOUT
                                             : r->timeout_ms;
}

/* Only the first failure counts; curl_easy_setopt is a macro with type
 * checks under gcc, so each option is its own statement. */
#define SETOPT(e, opt, val, rc)                                                \
    do {                                                                       \
        if ((rc) == CURLE_OK)                                                  \
            (rc) = curl_easy_setopt((e), (opt), (val));                        \
    } while (0)

static void
start(struct sl_callbacks *cb, struct job *j)
{
    CURLcode rc = CURLE_OK;
    long     t = (long) timeout_of(&j->req);
    CURL    *e;

    j->got = 0;
    j->too_big = 0;
    j->body = build_body(&j->req);
    j->easy = e = curl_easy_init();
    if (j->body == NULL || e == NULL) {
        warn_limited(cb, "out of memory for a request");
        refuse(cb, j, "out of memory");
        return;
    }
    SETOPT(e, CURLOPT_URL, j->req.url, rc);
    SETOPT(e, CURLOPT_PRIVATE, (void *) j, rc);
    SETOPT(e, CURLOPT_NOSIGNAL, 1L, rc);
    SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https", rc);
    SETOPT(e, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1, rc);
    SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L, rc);
    /* An empty proxy: callbacks go straight to the backend, whatever
     * http_proxy the server's environment holds. */
    SETOPT(e, CURLOPT_PROXY, "", rc);
#if LIBCURL_VERSION_NUM >= 0x075700
    /* Without it, a name lookup still running at its deadline makes
     * libcurl join its resolver thread, which holds every other callback
     * (and free) until getaddrinfo() gives up; with it the thread is
     * detached and cleans up after itself. */
    SETOPT(e, CURLOPT_QUICK_EXIT, 1L, rc);
#endif
    SETOPT(e, CURLOPT_TIMEOUT_MS, t, rc);
    SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, t, rc);
    SETOPT(e, CURLOPT_POST, 1L, rc);
    SETOPT(e, CURLOPT_POSTFIELDS, j->body, rc);
    SETOPT(e, CURLOPT_POSTFIELDSIZE, (long) strlen(j->body), rc);
    SETOPT(e, CURLOPT_HTTPHEADER, cb->headers, rc);
#ifdef SL_VERSION
    SETOPT(e, CURLOPT_USERAGENT, "sluice/" SL_VERSION, rc);
#else
    SETOPT(e, CURLOPT_USERAGENT, "sluice", rc);
#endif
    SETOPT(e, CURLOPT_WRITEFUNCTION, on_body, rc);
    SETOPT(e, CURLOPT_WRITEDATA, (void *) j, rc);
    if (rc != CURLE_OK) {
        warn_limited(cb, "cannot set up a request: %s", curl_easy_strerror(rc));
        refuse(cb, j, "cannot set up the request");
        return;
    }
    if (curl_multi_add_handle(cb->multi, e) != CURLM_OK) {
        warn_limited(cb, "cannot add a request to the multi handle");
        refuse(cb, j, "cannot start the request");
        return;
    }
    j->running = 1;
}

/* The Location header of a 3xx into r (REDIRECT), or a REFUSE saying why
 * not.  The value goes to the caller as a stream name or URL, so control
 * bytes and anything that would not fit refuse rather than truncate. */
static void
redirect(struct job *j, struct sl_cb_result *r)
{
    struct curl_header *h = NULL;
    const char         *v;
    size_t              n;

    r->verdict = SL_CB_REFUSE;
    if (curl_easy_header(j->easy, "Location", 0, CURLH_HEADER, -1, &h) !=
            CURLHE_OK ||
        h->value == NULL) {
        snprintf(r->why, sizeof(r->why), "HTTP %d without Location",
                 r->http_status);
        return;
    }
    v = h->value;
    while (*v == ' ' || *v == '\t')
        v++;
    n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n == 0) {
        snprintf(r->why, sizeof(r->why), "HTTP %d with an empty Location",
                 r->http_status);
        return;
    }
    if (n >= sizeof(r->location)) {
        snprintf(r->why, sizeof(r->why), "HTTP %d Location too long",
                 r->http_status);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char) v[i] < 0x20 || v[i] == 0x7f) {
            snprintf(r->why, sizeof(r->why), "HTTP %d bad Location",
                     r->http_status);
            return;
        }
    }
    memcpy(r->location, v, n);
    r->location[n] = '\0';
    r->verdict = SL_CB_REDIRECT;
    snprintf(r->why, sizeof(r->why), "HTTP %d", r->http_status);
}

/* The verdict of a finished transfer.  The why strings never hold the
 * URL: curl's own error buffer would, so only curl_easy_strerror()'s
 * fixed texts are used. */
static void
judge(struct job *j, CURLcode rc, struct sl_cb_result *r)
{
    long code = 0, oserr = 0;

    memset(r, 0, sizeof(*r));
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
    r->http_status = code > 0 && code < 1000 ? (int) code : 0;
    r->verdict = SL_CB_REFUSE;
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && j->too_big)) {
        if (r->http_status >= 200 && r->http_status < 300) {
            r->verdict = SL_CB_ALLOW;
            snprintf(r->why, sizeof(r->why), "HTTP %d", r->http_status);
        } else if (r->http_status >= 300 && r->http_status < 400) {
            redirect(j, r);
        } else {
            snprintf(r->why, sizeof(r->why), "HTTP %d", r->http_status);
        }
        return;
    }
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(r->why, sizeof(r->why), "timed out after %u ms",
                 timeout_of(&j->req));
        break;
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(j->easy, CURLINFO_OS_ERRNO, &oserr);
        if (oserr == ECONNREFUSED)
            snprintf(r->why, sizeof(r->why), "connection refused");
        else if (oserr != 0)
            snprintf(r->why, sizeof(r->why), "cannot connect: %s",
                     strerrordesc_np((int) oserr));
        else
            snprintf(r->why, sizeof(r->why), "cannot connect");
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(r->why, sizeof(r->why), "cannot resolve the host");
        break;
    default:
        snprintf(r->why, sizeof(r->why), "%s", curl_easy_strerror(rc));
        break;
    }
}

/* Completes every transfer curl reports finished. */
static void
reap(struct sl_callbacks *cb)
{
    CURLMsg *m;
    int      left;

    while ((m = curl_multi_info_read(cb->multi, &left)) != NULL) {
        struct sl_cb_result r;
        void               *j = NULL;
        CURLcode            rc = m->data.result;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &j);
        /* m is invalid once the handle is removed (in complete). */
        judge(j, rc, &r);
        complete(cb, j, &r);
    }
}

static void *
run(void *arg)
{
    struct sl_callbacks *cb = arg;
    int                  stopping = 0, running;
    CURLMcode            mc;

    while (!stopping) {
        struct job *q;

        pthread_mutex_lock(&cb->lock);
        q = cb->q_head;
        cb->q_head = cb->q_tail = NULL;
        stopping = cb->stopping;
        pthread_mutex_unlock(&cb->lock);
        while (q != NULL) {
            struct job *next = q->next;

            if (stopping)
                refuse(cb, q, "server stopping");
            else
                start(cb, q);
            q = next;
        }
        if (stopping)
            break;
        mc = curl_multi_perform(cb->multi, &running);
        reap(cb);
        /* Returns on socket activity, curl's next timeout, a wakeup from
         * submit or free, or after POLL_MS. */
        if (mc == CURLM_OK)
            mc = curl_multi_poll(cb->multi, NULL, 0, POLL_MS, NULL);
        if (mc != CURLM_OK) {
            /* Out of memory, most likely: pause rather than spin. */
            warn_limited(cb, "libcurl: %s", curl_multi_strerror(mc));
            nanosleep(&(struct timespec){0, 10000000}, NULL);
        }
    }
    /* Once stopping is seen under the lock no submit adds a job, so
     * these are the last ones. */
    for (int i = 0; i < cb->max; i++) {
        if (cb->jobs[i].running)
            refuse(cb, &cb->jobs[i], "server stopping");
    }
    return NULL;
}

/* ---- the public side ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode       curl_init_rc;

static void
curl_init_once(void)
{
    /* Process-wide and never undone: libcurl may be shared with others,
     * and curl_global_cleanup() is not safe while any thread uses it. */
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sl_callbacks *
sl_callbacks_new(int max_in_flight)
{
    struct sl_callbacks *cb;
    sigset_t             all, old;
    int                  rc;

    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        sl_log_warn("callbacks: libcurl init failed: %s",
                    curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    if (max_in_flight < 1)
        max_in_flight = 1;
    if (max_in_flight > SL_CB_MAX_IN_FLIGHT)
        max_in_flight = SL_CB_MAX_IN_FLIGHT;
    cb = calloc(1, sizeof(*cb));
    if (cb == NULL)
        return NULL;
    cb->max = max_in_flight;
    cb->jobs = calloc((size_t) max_in_flight, sizeof(*cb->jobs));
    cb->multi = curl_multi_init();
    /* No "Expect: 100-continue" round trip for our small bodies. */
    cb->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (cb->headers) {
        struct curl_slist *h = curl_slist_append(cb->headers, "Expect:");

        if (h == NULL) {
            curl_slist_free_all(cb->headers);
            cb->headers = NULL;
        }
    }
    if (cb->jobs == NULL || cb->multi == NULL || cb->headers == NULL) {
        sl_log_warn("callbacks: cannot set up libcurl");
        goto fail;
    }
    for (int i = max_in_flight - 1; i >= 0; i--) {
        cb->jobs[i].next = cb->free_list;
        cb->free_list = &cb->jobs[i];
    }
    pthread_mutex_init(&cb->lock, NULL);
    /* Signals stay with main's sigwait(): the thread inherits this mask.
     * Faults stay deliverable, so a crash here is reported as one. */
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGABRT);
    sigdelset(&all, SIGTRAP);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&cb->thread, NULL, run, cb);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        sl_log_warn("callbacks: cannot start the thread: %s",
                    strerrordesc_np(rc));
        pthread_mutex_destroy(&cb->lock);
        goto fail;
    }
    pthread_setname_np(cb->thread, "sl-callbacks");
    return cb;
fail:
    curl_slist_free_all(cb->headers);
    if (cb->multi)
        curl_multi_cleanup(cb->multi);
    free(cb->jobs);
    free(cb);
    return NULL;
}

static int
url_ok(const char *url, size_t cap)
{
    size_t n = strnlen(url, cap);

    return n < cap && ((n > 7 && strncasecmp(url, "http://", 7) == 0) ||
                       (n > 8 && strncasecmp(url, "https://", 8) == 0));
}

/* Cuts a field at its last byte when the caller left no terminator. */
#define TERMINATE(a) ((a)[sizeof(a) - 1] = '\0')

int
sl_callbacks_submit(struct sl_callbacks *cb, const struct sl_cb_request *req,
                    sl_cb_done_fn done, void *arg)
{
    struct job *j;

    if ((unsigned) req->action > SL_CB_PLAY_DONE ||
        !url_ok(req->url, sizeof(req->url)))
        return -EINVAL;
    pthread_mutex_lock(&cb->lock);
    if (cb->stopping) {
        pthread_mutex_unlock(&cb->lock);
        return -ESHUTDOWN;
    }
    j = cb->free_list;
    if (j == NULL) {
        pthread_mutex_unlock(&cb->lock);
        warn_limited(cb, "%d requests in flight, the limit: %s %s", cb->max,
                     sl_cb_action_name(req->action),
                     done ? "refused" : "not sent");
        return -EAGAIN;
    }
    cb->free_list = j->next;
    j->req = *req;
    TERMINATE(j->req.app);
    TERMINATE(j->req.name);
    TERMINATE(j->req.addr);
    TERMINATE(j->req.tc_url);
    TERMINATE(j->req.query);
    j->done = done;
    j->arg = arg;
    j->next = NULL;
    if (cb->q_tail)
        cb->q_tail->next = j;
    else
        cb->q_head = j;
    cb->q_tail = j;
    /* Under the lock: free() sets stopping under it before it cleans the
     * multi handle up, so this wakeup never meets a freed handle.  It
     * writes one byte to a non-blocking socket. */
    curl_multi_wakeup(cb->multi);
    pthread_mutex_unlock(&cb->lock);
    return 0;
}

void
sl_callbacks_free(struct sl_callbacks *cb)
{
    if (cb == NULL)
        return;
    pthread_mutex_lock(&cb->lock);
    cb->stopping = 1;
    curl_multi_wakeup(cb->multi);
    pthread_mutex_unlock(&cb->lock);
    pthread_join(cb->thread, NULL);
    curl_multi_cleanup(cb->multi);
    curl_slist_free_all(cb->headers);
    pthread_mutex_destroy(&cb->lock);
    free(cb->jobs);
    free(cb);
}
