/*
 * Connection limits: with max_connections = 3, connections beyond the
 * third are closed at once with a WARN line, the first three complete the
 * handshake and connect as usual, and once one of them leaves a newcomer
 * is accepted again.  Several acceptor threads share the port.
 */
#include <stdio.h>

#include "tests/integration/itest.h"

#define LIMIT 3
#define EXTRA 3

static void
test_max_connections(void)
{
    struct sl_srv srv;
    struct sl_rc *ok[LIMIT], *over[EXTRA], *later;
    double        deadline;

    IT_START(&srv, "max_connections = 3\nacceptors = 2\n", NULL);
    for (int i = 0; i < LIMIT; i++) {
        ok[i] = sl_rc_open(srv.port, 0, IT_S(5));
        CU_ASSERT_FATAL(ok[i] != NULL);
        CU_ASSERT(sl_rc_handshake(ok[i], IT_S(5)) == 0);
        CU_ASSERT(sl_rc_connect(ok[i], "live", IT_S(5)) == 0);
    }
    for (int i = 0; i < EXTRA; i++) {
        over[i] = sl_rc_open(srv.port, 0, IT_S(5));
        CU_ASSERT_FATAL(over[i] != NULL);
        /* The server hangs up without a word of RTMP. */
        CU_ASSERT(sl_rc_wait_closed(over[i], IT_S(5)) == 0);
        CU_ASSERT(sl_srv_wait_conn_log(&srv, sl_rc_local_port(over[i]),
                                       " WARN ", "max_connections (3)",
                                       IT_S(5)) == 0);
        sl_rc_close(over[i]);
    }
    /* The three that got in still work. */
    for (int i = 0; i < LIMIT; i++)
        CU_ASSERT(sl_rc_create_stream(ok[i], IT_S(5)) == 1);
    sl_rc_close(ok[0]);
    CU_ASSERT(sl_wait_file_count(srv.log, "peer closed the connection", 1,
                                 IT_S(5)) == 0);
    /* The log line comes as the close begins; the slot frees when the
     * session has finished, a moment later (longer on a loaded machine),
     * so a newcomer refused in between tries again within the bound. */
    deadline = sl_now() + IT_S(5);
    for (;;) {
        later = sl_rc_open(srv.port, 0, IT_S(5));
        CU_ASSERT_FATAL(later != NULL);
        if (sl_rc_handshake(later, IT_S(5)) == 0 || sl_now() > deadline)
            break;
        sl_rc_close(later);
        sl_sleep(0.05);
    }
    CU_ASSERT(sl_rc_connect(later, "live", IT_S(5)) == 0);
    sl_rc_close(later);
    for (int i = 1; i < LIMIT; i++)
        sl_rc_close(ok[i]);
    IT_STOP(&srv);
}

void
sl_itest_suite_limits(void)
{
    CU_pSuite s = sl_itest_suite("limits");

    CU_add_test(s, "max_connections refuses the excess, not the rest",
                test_max_connections);
}
