/* The compressors lrlab knows: the one list from which the registry follows.
 *
 * Each line names a compressor by the suffix of its `const lr_compressor lr_compressor_<name>`
 * (defined in src/compress/<file>.c).  Including this file with LR_COMPRESSOR defined
 * expands the list: compress.h declares the externs from it, registry.c builds the
 * lr_compressors[] array, and everything else that lists compressors (the config schema's
 * accepted names, `lrlab list`, the contract tests) walks that array.  Adding a compressor
 * is its file, its line here and its entry in Makefile.am's sources.  The order is the
 * order of `lrlab list`. */
#ifndef LR_COMPRESSOR
#error "define LR_COMPRESSOR(name) before including compress/list.h"
#endif

LR_COMPRESSOR(svd_w)
LR_COMPRESSOR(dd_rank)
LR_COMPRESSOR(dd_svt)
LR_COMPRESSOR(dd_nuc)
LR_COMPRESSOR(relu_cvx)
LR_COMPRESSOR(relu_cvx_sq)
LR_COMPRESSOR(relu_naive)
LR_COMPRESSOR(whiten)
LR_COMPRESSOR(act_scaled)
LR_COMPRESSOR(rsvd_w)
