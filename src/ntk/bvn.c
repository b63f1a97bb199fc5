/* Bivariate normal orthant probabilities (see bvn.h).
 *
 * Plackett's identity: for the standard bivariate normal density phi2(h, k; s) with
 * correlation s, d/ds P(X > h, Y > k; s) = phi2(h, k; s), and at s = 0 the probability is
 * Q(h) Q(k).  So
 *
 *   P(X > h, Y > k; r) = Q(h) Q(k) + int_0^r phi2(h, k; s) ds
 *                      = Q(h) Q(k) + (1 / 2 pi) int_0^{asin r} exp(-(h^2 - 2 h k sin t + k^2) / (2 cos^2 t)) dt,
 *
 * the second form after s = sin t, which removes phi2's 1 / sqrt(1 - s^2).
 *
 * Fast path (Genz, "Numerical computation of rectangular bivariate and trivariate normal and
 * t probabilities", Statistics and Computing 14 (2004) 251-260, section 2.2, after Drezner and
 * Wesolowsky, J. Statist. Comput. Simul. 35 (1990) 101-107):
 *   |r| < 0.925: the t-integral by Gauss-Legendre, 6, 12 or 20 points for |r| below 0.3, 0.75
 *   and above; the integrand is smooth there.
 *   |r| >= 0.925: the t-integrand varies on the scale sqrt(1 - r^2) near |t| = pi / 2, so
 *   the integral is rewritten in x = sqrt(1 - s^2) on [0, sqrt(1 - r^2)] (with k -> -k for
 *   r < 0, using P(X > h, Y > k; r) = P(X > h) - P(X > h, -Y > -k; -r)); the part singular at
 *   x -> 0, exp(-(h - k)^2 / (2 x^2)) / x times the first terms of the Taylor series of the
 *   rest, is integrated exactly (the closed terms with Phi), and the smooth remainder by the
 *   20-point rule; for r = +-1 only the limits remain, Q(max(h, k)) and
 *   max(0, Phi(-k) - Phi(h)).  Accuracy about 1e-15 absolute (Genz; tests/test_ntk_kernel.c
 *   checks 1e-12 against an independent quadrature).
 *   The covariance form returns the t-integral alone where |r| < 0.925 (exactly 0 at r = 0,
 *   and accurate relative to itself when it is small), and the difference elsewhere.
 *
 * Four orthants at once (lr_ntk_bvn_cov4): the t-integral's nodes t_q = asin(r) (1 +- x_q) / 2
 * depend on r alone, so asin r, sin t_q and 1 - sin^2 t_q serve the four threshold pairs;
 * only the exp differs, and it runs over the four pairs as one 4-wide vector (glibc's libmvec
 * _ZGVdN4v_exp, and _ZGVdN4v_sin over the nodes; each within 4 ulp), the same operations
 * in the same order as t_integral otherwise.  |r| >= 0.925 and infinite thresholds take the
 * plain per-orthant path.  libmvec's AVX2 variants need AVX2 (and FMA, which they use) at
 * run time: __builtin_cpu_supports decides (once, at start-up; LR_NTK_NO_AVX2 in the
 * environment forces the scalar paths), and the scalar shared path
 * (lr_ntk_bvn_cov4_scalar, libm's exp and sin) runs on other machines and builds.
 *
 * Reference (lr_ntk_bvn_upper_ref): the t-integral by GSL's adaptive qag, with the exponent
 * written without cancellation, (h - k)^2 / (2 cos^2 t) + h k / (1 + sin t) for t >= 0 and
 * (h + k)^2 / (2 cos^2 t) - h k / (1 - sin t) for t < 0 (cos^2 t = (1 - sin t)(1 + sin t)),
 * which stays finite as t -> +-pi / 2. */
#include "bvn.h"

#include "lrlab_config.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "ntk/mvec.h"

/* The negative halves of the 6-, 12- and 20-point Gauss-Legendre rules on [-1, 1] (nodes,
 * weights), to 17 digits (GSL's gsl_integration_glfixed tables). */
static const double gl6[3][2] = {{-0.93246951420315205, 0.17132449237917036},
                                 {-0.66120938646626448, 0.36076157304813861},
                                 {-0.2386191860831969, 0.46791393457269104}};
static const double gl12[6][2] = {{-0.98156063424671924, 0.047175336386511828}, {-0.90411725637047491, 0.10693932599531843},
                                  {-0.76990267419430469, 0.16007832854334622}, {-0.58731795428661748, 0.20316742672306592},
                                  {-0.36783149899818018, 0.23349253653835481}, {-0.12523340851146891, 0.24914704581340277}};
static const double gl20[10][2] = {
    {-0.99312859918509488, 0.017614007139152118}, {-0.96397192727791381, 0.040601429800386939},
    {-0.91223442825132595, 0.062672048334109068}, {-0.83911697182221878, 0.083276741576704755},
    {-0.7463319064601508, 0.10193011981724044},   {-0.63605368072651502, 0.11819453196151841},
    {-0.51086700195082713, 0.13168863844917664},  {-0.37370608871541955, 0.14209610931838204},
    {-0.22778585114164507, 0.14917298647260374},  {-0.076526521133497338, 0.15275338713072584}};

static double Q(double x) { return gsl_cdf_ugaussian_Q(x); }

/* (1 / 2 pi) int_0^{asin r} exp(...) dt for |r| < 0.925. */
static double t_integral(double h, double k, double r)
{
    if (r == 0) return 0.0;
    const double(*g)[2] = fabs(r) < 0.3 ? gl6 : fabs(r) < 0.75 ? gl12 : gl20;
    int m = fabs(r) < 0.3 ? 3 : fabs(r) < 0.75 ? 6 : 10;
    double hk = h * k, hs = 0.5 * (h * h + k * k), asr = asin(r), sum = 0;
    for (int i = 0; i < m; i++) {
        double sn = sin(0.5 * asr * (1 + g[i][0]));
        sum += g[i][1] * exp((sn * hk - hs) / (1 - sn * sn));
        sn = sin(0.5 * asr * (1 - g[i][0]));
        sum += g[i][1] * exp((sn * hk - hs) / (1 - sn * sn));
    }
    return sum * asr / (4 * M_PI);
}

/* P(X > h, Y > k) for 0.925 <= |r| <= 1. */
static double near_one(double h, double k, double r)
{
    double hk = h * k, bvn = 0;
    if (r < 0) k = -k, hk = -hk;
    if (fabs(r) < 1) {
        double as = (1 - r) * (1 + r), a = sqrt(as), bs = (h - k) * (h - k);
        double c = (4 - hk) / 8, d = (12 - hk) / 16;
        bvn = a * exp(-(bs / as + hk) / 2) * (1 - c * (bs - as) * (1 - d * bs / 5) / 3 + c * d * as * as / 5);
        if (hk > -160) {
            double b = sqrt(bs);
            bvn -= exp(-hk / 2) * sqrt(2 * M_PI) * Q(b / a) * b * (1 - c * bs * (1 - d * bs / 5) / 3);
        }
        a /= 2;
        for (int i = 0; i < 10; i++)
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                double xs = a * (1 + sgn * gl20[i][0]);
                xs *= xs;
                double rs = sqrt(1 - xs);
                /* exp(-(bs / xs + hk) / 2) (exp(-hk (1 - rs) / (2 (1 + rs))) / rs - poly), with
                 * the exponents combined so that no factor overflows when h k << 0 */
                bvn += a * gl20[i][1] *
                       (exp(-bs / (2 * xs) - hk / (1 + rs)) / rs - exp(-(bs / xs + hk) / 2) * (1 + c * xs * (1 + d * xs)));
            }
        bvn = -bvn / (2 * M_PI);
    }
    if (r > 0) return bvn + Q(fmax(h, k));
    /* k is negated here: max(0, Q(h) - Q(k)) = P(h < X < k) is the r = -1 limit */
    return -bvn + fmax(0.0, Q(h) - Q(k));
}

/* The infinite limits, where the formulas would meet inf * 0: returns 1 and sets *p when one
 * of h, k is infinite. */
static int infinite_limit(double h, double k, double *p)
{
    if (h == INFINITY || k == INFINITY) return *p = 0.0, 1;
    if (h == -INFINITY) return *p = Q(k), 1;
    if (k == -INFINITY) return *p = Q(h), 1;
    return 0;
}

double lr_ntk_bvn_upper(double h, double k, double r)
{
    if (isnan(h) || isnan(k) || !(fabs(r) <= 1)) return NAN;
    double p;
    if (infinite_limit(h, k, &p)) return p;
    /* rounding can take a probability of 1e-300 a little below 0 */
    p = fabs(r) < 0.925 ? Q(h) * Q(k) + t_integral(h, k, r) : near_one(h, k, r);
    return p < 0 ? 0.0 : (p > 1 ? 1.0 : p);
}

double lr_ntk_bvn_cdf(double h, double k, double r) { return lr_ntk_bvn_upper(-h, -k, r); }

double lr_ntk_bvn_cov(double h, double k, double r)
{
    if (isnan(h) || isnan(k) || !(fabs(r) <= 1)) return NAN;
    double p;
    if (infinite_limit(h, k, &p)) return 0.0; /* one indicator is constant */
    if (fabs(r) < 0.925) return t_integral(h, k, r);
    return near_one(h, k, r) - Q(h) * Q(k);
}

/* ---- four orthants sharing one correlation ---- */

/* The rule of t_integral for |r|: nodes and weights, m node pairs. */
static void t_rule(double r, const double (**g)[2], int *m)
{
    double a = fabs(r);
    *g = a < 0.3 ? gl6 : a < 0.75 ? gl12 : gl20;
    *m = a < 0.3 ? 3 : a < 0.75 ? 6 : 10;
}

/* The 2 m nodes' arguments t_q, in t_integral's order (asin r (1 + x_i) / 2, then
 * asin r (1 - x_i) / 2, for i < m), into arg (room for 20: zeros up to a multiple of 4);
 * returns 2 m. */
static int t_args(double asr, const double (*g)[2], int m, double *arg)
{
    for (int i = 0; i < m; i++) arg[2 * i] = 0.5 * asr * (1 + g[i][0]), arg[2 * i + 1] = 0.5 * asr * (1 - g[i][0]);
    for (int q = 2 * m; q % 4; q++) arg[q] = 0;
    return 2 * m;
}

/* The plain path of lr_ntk_bvn_cov4 where the shared nodes do not apply; returns 1 then. */
static int cov4_plain(const double h[2], const double k[2], double r, double out[4])
{
    if (fabs(r) < 0.925 && isfinite(h[0]) && isfinite(h[1]) && isfinite(k[0]) && isfinite(k[1])) {
        if (r != 0) return 0;
        out[0] = out[1] = out[2] = out[3] = 0.0;
        return 1;
    }
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) out[2 * a + b] = lr_ntk_bvn_cov(h[a], k[b], r);
    return 1;
}

void lr_ntk_bvn_cov4_scalar(const double h[2], const double k[2], double r, double out[4])
{
    if (cov4_plain(h, k, r, out)) return;
    const double(*g)[2];
    int m;
    t_rule(r, &g, &m);
    double asr = asin(r), sn[20], hk[4], hs[4], sum[4] = {0, 0, 0, 0};
    int nq = t_args(asr, g, m, sn);
    for (int q = 0; q < nq; q++) sn[q] = sin(sn[q]);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) hk[2 * a + b] = h[a] * k[b], hs[2 * a + b] = 0.5 * (h[a] * h[a] + k[b] * k[b]);
    for (int q = 0; q < nq; q++) {
        double s = sn[q], c = 1 - s * s, w = g[q / 2][1];
        for (int o = 0; o < 4; o++) sum[o] += w * exp((s * hk[o] - hs[o]) / c);
    }
    for (int o = 0; o < 4; o++) out[o] = sum[o] * asr / (4 * M_PI);
}

#ifdef LR_NTK_MVEC
LR_NTK_AVX2 static void cov4_avx2(const double h[2], const double k[2], double r, double out[4])
{
    const double(*g)[2];
    int m;
    t_rule(r, &g, &m);
    double asr = asin(r), sn[20];
    int nq = t_args(asr, g, m, sn);
    for (int q = 0; q < nq; q += 4) _mm256_storeu_pd(sn + q, _ZGVdN4v_sin(_mm256_loadu_pd(sn + q)));
    /* lanes 2 a + b */
    __m256d H = _mm256_setr_pd(h[0], h[0], h[1], h[1]), K = _mm256_setr_pd(k[0], k[1], k[0], k[1]);
    __m256d hk = _mm256_mul_pd(H, K),
            hs = _mm256_mul_pd(_mm256_set1_pd(0.5), _mm256_add_pd(_mm256_mul_pd(H, H), _mm256_mul_pd(K, K)));
    __m256d sum = _mm256_setzero_pd();
    for (int q = 0; q < nq; q++) {
        double s = sn[q];
        __m256d x = _mm256_div_pd(_mm256_sub_pd(_mm256_mul_pd(_mm256_set1_pd(s), hk), hs), _mm256_set1_pd(1 - s * s));
        sum = _mm256_add_pd(sum, _mm256_mul_pd(_mm256_set1_pd(g[q / 2][1]), _ZGVdN4v_exp(x)));
    }
    _mm256_storeu_pd(out, _mm256_div_pd(_mm256_mul_pd(sum, _mm256_set1_pd(asr)), _mm256_set1_pd(4 * M_PI)));
}
#endif

/* Decided once, when the program starts; LR_NTK_NO_AVX2 set (to anything) in the environment
 * forces the scalar paths (for testing them on an AVX2 machine). */
#ifdef LR_NTK_MVEC
static int lr_avx2_usable;
__attribute__((constructor)) static void lr_avx2_probe(void)
{
    __builtin_cpu_init();
    lr_avx2_usable = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !getenv("LR_NTK_NO_AVX2");
}
#endif

int lr_ntk_simd_avx2(void)
{
#ifdef LR_NTK_MVEC
    return lr_avx2_usable;
#else
    return 0;
#endif
}

void lr_ntk_bvn_cov4(const double h[2], const double k[2], double r, double out[4])
{
#ifdef LR_NTK_MVEC
    if (lr_ntk_simd_avx2()) {
        if (!cov4_plain(h, k, r, out)) cov4_avx2(h, k, r, out);
        return;
    }
#endif
    lr_ntk_bvn_cov4_scalar(h, k, r, out);
}

/* ---- the reference ---- */

typedef struct ref_arg {
    double h, k;
} ref_arg;

static double ref_fn(double t, void *arg)
{
    const ref_arg *a = arg;
    double s = sin(t), c2 = (1 - s) * (1 + s), e;
    if (t >= 0) {
        double d = (a->h - a->k) * (a->h - a->k);
        e = (d == 0 ? 0.0 : d / (2 * c2)) + a->h * a->k / (1 + s);
    } else {
        double d = (a->h + a->k) * (a->h + a->k);
        e = (d == 0 ? 0.0 : d / (2 * c2)) - a->h * a->k / (1 - s);
    }
    return exp(-e) / (2 * M_PI);
}

int lr_ntk_bvn_upper_ref(double h, double k, double r, double epsabs, double epsrel, size_t limit,
                         gsl_integration_workspace *ws, double *out)
{
    if (isnan(h) || isnan(k) || !(fabs(r) <= 1))
        LR_ERRORF(LR_EINVAL, "lr_ntk_bvn_upper_ref: h = %g, k = %g, r = %g (r in [-1, 1])", h, k, r);
    double p;
    if (infinite_limit(h, k, &p)) return *out = p, LR_OK;
    gsl_integration_workspace *own = NULL;
    if (!ws) {
        own = ws = gsl_integration_workspace_alloc(limit);
        if (!ws) LR_ERRORF(LR_ENOMEM, "cannot allocate GSL's integration workspace (%zu intervals)", limit);
    }
    ref_arg a = {h, k};
    gsl_function F = {.function = ref_fn, .params = &a};
    double v = 0, err = 0;
    int st = r == 0 ? 0 : gsl_integration_qag(&F, 0, asin(r), epsabs, epsrel, limit, GSL_INTEG_GAUSS61, ws, &v, &err);
    gsl_integration_workspace_free(own);
    if (st)
        LR_ERRORF(LR_ENUMERIC, "lr_ntk_bvn_upper_ref(%g, %g, %g): %s (error estimate %g)", h, k, r, gsl_strerror(st),
                  err);
    *out = Q(h) * Q(k) + v;
    return LR_OK;
}
