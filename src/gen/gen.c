#include "gen.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/linalg.h"

/* The names of each generator kind: one table per enum, indexed by the enum, from which
 * the parser, the enumeration for registry-validated config keys (lr_*_kind_name_at) and
 * `lrlab list` follow. */
static const char *const noise_kind_names[] = {
    [LR_NOISE_GAUSSIAN] = "gaussian",
    [LR_NOISE_RADEMACHER] = "rademacher",
    [LR_NOISE_STUDENT_T] = "student_t",
    [LR_NOISE_ROW_CORRELATED] = "row_correlated",
};
static const char *const x_kind_names[] = {
    [LR_X_GAUSSIAN] = "gaussian",
    [LR_X_LOWRANK] = "lowrank",
    [LR_X_SPECTRUM] = "spectrum",
};
static const char *const tail_kind_names[] = {
    [LR_TAIL_NONE] = "none", [LR_TAIL_POWER] = "power", [LR_TAIL_EXP] = "exp",
    [LR_TAIL_FLOOR] = "floor", [LR_TAIL_FILE] = "file",
};

#define NAMES_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int parse_name(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (!strcmp(names[i], name)) return (int)i;
    return -1;
}

int lr_noise_kind_parse(const char *name) { return parse_name(noise_kind_names, NAMES_LEN(noise_kind_names), name); }
int lr_x_kind_parse(const char *name) { return parse_name(x_kind_names, NAMES_LEN(x_kind_names), name); }
int lr_tail_kind_parse(const char *name) { return parse_name(tail_kind_names, NAMES_LEN(tail_kind_names), name); }

const char *lr_noise_kind_name_at(size_t i) { return i < NAMES_LEN(noise_kind_names) ? noise_kind_names[i] : NULL; }
const char *lr_x_kind_name_at(size_t i) { return i < NAMES_LEN(x_kind_names) ? x_kind_names[i] : NULL; }
const char *lr_tail_kind_name_at(size_t i) { return i < NAMES_LEN(tail_kind_names) ? tail_kind_names[i] : NULL; }

static void fill_gaussian(gsl_rng *r, lr_mat A, double sd)
{
    for (size_t j = 0; j < A.cols; j++)
        for (size_t i = 0; i < A.rows; i++) LR_AT(A, i, j) = gsl_ran_gaussian_ziggurat(r, sd);
}

int lr_gen_noise(gsl_rng *r, lr_mat A, lr_noise_kind kind, double sigma, double df)
{
    if (!(sigma >= 0.0)) LR_ERRORF(LR_EINVAL, "noise sigma = %g must be >= 0", sigma);
    switch (kind) {
    case LR_NOISE_GAUSSIAN:
        fill_gaussian(r, A, sigma);
        return LR_OK;
    case LR_NOISE_RADEMACHER:
        for (size_t j = 0; j < A.cols; j++)
            for (size_t i = 0; i < A.rows; i++)
                LR_AT(A, i, j) = (gsl_rng_get(r) & 1u) ? sigma : -sigma;
        return LR_OK;
    case LR_NOISE_STUDENT_T: {
        if (!(df > 2.0))
            LR_ERRORF(LR_EINVAL, "Student t noise needs df > 2 for a finite variance, got %g", df);
        double scale = sigma * sqrt((df - 2.0) / df);
        for (size_t j = 0; j < A.cols; j++)
            for (size_t i = 0; i < A.rows; i++) LR_AT(A, i, j) = scale * gsl_ran_tdist(r, df);
        return LR_OK;
    }
    case LR_NOISE_ROW_CORRELATED:
        LR_ERROR(LR_EINVAL, "row-correlated noise needs its correlation: use lr_gen_noise_rows");
    }
    LR_ERRORF(LR_EINVAL, "unknown noise kind %d", (int)kind);
}

/* dgeqrf's and dorgqr's own workspace queries, the larger of the two.  Both answer k times
 * their block size, whatever the number of rows, so the scratch sized for the taller of
 * lr_gen_with_spectrum's two frames serves the other. */
static size_t orthonormal_lwork(size_t n, size_t k)
{
    size_t a = lr_geqrf_lwork(n, k), b = lr_orgqr_lwork(n, k, k);
    return a > b ? a : b;
}

/* tau[k], the signs of diag(R) [k], then the QR workspace. */
size_t lr_gen_orthonormal_scratch(size_t n, size_t k) { return 2 * k + orthonormal_lwork(n, k); }

int lr_gen_orthonormal(gsl_rng *r, lr_mat Q, double *scratch)
{
    size_t n = Q.rows, k = Q.cols;
    if (k > n) LR_ERRORF(LR_EINVAL, "orthonormal frame %zux%zu: needs k <= n", n, k);
    if (k == 0) return LR_OK;
    fill_gaussian(r, Q, 1.0);
    double *tau = scratch, *signs = scratch + k, *work = scratch + 2 * k;
    size_t lwork = orthonormal_lwork(n, k);
    LR_TRY(lr_geqrf(Q, tau, work, lwork));
    /* Keep the signs of diag(R) before dorgqr overwrites R, so Q diag(sign R) is Haar. */
    for (size_t j = 0; j < k; j++) signs[j] = LR_AT(Q, j, j) < 0 ? -1.0 : 1.0;
    LR_TRY(lr_orgqr(Q, k, tau, work, lwork));
    lr_mat_scale_cols(Q, signs);
    return LR_OK;
}

size_t lr_gen_with_spectrum_scratch(size_t m, size_t n, size_t k)
{
    size_t o = lr_gen_orthonormal_scratch(m > n ? m : n, k);
    return m * k + n * k + o;
}

int lr_gen_with_spectrum(gsl_rng *r, lr_mat A, const double *s, size_t k, double *scratch)
{
    size_t m = A.rows, n = A.cols;
    if (k > m || k > n) LR_ERRORF(LR_EINVAL, "spectrum of length %zu for a %zux%zu matrix", k, m, n);
    if (k == 0) {
        lr_mat_set_zero(A);
        return LR_OK;
    }
    lr_mat U = lr_mat_wrap(scratch, m, k), V = lr_mat_wrap(scratch + m * k, n, k);
    double *rest = scratch + m * k + n * k;
    LR_TRY(lr_gen_orthonormal(r, U, rest));
    LR_TRY(lr_gen_orthonormal(r, V, rest));
    lr_mat_scale_cols(U, s);
    return lr_gemm('N', 'T', 1.0, U, V, 0.0, A);
}

void lr_spectrum_geometric(double *s, size_t k, double top, double cond)
{
    for (size_t i = 0; i < k; i++)
        s[i] = k == 1 ? top : top * pow(cond, -(double)i / (double)(k - 1));
}

size_t lr_gen_x_scratch(size_t m, size_t n0, size_t q)
{
    size_t a = m * q + q * n0;
    size_t b = lr_gen_with_spectrum_scratch(m, n0, q) + q;
    return a > b ? a : b;
}

int lr_gen_x(gsl_rng *r, lr_mat X, lr_x_kind kind, size_t q, double cond, double *scratch)
{
    size_t m = X.rows, n0 = X.cols, full = m < n0 ? m : n0;
    switch (kind) {
    case LR_X_GAUSSIAN:
        fill_gaussian(r, X, 1.0);
        return LR_OK;
    case LR_X_LOWRANK: {
        if (q < 1 || q > full) LR_ERRORF(LR_EINVAL, "rank q = %zu of X outside [1, %zu]", q, full);
        lr_mat A = lr_mat_wrap(scratch, m, q), B = lr_mat_wrap(scratch + m * q, q, n0);
        fill_gaussian(r, A, 1.0);
        fill_gaussian(r, B, 1.0);
        return lr_gemm('N', 'N', 1.0 / sqrt((double)q), A, B, 0.0, X);
    }
    case LR_X_SPECTRUM: {
        if (q < 1 || q > full) LR_ERRORF(LR_EINVAL, "rank q = %zu of X outside [1, %zu]", q, full);
        double *s = scratch;
        lr_spectrum_geometric(s, q, sqrt((double)m), cond);
        return lr_gen_with_spectrum(r, X, s, q, scratch + q);
    }
    }
    LR_ERRORF(LR_EINVAL, "unknown X kind %d", (int)kind);
}

/* ---- issue 3 ---- */

int lr_gen_noise_rows(gsl_rng *r, lr_mat A, double sigma, double rho)
{
    if (!(sigma >= 0.0)) LR_ERRORF(LR_EINVAL, "noise sigma = %g must be >= 0", sigma);
    if (!(rho > -1.0 && rho < 1.0)) LR_ERRORF(LR_EINVAL, "row correlation rho = %g outside (-1, 1)", rho);
    double innov = sqrt(1.0 - rho * rho);
    /* Column by column, so the draw order matches the column-major storage. */
    for (size_t j = 0; j < A.cols; j++) {
        double g = 0.0;
        for (size_t i = 0; i < A.rows; i++) {
            double z = gsl_ran_gaussian_ziggurat(r, 1.0);
            g = i == 0 ? z : rho * g + innov * z;
            LR_AT(A, i, j) = sigma * g;
        }
    }
    return LR_OK;
}

int lr_spectrum_with_tail(double *s, size_t n, size_t r, double top, double cond,
                          lr_tail_kind kind, double alpha, double beta, double level,
                          const double *v, size_t nv)
{
    if (r > n) LR_ERRORF(LR_EINVAL, "spectrum head r = %zu longer than the spectrum (%zu)", r, n);
    lr_spectrum_geometric(s, r, top, cond);
    if (kind == LR_TAIL_FILE && (!v || nv <= r || !(v[r] > 0.0)))
        LR_ERRORF(LR_EINVAL, "a measured spectrum of %zu values has no positive tail past rank %zu", nv, r);
    for (size_t i = 1; r + i - 1 < n; i++) {
        double g = 0.0;
        switch (kind) {
        case LR_TAIL_NONE: g = 0.0; break;
        case LR_TAIL_POWER: g = pow((double)i, -alpha); break;
        case LR_TAIL_EXP: g = exp(-beta * (double)(i - 1)); break;
        case LR_TAIL_FLOOR: g = 1.0; break;
        case LR_TAIL_FILE: g = r + i - 1 < nv ? v[r + i - 1] / v[r] : 0.0; break;
        }
        s[r + i - 1] = level * top * g;
    }
    return LR_OK;
}

size_t lr_gen_annihilated_scratch(size_t n0, size_t n1, size_t q) { return q * n1; }

int lr_gen_annihilated(gsl_rng *r, lr_mat N, lr_mat Vx, double fro, double *scratch)
{
    size_t n0 = N.rows, n1 = N.cols, q = Vx.cols;
    if (Vx.rows != n0) LR_ERRORF(LR_EINVAL, "annihilated component: Vx has %zu rows, N %zu", Vx.rows, n0);
    if (q >= n0)
        LR_ERRORF(LR_EINVAL, "X~ has full column rank (q = N0 = %zu): no component is annihilated", n0);
    fill_gaussian(r, N, 1.0);
    /* N <- (I - Vx Vx^T) N, twice: one pass of classical Gram-Schmidt leaves a residue of
     * order eps * ||N|| in range(Vx); the second pass removes it. */
    lr_mat T = lr_mat_wrap(scratch, q, n1);
    for (int pass = 0; pass < 2; pass++) {
        LR_TRY(lr_gemm('T', 'N', 1.0, Vx, N, 0.0, T));
        LR_TRY(lr_gemm('N', 'N', -1.0, Vx, T, 1.0, N));
    }
    double nf = lr_mat_norm_fro(N);
    if (!(nf > 0.0)) LR_ERROR(LR_ENUMERIC, "annihilated component vanished after projection");
    for (size_t j = 0; j < n1; j++)
        for (size_t i = 0; i < n0; i++) LR_AT(N, i, j) *= fro / nf;
    return LR_OK;
}

/* ---- issue 12: layers of synthetic networks (ALDS) ---- */

size_t lr_gen_power_layer_scratch(size_t n0, size_t n1)
{
    size_t k = n0 < n1 ? n0 : n1;
    return lr_gen_with_spectrum_scratch(n0, n1, k) + k;
}

int lr_gen_power_layer(gsl_rng *r, lr_mat W, double decay, double noise, double *scratch)
{
    size_t n0 = W.rows, n1 = W.cols, k = n0 < n1 ? n0 : n1;
    if (!(decay >= 0) || !(noise >= 0) || !isfinite(decay) || !isfinite(noise))
        LR_ERRORF(LR_EINVAL, "power layer: decay %g and noise %g must be finite and >= 0", decay, noise);
    double *s = scratch, *rest = scratch + k;
    for (size_t i = 0; i < k; i++) s[i] = pow((double)(i + 1), -decay);
    LR_TRY(lr_gen_with_spectrum(r, W, s, k, rest));
    if (noise > 0) {
        /* A Gaussian n0 x n1 matrix has operator norm close to sqrt(n0) + sqrt(n1). */
        double scale = noise / (sqrt((double)n0) + sqrt((double)n1));
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < n0; i++) LR_AT(W, i, j) += scale * gsl_ran_gaussian_ziggurat(r, 1.0);
    }
    return LR_OK;
}
