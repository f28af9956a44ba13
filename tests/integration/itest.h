/*
 * What the integration suites share: suite registration with a teardown
 * that kills and reaps every child a test left running and removes its
 * temporary folders (so a failed assertion, even a fatal one, leaks
 * nothing), the bounds every wait uses, and the checks several suites
 * make the same way (a closed connection, a child's clean exit, a JSON
 * answer of the API).  Everything here is for the test's main thread
 * unless it says otherwise.
 */
#ifndef SL_ITEST_H
#define SL_ITEST_H

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>

#include "tests/support/media.h"
#include "tests/support/proc.h"
#include "tests/support/rtmp_client.h"

/* Bounds in seconds, scaled by SLUICE_TIME_SCALE.  They bound waits;
 * no test asserts how fast anything happened. */
#define IT_S(x) ((double) (x) *sl_time_scale())

/* Adds a suite whose every test ends with the cleanup teardown. */
CU_pSuite sl_itest_suite(const char *name);

/* Adds a suite whose tests share what init starts (a server, its
 * publishers; init returns 0, or nonzero when the suite cannot run).
 * after_test ends what a test left running but for those (see
 * sl_proc_kill_all_except); once the suite is done, the cleanup kills
 * every child and removes every temporary folder. */
CU_pSuite sl_itest_suite_shared(const char *name, CU_InitializeFunc init,
                                CU_TearDownFunc after_test);

/* Starts a server or fails the test fatally (nothing else can run). */
#define IT_START(srv, keys, sections)                                          \
    CU_ASSERT_FATAL(sl_srv_start((srv), (keys), (sections)) == 0)

/* Stops the server: exit status 0 within the bound, clean log. */
#define IT_STOP(srv) CU_ASSERT(sl_srv_stop(srv) == 0)

/* CU_ASSERT(cond) that shows the two logs' tails (either may be NULL)
 * when it fails. */
#define IT_EXPECT_LOGS(cond, log1, log2)                                       \
    do {                                                                       \
        int ok_ = (cond);                                                      \
        CU_assertImplementation(ok_, __LINE__, #cond, __FILE__, "", CU_FALSE); \
        if (!ok_) {                                                            \
            fprintf(stderr, "  failed at line %d: %s\n", __LINE__, #cond);     \
            sl_show_tail("log", log1);                                         \
            sl_show_tail("log", log2);                                         \
        }                                                                      \
    } while (0)

/* 1 when the server closes c within timeout_s (our read sees the end
 * or a reset) and, within a further IT_S(5), logs a WARN line about
 * that connection (found by c's local port) that contains why; else 0,
 * with which of the two failed on stderr.  Asserts nothing: the caller
 * does.  c stays the caller's to close. */
int sl_itest_expect_closed(const struct sl_srv *srv, struct sl_rc *c,
                           const char *why, double timeout_s);

/* Waits up to timeout_s for the child p, which should end by itself,
 * and asserts that it did and that its exit status is 0; when not, the
 * tail of log (its output; may be NULL) is shown under what.  Always
 * leaves p reaped (SIGKILL past the bound). */
void sl_itest_expect_exit0(struct sl_proc *p, const char *what, const char *log,
                           double timeout_s);

/* GET path from the HTTP API on 127.0.0.1:port (sl_http_get: at most
 * 10 s) and asserts that the status is want_status.  The
 * answer parsed as JSON (caller json_decref()s it), or NULL when the
 * status differs or the body is not JSON (said on stderr).  When body is
 * not NULL it receives the answer's text (NUL-terminated, the caller's
 * to free) when the status matched, NULL otherwise. */
json_t *sl_itest_get_json(int port, const char *path, int want_status,
                          char **body);

/* The member of o at a dotted path ("connections.publishers"), or NULL
 * when one is missing.  The reference is borrowed from o. */
json_t *sl_itest_jpath(json_t *o, const char *path);

/* The string at a dotted path of o, or "" when it is missing or not a
 * string.  Borrowed from o: valid until o is freed. */
const char *sl_itest_jstr(json_t *o, const char *path);

/* A client that reads on a thread of its own while the test goes on:
 * sl_rc_pump(c, timeout_s, stop_on_unpublish) runs there, then the
 * thread ends.  The test must not touch c until it joined. */
struct sl_itest_pump {
    pthread_t     thread;
    struct sl_rc *c;
    double        timeout_s;
    int           stop_on_unpublish;
    int           rc; /* sl_rc_pump's result */
    int           started;
};

int sl_itest_pump_start(struct sl_itest_pump *p, struct sl_rc *c,
                        double timeout_s, int stop_on_unpublish);
/* Joins (the pump is bounded by its timeout) and returns its result. */
int sl_itest_pump_join(struct sl_itest_pump *p);

/* A self-signed P-256 certificate for CN=cn and its key into the files
 * cert and key, made by the openssl CLI (bounded like every child; its
 * output goes to log, shown when it fails).  0, or the exit status. */
int sl_itest_make_cert(const char *cn, const char *cert, const char *key,
                       const char *log);

/* hex(HMAC-SHA256(secret, "APP/NAME?expires=E")) into out: a signed
 * URL's signature written from the documented formula
 * (docs/security.md), not with the server's own code. */
void sl_itest_sign(const char *secret, const char *app, const char *name,
                   long long e, char out[65]);

/* tests/support/callback_server.py, the HTTP callback the suites point
 * on_publish, on_play and friends at: it allows or refuses by path and
 * logs every request as a JSON line in log. */
struct sl_itest_cb {
    struct sl_proc proc;
    int            port;
    char           log[PATH_MAX + 16];
};

/* Starts it with its port and log files in dir (SLUICE_CB_SERVER names
 * another script) and waits until it listens: 0, or -1. */
int sl_itest_cb_start(struct sl_itest_cb *cb, const char *dir);

#endif
