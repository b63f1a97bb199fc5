/* The layer-dump reader (format in dump.h and data/README.md).
 *
 * Why validate so much: a dump comes from someone else's script.  A transposed weight, a
 * truncated write or a NaN from an exploding activation would otherwise surface as a
 * meaningless error curve far from its cause.  Every check names the file, the layer
 * (group and module) and the dataset, so the user can go straight to the producer. */
#include "dump_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <nettle/sha2.h>

#include "core/error.h"
#include "io/config.h"

const char *lr_dump_layer_label(const lr_dump *d, size_t layer, char *buf, size_t len)
{
    const lr_dump_layer *L = &d->layers[layer];
    snprintf(buf, len, "layer %s (%s)", L->group, L->module[0] ? L->module : "?");
    return buf;
}

/* Attributes lrlab reads are small: one element, at most this many bytes. */
#define ATTR_MAX_BYTES 65536

static void (*open_beat)(void);
void lr_dump_set_beat(void (*beat)(void)) { open_beat = beat; }

/* The attribute's one element, if it is a scalar or a 1-element array of a type no larger
 * than ATTR_MAX_BYTES: a damaged header must not make a read allocate what it declares. */
static int attr_is_small_scalar(hid_t a, hid_t ft)
{
    hid_t sp = H5Aget_space(a);
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    size_t size = H5Tget_size(ft);
    return np == 1 && size > 0 && size <= ATTR_MAX_BYTES;
}

/* Variable-length strings are read only by the probe's child (dump_probe.c).  Their
 * descriptor holds a length HDF5 trusts: a damaged one makes H5Aread allocate and fill
 * gigabytes (8.4 GB for one 20 KB fuzzed file) before it fails.  The child, whose memory
 * is capped, reads them and records what it read; this process replays the record instead
 * of reading them again.  Without a probe (lr_dump_set_probe(0, 0)) they are read here.
 * One record, for the one dump being opened: opens are not concurrent. */
enum { VLEN_OFF, VLEN_RECORD, VLEN_REPLAY };
static int vlen_mode = VLEN_OFF;
static char *vlen_buf;
static size_t vlen_len, vlen_cap;

void lr_dump_vlen_record(void)
{
    lr_dump_vlen_clear();
    vlen_mode = VLEN_RECORD;
}

const char *lr_dump_vlen_record_data(size_t *len)
{
    *len = vlen_len;
    return vlen_buf ? vlen_buf : "";
}

int lr_dump_vlen_replay(const char *data, size_t len)
{
    lr_dump_vlen_clear();
    vlen_buf = malloc(len ? len : 1);
    if (!vlen_buf) LR_ERROR(LR_ENOMEM, "out of memory");
    memcpy(vlen_buf, data, len);
    vlen_len = vlen_cap = len;
    vlen_mode = VLEN_REPLAY;
    return LR_OK;
}

void lr_dump_vlen_clear(void)
{
    free(vlen_buf);
    vlen_buf = NULL;
    vlen_len = vlen_cap = 0;
    vlen_mode = VLEN_OFF;
}

/* Entries are "object path\0attribute\0value\0" (value absent: the read failed). */
static void vlen_append(const char *obj, const char *name, const char *value, int ok)
{
    size_t need = strlen(obj) + strlen(name) + (ok ? strlen(value) : 0) + 4;
    if (vlen_len + need > vlen_cap) {
        size_t cap = (vlen_cap + need) * 2;
        char *b = realloc(vlen_buf, cap);
        if (!b) return; /* the replay then finds no entry: the attribute reads as absent */
        vlen_buf = b, vlen_cap = cap;
    }
    char *p = vlen_buf + vlen_len;
    p += sprintf(p, "%s", obj) + 1;
    p += sprintf(p, "%s", name) + 1;
    *p++ = ok ? '1' : '0';
    p += sprintf(p, "%s", ok ? value : "") + 1;
    vlen_len = (size_t)(p - vlen_buf);
}

static int vlen_lookup(const char *obj, const char *name, char *out, size_t len)
{
    for (const char *p = vlen_buf, *end = vlen_buf + vlen_len; p && p < end;) {
        const char *o = p, *n = o + strlen(o) + 1, *v = n + strlen(n) + 1;
        if (!strcmp(o, obj) && !strcmp(n, name)) {
            snprintf(out, len, "%s", v + 1);
            return v[0] == '1';
        }
        p = v + strlen(v) + 1;
    }
    return 0;
}

/* A string attribute, fixed or variable length; 0 if absent or not a one-element string. */
static int attr_string(hid_t obj, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    if (H5Aexists(obj, name) <= 0) return 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return 0;
    hid_t ft = H5Aget_type(a);
    int ok = 0;
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING && attr_is_small_scalar(a, ft)) {
        char objname[512] = "";
        if (H5Tis_variable_str(ft) > 0 && vlen_mode != VLEN_OFF)
            H5Iget_name(obj, objname, sizeof objname);
        if (H5Tis_variable_str(ft) > 0 && vlen_mode == VLEN_REPLAY) {
            ok = vlen_lookup(objname, name, out, len);
        } else if (H5Tis_variable_str(ft) > 0) {
            char *s = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(ft));
            if (H5Aread(a, mt, &s) >= 0 && s) {
                snprintf(out, len, "%s", s);
                ok = 1;
            }
            if (s) {
                hid_t sp = H5Screate(H5S_SCALAR);
                H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, &s);
                H5Sclose(sp);
            }
            H5Tclose(mt);
            if (vlen_mode == VLEN_RECORD) vlen_append(objname, name, out, ok);
        } else {
            /* Through a memory type of out's size: HDF5 converts (truncating) a fixed-length
             * string of any size, so no buffer of ours can fail to be allocated. */
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, len);
            H5Tset_strpad(mt, H5T_STR_NULLTERM);
            H5Tset_cset(mt, H5Tget_cset(ft));
            if (H5Aread(a, mt, out) >= 0) {
                out[len - 1] = '\0';
                ok = 1;
            }
            H5Tclose(mt);
        }
    }
    H5Tclose(ft);
    H5Aclose(a);
    return ok;
}

/* Up to n integers of an integer attribute (scalar or 1-D); returns how many, -1 if absent
 * or not an integer. */
static long attr_ints(hid_t obj, const char *name, long *v, size_t n)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    long got = -1;
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    if (H5Tget_class(ft) == H5T_INTEGER && H5Tget_size(ft) <= 8 && np >= 1 && (size_t)np <= n && n <= 8) {
        long long tmp[8];
        if (H5Aread(a, H5T_NATIVE_LLONG, tmp) >= 0) {
            for (hssize_t i = 0; i < np; i++) v[i] = (long)tmp[i];
            got = (long)np;
        }
    }
    H5Sclose(sp);
    H5Tclose(ft);
    H5Aclose(a);
    return got;
}

static int attr_double(hid_t obj, const char *name, double *v)
{
    if (H5Aexists(obj, name) <= 0) return 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return 0;
    hid_t ft = H5Aget_type(a);
    H5T_class_t c = H5Tget_class(ft);
    int ok = (c == H5T_FLOAT || c == H5T_INTEGER) && H5Tget_size(ft) <= 16 && attr_is_small_scalar(a, ft) &&
             H5Aread(a, H5T_NATIVE_DOUBLE, v) >= 0;
    H5Tclose(ft);
    H5Aclose(a);
    return ok;
}

/* No HDF5 filter lrlab meets expands data more than deflate can (1032 : 1). */
#define MAX_EXPANSION 1032ull

/* Shape of a dataset: returns its rank, or -1 (missing), -2 (wrong class) or -3 (it declares
 * more data than the file can hold: a damaged size, which must not size an allocation). */
static int dataset_shape(const lr_dump *d, hid_t g, const char *name, int want_float, hsize_t *dims)
{
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0) return -1;
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t ft = H5Dget_type(ds), sp = H5Dget_space(ds);
    H5T_class_t c = H5Tget_class(ft);
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank > 0 && rank <= 5) H5Sget_simple_extent_dims(sp, dims, NULL);
    if ((want_float && c != H5T_FLOAT) || (!want_float && c != H5T_INTEGER && c != H5T_FLOAT))
        rank = -2;
    if (rank > 0 && rank <= 5) {
        unsigned long long bytes = H5Tget_size(ft), stored = H5Dget_storage_size(ds);
        for (int k = 0; k < rank && bytes; k++)
            if (__builtin_mul_overflow(bytes, (unsigned long long)dims[k], &bytes)) bytes = ~0ull;
        if (stored > d->file_bytes || bytes / MAX_EXPANSION > stored + 65536) rank = -3;
    }
    H5Sclose(sp);
    H5Tclose(ft);
    H5Dclose(ds);
    return rank;
}

#define DECLARES_TOO_MUCH                                                                    \
    "%s: %s: dataset '%s' declares more data than the file stores (a damaged size, or a dataset "    \
    "never written)"

#define DUMP_FAIL(code, ...)                                                                 \
    do {                                                                                     \
        status = lr_error((code), __FILE__, __LINE__, __VA_ARGS__);                          \
        goto fail;                                                                           \
    } while (0)

static int open_layer(lr_dump *d, size_t i, hid_t layers)
{
    lr_dump_layer *L = &d->layers[i];
    int status = LR_OK;
    char lab[400];
    snprintf(L->group, sizeof L->group, "%03zu", i);
    if (H5Lexists(layers, L->group, H5P_DEFAULT) <= 0)
        LR_ERRORF(LR_EDATA, "%s: group /layers/%s is missing (nlayers = %zu)", d->path, L->group,
                  d->nlayers);
    hid_t g = H5Gopen2(layers, L->group, H5P_DEFAULT);
    if (g < 0) LR_ERRORF(LR_EDATA, "%s: /layers/%s is not a group", d->path, L->group);
    attr_string(g, "module", L->module, sizeof L->module);
    lr_dump_layer_label(d, i, lab, sizeof lab);
    L->has_post = attr_string(g, "post", L->post, sizeof L->post);
    char kind[32];
    if (!attr_string(g, "kind", kind, sizeof kind))
        DUMP_FAIL(LR_EDATA, "%s: %s: attribute 'kind' is missing", d->path, lab);
    if (!strcmp(kind, "linear")) L->kind = LR_LAYER_LINEAR;
    else if (!strcmp(kind, "conv2d")) L->kind = LR_LAYER_CONV2D;
    else DUMP_FAIL(LR_EDATA, "%s: %s: unknown kind '%s' (linear or conv2d)", d->path, lab, kind);

    hsize_t dw[5], dx[5], dy[5], db[5], dr[5];
    const char *names[3] = {"W", "X", "Y"};
    hsize_t *dims[3] = {dw, dx, dy};
    for (int k = 0; k < 3; k++) {
        int r = dataset_shape(d, g, names[k], 1, dims[k]);
        if (r == -1) DUMP_FAIL(LR_EDATA, "%s: %s: dataset '%s' is missing", d->path, lab, names[k]);
        if (r == -2)
            DUMP_FAIL(LR_EDATA, "%s: %s: dataset '%s' is not floating point", d->path, lab, names[k]);
        if (r == -3) DUMP_FAIL(LR_EDATA, DECLARES_TOO_MUCH, d->path, lab, names[k]);
        if (r != 2)
            DUMP_FAIL(LR_EDATA, "%s: %s: dataset '%s' has %d dimensions, expected 2", d->path, lab,
                      names[k], r);
    }
    L->n1 = dw[0];
    L->n0 = dw[1];
    L->m = dx[0];
    if (dx[1] != dw[1])
        DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'X' has %llu columns but 'W' [N1, N0] has N0 = %llu",
                  d->path, lab, (unsigned long long)dx[1], (unsigned long long)dw[1]);
    if (dy[1] != dw[0])
        DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'Y' has %llu columns but 'W' [N1, N0] has N1 = %llu",
                  d->path, lab, (unsigned long long)dy[1], (unsigned long long)dw[0]);
    if (dy[0] != dx[0])
        DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'X' has %llu rows but 'Y' has %llu", d->path, lab,
                  (unsigned long long)dx[0], (unsigned long long)dy[0]);
    if (L->m == 0 || L->n0 == 0 || L->n1 == 0)
        DUMP_FAIL(LR_EDATA, "%s: %s: empty dataset (X is %zu x %zu, W gives N1 = %zu)", d->path,
                  lab, L->m, L->n0, L->n1);
    int rb = dataset_shape(d, g, "b", 1, db);
    L->has_bias = rb != -1;
    if (rb == -2) DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'b' is not floating point", d->path, lab);
    if (rb == -3) DUMP_FAIL(LR_EDATA, DECLARES_TOO_MUCH, d->path, lab, "b");
    if (L->has_bias && (rb != 1 || db[0] != L->n1))
        DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'b' must have shape [%zu] (N1), got %d dimensions "
                  "of first size %llu", d->path, lab, L->n1, rb, (unsigned long long)db[0]);
    int rr = dataset_shape(d, g, "rows", 0, dr);
    L->has_rows = rr != -1;
    if (rr == -3) DUMP_FAIL(LR_EDATA, DECLARES_TOO_MUCH, d->path, lab, "rows");
    if (L->has_rows && (rr != 1 || dr[0] != L->m))
        DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'rows' must have shape [%zu] (m)", d->path, lab, L->m);
    long rt = 0;
    int has_rt = H5Aexists(g, "rows_total") > 0;
    if (has_rt && (attr_ints(g, "rows_total", &rt, 1) != 1 || rt <= 0))
        DUMP_FAIL(LR_EDATA, "%s: %s: attribute rows_total must be one positive integer (the layer's "
                  "rows before sampling), got %ld", d->path, lab, rt);
    L->rows_total = has_rt ? (size_t)rt : L->m;
    if (L->rows_total < L->m)
        DUMP_FAIL(LR_EDATA, "%s: %s: attribute rows_total = %zu is below the %zu stored rows",
                  d->path, lab, L->rows_total, L->m);

    if (L->kind == LR_LAYER_CONV2D) {
        const char *an[6] = {"kernel", "stride", "padding", "dilation", "in_shape", "out_shape"};
        long *av[6] = {L->kernel, L->stride, L->padding, L->dilation, L->in_shape, L->out_shape};
        long want[6] = {2, 2, 2, 2, 3, 3};
        for (int k = 0; k < 6; k++)
            if (attr_ints(g, an[k], av[k], (size_t)want[k]) != want[k])
                DUMP_FAIL(LR_EDATA, "%s: %s: conv2d attribute '%s' must hold %ld integers", d->path,
                          lab, an[k], want[k]);
        /* Untrusted geometry: every size within [0 or 1, 2^20], so that every product the
         * reader and the forward pass form (C H W, the pooled shapes) fits in a long. */
        for (int k = 0; k < 6; k++)
            for (long q = 0; q < want[k]; q++) {
                long lo = k == 2 ? 0 : 1, v = av[k][q];
                if (v < lo || v > (1L << 20))
                    DUMP_FAIL(LR_EDATA, "%s: %s: conv2d attribute '%s'[%ld] = %ld is outside [%ld, %ld]", d->path,
                              lab, an[k], q, v, lo, 1L << 20);
            }
        long c = L->in_shape[0], kh = L->kernel[0], kw = L->kernel[1], ckk = 0;
        /* Untrusted sizes: the product is formed only when it cannot overflow. */
        if (c <= 0 || kh <= 0 || kw <= 0 || __builtin_mul_overflow(c, kh, &ckk) || __builtin_mul_overflow(ckk, kw, &ckk))
            DUMP_FAIL(LR_EDATA, "%s: %s: conv2d in_shape[0] = %ld and kernel = [%ld, %ld] must be positive "
                      "with a product that fits", d->path, lab, c, kh, kw);
        if ((long)L->n0 != ckk)
            DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'W' has N0 = %zu but in_shape and kernel give "
                      "C_in*kh*kw = %ld", d->path, lab, L->n0, ckk);
        if ((long)L->n1 != L->out_shape[0])
            DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'W' has N1 = %zu but out_shape has %ld channels",
                      d->path, lab, L->n1, L->out_shape[0]);
        for (int a = 0; a < 2; a++) {
            if (L->stride[a] < 1 || L->dilation[a] < 1 || L->padding[a] < 0 || L->kernel[a] < 1)
                DUMP_FAIL(LR_EDATA, "%s: %s: conv2d geometry out of range", d->path, lab);
            long o = (L->in_shape[1 + a] + 2 * L->padding[a] - L->dilation[a] * (L->kernel[a] - 1) - 1) /
                         L->stride[a] + 1;
            if (o != L->out_shape[1 + a])
                DUMP_FAIL(LR_EDATA, "%s: %s: out_shape[%d] = %ld disagrees with the geometry (%ld)",
                          d->path, lab, 1 + a, L->out_shape[1 + a], o);
        }
    }
    /* A grouped conv (nn.Conv2d groups > 1) is stored as one layer with a block-diagonal W
     * (data/README.md): the groups must split both channel counts, and W's zeros outside
     * the blocks are checked with the values (lr_dump_check_layer). */
    L->groups = 1;
    if (H5Aexists(g, "groups") > 0) {
        if (attr_ints(g, "groups", &L->groups, 1) != 1 || L->groups < 1 || L->groups > (1L << 20))
            DUMP_FAIL(LR_EDATA, "%s: %s: attribute groups must be one integer in [1, %ld]", d->path, lab,
                      1L << 20);
        if (L->kind != LR_LAYER_CONV2D && L->groups != 1)
            DUMP_FAIL(LR_EDATA, "%s: %s: attribute groups = %ld on a linear layer (only conv2d layers have "
                      "groups)", d->path, lab, L->groups);
        if (L->kind == LR_LAYER_CONV2D && (L->in_shape[0] % L->groups || L->out_shape[0] % L->groups))
            DUMP_FAIL(LR_EDATA, "%s: %s: groups = %ld does not divide the %ld input and %ld output channels",
                      d->path, lab, L->groups, L->in_shape[0], L->out_shape[0]);
    }
    /* The parameters of the post ops: 1-D floating-point datasets postP_weight and
     * postP_bias.  Which op they belong to, and the length it needs, is the forward pass's
     * to check (nn/net.c); here their shapes are checked as any dataset's are. */
    for (int p = 0; p < LR_DUMP_MAX_POST; p++)
        for (int wb = 0; wb < 2; wb++) {
            char name[32];
            hsize_t dp[5];
            snprintf(name, sizeof name, "post%d_%s", p, wb ? "bias" : "weight");
            int r = dataset_shape(d, g, name, 1, dp);
            if (r == -1) continue;
            if (r == -2) DUMP_FAIL(LR_EDATA, "%s: %s: dataset '%s' is not floating point", d->path, lab, name);
            if (r == -3) DUMP_FAIL(LR_EDATA, DECLARES_TOO_MUCH, d->path, lab, name);
            if (r != 1 || dp[0] == 0)
                DUMP_FAIL(LR_EDATA, "%s: %s: dataset '%s' must be 1-D and not empty (%d dimensions)", d->path,
                          lab, name, r);
            if (wb) {
                L->post_bias |= 1u << p;
                L->post_bias_len[p] = dp[0];
            } else {
                L->post_weight |= 1u << p;
                L->post_weight_len[p] = dp[0];
            }
        }
fail:
    H5Gclose(g);
    return status;
}

static int open_inputs(lr_dump *d)
{
    int status = LR_OK;
    if (H5Lexists(d->file, "inputs", H5P_DEFAULT) <= 0) return LR_OK;
    hid_t g = H5Gopen2(d->file, "inputs", H5P_DEFAULT);
    if (g < 0) LR_ERRORF(LR_EDATA, "%s: /inputs is not a group", d->path);
    hsize_t dx[5], dl[5];
    int r = dataset_shape(d, g, "x", 1, dx);
    if (r == -1) DUMP_FAIL(LR_EDATA, "%s: /inputs: dataset 'x' is missing", d->path);
    if (r == -2) DUMP_FAIL(LR_EDATA, "%s: /inputs: dataset 'x' is not floating point", d->path);
    if (r == -3) DUMP_FAIL(LR_EDATA, DECLARES_TOO_MUCH, d->path, "/inputs", "x");
    if (r < 2 || r > 4)
        DUMP_FAIL(LR_EDATA, "%s: /inputs: dataset 'x' has %d dimensions (2 to 4 expected)", d->path, r);
    d->has_inputs = 1;
    d->n_inputs = dx[0];
    d->input_rank = r - 1;
    d->input_dim = 1;
    for (int k = 1; k < r; k++) {
        d->input_shape[k - 1] = dx[k];
        if (__builtin_mul_overflow(d->input_dim, (size_t)dx[k], &d->input_dim))
            DUMP_FAIL(LR_EDATA, "%s: /inputs: dataset 'x' has a sample size that overflows", d->path);
    }
    int rl = dataset_shape(d, g, "labels", 0, dl);
    d->has_labels = rl != -1;
    if (rl == -2) DUMP_FAIL(LR_EDATA, "%s: /inputs: dataset 'labels' is not numeric", d->path);
    if (rl == -3) DUMP_FAIL(LR_EDATA, DECLARES_TOO_MUCH, d->path, "/inputs", "labels");
    if (d->has_labels && (rl != 1 || dl[0] != d->n_inputs))
        DUMP_FAIL(LR_EDATA, "%s: /inputs: dataset 'labels' must have shape [%zu]", d->path, d->n_inputs);
    long nc = (long)d->n_inputs;
    if (H5Aexists(g, "n_calib") > 0 && attr_ints(g, "n_calib", &nc, 1) != 1)
        DUMP_FAIL(LR_EDATA, "%s: /inputs: attribute n_calib must be an integer", d->path);
    if (nc < 0 || (size_t)nc > d->n_inputs)
        DUMP_FAIL(LR_EDATA, "%s: /inputs: n_calib = %ld exceeds the %zu inputs", d->path, nc, d->n_inputs);
    d->n_calib = (size_t)nc;
    attr_double(g, "test_accuracy", &d->test_accuracy);
fail:
    H5Gclose(g);
    return status;
}

int lr_dump_open(const char *path, lr_dump **out)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) LR_ERRORF(LR_EIO, "%s: cannot open the layer dump: no such file", path);
    if (!S_ISREG(sb.st_mode)) LR_ERRORF(LR_EIO, "%s: not a regular file (a layer dump is an HDF5 file)", path);
    LR_TRY(lr_dump_probe(path));
    int status = lr_dump_open_here(path, out);
    lr_dump_vlen_clear();
    return status;
}

int lr_dump_open_here(const char *path, lr_dump **out)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        LR_ERRORF(LR_EIO, "%s: cannot open the layer dump: not a regular file", path);
    if (H5Fis_hdf5(path) <= 0)
        LR_ERRORF(LR_EDATA, "%s: not an HDF5 file (truncated or corrupt?)", path);
    lr_dump *d = calloc(1, sizeof *d);
    if (!d) LR_ERROR(LR_ENOMEM, "out of memory");
    snprintf(d->path, sizeof d->path, "%s", path);
    d->file_bytes = (unsigned long long)sb.st_size;
    d->test_accuracy = NAN;
    d->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int status = LR_OK;
    if (d->file < 0) {
        free(d);
        LR_ERRORF(LR_EDATA, "%s: HDF5 cannot open the file (truncated or corrupt?)", path);
    }
    char fmt[64];
    if (!attr_string(d->file, "format", fmt, sizeof fmt))
        DUMP_FAIL(LR_EDATA, "%s: root attribute 'format' is missing: not an lrlab layer dump", path);
    if (strcmp(fmt, LR_DUMP_FORMAT))
        DUMP_FAIL(LR_EDATA, "%s: format is '%s', expected '%s'", path, fmt, LR_DUMP_FORMAT);
    if (H5Aexists(d->file, "format_version") <= 0)
        DUMP_FAIL(LR_EDATA, "%s: root attribute 'format_version' is missing", path);
    if (attr_ints(d->file, "format_version", &d->version, 1) != 1)
        DUMP_FAIL(LR_EDATA, "%s: root attribute 'format_version' must be one integer", path);
    if (d->version != LR_DUMP_VERSION)
        DUMP_FAIL(LR_EDATA, "%s: unknown format version %ld (this lrlab reads version %d)", path,
                  d->version, LR_DUMP_VERSION);
    char net[32];
    d->sequential = attr_string(d->file, "network", net, sizeof net) && !strcmp(net, "sequential");
    if (H5Lexists(d->file, "layers", H5P_DEFAULT) <= 0)
        DUMP_FAIL(LR_EDATA, "%s: group /layers is missing", path);
    hid_t layers = H5Gopen2(d->file, "layers", H5P_DEFAULT);
    long nl = -1;
    if (attr_ints(d->file, "nlayers", &nl, 1) != 1) {
        H5G_info_t info;
        nl = H5Gget_info(layers, &info) >= 0 ? (long)info.nlinks : 0;
    }
    if (nl <= 0) {
        H5Gclose(layers);
        DUMP_FAIL(LR_EDATA, "%s: the dump holds no layers", path);
    }
    /* nlayers must count the groups: fewer would drop layers without a word, more would
     * size arrays from an untrusted number.  And a layer (a group of three datasets) takes
     * more than 256 bytes of the file: a larger count is a damaged one. */
    H5G_info_t ginfo;
    if ((unsigned long long)nl > d->file_bytes / 256) {
        H5Gclose(layers);
        DUMP_FAIL(LR_EDATA, "%s: attribute nlayers = %ld is more than a file of %llu bytes can hold", path,
                  nl, d->file_bytes);
    }
    if (H5Gget_info(layers, &ginfo) < 0 || (hsize_t)nl != ginfo.nlinks) {
        H5Gclose(layers);
        DUMP_FAIL(LR_EDATA, "%s: attribute nlayers = %ld but /layers holds %llu groups", path, nl,
                  (unsigned long long)ginfo.nlinks);
    }
    d->nlayers = (size_t)nl;
    d->layers = calloc(d->nlayers, sizeof *d->layers);
    if (!d->layers) {
        H5Gclose(layers);
        DUMP_FAIL(LR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < d->nlayers && status == LR_OK; i++) {
        status = open_layer(d, i, layers);
        if (open_beat) open_beat();
    }
    H5Gclose(layers);
    if (status != LR_OK) goto fail;
    if ((status = open_inputs(d)) != LR_OK) goto fail;
    *out = d;
    return LR_OK;
fail:
    lr_dump_close(d);
    return status;
}

void lr_dump_close(lr_dump *d)
{
    if (!d) return;
    if (d->file >= 0) H5Fclose(d->file);
    free(d->layers);
    free(d);
}

/* Read a hyperslab [row0, row0+nrows) x all columns of a 2-D (or flattened n-D) dataset
 * into a row-major double buffer. */
static int read_slab(const lr_dump *d, const char *where, const char *dsname, size_t row0,
                     size_t nrows, size_t ncols, double *buf)
{
    hid_t ds = H5Dopen2(d->file, where, H5P_DEFAULT);
    if (ds < 0) LR_ERRORF(LR_EDATA, "%s: cannot open dataset %s", d->path, where);
    hid_t fs = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[5], start[5] = {0}, count[5];
    H5Sget_simple_extent_dims(fs, dims, NULL);
    for (int k = 0; k < rank; k++) count[k] = dims[k];
    start[0] = row0;
    count[0] = nrows;
    herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    /* The memory space has the selection's own shape (the buffer is its row-major copy):
     * with a 1-D memory space HDF5 maps every element to its chunk one by one (H5S_select_
     * iterate), which took 7 s for a MobileNetV2 dump of 20 MB. */
    hsize_t per_row = 1;
    for (int k = 1; k < rank; k++) per_row *= count[k];
    hid_t ms = rank >= 1 && rank <= 5 && per_row == ncols ? H5Screate_simple(rank, count, NULL) : -1;
    if (ms < 0) e = -1;
    if (e >= 0) e = H5Dread(ds, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, buf);
    if (ms >= 0) H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(ds);
    if (e < 0)
        LR_ERRORF(LR_EDATA, "%s: %s: cannot read rows %zu to %zu of dataset '%s' (truncated or "
                  "corrupt file?)", d->path, where, row0, row0 + nrows - 1, dsname);
    return LR_OK;
}

/* Read dataset `where` ([rows, cols...] flattened to rows x cols) in blocks of at most
 * 1 MiB; the values are dropped.  For the probe (dump_probe.c). */
static int touch_dataset(const lr_dump *d, const char *where, const char *dsname, size_t rows,
                         size_t cols, void (*beat)(void))
{
    if (!rows || !cols) return LR_OK;
    size_t block = (size_t)1 << 17; /* doubles */
    size_t nb = cols >= block ? 1 : block / cols;
    double *buf = malloc((nb < rows ? nb : rows) * cols * sizeof(double));
    if (!buf) LR_ERRORF(LR_ENOMEM, "%s: out of memory reading dataset %s", d->path, where);
    int status = LR_OK;
    for (size_t r0 = 0; r0 < rows && status == LR_OK; r0 += nb) {
        status = read_slab(d, where, dsname, r0, rows - r0 < nb ? rows - r0 : nb, cols, buf);
        if (beat) beat();
    }
    free(buf);
    return status;
}

int lr_dump_touch_all(const lr_dump *d, void (*beat)(void))
{
    char where[96];
    for (size_t l = 0; l < d->nlayers; l++) {
        const lr_dump_layer *L = &d->layers[l];
        const char *names[5] = {"W", "X", "Y", "b", "rows"};
        size_t rows[5] = {L->n1, L->m, L->m, L->has_bias ? L->n1 : 0, L->has_rows ? L->m : 0};
        size_t cols[5] = {L->n0, L->n0, L->n1, 1, 1};
        for (int k = 0; k < 5; k++) {
            snprintf(where, sizeof where, "/layers/%s/%s", L->group, names[k]);
            LR_TRY(touch_dataset(d, where, names[k], rows[k], cols[k], beat));
        }
    }
    for (size_t l = 0; l < d->nlayers; l++) {
        const lr_dump_layer *L = &d->layers[l];
        for (int p = 0; p < LR_DUMP_MAX_POST; p++)
            for (int wb = 0; wb < 2; wb++) {
                if (!((wb ? L->post_bias : L->post_weight) >> p & 1u)) continue;
                char name[32];
                snprintf(name, sizeof name, "post%d_%s", p, wb ? "bias" : "weight");
                snprintf(where, sizeof where, "/layers/%s/%s", L->group, name);
                LR_TRY(touch_dataset(d, where, name, wb ? L->post_bias_len[p] : L->post_weight_len[p], 1, beat));
            }
    }
    if (d->has_inputs) LR_TRY(touch_dataset(d, "/inputs/x", "x", d->n_inputs, d->input_dim, beat));
    if (d->has_labels) LR_TRY(touch_dataset(d, "/inputs/labels", "labels", d->n_inputs, 1, beat));
    return LR_OK;
}

int lr_dump_read_weights(const lr_dump *d, size_t layer, lr_mat W, double *b)
{
    const lr_dump_layer *L = &d->layers[layer];
    if (W.rows != L->n0 || W.cols != L->n1)
        LR_ERRORF(LR_EINVAL, "lr_dump_read_weights: W is %zux%zu, layer needs %zux%zu", W.rows,
                  W.cols, L->n0, L->n1);
    char where[64];
    double *buf = malloc(L->n0 * L->n1 * sizeof(double));
    if (!buf) LR_ERROR(LR_ENOMEM, "out of memory reading weights");
    snprintf(where, sizeof where, "/layers/%s/W", L->group);
    int s = read_slab(d, where, "W", 0, L->n1, L->n0, buf);
    /* buf is [N1, N0] row-major = W (N0 x N1) column-major. */
    if (s == LR_OK)
        for (size_t j = 0; j < L->n1; j++)
            for (size_t i = 0; i < L->n0; i++) LR_AT(W, i, j) = buf[i + j * L->n0];
    free(buf);
    LR_TRY(s);
    if (b) {
        if (L->has_bias) {
            snprintf(where, sizeof where, "/layers/%s/b", L->group);
            LR_TRY(read_slab(d, where, "b", 0, L->n1, 1, b));
        } else {
            for (size_t j = 0; j < L->n1; j++) b[j] = 0.0;
        }
    }
    return LR_OK;
}

int lr_dump_read_post_param(const lr_dump *d, size_t layer, size_t op, const char *which, double *out,
                            size_t n)
{
    const lr_dump_layer *L = &d->layers[layer];
    int bias = !strcmp(which, "bias");
    if (!bias && strcmp(which, "weight"))
        LR_ERRORF(LR_EINVAL, "lr_dump_read_post_param: '%s' is neither weight nor bias", which);
    char lab[400], name[32], where[96];
    lr_dump_layer_label(d, layer, lab, sizeof lab);
    snprintf(name, sizeof name, "post%zu_%s", op, which);
    unsigned mask = bias ? L->post_bias : L->post_weight;
    if (op >= LR_DUMP_MAX_POST || !(mask >> op & 1u))
        LR_ERRORF(LR_EDATA, "%s: %s: dataset '%s' is missing", d->path, lab, name);
    size_t len = bias ? L->post_bias_len[op] : L->post_weight_len[op];
    if (len != n)
        LR_ERRORF(LR_EDATA, "%s: %s: dataset '%s' has %zu values, the %zu activations per sample at post op "
                  "%zu need %zu", d->path, lab, name, len, n, op, n);
    snprintf(where, sizeof where, "/layers/%s/%s", L->group, name);
    LR_TRY(read_slab(d, where, name, 0, n, 1, out));
    for (size_t i = 0; i < n; i++)
        if (!isfinite(out[i]))
            LR_ERRORF(LR_EDATA, "%s: %s: dataset '%s' has a non-finite value (%g) at [%zu]", d->path, lab, name,
                      out[i], i);
    return LR_OK;
}

int lr_dump_read_rows(const lr_dump *d, size_t layer, const char *which, size_t row0, lr_mat out)
{
    const lr_dump_layer *L = &d->layers[layer];
    size_t cols = !strcmp(which, "X") ? L->n0 : L->n1;
    if (out.cols != cols || row0 + out.rows > L->m)
        LR_ERRORF(LR_EINVAL, "lr_dump_read_rows: rows %zu+%zu x %zu outside %s (%zu x %zu)", row0,
                  out.rows, out.cols, which, L->m, cols);
    if (out.rows == 0) return LR_OK;
    double *buf = malloc(out.rows * cols * sizeof(double));
    if (!buf) LR_ERROR(LR_ENOMEM, "out of memory reading a row block");
    char where[64];
    snprintf(where, sizeof where, "/layers/%s/%s", L->group, which);
    int s = read_slab(d, where, which, row0, out.rows, cols, buf);
    if (s == LR_OK)
        for (size_t j = 0; j < cols; j++)
            for (size_t i = 0; i < out.rows; i++) LR_AT(out, i, j) = buf[i * cols + j];
    free(buf);
    return s;
}

int lr_dump_read_row_index(const lr_dump *d, size_t layer, long long *rows)
{
    const lr_dump_layer *L = &d->layers[layer];
    if (!L->has_rows) {
        for (size_t i = 0; i < L->m; i++) rows[i] = (long long)i;
        return LR_OK;
    }
    char where[64];
    snprintf(where, sizeof where, "/layers/%s/rows", L->group);
    hid_t ds = H5Dopen2(d->file, where, H5P_DEFAULT);
    herr_t e = ds >= 0 ? H5Dread(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) : -1;
    if (ds >= 0) H5Dclose(ds);
    char lab[400];
    lr_dump_layer_label(d, layer, lab, sizeof lab); /* both messages below use it */
    if (e < 0) LR_ERRORF(LR_EDATA, "%s: %s: cannot read dataset 'rows'", d->path, lab);
    for (size_t i = 0; i < L->m; i++)
        if (rows[i] < 0 || (size_t)rows[i] >= L->rows_total || (i && rows[i] <= rows[i - 1]))
            LR_ERRORF(LR_EDATA, "%s: %s: dataset 'rows' must be increasing indices below "
                      "rows_total = %zu (element %zu is %lld)", d->path, lab, L->rows_total, i, rows[i]);
    return LR_OK;
}

int lr_dump_read_inputs(const lr_dump *d, size_t first, size_t n, lr_mat x, long *labels)
{
    if (!d->has_inputs) LR_ERRORF(LR_EDATA, "%s: the dump has no /inputs", d->path);
    if (first + n > d->n_inputs || x.rows != n || x.cols != d->input_dim)
        LR_ERRORF(LR_EINVAL, "lr_dump_read_inputs: %zu+%zu inputs of %zu", first, n, d->n_inputs);
    if (n == 0) return LR_OK;
    double *buf = malloc(n * d->input_dim * sizeof(double));
    if (!buf) LR_ERROR(LR_ENOMEM, "out of memory reading inputs");
    int s = read_slab(d, "/inputs/x", "x", first, n, d->input_dim, buf);
    if (s == LR_OK) {
        for (size_t j = 0; j < d->input_dim; j++)
            for (size_t i = 0; i < n; i++) {
                double v = buf[i * d->input_dim + j];
                if (!isfinite(v)) {
                    free(buf);
                    LR_ERRORF(LR_EDATA, "%s: /inputs: dataset 'x' has a non-finite value (%g) at "
                              "sample %zu", d->path, v, first + i);
                }
                LR_AT(x, i, j) = v;
            }
    }
    free(buf);
    LR_TRY(s);
    if (labels && d->has_labels) {
        double *lb = malloc(n * sizeof(double));
        if (!lb) LR_ERROR(LR_ENOMEM, "out of memory reading labels");
        s = read_slab(d, "/inputs/labels", "labels", first, n, 1, lb);
        for (size_t i = 0; s == LR_OK && i < n; i++) {
            /* A class index: a real or negative value would count as wrong without a word. */
            if (!(lb[i] >= 0 && lb[i] == floor(lb[i]) && lb[i] < 2147483647.0))
                s = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: /inputs: dataset 'labels' holds %g at "
                             "sample %zu: labels are class indices (integers >= 0)", d->path, lb[i], first + i);
            else labels[i] = (long)lb[i];
        }
        free(lb);
        LR_TRY(s);
    } else if (labels) {
        for (size_t i = 0; i < n; i++) labels[i] = -1;
    }
    return LR_OK;
}

/* The first non-finite entry of A, or 0. */
static int find_nonfinite(lr_mat A, size_t *ri, size_t *ci)
{
    for (size_t j = 0; j < A.cols; j++)
        for (size_t i = 0; i < A.rows; i++)
            if (!isfinite(LR_AT(A, i, j))) {
                *ri = i;
                *ci = j;
                return 1;
            }
    return 0;
}

int lr_dump_check_layer(const lr_dump *d, size_t layer, double rtol, size_t block_rows,
                        lr_dump_check_report *rep)
{
    const lr_dump_layer *L = &d->layers[layer];
    size_t n0 = L->n0, n1 = L->n1, bs = block_rows ? block_rows : 1024;
    if (bs > L->m) bs = L->m;
    char lab[400];
    lr_dump_layer_label(d, layer, lab, sizeof lab);
    double *W = malloc(n0 * n1 * sizeof(double)), *b = malloc(n1 * sizeof(double));
    double *X = malloc(bs * n0 * sizeof(double)), *Y = malloc(bs * n1 * sizeof(double));
    int status = LR_OK;
    if (!W || !b || !X || !Y) DUMP_FAIL(LR_ENOMEM, "out of memory checking %s", lab);
    lr_mat Wm = lr_mat_wrap(W, n0, n1);
    if ((status = lr_dump_read_weights(d, layer, Wm, b)) != LR_OK) goto fail;
    size_t ri, ci;
    if (find_nonfinite(Wm, &ri, &ci))
        DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'W' has a non-finite value (%g) at [%zu, %zu]", d->path,
                  lab, LR_AT(Wm, ri, ci), ci, ri);
    for (size_t j = 0; j < n1; j++)
        if (!isfinite(b[j]))
            DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'b' has a non-finite value (%g) at [%zu]", d->path,
                      lab, b[j], j);
    /* A grouped conv's W (weight [C_out, C_in kh kw]): output channel j of group j / (C_out
     * / groups) reads only the input columns of its group's channels, c kh kw + ... with c
     * / (C_in / groups) the same group; every other entry is zero exactly. */
    if (L->kind == LR_LAYER_CONV2D && L->groups > 1) {
        size_t per_out = (size_t)(L->out_shape[0] / L->groups);
        size_t per_in = (size_t)(L->in_shape[0] / L->groups) * (size_t)(L->kernel[0] * L->kernel[1]);
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < n0; i++)
                if (i / per_in != j / per_out && LR_AT(Wm, i, j) != 0.0)
                    DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'W' has %g at [%zu, %zu], outside the block diagonal "
                              "of groups = %ld (output channel %zu is in group %zu, input column %zu in "
                              "group %zu)", d->path, lab, LR_AT(Wm, i, j), j, i, L->groups, j, j / per_out,
                              i, i / per_in);
    }
    double rr = 0, yy = 0;
    for (size_t r0 = 0; r0 < L->m; r0 += bs) {
        size_t nb = L->m - r0 < bs ? L->m - r0 : bs;
        lr_mat Xb = lr_mat_wrap(X, nb, n0), Yb = lr_mat_wrap(Y, nb, n1);
        if ((status = lr_dump_read_rows(d, layer, "X", r0, Xb)) != LR_OK) goto fail;
        if ((status = lr_dump_read_rows(d, layer, "Y", r0, Yb)) != LR_OK) goto fail;
        if (find_nonfinite(Xb, &ri, &ci))
            DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'X' has a non-finite value (%g) at row %zu, column %zu",
                      d->path, lab, LR_AT(Xb, ri, ci), r0 + ri, ci);
        if (find_nonfinite(Yb, &ri, &ci))
            DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'Y' has a non-finite value (%g) at row %zu, column %zu",
                      d->path, lab, LR_AT(Yb, ri, ci), r0 + ri, ci);
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < nb; i++) yy += LR_AT(Yb, i, j) * LR_AT(Yb, i, j);
        /* Yb <- Yb - Xb W - 1 b^T: the residual of the layer's own equation. */
        if ((status = lr_gemm('N', 'N', -1.0, Xb, Wm, 1.0, Yb)) != LR_OK) goto fail;
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < nb; i++) {
                double v = LR_AT(Yb, i, j) - b[j];
                rr += v * v;
            }
    }
    rep->y_norm = sqrt(yy);
    rep->resid_rel = yy > 0 ? sqrt(rr / yy) : sqrt(rr);
    if (!(rep->resid_rel <= rtol))
        DUMP_FAIL(LR_EDATA, "%s: %s: dataset 'Y' does not match X W^T + b: ||Y - X W^T - b||_F / "
                  "||Y||_F = %.3g exceeds the tolerance %.3g (dump.check_rtol)", d->path, lab,
                  rep->resid_rel, rtol);
fail:
    free(W);
    free(b);
    free(X);
    free(Y);
    return status;
}

/* ---- where a config's dump is, and its digest ---- */

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The working directory first, then the config file's directory and its ancestors. */
int lr_dump_resolve(const lr_config *c, const char *key, char *out, size_t len)
{
    const char *dump = lr_config_str(c, key);
    char where[512];
    if (dump[0] == '/' || file_exists(dump)) {
        snprintf(out, len, "%s", dump);
        if (file_exists(out)) return LR_OK;
    } else {
        char dir[2048];
        snprintf(dir, sizeof dir, "%s", lr_config_filename(c) ? lr_config_filename(c) : "");
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
        for (int depth = 0; depth < 32; depth++) {
            snprintf(out, len, "%s/%s", dir, dump);
            if (file_exists(out)) return LR_OK;
            if (!strcmp(dir, "/") || !strcmp(dir, ".") || !dir[0]) break;
            /* Go up one directory: strip the last component, or add ".." for relative
             * paths that end in ".." already. */
            char *s = strrchr(dir, '/');
            size_t dl = strlen(dir);
            if (!strcmp(dir, "..") || (dl >= 3 && !strcmp(dir + dl - 3, "/.."))) {
                if (dl + 4 >= sizeof dir) break;
                strcat(dir, "/..");
            } else if (s == dir) {
                snprintf(dir, sizeof dir, "/");
            } else if (s) {
                *s = '\0';
            } else {
                snprintf(dir, sizeof dir, ".");
            }
            if (depth > 8 && dir[0] != '/') break;
        }
    }
    struct stat sb;
    if (stat(dump, &sb) == 0 && !S_ISREG(sb.st_mode)) /* a device or a FIFO would block or never end */
        LR_ERRORF(LR_ECONFIG, "%s = \"%s\": not a regular file (a layer dump is an HDF5 file)",
                  lr_config_where(c, key, where, sizeof where), dump);
    LR_ERRORF(LR_ECONFIG, "%s = \"%s\": no such file in the working directory or next to the config",
              lr_config_where(c, key, where, sizeof where), dump);
}

void lr_file_sha256(const char *path, char *out)
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE], buf[65536];
    sha256_init(&ctx);
    FILE *f = fopen(path, "rb");
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) sha256_update(&ctx, n, buf);
    if (f) fclose(f);
    sha256_digest(&ctx, sizeof digest, digest);
    for (size_t i = 0; i < sizeof digest; i++) sprintf(out + 2 * i, "%02x", digest[i]);
}

