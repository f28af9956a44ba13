/*
 * Helpers the integration suites share (see itest.h).
 */
#include "tests/integration/itest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
