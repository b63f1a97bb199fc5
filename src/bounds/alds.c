/* ALDS: the bounds on a channel-grouped truncated SVD's relative operator-norm error
 * (Liebenwein, Maalouf, Gal, Feldman, Rus, NeurIPS 2021; docs/theory.md section 4).
 *
 * W (N0 x N1) split into k groups of whole input channels, W = [W_1; ...; W_k], each
 * replaced by its best rank-j approximation: W^ = [[W_1]_j; ...; [W_k]_j].  With
 * alpha_{i,j+1} the (j+1)-th singular value of W_i and alpha_1 = ||W||_2, the error
 * eps = ||W^ - W||_2 / ||W||_2 (LR_OBS_ERR_OP_REL) satisfies, always,
 *   alds_lower   max_i alpha_{i,j+1} / alpha_1 <= eps                       (a LOWER bound)
 *   alds_l2      eps <= (sum_i alpha_{i,j+1}^2)^{1/2} / alpha_1
 *   alds_sqrtk   eps <= sqrt(k) max_i alpha_{i,j+1} / alpha_1                 (the published one)
 * Why: ||W_i - [W_i]_j||_2 = alpha_{i,j+1} (Eckart-Young-Mirsky), a row block's norm is at
 * most the whole matrix's, and ||E v||^2 = sum_i ||E_i v||^2 (src/compress/grouped.c has
 * the details and computes all three, the true eps and the factors).  The authors' code
 * ranks choices by the lower bound; the paper states the sqrt(k) one.  No constants.
 *
 * Inputs: lr_bound_input.ngroups = k, alpha_next[i] = alpha_{i+1,j+1} (0 at full rank),
 * alpha1 = ||W||_2 (lr_alds_alpha_next and lr_alds_norm give them).  A caller that leaves
 * them zero / NULL (every experiment but ALDS's) gets NAN: not applicable.  The observed
 * quantity is a ratio of norms, so the scale of the check (lr_bound_check) is 1: W^ and W,
 * whose difference it measures, have norm ~ ||W||, which is 1 in its units.
 * The compressor named is "alds", the estimator these bounds are about; it is not (yet) a
 * registered compressor: recovery and real_layers never evaluate these bounds
 * (lr_run_use_bounds refuses a bound on err_op_rel, which their rows do not record). */
#include <math.h>

#include "bounds.h"
#include "compress/grouped.h"

static double alds_value(const lr_bound_input *in, lr_alds_bound_kind which)
{
    if (in->ngroups == 0 || !in->alpha_next || !(in->alpha1 > 0)) return NAN;
    return lr_alds_bound_of(which, in->alpha_next, in->ngroups, in->alpha1);
}

static double alds_lower_value(const lr_bound_input *in, const lr_bound_params *p)
{
    (void)p;
    return alds_value(in, LR_ALDS_LOWER);
}

static double alds_l2_value(const lr_bound_input *in, const lr_bound_params *p)
{
    (void)p;
    return alds_value(in, LR_ALDS_L2);
}

static double alds_sqrtk_value(const lr_bound_input *in, const lr_bound_params *p)
{
    (void)p;
    return alds_value(in, LR_ALDS_SQRTK);
}

#define ALDS_THEOREM "ALDS (Liebenwein et al. 2021), Eckart-Young-Mirsky per group"

const lr_bound lr_bound_alds_lower = {
    .name = "alds_lower",
    .theorem = ALDS_THEOREM,
    .statement = "||W^ - W||_2 / ||W||_2 >= max_i alpha_{i,j+1} / alpha_1, W^ = [[W_1]_j; ...; [W_k]_j] "
                 "(k input-channel groups, alpha_{i,t} the singular values of W_i, alpha_1 = ||W||_2)",
    .kind = LR_BOUND_ALWAYS,
    .compressor = "alds",
    .observed = LR_OBS_ERR_OP_REL,
    .direction = LR_BOUND_LOWER,
    .value = alds_lower_value};
const lr_bound lr_bound_alds_l2 = {
    .name = "alds_l2",
    .theorem = ALDS_THEOREM,
    .statement = "||W^ - W||_2 / ||W||_2 <= (sum_i alpha_{i,j+1}^2)^{1/2} / alpha_1",
    .kind = LR_BOUND_ALWAYS,
    .compressor = "alds",
    .observed = LR_OBS_ERR_OP_REL,
    .value = alds_l2_value};
const lr_bound lr_bound_alds_sqrtk = {
    .name = "alds_sqrtk",
    .theorem = ALDS_THEOREM,
    .statement = "||W^ - W||_2 / ||W||_2 <= sqrt(k) max_i alpha_{i,j+1} / alpha_1 (the published bound)",
    .kind = LR_BOUND_ALWAYS,
    .compressor = "alds",
    .observed = LR_OBS_ERR_OP_REL,
    .value = alds_sqrtk_value};
