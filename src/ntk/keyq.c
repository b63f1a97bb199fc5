/* The key quantities of an activation sigma at scale tau (docs/theory.md section 5; Gu, Du, Zhang,
 * Xie, Pu, Qiu, Liao, "'Lossless' Compression of Deep Neural Networks: A High-dimensional
 * Neural Tangent Kernel Approach", NeurIPS 2022).  xi ~ N(0, 1), phi and Phi its density
 * and distribution function, Q = 1 - Phi, m = E sigma(tau xi), sigma_c = sigma - m:
 *
 *   mean = E sigma(tau xi)           d1 = E sigma'(tau xi)       d2 = E sigma''(tau xi)
 *   sq2  = E (sigma_c^2)''(tau xi)   var = E sigma_c(tau xi)^2   d1sq = E sigma'(tau xi)^2
 *
 * Derivatives of activations that are not smooth exist only as distributions; Gaussian
 * integration by parts (phi'(x) = -x phi(x), phi''(x) = (x^2 - 1) phi(x)) moves them onto the
 * density, where they are ordinary integrals of sigma itself:
 *
 *   E sigma'(tau xi)  = E[xi sigma(tau xi)] / tau,
 *   E sigma''(tau xi) = E[(xi^2 - 1) sigma(tau xi)] / tau^2,
 *   E (sigma_c^2)''(tau xi) = E[(xi^2 - 1) sigma_c(tau xi)^2] / tau^2.
 *
 * (sigma^2)'' = 2 sigma'^2 + 2 sigma sigma'', so the centring matters: sq2 = E (sigma^2)'' -
 * 2 m d2.  For ReLU, d2 = phi(0) / tau and m = tau phi(0) give sq2 = 1 - 1/pi at every tau,
 * where the uncentred E (relu^2)'' = 1.)  E sigma'^2 has no such form: it is +INFINITY when
 * sigma' holds a Dirac mass (sign, step, sigma_T, sigma_Q), and otherwise sigma' is a
 * function and is integrated directly.
 *
 * Quadrature (lr_ntk_keyq_quad).  Each integrand is smooth between the kinks of sigma
 * (scaled to xi = kink / tau) but not across them, where a Gauss rule converges slowly (THEORY
 * quotes 1e-3 relative with 200 Gauss-Hermite nodes on ReLU).  So the line is cut at the kinks
 * and at 0, and each piece is integrated by GSL's adaptive Gauss-Kronrod: qag on the finite
 * pieces, qagil and qagiu (the map x = b -+ (1 - t) / t onto (0, 1]) on the two tails, with the
 * tolerances of lr_ntk_quad_opts.  The mean is integrated first, and var and sq2 then
 * integrate (sigma - m)^2 itself rather than subtracting m^2 from E sigma^2, which would
 * cancel when the mean is large.
 *
 * Closed forms (lr_ntk_keyq_closed), u_k = t_k / tau at a threshold t_k:
 *
 *   piecewise linear, slope a- below 0 and a+ above (relu: 0, 1; abs: -1, 1; leaky_relu):
 *     m = (a+ - a-) tau phi(0), d1 = (a+ + a-) / 2, d2 = (a+ - a-) phi(0) / tau,
 *     var = tau^2 ((a+^2 + a-^2) / 2 - (a+ - a-)^2 / (2 pi)), d1sq = (a+^2 + a-^2) / 2,
 *     sq2 = a+^2 + a-^2 - (a+ - a-)^2 / pi   (sigma^2 is C^1, so (sigma^2)'' has no mass at 0).
 *   quad c0 + c1 t + c2 t^2 (linear: 0, 1, 0), from E t^2 = tau^2, E t^4 = 3 tau^4:
 *     m = c0 + c2 tau^2, d1 = c1, d2 = 2 c2, var = c1^2 tau^2 + 2 c2^2 tau^4,
 *     sq2 = 2 c1^2 + 8 c2^2 tau^2, d1sq = c1^2 + 4 c2^2 tau^2.
 *   piecewise constant, levels L on t < t1, M on (t1, t2), R on t > t2 (sigma_T: a, 0, a;
 *   sigma_Q: b1, 0, b2; step: 0, 0, 1 and sign: -1, -1, 1 with t1 = t2 = 0), i.e.
 *   sigma = L + h1 1_{t > t1} + h2 1_{t > t2} with jumps h1 = M - L, h2 = R - M:
 *     m = L + h1 Q(u1) + h2 Q(u2), d1 = (h1 phi(u1) + h2 phi(u2)) / tau,
 *     d2 = (h1 u1 phi(u1) + h2 u2 phi(u2)) / tau^2   (from E[(xi^2 - 1) 1_{xi > u}] = u phi(u)),
 *     var = P_L P_M (L - M)^2 + P_M P_R (M - R)^2 + P_L P_R (L - R)^2 with P_L = Phi(u1),
 *           P_M = Phi(u2) - Phi(u1), P_R = Q(u2) (the variance of a three-point law),
 *     sq2 = the d2 formula applied to (sigma - m)^2, whose jumps are (M - m)^2 - (L - m)^2 and
 *           (R - m)^2 - (M - m)^2, and d1sq = +INFINITY (0 when both jumps are 0).
 *   For sigma_T this is THEORY's E sigma_T' = (a / tau)(phi(u2) - phi(u1)) and
 *   E sigma_T'' = (a / tau^2)(u2 phi(u2) - u1 phi(u1)): the same signs.  (Check by parts:
 *   sigma_T' = a (delta_{s2} - delta_{s1}), so E sigma_T'(tau xi) = a (phi(u2) - phi(u1)) / tau.)
 *   erf (Williams, "Computing with infinite networks", NIPS 1996, for var):
 *     m = 0, d1 = (2 / sqrt pi) / sqrt(1 + 2 tau^2), d2 = 0,
 *     var = (2 / pi) asin(2 tau^2 / (1 + 2 tau^2)), d1sq = (4 / pi) / sqrt(1 + 4 tau^2),
 *     sq2 = 2 E erf'^2 + 2 E[erf erf''] = (8 / pi) / ((1 + 2 tau^2) sqrt(1 + 4 tau^2)).
 *   sin, cos, from E cos(w tau xi) = exp(-w^2 tau^2 / 2):
 *     sin: m = 0, d1 = e^{-tau^2/2}, d2 = 0, var = (1 - e^{-2 tau^2}) / 2,
 *          sq2 = E 2 cos(2t) = 2 e^{-2 tau^2}, d1sq = (1 + e^{-2 tau^2}) / 2;
 *     cos: m = e^{-tau^2/2}, d1 = 0, d2 = -e^{-tau^2/2}, var = (1 - e^{-tau^2})^2 / 2,
 *          sq2 = -2 e^{-2 tau^2} - 2 m d2 = 2 e^{-tau^2} (1 - e^{-tau^2}), d1sq = (1 - e^{-2 tau^2}) / 2.
 *   tanh and sigmoid: no closed form; quadrature only. */
#include "keyq.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/mat.h"

struct lr_ntk_keyq_ws {
    gsl_integration_workspace *w;
    size_t limit;
};

lr_ntk_quad_opts lr_ntk_quad_defaults(void)
{
    return (lr_ntk_quad_opts){.epsabs = LR_NTK_QUAD_EPSABS, .epsrel = LR_NTK_QUAD_EPSREL,
                              .limit = LR_NTK_QUAD_LIMIT, .key = GSL_INTEG_GAUSS61};
}

lr_ntk_keyq_ws *lr_ntk_keyq_ws_alloc(size_t limit)
{
    if (limit == 0) LR_ERROR_NULL(LR_EINVAL, "lr_ntk_keyq_ws_alloc: limit 0");
    lr_ntk_keyq_ws *ws = lr_calloc(1, sizeof *ws);
    if (!ws) LR_ERROR_NULL(LR_ENOMEM, "cannot allocate the key-quantity workspace");
    ws->w = gsl_integration_workspace_alloc(limit);
    if (!ws->w) {
        lr_free(ws);
        LR_ERROR_NULL(LR_ENOMEM, "cannot allocate GSL's integration workspace (%zu intervals)", limit);
    }
    ws->limit = limit;
    return ws;
}

void lr_ntk_keyq_ws_free(lr_ntk_keyq_ws *ws)
{
    if (!ws) return;
    gsl_integration_workspace_free(ws->w);
    lr_free(ws);
}

/* ---- quadrature ---- */

enum integrand_kind { I_MEAN, I_XI, I_HERM2, I_VAR, I_HERM2_SQ, I_D1SQ };
static const char *const kind_names[] = {"E sigma", "E xi sigma", "E (xi^2-1) sigma", "E sigma_c^2",
                                         "E (xi^2-1) sigma_c^2", "E sigma'^2"};

typedef struct integrand {
    const lr_ntk_act_entry *e;
    const double *p;
    double tau, m;
    enum integrand_kind kind;
} integrand;

static double integrand_fn(double x, void *arg)
{
    const integrand *q = arg;
    double phi = gsl_ran_ugaussian_pdf(x);
    if (phi == 0) return 0.0; /* also keeps inf * 0 out of the tails */
    double t = q->tau * x;
    switch (q->kind) {
    case I_MEAN: return q->e->fn(t, q->p) * phi;
    case I_XI: return x * q->e->fn(t, q->p) * phi;
    case I_HERM2: return (x * x - 1.0) * q->e->fn(t, q->p) * phi;
    case I_VAR: {
        double c = q->e->fn(t, q->p) - q->m;
        return c * c * phi;
    }
    case I_HERM2_SQ: {
        double c = q->e->fn(t, q->p) - q->m;
        return (x * x - 1.0) * c * c * phi;
    }
    case I_D1SQ: {
        double d = q->e->d1(t, q->p);
        return d * d * phi;
    }
    }
    return NAN;
}

/* The breakpoints in xi: 0 and the kinks / tau, sorted, without repeats. */
static size_t breakpoints(const lr_ntk_act *a, double tau, double *b)
{
    double k[LR_NTK_ACT_MAX_KINKS];
    size_t nk = lr_ntk_act_kinks(a, k), nb = 0;
    double all[LR_NTK_ACT_MAX_KINKS + 1];
    all[0] = 0.0;
    for (size_t i = 0; i < nk; i++) all[i + 1] = k[i] / tau;
    /* insertion sort of at most 3 values, then drop repeats */
    for (size_t i = 1; i < nk + 1; i++)
        for (size_t j = i; j > 0 && all[j - 1] > all[j]; j--) {
            double s = all[j];
            all[j] = all[j - 1], all[j - 1] = s;
        }
    for (size_t i = 0; i < nk + 1; i++)
        if (nb == 0 || all[i] != b[nb - 1]) b[nb++] = all[i];
    return nb;
}

static int integrate(integrand *q, const double *b, size_t nb, const lr_ntk_quad_opts *o, lr_ntk_keyq_ws *ws,
                     double *result, double *abserr)
{
    gsl_function F = {.function = integrand_fn, .params = q};
    double sum = 0, err = 0, r, e;
    int st = gsl_integration_qagil(&F, b[0], o->epsabs, o->epsrel, o->limit, ws->w, &r, &e);
    if (st) goto fail;
    sum += r, err += e;
    for (size_t i = 0; i + 1 < nb; i++) {
        st = gsl_integration_qag(&F, b[i], b[i + 1], o->epsabs, o->epsrel, o->limit, o->key, ws->w, &r, &e);
        if (st) goto fail;
        sum += r, err += e;
    }
    st = gsl_integration_qagiu(&F, b[nb - 1], o->epsabs, o->epsrel, o->limit, ws->w, &r, &e);
    if (st) goto fail;
    sum += r, err += e;
    *result = sum;
    *abserr = err;
    return LR_OK;
fail:
    LR_ERRORF(LR_ENUMERIC, "key quantities of %s at tau = %g: %s did not reach epsabs %g / epsrel %g: %s",
              q->e->name, q->tau, kind_names[q->kind], o->epsabs, o->epsrel, gsl_strerror(st));
}

static int check_args(const lr_ntk_act *a, double tau, const char *who)
{
    if (!a || !lr_ntk_act_get(a->id)) LR_ERRORF(LR_EINVAL, "%s: unknown activation", who);
    if (!(tau > 0) || !isfinite(tau)) LR_ERRORF(LR_EINVAL, "%s: tau = %g (must be positive and finite)", who, tau);
    return LR_OK;
}

int lr_ntk_keyq_quad(const lr_ntk_act *a, double tau, const lr_ntk_quad_opts *opts, lr_ntk_keyq_ws *ws,
                     lr_ntk_keyq *out, lr_ntk_keyq *abserr)
{
    LR_TRY(check_args(a, tau, "lr_ntk_keyq_quad"));
    lr_ntk_quad_opts o = opts ? *opts : lr_ntk_quad_defaults();
    if (!(o.epsabs >= 0) || !(o.epsrel >= 0) || (o.epsabs == 0 && o.epsrel == 0) || o.limit == 0 ||
        o.key < GSL_INTEG_GAUSS15 || o.key > GSL_INTEG_GAUSS61)
        LR_ERRORF(LR_EINVAL, "lr_ntk_keyq_quad: bad tolerances (epsabs %g, epsrel %g, limit %zu, key %d)", o.epsabs,
                  o.epsrel, o.limit, o.key);
    lr_ntk_keyq_ws *own = NULL;
    if (!ws) {
        own = ws = lr_ntk_keyq_ws_alloc(o.limit);
        if (!ws) return LR_ENOMEM;
    }
    if (o.limit > ws->limit) o.limit = ws->limit;

    const lr_ntk_act_entry *e = lr_ntk_act_get(a->id);
    double b[LR_NTK_ACT_MAX_KINKS + 1];
    size_t nb = breakpoints(a, tau, b);
    integrand q = {.e = e, .p = a->p, .tau = tau, .m = 0};
    lr_ntk_keyq r = {.tau = tau}, err = {.tau = 0};
    double v, ev;
    int st;
#define LR_NTK_INTEGRATE(k)                                                                        \
    do {                                                                                           \
        q.kind = (k);                                                                              \
        if ((st = integrate(&q, b, nb, &o, ws, &v, &ev)) != LR_OK) goto done;                      \
    } while (0)
    LR_NTK_INTEGRATE(I_MEAN);
    r.mean = v, err.mean = ev;
    q.m = r.mean;
    LR_NTK_INTEGRATE(I_XI);
    r.d1 = v / tau, err.d1 = ev / tau;
    LR_NTK_INTEGRATE(I_HERM2);
    r.d2 = v / (tau * tau), err.d2 = ev / (tau * tau);
    LR_NTK_INTEGRATE(I_VAR);
    r.var = v, err.var = ev;
    LR_NTK_INTEGRATE(I_HERM2_SQ);
    r.sq2 = v / (tau * tau), err.sq2 = ev / (tau * tau);
    if (lr_ntk_act_has_dirac(a)) {
        r.d1sq = INFINITY, err.d1sq = 0;
    } else if (!e->d1) { /* a piecewise-constant activation without jumps: a constant */
        r.d1sq = 0, err.d1sq = 0;
    } else {
        LR_NTK_INTEGRATE(I_D1SQ);
        r.d1sq = v, err.d1sq = ev;
    }
#undef LR_NTK_INTEGRATE
    *out = r;
    if (abserr) *abserr = err;
done:
    lr_ntk_keyq_ws_free(own);
    return st;
}

/* ---- closed forms ---- */

int lr_ntk_keyq_has_closed(lr_ntk_act_id id)
{
    return (unsigned)id < LR_NTK_ACT_COUNT && id != LR_NTK_ACT_TANH && id != LR_NTK_ACT_SIGMOID;
}

static lr_ntk_keyq closed_pwlinear(double am, double ap, double tau)
{
    double phi0 = 1.0 / sqrt(2.0 * M_PI), s2 = ap * ap + am * am, dj = ap - am;
    return (lr_ntk_keyq){.tau = tau,
                         .mean = dj * tau * phi0,
                         .d1 = 0.5 * (ap + am),
                         .d2 = dj * phi0 / tau,
                         .sq2 = s2 - dj * dj / M_PI,
                         .var = tau * tau * (0.5 * s2 - dj * dj / (2.0 * M_PI)),
                         .d1sq = 0.5 * s2};
}

static lr_ntk_keyq closed_quad(double c0, double c1, double c2, double tau)
{
    double t2 = tau * tau;
    return (lr_ntk_keyq){.tau = tau,
                         .mean = c0 + c2 * t2,
                         .d1 = c1,
                         .d2 = 2.0 * c2,
                         .sq2 = 2.0 * c1 * c1 + 8.0 * c2 * c2 * t2,
                         .var = c1 * c1 * t2 + 2.0 * c2 * c2 * t2 * t2,
                         .d1sq = c1 * c1 + 4.0 * c2 * c2 * t2};
}

/* Levels L, M, R with thresholds t1 <= t2 (see the top of the file). */
static lr_ntk_keyq closed_pwconst(double L, double M, double R, double t1, double t2, double tau)
{
    double u1 = t1 / tau, u2 = t2 / tau, f1 = gsl_ran_ugaussian_pdf(u1), f2 = gsl_ran_ugaussian_pdf(u2);
    double h1 = M - L, h2 = R - M;
    double PL = gsl_cdf_ugaussian_P(u1), PR = gsl_cdf_ugaussian_Q(u2);
    /* Phi(u2) - Phi(u1) from the tail where it does not cancel */
    double PM = u1 >= 0 ? gsl_cdf_ugaussian_Q(u1) - PR : gsl_cdf_ugaussian_P(u2) - PL;
    double m = L + h1 * gsl_cdf_ugaussian_Q(u1) + h2 * PR;
    double cL = (L - m) * (L - m), cM = (M - m) * (M - m), cR = (R - m) * (R - m);
    return (lr_ntk_keyq){.tau = tau,
                         .mean = m,
                         .d1 = (h1 * f1 + h2 * f2) / tau,
                         .d2 = (h1 * u1 * f1 + h2 * u2 * f2) / (tau * tau),
                         .sq2 = ((cM - cL) * u1 * f1 + (cR - cM) * u2 * f2) / (tau * tau),
                         .var = PL * PM * (L - M) * (L - M) + PM * PR * (M - R) * (M - R) + PL * PR * (L - R) * (L - R),
                         .d1sq = (h1 != 0 || h2 != 0) ? INFINITY : 0.0};
}

int lr_ntk_keyq_closed(const lr_ntk_act *a, double tau, lr_ntk_keyq *out)
{
    LR_TRY(check_args(a, tau, "lr_ntk_keyq_closed"));
    const double *p = a->p, t2 = tau * tau;
    switch (a->id) {
    case LR_NTK_ACT_RELU: *out = closed_pwlinear(0, 1, tau); break;
    case LR_NTK_ACT_LEAKY_RELU: *out = closed_pwlinear(p[0], p[1], tau); break;
    case LR_NTK_ACT_ABS: *out = closed_pwlinear(-1, 1, tau); break;
    case LR_NTK_ACT_LINEAR: *out = closed_quad(0, 1, 0, tau); break;
    case LR_NTK_ACT_QUAD: *out = closed_quad(p[0], p[1], p[2], tau); break;
    case LR_NTK_ACT_STEP: *out = closed_pwconst(0, 0, 1, 0, 0, tau); break;
    case LR_NTK_ACT_SIGN: *out = closed_pwconst(-1, -1, 1, 0, 0, tau); break;
    case LR_NTK_ACT_SIGMA_T: *out = closed_pwconst(p[0], 0, p[0], p[1], p[2], tau); break;
    case LR_NTK_ACT_SIGMA_Q: *out = closed_pwconst(p[0], 0, p[1], p[2], p[3], tau); break;
    case LR_NTK_ACT_ERF: {
        double a2 = 1.0 + 2.0 * t2, a4 = sqrt(1.0 + 4.0 * t2);
        *out = (lr_ntk_keyq){.tau = tau,
                             .mean = 0,
                             .d1 = M_2_SQRTPI / sqrt(a2),
                             .d2 = 0,
                             .sq2 = 8.0 / (M_PI * a2 * a4),
                             .var = M_2_PI * asin(2.0 * t2 / a2),
                             .d1sq = 4.0 / (M_PI * a4)};
        break;
    }
    case LR_NTK_ACT_SIN: {
        double e1 = exp(-0.5 * t2), e4 = exp(-2.0 * t2);
        *out = (lr_ntk_keyq){.tau = tau, .mean = 0, .d1 = e1, .d2 = 0, .sq2 = 2.0 * e4,
                             .var = -0.5 * expm1(-2.0 * t2), .d1sq = 0.5 * (1.0 + e4)};
        break;
    }
    case LR_NTK_ACT_COS: {
        double e1 = exp(-0.5 * t2), em = expm1(-t2);
        *out = (lr_ntk_keyq){.tau = tau, .mean = e1, .d1 = 0, .d2 = -e1, .sq2 = -2.0 * exp(-t2) * em,
                             .var = 0.5 * em * em, .d1sq = -0.5 * expm1(-2.0 * t2)};
        break;
    }
    default: {
        const lr_ntk_act_entry *e = lr_ntk_act_get(a->id);
        LR_ERRORF(LR_EINVAL, "no closed form for the key quantities of %s (use lr_ntk_keyq_quad)", e->name);
    }
    }
    return LR_OK;
}

int lr_ntk_keyq_eval(const lr_ntk_act *a, double tau, const lr_ntk_quad_opts *opts, lr_ntk_keyq_ws *ws,
                lr_ntk_keyq *out)
{
    LR_TRY(check_args(a, tau, "lr_ntk_keyq_eval"));
    if (lr_ntk_keyq_has_closed(a->id)) return lr_ntk_keyq_closed(a, tau, out);
    return lr_ntk_keyq_quad(a, tau, opts, ws, out, NULL);
}
