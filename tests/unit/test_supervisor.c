/*
 * The master's restart back-off (the process handling itself is driven
 * by the integration suite `supervisor`).
 */
#include <CUnit/CUnit.h>

#include "server/supervisor.h"

static void
test_backoff(void)
{
    int young = 0;

    /* A process that ran long enough is restarted at once. */
    CU_ASSERT_EQUAL(sl_supervise_backoff_ms(60000, &young), 0);
    CU_ASSERT_EQUAL(young, 0);
    /* Young deaths in a row: 250 ms doubling up to 30 s. */
    CU_ASSERT_EQUAL(sl_supervise_backoff_ms(100, &young), 250);
    CU_ASSERT_EQUAL(sl_supervise_backoff_ms(100, &young), 500);
    CU_ASSERT_EQUAL(sl_supervise_backoff_ms(9999, &young), 1000);
    for (int i = 0; i < 20; i++)
        sl_supervise_backoff_ms(10, &young);
    CU_ASSERT_EQUAL(sl_supervise_backoff_ms(10, &young), 30000);
    /* One that settled resets the count. */
    CU_ASSERT_EQUAL(sl_supervise_backoff_ms(SL_SUPERVISE_SETTLED_MS, &young),
                    0);
    CU_ASSERT_EQUAL(sl_supervise_backoff_ms(10, &young), 250);
}

void
sl_test_suite_supervisor(void)
{
    CU_pSuite s = CU_add_suite("supervisor", NULL, NULL);

    CU_add_test(s, "restart back-off", test_backoff);
}
