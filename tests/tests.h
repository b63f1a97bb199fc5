/* Registration of the CUnit suites; each test file adds one or more suites. */
#ifndef LR_TESTS_H
#define LR_TESTS_H

#include <CUnit/CUnit.h>

void lr_tests_config(void);
void lr_tests_linalg(void);
void lr_tests_gen(void);
void lr_tests_bounds(void);
void lr_tests_results(void);
void lr_tests_convex(void);
void lr_tests_thm2(void);
void lr_tests_real(void);
void lr_tests_gram(void);
void lr_tests_failure(void);

/* Wrapped allocation calls so far (tests/test_failure.c: the test binary's counting allocator). */
long lr_test_alloc_calls(void);

/* |a - b| <= tol * max(1, |a|, |b|) */
#define LR_ASSERT_CLOSE(a, b, tol)                                                          \
    CU_ASSERT(fabs((a) - (b)) <= (tol) * fmax(1.0, fmax(fabs(a), fabs(b))))

/* GSL's gsl_test_rel: |result - expected| <= tol |expected| (|result| <= tol when expected
 * is 0); on failure, prints both values, the tolerance and the relative error. */
int lr_test_rel_check(double result, double expected, double tol, const char *desc, const char *file,
                      int line);
#define LR_TEST_REL(result, expected, tol, desc)                                           \
    CU_ASSERT(lr_test_rel_check((result), (expected), (tol), (desc), __FILE__, __LINE__))

#endif
