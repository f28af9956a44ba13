/*
 * Unit test runner: registers every suite in registry.h and runs them all,
 * or only the suites named on the command line.  Exit status 1 when any
 * assertion failed.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/registry.h"

#define X(name) void sl_test_suite_##name(void);
SL_TEST_SUITES
#undef X

int
main(int argc, char **argv)
{
    unsigned failed = 0;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
#define X(name) sl_test_suite_##name();
    SL_TEST_SUITES
#undef X
    CU_basic_set_mode(CU_BRM_NORMAL);
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
            failed += CU_get_number_of_failures() +
                      CU_get_number_of_tests_failed();
        }
    } else {
        CU_basic_run_tests();
        failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    }
    if (CU_get_error() != CUE_SUCCESS)
        failed++;
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
