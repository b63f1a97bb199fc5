/* Statistics used by the summaries: quantiles, binomial (Wilson) intervals and
 * least-squares log-log slopes with t-based confidence intervals, all through GSL. */
#ifndef LR_CORE_STATS_H
#define LR_CORE_STATS_H

#include <stddef.h>

/* Wilson score interval for k successes in n trials at confidence `level` (e.g. 0.95). */
void lr_wilson_interval(size_t k, size_t n, double level, double *lo, double *hi);

/* Sorts x in place; returns the quantile p in [0, 1] (GSL's linear interpolation). */
double lr_quantile_sorted(const double *x, size_t n, double p);
void lr_sort(double *x, size_t n);

typedef struct lr_fit {
    double slope, intercept;
    double slope_lo, slope_hi; /* confidence interval of the slope */
    double r2;
    size_t n;
} lr_fit;

/* Fit log(y) = a + b log(x) over the pairs with x > 0 and y > 0 (others are skipped), by
 * least squares; the slope's interval is a t interval with the heteroscedasticity-
 * consistent (HC3) standard error.  Returns LR_EINVAL when fewer than 3 usable pairs or
 * fewer than 2 distinct x. */
int lr_fit_loglog(const double *x, const double *y, size_t n, double level, lr_fit *fit);

/* Factor by which a two-sided t interval at `level` (dof degrees of freedom) widens to the
 * Bonferroni family-wise level over `groups` intervals: each at 1 - (1 - level) / groups,
 * so that all contain their true values with probability >= level.  1 for one group. */
double lr_bonferroni_widen(double level, size_t groups, double dof);

#endif
