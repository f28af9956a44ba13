/*
 * Unit test runner: registers every suite in registry.h and runs them all,
 * or only the suites named on the command line.  Exit status 1 when any
 * assertion failed.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/runner.h"
#include "tests/unit/registry.h"

#define X(name) void sl_test_suite_##name(void);
SL_TEST_SUITES
#undef X

int
main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
#define X(name) sl_test_suite_##name();
    SL_TEST_SUITES
#undef X
    return sl_test_run(argc, argv, CU_BRM_NORMAL, 0);
}
