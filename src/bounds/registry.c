/* The registry of bounds (from bounds/list.h), their declared assumptions, and the one
 * rule by which lrlab checks a bound. */
#include <math.h>
#include <string.h>

#include "bounds.h"

#define LR_BOUND(id) extern const lr_bound lr_bound_##id;
#include "bounds/list.h"
#undef LR_BOUND

const lr_bound *const lr_bounds[] = {
#define LR_BOUND(id) &lr_bound_##id,
#include "bounds/list.h"
#undef LR_BOUND
    NULL};

const lr_bound *lr_bound_find(const char *name)
{
    for (size_t i = 0; name && lr_bounds[i]; i++)
        if (!strcmp(lr_bounds[i]->name, name)) return lr_bounds[i];
    return NULL;
}

const char *lr_bound_name_at(size_t i)
{
    static const size_t n = sizeof lr_bounds / sizeof lr_bounds[0] - 1;
    return i < n ? lr_bounds[i]->name : NULL;
}

unsigned lr_bound_unmet(const lr_bound *b, const lr_bound_input *in)
{
    unsigned unmet = 0;
    if ((b->assumes & LR_ASSUME_GAUSSIAN_NOISE) && !in->gaussian) unmet |= LR_ASSUME_GAUSSIAN_NOISE;
    return unmet;
}

const char *lr_bound_assumptions_text(unsigned flags)
{
    return flags & LR_ASSUME_GAUSSIAN_NOISE ? "i.i.d. Gaussian noise G, entries N(0, sigma^2)" : "";
}

double lr_bound_evaluate(const lr_bound *b, const lr_bound_input *in, const lr_bound_params *p)
{
    if (lr_bound_unmet(b, in) && !p->outside_assumptions) return NAN;
    return b->value(in, p);
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

int lr_bound_check(const lr_bound *b, double value, double observed, double scale,
                   const lr_bound_params *p)
{
    if (b->kind == LR_BOUND_PREDICTION || isnan(value) || isnan(observed)) return -1;
    return b->direction == LR_BOUND_LOWER ? lr_le_tol(value, observed, p->tol, scale)
                                          : lr_le_tol(observed, value, p->tol, scale);
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

const char *lr_bound_direction_name(lr_bound_direction d) { return d == LR_BOUND_LOWER ? "lower" : "upper"; }

const char *lr_observed_name(lr_observed o)
{
    switch (o) {
    case LR_OBS_ERR_FRO: return "err_fro";
    case LR_OBS_ERR_WEIGHT: return "err_weight";
    case LR_OBS_ERR_OP_REL: return "err_op_rel";
    case LR_OBS_ERR_L1: return "err_l1";
    case LR_OBS_ERR_L2: return "err_l2";
    case LR_OBS_OUT_SUP: return "out_change";
    }
    return "?";
}
