#include "stats.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>

#include "error.h"
#include "mat.h"

void lr_wilson_interval(size_t k, size_t n, double level, double *lo, double *hi)
{
    if (n == 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    double z = gsl_cdf_ugaussian_Pinv(0.5 + level / 2.0);
    double p = (double)k / (double)n, nn = (double)n, z2 = z * z;
    double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
    double half = z * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
    *lo = fmax(0.0, centre - half);
    *hi = fmin(1.0, centre + half);
    if (k == 0) *lo = 0.0;
    if (k == n) *hi = 1.0;
}

void lr_sort(double *x, size_t n) { gsl_sort(x, 1, n); }

double lr_quantile_sorted(const double *x, size_t n, double p)
{
    if (n == 0) return NAN;
    return gsl_stats_quantile_from_sorted_data(x, 1, n, p);
}

int lr_fit_loglog(const double *x, const double *y, size_t n, double level, lr_fit *fit)
{
    double *lx = lr_malloc(n * sizeof(double) + 8), *ly = lr_malloc(n * sizeof(double) + 8);
    if (!lx || !ly) {
        lr_free(lx);
        lr_free(ly);
        LR_ERROR(LR_ENOMEM, "lr_fit_loglog: out of memory");
    }
    size_t used = 0;
    double xmin = INFINITY, xmax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] > 0.0) || !(y[i] > 0.0) || !isfinite(x[i]) || !isfinite(y[i])) continue;
        lx[used] = log(x[i]);
        ly[used] = log(y[i]);
        xmin = fmin(xmin, lx[used]);
        xmax = fmax(xmax, lx[used]);
        used++;
    }
    fit->n = used;
    if (used < 3 || !(xmax > xmin)) {
        lr_free(lx);
        lr_free(ly);
        fit->slope = fit->intercept = fit->slope_lo = fit->slope_hi = fit->r2 = NAN;
        LR_ERROR(LR_EINVAL, "lr_fit_loglog: fewer than 3 points or a single x value");
    }
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(lx, 1, ly, 1, used, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    /* A heteroscedasticity-consistent (sandwich) standard error, HC3 (MacKinnon and White
     * 1985; Long and Ervin 2000 recommend it for small samples): the scatter of log err is
     * rarely the same along an axis (at high SNR its variance goes as 1 / (r (q + N1))), and
     * the textbook OLS error, which assumes it is, is too small when the noisier points sit
     * at the ends of the axis (by 8% for four values of q + N1 a factor 2 apart). */
    double xbar = gsl_stats_mean(lx, 1, used), sxx = 0.0, meat = 0.0;
    for (size_t i = 0; i < used; i++) sxx += (lx[i] - xbar) * (lx[i] - xbar);
    for (size_t i = 0; i < used; i++) {
        double dx = lx[i] - xbar, e = ly[i] - c0 - c1 * lx[i];
        double h = 1.0 / (double)used + dx * dx / sxx; /* leverage */
        if (1.0 - h > 1e-12) meat += dx * dx * e * e / ((1.0 - h) * (1.0 - h));
    }
    (void)cov11;
    double tq = gsl_cdf_tdist_Pinv(0.5 + level / 2.0, (double)(used - 2));
    double se = sqrt(meat) / sxx;
    double tss = gsl_stats_tss(ly, 1, used);
    fit->slope = c1;
    fit->intercept = c0;
    fit->slope_lo = c1 - tq * se;
    fit->slope_hi = c1 + tq * se;
    fit->r2 = tss > 0 ? 1.0 - sumsq / tss : 1.0;
    lr_free(lx);
    lr_free(ly);
    return LR_OK;
}

double lr_bonferroni_widen(double level, size_t groups, double dof)
{
    double a = (1 - level) / 2;
    return gsl_cdf_tdist_Pinv(1 - a / (double)(groups ? groups : 1), dof) / gsl_cdf_tdist_Pinv(1 - a, dof);
}
