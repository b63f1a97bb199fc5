/* The compressed network of the NTK kind: matching sigma_T / sigma_Q to an activation's key
 * quantities, ternary weights and their memory.  The maths, and why it is enough, are at
 * the top of ternary.h (docs/theory.md section 5; Gu et al., NeurIPS 2022). */
#include "ternary.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <string.h>

#include "core/error.h"

#define MAX_STARTS 64

lr_ntk_match_opts lr_ntk_match_defaults(void)
{
    lr_ntk_match_opts o = {.grid_lo = -4, .grid_hi = 4, .grid_n = 81, .starts = 8, .tol = 1e-8, .max_iter = 500};
    return o;
}

/* What the residuals compare against, and their scales. */
typedef struct match_problem {
    lr_ntk_match_kind kind;
    lr_ntk_keyq t;  /* target */
    double tau_c;   /* the compressed network's scale */
    double scale[4];
} match_problem;

/* The activation of parameter vector x: sigma_T (a, c, w) or sigma_Q (b1, b2, c, w), the
 * thresholds tau_c (c -+ e^w). */
static int act_of(const match_problem *P, const double *x, lr_ntk_act *a)
{
    size_t off = P->kind == LR_NTK_MATCH_T ? 1 : 2;
    double c = x[off], w = exp(x[off + 1]);
    if (!isfinite(c) || !isfinite(w)) return LR_EINVAL;
    double p[4] = {x[0], 0, 0, 0};
    if (P->kind == LR_NTK_MATCH_T) {
        p[1] = (c - w) * P->tau_c, p[2] = (c + w) * P->tau_c;
        return lr_ntk_act_init(a, LR_NTK_ACT_SIGMA_T, p, 3);
    }
    p[1] = x[1], p[2] = (c - w) * P->tau_c, p[3] = (c + w) * P->tau_c;
    return lr_ntk_act_init(a, LR_NTK_ACT_SIGMA_Q, p, 4);
}

/* The scaled residuals of x (n = kind of them); LR_EINVAL when x is not an activation. */
static int residuals(const match_problem *P, const double *x, double *r, lr_ntk_keyq *got)
{
    lr_ntk_act a;
    lr_ntk_keyq q;
    if (act_of(P, x, &a) != LR_OK || lr_ntk_keyq_closed(&a, P->tau_c, &q) != LR_OK) return LR_EINVAL;
    r[0] = (q.d1 * q.d1 - P->t.d1 * P->t.d1) / P->scale[0];
    r[1] = (q.d2 * q.d2 - P->t.d2 * P->t.d2) / P->scale[1];
    r[2] = (q.sq2 - P->t.sq2) / P->scale[2];
    r[3] = P->kind == LR_NTK_MATCH_Q ? (q.var - P->t.var) / P->scale[3] : 0.0;
    if (got) *got = q;
    for (int i = 0; i < 4; i++)
        if (!isfinite(r[i])) return LR_EINVAL;
    return LR_OK;
}

static double norm_max(const double *r, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(r[i]));
    return m;
}

static int lsq_f(const gsl_vector *x, void *params, gsl_vector *f)
{
    const match_problem *P = params;
    double r[4];
    if (residuals(P, x->data, r, NULL) != LR_OK) return GSL_EDOM;
    for (size_t i = 0; i < (size_t)P->kind; i++) gsl_vector_set(f, i, r[i]);
    return GSL_SUCCESS;
}

/* The starting point of grid point (u1, u2), u1 < u2, for one sign choice (Q: 4 choices of
 * the signs of d1 and d2; T: a > 0 suffices, every equation is even in a).  Returns 0 when
 * the point gives no start. */
static int grid_start(const match_problem *P, double u1, double u2, int signs, double *x)
{
    double f1 = gsl_ran_ugaussian_pdf(u1), f2 = gsl_ran_ugaussian_pdf(u2), tc = P->tau_c;
    double c = 0.5 * (u1 + u2), w = log(0.5 * (u2 - u1));
    if (P->kind == LR_NTK_MATCH_T) {
        double g1 = (f2 - f1) / tc, g2 = (u2 * f2 - u1 * f1) / (tc * tc), a;
        if (fabs(g1) > 1e-3 * fabs(P->t.d1) / (fabs(P->t.d1) + 1e-300) && fabs(P->t.d1) > 0) a = fabs(P->t.d1 / g1);
        else if (fabs(g2) > 0 && fabs(P->t.d2) > 0) a = fabs(P->t.d2 / g2);
        else a = sqrt(P->t.var) / 0.5;
        if (!isfinite(a) || a == 0) return 0;
        x[0] = a, x[1] = c, x[2] = w;
        return 1;
    }
    /* b2 f2 - b1 f1 = tc e1 d1 and b2 u2 f2 - b1 u1 f1 = tc^2 e2 d2, e1, e2 = +-1. */
    double e1 = signs & 1 ? -1 : 1, e2 = signs & 2 ? -1 : 1;
    double r1 = tc * e1 * P->t.d1, r2 = tc * tc * e2 * P->t.d2;
    double det = f1 * f2 * (u1 - u2); /* of [[-f1, f2], [-u1 f1, u2 f2]] */
    if (!(fabs(det) > 1e-300)) return 0;
    double b1 = (r1 * u2 * f2 - f2 * r2) / det, b2 = (-f1 * r2 + u1 * f1 * r1) / det;
    if (!isfinite(b1) || !isfinite(b2)) return 0;
    x[0] = b1, x[1] = b2, x[2] = c, x[3] = w;
    return 1;
}

typedef struct cand {
    double x[4];
    double norm;
} cand;

/* Keep the best `k` candidates (insertion into a sorted list). */
static void keep_best(cand *best, size_t *nbest, size_t k, const double *x, size_t n, double norm)
{
    if (*nbest == k && norm >= best[k - 1].norm) return;
    size_t i = *nbest < k ? (*nbest)++ : k - 1;
    while (i > 0 && best[i - 1].norm > norm) {
        best[i] = best[i - 1];
        i--;
    }
    memcpy(best[i].x, x, n * sizeof *x);
    best[i].norm = norm;
}

int lr_ntk_match_fit(lr_ntk_match_kind kind, const lr_ntk_keyq *target, double tau_c, const lr_ntk_match_opts *opts,
                 lr_ntk_match *out)
{
    lr_ntk_match_opts o = opts ? *opts : lr_ntk_match_defaults();
    if (!target || !out) LR_ERROR(LR_EINVAL, "lr_ntk_match_fit: needs a target and an output");
    if (kind != LR_NTK_MATCH_T && kind != LR_NTK_MATCH_Q) LR_ERROR(LR_EINVAL, "lr_ntk_match_fit: kind is T or Q");
    if (!(tau_c > 0) || !isfinite(tau_c)) LR_ERRORF(LR_EINVAL, "lr_ntk_match_fit: scale %g is not positive", tau_c);
    if (!(target->var > 0) || !isfinite(target->var) || !isfinite(target->d1) || !isfinite(target->d2) ||
        !isfinite(target->sq2) || !(target->tau > 0))
        LR_ERROR(LR_EINVAL, "lr_ntk_match_fit: the target's key quantities must be finite, with a positive variance");
    if (!(o.grid_lo < o.grid_hi) || o.grid_n < 2 || o.starts < 1 || o.starts > MAX_STARTS || !(o.tol > 0) ||
        o.max_iter < 1)
        LR_ERRORF(LR_EINVAL, "lr_ntk_match_fit: bad options (grid [%g, %g] x %zu, %zu starts (at most %d), tol %g)",
                  o.grid_lo, o.grid_hi, o.grid_n, o.starts, MAX_STARTS, o.tol);
    match_problem P = {.kind = kind, .t = *target, .tau_c = tau_c};
    double S = sqrt(target->var) / target->tau;
    P.scale[0] = S * S, P.scale[1] = S * S / (target->tau * target->tau), P.scale[2] = S * S, P.scale[3] = target->var;
    size_t n = (size_t)kind;

    /* The grid. */
    cand best[MAX_STARTS];
    size_t nbest = 0;
    double h = (o.grid_hi - o.grid_lo) / (double)(o.grid_n - 1);
    for (size_t i = 0; i < o.grid_n; i++)
        for (size_t j = i + 1; j < o.grid_n; j++) {
            double u1 = o.grid_lo + h * (double)i, u2 = o.grid_lo + h * (double)j, x[4], r[4];
            for (int s = 0; s < (kind == LR_NTK_MATCH_Q ? 4 : 1); s++) {
                if (!grid_start(&P, u1, u2, s, x) || residuals(&P, x, r, NULL) != LR_OK) continue;
                double nr = 0;
                for (size_t q = 0; q < n; q++) nr += r[q] * r[q];
                keep_best(best, &nbest, o.starts, x, n, nr);
            }
        }
    if (!nbest) LR_ERROR(LR_ENUMERIC, "lr_ntk_match_fit: no grid point gives a finite start");

    /* Refine each start; keep the smallest largest residual. */
    gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters();
    fp.trs = gsl_multifit_nlinear_trs_lm;
    gsl_multifit_nlinear_workspace *w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, n, n);
    if (!w) LR_ERROR(LR_ENOMEM, "out of memory");
    gsl_multifit_nlinear_fdf fdf = {.f = lsq_f, .df = NULL, .fvv = NULL, .n = n, .p = n, .params = &P};
    /* Among the solutions (resid <= tol), the one whose variance is closest to the
     * original's: sigma_T has more than one, and the closest keeps the two networks'
     * scales, and so the identity terms of their kernels, together.  Without a solution,
     * the smallest largest residual. */
    double bx[4] = {0}, bmax = INFINITY, bvar = INFINITY;
    size_t biter = 0;
    for (size_t s = 0; s < 2 * nbest; s++) {
        double r[4];
        const double *xs = best[s / 2].x;
        size_t it = 0;
        if (s % 2) { /* the refinement of start s / 2; even s: the grid point itself */
            gsl_vector_view x0 = gsl_vector_view_array(best[s / 2].x, n);
            if (gsl_multifit_nlinear_init(&x0.vector, &fdf, w) != GSL_SUCCESS) continue;
            int info;
            gsl_multifit_nlinear_driver(o.max_iter, 1e-15, 1e-15, 1e-15, NULL, NULL, &info, w);
            xs = gsl_multifit_nlinear_position(w)->data;
            it = gsl_multifit_nlinear_niter(w);
        }
        lr_ntk_keyq q;
        if (residuals(&P, xs, r, &q) != LR_OK) continue;
        double mx = norm_max(r, n), dv = fabs(q.var - target->var);
        int better = mx <= o.tol ? (bmax > o.tol || dv < bvar) : (bmax > o.tol && mx < bmax);
        if (better) {
            bmax = mx, bvar = dv, biter = it;
            memcpy(bx, xs, n * sizeof(double));
        }
    }
    gsl_multifit_nlinear_free(w);
    if (!isfinite(bmax)) LR_ERROR(LR_ENUMERIC, "lr_ntk_match_fit: no start gave finite residuals");
    memset(out, 0, sizeof *out);
    out->kind = kind;
    LR_TRY(act_of(&P, bx, &out->act));
    LR_TRY(residuals(&P, bx, out->resid, &out->got));
    out->resid_max = norm_max(out->resid, n);
    out->converged = out->resid_max <= o.tol;
    out->iterations = biter;
    return LR_OK;
}

int lr_ntk_compress_net(const lr_ntk_act *acts, size_t L, double tau0, const lr_ntk_match_opts *opts,
                        const lr_ntk_quad_opts *qopts, lr_ntk_compressed_layer *out, double *shift)
{
    if (!acts || !L || !out || !shift) LR_ERROR(LR_EINVAL, "lr_ntk_compress_net: needs activations, L >= 1 and outputs");
    if (!(tau0 > 0) || !isfinite(tau0)) LR_ERRORF(LR_EINVAL, "lr_ntk_compress_net: tau_0 = %g is not positive", tau0);
    double tau = tau0, taut = tau0;
    for (size_t l = 0; l < L; l++) {
        lr_ntk_compressed_layer *c = &out[l];
        memset(c, 0, sizeof *c);
        c->tau_in = tau, c->taut_in = taut;
        LR_TRY(lr_ntk_keyq_eval(&acts[l], tau, qopts, NULL, &c->target));
        if (l + 1 < L) {
            LR_TRY(lr_ntk_match_fit(LR_NTK_MATCH_T, &c->target, taut, opts, &c->m));
        } else {
            LR_TRY(lr_ntk_match_fit(LR_NTK_MATCH_Q, &c->target, taut, opts, &c->m));
            if (!c->m.converged) {
                lr_ntk_match t;
                LR_TRY(lr_ntk_match_fit(LR_NTK_MATCH_T, &c->target, taut, opts, &t));
                if (t.converged || norm_max(t.resid, 3) < norm_max(c->m.resid, 3)) c->m = t;
            }
        }
        tau = sqrt(c->target.var);
        taut = sqrt(c->m.got.var);
    }
    *shift = tau * tau - taut * taut;
    return LR_OK;
}

lr_ntk_memory lr_ntk_memory_bits(double nweights, double eps)
{
    double h = 0;
    if (eps > 0 && eps < 1) h = -eps * log2(eps) - (1 - eps) * log2(1 - eps);
    lr_ntk_memory m = {32.0 * nweights, (1.0 - eps) * nweights, (h + (1.0 - eps)) * nweights};
    return m;
}
