/* Generators: prescribed spectra and ranks come out exactly, frames are orthonormal,
 * noise has the variance it claims, and streams depend only on (seed, point, trial). */
#include <CUnit/CUnit.h>
#include <math.h>

#include "core/error.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "core/rng.h"
#include "gen/gen.h"
#include "tests.h"

static lr_mat mat_new(size_t r, size_t c) { return lr_mat_wrap(lr_calloc(r * c + 1, sizeof(double)), r, c); }

static void singular_values(lr_mat A, double *s)
{
    lr_svd_plan *p = lr_svd_plan_alloc(A.rows, A.cols);
    lr_mat C = mat_new(A.rows, A.cols), none = {NULL, 0, 0, 1};
    lr_mat_copy(C, A);
    CU_ASSERT_EQUAL(lr_svd(p, C, s, none, none, NULL), LR_OK);
    lr_free(C.data);
    lr_svd_plan_free(p);
}

static void test_prescribed_spectrum(void)
{
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 1, 0, 0);
    size_t m = 30, n = 20, k = 6;
    double want[6], got[20];
    lr_spectrum_geometric(want, k, 5.0, 100.0);
    LR_ASSERT_CLOSE(want[0], 5.0, 1e-15);
    LR_ASSERT_CLOSE(want[5], 0.05, 1e-14);
    lr_mat A = mat_new(m, n);
    double *scratch = lr_calloc(lr_gen_with_spectrum_scratch(m, n, k), sizeof(double));
    CU_ASSERT_EQUAL(lr_gen_with_spectrum(r, A, want, k, scratch), LR_OK);
    singular_values(A, got);
    for (size_t i = 0; i < k; i++) LR_ASSERT_CLOSE(got[i], want[i], 1e-12);
    CU_ASSERT(got[k] < 1e-13);
    lr_free(A.data), lr_free(scratch);
    gsl_rng_free(r);
}

static void test_x_kinds(void)
{
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 2, 0, 0);
    size_t m = 40, n = 15;
    double s[15];
    lr_mat X = mat_new(m, n);
    double *scratch = lr_calloc(lr_gen_x_scratch(m, n, n), sizeof(double));
    CU_ASSERT_EQUAL(lr_gen_x(r, X, LR_X_LOWRANK, 5, 1, scratch), LR_OK);
    singular_values(X, s);
    CU_ASSERT_EQUAL(lr_numerical_rank(s, n, lr_rank_rtol_default(m, n)), 5);
    CU_ASSERT_EQUAL(lr_gen_x(r, X, LR_X_SPECTRUM, 10, 1e3, scratch), LR_OK);
    singular_values(X, s);
    LR_ASSERT_CLOSE(s[0], sqrt(40.0), 1e-12);
    LR_ASSERT_CLOSE(s[9], sqrt(40.0) / 1e3, 1e-10);
    CU_ASSERT_EQUAL(lr_numerical_rank(s, n, lr_rank_rtol_default(m, n)), 10);
    CU_ASSERT_EQUAL(lr_gen_x(r, X, LR_X_GAUSSIAN, 0, 1, scratch), LR_OK);
    singular_values(X, s);
    CU_ASSERT_EQUAL(lr_numerical_rank(s, n, lr_rank_rtol_default(m, n)), 15);
    CU_ASSERT_EQUAL(lr_gen_x(r, X, LR_X_LOWRANK, 16, 1, scratch), LR_EINVAL);
    lr_free(X.data), lr_free(scratch);
    gsl_rng_free(r);
}

static void check_noise_variance(lr_noise_kind kind, double df)
{
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 3, kind, 0);
    size_t n = 200000;
    lr_mat A = mat_new(n, 1);
    CU_ASSERT_EQUAL(lr_gen_noise(r, A, kind, 0.5, df), LR_OK);
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) s += A.data[i], s2 += A.data[i] * A.data[i];
    double mean = s / n, var = s2 / n - mean * mean;
    /* 5 standard errors; Student t(6) has a finite fourth moment. */
    CU_ASSERT(fabs(mean) < 5 * 0.5 / sqrt((double)n));
    CU_ASSERT(fabs(var / 0.25 - 1) < (kind == LR_NOISE_STUDENT_T ? 0.03 : 0.01));
    lr_free(A.data);
    gsl_rng_free(r);
}

static void test_noise_gaussian(void) { check_noise_variance(LR_NOISE_GAUSSIAN, 0); }
static void test_noise_rademacher(void) { check_noise_variance(LR_NOISE_RADEMACHER, 0); }
static void test_noise_student(void) { check_noise_variance(LR_NOISE_STUDENT_T, 6); }

static void test_noise_rejects(void)
{
    gsl_rng *r = lr_rng_alloc();
    lr_mat A = mat_new(3, 3);
    CU_ASSERT_EQUAL(lr_gen_noise(r, A, LR_NOISE_STUDENT_T, 1, 2.0), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_gen_noise(r, A, LR_NOISE_GAUSSIAN, -1, 0), LR_EINVAL);
    lr_free(A.data);
    gsl_rng_free(r);
}

static void test_streams(void)
{
    /* Distinct units of a run get distinct seeds; the same unit the same seed. */
    CU_ASSERT_EQUAL(lr_rng_unit_seed(42, 3, 7), lr_rng_unit_seed(42, 3, 7));
    size_t n = 0, collisions = 0;
    static uint32_t seen[64 * 256];
    for (uint64_t p = 0; p < 64; p++)
        for (uint64_t t = 0; t < 256; t++) seen[n++] = lr_rng_unit_seed(42, p, t);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) collisions += seen[i] == seen[j];
    CU_ASSERT_EQUAL(collisions, 0);
    CU_ASSERT_NOT_EQUAL(lr_rng_unit_seed(42, 0, 0), lr_rng_unit_seed(43, 0, 0));
}

static void test_orthonormal_haar_signs(void)
{
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 4, 0, 0);
    size_t n = 12, k = 5;
    lr_mat Q = mat_new(n, k);
    double *scratch = lr_calloc(lr_gen_orthonormal_scratch(n, k), sizeof(double));
    CU_ASSERT_EQUAL(lr_gen_orthonormal(r, Q, scratch), LR_OK);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            double d = 0;
            for (size_t l = 0; l < n; l++) d += LR_AT(Q, l, i) * LR_AT(Q, l, j);
            CU_ASSERT(fabs(d - (i == j)) < 1e-13);
        }
    lr_free(Q.data), lr_free(scratch);
    gsl_rng_free(r);
}

/* Issue 12: a synthetic network layer's spectrum is i^-decay exactly without noise, and its
 * noise (the difference from the same draw without noise) has operator norm close to
 * `noise` (within 20% at 60 x 40). */
static void test_power_layer(void)
{
    size_t n0 = 60, n1 = 40;
    lr_mat W = mat_new(n0, n1), W0 = mat_new(n0, n1);
    double *scratch = lr_calloc(lr_gen_power_layer_scratch(n0, n1), sizeof(double)), s[40];
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 9, 0, 0);
    CU_ASSERT_EQUAL(lr_gen_power_layer(r, W0, 0.7, 0.0, scratch), LR_OK);
    singular_values(W0, s);
    for (size_t i = 0; i < n1; i++) LR_ASSERT_CLOSE(s[i], pow((double)(i + 1), -0.7), 1e-12);
    lr_rng_seed_unit(r, 9, 0, 0);
    CU_ASSERT_EQUAL(lr_gen_power_layer(r, W, 0.7, 0.05, scratch), LR_OK);
    for (size_t j = 0; j < n1; j++)
        for (size_t i = 0; i < n0; i++) LR_AT(W, i, j) -= LR_AT(W0, i, j);
    singular_values(W, s);
    CU_ASSERT(s[0] > 0.8 * 0.05 && s[0] < 1.2 * 0.05);
    CU_ASSERT_EQUAL(lr_gen_power_layer(r, W, -1.0, 0.0, scratch), LR_EINVAL);
    lr_free(W.data), lr_free(W0.data), lr_free(scratch);
    gsl_rng_free(r);
}

void lr_tests_gen(void)
{
    CU_pSuite s = CU_add_suite("gen", NULL, NULL);
    CU_add_test(s, "prescribed singular spectrum is exact", test_prescribed_spectrum);
    CU_add_test(s, "X~ kinds have the requested rank and spectrum", test_x_kinds);
    CU_add_test(s, "Gaussian noise has variance sigma^2", test_noise_gaussian);
    CU_add_test(s, "Rademacher noise has variance sigma^2", test_noise_rademacher);
    CU_add_test(s, "Student t noise is scaled to variance sigma^2", test_noise_student);
    CU_add_test(s, "noise rejects df <= 2 and sigma < 0", test_noise_rejects);
    CU_add_test(s, "unit streams are distinct and reproducible", test_streams);
    CU_add_test(s, "Haar frames are orthonormal", test_orthonormal_haar_signs);
    CU_add_test(s, "synthetic network layer: power-law spectrum plus noise", test_power_layer);
}
