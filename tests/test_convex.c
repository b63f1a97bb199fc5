/* Issue 3 estimators: each against its closed form or a brute-force computation.
 *   dd_svt       = SVT_lambda(P Y) computed the plain way (projector and SVD of m x N1);
 *   dd_nuc       = dd_svt to 1e-8 relative when X~ has orthonormal columns (the problems
 *                  coincide); = its plain full-space reference solver on a general X~;
 *   FISTA        monotone variant: objective non-increasing at every iteration; ISTA,
 *                FISTA and MFISTA reach the same minimiser;
 *   relu_cvx(_sq) with no censored entry (all Y+ > 0) the losses are quadratic and the
 *                minimisers are SVT closed forms (dd_svt at lambda, resp. lambda sigma^2);
 *   relu losses  -log Q and the hazard against GSL's log_erfc / hazard, from -40 to 1e3,
 *                and each loss's derivative against a central difference;
 *   relu_naive   = dd_rank on the same layer. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_sf_erf.h>
#include <math.h>
#include <string.h>

#include "compress/compress.h"
#include "compress/convex.h"
#include "core/error.h"
#include "core/linalg.h"
#include "core/rng.h"
#include "gen/gen.h"
#include "tests.h"

static lr_mat mat_new(size_t r, size_t c) { return lr_mat_wrap(lr_calloc(r * c + 1, sizeof(double)), r, c); }

/* A layer problem with its factored X~, workspaces and factor storage, freed together. */
typedef struct problem {
    lr_layer L;
    lr_layer_ws ws;
    lr_compressed f[2];
    lr_mat Zs;
} problem;

static void problem_free(problem *p)
{
    lr_free(p->L.X.data), lr_free(p->L.W.data), lr_free(p->L.Y.data), lr_free(p->L.Ux.data);
    lr_free(p->L.sx), lr_free(p->L.Vx.data), lr_free(p->Zs.data);
    for (int i = 0; i < 2; i++) lr_free(p->f[i].A.data), lr_free(p->f[i].B.data);
    lr_arena_release(&p->ws.arena);
    lr_svd_plan_free(p->ws.svd);
}

/* X~ Gaussian (orthonormal columns if `ortho`), M* of rank r, Y = X~ M* + G (+ shift:
 * a constant added to every entry of Z* through a column of ones in X~). */
static void problem_make(problem *p, size_t m, size_t n0, size_t n1, size_t r, double sigma, int ortho,
                         double shift, unsigned seed)
{
    memset(p, 0, sizeof *p);
    gsl_rng *g = lr_rng_alloc();
    lr_rng_seed_unit(g, seed, 0, 0);
    size_t mn = m < n0 ? m : n0;
    lr_mat X = mat_new(m, n0), M = mat_new(n0, n1), G = mat_new(m, n1), Y = mat_new(m, n1);
    double *scr = lr_calloc(lr_gen_with_spectrum_scratch(m, n1 > n0 ? n1 : n0, mn) + 64 * (mn + 1), sizeof(double));
    if (ortho) lr_gen_orthonormal(g, X, scr);
    else lr_gen_noise(g, X, LR_NOISE_GAUSSIAN, 1.0, 0);
    double s[8];
    lr_spectrum_geometric(s, r, ortho ? 10.0 : 1.0, 3.0);
    lr_gen_with_spectrum(g, M, s, r, scr);
    if (shift != 0) {
        for (size_t i = 0; i < m; i++) LR_AT(X, i, 0) = 1.0;
        for (size_t j = 0; j < n1; j++) LR_AT(M, 0, j) = shift;
    }
    p->Zs = mat_new(m, n1);
    lr_gemm('N', 'N', 1.0, X, M, 0.0, p->Zs);
    lr_gen_noise(g, G, LR_NOISE_GAUSSIAN, sigma, 0);
    lr_mat_copy(Y, p->Zs);
    lr_mat_axpy(1.0, G, Y);
    p->L.X = X, p->L.Y = Y, p->L.W = M;
    p->L.Ux = mat_new(m, mn), p->L.sx = lr_calloc(mn, sizeof(double)), p->L.Vx = mat_new(n0, mn);
    p->ws.svd = lr_svd_plan_alloc(m > n0 ? m : n0, n0 > n1 ? n0 : n1);
    size_t need = lr_layer_factor_x_scratch(m, n0) + lr_arena_need(mn, n0);
    lr_arena_init(&p->ws.arena, need);
    p->L.sigma = sigma;
    lr_layer_factor_x(&p->L, lr_rank_rtol_default(m, n0), &p->ws);
    size_t kmax = n0 < n1 ? n0 : n1;
    for (int i = 0; i < 2; i++) p->f[i].A = mat_new(n0, kmax), p->f[i].B = mat_new(kmax, n1);
    lr_free(G.data), lr_free(scr);
    gsl_rng_free(g);
}

/* X~ A B of factors f into out (m x N1). */
static void response(const problem *p, const lr_compressed *f, lr_mat out)
{
    size_t m = p->L.X.rows, n0 = p->L.X.cols, n1 = p->L.Y.cols, k = f->k;
    lr_mat XA = mat_new(m, k ? k : 1);
    lr_mat_set_zero(out);
    if (k) {
        lr_gemm('N', 'N', 1.0, p->L.X, lr_mat_view(f->A, 0, 0, n0, k), 0.0, lr_mat_view(XA, 0, 0, m, k));
        lr_gemm('N', 'N', 1.0, lr_mat_view(XA, 0, 0, m, k), lr_mat_view(f->B, 0, 0, k, n1), 0.0, out);
    }
    lr_free(XA.data);
}

/* The convex compressors' config keys a test sets (the noise level is the problem's). */
typedef struct topts {
    double lambda, lambda_factor, tol;
    int monotone;
} topts;

static double fit(problem *p, const lr_compressor *c, const topts *o, lr_fit_info *info, lr_mat out)
{
    size_t ranks[2] = {2, 3};
    lr_fit_info i0 = {0, 0, NAN, 0, NAN, -1};
    *info = i0;
    char set[512];
    int n = snprintf(set, sizeof set, "compress.tol=%.17g;compress.max_iter=20000;bounds.t=2;"
                     "compress.lambda_factor=%.17g;compress.monotone=%s", o->tol, o->lambda_factor,
                     o->monotone ? "true" : "false");
    if (!isnan(o->lambda)) snprintf(set + n, sizeof set - (size_t)n, ";compress.lambda=%.17g", o->lambda);
    for (int i = 0; i < 2; i++) p->f[i].A.cols = p->f[i].B.rows = p->L.W.rows < p->L.W.cols ? p->L.W.rows : p->L.W.cols;
    int st = lr_test_fit(c, &p->L, set, ranks, 2, p->f, info);
    CU_ASSERT_EQUAL_FATAL(st, LR_OK);
    response(p, &p->f[0], out);
    return info->lambda;
}

/* SVT_lambda(P Y) the plain way: P Y = Ux Ux^T Y (m x N1) and its full SVD. */
static void svt_plain(const problem *p, double lambda, lr_mat out)
{
    size_t m = p->L.X.rows, n1 = p->L.Y.cols, q = p->L.q, mn = m < n1 ? m : n1;
    lr_mat T = mat_new(q, n1), PY = mat_new(m, n1), U = mat_new(m, mn), VT = mat_new(mn, n1);
    double *s = lr_calloc(mn, sizeof(double));
    lr_gemm('T', 'N', 1.0, lr_mat_view(p->L.Ux, 0, 0, m, q), p->L.Y, 0.0, T);
    lr_gemm('N', 'N', 1.0, lr_mat_view(p->L.Ux, 0, 0, m, q), T, 0.0, PY);
    lr_svd_plan *plan = lr_svd_plan_alloc(m, n1);
    CU_ASSERT_EQUAL(lr_svd(plan, PY, s, U, VT, NULL), LR_OK);
    for (size_t i = 0; i < mn; i++) s[i] = s[i] > lambda ? s[i] - lambda : 0.0;
    lr_mat_scale_cols(U, s);
    lr_gemm('N', 'N', 1.0, U, VT, 0.0, out);
    lr_svd_plan_free(plan);
    lr_free(T.data), lr_free(PY.data), lr_free(U.data), lr_free(VT.data), lr_free(s);
}

static double rel_diff(lr_mat A, lr_mat B)
{
    double n = lr_mat_norm_fro(B);
    return lr_mat_diff_fro(A, B) / (n > 0 ? n : 1.0);
}

static topts opts_default(double sigma)
{
    (void)sigma; /* the problem's, in its lr_layer */
    topts o = {.lambda = NAN, .lambda_factor = 1.0, .tol = 1e-12, .monotone = 1};
    return o;
}

static void test_dd_svt_closed_form(void)
{
    problem p;
    problem_make(&p, 60, 15, 12, 3, 0.05, 0, 0, 11);
    lr_mat Z = mat_new(60, 12), R = mat_new(60, 12);
    topts o = opts_default(0.05);
    lr_fit_info info;
    double lam = fit(&p, &lr_compressor_dd_svt, &o, &info, Z);
    LR_ASSERT_CLOSE(lam, 2 * 0.05 * (sqrt(15.0) + sqrt(12.0) + 2.0), 1e-15);
    svt_plain(&p, lam, R);
    CU_ASSERT(rel_diff(Z, R) < 1e-12);
    CU_ASSERT(p.f[0].k >= 1 && p.f[0].k <= 12);
    /* Rank-adaptive: every rank row holds the same result. */
    CU_ASSERT_EQUAL(p.f[1].k, p.f[0].k);
    /* lambda = 0 gives P Y itself; a huge lambda gives zero. */
    o.lambda = 0.0;
    fit(&p, &lr_compressor_dd_svt, &o, &info, Z);
    svt_plain(&p, 0.0, R);
    CU_ASSERT(rel_diff(Z, R) < 1e-12);
    o.lambda = 1e6;
    fit(&p, &lr_compressor_dd_svt, &o, &info, Z);
    CU_ASSERT_EQUAL(p.f[0].k, 0);
    CU_ASSERT_EQUAL(lr_mat_norm_fro(Z), 0.0);
    lr_free(Z.data), lr_free(R.data);
    problem_free(&p);
}

static void test_dd_nuc_equals_svt_orthonormal(void)
{
    problem p;
    problem_make(&p, 50, 12, 10, 3, 0.05, 1, 0, 12);
    lr_mat Zs = mat_new(50, 10), Zn = mat_new(50, 10);
    for (int mono = 0; mono < 2; mono++)
        for (double fac = 0.3; fac < 5; fac *= 3) {
            topts o = opts_default(0.05);
            o.lambda_factor = fac;
            o.monotone = mono;
            lr_fit_info is, in;
            double ls = fit(&p, &lr_compressor_dd_svt, &o, &is, Zs);
            double ln = fit(&p, &lr_compressor_dd_nuc, &o, &in, Zn);
            /* ||X~||_op = 1, so the automatic lambdas agree too. */
            LR_ASSERT_CLOSE(ls, ln, 1e-12);
            CU_ASSERT(rel_diff(Zn, Zs) < 1e-8);
            CU_ASSERT_EQUAL(in.converged, 1);
            CU_ASSERT(in.iterations >= 1);
            CU_ASSERT(in.gap >= 0 && in.gap < 1e-8);
        }
    lr_free(Zs.data), lr_free(Zn.data);
    problem_free(&p);
}

static void test_dd_nuc_reference(void)
{
    problem p;
    problem_make(&p, 40, 10, 8, 2, 0.1, 0, 0, 13);
    lr_mat Zn = mat_new(40, 8), Zr = mat_new(40, 8), M = mat_new(10, 8);
    topts o = opts_default(0.1);
    lr_fit_info in;
    double lam = fit(&p, &lr_compressor_dd_nuc, &o, &in, Zn);
    CU_ASSERT_EQUAL(in.converged, 1);
    lr_fista_opts fo = {lam, 1e-13, 200000, LR_FISTA_MONOTONE};
    lr_fista_out out;
    double *scr = lr_calloc(lr_dd_nuc_reference_scratch(40, 10, 8), sizeof(double));
    CU_ASSERT_EQUAL(lr_dd_nuc_reference(p.L.X, p.L.Y, lam, &fo, M, p.ws.svd, scr, &out), LR_OK);
    lr_gemm('N', 'N', 1.0, p.L.X, M, 0.0, Zr);
    CU_ASSERT(rel_diff(Zn, Zr) < 1e-7);
    lr_free(Zn.data), lr_free(Zr.data), lr_free(M.data), lr_free(scr);
    problem_free(&p);
}

/* The smooth part of dd_nuc's full problem, for driving the FISTA engine directly. */
typedef struct ls_ctx {
    lr_mat X, Y, R;
} ls_ctx;

static int ls_eval(void *p, lr_mat M, double *f, lr_mat grad)
{
    ls_ctx *c = p;
    lr_mat_copy(c->R, c->Y);
    lr_gemm('N', 'N', 1.0, c->X, M, -1.0, c->R);
    double n = lr_mat_norm_fro(c->R);
    *f = 0.5 * n * n;
    if (grad.data) lr_gemm('T', 'N', 1.0, c->X, c->R, 0.0, grad);
    return LR_OK;
}

static void test_fista_monotone_and_schemes(void)
{
    problem p;
    /* An ill-conditioned X~ makes plain FISTA oscillate, which MFISTA must not. */
    problem_make(&p, 40, 10, 8, 2, 0.1, 0, 0, 14);
    for (size_t i = 0; i < 40; i++) LR_AT(p.L.X, i, 0) *= 8.0;
    ls_ctx ctx = {p.L.X, p.L.Y, mat_new(40, 8)};
    lr_mat Xc = mat_new(40, 10);
    double s[10], op;
    lr_mat_copy(Xc, p.L.X);
    lr_norm_op(p.ws.svd, Xc, s, &op, NULL);
    lr_fista_smooth f = {ls_eval, NULL, &ctx, op * op};
    double *scr = lr_calloc(lr_fista_scratch(10, 8), sizeof(double)), *trace = lr_calloc(60000, sizeof(double));
    lr_mat M[3];
    double F[3];
    lr_fista_scheme schemes[3] = {LR_FISTA_MONOTONE, LR_FISTA, LR_ISTA};
    int increases[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        M[k] = mat_new(10, 8);
        lr_fista_opts o = {2.0, 1e-14, 60000, schemes[k]};
        lr_fista_out out;
        for (int i = 0; i < 60000; i++) trace[i] = NAN;
        CU_ASSERT_EQUAL(lr_fista_nuclear(&f, &o, M[k], p.ws.svd, scr, &out, trace, NULL), LR_OK);
        /* MFISTA compares exactly; ISTA descends in exact arithmetic, so only rises beyond
         * rounding count for it. */
        double slack = schemes[k] == LR_ISTA ? 1e-14 * fabs(trace[0]) : 0.0;
        for (int i = 1; i < out.iterations; i++) increases[k] += trace[i] > trace[i - 1] + slack;
        F[k] = out.objective;
    }
    CU_ASSERT_EQUAL(increases[0], 0); /* MFISTA: non-increasing at every iteration */
    CU_ASSERT_EQUAL(increases[2], 0); /* ISTA descends too */
    CU_ASSERT(increases[1] > 0);      /* plain FISTA does not on this problem: the test has teeth */
    LR_ASSERT_CLOSE(F[0], F[1], 1e-9);
    LR_ASSERT_CLOSE(F[0], F[2], 1e-6);
    CU_ASSERT(lr_mat_diff_fro(M[0], M[1]) < 1e-5 * lr_mat_norm_fro(M[0]));
    for (int k = 0; k < 3; k++) lr_free(M[k].data);
    lr_free(scr), lr_free(trace), lr_free(ctx.R.data), lr_free(Xc.data);
    problem_free(&p);
}

static void test_relu_no_censoring_closed_form(void)
{
    /* Z* = 20 + a low-rank part (a column of ones in X~): with sigma = 0.05 no entry of
     * Z* + G is anywhere near 0, so Y+ = Z* + G and both losses are plain quadratics. */
    problem p;
    double sigma = 0.05;
    problem_make(&p, 60, 12, 10, 3, sigma, 0, 20.0, 15);
    for (size_t j = 0; j < 10; j++)
        for (size_t i = 0; i < 60; i++) CU_ASSERT_FATAL(LR_AT(p.L.Y, i, j) > 0);
    lr_mat Z = mat_new(60, 10), R = mat_new(60, 10);
    topts o = opts_default(sigma);
    o.lambda = 0.7;
    o.tol = 1e-13;
    lr_fit_info info;
    fit(&p, &lr_compressor_relu_cvx_sq, &o, &info, Z);
    svt_plain(&p, 0.7, R);
    CU_ASSERT(rel_diff(Z, R) < 1e-9);
    CU_ASSERT_EQUAL(info.converged, 1);
    /* Censored loss: (y - z)^2 / (2 sigma^2) + lambda ||C||_*  ->  SVT at lambda sigma^2. */
    o.lambda = 0.7 / (sigma * sigma);
    fit(&p, &lr_compressor_relu_cvx, &o, &info, Z);
    CU_ASSERT(rel_diff(Z, R) < 1e-9);
    /* relu_naive is dd_rank on the same observations. */
    lr_fit_info i2;
    lr_mat Z2 = mat_new(60, 10);
    fit(&p, &lr_compressor_relu_naive, &o, &info, Z);
    fit(&p, &lr_compressor_dd_rank, &o, &i2, Z2);
    CU_ASSERT_EQUAL(lr_mat_diff_fro(Z, Z2), 0.0);
    lr_free(Z.data), lr_free(R.data), lr_free(Z2.data);
    problem_free(&p);
}

static void test_relu_recovers_censored(void)
{
    /* With half the entries censored, relu_cvx's post-activation error is far below the
     * naive baseline's, and the censored loss is at least as good as the squared one. */
    problem p;
    double sigma = 0.01;
    problem_make(&p, 120, 15, 12, 2, sigma, 0, 0, 16);
    for (size_t j = 0; j < 12; j++)
        for (size_t i = 0; i < 120; i++)
            if (LR_AT(p.L.Y, i, j) < 0) LR_AT(p.L.Y, i, j) = 0;
    lr_mat Z = mat_new(120, 12);
    double err[3];
    const lr_compressor *cs[3] = {&lr_compressor_relu_naive, &lr_compressor_relu_cvx, &lr_compressor_relu_cvx_sq};
    for (int c = 0; c < 3; c++) {
        topts o = opts_default(sigma);
        o.tol = 1e-10;
        lr_fit_info info;
        fit(&p, cs[c], &o, &info, Z);
        double ss = 0;
        for (size_t j = 0; j < 12; j++)
            for (size_t i = 0; i < 120; i++) {
                double d = fmax(LR_AT(Z, i, j), 0) - fmax(LR_AT(p.Zs, i, j), 0);
                ss += d * d;
            }
        err[c] = sqrt(ss);
    }
    CU_ASSERT(err[1] < 0.2 * err[0]);
    CU_ASSERT(err[2] < 0.2 * err[0]);
    CU_ASSERT(err[1] < 5 * sigma * sqrt(2.0) * (sqrt(15.0) + sqrt(12.0)) * sqrt(log(120.0 * 12)));
    lr_free(Z.data);
    problem_free(&p);
}

static void test_relu_special_functions(void)
{
    for (double a = -40; a <= 1000; a += (a < 40 ? 0.37 : 17.3)) {
        double ref_l = log(2.0) - gsl_sf_log_erfc(a / M_SQRT2), ref_h = gsl_sf_hazard(a);
        double l = lr_neglog_q(a), h = lr_normal_hazard(a);
        CU_ASSERT(fabs(l - ref_l) <= 1e-12 * fmax(1.0, fabs(ref_l)));
        CU_ASSERT(fabs(h - ref_h) <= 1e-12 * fmax(1e-300, fabs(ref_h)) || fabs(h - ref_h) < 1e-300);
        CU_ASSERT(isfinite(l) && isfinite(h) && h >= 0);
    }
    /* Derivatives against central differences, both losses, both branches. */
    double ys[3] = {0.0, 0.3, 2.0}, zs[5] = {-3.0, -0.2, 0.0, 0.4, 5.0};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++) {
                double d, dp, dm, hstep = 1e-6, sig = 0.7;
                lr_relu_loss_entry((lr_relu_loss)k, ys[i], zs[j], sig, &d);
                double fp = lr_relu_loss_entry((lr_relu_loss)k, ys[i], zs[j] + hstep, sig, &dp);
                double fm = lr_relu_loss_entry((lr_relu_loss)k, ys[i], zs[j] - hstep, sig, &dm);
                CU_ASSERT(fabs((fp - fm) / (2 * hstep) - d) < 1e-6 * fmax(1.0, fabs(d)));
            }
}

void lr_tests_convex(void)
{
    CU_pSuite s = CU_add_suite("compress: the convex estimators (dd_svt, dd_nuc, relu_cvx) and FISTA", NULL, NULL);
    CU_add_test(s, "dd_svt equals SVT_lambda(P Y) computed the plain way", test_dd_svt_closed_form);
    CU_add_test(s, "dd_nuc equals dd_svt to 1e-8 when X~ has orthonormal columns", test_dd_nuc_equals_svt_orthonormal);
    CU_add_test(s, "dd_nuc's reduced solver equals the full-space reference", test_dd_nuc_reference);
    CU_add_test(s, "MFISTA objective non-increasing; FISTA, MFISTA, ISTA agree", test_fista_monotone_and_schemes);
    CU_add_test(s, "relu_cvx(_sq) without censoring equal their SVT closed forms", test_relu_no_censoring_closed_form);
    CU_add_test(s, "relu_cvx beats the naive baseline under censoring", test_relu_recovers_censored);
    CU_add_test(s, "-log Q, hazard vs GSL; loss derivatives vs differences", test_relu_special_functions);
}
