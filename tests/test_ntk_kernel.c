/* Tests of the exact infinite-width kernels and the orthant probabilities under them
 * (src/ntk/bvn.c, src/ntk/kernel_exact.c):
 *   - the bivariate normal upper orthant (Genz) against an independent one-dimensional
 *     quadrature (the conditional law of Y given X) to 1e-12, against the library's own
 *     reference (the integral over the correlation), and its limits at rho = 0, +-1;
 *   - each layer's kernel by its three methods on seeded data (i.i.d. columns, and a
 *     two-class mixture with correlations up to about 0.8): closed form = reference, Mehler =
 *     closed form for the smooth activations, Mehler within its own truncation bound for the
 *     kinked ones, Mehler = reference for tanh and sigmoid;
 *   - the three-layer recursion (CK and NTK) by the three methods; a hand-computed two-sample
 *     case; exact symmetry and positive semidefiniteness (dsyevd); the NTK flagged and NaN
 *     where sigma' holds a Dirac mass; results bitwise independent of the thread count; no
 *     allocation after the plan; argument checks and allocation failures.
 * Tolerances are relative to the largest entry of the kernel compared; the suite prints the
 * deviations it saw. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/error.h"
#include "core/mat.h"
#include "core/rng.h"
#include "ntk/bvn.h"
#include "ntk/kernel_emp.h"
#include "ntk/kernel_exact.h"
#include "tests.h"

#define BVN_TOL 1e-12      /* Genz against the conditional quadrature */
#define CLOSED_REF_TOL 1e-12 /* closed form against the 2-D reference, per layer and recursion */
#define MEHLER_TOL 1e-12   /* Mehler against closed forms, smooth activations */
#define MEHLER_REF_TOL 1e-10 /* Mehler against the reference, tanh and sigmoid (the reference's limit) */

static lr_mat mnew(size_t r, size_t c) { return lr_mat_wrap(lr_calloc(r * c + 1, sizeof(double)), r, c); }

static lr_ntk_act act(const char *spec)
{
    lr_ntk_act a = {0};
    CU_ASSERT_EQUAL(lr_ntk_act_parse(spec, &a), LR_OK);
    return a;
}

/* max |A - B| / max(max |B|, 1e-300) */
static double rel_dev(lr_mat A, lr_mat B)
{
    double d = 0, m = 0;
    for (size_t j = 0; j < A.cols; j++)
        for (size_t i = 0; i < A.rows; i++) {
            d = fmax(d, fabs(LR_AT(A, i, j) - LR_AT(B, i, j)));
            m = fmax(m, fabs(LR_AT(B, i, j)));
        }
    return d / fmax(m, 1e-300);
}

static double max_abs_diff(lr_mat A, lr_mat B)
{
    double d = 0;
    for (size_t j = 0; j < A.cols; j++)
        for (size_t i = 0; i < A.rows; i++) d = fmax(d, fabs(LR_AT(A, i, j) - LR_AT(B, i, j)));
    return d;
}

/* Seeded data, p x n: i.i.d. N(0, I / p) columns (kind 0), or a two-class mixture with means
 * +-mu, ||mu|| about 1.2, plus N(0, I / p) noise (kind 1: correlations up to about 0.8). */
static lr_mat make_X(size_t p, size_t n, int kind, uint64_t seed)
{
    gsl_rng *g = lr_rng_alloc();
    lr_rng_seed_unit(g, seed, 0, 0);
    lr_mat X = mnew(p, n);
    double *mu = lr_calloc(p, sizeof *mu);
    for (size_t i = 0; i < p; i++) mu[i] = gsl_ran_gaussian(g, 1.2 / sqrt((double)p));
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < p; i++)
            LR_AT(X, i, j) = gsl_ran_gaussian(g, 1.0 / sqrt((double)p)) + (kind ? (j % 2 ? mu[i] : -mu[i]) : 0.0);
    lr_free(mu);
    gsl_rng_free(g);
    return X;
}

static void gram(lr_mat X, lr_mat K) { CU_ASSERT_EQUAL(lr_gemm('T', 'N', 1.0, X, X, 0.0, K), LR_OK); }

/* ---- the orthant probabilities ---- */

typedef struct cond_arg {
    double k, r;
} cond_arg;

/* P(X > h, Y > k) = int_h^inf phi(x) Q((k - r x) / sqrt(1 - r^2)) dx */
static double cond_fn(double x, void *p)
{
    const cond_arg *a = p;
    return gsl_ran_ugaussian_pdf(x) * gsl_cdf_ugaussian_Q((a->k - a->r * x) / sqrt((1 - a->r) * (1 + a->r)));
}

static double bvn_cond(double h, double k, double r, gsl_integration_workspace *w)
{
    cond_arg a = {k, r};
    gsl_function F = {cond_fn, &a};
    /* The conditional probability steps from 0 to 1 (or back) at x = k / r over a width
     * sqrt(1 - r^2) / |r|: cut the line there, so that each piece is smooth on its own scale. */
    double br[8], v = 0, piece, e;
    size_t nb = 0;
    br[nb++] = h;
    if (r != 0) {
        double c = k / r, wd = sqrt((1 - r) * (1 + r)) / fabs(r);
        const double at[] = {c - 40 * wd, c - 4 * wd, c, c + 4 * wd, c + 40 * wd};
        for (int i = 0; i < 5; i++)
            if (at[i] > br[nb - 1]) br[nb++] = at[i];
    }
    /* GSL_EROUND: the tolerance is below what rounding allows, the result is as good as it gets */
    for (size_t i = 0; i + 1 < nb; i++) {
        int st = gsl_integration_qag(&F, br[i], br[i + 1], 1e-17, 1e-14, 1000, GSL_INTEG_GAUSS61, w, &piece, &e);
        CU_ASSERT(st == 0 || st == GSL_EROUND);
        v += piece;
    }
    int st = gsl_integration_qagiu(&F, br[nb - 1], 1e-17, 1e-14, 1000, w, &piece, &e);
    CU_ASSERT(st == 0 || st == GSL_EROUND);
    return v + piece;
}

static void test_bvn(void)
{
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
    gsl_rng *g = lr_rng_alloc();
    lr_rng_seed_unit(g, 13, 1, 0);
    double worst = 0, worst_ref = 0, worst_cov = 0;
    int cases = 0;
    for (int t = 0; t < 600; t++) {
        double h = gsl_ran_gaussian(g, 1.5), k = gsl_ran_gaussian(g, 1.5), r = 2 * gsl_rng_uniform(g) - 1;
        if (t % 4 == 0) r = (r > 0 ? 1 : -1) * (1 - pow(10, -1 - 11 * gsl_rng_uniform(g))); /* |r| near 1 */
        if (t % 7 == 0) k = h;
        double f = lr_ntk_bvn_upper(h, k, r), c = bvn_cond(h, k, r, w), ref;
        CU_ASSERT_EQUAL(lr_ntk_bvn_upper_ref(h, k, r, 1e-15, 1e-13, 1000, w, &ref), LR_OK);
        worst = fmax(worst, fabs(f - c));
        worst_ref = fmax(worst_ref, fabs(f - ref));
        /* the covariance form, the symmetry, the lower-orthant form */
        worst_cov = fmax(worst_cov, fabs(lr_ntk_bvn_cov(h, k, r) - (c - gsl_cdf_ugaussian_Q(h) * gsl_cdf_ugaussian_Q(k))));
        CU_ASSERT(fabs(lr_ntk_bvn_upper(k, h, r) - f) <= 1e-15);
        CU_ASSERT(fabs(lr_ntk_bvn_cdf(-h, -k, r) - f) <= 0);
        CU_ASSERT(f >= 0 && f <= 1);
        cases++;
    }
    printf("\n    P(X > h, Y > k): %d cases, Genz vs conditional quadrature %.1e, vs reference %.1e, "
           "covariance form %.1e ",
           cases, worst, worst_ref, worst_cov);
    CU_ASSERT(worst <= BVN_TOL);
    CU_ASSERT(worst_ref <= BVN_TOL);
    CU_ASSERT(worst_cov <= BVN_TOL);
    /* limits: rho = 0 (independent), +1 (Y = X), -1 (Y = -X), and continuity towards +-1,
     * where P - P(+-1) ~ sqrt(1 - |r|) */
    const double hs[] = {-2, -0.5, 0, 0.3, 1.7};
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 5; b++) {
            double h = hs[a], k = hs[b], Qh = gsl_cdf_ugaussian_Q(h), Qk = gsl_cdf_ugaussian_Q(k);
            CU_ASSERT_EQUAL(lr_ntk_bvn_upper(h, k, 0), Qh * Qk);
            CU_ASSERT_EQUAL(lr_ntk_bvn_cov(h, k, 0), 0.0);
            double p1 = gsl_cdf_ugaussian_Q(fmax(h, k)), m1 = fmax(0.0, gsl_cdf_ugaussian_P(-k) - gsl_cdf_ugaussian_P(h));
            CU_ASSERT(fabs(lr_ntk_bvn_upper(h, k, 1) - p1) <= 1e-16);
            CU_ASSERT(fabs(lr_ntk_bvn_upper(h, k, -1) - m1) <= 2e-16);
            for (double e = 1e-2; e >= 1e-14; e /= 100) {
                CU_ASSERT(fabs(lr_ntk_bvn_upper(h, k, 1 - e) - p1) <= sqrt(e));
                CU_ASSERT(fabs(lr_ntk_bvn_upper(h, k, -1 + e) - m1) <= sqrt(e));
            }
        }
    /* infinite limits and bad arguments */
    CU_ASSERT_EQUAL(lr_ntk_bvn_upper(INFINITY, 0, 0.5), 0.0);
    CU_ASSERT_EQUAL(lr_ntk_bvn_upper(-INFINITY, 0.3, 0.5), gsl_cdf_ugaussian_Q(0.3));
    CU_ASSERT(isnan(lr_ntk_bvn_upper(0, 0, 1.5)) && isnan(lr_ntk_bvn_upper(NAN, 0, 0)));
    double v;
    CU_ASSERT_EQUAL(lr_ntk_bvn_upper_ref(0, 0, 2, 1e-12, 1e-12, 100, NULL, &v), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_bvn_upper_ref(0.5, -0.2, 0.4, 1e-14, 1e-12, 100, NULL, &v), LR_OK);
    CU_ASSERT(fabs(v - lr_ntk_bvn_upper(0.5, -0.2, 0.4)) < 1e-14);
    gsl_rng_free(g);
    gsl_integration_workspace_free(w);
}

/* lr_ntk_bvn_cov4 (the four orthants sharing one correlation: libmvec's AVX2 exp and sin
 * where the machine has them) and lr_ntk_bvn_cov4_scalar against four plain lr_ntk_bvn_cov
 * calls: random thresholds (some 0, some +-inf) and correlations, the rule boundaries 0.3,
 * 0.75, 0.925, |r| near and at 1, NaN.  For |r| < 0.925 the covariance is a sum of positive
 * terms (times asin r), so the tolerance is relative to the value itself: the vector exp and
 * sin are within 4 ulp, the exponent's error grows with |h k|. */
#define BVN4_TOL 1e-13
static void test_bvn_cov4(void)
{
    gsl_rng *g = lr_rng_alloc();
    lr_rng_seed_unit(g, 77, 0, 0);
    const double rs[] = {0, 1e-300, -1e-12, 0.2999999, 0.3, -0.3, 0.7499999, 0.75, -0.75, 0.9249999, -0.9249999,
                         0.925, -0.925, 0.99, 1 - 1e-9, -1 + 1e-12, 1, -1};
    const size_t nfix = sizeof rs / sizeof rs[0], cases = 4000;
    double worst_v = 0, worst_s = 0, scale = 0;
    long bad_v = 0, bad_s = 0, same_s = 0;
    for (size_t c = 0; c < cases; c++) {
        double r = c < 8 * nfix ? rs[c % nfix] : (c % 3 ? gsl_ran_flat(g, -1, 1) : gsl_ran_flat(g, -0.925, 0.925));
        double h[2], k[2];
        for (int a = 0; a < 2; a++) {
            double u = gsl_rng_uniform(g);
            h[a] = u < 0.05 ? 0.0 : (u < 0.08 ? (u < 0.065 ? INFINITY : -INFINITY) : gsl_ran_gaussian(g, 2.0));
            u = gsl_rng_uniform(g);
            k[a] = u < 0.05 ? 0.0 : (u < 0.08 ? (u < 0.065 ? INFINITY : -INFINITY) : gsl_ran_gaussian(g, 2.0));
        }
        if (c % 500 == 7) h[1] = h[0], k[1] = k[0]; /* repeated thresholds (sign, step) */
        double v[4], sc[4];
        lr_ntk_bvn_cov4(h, k, r, v);
        lr_ntk_bvn_cov4_scalar(h, k, r, sc);
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
                double p = lr_ntk_bvn_cov(h[a], k[b], r), tol = BVN4_TOL * fabs(p);
                double dv = fabs(v[2 * a + b] - p), ds = fabs(sc[2 * a + b] - p);
                if (fabs(r) >= 0.925 || !isfinite(h[a]) || !isfinite(k[b]) || r == 0) tol = 0; /* the plain path */
                bad_v += !(dv <= tol), bad_s += !(ds <= tol), same_s += ds == 0;
                if (p != 0) worst_v = fmax(worst_v, dv / fabs(p)), worst_s = fmax(worst_s, ds / fabs(p));
                scale = fmax(scale, fabs(p));
            }
    }
    printf("\n    four orthants at once (%s): %zu cases, relative deviation from 4 x lr_ntk_bvn_cov %.1e (scalar shared "
           "path %.1e, equal in %ld of %zu)",
           lr_ntk_simd_avx2() ? "libmvec AVX2" : "scalar", cases, worst_v, worst_s, same_s, 4 * cases);
    CU_ASSERT_EQUAL(bad_v, 0);
    CU_ASSERT_EQUAL(bad_s, 0);
    CU_ASSERT(scale > 0.05); /* the cases are not all trivial */
    /* NaN in, NaN out; r outside [-1, 1] */
    double v[4], h[2] = {0.5, NAN}, k[2] = {0.1, -0.2};
    lr_ntk_bvn_cov4(h, k, 0.4, v);
    CU_ASSERT(!isnan(v[0]) && !isnan(v[1]) && isnan(v[2]) && isnan(v[3]));
    h[1] = 1.0;
    lr_ntk_bvn_cov4(h, k, NAN, v);
    CU_ASSERT(isnan(v[0]) && isnan(v[1]) && isnan(v[2]) && isnan(v[3]));
    lr_ntk_bvn_cov4_scalar(h, k, 1.5, v);
    CU_ASSERT(isnan(v[0]) && isnan(v[3]));
    gsl_rng_free(g);
}

/* ---- one layer by each method ---- */

static const char *const all_specs[] = {"relu", "leaky_relu(0.1,1)", "abs", "erf", "sin", "cos", "linear",
                                        "quad(0.5,-1,0.25)", "tanh", "sigmoid", "step", "sign",
                                        "sigma_T(0.7,-0.5,1.2)", "sigma_Q(0.4,-1.3,-0.2,0.9)"};
#define NALL (sizeof all_specs / sizeof all_specs[0])

static void test_layer_methods(void)
{
    const size_t p = 50, n = 30;
    lr_ntk_kernel_plan *P = lr_ntk_kernel_plan_alloc(n, 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(P);
    lr_mat Kin = mnew(n, n), Kc = mnew(n, n), Km = mnew(n, n), Kr = mnew(n, n);
    double w_cr = 0, w_mc = 0, w_mr = 0, w_bound = 0;
    for (int kind = 0; kind < 2; kind++) {
        lr_mat X = make_X(p, n, kind, 7 + (uint64_t)kind);
        gram(X, Kin);
        for (size_t s = 0; s < NALL; s++) {
            lr_ntk_act a = act(all_specs[s]);
            for (int deriv = 0; deriv <= 1; deriv++) {
                if (deriv && lr_ntk_act_has_dirac(&a)) {
                    CU_ASSERT_EQUAL(lr_ntk_kernel_layer(P, &a, 1, 0, Kin, Kc, LR_NTK_KERNEL_AUTO, NULL), LR_EINVAL);
                    CU_ASSERT_EQUAL(lr_ntk_kernel_layer(P, &a, 1, 0, Kin, Kc, LR_NTK_KERNEL_MEHLER, NULL), LR_EINVAL);
                    continue;
                }
                double shift = deriv ? 0.0 : 0.3; /* any constant: the kernels take it as given */
                double bound;
                int has = lr_ntk_kernel_has_closed(&a, deriv), smooth = lr_ntk_act_get(a.id)->flags & LR_NTK_ACT_SMOOTH;
                /* the reference (slow) on the mixture only where Mehler cannot stand in for it */
                int ref = kind == 0 || !has || !smooth;
                CU_ASSERT_EQUAL(lr_ntk_kernel_layer(P, &a, deriv, shift, Kin, Km, LR_NTK_KERNEL_MEHLER, &bound), LR_OK);
                if (ref)
                    CU_ASSERT_EQUAL(lr_ntk_kernel_layer(P, &a, deriv, shift, Kin, Kr, LR_NTK_KERNEL_REFERENCE, NULL),
                                    LR_OK);
                if (has) {
                    CU_ASSERT_EQUAL(lr_ntk_kernel_layer(P, &a, deriv, shift, Kin, Kc, LR_NTK_KERNEL_CLOSED, NULL),
                                    LR_OK);
                    double cr = ref ? rel_dev(Kr, Kc) : 0;
                    w_cr = fmax(w_cr, cr);
                    if (!(cr <= CLOSED_REF_TOL))
                        fprintf(stderr, "\n  %s%s (data %d): closed vs reference %.2e\n", all_specs[s],
                                deriv ? "'" : "", kind, cr);
                    CU_ASSERT(cr <= CLOSED_REF_TOL);
                    if (smooth) {
                        double mc = rel_dev(Km, Kc);
                        w_mc = fmax(w_mc, mc);
                        CU_ASSERT(mc <= MEHLER_TOL);
                    } else {
                        /* a kinked sigma: slow Hermite decay, but within the reported bound
                         * (plus the rounding of the sums) */
                        double d = max_abs_diff(Km, Kc);
                        w_bound = fmax(w_bound, d / (bound + 1e-13));
                        CU_ASSERT(d <= bound + 1e-13);
                    }
                } else {
                    double mr = rel_dev(Km, Kr);
                    w_mr = fmax(w_mr, mr);
                    CU_ASSERT(mr <= MEHLER_REF_TOL);
                }
            }
        }
        lr_free(X.data);
    }
    printf("\n    one layer: closed vs reference %.1e; Mehler vs closed (smooth) %.1e; Mehler vs reference "
           "(tanh, sigmoid) %.1e; kinked Mehler error / bound <= %.2f ",
           w_cr, w_mc, w_mr, w_bound);
    lr_free(Kin.data), lr_free(Kc.data), lr_free(Km.data), lr_free(Kr.data);
    lr_ntk_kernel_plan_free(P);
}

/* Near-duplicate samples (correlation 1 - 1e-12 .. 1) and exactly opposite ones: the methods
 * stay together for a single layer (where the input is exact; over several layers the kernels
 * of ReLU' and the step are not Lipschitz at rho = 1, and the layers' rounding is amplified). */
static void test_layer_near_one(void)
{
    const size_t n = 2;
    lr_ntk_kernel_plan *P = lr_ntk_kernel_plan_alloc(n, 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(P);
    double worst = 0;
    const char *specs[] = {"relu", "step", "sigma_T(0.7,-0.5,1.2)", "sigma_Q(0.4,-1.3,-0.2,0.9)", "tanh"};
    const double eps[] = {0, 1.1e-16, 1e-14, 1e-12, 1e-9, 1e-6, 1e-3};
    for (size_t s = 0; s < 5; s++) {
        lr_ntk_act a = act(specs[s]);
        for (int deriv = 0; deriv <= !lr_ntk_act_has_dirac(&a); deriv++)
            for (size_t e = 0; e < 7; e++)
                for (int sg = -1; sg <= 1; sg += 2) {
                    double k[4] = {1.3, sg * (1 - eps[e]) * sqrt(1.3 * 0.7), 0, 0.7}, A[4], B[4];
                    k[2] = k[1];
                    lr_mat K = lr_mat_wrap(k, 2, 2);
                    lr_ntk_kernel_method m = lr_ntk_kernel_has_closed(&a, deriv) ? LR_NTK_KERNEL_CLOSED : LR_NTK_KERNEL_MEHLER;
                    CU_ASSERT_EQUAL(lr_ntk_kernel_layer(P, &a, deriv, 0.2, K, lr_mat_wrap(A, 2, 2), m, NULL), LR_OK);
                    CU_ASSERT_EQUAL(lr_ntk_kernel_layer(P, &a, deriv, 0.2, K, lr_mat_wrap(B, 2, 2), LR_NTK_KERNEL_REFERENCE, NULL), LR_OK);
                    if (m == LR_NTK_KERNEL_MEHLER) continue; /* tanh: Mehler converges slowly at |rho| -> 1 */
                    worst = fmax(worst, fabs(A[1] - B[1]));
                }
    }
    printf("\n    |rho| -> 1, one layer: closed vs reference %.1e ", worst);
    CU_ASSERT(worst <= CLOSED_REF_TOL);
    lr_ntk_kernel_plan_free(P);
}

/* ---- the recursion ---- */

static void exact(lr_ntk_kernel_plan *P, lr_mat X, const char *spec, size_t L, lr_ntk_kernel_method m, lr_mat CK,
                  lr_mat NTK, lr_ntk_kernel_info *info)
{
    lr_ntk_act a[LR_NTK_MAX_LAYERS];
    for (size_t l = 0; l < L; l++) a[l] = act(spec);
    int st = lr_ntk_kernel_exact(P, X, a, L, 1.0, m, CK, NTK, info);
    if (st) fprintf(stderr, "\n  %s: %s\n", spec, lr_last_error());
    CU_ASSERT_EQUAL(st, LR_OK);
}

static void test_recursion_methods(void)
{
    const size_t p = 50, n = 24, L = 3;
    lr_ntk_kernel_plan *P = lr_ntk_kernel_plan_alloc(n, L, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(P);
    lr_mat C[3], N[3];
    for (int m = 0; m < 3; m++) C[m] = mnew(n, n), N[m] = mnew(n, n);
    const lr_ntk_kernel_method ms[3] = {LR_NTK_KERNEL_AUTO, LR_NTK_KERNEL_MEHLER, LR_NTK_KERNEL_REFERENCE};
    const char *specs[] = {"relu", "erf", "tanh", "sigma_T(0.7,-0.5,1.2)"};
    for (int kind = 0; kind < 2; kind++) {
        lr_mat X = make_X(p, n, kind, 21 + (uint64_t)kind);
        for (size_t s = 0; s < 4; s++) {
            lr_ntk_kernel_info inf[3];
            for (int m = 0; m < 3; m++) exact(P, X, specs[s], L, ms[m], C[m], N[m], &inf[m]);
            double ar = rel_dev(C[2], C[0]), am = rel_dev(C[1], C[0]);
            int smooth = s == 1 || s == 2;
            printf("\n    L = 3, %s, data %d: CK auto (%s) vs reference %.1e, vs Mehler %.1e (bound %.1e)", specs[s],
                   kind, lr_ntk_kernel_method_name(inf[0].method[0]), ar, am, inf[1].trunc_max);
            CU_ASSERT(ar <= (s == 2 ? MEHLER_REF_TOL : CLOSED_REF_TOL));
            if (smooth) CU_ASSERT(am <= (s == 2 ? 0 : MEHLER_TOL));
            if (inf[0].ntk_defined) {
                double nr = rel_dev(N[2], N[0]), nm = rel_dev(N[1], N[0]);
                printf("; NTK vs reference %.1e, vs Mehler %.1e", nr, nm);
                CU_ASSERT(nr <= (s == 2 ? MEHLER_REF_TOL : 1e-11));
                if (smooth) CU_ASSERT(nm <= (s == 2 ? 0 : MEHLER_TOL));
            } else {
                CU_ASSERT(s == 3 && inf[0].ntk_undefined_layer == 1 && isnan(LR_AT(N[0], 0, 0)) && isnan(LR_AT(N[0], 3, 7)));
            }
            /* the per-layer record */
            CU_ASSERT(inf[0].layers == L && inf[0].tau[0] == 1.0);
            for (size_t l = 0; l < L; l++) {
                CU_ASSERT(inf[0].tau[l + 1] == sqrt(inf[0].keyq[l].var) && inf[0].centre[l] == inf[0].keyq[l].mean);
                CU_ASSERT(inf[0].keyq[l].tau == inf[0].tau[l]);
                CU_ASSERT(inf[1].method[l] == LR_NTK_KERNEL_MEHLER && inf[2].method[l] == LR_NTK_KERNEL_REFERENCE);
            }
        }
        lr_free(X.data);
    }
    for (int m = 0; m < 3; m++) lr_free(C[m].data), lr_free(N[m].data);
    lr_ntk_kernel_plan_free(P);
}

/* Two unit samples at 60 degrees, relu, two layers, by the scalar formulas. */
static double arccos1(double kii, double kjj, double kij)
{
    double r = kij / sqrt(kii * kjj), th = acos(fmin(1, fmax(-1, r)));
    return sqrt(kii * kjj) / (2 * M_PI) * (sin(th) + (M_PI - th) * cos(th));
}
static double arccos0(double kii, double kjj, double kij)
{
    double r = kij / sqrt(kii * kjj), th = acos(fmin(1, fmax(-1, r)));
    return (M_PI - th) / (2 * M_PI);
}

static void test_two_samples(void)
{
    double x[4] = {1, 0, 0.5, sqrt(3) / 2};
    lr_mat X = lr_mat_wrap(x, 2, 2);
    lr_ntk_kernel_plan *P = lr_ntk_kernel_plan_alloc(2, 2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(P);
    double ck[4], ntk[4];
    lr_ntk_kernel_info inf;
    exact(P, X, "relu", 2, LR_NTK_KERNEL_AUTO, lr_mat_wrap(ck, 2, 2), lr_mat_wrap(ntk, 2, 2), &inf);
    /* by hand: K0 = [[1, 1/2], [1/2, 1]], tau_0 = 1 */
    double K0[3] = {1, 1, 0.5}; /* K_11, K_22, K_12 */
    double c1 = 1 / sqrt(2 * M_PI), tau1 = sqrt(0.5 - 0.5 / M_PI);
    /* E[(relu(u) - c)(relu(v) - c)] = arccos1 - c (m_i + m_j) + c^2, m = sqrt(K_ii) / sqrt(2 pi) */
    double K1[3];
    for (int e = 0; e < 3; e++) {
        double a = e == 1 ? K0[1] : K0[0], b = e == 0 ? K0[0] : K0[1], ab = e == 2 ? K0[2] : (e == 0 ? K0[0] : K0[1]);
        K1[e] = arccos1(a, b, ab) - c1 * (sqrt(a) + sqrt(b)) / sqrt(2 * M_PI) + c1 * c1;
    }
    double D1[3] = {arccos0(1, 1, 1), arccos0(1, 1, 1), arccos0(1, 1, 0.5)}; /* 1/2, 1/2, 1/3 */
    double N1[3];
    for (int e = 0; e < 3; e++) N1[e] = K1[e] + K0[e] * D1[e];
    double c2 = tau1 / sqrt(2 * M_PI), K2[3], D2[3], N2[3];
    for (int e = 0; e < 3; e++) {
        double a = e == 1 ? K1[1] : K1[0], b = e == 0 ? K1[0] : K1[1], ab = e == 2 ? K1[2] : (e == 0 ? K1[0] : K1[1]);
        K2[e] = arccos1(a, b, ab) - c2 * (sqrt(a) + sqrt(b)) / sqrt(2 * M_PI) + c2 * c2;
        D2[e] = arccos0(a, b, ab);
        N2[e] = K2[e] + N1[e] * D2[e];
    }
    LR_TEST_REL(D1[2], 1.0 / 3, 1e-15, "K'_1 at 60 degrees");
    LR_TEST_REL(inf.centre[0], c1, 1e-15, "c_1");
    LR_TEST_REL(inf.tau[1], tau1, 1e-15, "tau_1");
    LR_TEST_REL(inf.centre[1], c2, 1e-15, "c_2");
    LR_TEST_REL(ck[0], K2[0], 1e-13, "K_CK,2 11");
    LR_TEST_REL(ck[3], K2[1], 1e-13, "K_CK,2 22");
    LR_TEST_REL(ck[1], K2[2], 1e-13, "K_CK,2 12");
    CU_ASSERT_EQUAL(ck[1], ck[2]);
    LR_TEST_REL(ntk[0], N2[0], 1e-13, "K_NTK,2 11");
    LR_TEST_REL(ntk[3], N2[1], 1e-13, "K_NTK,2 22");
    LR_TEST_REL(ntk[1], N2[2], 1e-13, "K_NTK,2 12");
    CU_ASSERT_EQUAL(ntk[1], ntk[2]);
    /* linear activation: CK_l = K_0, K' = 1, so NTK_L = (L + 1) K_0 */
    exact(P, X, "linear", 2, LR_NTK_KERNEL_AUTO, lr_mat_wrap(ck, 2, 2), lr_mat_wrap(ntk, 2, 2), &inf);
    for (int e = 0; e < 4; e++) {
        double k0 = e == 0 || e == 3 ? 1.0 : 0.5;
        LR_TEST_REL(ck[e], k0, 1e-15, "linear CK = X^T X");
        LR_TEST_REL(ntk[e], 3 * k0, 1e-15, "linear NTK = 3 X^T X");
    }
    lr_ntk_kernel_plan_free(P);
}

/* lr_ntk_kernel_exact's fused piecewise-linear layers (CK, K' and the NTK step in one pass,
 * libmvec's asin where the machine has AVX2) against the plain path: lr_ntk_kernel_layer's
 * closed forms, CK and K' separately, then K_NTK,l = K_CK,l + K_NTK,l-1 o K'_CK,l.  n = 23
 * (not a multiple of the vector width), a zero sample (its scale is 0), mixed depths, relu,
 * leaky_relu and abs.  Equal to rounding (1e-13 of the largest entry) with libmvec, bitwise
 * on the scalar path. */
static void test_fused_pwlin(void)
{
    const size_t p = 30, n = 23, L = 3;
    lr_ntk_kernel_plan *P = lr_ntk_kernel_plan_alloc(n, L, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(P);
    lr_mat CK = mnew(n, n), NT = mnew(n, n), K0 = mnew(n, n), K1 = mnew(n, n), KD = mnew(n, n), PN = mnew(n, n);
    const char *specs[] = {"relu", "leaky_relu(0.1,1)", "abs", "leaky_relu(-0.5,2)"};
    const int avx2 = lr_ntk_simd_avx2();
    double worst = 0;
    for (int kind = 0; kind < 2; kind++) {
        lr_mat X = make_X(p, n, kind, 31 + (uint64_t)kind);
        for (size_t i = 0; i < p; i++) LR_AT(X, i, 5) = 0; /* a zero sample */
        for (size_t s = 0; s < 4; s++) {
            lr_ntk_act a[3];
            for (size_t l = 0; l < L; l++) a[l] = act(specs[s]);
            lr_ntk_kernel_info inf;
            CU_ASSERT_EQUAL_FATAL(lr_ntk_kernel_exact(P, X, a, L, 1.0, LR_NTK_KERNEL_AUTO, CK, NT, &inf), LR_OK);
            CU_ASSERT(inf.ntk_defined && inf.method[0] == LR_NTK_KERNEL_CLOSED && inf.dmethod[0] == LR_NTK_KERNEL_CLOSED);
            /* the plain path */
            CU_ASSERT_EQUAL(lr_syrk('T', 1.0, X, 0.0, K0), LR_OK);
            for (size_t j = 0; j < n; j++)
                for (size_t i = 0; i < j; i++) LR_AT(K0, i, j) = LR_AT(K0, j, i);
            lr_mat_copy(PN, K0);
            for (size_t l = 0; l < L; l++) {
                CU_ASSERT_EQUAL(lr_ntk_kernel_layer(P, &a[l], 0, inf.centre[l], K0, K1, LR_NTK_KERNEL_CLOSED, NULL), LR_OK);
                CU_ASSERT_EQUAL(lr_ntk_kernel_layer(P, &a[l], 1, 0.0, K0, KD, LR_NTK_KERNEL_CLOSED, NULL), LR_OK);
                for (size_t q = 0; q < n * n; q++) PN.data[q] = K1.data[q] + PN.data[q] * KD.data[q];
                lr_mat_copy(K0, K1);
            }
            double dc = rel_dev(CK, K0), dn = rel_dev(NT, PN);
            worst = fmax(worst, fmax(dc, dn));
            CU_ASSERT(dc <= 1e-13 && dn <= 1e-13);
            if (!avx2) CU_ASSERT(max_abs_diff(CK, K0) == 0 && max_abs_diff(NT, PN) == 0);
            /* exactly symmetric (the fused layers write the lower triangle, mirrored once) */
            for (size_t j = 0; j < n; j++)
                for (size_t i = 0; i < j; i++)
                    CU_ASSERT(LR_AT(CK, i, j) == LR_AT(CK, j, i) && LR_AT(NT, i, j) == LR_AT(NT, j, i));
        }
        lr_free(X.data);
    }
    printf("\n    fused piecewise-linear layers (%s asin) vs the plain layers: %.1e", avx2 ? "libmvec AVX2" : "scalar",
           worst);
    lr_free(CK.data), lr_free(NT.data), lr_free(K0.data), lr_free(K1.data), lr_free(KD.data), lr_free(PN.data);
    lr_ntk_kernel_plan_free(P);
}

/* The piecewise-constant layers (closed forms: the Hermite series for |rho| < 0.3, Genz's
 * orthants four at a time elsewhere) against the plain sum of four lr_ntk_bvn_cov calls per
 * entry computed here: sign, step, sigma_T, sigma_Q on data with correlations from 0 to
 * about 0.95 (a mixture, and its Gram scaled), a zero sample, n not a multiple of 4.  The
 * levels L + h_1 1{t > t_1} + h_2 1{t > t_2} are checked against lr_ntk_act_value first. */
static void test_pwconst_layer(void)
{
    const size_t p = 12, n = 23;
    struct {
        const char *spec;
        double L, h[2], t[2];
    } cs[] = {{"sign", -1, {0, 2}, {0, 0}},
              {"step", 0, {0, 1}, {0, 0}},
              {"sigma_T(0.7,-0.5,1.2)", 0.7, {-0.7, 0.7}, {-0.5, 1.2}},
              {"sigma_Q(-1,2,-0.3,0.8)", -1, {1, 2}, {-0.3, 0.8}}};
    lr_ntk_kernel_plan *P = lr_ntk_kernel_plan_alloc(n, 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(P);
    lr_mat K = mnew(n, n), O = mnew(n, n);
    double worst = 0;
    size_t small = 0, large = 0;
    for (int kind = 0; kind < 3; kind++) {
        lr_mat X = make_X(p, n, kind > 0, 41 + (uint64_t)kind);
        for (size_t i = 0; i < p; i++) LR_AT(X, i, 7) = 0;
        gram(X, K);
        if (kind == 2) /* stronger class means: correlations up to about 0.95 */
            for (size_t j = 0; j < n; j++)
                for (size_t i = 0; i < p; i++) LR_AT(X, i, j) *= (j % 3 ? 1.0 : 2.0);
        if (kind == 2) gram(X, K);
        for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
            lr_ntk_act a = act(cs[c].spec);
            for (double x = -3; x <= 3; x += 0.05)
                if (x != cs[c].t[0] && x != cs[c].t[1])
                    CU_ASSERT_EQUAL(lr_ntk_act_value(&a, x), cs[c].L + (x > cs[c].t[0] ? cs[c].h[0] : 0) + (x > cs[c].t[1] ? cs[c].h[1] : 0));
            double shift = 0.1;
            CU_ASSERT_EQUAL_FATAL(lr_ntk_kernel_layer(P, &a, 0, shift, K, O, LR_NTK_KERNEL_CLOSED, NULL), LR_OK);
            double dev = 0, big = 0;
            for (size_t j = 0; j < n; j++)
                for (size_t i = 0; i < n; i++) {
                    double si = sqrt(LR_AT(K, i, i)), sj = sqrt(LR_AT(K, j, j)), v = 0, mi = cs[c].L - shift,
                           mj = cs[c].L - shift;
                    for (int e = 0; e < 2; e++) {
                        mi += cs[c].h[e] * gsl_cdf_ugaussian_Q(cs[c].t[e] / si);
                        mj += cs[c].h[e] * gsl_cdf_ugaussian_Q(cs[c].t[e] / sj);
                    }
                    if (!(si > 0)) mi = lr_ntk_act_value(&a, 0.0) - shift; /* u = 0 */
                    if (!(sj > 0)) mj = lr_ntk_act_value(&a, 0.0) - shift;
                    if (si > 0 && sj > 0) {
                        double r = i == j ? 1.0 : fmax(-1.0, fmin(1.0, LR_AT(K, i, j) / (si * sj)));
                        if (i != j) fabs(r) < 0.3 ? small++ : large++;
                        for (int e = 0; e < 2; e++)
                            for (int f = 0; f < 2; f++)
                                if (cs[c].h[e] != 0 && cs[c].h[f] != 0)
                                    v += cs[c].h[e] * cs[c].h[f] * lr_ntk_bvn_cov(cs[c].t[e] / si, cs[c].t[f] / sj, r);
                    }
                    v += mi * mj;
                    dev = fmax(dev, fabs(LR_AT(O, i, j) - v)), big = fmax(big, fabs(v));
                }
            worst = fmax(worst, dev / big);
            CU_ASSERT(dev <= 1e-14 * big);
        }
        lr_free(X.data);
    }
    printf("\n    piecewise-constant layers (series for |rho| < 0.3) vs 4 x lr_ntk_bvn_cov per entry: %.1e (%zu entries "
           "below 0.3, %zu above)",
           worst, small, large);
    CU_ASSERT(small > 0 && large > 0);
    lr_free(K.data), lr_free(O.data);
    lr_ntk_kernel_plan_free(P);
}

/* ---- properties ---- */

static double min_eig_rel(lr_mat K)
{
    size_t n = K.rows;
    lr_mat S = mnew(n, n);
    double *w = lr_calloc(n, sizeof *w);
    lr_mat_copy(S, K);
    CU_ASSERT_EQUAL(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)n, S.data, (lapack_int)n, w), 0);
    double r = w[0] / fmax(fabs(w[n - 1]), 1e-300);
    lr_free(w), lr_free(S.data);
    return r;
}

static void test_symmetry_psd(void)
{
    const size_t p = 40, n = 60, L = 3;
    lr_ntk_kernel_plan *P = lr_ntk_kernel_plan_alloc(n, L, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(P);
    lr_mat CK = mnew(n, n), NTK = mnew(n, n), X = make_X(p, n, 1, 5);
    double worst = 0;
    for (size_t s = 0; s < NALL; s++) {
        lr_ntk_kernel_info inf;
        exact(P, X, all_specs[s], L, LR_NTK_KERNEL_AUTO, CK, NTK, &inf);
        int sym = 1;
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < n; i++) sym &= LR_AT(CK, i, j) == LR_AT(CK, j, i);
        CU_ASSERT(sym);
        double e = min_eig_rel(CK);
        worst = fmin(worst, e);
        CU_ASSERT(e >= -1e-12);
        if (inf.ntk_defined) {
            for (size_t j = 0; j < n; j++)
                for (size_t i = 0; i < n; i++) sym &= LR_AT(NTK, i, j) == LR_AT(NTK, j, i);
            CU_ASSERT(sym);
            e = min_eig_rel(NTK);
            worst = fmin(worst, e);
            CU_ASSERT(e >= -1e-12);
        }
        CU_ASSERT(lr_mat_all_finite(CK));
    }
    printf("\n    smallest eigenvalue / largest, every activation, CK and NTK: %.1e ", worst);
    lr_free(CK.data), lr_free(NTK.data), lr_free(X.data);
    lr_ntk_kernel_plan_free(P);
}

static void test_threads_and_allocation(void)
{
#ifdef _OPENMP
    /* n odd and not a multiple of the tiles; the reference on fewer samples (it is slow) */
    const struct {
        const char *spec;
        lr_ntk_kernel_method m;
        size_t n;
    } cases[] = {{"relu", LR_NTK_KERNEL_AUTO, 101},        {"relu", LR_NTK_KERNEL_MEHLER, 101},
                 {"tanh", LR_NTK_KERNEL_AUTO, 101},        {"sigma_Q(0.4,-1.3,-0.2,0.9)", LR_NTK_KERNEL_AUTO, 101},
                 {"step", LR_NTK_KERNEL_MEHLER, 101},      {"relu", LR_NTK_KERNEL_REFERENCE, 23},
                 {"sigma_T", LR_NTK_KERNEL_REFERENCE, 23}};
    const size_t p = 30, L = 2;
    int saved = omp_get_max_threads();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = cases[c].n;
        lr_ntk_kernel_plan *P = lr_ntk_kernel_plan_alloc(n, L, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(P);
        lr_mat X = make_X(p, n, 1, 3), C1 = mnew(n, n), N1 = mnew(n, n), C2 = mnew(n, n), N2 = mnew(n, n);
        omp_set_num_threads(1);
        exact(P, X, cases[c].spec, L, cases[c].m, C1, N1, NULL);
        omp_set_num_threads(2);
        exact(P, X, cases[c].spec, L, cases[c].m, C2, N2, NULL);
        CU_ASSERT(!memcmp(C1.data, C2.data, n * n * sizeof(double)));
        CU_ASSERT(!memcmp(N1.data, N2.data, n * n * sizeof(double)) || isnan(N1.data[0]));
        /* no allocation in the call, once the plan (and OpenMP's threads) exist */
        long before = lr_test_alloc_calls();
        exact(P, X, cases[c].spec, L, cases[c].m, C1, N1, NULL);
        CU_ASSERT_EQUAL(lr_test_alloc_calls() - before, 0);
        lr_free(X.data), lr_free(C1.data), lr_free(N1.data), lr_free(C2.data), lr_free(N2.data);
        lr_ntk_kernel_plan_free(P);
    }
    omp_set_num_threads(saved);
#endif
}

static void test_arguments(void)
{
    lr_ntk_kernel_opts o = lr_ntk_kernel_defaults();
    CU_ASSERT_PTR_NULL(lr_ntk_kernel_plan_alloc(0, 1, NULL));
    CU_ASSERT_PTR_NULL(lr_ntk_kernel_plan_alloc(4, 0, NULL));
    CU_ASSERT_PTR_NULL(lr_ntk_kernel_plan_alloc(4, LR_NTK_MAX_LAYERS + 1, NULL));
    o.mehler_order = 0;
    CU_ASSERT_PTR_NULL(lr_ntk_kernel_plan_alloc(4, 1, &o));
    o = lr_ntk_kernel_defaults(), o.z_max = 40;
    CU_ASSERT_PTR_NULL(lr_ntk_kernel_plan_alloc(4, 1, &o));
    o = lr_ntk_kernel_defaults(), o.panel = 0;
    CU_ASSERT_PTR_NULL(lr_ntk_kernel_plan_alloc(4, 1, &o));
    /* every allocation of the plan failing in turn: NULL, nothing leaked */
    for (long k = 1; k <= 4; k++) {
        lr_fail_alloc_after(k);
        lr_ntk_kernel_plan *Q = lr_ntk_kernel_plan_alloc(8, 2, NULL);
        lr_fail_alloc_after(0);
        CU_ASSERT_PTR_NULL(Q);
        CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "cannot allocate"));
        lr_ntk_kernel_plan_free(Q);
    }
    size_t n = 4;
    lr_ntk_kernel_plan *P = lr_ntk_kernel_plan_alloc(n, 2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(P);
    lr_mat X = make_X(3, n, 0, 1), K = mnew(n, n), N = mnew(n, n), bad = mnew(n, n + 1);
    lr_ntk_act a[3] = {act("relu"), act("tanh"), act("relu")};
    lr_mat none = lr_mat_wrap(NULL, 0, 0);
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact(P, X, a, 3, 1.0, LR_NTK_KERNEL_AUTO, K, N, NULL), LR_EINVAL); /* L > plan */
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact(P, X, a, 2, 0.0, LR_NTK_KERNEL_AUTO, K, N, NULL), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact(P, X, a, 2, 1.0, LR_NTK_KERNEL_AUTO, bad, N, NULL), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact(P, X, a, 2, 1.0, LR_NTK_KERNEL_AUTO, K, bad, NULL), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact(P, bad, a, 2, 1.0, LR_NTK_KERNEL_AUTO, K, N, NULL), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact(P, X, a, 2, 1.0, LR_NTK_KERNEL_CLOSED, K, N, NULL), LR_EINVAL); /* tanh */
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact(P, X, a, 2, 1.0, (lr_ntk_kernel_method)9, K, N, NULL), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact(P, X, a, 2, 1.0, LR_NTK_KERNEL_AUTO, K, none, NULL), LR_OK); /* CK only */
    lr_ntk_act sg[2] = {act("relu"), act("sign")};
    lr_ntk_kernel_info inf;
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact(P, X, sg, 2, 1.0, LR_NTK_KERNEL_AUTO, K, none, &inf), LR_OK);
    CU_ASSERT(inf.ntk_defined == 0 && inf.ntk_undefined_layer == 2 && lr_mat_all_finite(K));
    CU_ASSERT_EQUAL(lr_ntk_kernel_layer(P, &a[0], 0, 0, K, K, LR_NTK_KERNEL_AUTO, NULL), LR_EINVAL); /* aliasing */
    CU_ASSERT_EQUAL(lr_ntk_kernel_layer(P, &a[0], 2, 0, X, K, LR_NTK_KERNEL_AUTO, NULL), LR_EINVAL);
    /* a constant layer leaves no scale for the next one */
    lr_ntk_act c[2] = {act("sigma_T(0,-1,1)"), act("relu")};
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact(P, X, c, 2, 1.0, LR_NTK_KERNEL_AUTO, K, N, NULL), LR_EINVAL);
    CU_ASSERT(!strcmp(lr_ntk_kernel_method_name(LR_NTK_KERNEL_MEHLER), "mehler"));
    CU_ASSERT_PTR_NULL(lr_ntk_kernel_method_name((lr_ntk_kernel_method)9));
    lr_free(X.data), lr_free(K.data), lr_free(N.data), lr_free(bad.data);
    lr_ntk_kernel_plan_free(P);
}

/* lr_ntk_kernel_exact_gram from K0 = X^T X equals lr_ntk_kernel_exact from X bit for bit
 * (relu: the fused path; tanh: Mehler), only K0's lower triangle is read, and a K0 of the
 * wrong shape is refused. */
static void test_exact_from_gram(void)
{
    size_t n = 37, p = 20;
    lr_ntk_kernel_plan *P = lr_ntk_kernel_plan_alloc(n, 3, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(P);
    lr_mat X = make_X(p, n, 1, 5), K0 = mnew(n, n), C1 = mnew(n, n), N1 = mnew(n, n), C2 = mnew(n, n), N2 = mnew(n, n);
    lr_mat bad = mnew(n, n + 1);
    CU_ASSERT_EQUAL_FATAL(lr_syrk('T', 1.0, X, 0.0, K0), LR_OK);
    for (size_t j = 1; j < n; j++)
        for (size_t i = 0; i < j; i++) LR_AT(K0, i, j) = NAN; /* the upper triangle is never read */
    const char *const sets[2][3] = {{"relu", "relu", "relu"}, {"tanh", "erf", "relu"}};
    for (int k = 0; k < 2; k++) {
        lr_ntk_act a[3] = {act(sets[k][0]), act(sets[k][1]), act(sets[k][2])};
        lr_ntk_kernel_info i1, i2;
        CU_ASSERT_EQUAL_FATAL(lr_ntk_kernel_exact(P, X, a, 3, 1.0, LR_NTK_KERNEL_AUTO, C1, N1, &i1), LR_OK);
        CU_ASSERT_EQUAL_FATAL(lr_ntk_kernel_exact_gram(P, K0, a, 3, 1.0, LR_NTK_KERNEL_AUTO, C2, N2, &i2), LR_OK);
        CU_ASSERT(!memcmp(C1.data, C2.data, n * n * sizeof(double)));
        CU_ASSERT(!memcmp(N1.data, N2.data, n * n * sizeof(double)));
        CU_ASSERT(!memcmp(i1.tau, i2.tau, sizeof i1.tau));
    }
    lr_ntk_act r[1] = {act("relu")};
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact_gram(P, bad, r, 1, 1.0, LR_NTK_KERNEL_AUTO, C2, N2, NULL), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_kernel_exact_gram(NULL, K0, r, 1, 1.0, LR_NTK_KERNEL_AUTO, C2, N2, NULL), LR_EINVAL);
    lr_free(X.data), lr_free(K0.data), lr_free(C1.data), lr_free(N1.data), lr_free(C2.data), lr_free(N2.data);
    lr_free(bad.data);
    lr_ntk_kernel_plan_free(P);
}

/* ---- the empirical CK of finite networks ---- */

/* ||A - B||_2 / ||B||_2 for symmetric A, B (dsyevd of the difference). */
static double rel_spectral(lr_mat A, lr_mat B)
{
    size_t n = A.rows;
    lr_mat E = mnew(n, n);
    double *w = lr_calloc(n, sizeof *w), nb;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++) LR_AT(E, i, j) = LR_AT(A, i, j) - LR_AT(B, i, j);
    CU_ASSERT_EQUAL(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)n, E.data, (lapack_int)n, w), 0);
    double ne = fmax(fabs(w[0]), fabs(w[n - 1]));
    lr_mat_copy(E, B);
    CU_ASSERT_EQUAL(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)n, E.data, (lapack_int)n, w), 0);
    nb = fmax(fabs(w[0]), fabs(w[n - 1]));
    lr_free(w), lr_free(E.data);
    return ne / nb;
}

static void test_weights(void)
{
    gsl_rng *g = lr_rng_alloc();
    lr_rng_seed_unit(g, 99, 0, 0);
    const size_t N = 1000000;
    double *w = lr_malloc(N * sizeof *w);
    for (int kind = 0; kind < 2; kind++)
        for (double eps = 0; eps < 0.95; eps += 0.3) {
            CU_ASSERT_EQUAL(lr_ntk_draw_weights(g, (lr_ntk_weights)kind, eps, w, N), LR_OK);
            double m = 0, v = 0, z = 0, s = 1 / sqrt(1 - eps);
            int values_ok = 1;
            for (size_t i = 0; i < N; i++) {
                m += w[i], v += w[i] * w[i], z += w[i] == 0;
                if (kind) values_ok &= w[i] == 0 || w[i] == s || w[i] == -s;
            }
            m /= N, v /= N, z /= N;
            /* five standard errors */
            CU_ASSERT(fabs(m) < 5 * sqrt(1.0 / N));
            CU_ASSERT(fabs(v - 1) < 5 * sqrt((kind ? 1 / (1 - eps) - 1 : 2.0) / N) + 1e-12);
            if (kind) {
                CU_ASSERT(values_ok);
                CU_ASSERT(fabs(z - eps) < 5 * sqrt(eps * (1 - eps) / N) + 1e-12);
            }
            if (kind == 0) break;
        }
    CU_ASSERT_EQUAL(lr_ntk_draw_weights(g, LR_NTK_WEIGHTS_TERNARY, 1.0, w, 4), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_draw_weights(g, (lr_ntk_weights)7, 0, w, 4), LR_EINVAL);
    lr_free(w);
    gsl_rng_free(g);
}

/* Wide random networks approach the exact CK: the relative spectral error at widths 256,
 * 1024, 4096 (both layers) falls, roughly like width^{-1/2} (asserted: each step of 4x at
 * least 0.75x smaller; the expected factor is 0.5).  p = 400: the first layer's
 * pre-activations w^T x sum only p terms, and with ternary weights their law is not Gaussian
 * to O(1/p) whatever the width (at p = 50 the tanh case stalls at 0.04). */
static void test_emp_converges(void)
{
    const size_t p = 400, n = 30, L = 2, widths[] = {256, 1024, 4096};
    lr_mat X = make_X(p, n, 1, 17), K = mnew(n, n), E = mnew(n, n);
    double tau0 = 0;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < p; i++) tau0 += LR_AT(X, i, j) * LR_AT(X, i, j);
    tau0 = sqrt(tau0 / (double)n);
    lr_ntk_kernel_plan *P = lr_ntk_kernel_plan_alloc(n, L, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(P);
    const struct {
        const char *spec;
        lr_ntk_weights w;
        double eps;
    } cases[] = {{"relu", LR_NTK_WEIGHTS_GAUSS, 0}, {"tanh", LR_NTK_WEIGHTS_TERNARY, 0.5},
                 {"sigma_T(0.7,-0.5,1.2)", LR_NTK_WEIGHTS_TERNARY, 0.8}};
    for (size_t c = 0; c < 3; c++) {
        lr_ntk_act a[2] = {act(cases[c].spec), act(cases[c].spec)};
        lr_ntk_kernel_info inf;
        CU_ASSERT_EQUAL_FATAL(lr_ntk_kernel_exact(P, X, a, L, tau0, LR_NTK_KERNEL_AUTO, K, lr_mat_wrap(NULL, 0, 0), &inf),
                              LR_OK);
        double err[3];
        printf("\n    empirical CK, %s, %s weights: relative spectral error", cases[c].spec,
               cases[c].w ? "ternary" : "Gaussian");
        for (size_t k = 0; k < 3; k++) {
            size_t d[2] = {widths[k], widths[k]};
            lr_ntk_emp_plan *Q = lr_ntk_emp_plan_alloc(p, n, L, d);
            CU_ASSERT_PTR_NOT_NULL_FATAL(Q);
            lr_ntk_emp_opts o = {.weights = cases[c].w, .eps = cases[c].eps, .draws = 4, .seed = 5, .point = c};
            CU_ASSERT_EQUAL(lr_ntk_kernel_emp(Q, X, a, inf.centre, &o, E), LR_OK);
            err[k] = rel_spectral(E, K);
            printf(" %zu: %.4f", widths[k], err[k]);
            lr_ntk_emp_plan_free(Q);
        }
        printf(" (slope %.2f)", log(err[2] / err[0]) / log(16.0));
        CU_ASSERT(err[1] < 0.75 * err[0]);
        CU_ASSERT(err[2] < 0.75 * err[1]);
        CU_ASSERT(err[2] < 0.1);
    }
    lr_free(X.data), lr_free(K.data), lr_free(E.data);
    lr_ntk_kernel_plan_free(P);
}

static void test_emp_properties(void)
{
    const size_t p = 20, n = 13, L = 3, d[3] = {97, 64, 33};
    lr_mat X = make_X(p, n, 0, 2), A = mnew(n, n), B = mnew(n, n);
    lr_ntk_emp_plan *Q = lr_ntk_emp_plan_alloc(p, n, L, d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(Q);
    lr_ntk_act a[3] = {act("relu"), act("tanh"), act("sigma_Q")};
    double c[3] = {0.3, 0, 0.1};
    lr_ntk_emp_opts o = {.weights = LR_NTK_WEIGHTS_TERNARY, .eps = 0.4, .draws = 3, .seed = 8, .point = 1};
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    CU_ASSERT_EQUAL(lr_ntk_kernel_emp(Q, X, a, c, &o, A), LR_OK);
    omp_set_num_threads(2);
    CU_ASSERT_EQUAL(lr_ntk_kernel_emp(Q, X, a, c, &o, B), LR_OK);
    omp_set_num_threads(saved);
    CU_ASSERT(!memcmp(A.data, B.data, n * n * sizeof(double)));
#endif
    /* the same streams, the same kernel; symmetric; no allocation */
    long before = lr_test_alloc_calls();
    CU_ASSERT_EQUAL(lr_ntk_kernel_emp(Q, X, a, c, &o, B), LR_OK);
    CU_ASSERT_EQUAL(lr_test_alloc_calls() - before, 0);
    CU_ASSERT_EQUAL(lr_ntk_kernel_emp(Q, X, a, c, &o, A), LR_OK);
    CU_ASSERT(!memcmp(A.data, B.data, n * n * sizeof(double)));
    int sym = 1;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++) sym &= LR_AT(A, i, j) == LR_AT(A, j, i);
    CU_ASSERT(sym);
    CU_ASSERT(min_eig_rel(A) >= -1e-12);
    /* one draw by hand: Sigma_1 = d^{-1/2} (relu(W X) - c) with W from the stream (8, 1, 0) */
    lr_ntk_emp_plan *Q1 = lr_ntk_emp_plan_alloc(p, n, 1, d);
    lr_ntk_emp_opts o1 = {.weights = LR_NTK_WEIGHTS_GAUSS, .draws = 1, .seed = 8, .point = 1};
    CU_ASSERT_EQUAL(lr_ntk_kernel_emp(Q1, X, a, c, &o1, A), LR_OK);
    gsl_rng *g = lr_rng_alloc();
    lr_rng_seed_unit(g, 8, 1, 0);
    lr_mat W = mnew(d[0], p), Z = mnew(d[0], n);
    lr_ntk_draw_weights(g, LR_NTK_WEIGHTS_GAUSS, 0, W.data, d[0] * p);
    lr_gemm('N', 'N', 1.0, W, X, 0.0, Z);
    for (size_t i = 0; i < d[0] * n; i++) Z.data[i] = (fmax(Z.data[i], 0) - c[0]) / sqrt((double)d[0]);
    lr_gemm('T', 'N', 1.0, Z, Z, 0.0, B);
    CU_ASSERT(rel_dev(A, B) < 1e-14);
    gsl_rng_free(g);
    lr_free(W.data), lr_free(Z.data);
    lr_ntk_emp_plan_free(Q1);
    /* argument checks */
    lr_ntk_emp_opts bad = o;
    bad.draws = 0;
    CU_ASSERT_EQUAL(lr_ntk_kernel_emp(Q, X, a, c, &bad, A), LR_EINVAL);
    bad = o, bad.eps = 1;
    CU_ASSERT_EQUAL(lr_ntk_kernel_emp(Q, X, a, c, &bad, A), LR_EINVAL);
    bad = o, bad.point = LR_RNG_MAX_POINTS;
    CU_ASSERT_EQUAL(lr_ntk_kernel_emp(Q, X, a, c, &bad, A), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_kernel_emp(Q, A, a, c, &o, A), LR_EINVAL); /* X of the wrong shape */
    size_t d0[2] = {4, 0};
    CU_ASSERT_PTR_NULL(lr_ntk_emp_plan_alloc(p, n, 2, d0));
    CU_ASSERT_PTR_NULL(lr_ntk_emp_plan_alloc(0, n, 1, d));
    for (long k = 1; k <= 5; k++) {
        lr_fail_alloc_after(k);
        lr_ntk_emp_plan *R = lr_ntk_emp_plan_alloc(p, n, L, d);
        lr_fail_alloc_after(0);
        CU_ASSERT_PTR_NULL(R);
        lr_ntk_emp_plan_free(R);
    }
    lr_free(X.data), lr_free(A.data), lr_free(B.data);
    lr_ntk_emp_plan_free(Q);
}

void lr_tests_ntk_kernel(void)
{
    CU_pSuite s = CU_add_suite("ntk/kernel: exact CK and NTK", NULL, NULL);
    CU_add_test(s, "bivariate normal orthants: Genz = quadrature (1e-12); limits", test_bvn);
    CU_add_test(s, "four orthants at once (libmvec) = four plain orthants", test_bvn_cov4);
    CU_add_test(s, "one layer: closed form = reference, Mehler = closed / within its bound", test_layer_methods);
    CU_add_test(s, "one layer at |rho| -> 1", test_layer_near_one);
    CU_add_test(s, "three layers: the methods agree, CK and NTK", test_recursion_methods);
    CU_add_test(s, "two samples at 60 degrees by hand (relu), linear", test_two_samples);
    CU_add_test(s, "fused piecewise-linear layers (libmvec asin) = the plain layers", test_fused_pwlin);
    CU_add_test(s, "piecewise-constant layers (series, Genz x 4) = four plain orthants per entry", test_pwconst_layer);
    CU_add_test(s, "symmetric and positive semidefinite (dsyevd)", test_symmetry_psd);
    CU_add_test(s, "thread count: bitwise equal; no allocation after the plan", test_threads_and_allocation);
    CU_add_test(s, "argument checks and allocation failures", test_arguments);
    CU_add_test(s, "from a given Gram = from X, bit for bit", test_exact_from_gram);
    CU_add_test(s, "empirical CK: the weights' laws", test_weights);
    CU_add_test(s, "empirical CK of wide networks -> exact CK (256, 1024, 4096)", test_emp_converges);
    CU_add_test(s, "empirical CK: by hand, threads, streams, checks", test_emp_properties);
}
