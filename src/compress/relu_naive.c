/* relu_naive: the baseline of Theorem 3's experiment (docs/theory.md section 2): dd_rank applied
 * to the post-activations as if they were pre-activations, Z^ = [P Y+]_k.  It ignores the
 * ReLU: rho(Z*) is not low-rank and E[rho(z + g)] != rho(z), so its error keeps a bias
 * that does not vanish with the noise.  It is the same computation as dd_rank (the layer
 * handed to it holds Y+ in place of Y); the separate name keeps the two apart in results. */
#include "compress.h"

static lr_compressor_plan *relu_naive_plan_alloc(const lr_compressor *c, const lr_layer_shape *max,
                                                  const lr_config *cfg)
{
    lr_compressor_plan *p = lr_compressor_dd_rank.plan_alloc(&lr_compressor_dd_rank, max, cfg);
    if (p) p->comp = c;
    return p;
}

static int relu_naive_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks,
                              size_t nranks, lr_compressed *out, lr_fit_info *info, gsl_rng *rng)
{
    return lr_compressor_dd_rank.execute(p, point, L, ranks, nranks, out, info, rng);
}

const lr_compressor lr_compressor_relu_naive = {
    .name = "relu_naive",
    .description = "ReLU baseline: dd_rank on the post-activations, X~ M = [P Y+]_k",
    .data_driven = 1,
    .keys = NULL, /* dd_rank's, which the registry merges anyway */
    .plan_alloc = relu_naive_plan_alloc,
    .execute = relu_naive_execute,
    .plan_free = lr_compressor_plan_release,
    .nested = 1,
    .roles = LR_ROLE_RELU_BASELINE,
    .optimal = LR_OPTIMAL_RESPONSE,
};
