/* l_q soft sparsity: the truncation bounds and the one-hidden-layer degradation bound
 * (Wang, Ding, Yang, Yang, "A Theoretical Understanding of Neural Network Compression from
 * Sparse Linear Approximation", 2022; docs/theory.md section 7).
 *
 * For 0 < q < 1 and w in R^d with magnitudes a_1 >= a_2 >= ... >= a_d, i a_i^q <= ||w||_q^q,
 * so a_i <= ||w||_q i^{-1/q}, and keeping the k largest (w_[k]), always,
 *   lq_l1       ||w - w_[k]||_1 <= a_k^{1-q} sum_{i>k} a_i^q <= ||w||_q k^{1 - 1/q}
 *   lq_l2       ||w - w_[k]||_2 <= (a_k^{2-q} sum_{i>k} a_i^q)^{1/2} <= ||w||_q k^{1/2 - 1/q}
 * and for f(x) = sum_j a_j sigma(w_j . x), sigma 1-Lipschitz, ||x||_inf <= B, each w_j cut
 * to its k_j largest (f^), by Lipschitz and Hoelder per neuron,
 *   lq_degrade  sup_x |f(x) - f^(x)| <= B sum_j |a_j| ||w_j - w_j[k_j]||_1
 *                                    <= B sum_j |a_j| ||w_j||_q k_j^{1 - 1/q}.
 * No constants.  The norms come in as logs (lr_lq_log_norm), so a bound is exp of a sum
 * of logs and neither overflows before the bound itself does.  The compressor named is
 * "topk", the estimator these bounds are about (keep the largest magnitudes); it is not a
 * registered compressor: only experiment lq evaluates them (lr_run_use_bounds refuses a
 * bound on err_l1, err_l2 or out_change in the other experiments, whose rows do not
 * record them).  The statement of lq_degrade's middle step is lrlab's reconstruction; the
 * paper states the last form. */
#include <math.h>

#include "bounds.h"
#include "compress/lq.h"

static int lq_ok(const lr_bound_input *in) { return in->lq_q > 0 && in->lq_q < 1; }

static double lq_l1_value(const lr_bound_input *in, const lr_bound_params *p)
{
    (void)p;
    return lq_ok(in) ? lr_lq_bound_l1(in->lq_log_norm, in->lq_q, in->k) : NAN;
}

static double lq_l2_value(const lr_bound_input *in, const lr_bound_params *p)
{
    (void)p;
    return lq_ok(in) ? lr_lq_bound_l2(in->lq_log_norm, in->lq_q, in->k) : NAN;
}

static double lq_degrade_value(const lr_bound_input *in, const lr_bound_params *p)
{
    (void)p;
    if (!lq_ok(in) || !in->lq_neurons || !in->lq_a || !in->lq_log_norms || !in->lq_kept || !(in->lq_B >= 0))
        return NAN;
    double sum = 0;
    for (size_t j = 0; j < in->lq_neurons; j++) {
        if (in->lq_a[j] == 0) continue;
        double t = fabs(in->lq_a[j]) * lr_lq_bound_l1(in->lq_log_norms[j], in->lq_q, in->lq_kept[j]);
        sum += isnan(t) ? INFINITY : t; /* k_j = 0: the bound says nothing */
    }
    return in->lq_B * sum;
}

#define LQ_THEOREM "l_q soft sparsity (Wang, Ding, Yang, Yang 2022), a_i <= ||w||_q i^{-1/q}"

const lr_bound lr_bound_lq_l1 = {
    .name = "lq_l1",
    .theorem = LQ_THEOREM,
    .statement = "||w - w_[k]||_1 <= ||w||_q k^{1 - 1/q}, w_[k] the k largest magnitudes of w, 0 < q < 1",
    .kind = LR_BOUND_ALWAYS,
    .compressor = "topk",
    .observed = LR_OBS_ERR_L1,
    .value = lq_l1_value};
const lr_bound lr_bound_lq_l2 = {
    .name = "lq_l2",
    .theorem = LQ_THEOREM,
    .statement = "||w - w_[k]||_2 <= ||w||_q k^{1/2 - 1/q}",
    .kind = LR_BOUND_ALWAYS,
    .compressor = "topk",
    .observed = LR_OBS_ERR_L2,
    .value = lq_l2_value};
const lr_bound lr_bound_lq_degrade = {
    .name = "lq_degrade",
    .theorem = LQ_THEOREM ", 1-Lipschitz activation, ||x||_inf <= B",
    .statement = "sup_x |f(x) - f^(x)| <= B sum_j |a_j| ||w_j||_q k_j^{1 - 1/q}, f = sum_j a_j sigma(w_j . x), "
                 "f^ with each w_j cut to its k_j largest magnitudes",
    .kind = LR_BOUND_ALWAYS,
    .compressor = "topk",
    .observed = LR_OBS_OUT_SUP,
    .value = lq_degrade_value};
