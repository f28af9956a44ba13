#include "tests/support/runner.h"

#include <stdio.h>

/* A suite whose set-up or clean-up failed counts as a failure too:
 * CUnit reports it in its summary but not in the failure counts. */
int
sl_test_run(int argc, char **argv, CU_BasicRunMode mode)
{
    unsigned failed = 0;

    CU_basic_set_mode(mode);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            CU_pSuite s = CU_get_suite(argv[i]);

            if (s == NULL) {
                fprintf(stderr, "no suite named %s\n", argv[i]);
                CU_cleanup_registry();
                return 2;
            }
            CU_basic_run_suite(s);
            failed += CU_get_number_of_failures() +
                      CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
        }
    } else {
        CU_basic_run_tests();
        failed = CU_get_number_of_failures() +
                 CU_get_number_of_tests_failed() +
                 CU_get_number_of_suites_failed();
    }
    if (CU_get_error() != CUE_SUCCESS)
        failed++;
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
