/* ALDS's per-layer kernel (src/compress/grouped.h) against plain references, on small
 * seeded layers (linear and conv-like, Gaussian, graded, rank-deficient, with two equal
 * halves) and on the shipped real layers, for every k dividing c (up to 16) and every
 * rank j from 0 to full:
 *   - the groups' singular values against LAPACK's dgesvd of the explicitly sliced W_i;
 *   - the factorisation (to_dense, and apply: k encoders then the decoders) against
 *     [[W_1]_j; ...; [W_k]_j] assembled from dgesvd's factors, and X times it;
 *   - the true error by power iteration against the exact ||W^ - W||_2 (dgesvd of the
 *     assembled error), the fast path against the dense reference;
 *   - lower <= true <= l2 <= sqrtk on every (layer, k, j), and equality at k = 1 with
 *     sigma_{j+1}(W) / sigma_1(W), also on the real layers of data/;
 *   - parameter counts and the stays-dense rule on hand-checked cases; argument checks;
 *     no allocation after the plan; the dgesdd -> dgesvd fallback.
 * The suite prints what it covered (rows of the chain, the largest deviations). */
#include <CUnit/CUnit.h>
#include <float.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compress/compressed.h"
#include "compress/grouped.h"
#include "core/error.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "core/rng.h"
#include "bounds/bounds.h"
#include "io/dump.h"
#include "tests.h"

/* The power iteration's settings of the accuracy checks (the task's 1e-10 at 1e-13). */
#define PI_TOL 1e-13
#define PI_MAX 1000000

static lr_mat mnew(size_t r, size_t c) { return lr_mat_wrap(lr_calloc(r * c + 1, sizeof(double)), r, c); }

/* ---- the seeded layers ---- */

typedef struct tlayer {
    const char *name;
    size_t n0, n1, c; /* c input channels of n0 / c rows each */
    int kind;
    lr_mat W;
} tlayer;

enum { GAUSS, GRADED, LOWRANK, TWIN };

static tlayer make_layer(gsl_rng *g, const char *name, size_t n0, size_t n1, size_t c, int kind)
{
    tlayer L = {name, n0, n1, c, kind, mnew(n0, n1)};
    for (size_t j = 0; j < n1; j++)
        for (size_t i = 0; i < n0; i++) LR_AT(L.W, i, j) = gsl_ran_gaussian(g, 1.0);
    if (kind == GRADED) /* columns scaled from 1 down to 1e-6: a graded spectrum */
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < n0; i++) LR_AT(L.W, i, j) *= pow(10.0, -6.0 * (double)j / (double)(n1 - 1));
    if (kind == LOWRANK) { /* W = A B, inner dimension 5: groups of rank <= 5 */
        lr_mat A = mnew(n0, 5), B = mnew(5, n1);
        for (size_t i = 0; i < A.rows * A.cols; i++) A.data[i] = gsl_ran_gaussian(g, 1.0);
        for (size_t i = 0; i < B.rows * B.cols; i++) B.data[i] = gsl_ran_gaussian(g, 1.0);
        lr_gemm('N', 'N', 1.0, A, B, 0.0, L.W);
        lr_free(A.data), lr_free(B.data);
    }
    if (kind == TWIN) /* rows n0/2 .. n0-1 repeat rows 0 .. n0/2-1: repeated singular values */
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < n0 / 2; i++) LR_AT(L.W, n0 / 2 + i, j) = LR_AT(L.W, i, j);
    return L;
}

#define NLAYERS 7
static tlayer layers[NLAYERS];
static size_t max_n0, max_n1;

/* Every layer of the shipped dumps, with its input channels (conv: N0 / (kh kw)). */
#define MAXREAL 16
static tlayer reals[MAXREAL];
static char real_names[MAXREAL][300];
static size_t nreal;

static int load_reals(void)
{
    static const char *const dumps[] = {LR_TEST_SRCDIR "/data/digits_mlp.h5", LR_TEST_SRCDIR "/data/fashion_cnn.h5"};
    for (size_t f = 0; f < 2; f++) {
        lr_dump *d = NULL;
        if (lr_dump_open(dumps[f], &d) != LR_OK) return 1;
        for (size_t l = 0; l < d->nlayers && nreal < MAXREAL; l++) {
            const lr_dump_layer *dl = &d->layers[l];
            tlayer *L = &reals[nreal];
            snprintf(real_names[nreal], sizeof real_names[nreal], "%s %s", f ? "fashion_cnn" : "digits_mlp", dl->module);
            *L = (tlayer){real_names[nreal], dl->n0, dl->n1, dl->n0, GAUSS, mnew(dl->n0, dl->n1)};
            if (dl->kind == LR_LAYER_CONV2D) L->c = dl->n0 / (size_t)(dl->kernel[0] * dl->kernel[1]);
            if (lr_dump_read_weights(d, l, L->W, NULL) != LR_OK) return 1;
            nreal++;
        }
        lr_dump_close(d);
    }
    return 0;
}

static int suite_init(void)
{
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 20211206);
    layers[0] = make_layer(g, "linear 48x40", 48, 40, 48, GAUSS);
    layers[1] = make_layer(g, "conv c=4 3x3 -> 20", 36, 20, 4, GAUSS);
    layers[2] = make_layer(g, "conv c=6 2x2 -> 30 (wide groups)", 24, 30, 6, GAUSS);
    layers[3] = make_layer(g, "linear 40x8 (tall groups)", 40, 8, 40, GAUSS);
    layers[4] = make_layer(g, "linear 30x24 graded to 1e-6", 30, 24, 30, GRADED);
    layers[5] = make_layer(g, "conv c=8 2x2 -> 24, rank 5", 32, 24, 8, LOWRANK);
    layers[6] = make_layer(g, "linear 40x16, two equal halves", 40, 16, 40, TWIN);
    gsl_rng_free(g);
    for (size_t l = 0; l < NLAYERS; l++) {
        max_n0 = layers[l].n0 > max_n0 ? layers[l].n0 : max_n0;
        max_n1 = layers[l].n1 > max_n1 ? layers[l].n1 : max_n1;
    }
    return load_reals();
}

static int suite_clean(void)
{
    for (size_t l = 0; l < NLAYERS; l++) lr_free(layers[l].W.data);
    for (size_t l = 0; l < nreal; l++) lr_free(reals[l].W.data);
    nreal = 0;
    return 0;
}

/* ---- plain references, straight from LAPACKE's dgesvd ---- */

/* Singular values of A (copied): s[min(rows, cols)]. */
static void ref_values(lr_mat A, double *s)
{
    size_t m = A.rows, n = A.cols, mn = m < n ? m : n;
    lr_mat C = mnew(m, n);
    lr_mat_copy(C, A);
    double *sup = lr_calloc(mn + 1, sizeof(double));
    CU_ASSERT_EQUAL(LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'N', 'N', (int)m, (int)n, C.data, (int)m, s, NULL, 1, NULL, 1, sup),
                    0);
    lr_free(sup), lr_free(C.data);
}

static double ref_norm(lr_mat A)
{
    size_t mn = A.rows < A.cols ? A.rows : A.cols;
    double *s = lr_calloc(mn + 1, sizeof(double));
    ref_values(A, s);
    double v = s[0];
    lr_free(s);
    return v;
}

/* out (rows x cols, a view) = [A]_j from dgesvd's U, s, VT, assembled by loops. */
static void ref_truncate(lr_mat A, size_t j, lr_mat out)
{
    size_t m = A.rows, n = A.cols, mn = m < n ? m : n;
    lr_mat C = mnew(m, n), U = mnew(m, mn), VT = mnew(mn, n);
    double *s = lr_calloc(mn + 1, sizeof(double)), *sup = lr_calloc(mn + 1, sizeof(double));
    lr_mat_copy(C, A);
    CU_ASSERT_EQUAL(LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'S', 'S', (int)m, (int)n, C.data, (int)m, s, U.data, (int)m,
                                   VT.data, (int)mn, sup),
                    0);
    for (size_t c = 0; c < n; c++)
        for (size_t r = 0; r < m; r++) {
            double v = 0.0;
            for (size_t t = 0; t < j; t++) v += LR_AT(U, r, t) * s[t] * LR_AT(VT, t, c);
            LR_AT(out, r, c) = v;
        }
    lr_free(s), lr_free(sup), lr_free(C.data), lr_free(U.data), lr_free(VT.data);
}

/* What = [[W_1]_j; ...; [W_k]_j] with the groups sliced explicitly. */
static void ref_assemble(lr_mat W, size_t k, size_t j, lr_mat What)
{
    size_t rows = W.rows / k;
    for (size_t i = 0; i < k; i++) {
        lr_mat Wi = mnew(rows, W.cols); /* an explicit copy of the slice */
        lr_mat_copy(Wi, lr_mat_view(W, i * rows, 0, rows, W.cols));
        ref_truncate(Wi, j, lr_mat_view(What, i * rows, 0, rows, W.cols));
        lr_free(Wi.data);
    }
}

/* |a - b| <= tol |b| + floor, reporting the relative deviation in *worst (rows with b >
 * 1e-8 only: below, the floor is what is checked). */
static int close_rel(double a, double b, double tol, double floor, double *worst)
{
    double d = fabs(a - b);
    if (worst && b > 1e-8 && d / b > *worst) *worst = d / b;
    return d <= tol * fabs(b) + floor;
}

/* a <= b by lrlab's one rule (lr_le_tol) with bounds.tol's default and no absolute scale. */
static int chain_le(double a, double b) { return lr_le_tol(a, b, 1e-10, 0.0); }

/* ---- the kernel's own checks ---- */

static size_t divisors_upto16(size_t c, size_t *ks)
{
    size_t n = 0;
    for (size_t k = 1; k <= 16 && k <= c; k++)
        if (c % k == 0) ks[n++] = k;
    return n;
}

static void test_spectra(void)
{
    lr_grouped_plan *p = lr_grouped_plan_alloc(max_n0, max_n1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    double worst = 0.0;
    size_t groups = 0;
    for (size_t l = 0; l < NLAYERS; l++) {
        const tlayer *L = &layers[l];
        double alpha1 = NAN;
        CU_ASSERT_EQUAL_FATAL(lr_alds_norm(p, L->W, &alpha1), LR_OK);
        CU_ASSERT(close_rel(alpha1, ref_norm(L->W), 1e-13, 0.0, NULL));
        size_t ks[16], nk = divisors_upto16(L->c, ks);
        for (size_t a = 0; a < nk; a++)
            for (int vectors = 0; vectors < 2; vectors++) {
                lr_alds_spectra s;
                CU_ASSERT_EQUAL_FATAL(lr_alds_spectra_compute(p, L->W, L->c, ks[a], alpha1, vectors, &s), LR_OK);
                CU_ASSERT_EQUAL(s.k, ks[a]);
                CU_ASSERT_EQUAL(s.rows, L->n0 / ks[a]);
                CU_ASSERT_EQUAL(s.mn, s.rows < L->n1 ? s.rows : L->n1);
                CU_ASSERT_EQUAL(s.vectors, vectors);
                double ref[64];
                for (size_t i = 0; i < s.k; i++) {
                    lr_mat Wi = mnew(s.rows, L->n1);
                    lr_mat_copy(Wi, lr_mat_view(L->W, i * s.rows, 0, s.rows, L->n1));
                    ref_values(Wi, ref);
                    lr_free(Wi.data);
                    /* Singular values are accurate to ~eps times the largest one. */
                    for (size_t t = 0; t < s.mn; t++) {
                        double d = fabs(s.alpha[i * s.mn + t] - ref[t]);
                        CU_ASSERT(d <= 1e-13 * ref[0]);
                        if (ref[0] > 0 && d / ref[0] > worst) worst = d / ref[0];
                        if (t) CU_ASSERT(s.alpha[i * s.mn + t] <= s.alpha[i * s.mn + t - 1]);
                    }
                    groups++;
                }
            }
    }
    fprintf(stderr, "\n  ALDS spectra: %zu groups against dgesvd, largest deviation %.2e of alpha_{i,1}\n", groups,
            worst);
    lr_grouped_plan_free(p);
}

static void test_factors(void)
{
    lr_grouped_plan *p = lr_grouped_plan_alloc(max_n0, max_n1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 7);
    size_t m = 30, checked = 0;
    double worst_dense = 0.0, worst_apply = 0.0;
    for (size_t l = 0; l < NLAYERS; l++) {
        const tlayer *L = &layers[l];
        double alpha1;
        CU_ASSERT_EQUAL_FATAL(lr_alds_norm(p, L->W, &alpha1), LR_OK);
        lr_mat What = mnew(L->n0, L->n1), M = mnew(L->n0, L->n1), X = mnew(m, L->n0), Y = mnew(m, L->n1),
               R = mnew(m, L->n1);
        double *work = lr_calloc(m * L->n0 + 1, sizeof(double));
        for (size_t i = 0; i < m * L->n0; i++) X.data[i] = gsl_ran_gaussian(g, 1.0);
        size_t ks[16], nk = divisors_upto16(L->c, ks);
        for (size_t a = 0; a < nk; a++) {
            lr_alds_spectra s;
            CU_ASSERT_EQUAL_FATAL(lr_alds_spectra_compute(p, L->W, L->c, ks[a], alpha1, 1, &s), LR_OK);
            for (size_t j = 0; j <= s.mn; j++) {
                lr_compressed c;
                long before = lr_test_alloc_calls();
                CU_ASSERT_EQUAL_FATAL(lr_alds_factors(p, &s, j, &c), LR_OK);
                CU_ASSERT_EQUAL(lr_test_alloc_calls() - before, 0);
                CU_ASSERT_EQUAL(c.kind, LR_COMPRESSED_GROUPED);
                CU_ASSERT_EQUAL(c.axis, LR_GROUP_INPUT);
                CU_ASSERT_EQUAL(c.ngroups, s.k);
                CU_ASSERT_EQUAL(lr_compressed_rank(&c), s.k * j);
                CU_ASSERT_EQUAL(lr_compressed_params(&c), (double)lr_alds_params(L->n0, L->n1, s.k, j));
                /* A_i has orthonormal columns: the singular values are in B_i. */
                for (size_t i = 0; i < s.k && j; i++) {
                    lr_mat G = mnew(j, j);
                    lr_gemm('T', 'N', 1.0, c.gA[i], c.gA[i], 0.0, G);
                    for (size_t t = 0; t < j; t++) LR_AT(G, t, t) -= 1.0;
                    CU_ASSERT(lr_mat_norm_fro(G) <= 1e-13 * (double)j);
                    lr_free(G.data);
                }
                ref_assemble(L->W, s.k, j, What);
                CU_ASSERT_EQUAL_FATAL(lr_compressed_to_dense(&c, M), LR_OK);
                double nw = lr_mat_norm_fro(L->W), dd = lr_mat_diff_fro(M, What) / nw;
                CU_ASSERT(dd <= 1e-12);
                worst_dense = dd > worst_dense ? dd : worst_dense;
                /* Apply: k encoders X_i A_i, then the decoders, against X What. */
                CU_ASSERT_EQUAL_FATAL(lr_compressed_apply(&c, X, Y, work), LR_OK);
                CU_ASSERT_EQUAL(lr_gemm('N', 'N', 1.0, X, What, 0.0, R), LR_OK);
                double nr = lr_mat_norm_fro(R), da = lr_mat_diff_fro(Y, R) / (nr > 0 ? nr : 1.0);
                if (nr > 0) CU_ASSERT(da <= 1e-12);
                if (nr == 0) CU_ASSERT_EQUAL(lr_mat_norm_fro(Y), 0.0); /* j = 0 */
                worst_apply = da > worst_apply ? da : worst_apply;
                checked++;
            }
        }
        lr_free(What.data), lr_free(M.data), lr_free(X.data), lr_free(Y.data), lr_free(R.data), lr_free(work);
    }
    fprintf(stderr, "  ALDS factors: %zu (layer, k, j): to_dense within %.2e, apply within %.2e (relative)\n",
            checked, worst_dense, worst_apply);
    gsl_rng_free(g);
    lr_grouped_plan_free(p);
}

/* What the chain test covered. */
typedef struct chain_stats {
    size_t rows, held, iters, worst_iters;
    double worst_svd, worst_ref;
} chain_stats;

/* Every (k, j) of one layer: the power iteration against the exact norm of the assembled
 * error, the fast path against the dense reference, and the chain of bounds. */
static void error_rows(const tlayer *L, chain_stats *st)
{
    lr_grouped_plan *p = lr_grouped_plan_alloc(L->n0, L->n1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    double alpha1;
    CU_ASSERT_EQUAL_FATAL(lr_alds_norm(p, L->W, &alpha1), LR_OK);
    lr_mat What = mnew(L->n0, L->n1), E = mnew(L->n0, L->n1), M = mnew(L->n0, L->n1);
    size_t ks[16], nk = divisors_upto16(L->c, ks);
    for (size_t a = 0; a < nk; a++) {
        lr_alds_spectra s;
        CU_ASSERT_EQUAL_FATAL(lr_alds_spectra_compute(p, L->W, L->c, ks[a], alpha1, 1, &s), LR_OK);
        for (size_t j = 0; j <= s.mn; j++) {
            lr_alds_error_info e, r;
            long before = lr_test_alloc_calls();
            CU_ASSERT_EQUAL_FATAL(lr_alds_error(p, &s, j, PI_TOL, PI_MAX, &e), LR_OK);
            CU_ASSERT_EQUAL(lr_test_alloc_calls() - before, 0);
            CU_ASSERT(e.converged == 1);
            /* The exact error of the assembled decomposition.  Its rounding (about N0 eps
             * ||W||) is not in the SVD's tail, hence the absolute floor. */
            ref_assemble(L->W, s.k, j, What);
            lr_mat_copy(E, L->W);
            lr_mat_axpy(-1.0, What, E);
            double exact = ref_norm(E) / alpha1;
            CU_ASSERT(close_rel(e.eps, exact, 1e-10, 1e-13, &st->worst_svd));
            if (j == s.mn) {
                CU_ASSERT_EQUAL(e.eps, 0.0); /* exactly, without iterating */
                CU_ASSERT_EQUAL(e.iterations, 0);
            } else if (e.eps > 0) {
                CU_ASSERT(e.iterations > 0);
            }
            st->iters += (size_t)e.iterations;
            if ((size_t)e.iterations > st->worst_iters) st->worst_iters = (size_t)e.iterations;
            /* The fast path against the plain reference on the formed E. */
            lr_compressed c;
            CU_ASSERT_EQUAL_FATAL(lr_alds_factors(p, &s, j, &c), LR_OK);
            CU_ASSERT_EQUAL_FATAL(lr_compressed_to_dense(&c, M), LR_OK);
            CU_ASSERT_EQUAL_FATAL(lr_alds_error_dense(p, &s, j, L->W, M, PI_TOL, PI_MAX, &r), LR_OK);
            CU_ASSERT(r.converged == 1);
            CU_ASSERT(close_rel(e.eps, r.eps, 1e-11, 1e-13, &st->worst_ref));
            /* The chain, each link by lrlab's one rule with a relative tolerance only. */
            double lo = lr_alds_bound(&s, j, LR_ALDS_LOWER), l2 = lr_alds_bound(&s, j, LR_ALDS_L2),
                   sk = lr_alds_bound(&s, j, LR_ALDS_SQRTK);
            int ok = chain_le(lo, e.eps) && chain_le(e.eps, l2) && chain_le(l2, sk);
            if (!ok)
                fprintf(stderr, "\n%s k=%zu j=%zu: lower %.17g true %.17g l2 %.17g sqrtk %.17g\n", L->name, s.k, j,
                        lo, e.eps, l2, sk);
            CU_ASSERT(ok);
            st->held += ok;
            st->rows++;
            /* The registry's entries give the same values from lr_bound_input's fields. */
            double an[64];
            lr_alds_alpha_next(&s, j, an);
            lr_bound_input in = {.ngroups = s.k, .alpha_next = an, .alpha1 = alpha1};
            lr_bound_params bp = {.tol = 1e-10};
            CU_ASSERT_EQUAL(lr_bound_evaluate(lr_bound_find("alds_lower"), &in, &bp), lo);
            CU_ASSERT_EQUAL(lr_bound_evaluate(lr_bound_find("alds_l2"), &in, &bp), l2);
            CU_ASSERT_EQUAL(lr_bound_evaluate(lr_bound_find("alds_sqrtk"), &in, &bp), sk);
            if (s.k == 1) { /* all equal: sigma_{j+1}(W) / sigma_1(W) */
                CU_ASSERT(close_rel(lo, e.eps, 1e-12, 0.0, NULL));
                CU_ASSERT_EQUAL(lo, l2);
                CU_ASSERT_EQUAL(lo, sk);
            }
        }
    }
    lr_free(What.data), lr_free(E.data), lr_free(M.data);
    lr_grouped_plan_free(p);
}

/* The seeded layers, and the shipped real layers with N1 <= 16 (the others' exact
 * references, one dgesvd of the assembled error per row, are too slow for a unit test;
 * their k = 1 rows are checked below). */
static void test_error_and_chain(void)
{
    chain_stats st = {0}, rs = {0};
    for (size_t l = 0; l < NLAYERS; l++) error_rows(&layers[l], &st);
    size_t nr = 0;
    for (size_t l = 0; l < nreal; l++)
        if (reals[l].n1 <= 16) error_rows(&reals[l], &rs), nr++;
    CU_ASSERT(nr >= 4);
    fprintf(stderr,
            "  ALDS true error: lower <= true <= l2 <= sqrtk held in %zu of %zu seeded (layer, k, j) rows and %zu "
            "of %zu rows of %zu real layers; power iteration (tol %.0e) vs dgesvd of the assembled error: largest "
            "relative deviation %.2e seeded, %.2e real; vs the dense reference %.2e, %.2e; products %zu and %zu, "
            "at most %zu in one row\n",
            st.held, st.rows, rs.held, rs.rows, nr, PI_TOL, st.worst_svd, rs.worst_svd, st.worst_ref, rs.worst_ref,
            st.iters, rs.iters, st.worst_iters > rs.worst_iters ? st.worst_iters : rs.worst_iters);
    CU_ASSERT_EQUAL(st.held, st.rows);
    CU_ASSERT_EQUAL(rs.held, rs.rows);
}

/* k = 1: the three bounds and the true error are sigma_{j+1}(W) / sigma_1(W), here with
 * sigma from dgesvd of W itself; on the seeded layers and on every layer of the shipped
 * dumps.  Returns the largest relative deviation (rows with a value above 1e-8). */
static double check_k1(lr_grouped_plan *p, lr_mat W, const char *name, size_t *rows)
{
    size_t n0 = W.rows, n1 = W.cols, mn = n0 < n1 ? n0 : n1;
    double *sig = lr_calloc(mn + 1, sizeof(double)), worst = 0.0, alpha1;
    ref_values(W, sig);
    CU_ASSERT_EQUAL_FATAL(lr_alds_norm(p, W, &alpha1), LR_OK);
    lr_alds_spectra s;
    CU_ASSERT_EQUAL_FATAL(lr_alds_spectra_compute(p, W, n0, 1, alpha1, 1, &s), LR_OK);
    for (size_t j = 0; j <= mn; j++) {
        double want = j < mn ? sig[j] / sig[0] : 0.0;
        lr_alds_error_info e;
        CU_ASSERT_EQUAL_FATAL(lr_alds_error(p, &s, j, PI_TOL, PI_MAX, &e), LR_OK);
        double got[4] = {lr_alds_bound(&s, j, LR_ALDS_LOWER), lr_alds_bound(&s, j, LR_ALDS_L2),
                         lr_alds_bound(&s, j, LR_ALDS_SQRTK), e.eps};
        for (int b = 0; b < 4; b++) {
            int ok = close_rel(got[b], want, 1e-12, 0.0, &worst);
            if (!ok) fprintf(stderr, "\n%s j=%zu: %d gives %.17g, sigma_{j+1}/sigma_1 = %.17g\n", name, j, b, got[b], want);
            CU_ASSERT(ok);
        }
        CU_ASSERT(e.converged == 1);
        (*rows)++;
    }
    lr_free(sig);
    return worst;
}

static void test_k1_exact(void)
{
    size_t rows = 0, real_rows = 0;
    double worst = 0.0, worst_real = 0.0;
    lr_grouped_plan *p = lr_grouped_plan_alloc(max_n0, max_n1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (size_t l = 0; l < NLAYERS; l++) {
        /* Small singular values are accurate to ~eps sigma_1 only, not relatively: the
         * graded layer's (down to 1e-6) and the rank-5 layer's tail (rounding) are left out. */
        if (layers[l].kind == GRADED || layers[l].kind == LOWRANK) continue;
        double w = check_k1(p, layers[l].W, layers[l].name, &rows);
        worst = w > worst ? w : worst;
    }
    lr_grouped_plan_free(p);
    for (size_t l = 0; l < nreal; l++) {
        lr_grouped_plan *q = lr_grouped_plan_alloc(reals[l].n0, reals[l].n1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(q);
        double w = check_k1(q, reals[l].W, reals[l].name, &real_rows);
        worst_real = w > worst_real ? w : worst_real;
        lr_grouped_plan_free(q);
    }
    fprintf(stderr,
            "  ALDS k = 1: bounds = true error = sigma_{j+1}/sigma_1 on %zu seeded rows (largest relative "
            "deviation %.2e) and %zu rows of %zu real layers (%.2e)\n",
            rows, worst, real_rows, nreal, worst_real);
    CU_ASSERT_EQUAL(nreal, 7);
}

/* Two equal halves at k = 2: E = [E_1; E_1], so ||E||_2 = sqrt(2) alpha_{1,j+1}: the true
 * error meets the l2 and sqrt(k) bounds (the upper chain is tight). */
static void test_twin_tight(void)
{
    const tlayer *L = &layers[6];
    lr_grouped_plan *p = lr_grouped_plan_alloc(L->n0, L->n1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    double alpha1;
    lr_alds_spectra s;
    CU_ASSERT_EQUAL_FATAL(lr_alds_norm(p, L->W, &alpha1), LR_OK);
    CU_ASSERT_EQUAL_FATAL(lr_alds_spectra_compute(p, L->W, L->c, 2, alpha1, 1, &s), LR_OK);
    for (size_t j = 0; j < s.mn; j++) {
        lr_alds_error_info e;
        CU_ASSERT_EQUAL_FATAL(lr_alds_error(p, &s, j, PI_TOL, PI_MAX, &e), LR_OK);
        LR_TEST_REL(e.eps, lr_alds_bound(&s, j, LR_ALDS_L2), 1e-12, "twin: true = l2");
        LR_TEST_REL(e.eps, lr_alds_bound(&s, j, LR_ALDS_SQRTK), 1e-12, "twin: true = sqrtk");
        LR_TEST_REL(e.eps, sqrt(2.0) * lr_alds_bound(&s, j, LR_ALDS_LOWER), 1e-12, "twin: true = sqrt 2 lower");
    }
    lr_grouped_plan_free(p);
}

/* Parameter counts j (k N1 + N0) and the stays-dense rule, by hand. */
static void test_params(void)
{
    CU_ASSERT_EQUAL(lr_alds_params(48, 40, 4, 3), 3 * (4 * 40 + 48)); /* 624 */
    CU_ASSERT_EQUAL(lr_alds_params(48, 40, 4, 0), 0);
    CU_ASSERT_EQUAL(lr_alds_stays_dense(48, 40, 4, 3), 0);            /* 624 < 1920 */
    CU_ASSERT_EQUAL(lr_alds_stays_dense(48, 40, 4, 0), 0);            /* zero parameters save all */
    /* 9 x 8 at k = 1: 17 j against 72, dense from j = 5 (68 < 72 <= 85). */
    CU_ASSERT_EQUAL(lr_alds_params(9, 8, 1, 4), 68);
    CU_ASSERT_EQUAL(lr_alds_stays_dense(9, 8, 1, 4), 0);
    CU_ASSERT_EQUAL(lr_alds_params(9, 8, 1, 5), 85);
    CU_ASSERT_EQUAL(lr_alds_stays_dense(9, 8, 1, 5), 1);
    /* fashion_cnn's conv2 (8 -> 8 channels, 3x3: N0 = 72, N1 = 8) at k = 8: 136 j against 576. */
    CU_ASSERT_EQUAL(lr_alds_params(72, 8, 8, 4), 544);
    CU_ASSERT_EQUAL(lr_alds_stays_dense(72, 8, 8, 4), 0);
    CU_ASSERT_EQUAL(lr_alds_stays_dense(72, 8, 8, 5), 1);
    /* Equality stays dense: 2 x 2 at k = 1, j = 1: 1 (2 + 2) = 4 = N0 N1. */
    CU_ASSERT_EQUAL(lr_alds_stays_dense(2, 2, 1, 1), 1);
}

/* Refused arguments, values-only spectra, non-convergence reported, the SVD fallback. */
static void test_arguments_and_failures(void)
{
    const tlayer *L = &layers[0]; /* 48 x 40, c = 48 */
    lr_grouped_plan *p = lr_grouped_plan_alloc(L->n0, L->n1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    double alpha1;
    lr_alds_spectra s;
    lr_compressed c;
    lr_alds_error_info e;
    CU_ASSERT_EQUAL_FATAL(lr_alds_norm(p, L->W, &alpha1), LR_OK);
    CU_ASSERT_EQUAL(lr_alds_spectra_compute(p, L->W, 48, 5, alpha1, 1, &s), LR_EINVAL); /* 5 does not divide 48 */
    CU_ASSERT_EQUAL(lr_alds_spectra_compute(p, L->W, 7, 1, alpha1, 1, &s), LR_EINVAL);  /* 7 does not divide N0 */
    CU_ASSERT_EQUAL(lr_alds_spectra_compute(p, L->W, 48, 0, alpha1, 1, &s), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_alds_spectra_compute(p, L->W, 48, 2, -1.0, 1, &s), LR_EINVAL);
    /* A conv layer of 12 channels of 4 rows: k = 8 divides N0 = 48 but would split channels. */
    CU_ASSERT_EQUAL(lr_alds_spectra_compute(p, L->W, 12, 8, alpha1, 1, &s), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_alds_spectra_compute(p, L->W, 12, 6, alpha1, 1, &s), LR_OK);
    CU_ASSERT_EQUAL(s.rows, 8);
    lr_grouped_plan *small = lr_grouped_plan_alloc(10, 10);
    CU_ASSERT_EQUAL(lr_alds_norm(small, L->W, &alpha1), LR_EINVAL); /* larger than the plan */
    lr_grouped_plan_free(small);
    CU_ASSERT_PTR_NULL(lr_grouped_plan_alloc(0, 3));
    /* Values only: bounds yes, factors and errors no. */
    CU_ASSERT_EQUAL_FATAL(lr_alds_spectra_compute(p, L->W, 48, 4, alpha1, 0, &s), LR_OK);
    CU_ASSERT_PTR_NULL(s.U.data);
    CU_ASSERT(isfinite(lr_alds_bound(&s, 3, LR_ALDS_L2)));
    CU_ASSERT(isnan(lr_alds_bound(&s, s.mn + 1, LR_ALDS_L2)));
    CU_ASSERT_EQUAL(lr_alds_bound(&s, s.mn, LR_ALDS_SQRTK), 0.0);
    CU_ASSERT_EQUAL(lr_alds_factors(p, &s, 3, &c), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_alds_error(p, &s, 3, 1e-10, 100, &e), LR_EINVAL);
    /* With vectors: j beyond mn, bad tolerances. */
    CU_ASSERT_EQUAL_FATAL(lr_alds_spectra_compute(p, L->W, 48, 4, alpha1, 1, &s), LR_OK);
    CU_ASSERT_EQUAL(lr_alds_factors(p, &s, s.mn + 1, &c), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_alds_error(p, &s, s.mn + 1, 1e-10, 100, &e), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_alds_error(p, &s, 3, -1.0, 100, &e), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_alds_error(p, &s, 3, 1e-10, 0, &e), LR_EINVAL);
    /* alpha_next and lr_alds_bound_of agree with lr_alds_bound. */
    double an[4];
    lr_alds_alpha_next(&s, 3, an);
    for (int b = LR_ALDS_LOWER; b <= LR_ALDS_SQRTK; b++)
        CU_ASSERT_EQUAL(lr_alds_bound_of((lr_alds_bound_kind)b, an, 4, alpha1), lr_alds_bound(&s, 3, (lr_alds_bound_kind)b));
    CU_ASSERT(isnan(lr_alds_bound_of(LR_ALDS_L2, NULL, 4, alpha1)));
    /* One product only: reported as not converged, the estimate between the lower bound
     * and the converged value. */
    lr_alds_error_info full;
    CU_ASSERT_EQUAL_FATAL(lr_alds_error(p, &s, 3, PI_TOL, PI_MAX, &full), LR_OK);
    CU_ASSERT_EQUAL_FATAL(lr_alds_error(p, &s, 3, PI_TOL, 1, &e), LR_OK);
    CU_ASSERT_EQUAL(e.converged, 0);
    CU_ASSERT_EQUAL(e.iterations, 1);
    CU_ASSERT(full.converged == 1 && full.iterations > 1);
    CU_ASSERT(chain_le(lr_alds_bound(&s, 3, LR_ALDS_LOWER), e.eps) && e.eps <= full.eps);
    /* dgesdd failing for one group: dgesvd's values, counted in svd_fallbacks. */
    double a0[64];
    CU_ASSERT_EQUAL_FATAL(lr_alds_spectra_compute(p, L->W, 48, 4, alpha1, 1, &s), LR_OK);
    memcpy(a0, s.alpha, 4 * s.mn * sizeof(double));
    CU_ASSERT_EQUAL(s.svd_fallbacks, 0);
    CU_ASSERT_EQUAL_FATAL(lr_lapack_fail_after("dgesdd", 2), LR_OK);
    CU_ASSERT_EQUAL_FATAL(lr_alds_spectra_compute(p, L->W, 48, 4, alpha1, 1, &s), LR_OK);
    lr_lapack_fail_reset();
    CU_ASSERT_EQUAL(s.svd_fallbacks, 1);
    for (size_t i = 0; i < 4 * s.mn; i++) CU_ASSERT(fabs(s.alpha[i] - a0[i]) <= 1e-13 * a0[0]);
    lr_grouped_plan_free(p);
}

/* tests/test_bounds_hold.c's setting of the ALDS bounds: every (k, j) of three seeded layers
 * of its own (a linear, a conv-like and a two-halves one), the bound through the registry,
 * the observed error by lr_alds_error. */
void lr_test_alds_bound_rows(const lr_bound *b, size_t *checked, size_t *violated, size_t *rows)
{
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 2021);
    tlayer L[3] = {make_layer(g, "linear 24x20", 24, 20, 24, GAUSS), make_layer(g, "conv c=6 2x2 -> 10", 24, 10, 6, GAUSS),
                   make_layer(g, "two halves 32x12", 32, 12, 32, TWIN)};
    gsl_rng_free(g);
    lr_bound_params bp = {.tol = 1e-10};
    for (size_t l = 0; l < 3; l++) {
        lr_grouped_plan *p = lr_grouped_plan_alloc(L[l].n0, L[l].n1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        double alpha1, an[32];
        CU_ASSERT_EQUAL_FATAL(lr_alds_norm(p, L[l].W, &alpha1), LR_OK);
        size_t ks[16], nk = divisors_upto16(L[l].c, ks);
        for (size_t a = 0; a < nk; a++) {
            lr_alds_spectra s;
            CU_ASSERT_EQUAL_FATAL(lr_alds_spectra_compute(p, L[l].W, L[l].c, ks[a], alpha1, 1, &s), LR_OK);
            for (size_t j = 0; j <= s.mn; j++) {
                lr_alds_error_info e;
                CU_ASSERT_EQUAL_FATAL(lr_alds_error(p, &s, j, PI_TOL, PI_MAX, &e), LR_OK);
                lr_alds_alpha_next(&s, j, an);
                lr_bound_input in = {.ngroups = s.k, .alpha_next = an, .alpha1 = alpha1};
                int h = lr_bound_check(b, lr_bound_evaluate(b, &in, &bp), e.eps, 1.0, &bp);
                *checked += h >= 0;
                *violated += h == 0;
                (*rows)++;
            }
        }
        lr_grouped_plan_free(p);
        lr_free(L[l].W.data);
    }
}

void lr_tests_grouped(void)
{
    CU_pSuite s = CU_add_suite("alds kernel", suite_init, suite_clean);
    CU_add_test(s, "group singular values = dgesvd of the sliced W_i", test_spectra);
    CU_add_test(s, "factors: to_dense and apply = the assembled [[W_i]_j]", test_factors);
    CU_add_test(s, "true error = ||W^ - W||_2 (dgesvd); lower <= true <= l2 <= sqrtk", test_error_and_chain);
    CU_add_test(s, "k = 1: bounds = true error = sigma_{j+1}/sigma_1 (seeded and real layers)", test_k1_exact);
    CU_add_test(s, "two equal halves: the upper bounds are attained", test_twin_tight);
    CU_add_test(s, "parameter counts and the stays-dense rule", test_params);
    CU_add_test(s, "arguments refused, non-convergence reported, SVD fallback", test_arguments_and_failures);
}
