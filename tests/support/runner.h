/*
 * The CUnit run both test binaries share: every registered suite, or only
 * those named on the command line, with the failures of all of them
 * counted (CUnit resets its counts at each run).
 */
#ifndef SL_TEST_RUNNER_H
#define SL_TEST_RUNNER_H

#include <CUnit/Basic.h>

/* Runs the suites already registered, then cleans the registry up: those
 * named in argv, or all of them in one run; with by_suite, all but the
 * ones the environment's SL_TEST_SKIP lists (space-separated), one at a
 * time, each followed by a "suite NAME: S s" line (a slow suite shows).
 * Returns the process exit status: 0 all passed, 1 a failure, 2 a suite
 * name that does not exist or a CUnit error. */
int sl_test_run(int argc, char **argv, CU_BasicRunMode mode, int by_suite);

#endif
