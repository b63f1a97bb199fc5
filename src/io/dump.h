/* Layer dumps: the HDF5 files that bring real networks' layers into lrlab.
 *
 * Format "lrlab.layers", version 1 (data/README.md has the full description):
 *   /                 attributes format = "lrlab.layers", format_version = 1, nlayers,
 *                     network = "sequential" | "layers", free-form provenance
 *   /layers/NNN       one group per layer call in forward order (NNN = 000, 001, ...):
 *       W [N1, N0]    PyTorch's weight layout (conv weights as [C_out, C_in*kh*kw])
 *       b [N1]        optional bias
 *       X [m, N0]     the layer's inputs, one row per sample (conv: im2col rows, in
 *                     torch.nn.functional.unfold's column order)
 *       Y [m, N1]     pre-activations, Y = X W^T + b
 *       rows [m]      optional int64: which rows of the full activation matrix X and Y
 *                     hold, when the dump kept a subsample (conv: sample * L + position)
 *       attributes    kind = "linear" | "conv2d", module, index, rows_total; conv2d:
 *                     kernel[2], stride[2], padding[2], dilation[2], in_shape[3],
 *                     out_shape[3], optional groups (W block-diagonal, zero outside the
 *                     groups' blocks); sequential networks: post (ops after the layer)
 *       postP_weight, postP_bias [D]  optional: the parameters of post op P (0-based
 *                     position in `post`), e.g. a layernorm's elementwise affine
 *   /inputs           optional: x [n, ...] raw inputs, labels [n] int64, attributes
 *                     n_calib (the first n_calib inputs produced the layers' X and Y; the
 *                     rest are held-out test samples) and test_accuracy
 * Datasets may be float32 or float64 on disk; lrlab reads doubles.
 *
 * In lrlab's notation (docs/theory.md section 1) the layer maps X (m x N0) to Y = X W with W
 * (N0 x N1): PyTorch's [N1, N0] row-major weight read column-major is exactly W.
 *
 * The reader validates as it goes: lr_dump_open checks the format, the version, that
 * every required dataset exists and that all shapes agree; lr_dump_check streams X and Y
 * in row blocks (so m may exceed memory) and checks that every value is finite and that
 * ||Y - X W - 1 b^T||_F <= rtol ||Y||_F.  Each failure is one message naming the file,
 * the layer and the dataset. */
#ifndef LR_IO_DUMP_H
#define LR_IO_DUMP_H

#include <hdf5.h>
#include <stddef.h>

#include "core/mat.h"

#define LR_DUMP_FORMAT "lrlab.layers"
#define LR_DUMP_VERSION 1

typedef enum { LR_LAYER_LINEAR = 0, LR_LAYER_CONV2D = 1 } lr_layer_kind;

/* At most this many ops in a layer's `post` attribute; datasets postP_weight and
 * postP_bias are looked for at P < LR_DUMP_MAX_POST. */
#define LR_DUMP_MAX_POST 8

typedef struct lr_dump_layer {
    char group[32];    /* "000" */
    char module[256];  /* PyTorch module name */
    char post[256];    /* ops after the layer (sequential networks), e.g. "relu,maxpool2d(2,2)" */
    int has_post;
    lr_layer_kind kind;
    size_t n0, n1, m;  /* W is N0 x N1; X is m x N0 */
    size_t rows_total; /* rows of the full activation matrix (m if not subsampled) */
    int has_bias, has_rows;
    long kernel[2], stride[2], padding[2], dilation[2];
    long in_shape[3], out_shape[3]; /* C, H, W */
    long groups; /* conv2d: channel groups (1 if the attribute is absent); W is block-diagonal */
    /* Datasets postP_weight / postP_bias: bit P set when present, with their lengths. */
    unsigned post_weight, post_bias;
    size_t post_weight_len[LR_DUMP_MAX_POST], post_bias_len[LR_DUMP_MAX_POST];
} lr_dump_layer;

typedef struct lr_dump {
    char path[4096];
    hid_t file;
    unsigned long long file_bytes; /* the file's size: what its datasets may declare is capped by it */
    long version;
    int sequential; /* network = "sequential": the post ops describe the whole network */
    size_t nlayers;
    lr_dump_layer *layers;
    /* /inputs */
    int has_inputs, has_labels;
    size_t n_inputs, n_calib, input_dim; /* input_dim = product of the per-sample shape */
    int input_rank;                      /* dimensions per sample */
    size_t input_shape[3];
    double test_accuracy; /* NAN if not recorded */
} lr_dump;

/* Open and validate the structure (no bulk data read).  On failure returns LR_EIO or
 * LR_EDATA with a message such as
 *   "d.h5: layer 001 (fc2): dataset 'X' has 511 rows but 'Y' has 512". */
int lr_dump_open(const char *path, lr_dump **out);

/* lr_dump_open first reads the whole file in a child process (src/io/dump_probe.c), so
 * that a damaged file that crashes, hangs or exhausts HDF5 is refused instead: the child
 * is killed after LR_DUMP_PROBE_IDLE seconds without progress and may use
 * LR_DUMP_PROBE_MEMORY bytes of address space beyond the parent's.  idle_seconds = 0
 * turns the probe off. */
#define LR_DUMP_PROBE_IDLE 30.0
#define LR_DUMP_PROBE_MEMORY ((size_t)2 << 30)
void lr_dump_set_probe(double idle_seconds, size_t memory_bytes);
void lr_dump_close(lr_dump *d);

/* W (N0 x N1 lr_mat) and b (N1 doubles, zeros if the layer has none; may be NULL). */
int lr_dump_read_weights(const lr_dump *d, size_t layer, lr_mat W, double *b);
/* Rows [row0, row0 + out.rows) of dataset "X" or "Y" of a layer into out (rows x cols). */
int lr_dump_read_rows(const lr_dump *d, size_t layer, const char *which, size_t row0, lr_mat out);
/* The `rows` index of a subsampled layer (m values); identity if absent. */
int lr_dump_read_row_index(const lr_dump *d, size_t layer, long long *rows);
/* Dataset postP_weight (which = "weight") or postP_bias ("bias") of a layer: n finite
 * values into out.  LR_EDATA naming the file, layer and dataset when it is absent, has
 * another length or holds a non-finite value. */
int lr_dump_read_post_param(const lr_dump *d, size_t layer, size_t op, const char *which, double *out,
                            size_t n);
/* Inputs [first, first + n): x as n x input_dim (row = sample), labels (may be NULL). */
int lr_dump_read_inputs(const lr_dump *d, size_t first, size_t n, lr_mat x, long *labels);

typedef struct lr_dump_check_report {
    double resid_rel; /* ||Y - X W - 1 b^T||_F / ||Y||_F */
    double y_norm;
} lr_dump_check_report;

/* Stream a layer's X and Y in blocks of block_rows and check values and Y = XW + b (and,
 * for a grouped conv, that W is zero outside its groups' diagonal blocks). */
int lr_dump_check_layer(const lr_dump *d, size_t layer, double rtol, size_t block_rows,
                        lr_dump_check_report *rep);

/* A short name for messages: "layer 001 (fc2)". */
const char *lr_dump_layer_label(const lr_dump *d, size_t layer, char *buf, size_t len);

/* The file the config key `key` names: as given (absolute, or found from the working
 * directory), else next to the config file or in one of its ancestors.  A config error
 * naming the key when there is none, or when it is not a regular file. */
struct lr_config;
int lr_dump_resolve(const struct lr_config *c, const char *key, char *out, size_t len);
/* The SHA-256 of a file, 64 hex digits and a NUL into out (all zero digits' digest of
 * nothing if it cannot be read). */
void lr_file_sha256(const char *path, char *out);

#endif
