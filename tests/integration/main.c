/*
 * Integration test runner: registers every suite in registry.h and runs
 * them all, or only the suites named on the command line.  The server
 * binary comes from $SLUICE_BIN (default build/sluice).  Exit status 1
 * when any assertion failed.
 */
#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"
#include "tests/integration/registry.h"

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

int
main(int argc, char **argv)
{
    unsigned failed = 0;
    double   t0 = sl_now();

    /* A server that closes on us must show up as an error on a send,
     * not kill the runner. */
    signal(SIGPIPE, SIG_IGN);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
#define X(name) sl_itest_suite_##name();
    SL_ITEST_SUITES
#undef X
    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            CU_pSuite s = CU_get_suite(argv[i]);

            if (s == NULL) {
                fprintf(stderr, "no suite named %s\n", argv[i]);
                CU_cleanup_registry();
                return 2;
            }
            /* Each run resets CUnit's counts: add them up as we go. */
            CU_basic_run_suite(s);
            failed +=
                CU_get_number_of_failures() + CU_get_number_of_tests_failed();
        }
    } else {
        CU_basic_run_tests();
        failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    }
    if (CU_get_error() != CUE_SUCCESS)
        failed++;
    CU_cleanup_registry();
    teardown();
    fprintf(stderr, "integration tests: %.1f s\n", sl_now() - t0);
    return failed ? 1 : 0;
}
