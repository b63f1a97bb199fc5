/* Writer of small test dumps (see dumpgen.h).  The good dump is a real two-layer network
 * evaluated in double: X0 random, Y0 = X0 W0^T + b0, X1 = relu(Y0) (or another activation,
 * or a layer normalisation and an activation, by kind), Y1 = X1 W1^T + b1,
 * stored as float64, with /inputs holding the 40 calibration inputs and 20 test inputs
 * whose labels are the network's own argmax (so the dense accuracy is exactly 1). */
#include "dumpgen.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define M 40
#define NT 20
#define D0 6
#define D1 5
#define D2 3

const char *const lr_dumpgen_names[LR_DUMPGEN_NKINDS] = {
    [LR_DUMPGEN_GOOD] = "good",
    [LR_DUMPGEN_TRUNCATED] = "truncated",
    [LR_DUMPGEN_WRONG_SHAPE] = "wrong_shape",
    [LR_DUMPGEN_NAN] = "nan",
    [LR_DUMPGEN_VERSION] = "version",
    [LR_DUMPGEN_MISMATCH] = "mismatch",
    [LR_DUMPGEN_MISSING] = "missing",
    [LR_DUMPGEN_CUT] = "cut",
    [LR_DUMPGEN_BAD_OP] = "bad_op",
    [LR_DUMPGEN_TANH] = "tanh",
    [LR_DUMPGEN_SIGMOID] = "sigmoid",
    [LR_DUMPGEN_GELU] = "gelu",
    [LR_DUMPGEN_GELU_TANH] = "gelu_tanh",
    [LR_DUMPGEN_LEAKY_RELU] = "leaky_relu",
    [LR_DUMPGEN_NLAYERS_SHORT] = "nlayers_short",
    [LR_DUMPGEN_ROWS_TOTAL_ZERO] = "rows_total_zero",
    [LR_DUMPGEN_VERSION_STRING] = "version_string",
    [LR_DUMPGEN_LABEL_REAL] = "label_real",
    [LR_DUMPGEN_LABEL_RANGE] = "label_range",
    [LR_DUMPGEN_ROWS_UNSORTED] = "rows_unsorted",
    [LR_DUMPGEN_VLEN_STRINGS] = "vlen_strings",
    [LR_DUMPGEN_CHUNKED] = "chunked",
    [LR_DUMPGEN_UNWRITTEN] = "unwritten",
    [LR_DUMPGEN_POOL_LINEAR] = "pool_linear",
    [LR_DUMPGEN_LAYERNORM] = "layernorm",
    [LR_DUMPGEN_LAYERNORM_PLAIN] = "layernorm_plain",
    [LR_DUMPGEN_LN_WEIGHT_LEN] = "ln_weight_len",
    [LR_DUMPGEN_LN_BIAS_ONLY] = "ln_bias_only",
    [LR_DUMPGEN_LN_STRAY] = "ln_stray",
    [LR_DUMPGEN_GROUPED] = "grouped",
    [LR_DUMPGEN_GROUPED_OFFBLOCK] = "grouped_offblock",
    [LR_DUMPGEN_GROUPED_INDIVISIBLE] = "grouped_indivisible",
};

/* The activation between the two layers, written here from PyTorch's formulas (libm
 * only: this file is also linked into tests/mkdump, without lrlab's library). */
static const char *post_of(lr_dumpgen_kind kind)
{
    switch (kind) {
    case LR_DUMPGEN_BAD_OP: return "relu,softmax";
    case LR_DUMPGEN_POOL_LINEAR: return "relu,maxpool2d(2,2)";
    case LR_DUMPGEN_TANH: return "tanh";
    case LR_DUMPGEN_SIGMOID: return "sigmoid";
    case LR_DUMPGEN_GELU: return "gelu";
    case LR_DUMPGEN_GELU_TANH: return "gelu_tanh";
    case LR_DUMPGEN_LEAKY_RELU: return "leaky_relu(0.2)";
    case LR_DUMPGEN_LAYERNORM:
    case LR_DUMPGEN_LN_WEIGHT_LEN:
    case LR_DUMPGEN_LN_BIAS_ONLY: return "layernorm(1e-05),gelu";
    case LR_DUMPGEN_LAYERNORM_PLAIN: return "gelu,layernorm(0.001)";
    case LR_DUMPGEN_LN_STRAY: return "gelu";
    default: return "relu";
    }
}

static double activate(lr_dumpgen_kind kind, double x)
{
    switch (kind) {
    case LR_DUMPGEN_TANH: return tanh(x);
    case LR_DUMPGEN_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case LR_DUMPGEN_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case LR_DUMPGEN_GELU_TANH: return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * pow(x, 3))));
    case LR_DUMPGEN_LEAKY_RELU: return x > 0 ? x : 0.2 * x;
    case LR_DUMPGEN_LAYERNORM:
    case LR_DUMPGEN_LAYERNORM_PLAIN:
    case LR_DUMPGEN_LN_WEIGHT_LEN:
    case LR_DUMPGEN_LN_BIAS_ONLY:
    case LR_DUMPGEN_LN_STRAY: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    default: return x > 0 ? x : 0;
    }
}

static int has_layernorm(lr_dumpgen_kind kind)
{
    return kind == LR_DUMPGEN_LAYERNORM || kind == LR_DUMPGEN_LAYERNORM_PLAIN || kind == LR_DUMPGEN_LN_WEIGHT_LEN ||
           kind == LR_DUMPGEN_LN_BIAS_ONLY;
}

/* torch.nn.LayerNorm over the n values of v, in place, as PyTorch writes it: the mean,
 * the biased variance, (v - mean) / sqrt(var + eps) * w + b (w, b may be NULL). */
static void layernorm(double *v, int n, double eps, const double *w, const double *b)
{
    double mu = 0, var = 0;
    for (int i = 0; i < n; i++) mu += v[i];
    mu /= n;
    for (int i = 0; i < n; i++) var += (v[i] - mu) * (v[i] - mu);
    var /= n;
    for (int i = 0; i < n; i++) v[i] = (v[i] - mu) / sqrt(var + eps) * (w ? w[i] : 1.0) + (b ? b[i] : 0.0);
}

static double urand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return ((*s >> 8) & 0xffff) / 65536.0 - 0.5;
}

/* A chunked dataset of r x c float64 values none of which is written: HDF5 stores no
 * chunk, and reading it would give fill values. */
static void put_unwritten(hid_t g, const char *name, hsize_t r, hsize_t c)
{
    hsize_t dims[2] = {r, c}, chunk[2] = {1024, c};
    hid_t sp = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    hid_t ds = H5Dcreate2(g, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
}

/* How the file being written stores things (set from its kind). */
static int chunked, vlen_strings;

static void put(hid_t g, const char *name, const double *v, hsize_t r, hsize_t c)
{
    hsize_t dims[2] = {r, c}, chunk[2] = {r > 16 ? 16 : r, c};
    int rank = c ? 2 : 1;
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (chunked) {
        H5Pset_chunk(dcpl, rank, chunk);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, 4);
    }
    hid_t ds = H5Dcreate2(g, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
}

static void attr_s(hid_t o, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (vlen_strings) {
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
    } else {
        H5Tset_size(t, strlen(v) + 1);
    }
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, vlen_strings ? (const void *)&v : (const void *)v);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void attr_i(hid_t o, const char *name, long long v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_LLONG, &v);
    H5Aclose(a);
    H5Sclose(sp);
}

/* y[r x n1] = x[r x n0] W^T + b, W row-major [n1, n0]. */
static void affine(const double *x, const double *W, const double *b, double *y, int r, int n0, int n1)
{
    for (int i = 0; i < r; i++)
        for (int j = 0; j < n1; j++) {
            double acc = b[j];
            for (int k = 0; k < n0; k++) acc += x[i * n0 + k] * W[j * n0 + k];
            y[i * n1 + j] = acc;
        }
}

static void attr_ints(hid_t o, const char *name, const long long *v, hsize_t n)
{
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(o, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_LLONG, v);
    H5Aclose(a);
    H5Sclose(sp);
}

/* The grouped conv network: x [n, GC, GH, GH], conv(GC -> GO, 3x3, stride 1, pad 1,
 * groups GG) as its block-diagonal W [GO, GC*9], relu, flatten, linear(GO*GH*GH -> D2). */
#define GC 4
#define GO 6
#define GG 2
#define GH 4
#define GL (GH * GH)
#define GK (GC * 9)
#define GF (GO * GL)

static int write_grouped(const char *path, lr_dumpgen_kind kind)
{
    unsigned seed = 777;
    static double x[(M + NT) * GC * GL], cols[(M + NT) * GL * GK], y0[(M + NT) * GL * GO];
    static double x1[(M + NT) * GF], y1[(M + NT) * D2], W1[D2 * GF];
    double W0[GO * GK], b0[GO], b1[D2], lab[M + NT];
    for (int i = 0; i < (M + NT) * GC * GL; i++) x[i] = urand(&seed) * 4;
    /* Output channel o (group o / (GO/GG)) reads input channels of its group only. */
    for (int o = 0; o < GO; o++)
        for (int k = 0; k < GK; k++) {
            double v = urand(&seed);
            W0[o * GK + k] = (k / 9) / (GC / GG) == o / (GO / GG) ? v : 0.0;
        }
    if (kind == LR_DUMPGEN_GROUPED_OFFBLOCK) W0[0 * GK + 20] = 0.5;
    for (int o = 0; o < GO; o++) b0[o] = urand(&seed);
    for (int i = 0; i < D2 * GF; i++) W1[i] = urand(&seed) * 0.3;
    for (int j = 0; j < D2; j++) b1[j] = urand(&seed);
    /* im2col in torch.nn.functional.unfold's order: row s*L + oh*GH + ow, column c*9 + i*3 + j. */
    for (int s = 0; s < M + NT; s++)
        for (int oh = 0; oh < GH; oh++)
            for (int ow = 0; ow < GH; ow++)
                for (int c = 0; c < GC; c++)
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++) {
                            int ih = oh - 1 + i, iw = ow - 1 + j;
                            int inside = ih >= 0 && ih < GH && iw >= 0 && iw < GH;
                            cols[(s * GL + oh * GH + ow) * GK + c * 9 + i * 3 + j] =
                                inside ? x[s * GC * GL + c * GL + ih * GH + iw] : 0.0;
                        }
    affine(cols, W0, b0, y0, (M + NT) * GL, GK, GO);
    /* relu, then flatten in NCHW order: feature o*L + p of sample s. */
    for (int s = 0; s < M + NT; s++)
        for (int o = 0; o < GO; o++)
            for (int p = 0; p < GL; p++) {
                double v = y0[(s * GL + p) * GO + o];
                x1[s * GF + o * GL + p] = v > 0 ? v : 0;
            }
    affine(x1, W1, b1, y1, M + NT, GF, D2);
    for (int i = 0; i < M + NT; i++) {
        int best = 0;
        for (int j = 1; j < D2; j++)
            if (y1[i * D2 + j] > y1[i * D2 + best]) best = j;
        lab[i] = best;
    }
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return 1;
    attr_s(f, "format", "lrlab.layers");
    attr_i(f, "format_version", 1);
    attr_i(f, "nlayers", 2);
    attr_s(f, "network", "sequential");
    hid_t layers = H5Gcreate2(f, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(layers, "000", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    attr_s(g, "kind", "conv2d");
    attr_s(g, "module", "conv");
    attr_s(g, "post", "relu,flatten");
    const long long k2[2] = {3, 3}, s2[2] = {1, 1}, p2[2] = {1, 1}, in3[3] = {GC, GH, GH}, out3[3] = {GO, GH, GH};
    attr_ints(g, "kernel", k2, 2);
    attr_ints(g, "stride", s2, 2);
    attr_ints(g, "padding", p2, 2);
    attr_ints(g, "dilation", s2, 2);
    attr_ints(g, "in_shape", in3, 3);
    attr_ints(g, "out_shape", out3, 3);
    attr_i(g, "groups", kind == LR_DUMPGEN_GROUPED_INDIVISIBLE ? 4 : GG);
    attr_i(g, "rows_total", M * GL);
    put(g, "W", W0, GO, GK);
    put(g, "b", b0, GO, 0);
    put(g, "X", cols, M * GL, GK);
    put(g, "Y", y0, M * GL, GO);
    H5Gclose(g);
    g = H5Gcreate2(layers, "001", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    attr_s(g, "kind", "linear");
    attr_s(g, "module", "fc");
    attr_s(g, "post", "");
    put(g, "W", W1, D2, GF);
    put(g, "b", b1, D2, 0);
    put(g, "X", x1, M, GF);
    put(g, "Y", y1, M, D2);
    H5Gclose(g);
    H5Gclose(layers);
    hid_t in = H5Gcreate2(f, "inputs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[4] = {M + NT, GC, GH, GH};
    hid_t sp = H5Screate_simple(4, dims, NULL);
    hid_t ds = H5Dcreate2(in, "x", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    H5Dclose(ds);
    H5Sclose(sp);
    put(in, "labels", lab, M + NT, 0);
    attr_i(in, "n_calib", M);
    H5Gclose(in);
    return H5Fclose(f) < 0;
}

int lr_dumpgen_write(const char *path, lr_dumpgen_kind kind)
{
    unsigned seed = 12345;
    chunked = vlen_strings = 0;
    if (kind == LR_DUMPGEN_GROUPED || kind == LR_DUMPGEN_GROUPED_OFFBLOCK || kind == LR_DUMPGEN_GROUPED_INDIVISIBLE)
        return write_grouped(path, kind);
    chunked = kind == LR_DUMPGEN_CHUNKED;
    vlen_strings = kind == LR_DUMPGEN_VLEN_STRINGS;
    double x[(M + NT) * D0], W0[D1 * D0], b0[D1], W1[D2 * D1], b1[D2];
    double y0[(M + NT) * D1], x1[(M + NT) * D1], y1[(M + NT) * D2], lab[M + NT];
    for (int i = 0; i < (M + NT) * D0; i++) x[i] = urand(&seed) * 4;
    for (int i = 0; i < D1 * D0; i++) W0[i] = urand(&seed);
    for (int i = 0; i < D1; i++) b0[i] = urand(&seed);
    for (int i = 0; i < D2 * D1; i++) W1[i] = urand(&seed);
    for (int i = 0; i < D2; i++) b1[i] = urand(&seed);
    affine(x, W0, b0, y0, M + NT, D0, D1);
    double lnw[D1], lnb[D1];
    for (int i = 0; i < D1; i++) {
        lnw[i] = 1.0 + urand(&seed);
        lnb[i] = 0.5 * urand(&seed);
    }
    for (int i = 0; i < (M + NT) * D1; i++) x1[i] = y0[i];
    for (int s = 0; s < M + NT; s++) {
        double *v = x1 + s * D1;
        if (kind == LR_DUMPGEN_LAYERNORM_PLAIN) {
            for (int i = 0; i < D1; i++) v[i] = activate(kind, v[i]);
            layernorm(v, D1, 0.001, NULL, NULL);
        } else {
            if (has_layernorm(kind)) layernorm(v, D1, 1e-05, lnw, lnb);
            for (int i = 0; i < D1; i++) v[i] = activate(kind, v[i]);
        }
    }
    affine(x1, W1, b1, y1, M + NT, D1, D2);
    for (int i = 0; i < M + NT; i++) {
        int best = 0;
        for (int j = 1; j < D2; j++)
            if (y1[i * D2 + j] > y1[i * D2 + best]) best = j;
        lab[i] = best;
    }
    if (kind == LR_DUMPGEN_NAN) y0[7 * D1 + 2] = NAN;
    if (kind == LR_DUMPGEN_MISMATCH) y1[3 * D2 + 1] += 5.0;

    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return 1;
    attr_s(f, "format", "lrlab.layers");
    if (kind == LR_DUMPGEN_VERSION_STRING) attr_s(f, "format_version", "1");
    else attr_i(f, "format_version", kind == LR_DUMPGEN_VERSION ? 2 : 1);
    attr_i(f, "nlayers", kind == LR_DUMPGEN_NLAYERS_SHORT ? 1 : 2);
    if (kind == LR_DUMPGEN_LABEL_REAL) lab[M + 1] = 1.5;
    if (kind == LR_DUMPGEN_LABEL_RANGE) lab[M + 2] = 7;
    attr_s(f, "network", "sequential");
    hid_t layers = H5Gcreate2(f, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    for (int l = 0; l < 2; l++) {
        char name[8];
        snprintf(name, sizeof name, "%03d", l);
        hid_t g = H5Gcreate2(layers, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        attr_s(g, "kind", "linear");
        attr_s(g, "module", l ? "fc2" : "fc1");
        attr_s(g, "post", l ? "" : post_of(kind));
        if (l == 0) {
            put(g, "W", W0, D1, D0);
            put(g, "b", b0, D1, 0);
            if (kind == LR_DUMPGEN_LAYERNORM || kind == LR_DUMPGEN_LN_STRAY) put(g, "post0_weight", lnw, D1, 0);
            if (kind == LR_DUMPGEN_LN_WEIGHT_LEN) put(g, "post0_weight", lnw, D1 - 1, 0);
            if (kind == LR_DUMPGEN_LAYERNORM || kind == LR_DUMPGEN_LN_BIAS_ONLY || kind == LR_DUMPGEN_LN_WEIGHT_LEN)
                put(g, "post0_bias", lnb, D1, 0);
            if (kind == LR_DUMPGEN_UNWRITTEN) {
                put_unwritten(g, "X", 1000000000, D0);
                put_unwritten(g, "Y", 1000000000, D1);
            } else {
                put(g, "X", x, M, D0);
                if (kind != LR_DUMPGEN_MISSING) put(g, "Y", y0, M, D1);
            }
            if (kind == LR_DUMPGEN_ROWS_TOTAL_ZERO) attr_i(g, "rows_total", 0);
            if (kind == LR_DUMPGEN_ROWS_UNSORTED) {
                double rows[M];
                for (int i = 0; i < M; i++) rows[i] = M - 1 - i;
                attr_i(g, "rows_total", M);
                put(g, "rows", rows, M, 0);
            }
        } else {
            if (kind == LR_DUMPGEN_WRONG_SHAPE) {
                double w2[D2 * (D1 + 1)];
                for (int i = 0; i < D2 * (D1 + 1); i++) w2[i] = 0.1 * i;
                put(g, "W", w2, D2, D1 + 1);
            } else {
                put(g, "W", W1, D2, D1);
            }
            put(g, "b", b1, D2, 0);
            put(g, "X", x1, kind == LR_DUMPGEN_TRUNCATED ? M - 1 : M, D1);
            put(g, "Y", y1, M, D2);
        }
        H5Gclose(g);
    }
    H5Gclose(layers);
    hid_t in = H5Gcreate2(f, "inputs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    put(in, "x", x, M + NT, D0);
    put(in, "labels", lab, M + NT, 0);
    attr_i(in, "n_calib", M);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(in, "test_accuracy", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    double one = 1.0;
    H5Awrite(a, H5T_NATIVE_DOUBLE, &one);
    H5Aclose(a);
    H5Sclose(sp);
    H5Gclose(in);
    H5Fclose(f);
    if (kind == LR_DUMPGEN_CUT) {
        FILE *fp = fopen(path, "rb");
        if (!fp) return 1;
        fseek(fp, 0, SEEK_END);
        long size = ftell(fp);
        fclose(fp);
        if (truncate(path, size / 2) != 0) return 1;
    }
    return 0;
}
