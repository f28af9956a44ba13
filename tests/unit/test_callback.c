/*
 * The HTTP callback client against tests/support/callback_server.py, a
 * child process on a free loopback port in a temp folder.  Every wait is
 * bounded (scaled by SLUICE_TIME_SCALE); the child is stopped by its pid.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/callback.h"
#include "tests/support/proc.h"

#define SCRIPT "tests/support/callback_server.py"
#define SLOTS 256

static struct sl_proc backend;
static char           dir[PATH_MAX];
static char           port_file[PATH_MAX + 16];
static char           log_path[PATH_MAX + 16];
static int            port;

static int
start_backend(void)
{
    char  *argv[] = {"python3", SCRIPT,   "--port-file", port_file,
                     "--log",   log_path, NULL};
    char   err[PATH_MAX + 16];
    char  *text;
    double deadline;

    if (sl_tmpdir(dir) < 0)
        return -1;
    snprintf(port_file, sizeof(port_file), "%s/port", dir);
    snprintf(log_path, sizeof(log_path), "%s/requests.log", dir);
    snprintf(err, sizeof(err), "%s/server.err", dir);
    if (sl_proc_spawn(&backend, argv, err, err) < 0)
        return -1;
    deadline = sl_now() + 10 * sl_time_scale();
    while ((text = sl_read_file(port_file)) == NULL) {
        if (sl_now() > deadline || sl_proc_wait(&backend, 0) == 0) {
            sl_proc_kill(&backend);
            return -1;
        }
        sl_sleep(0.05);
    }
    port = atoi(text);
    free(text);
    if (port <= 0 || sl_wait_port(port, 10 * sl_time_scale()) < 0) {
        sl_proc_kill(&backend);
        return -1;
    }
    return 0;
}

/* Never fails the suite (the runner does not count a suite whose set-up
 * failed): without a backend port stays 0 and every test fails at
 * NEED_BACKEND(). */
static int
suite_init(void)
{
    if (start_backend() < 0) {
        fprintf(stderr,
                "callback_server.py did not start (python3 missing? see "
                "%s/server.err)\n",
                dir);
        port = 0;
    }
    return 0;
}

#define NEED_BACKEND() CU_ASSERT_FATAL(port > 0)

static int
suite_clean(void)
{
    sl_proc_kill(&backend);
    sl_tmpdir_remove_all();
    return 0;
}

/* ---- completions ---- */

struct waiter {
    pthread_mutex_t     lock;
    int                 n;            /* done() calls in all */
    int                 calls[SLOTS]; /* per request */
    double              at[SLOTS];    /* when it came */
    struct sl_cb_result res[SLOTS];
};

struct slot {
    struct waiter *w;
    int            i;
};

static struct slot slots[SLOTS];

static struct waiter *
waiter_new(void)
{
    struct waiter *w = calloc(1, sizeof(*w));

    pthread_mutex_init(&w->lock, NULL);
    for (int i = 0; i < SLOTS; i++)
        slots[i] = (struct slot){w, i};
    return w;
}

static void
waiter_free(struct waiter *w)
{
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static void
on_done(void *arg, const struct sl_cb_result *r)
{
    struct slot *s = arg;

    pthread_mutex_lock(&s->w->lock);
    s->w->calls[s->i]++;
    s->w->res[s->i] = *r;
    s->w->at[s->i] = sl_now();
    s->w->n++;
    pthread_mutex_unlock(&s->w->lock);
}

static int
done_count(struct waiter *w)
{
    int n;

    pthread_mutex_lock(&w->lock);
    n = w->n;
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* Waits up to timeout_s (scaled) for n done() calls; 1 when they came. */
static int
wait_done(struct waiter *w, int n, double timeout_s)
{
    double deadline = sl_now() + timeout_s * sl_time_scale();

    while (done_count(w) < n) {
        if (sl_now() > deadline)
            return 0;
        sl_sleep(0.005);
    }
    return 1;
}

static void
req_init(struct sl_cb_request *r, enum sl_cb_action action, const char *path,
         const char *name, const char *query, uint32_t timeout_ms)
{
    memset(r, 0, sizeof(*r));
    r->action = action;
    snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d%s", port, path);
    snprintf(r->app, sizeof(r->app), "live");
    snprintf(r->name, sizeof(r->name), "%s", name);
    snprintf(r->addr, sizeof(r->addr), "127.0.0.1");
    r->client_id = 7;
    snprintf(r->tc_url, sizeof(r->tc_url), "rtmp://127.0.0.1/live");
    snprintf(r->query, sizeof(r->query), "%s", query);
    r->timeout_ms = timeout_ms;
}

/* One request to path on a module of its own; its result into *out.
 * Returns the seconds it took, or -1 when done() never came. */
static double
one(const char *path, uint32_t timeout_ms, struct sl_cb_result *out)
{
    struct sl_callbacks *cb = sl_callbacks_new(4);
    struct waiter       *w = waiter_new();
    struct sl_cb_request r;
    double               t0 = sl_now(), took = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
    req_init(&r, SL_CB_PUBLISH, path, "cam1", "key=secret", timeout_ms);
    CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[0]), 0);
    if (wait_done(w, 1, 10)) {
        took = w->at[0] - t0;
        *out = w->res[0];
    }
    sl_callbacks_free(cb);
    CU_ASSERT_EQUAL(w->calls[0], 1);
    waiter_free(w);
    return took;
}

/* ---- the backend's log ---- */

/* The first request the backend logged whose path contains tag (new
 * reference), waiting up to 5 s (scaled) for it. */
static json_t *
logged(const char *tag)
{
    double deadline = sl_now() + 5 * sl_time_scale();

    for (;;) {
        char *text = sl_read_file(log_path);
        char *line, *save = NULL;

        for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
            json_t     *e = json_loads(line, 0, NULL);
            const char *path = json_string_value(json_object_get(e, "path"));

            if (path && strstr(path, tag)) {
                free(text);
                return e;
            }
            json_decref(e);
        }
        free(text);
        if (sl_now() > deadline)
            return NULL;
        sl_sleep(0.05);
    }
}

static const char *
jget(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);

    return json_string_value(b ? json_object_get(v, b) : v);
}

/* ---- tests ---- */

static void
test_allow(void)
{
    struct sl_cb_result r;

    NEED_BACKEND();
    CU_ASSERT_FATAL(one("/allow", 3000, &r) >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_ALLOW);
    CU_ASSERT_EQUAL(r.http_status, 200);
    CU_ASSERT_STRING_EQUAL(r.why, "HTTP 200");
    /* A body far beyond the 64 KiB bound: the status still decides. */
    CU_ASSERT_FATAL(one("/big?kib=4096", 3000, &r) >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_ALLOW);
    CU_ASSERT_EQUAL(r.http_status, 200);
}

static void
test_refuse_statuses(void)
{
    struct sl_cb_result r;

    NEED_BACKEND();
    CU_ASSERT_FATAL(one("/deny", 3000, &r) >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_REFUSE);
    CU_ASSERT_EQUAL(r.http_status, 403);
    CU_ASSERT_STRING_EQUAL(r.why, "HTTP 403");
    CU_ASSERT_FATAL(one("/status?code=500", 3000, &r) >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_REFUSE);
    CU_ASSERT_EQUAL(r.http_status, 500);
    CU_ASSERT_FATAL(one("/status?code=404", 3000, &r) >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_REFUSE);
    CU_ASSERT_EQUAL(r.http_status, 404);
    /* A 3xx is only a redirect with somewhere to go. */
    CU_ASSERT_FATAL(one("/status?code=302", 3000, &r) >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_REFUSE);
    CU_ASSERT_EQUAL(r.http_status, 302);
    CU_ASSERT_STRING_EQUAL(r.why, "HTTP 302 without Location");
    CU_ASSERT_FATAL(one("/redirect?to=", 3000, &r) >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_REFUSE);
    CU_ASSERT_EQUAL(r.http_status, 302);
}

static void
test_redirect(void)
{
    struct sl_cb_result r;

    NEED_BACKEND();
    CU_ASSERT_FATAL(one("/redirect?to=cam2", 3000, &r) >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_REDIRECT);
    CU_ASSERT_EQUAL(r.http_status, 302);
    CU_ASSERT_STRING_EQUAL(r.location, "cam2");
    CU_ASSERT_FATAL(
        one("/redirect?to=rtmp://origin.example/live/x", 3000, &r) >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_REDIRECT);
    CU_ASSERT_STRING_EQUAL(r.location, "rtmp://origin.example/live/x");
    /* One that does not fit refuses rather than truncates. */
    CU_ASSERT_FATAL(one("/redirect?to=n&repeat=512", 3000, &r) >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_REFUSE);
    CU_ASSERT_EQUAL(r.http_status, 302);
    CU_ASSERT_STRING_EQUAL(r.why, "HTTP 302 Location too long");
    CU_ASSERT_STRING_EQUAL(r.location, "");
    /* 511 bytes and the NUL fit exactly. */
    CU_ASSERT_FATAL(one("/redirect?to=n&repeat=511", 3000, &r) >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_REDIRECT);
    CU_ASSERT_EQUAL(strlen(r.location), 511);
}

static void
test_timeout(void)
{
    struct sl_cb_result r;
    double              took;

    NEED_BACKEND();
    took = one("/slow?s=10", 300, &r);
    CU_ASSERT_FATAL(took >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_REFUSE);
    CU_ASSERT_EQUAL(r.http_status, 0);
    CU_ASSERT_STRING_EQUAL(r.why, "timed out after 300 ms");
    /* The backend sleeps 10 s: the answer came from the deadline. */
    CU_ASSERT(took < 5 * sl_time_scale());
}

static void
test_connection_refused(void)
{
    struct sl_cb_result r;
    char                path[64];
    int                 saved = port;
    double              took;

    NEED_BACKEND();
    /* Nobody listens on a port that was free a moment ago. */
    port = sl_free_port();
    CU_ASSERT_FATAL(port > 0);
    snprintf(path, sizeof(path), "/hook?token=secret");
    took = one(path, 3000, &r);
    port = saved;
    CU_ASSERT_FATAL(took >= 0);
    CU_ASSERT_EQUAL(r.verdict, SL_CB_REFUSE);
    CU_ASSERT_EQUAL(r.http_status, 0);
    CU_ASSERT_STRING_EQUAL(r.why, "connection refused");
    CU_ASSERT(took < 2 * sl_time_scale()); /* well before the deadline */
}

static void
test_body(void)
{
    struct sl_callbacks *cb;
    struct waiter       *w;
    struct sl_cb_request r;
    json_t              *e, *body, *args;
    char                 many[1024];
    size_t               off = 0;

    NEED_BACKEND();
    cb = sl_callbacks_new(4);
    w = waiter_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
    req_init(&r, SL_CB_PUBLISH, "/allow?tag=body1", "cam1",
             "k=v&sig=a%2Bb%3D&e=&flag&sp=a+b&k=second&%ff=x%fe&=skip&"
             "u=%C3%A9",
             3000);
    r.client_id = 1234567890123ull;
    CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[0]), 0);
    /* A connect has no name; 40 pairs are cut to SL_CB_MAX_ARGS. */
    for (int i = 0; i < 40; i++)
        off +=
            (size_t) snprintf(many + off, sizeof(many) - off, "a%d=%d&", i, i);
    req_init(&r, SL_CB_CONNECT, "/allow?tag=body2", "", many, 3000);
    CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[1]), 0);
    CU_ASSERT_FATAL(wait_done(w, 2, 10));
    sl_callbacks_free(cb);

    e = logged("tag=body1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    body = json_object_get(e, "body");
    args = json_object_get(body, "args");
    CU_ASSERT_STRING_EQUAL(jget(e, "method", NULL), "POST");
    CU_ASSERT_STRING_EQUAL(jget(e, "headers", "content-type"),
                           "application/json");
    CU_ASSERT_STRING_EQUAL(jget(e, "headers", "user-agent"),
                           "sluice/" SL_VERSION);
    CU_ASSERT_PTR_NULL(jget(e, "headers", "expect"));
    CU_ASSERT_STRING_EQUAL(jget(body, "action", NULL), "on_publish");
    CU_ASSERT_STRING_EQUAL(jget(body, "app", NULL), "live");
    CU_ASSERT_STRING_EQUAL(jget(body, "name", NULL), "cam1");
    CU_ASSERT_STRING_EQUAL(jget(body, "addr", NULL), "127.0.0.1");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(body, "client_id")),
                    1234567890123ll);
    CU_ASSERT_STRING_EQUAL(jget(body, "tc_url", NULL), "rtmp://127.0.0.1/live");
    CU_ASSERT_EQUAL(json_object_size(body), 7);
    /* Decoded; the first k wins; no empty key; bad UTF-8 made '?'. */
    CU_ASSERT_STRING_EQUAL(jget(args, "k", NULL), "v");
    CU_ASSERT_STRING_EQUAL(jget(args, "sig", NULL), "a+b=");
    CU_ASSERT_STRING_EQUAL(jget(args, "e", NULL), "");
    CU_ASSERT_STRING_EQUAL(jget(args, "flag", NULL), "");
    CU_ASSERT_STRING_EQUAL(jget(args, "sp", NULL), "a b");
    CU_ASSERT_STRING_EQUAL(jget(args, "?", NULL), "x?");
    CU_ASSERT_STRING_EQUAL(jget(args, "u", NULL), "\xc3\xa9");
    CU_ASSERT_EQUAL(json_object_size(args), 7);
    json_decref(e);

    e = logged("tag=body2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    body = json_object_get(e, "body");
    CU_ASSERT_STRING_EQUAL(jget(body, "action", NULL), "on_connect");
    CU_ASSERT_STRING_EQUAL(jget(body, "name", NULL), "");
    args = json_object_get(body, "args");
    CU_ASSERT_EQUAL(json_object_size(args), SL_CB_MAX_ARGS);
    CU_ASSERT_STRING_EQUAL(jget(args, "a0", NULL), "0");
    CU_ASSERT_STRING_EQUAL(jget(args, "a31", NULL), "31");
    CU_ASSERT_PTR_NULL(json_object_get(args, "a32"));
    json_decref(e);
    waiter_free(w);
}

static void
test_rules_and_fire_and_forget(void)
{
    struct sl_callbacks *cb;
    struct waiter       *w;
    struct sl_cb_request r;
    const char          *names[] = {"ok1", "bad1", "moved1", "other"};

    NEED_BACKEND();
    cb = sl_callbacks_new(8);
    w = waiter_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
    for (int i = 0; i < 4; i++) {
        req_init(&r, SL_CB_PLAY, "/rules?to=cam9", names[i], "", 3000);
        CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[i]), 0);
    }
    /* A notification: no done(), but it reaches the backend. */
    req_init(&r, SL_CB_PUBLISH_DONE, "/rules?tag=ff1", "bad1", "", 3000);
    CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, NULL, NULL), 0);
    CU_ASSERT_FATAL(wait_done(w, 4, 10));
    CU_ASSERT_EQUAL(w->res[0].verdict, SL_CB_ALLOW);
    CU_ASSERT_EQUAL(w->res[1].verdict, SL_CB_REFUSE);
    CU_ASSERT_EQUAL(w->res[1].http_status, 403);
    CU_ASSERT_EQUAL(w->res[2].verdict, SL_CB_REDIRECT);
    CU_ASSERT_STRING_EQUAL(w->res[2].location, "cam9");
    CU_ASSERT_EQUAL(w->res[3].verdict, SL_CB_REFUSE);
    CU_ASSERT_EQUAL(w->res[3].http_status, 404);
    json_t *e = logged("tag=ff1");
    CU_ASSERT_PTR_NOT_NULL(e);
    CU_ASSERT_STRING_EQUAL(jget(json_object_get(e, "body"), "action", NULL),
                           "on_publish_done");
    json_decref(e);
    sl_callbacks_free(cb);
    CU_ASSERT_EQUAL(done_count(w), 4);
    waiter_free(w);
}

static void
test_rejects_bad_requests(void)
{
    struct sl_callbacks *cb = sl_callbacks_new(2);
    struct sl_cb_request r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
    req_init(&r, SL_CB_PUBLISH, "/allow", "cam1", "", 3000);
    snprintf(r.url, sizeof(r.url), "ftp://127.0.0.1/x");
    CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[0]), -EINVAL);
    snprintf(r.url, sizeof(r.url), "http://");
    CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[0]), -EINVAL);
    memset(r.url, 'h', sizeof(r.url)); /* no terminator */
    CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[0]), -EINVAL);
    req_init(&r, (enum sl_cb_action) 99, "/allow", "cam1", "", 3000);
    CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[0]), -EINVAL);
    sl_callbacks_free(cb);
    sl_callbacks_free(NULL);
}

/* max_in_flight bounds queued plus running; free completes them all. */
static void
test_bound_then_free(void)
{
    struct sl_callbacks *cb;
    struct waiter       *w;
    struct sl_cb_request r;
    double               t0;

    NEED_BACKEND();
    cb = sl_callbacks_new(4);
    w = waiter_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
    req_init(&r, SL_CB_PUBLISH, "/slow?s=10&tag=bound", "cam1", "", 10000);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[i]), 0);
    CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[4]), -EAGAIN);
    r.action = SL_CB_PUBLISH_DONE;
    CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, NULL, NULL), -EAGAIN);
    CU_ASSERT_EQUAL(done_count(w), 0);
    t0 = sl_now();
    sl_callbacks_free(cb);
    /* Whether still queued or already sent, each got its answer before
     * free returned, and promptly: the backend would take 10 s. */
    CU_ASSERT(sl_now() - t0 < 3 * sl_time_scale());
    CU_ASSERT_EQUAL(done_count(w), 4);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(w->calls[i], 1);
        CU_ASSERT_EQUAL(w->res[i].verdict, SL_CB_REFUSE);
        CU_ASSERT_STRING_EQUAL(w->res[i].why, "server stopping");
    }
    CU_ASSERT_EQUAL(w->calls[4], 0);
    waiter_free(w);
}

/* A slot is free again by the time done() runs, so a caller at the
 * bound can send its client's next request from there. */
static void
test_bound_frees_on_completion(void)
{
    struct sl_callbacks *cb;
    struct waiter       *w;
    struct sl_cb_request r;

    NEED_BACKEND();
    cb = sl_callbacks_new(1);
    w = waiter_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
    req_init(&r, SL_CB_PLAY, "/allow", "cam1", "", 3000);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL_FATAL(sl_callbacks_submit(cb, &r, on_done, &slots[i]),
                              0);
        CU_ASSERT_FATAL(wait_done(w, i + 1, 10));
    }
    sl_callbacks_free(cb);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(w->calls[i], 1);
        CU_ASSERT_EQUAL(w->res[i].verdict, SL_CB_ALLOW);
    }
    waiter_free(w);
}

static void
test_free_with_requests_in_flight(void)
{
    struct sl_callbacks *cb;
    struct waiter       *w;
    struct sl_cb_request r;
    double               t0;

    NEED_BACKEND();
    cb = sl_callbacks_new(16);
    w = waiter_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
    req_init(&r, SL_CB_PLAY, "/slow?s=10&tag=inflight", "cam1", "", 10000);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[i]), 0);
    /* All three reached the backend: they are in flight, not queued. */
    CU_ASSERT(sl_wait_file_count(log_path, "tag=inflight", 3,
                                 5 * sl_time_scale()) == 0);
    CU_ASSERT_EQUAL(done_count(w), 0);
    t0 = sl_now();
    sl_callbacks_free(cb);
    CU_ASSERT(sl_now() - t0 < 3 * sl_time_scale());
    CU_ASSERT_EQUAL(done_count(w), 3);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(w->calls[i], 1);
        CU_ASSERT_EQUAL(w->res[i].verdict, SL_CB_REFUSE);
        CU_ASSERT_EQUAL(w->res[i].http_status, 0);
        CU_ASSERT_STRING_EQUAL(w->res[i].why, "server stopping");
    }
    waiter_free(w);
}

static void
test_many_concurrent(void)
{
    struct sl_callbacks *cb;
    struct waiter       *w;
    struct sl_cb_request r;
    int                  n = 200;

    NEED_BACKEND();
    cb = sl_callbacks_new(SLOTS);
    w = waiter_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
    for (int i = 0; i < n; i++) {
        req_init(&r, SL_CB_PLAY, i % 4 == 3 ? "/deny" : "/allow", "cam1", "",
                 10000);
        r.client_id = (uint64_t) i;
        CU_ASSERT_EQUAL(sl_callbacks_submit(cb, &r, on_done, &slots[i]), 0);
    }
    CU_ASSERT(wait_done(w, n, 30));
    sl_callbacks_free(cb);
    CU_ASSERT_EQUAL(done_count(w), n);
    for (int i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(w->calls[i], 1);
        CU_ASSERT_EQUAL(w->res[i].verdict,
                        i % 4 == 3 ? SL_CB_REFUSE : SL_CB_ALLOW);
        CU_ASSERT_EQUAL(w->res[i].http_status, i % 4 == 3 ? 403 : 200);
    }
    waiter_free(w);
}

/* Last: the backend stops cleanly on SIGTERM even with /slow sleepers. */
static void
test_backend_exits_on_sigterm(void)
{
    NEED_BACKEND();
    CU_ASSERT_EQUAL(sl_proc_stop(&backend, SIGTERM, 5 * sl_time_scale()), 0);
    CU_ASSERT(sl_proc_exited_with(&backend, 0));
}

void
sl_test_suite_callback(void)
{
    CU_pSuite s = CU_add_suite("callback", suite_init, suite_clean);

    CU_add_test(s, "2xx allows, a huge body too", test_allow);
    CU_add_test(s, "4xx, 5xx, 3xx without Location refuse",
                test_refuse_statuses);
    CU_add_test(s, "3xx with Location redirects, too long refuses",
                test_redirect);
    CU_add_test(s, "timeout refuses: timed out after 300 ms", test_timeout);
    CU_add_test(s, "nobody listening refuses at once", test_connection_refused);
    CU_add_test(s, "JSON body: every field, decoded args, bounded", test_body);
    CU_add_test(s, "rules by name; fire and forget is sent",
                test_rules_and_fire_and_forget);
    CU_add_test(s, "bad URL or action rejected", test_rejects_bad_requests);
    CU_add_test(s, "bound: -EAGAIN when full, free refuses the rest",
                test_bound_then_free);
    CU_add_test(s, "bound: a completed request frees its slot",
                test_bound_frees_on_completion);
    CU_add_test(s, "free with requests in flight: REFUSE, promptly",
                test_free_with_requests_in_flight);
    CU_add_test(s, "200 concurrent requests all complete once",
                test_many_concurrent);
    CU_add_test(s, "backend exits 0 on SIGTERM", test_backend_exits_on_sigterm);
}
