/* Accelerated proximal gradient with singular value thresholding; see fista.h for the
 * maths and the papers. */
#include "fista.h"

#include "compress/convex.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "core/error.h"

size_t lr_fista_scratch(size_t rows, size_t cols)
{
    size_t mn = rows < cols ? rows : cols;
    return 6 * lr_arena_need(rows, cols) + lr_arena_need(rows, mn) + lr_arena_need(mn, cols) +
           lr_arena_need(mn, 1);
}

int lr_svt(lr_svd_plan *svd, lr_mat A, double tau, lr_mat Out, lr_mat U, double *s, lr_mat VT,
           size_t *rank, double *nuclear, int *svd_fallback)
{
    size_t r = A.rows, c = A.cols, mn = r < c ? r : c;
    int fb = 0;
    LR_TRY(lr_svd(svd, A, s, lr_mat_view(U, 0, 0, r, mn), lr_mat_view(VT, 0, 0, mn, c), &fb));
    if (svd_fallback) *svd_fallback |= fb;
    size_t k = 0;
    double nuc = 0.0;
    while (k < mn && s[k] > tau) {
        s[k] -= tau;
        nuc += s[k];
        k++;
    }
    lr_mat_set_zero(Out);
    if (k) {
        lr_mat Uk = lr_mat_view(U, 0, 0, r, k);
        lr_mat_scale_cols(Uk, s);
        LR_TRY(lr_gemm('N', 'N', 1.0, Uk, lr_mat_view(VT, 0, 0, k, c), 0.0, Out));
    }
    *rank = k;
    *nuclear = nuc;
    return LR_OK;
}

/* ||A - B||_F and ||A||_F together. */
static double diff_fro(lr_mat A, lr_mat B) { return lr_mat_diff_fro(A, B); }

int lr_fista_nuclear(const lr_fista_smooth *f, const lr_fista_opts *o, lr_mat C, lr_svd_plan *svd,
                     double *scratch, lr_fista_out *out, double *trace, int *svd_fallback)
{
    size_t r = C.rows, c = C.cols, mn = r < c ? r : c;
    if (!(f->L > 0.0) || !isfinite(f->L)) LR_ERRORF(LR_EINVAL, "FISTA: Lipschitz constant %g", f->L);
    if (!(o->lambda >= 0.0)) LR_ERRORF(LR_EINVAL, "FISTA: lambda = %g must be >= 0", o->lambda);
    if (o->max_iter < 1 || !(o->tol > 0.0)) LR_ERRORF(LR_EINVAL, "FISTA: max_iter %d, tol %g", o->max_iter, o->tol);
    lr_arena a = {scratch, lr_fista_scratch(r, c), 0};
    lr_mat X = lr_arena_mat(&a, r, c), Xp = lr_arena_mat(&a, r, c), Z = lr_arena_mat(&a, r, c);
    lr_mat Y = lr_arena_mat(&a, r, c), G = lr_arena_mat(&a, r, c), T = lr_arena_mat(&a, r, c);
    lr_mat U = lr_arena_mat(&a, r, mn), VT = lr_arena_mat(&a, mn, c);
    double *s = lr_arena_vec(&a, mn);
    if (!s) LR_ERROR(LR_EINVAL, "FISTA: scratch too small");
    lr_mat none = {NULL, 0, 0, 0};
    double step = 1.0 / f->L, lam = o->lambda;

    /* F at the start: its nuclear norm needs the singular values. */
    lr_mat_copy(X, C);
    lr_mat_copy(T, C);
    int fb = 0;
    LR_TRY(lr_svd(svd, T, s, lr_mat_view(U, 0, 0, r, mn), lr_mat_view(VT, 0, 0, mn, c), &fb));
    double nuc = 0.0;
    size_t rank_x = 0;
    for (size_t i = 0; i < mn; i++) nuc += s[i];
    for (size_t i = 0; i < mn; i++) rank_x += s[i] > 0.0;
    double fx;
    LR_TRY(f->eval(f->ctx, X, &fx, none));
    double Fx = fx + lam * nuc;
    lr_mat_copy(Xp, X);
    lr_mat_copy(Y, X);
    double t = 1.0, last = NAN;
    int it, converged = 0, restarted = 0;
    for (it = 1; it <= o->max_iter; it++) {
        double fy;
        LR_TRY(f->eval(f->ctx, Y, &fy, G));
        /* T = Y - G / L, then Z = SVT_{lambda / L}(T). */
        for (size_t j = 0; j < c; j++)
            for (size_t i = 0; i < r; i++) LR_AT(T, i, j) = LR_AT(Y, i, j) - step * LR_AT(G, i, j);
        size_t rank_z;
        double nuc_z, fz;
        LR_TRY(lr_svt(svd, T, lam * step, Z, U, s, VT, &rank_z, &nuc_z, &fb));
        LR_TRY(f->eval(f->ctx, Z, &fz, none));
        double Fz = fz + lam * nuc_z;
        if (!isfinite(Fz)) LR_ERRORF(LR_ENUMERIC, "FISTA: objective became %g at iteration %d", Fz, it);
        double zn = lr_mat_norm_fro(Z), rel = diff_fro(Z, Y) / (zn > DBL_MIN ? zn : 1.0);
        double t1 = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
        /* Xp <- X (previous iterate), then X <- the new iterate. */
        lr_mat_copy(Xp, X);
        int moved = o->scheme != LR_FISTA_MONOTONE || Fz <= Fx;
        if (moved) {
            lr_mat_copy(X, Z);
            Fx = Fz;
            rank_x = rank_z;
        }
        if (o->scheme == LR_ISTA) {
            lr_mat_copy(Y, X);
        } else if (!moved) {
            /* MFISTA rejected the step: restart the momentum from the current iterate
             * (adaptive restart, O'Donoghue & Candes 2015).  Without it the extrapolation
             * can keep pointing uphill for thousands of iterations; with it the next step
             * is a plain proximal-gradient step from x_k, which never increases F. */
            lr_mat_copy(Y, X);
            t = 1.0;
        } else {
            /* MFISTA: y = x_k + (t/t1)(z_k - x_k) + ((t-1)/t1)(x_k - x_{k-1}); with
             * x_k = z_k this is FISTA's y = x_k + ((t-1)/t1)(x_k - x_{k-1}). */
            double a1 = t / t1, a2 = (t - 1.0) / t1;
            for (size_t j = 0; j < c; j++)
                for (size_t i = 0; i < r; i++) {
                    double x = LR_AT(X, i, j);
                    LR_AT(Y, i, j) = x + a1 * (LR_AT(Z, i, j) - x) + a2 * (x - LR_AT(Xp, i, j));
                }
            t = t1;
        }
        if (trace) trace[it - 1] = Fx;
        last = rel;
        if (rel <= o->tol) {
            converged = 1;
            break;
        }
        /* A plain proximal-gradient step from x_k cannot increase F in exact arithmetic;
         * when it is rejected right after a restart, F(x_k) is optimal to rounding. */
        if (!moved && restarted) {
            converged = 1;
            break;
        }
        restarted = !moved && o->scheme == LR_FISTA_MONOTONE;
    }
    if (f->gap) LR_TRY(f->gap(f->ctx, X, Fx, &last));
    lr_mat_copy(C, X);
    if (svd_fallback) *svd_fallback |= fb;
    out->iterations = it > o->max_iter ? o->max_iter : it;
    out->converged = converged;
    out->rank = rank_x;
    out->objective = Fx;
    out->gap = last;
    return LR_OK;
}

/* ---- the parameters of the convex compressors ---- */

const lr_key lr_convex_keys[] = {
    {.path = "compress.lambda", .type = LR_KEY_REAL, .sweepable = 1, .def = NAN, .min = 0, .max = 1e300,
     .doc = "regularisation weight of the convex compressors (absent: each one's automatic choice)"},
    {.path = "compress.lambda_factor", .type = LR_KEY_REAL, .sweepable = 1, .def = 1, .min = 0, .max = 1e300,
     .doc = "lambda used = lambda_factor * (compress.lambda or the automatic lambda)"},
    {.path = "bounds.t", .type = LR_KEY_REAL, .sweepable = 1, .def = 2, .min = 0, .max = 1e300,
     .doc = "deviation t: the automatic lambda bounds ||P G||_op w.p. 1 - exp(-t^2/2)"},
    {.path = "compress.tol", .type = LR_KEY_REAL, .def = 1e-9, .min = 1e-300, .max = 1,
     .doc = "iterative compressors: relative duality gap (dd_nuc) or relative step (relu_cvx) to stop at"},
    {.path = "compress.max_iter", .type = LR_KEY_INT, .def = 5000, .min = 1, .max = 1e8,
     .doc = "iterative compressors: iteration cap"},
    {.path = "compress.monotone", .type = LR_KEY_BOOL, .def = 1, .min = 0, .max = 1,
     .doc = "FISTA compressors: monotone variant (objective never increases)"},
    {0},
};

int lr_convex_lambda(const lr_convex_params *o, double automatic, const char *who, const char *hint,
                     double *lam)
{
    *lam = isnan(o->lambda) ? automatic : o->lambda;
    *lam *= isnan(o->lambda_factor) ? 1.0 : o->lambda_factor;
    if (!(*lam >= 0.0) || !isfinite(*lam)) LR_ERRORF(LR_EINVAL, "%s: lambda = %g%s", who, *lam, hint);
    return LR_OK;
}

void lr_convex_plan_params(lr_compressor_plan *p, const lr_config *cfg)
{
    const lr_compressor *c = p->comp;
    for (size_t pt = 0; pt < p->npoints; pt++) {
        lr_convex_params *v = lr_compressor_params(p, pt);
        v->lambda = lr_compressor_key_num(c, cfg, pt, "compress.lambda");
        v->lambda_factor = lr_compressor_key_num(c, cfg, pt, "compress.lambda_factor");
        v->t = lr_compressor_key_num(c, cfg, pt, "bounds.t");
        v->tol = lr_compressor_key_num(c, cfg, pt, "compress.tol");
        v->max_iter = (int)lr_compressor_key_num(c, cfg, pt, "compress.max_iter");
        v->monotone = lr_compressor_key_num(c, cfg, pt, "compress.monotone") != 0;
    }
}
