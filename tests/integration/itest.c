/*
 * Helpers the integration suites share (see itest.h).
 */
#include "tests/integration/itest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/http_client.h"

static void *
pump_main(void *arg)
{
    struct sl_itest_pump *p = arg;

    p->rc = sl_rc_pump(p->c, p->timeout_s, p->stop_on_unpublish);
    return NULL;
}

int
sl_itest_pump_start(struct sl_itest_pump *p, struct sl_rc *c, double timeout_s,
                    int stop_on_unpublish)
{
    p->c = c;
    p->timeout_s = timeout_s;
    p->stop_on_unpublish = stop_on_unpublish;
    p->rc = -EINVAL;
    p->started = pthread_create(&p->thread, NULL, pump_main, p) == 0;
    return p->started ? 0 : -EAGAIN;
}

int
sl_itest_pump_join(struct sl_itest_pump *p)
{
    if (!p->started)
        return -EINVAL;
    pthread_join(p->thread, NULL);
    p->started = 0;
    return p->rc;
}

int
sl_itest_expect_closed(const struct sl_srv *srv, struct sl_rc *c,
                       const char *why, double timeout_s)
{
    int lport = sl_rc_local_port(c);
    int closed = sl_rc_wait_closed(c, timeout_s) == 0;
    int logged = sl_srv_wait_conn_log(srv, lport, " WARN ", why, IT_S(5)) == 0;

    if (!closed || !logged)
        fprintf(stderr, "  case \"%s\" (port %d): closed %d, logged %d\n", why,
                lport, closed, logged);
    return closed && logged;
}

void
sl_itest_expect_exit0(struct sl_proc *p, const char *what, const char *log,
                      double timeout_s)
{
    int ok = sl_proc_wait(p, timeout_s) == 0 && sl_proc_exited_with(p, 0);

    if (!ok) {
        fprintf(stderr, "  %s did not exit with status 0 within %.0f s\n", what,
                timeout_s);
        sl_show_tail(what, log);
    }
    CU_ASSERT(ok);
    sl_proc_kill(p);
}

json_t *
sl_itest_get_json(int port, const char *path, int want_status, char **body)
{
    struct sl_http_resp r;
    json_error_t        e;
    json_t             *j = NULL;
    int                 st = sl_http_get(port, path, &r);

    if (body != NULL)
        *body = NULL;
    CU_ASSERT_EQUAL(st, want_status);
    if (st == want_status) {
        j = json_loads(r.body, 0, &e);
        if (j == NULL)
            fprintf(stderr, "%s: not JSON: %s\n", path, r.body);
        if (body != NULL) {
            *body = r.body; /* handed over: the free below skips it */
            r.body = NULL;
        }
    }
    sl_http_resp_free(&r);
    return j;
}

json_t *
sl_itest_jpath(json_t *o, const char *path)
{
    char    buf[128], *save = NULL;
    json_t *cur = o;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && cur;
         k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return cur;
}

const char *
sl_itest_jstr(json_t *o, const char *path)
{
    json_t *v = sl_itest_jpath(o, path);

    return json_is_string(v) ? json_string_value(v) : "";
}

int
sl_itest_make_cert(const char *cn, const char *cert, const char *key,
                   const char *log)
{
    char  subj[128];
    char *argv[] = {"openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    subj,
                    "-keyout",
                    (char *) key,
                    "-out",
                    (char *) cert,
                    NULL};
    int   rc;

    snprintf(subj, sizeof(subj), "/CN=%s", cn);
    rc = sl_proc_run(argv, log, log, IT_S(20));
    if (rc != 0)
        sl_show_tail("openssl req", log);
    return rc;
}

void
sl_itest_sign(const char *secret, const char *app, const char *name,
              long long e, char out[65])
{
    char          msg[512];
    unsigned char mac[32];
    unsigned int  len = 0;

    snprintf(msg, sizeof(msg), "%s/%s?expires=%lld", app, name, e);
    HMAC(EVP_sha256(), secret, (int) strlen(secret),
         (const unsigned char *) msg, strlen(msg), mac, &len);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

int
sl_itest_cb_start(struct sl_itest_cb *cb, const char *dir)
{
    char  portf[PATH_MAX + 16], script[PATH_MAX], *text;
    char *argv[] = {"python3", script,  "--port-file", portf,
                    "--log",   cb->log, NULL};

    snprintf(script, sizeof(script), "%s",
             getenv("SLUICE_CB_SERVER") ? getenv("SLUICE_CB_SERVER")
                                        : "tests/support/callback_server.py");
    snprintf(portf, sizeof(portf), "%s/cb.port", dir);
    snprintf(cb->log, sizeof(cb->log), "%s/cb.jsonl", dir);
    if (sl_proc_spawn(&cb->proc, argv, NULL, NULL) < 0)
        return -1;
    for (double end = sl_now() + IT_S(10); sl_now() < end; sl_sleep(0.05)) {
        text = sl_read_file(portf);
        cb->port = text != NULL ? atoi(text) : 0;
        free(text);
        if (cb->port > 0)
            return sl_wait_port(cb->port, IT_S(5));
    }
    return -1;
}
