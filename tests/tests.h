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
void lr_tests_bounds_hold(void);
void lr_tests_registries(void);

/* Write `text` to a temporary config, run it in-process (`lrlab run` with the overrides,
 * one thread, --force) into the results file named in out; returns the run's status.
 * The caller reads the results and unlinks out. */
#include <stddef.h>
int lr_test_run_config(const char *text, const char *const *overrides, size_t noverrides, char *out,
                       size_t outlen);
void lr_tests_plot(void);
void lr_tests_spectrum(void);
void lr_tests_nn(void);
void lr_tests_activation(void);
void lr_tests_compressors(void);
void lr_tests_compressed(void);
void lr_tests_alds_alloc(void);
void lr_tests_grouped(void);
void lr_tests_gmm(void);
void lr_tests_ntk_equiv(void);
void lr_tests_ntk_act(void);
void lr_tests_ntk_ternary(void);
void lr_tests_ntk_kernel(void);
void lr_tests_compare(void);
void lr_tests_dist(void);
void lr_tests_lq(void);
/* The l_q bound b through the registry on seeded vectors (lq_l1, lq_l2) or random
 * one-hidden-layer networks (lq_degrade) of tests/test_lq.c: rows, checked, violated. */
struct lr_bound;
void lr_test_lq_bound_rows(const struct lr_bound *b, size_t *checked, size_t *violated, size_t *rows);
void lr_tests_train(void);
void lr_tests_lod(void);
void lr_tests_net_lowrank(void);
/* The ALDS bound b evaluated through the registry (lr_bound_evaluate) and checked
 * (lr_bound_check, bounds.tol's default, scale 1) against the true error on every (k, j) of
 * tests/test_grouped.c's seeded layers: rows, how many were checked, how many violated. */
#include "bounds/bounds.h"
void lr_test_alds_bound_rows(const lr_bound *b, size_t *checked, size_t *violated, size_t *rows);

/* Fit compressor c to L (point 0) through a plan sized for L, with its config keys set by
 * `settings` ("compress.tol=1e-12;bounds.t=2", NULL or "" for the defaults); the plan is
 * freed before returning (test_compressors.c). */
#include "compress/compress.h"
int lr_test_fit(const lr_compressor *c, const lr_layer *L, const char *settings, const size_t *ranks,
                size_t nranks, lr_compressed *out, lr_fit_info *info);

/* Calls of malloc, calloc, realloc and aligned_alloc so far (the --wrap counters of test_gram.c). */
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
