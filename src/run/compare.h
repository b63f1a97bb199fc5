/* What `lrlab compare` computes, apart from its printing (cli/cmd_compare.c): the interval of
 * a median, and a resolved config flattened into key = value lines for a diff. */
#ifndef LR_RUN_COMPARE_H
#define LR_RUN_COMPARE_H

#include <stddef.h>

/* The distribution-free interval of the median of n sorted values at confidence `level`
 * (e.g. 0.95): [x_(j), x_(n+1-j)] with j the largest rank such that P(B <= j - 1) <=
 * (1 - level) / 2 for B ~ Binomial(n, 1/2) (the order statistics' interval: it holds the
 * population median with probability >= level whatever the distribution).  When n is too
 * small for any such j (n < 6 at 95%), the whole range [x_(1), x_(n)]; NaN for n = 0. */
void lr_median_interval(const double *sorted, size_t n, double level, double *lo, double *hi);

/* A libconfig text (a results file's resolved config) as one line per scalar or list
 * setting: key "problem.noise.sigma", value "{ geom = [0.001, 0.1, 4.0] }"-like text with
 * reals printed with the fewest digits that read back exactly.  An axis group
 * ({ geom = ...; zip = ...; }) and a list are values, not groups: each is one line. */
typedef struct lr_flat_config {
    size_t n;
    char **key, **val;
} lr_flat_config;

/* Parse `text` (named `name` in messages); LR_EDATA with the line of a syntax error. */
int lr_config_flatten(const char *text, const char *name, lr_flat_config *out);
void lr_flat_config_free(lr_flat_config *f);
/* The value text of `key`, or NULL. */
const char *lr_flat_config_get(const lr_flat_config *f, const char *key);

#endif
