#include "tests/support/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Whether name is a word of the space-separated list. */
static int
listed(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ' ');
        size_t      len = end != NULL ? (size_t) (end - p) : strlen(p);

        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

/* Runs one suite and adds its failures; a suite whose set-up or
 * clean-up failed counts as a failure too: CUnit reports it in its
 * summary but not in the failure counts.  Prints how long it took, for
 * keeping the test run inside its time budget. */
static unsigned
run_suite(CU_pSuite s)
{
    double t0 = seconds();

    CU_basic_run_suite(s);
    fprintf(stderr, "suite %s: %.1f s\n", s->pName, seconds() - t0);
    return CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
           CU_get_number_of_suites_failed();
}

int
sl_test_run(int argc, char **argv, CU_BasicRunMode mode, int by_suite)
{
    const char *skip = getenv("SL_TEST_SKIP");
    unsigned    failed = 0;

    CU_basic_set_mode(mode);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            CU_pSuite s = CU_get_suite(argv[i]);

            if (s == NULL) {
                fprintf(stderr, "no suite named %s\n", argv[i]);
                CU_cleanup_registry();
                return 2;
            }
            failed += run_suite(s);
        }
    } else if (!by_suite) {
        CU_basic_run_tests();
        failed = CU_get_number_of_failures() +
                 CU_get_number_of_tests_failed() +
                 CU_get_number_of_suites_failed();
    } else {
        /* Every suite but those SL_TEST_SKIP names (the sanitizer runs
         * leave out the browser's suite: it adds nothing they check). */
        for (CU_pSuite s = CU_get_registry()->pSuite; s != NULL; s = s->pNext) {
            if (listed(skip, s->pName)) {
                fprintf(stderr, "suite %s: skipped (SL_TEST_SKIP)\n",
                        s->pName);
                continue;
            }
            failed += run_suite(s);
        }
    }
    if (CU_get_error() != CUE_SUCCESS)
        failed++;
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
