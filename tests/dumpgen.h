/* Small layer dumps written with the HDF5 C API, good and deliberately broken, for the
 * reader's tests (unit tests and the end-to-end tests through tests/mkdump). */
#ifndef LR_TESTS_DUMPGEN_H
#define LR_TESTS_DUMPGEN_H

typedef enum {
    LR_DUMPGEN_GOOD,        /* two linear layers (6 -> 5 -> 3), ReLU between, /inputs */
    LR_DUMPGEN_TRUNCATED,   /* layer 001: X has one row fewer than Y */
    LR_DUMPGEN_WRONG_SHAPE, /* layer 001: W is [N1, N0 + 1] */
    LR_DUMPGEN_NAN,         /* layer 000: a NaN in Y */
    LR_DUMPGEN_VERSION,     /* format_version = 2 */
    LR_DUMPGEN_MISMATCH,    /* layer 001: Y != X W^T + b */
    LR_DUMPGEN_MISSING,     /* layer 000: no dataset Y */
    LR_DUMPGEN_CUT,         /* a good file cut short on disk */
    LR_DUMPGEN_BAD_OP,      /* layer 000: post "relu,softmax" (no such op) */
    /* The good network with another activation between its layers: */
    LR_DUMPGEN_TANH,        /* post "tanh" */
    LR_DUMPGEN_SIGMOID,     /* post "sigmoid" */
    LR_DUMPGEN_GELU,        /* post "gelu" (erf form) */
    LR_DUMPGEN_GELU_TANH,   /* post "gelu_tanh" */
    LR_DUMPGEN_LEAKY_RELU,  /* post "leaky_relu(0.2)" */
    /* Issue 11: what the reader used to take silently or explain wrongly. */
    LR_DUMPGEN_NLAYERS_SHORT,  /* nlayers = 1 with two layer groups */
    LR_DUMPGEN_ROWS_TOTAL_ZERO,/* layer 000: rows_total = 0 */
    LR_DUMPGEN_VERSION_STRING, /* format_version = "1", a string */
    LR_DUMPGEN_LABEL_REAL,     /* a label 1.5 */
    LR_DUMPGEN_LABEL_RANGE,    /* a label 7 for a network of 3 outputs */
    LR_DUMPGEN_ROWS_UNSORTED,  /* layer 000: a 'rows' dataset that decreases */
    LR_DUMPGEN_VLEN_STRINGS,   /* good, with variable-length string attributes (h5py's default) */
    LR_DUMPGEN_CHUNKED,        /* good, with chunked, shuffled, gzip-compressed datasets */
    LR_DUMPGEN_UNWRITTEN,      /* layer 000: X and Y declare 10^9 rows and were never written */
    LR_DUMPGEN_POOL_LINEAR,    /* layer 000 (linear): post "relu,maxpool2d(2,2)" */
    /* Issue 14: layer normalisation and grouped convs. */
    LR_DUMPGEN_LAYERNORM,      /* post "layernorm(1e-05),gelu", post0_weight and post0_bias */
    LR_DUMPGEN_LAYERNORM_PLAIN,/* post "gelu,layernorm(0.001)", no affine (w = 1, b = 0) */
    LR_DUMPGEN_LN_WEIGHT_LEN,  /* layernorm: post0_weight has 4 values for 5 activations */
    LR_DUMPGEN_LN_BIAS_ONLY,   /* layernorm: post0_bias without post0_weight */
    LR_DUMPGEN_LN_STRAY,       /* post "gelu" with a post0_weight */
    LR_DUMPGEN_GROUPED,        /* conv(4 -> 6, 3x3, pad 1, groups 2) relu flatten, linear(96 -> 3) */
    LR_DUMPGEN_GROUPED_OFFBLOCK, /* grouped: W[0, 20] != 0 (output group 0, input group 1) */
    LR_DUMPGEN_GROUPED_INDIVISIBLE, /* grouped: attribute groups = 4 (6 output channels) */
    LR_DUMPGEN_NKINDS
} lr_dumpgen_kind;

/* The file name (without .h5) tests/mkdump gives each kind. */
extern const char *const lr_dumpgen_names[LR_DUMPGEN_NKINDS];

/* Write a dump of that kind to path; returns 0 on success. */
int lr_dumpgen_write(const char *path, lr_dumpgen_kind kind);

#endif
