/*
 * Integration test runner: registers every suite in registry.h and runs
 * them all, or only the suites named on the command line.  The server
 * binary is sl_srv_bin() (tests/support/proc.h: $SLUICE_BIN or its
 * default).  Exit status 1 when any assertion failed.
 */
#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"
#include "tests/integration/registry.h"
#include "tests/support/runner.h"

#define X(name) void sl_itest_suite_##name(void);
SL_ITEST_SUITES
#undef X

static void
teardown(void)
{
    sl_proc_kill_all();
    sl_tmpdir_remove_all();
}

CU_pSuite
sl_itest_suite(const char *name)
{
    return CU_add_suite_with_setup_and_teardown(name, NULL, NULL, NULL,
                                                teardown);
}

static int
suite_clean(void)
{
    teardown();
    return 0;
}

CU_pSuite
sl_itest_suite_shared(const char *name, CU_InitializeFunc init,
                      CU_TearDownFunc after_test)
{
    return CU_add_suite_with_setup_and_teardown(name, init, suite_clean, NULL,
                                                after_test);
}

int
main(int argc, char **argv)
{
    double t0 = sl_now();
    int    rc;

    /* A server that closes on us must show up as an error on a send,
     * not kill the runner. */
    signal(SIGPIPE, SIG_IGN);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
#define X(name) sl_itest_suite_##name();
    SL_ITEST_SUITES
#undef X
    rc = sl_test_run(argc, argv, CU_BRM_VERBOSE, 1);
    teardown();
    fprintf(stderr, "integration tests: %.1f s\n", sl_now() - t0);
    return rc;
}
