/* The compressed-layer type (src/compress/compressed.h), each kind against plain
 * references: to_dense of hand-built small cases against the matrix written out by hand;
 * apply against X to_dense(c) (lr_gemm) on random cases, with strided views of X and Y;
 * apply allocates nothing (the --wrap malloc counters of test_gram.c);
 * storage in parameters and bits against the documented model, computed by hand;
 * malformed inputs refused by the constructors. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#include "compress/compressed.h"
#include "core/error.h"
#include "core/mat.h"
#include "core/rng.h"
#include "tests.h"

static lr_mat mnew(size_t r, size_t c) { return lr_mat_wrap(lr_calloc(r * c + 1, sizeof(double)), r, c); }
static void mrand(gsl_rng *g, lr_mat A)
{
    for (size_t j = 0; j < A.cols; j++)
        for (size_t i = 0; i < A.rows; i++) LR_AT(A, i, j) = gsl_ran_gaussian(g, 1.0);
}

/* apply(X) against X to_dense(c), with X and Y strided views (ld > rows), and the
 * workspace exactly lr_compressed_apply_need doubles. */
static void check_apply(gsl_rng *g, const lr_compressed *c, size_t m)
{
    lr_mat Xb = mnew(m + 3, c->n0), Yb = mnew(m + 2, c->n1), M = mnew(c->n0, c->n1), R = mnew(m, c->n1);
    lr_mat X = lr_mat_view(Xb, 1, 0, m, c->n0), Y = lr_mat_view(Yb, 2, 0, m, c->n1);
    mrand(g, Xb);
    mrand(g, Yb); /* garbage apply must overwrite */
    size_t need = lr_compressed_apply_need(c, m);
    double *work = need ? lr_calloc(need, sizeof(double)) : NULL;
    long before = lr_test_alloc_calls();
    CU_ASSERT_EQUAL_FATAL(lr_compressed_apply(c, X, Y, work), LR_OK);
    CU_ASSERT_EQUAL(lr_test_alloc_calls() - before, 0); /* apply never allocates */
    CU_ASSERT_EQUAL_FATAL(lr_compressed_to_dense(c, M), LR_OK);
    CU_ASSERT_EQUAL(lr_gemm('N', 'N', 1.0, X, M, 0.0, R), LR_OK);
    double scale = lr_mat_norm_fro(R);
    CU_ASSERT(lr_mat_diff_fro(Y, R) <= 1e-13 * (1.0 + scale));
    lr_free(work), lr_free(Xb.data), lr_free(Yb.data), lr_free(M.data), lr_free(R.data);
}

static void check_dense_equals(const lr_compressed *c, const double *want /* column-major n0 x n1 */)
{
    lr_mat M = mnew(c->n0, c->n1);
    CU_ASSERT_EQUAL_FATAL(lr_compressed_to_dense(c, M), LR_OK);
    for (size_t j = 0; j < c->n1; j++)
        for (size_t i = 0; i < c->n0; i++) CU_ASSERT_DOUBLE_EQUAL(LR_AT(M, i, j), want[i + j * c->n0], 1e-15);
    lr_free(M.data);
}

static void test_lowrank(void)
{
    /* A = [1; 2; 3] (3 x 1), B = [1 -1] (1 x 2): M = [1 -1; 2 -2; 3 -3]. */
    double a[3] = {1, 2, 3}, b[2] = {1, -1}, want[6] = {1, 2, 3, -1, -2, -3};
    lr_compressed c;
    CU_ASSERT_EQUAL_FATAL(lr_compressed_lowrank(&c, lr_mat_wrap(a, 3, 1), lr_mat_wrap(b, 1, 2)), LR_OK);
    check_dense_equals(&c, want);
    CU_ASSERT_EQUAL(lr_compressed_rank(&c), 1);
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_params(&c), 5, 0);
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_bits(&c), 320, 0);
    CU_ASSERT_EQUAL(lr_compressed_apply_need(&c, 7), 7);
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 11);
    size_t shapes[][3] = {{9, 6, 3}, {4, 10, 2}, {8, 8, 8}, {5, 3, 0}, {1, 7, 1}};
    for (size_t s = 0; s < 5; s++) {
        lr_mat A = mnew(shapes[s][0], shapes[s][2]), B = mnew(shapes[s][2], shapes[s][1]);
        mrand(g, A), mrand(g, B);
        CU_ASSERT_EQUAL_FATAL(lr_compressed_lowrank(&c, A, B), LR_OK);
        check_apply(g, &c, 6);
        check_apply(g, &c, 1);
        CU_ASSERT_DOUBLE_EQUAL(lr_compressed_params(&c), (double)(shapes[s][2] * (shapes[s][0] + shapes[s][1])), 0);
        lr_free(A.data), lr_free(B.data);
    }
    /* Shapes that do not make a product are refused. */
    CU_ASSERT_EQUAL(lr_compressed_lowrank(&c, lr_mat_wrap(a, 3, 1), lr_mat_wrap(b, 2, 1)), LR_EINVAL);
    gsl_rng_free(g);
}

static void test_grouped(void)
{
    /* Output groups {0} and {1, 2} of a 2 x 3 M: A_1 = [1; 1], B_1 = [2]; A_2 = [1; 0],
     * B_2 = [3 4]: M = [2 3 4; 2 0 0]. */
    double a1[2] = {1, 1}, b1[1] = {2}, a2[2] = {1, 0}, b2[2] = {3, 4}, want[6] = {2, 2, 3, 0, 4, 0};
    lr_mat gA[2] = {lr_mat_wrap(a1, 2, 1), lr_mat_wrap(a2, 2, 1)};
    lr_mat gB[2] = {lr_mat_wrap(b1, 1, 1), lr_mat_wrap(b2, 1, 2)};
    size_t start[3] = {0, 1, 3};
    lr_compressed c;
    CU_ASSERT_EQUAL_FATAL(lr_compressed_grouped(&c, LR_GROUP_OUTPUT, 2, 3, 2, start, gA, gB), LR_OK);
    check_dense_equals(&c, want);
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_params(&c), 3 + 4, 0);
    CU_ASSERT_EQUAL(lr_compressed_rank(&c), 2);
    /* Input groups {0} and {1} of a 2 x 2 M: A_1 = [1], B_1 = [1 2]; A_2 = [2], B_2 = [0 1]:
     * M = [1 2; 0 2]. */
    double c1[1] = {1}, d1[2] = {1, 2}, c2[1] = {2}, d2[2] = {0, 1}, want2[4] = {1, 0, 2, 2};
    lr_mat hA[2] = {lr_mat_wrap(c1, 1, 1), lr_mat_wrap(c2, 1, 1)};
    lr_mat hB[2] = {lr_mat_wrap(d1, 1, 2), lr_mat_wrap(d2, 1, 2)};
    size_t start2[3] = {0, 1, 2};
    CU_ASSERT_EQUAL_FATAL(lr_compressed_grouped(&c, LR_GROUP_INPUT, 2, 2, 2, start2, hA, hB), LR_OK);
    check_dense_equals(&c, want2);
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_bits(&c), 64.0 * 6, 0);
    /* Random: 3 groups of unequal widths and ranks (one of rank 0), both axes. */
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 12);
    size_t n0 = 9, n1 = 7, ks[3] = {2, 0, 3};
    size_t so[4] = {0, 2, 3, 7}, si[4] = {0, 4, 5, 9};
    for (int axis = 0; axis < 2; axis++) {
        const size_t *st = axis == LR_GROUP_OUTPUT ? so : si;
        lr_mat A[3], B[3];
        double params = 0;
        for (size_t j = 0; j < 3; j++) {
            size_t w = st[j + 1] - st[j];
            A[j] = mnew(axis == LR_GROUP_OUTPUT ? n0 : w, ks[j]);
            B[j] = mnew(ks[j], axis == LR_GROUP_OUTPUT ? w : n1);
            mrand(g, A[j]), mrand(g, B[j]);
            params += (double)ks[j] * (double)(A[j].rows + B[j].cols);
        }
        CU_ASSERT_EQUAL_FATAL(lr_compressed_grouped(&c, (lr_group_axis)axis, n0, n1, 3, st, A, B), LR_OK);
        CU_ASSERT_EQUAL(lr_compressed_apply_need(&c, 5), 15);
        check_apply(g, &c, 5);
        CU_ASSERT_DOUBLE_EQUAL(lr_compressed_params(&c), params, 0);
        /* Groups that do not partition the axis are refused. */
        size_t bad[4] = {0, 2, 2, axis == LR_GROUP_OUTPUT ? n1 : n0};
        CU_ASSERT_EQUAL(lr_compressed_grouped(&c, (lr_group_axis)axis, n0, n1, 3, bad, A, B), LR_EINVAL);
        for (size_t j = 0; j < 3; j++) lr_free(A[j].data), lr_free(B[j].data);
    }
    gsl_rng_free(g);
}

static void test_dense(void)
{
    double m[6] = {1, 2, 3, 4, 5, 6};
    lr_compressed c;
    CU_ASSERT_EQUAL_FATAL(lr_compressed_dense(&c, lr_mat_wrap(m, 2, 3)), LR_OK);
    check_dense_equals(&c, m);
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_params(&c), 6, 0);
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_bits(&c), 384, 0);
    CU_ASSERT_EQUAL(lr_compressed_apply_need(&c, 100), 0);
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 13);
    lr_mat M = mnew(6, 4);
    mrand(g, M);
    CU_ASSERT_EQUAL_FATAL(lr_compressed_dense(&c, M), LR_OK);
    check_apply(g, &c, 5);
    lr_free(M.data);
    gsl_rng_free(g);
}

static void test_sparse(void)
{
    /* 3 x 2: column 0 holds rows 0 and 2 (1, -2), column 1 row 1 (5). */
    size_t colptr[3] = {0, 2, 3}, rowidx[3] = {0, 2, 1};
    double val[3] = {1, -2, 5}, want[6] = {1, 0, -2, 0, 5, 0};
    lr_compressed c;
    CU_ASSERT_EQUAL_FATAL(lr_compressed_sparse(&c, 3, 2, colptr, rowidx, val), LR_OK);
    check_dense_equals(&c, want);
    CU_ASSERT_EQUAL(c.nnz, 3);
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_params(&c), 3, 0);
    /* Index bits: bitmap 6; CSC 3 ceil(log2 3) + 3 ceil(log2 4) = 6 + 6 = 12: the bitmap. */
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_bits(&c), 3 * 64 + 6, 0);
    /* Rows out of order or out of range are refused. */
    size_t bad1[3] = {2, 0, 1}, bad2[3] = {0, 3, 1};
    CU_ASSERT_EQUAL(lr_compressed_sparse(&c, 3, 2, colptr, bad1, val), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_compressed_sparse(&c, 3, 2, colptr, bad2, val), LR_EINVAL);
    /* Random: 40 x 30 at density ~5% (CSC cheaper than the bitmap), with empty columns. */
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 14);
    size_t n0 = 40, n1 = 30, cp[31], ri[1200];
    double v[1200];
    size_t nnz = 0;
    cp[0] = 0;
    for (size_t j = 0; j < n1; j++) {
        for (size_t i = 0; i < n0; i++)
            if (j % 7 != 3 && gsl_rng_uniform(g) < 0.05) ri[nnz] = i, v[nnz++] = gsl_ran_gaussian(g, 1.0);
        cp[j + 1] = nnz;
    }
    CU_ASSERT_EQUAL_FATAL(lr_compressed_sparse(&c, n0, n1, cp, ri, v), LR_OK);
    check_apply(g, &c, 9);
    double csc = (double)nnz * 6 + 31.0 * ceil(log2((double)nnz + 1));
    CU_ASSERT(csc < 1200);
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_bits(&c), 64.0 * (double)nnz + csc, 0);
    gsl_rng_free(g);
}

static void test_ternary(void)
{
    /* 2 x 2, T = [1 0; -1 1], per-column scales (0.5, 2): M = [0.5 0; -0.5 2]. */
    signed char T[4] = {1, -1, 0, 1};
    double s[2] = {0.5, 2}, want[4] = {0.5, -0.5, 0, 2};
    lr_compressed c;
    CU_ASSERT_EQUAL_FATAL(lr_compressed_ternary(&c, 2, 2, T, 2, s, 2), LR_OK);
    check_dense_equals(&c, want);
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_params(&c), 6, 0);
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_bits(&c), 4 * log2(3.0) + 128, 1e-12);
    /* One scale for all. */
    double one = 3, want1[4] = {3, -3, 0, 3};
    CU_ASSERT_EQUAL_FATAL(lr_compressed_ternary(&c, 2, 2, T, 2, &one, 1), LR_OK);
    check_dense_equals(&c, want1);
    CU_ASSERT_DOUBLE_EQUAL(lr_compressed_bits(&c), 4 * log2(3.0) + 64, 1e-12);
    /* Entries outside {-1, 0, 1} and a wrong number of scales are refused. */
    signed char bad[4] = {1, 2, 0, 0};
    CU_ASSERT_EQUAL(lr_compressed_ternary(&c, 2, 2, bad, 2, s, 2), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_compressed_ternary(&c, 2, 3, T, 2, s, 2), LR_EINVAL);
    /* Random 12 x 9 with a leading dimension of 14, both scale conventions. */
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 15);
    signed char R[14 * 9];
    double sc[9];
    for (size_t i = 0; i < 14 * 9; i++) R[i] = (signed char)((int)gsl_rng_uniform_int(g, 3) - 1);
    for (size_t j = 0; j < 9; j++) sc[j] = gsl_rng_uniform_pos(g);
    CU_ASSERT_EQUAL_FATAL(lr_compressed_ternary(&c, 12, 9, R, 14, sc, 9), LR_OK);
    check_apply(g, &c, 7);
    CU_ASSERT_EQUAL_FATAL(lr_compressed_ternary(&c, 12, 9, R, 14, sc, 1), LR_OK);
    check_apply(g, &c, 7);
    gsl_rng_free(g);
}

static void test_apply_checks(void)
{
    double m[4] = {1, 2, 3, 4}, x[6] = {0}, y[6] = {0};
    lr_compressed c;
    CU_ASSERT_EQUAL_FATAL(lr_compressed_dense(&c, lr_mat_wrap(m, 2, 2)), LR_OK);
    CU_ASSERT_EQUAL(lr_compressed_apply(&c, lr_mat_wrap(x, 2, 3), lr_mat_wrap(y, 2, 2), NULL), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_compressed_to_dense(&c, lr_mat_wrap(y, 3, 2)), LR_EINVAL);
    double a[2] = {1, 1}, b[2] = {1, 1};
    CU_ASSERT_EQUAL_FATAL(lr_compressed_lowrank(&c, lr_mat_wrap(a, 2, 1), lr_mat_wrap(b, 1, 2)), LR_OK);
    CU_ASSERT_EQUAL(lr_compressed_apply(&c, lr_mat_wrap(x, 3, 2), lr_mat_wrap(y, 3, 2), NULL), LR_EINVAL);
    CU_ASSERT(lr_compressed_all_finite(&c));
    a[1] = NAN;
    CU_ASSERT(!lr_compressed_all_finite(&c));
    CU_ASSERT_STRING_EQUAL(lr_compressed_kind_name(LR_COMPRESSED_TERNARY), "ternary");
}

void lr_tests_compressed(void)
{
    CU_pSuite s = CU_add_suite("compressed layers", NULL, NULL);
    CU_add_test(s, "low-rank: to_dense, apply = X to_dense, storage", test_lowrank);
    CU_add_test(s, "grouped (output and input channels): to_dense, apply, storage", test_grouped);
    CU_add_test(s, "dense: to_dense, apply, storage", test_dense);
    CU_add_test(s, "sparse mask (CSC): to_dense, apply, index bits, refusals", test_sparse);
    CU_add_test(s, "ternary with per-column and single scale: to_dense, apply, bits", test_ternary);
    CU_add_test(s, "dimension checks and finiteness", test_apply_checks);
}
