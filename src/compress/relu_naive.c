/* relu_naive: the baseline of Theorem 3's experiment (THEORY.md section 2): dd_rank applied
 * to the post-activations as if they were pre-activations, Z^ = [P Y+]_k.  It ignores the
 * ReLU: rho(Z*) is not low-rank and E[rho(z + g)] != rho(z), so its error keeps a bias
 * that does not vanish with the noise.  It is the same computation as dd_rank (the layer
 * handed to it holds Y+ in place of Y); the separate name keeps the two apart in results. */
#include "compress.h"

static size_t relu_naive_scratch(size_t m, size_t n0, size_t n1)
{
    return lr_compressor_dd_rank.scratch(m, n0, n1);
}

static int relu_naive_fit(const lr_layer *L, const lr_compress_opts *opts, const size_t *ranks, size_t nranks,
                          lr_factors *out, lr_compress_ws *ws, lr_fit_info *info)
{
    return lr_compressor_dd_rank.fit(L, opts, ranks, nranks, out, ws, info);
}

const lr_compressor lr_compressor_relu_naive = {
    .name = "relu_naive",
    .description = "ReLU baseline: dd_rank on the post-activations, X~ M = [P Y+]_k",
    .data_driven = 1,
    .scratch = relu_naive_scratch,
    .fit = relu_naive_fit,
    .nested = 1,
    .roles = LR_ROLE_RELU_BASELINE,
};
