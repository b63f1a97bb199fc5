/* The list of bounds lrlab knows, and how a bound is checked. */
#include <math.h>
#include <string.h>

#include "bounds.h"

extern const lr_bound lr_bound_thm1a, lr_bound_thm1b, lr_bound_thm1c, lr_bound_thm1d;
extern const lr_bound lr_bound_thm2a, lr_bound_thm2a_p, lr_bound_thm2b, lr_bound_thm2c, lr_bound_thm3;

const lr_bound *const lr_bounds[] = {&lr_bound_thm1a, &lr_bound_thm1b, &lr_bound_thm1c,
                                     &lr_bound_thm1d, &lr_bound_thm2a, &lr_bound_thm2a_p,
                                     &lr_bound_thm2b, &lr_bound_thm2c, &lr_bound_thm3, NULL};

const lr_bound *lr_bound_find(const char *name)
{
    for (size_t i = 0; lr_bounds[i]; i++)
        if (!strcmp(lr_bounds[i]->name, name)) return lr_bounds[i];
    return NULL;
}

double lr_bound_nominal(const lr_bound *b, const lr_bound_params *p)
{
    switch (b->kind) {
    case LR_BOUND_ALWAYS: return 1.0;
    case LR_BOUND_PROBABLE: return 1.0 - exp(-p->t * p->t / 2.0);
    case LR_BOUND_PREDICTION: return NAN;
    }
    return NAN;
}

int lr_bound_check(const lr_bound *b, double value, double observed, const lr_bound_params *p)
{
    if (b->kind == LR_BOUND_PREDICTION || isnan(value) || isnan(observed)) return -1;
    /* Deterministic bounds get a relative slack for rounding; probabilistic ones none. */
    double slack = b->kind == LR_BOUND_ALWAYS ? p->tol : 0.0;
    return observed <= value * (1.0 + slack);
}

const char *lr_bound_kind_name(lr_bound_kind kind)
{
    switch (kind) {
    case LR_BOUND_ALWAYS: return "always";
    case LR_BOUND_PROBABLE: return "with probability";
    case LR_BOUND_PREDICTION: return "prediction";
    }
    return "?";
}

const char *lr_observed_name(lr_observed o)
{
    return o == LR_OBS_ERR_WEIGHT ? "err_weight" : "err_fro";
}
