/* Data sets for training and the dump writer of trained networks (see train_io.h). */
#include "nn/train_io.h"

#include <errno.h>
#include <gsl/gsl_randist.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/error.h"
#include "core/mat.h"
#include "core/rng.h"
#include "gen/gmm.h"
#include "io/dump.h"
#include "io/h5.h"
#include "nn/activation.h"

void lr_dataset_free(lr_dataset *d)
{
    if (!d) return;
    lr_free(d->x);
    lr_free(d->labels);
    d->x = NULL;
    d->labels = NULL;
}

static int dataset_alloc(lr_dataset *d, size_t dim, size_t n)
{
    d->dim = dim;
    d->x = lr_malloc(n * dim * sizeof(double));
    d->labels = lr_malloc(n * sizeof(long));
    if (!d->x || !d->labels) {
        lr_dataset_free(d);
        LR_ERRORF(LR_ENOMEM, "no memory for %zu samples of %zu values", n, dim);
    }
    return LR_OK;
}

static size_t cap_count(size_t have, size_t max) { return max && max < have ? max : have; }

int lr_dataset_from_dump(const char *path, size_t max_train, size_t max_test, lr_dataset *out)
{
    memset(out, 0, sizeof *out);
    lr_dump *d = NULL;
    LR_TRY(lr_dump_open(path, &d));
    int status = LR_OK;
    if (!d->has_inputs || !d->has_labels)
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: the dump has no /inputs with labels to train on", path);
    size_t ntr = 0, nte = 0;
    if (status == LR_OK) {
        ntr = cap_count(d->n_calib, max_train);
        nte = cap_count(d->n_inputs - d->n_calib, max_test);
        if (!ntr) status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: /inputs has no training samples (n_calib = 0)", path);
    }
    if (status == LR_OK) status = dataset_alloc(out, d->input_dim, ntr + nte);
    /* The reader gives column-major n x dim blocks: read each part and transpose to rows. */
    double *buf = status == LR_OK ? lr_malloc((ntr > nte ? ntr : nte) * d->input_dim * sizeof(double)) : NULL;
    if (status == LR_OK && !buf) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "%s: no memory for /inputs", path);
    size_t first[2] = {0, d->n_calib}, count[2] = {ntr, nte}, at[2] = {0, ntr};
    for (int part = 0; status == LR_OK && part < 2; part++) {
        if (!count[part]) continue;
        lr_mat X = lr_mat_wrap(buf, count[part], d->input_dim);
        status = lr_dump_read_inputs(d, first[part], count[part], X, out->labels + at[part]);
        for (size_t s = 0; status == LR_OK && s < count[part]; s++)
            for (size_t j = 0; j < d->input_dim; j++) out->x[(at[part] + s) * d->input_dim + j] = LR_AT(X, s, j);
    }
    if (status == LR_OK) {
        out->n_train = ntr;
        out->n_test = nte;
        out->rank = d->input_rank;
        for (int i = 0; i < 3; i++) out->shape[i] = d->input_shape[i];
        long mx = 0;
        for (size_t s = 0; s < ntr + nte; s++) mx = out->labels[s] > mx ? out->labels[s] : mx;
        out->classes = (size_t)mx + 1;
        snprintf(out->desc, sizeof out->desc, "%s /inputs: %zu training and %zu test samples", path, ntr, nte);
    } else {
        lr_dataset_free(out);
    }
    lr_free(buf);
    lr_dump_close(d);
    return status;
}

/* One IDX file (LeCun's format: magic 0x0000080D, D big-endian dimensions, unsigned bytes),
 * gzip-compressed or plain (zlib reads both).  Returns the bytes of the first `limit` items
 * (0: all) and their count and per-item size. */
static int idx_read(const char *dir, const char *name, int want_dims, size_t limit, unsigned char **out,
                    size_t *items, size_t *item_size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gz", dir, name);
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = gzopen(path, "rb");
    }
    if (!f) LR_ERRORF(LR_EIO, "%s/%s(.gz): cannot open: %s", dir, name, strerror(errno));
    unsigned char head[16];
    int hb = 4 * (1 + want_dims);
    int status = LR_OK;
    if (gzread(f, head, (unsigned)hb) != hb)
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: shorter than an IDX header", path);
    else if (head[0] || head[1] || head[2] != 0x08 || head[3] != want_dims)
        status = lr_error(LR_EDATA, __FILE__, __LINE__,
                          "%s: not an IDX file of unsigned bytes in %d dimensions (magic %02x%02x%02x%02x)", path,
                          want_dims, head[0], head[1], head[2], head[3]);
    size_t dims[3] = {1, 1, 1};
    for (int i = 0; status == LR_OK && i < want_dims; i++)
        dims[i] = (size_t)head[4 + 4 * i] << 24 | (size_t)head[5 + 4 * i] << 16 | (size_t)head[6 + 4 * i] << 8 |
                  head[7 + 4 * i];
    size_t n = cap_count(dims[0], limit), each = dims[1] * dims[2];
    unsigned char *bytes = status == LR_OK ? malloc(n * each) : NULL;
    if (status == LR_OK && !bytes) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "%s: no memory", path);
    if (status == LR_OK && n * each > 0 && gzread(f, bytes, (unsigned)(n * each)) != (int)(n * each))
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: ends before its %zu items of %zu bytes", path, n, each);
    gzclose(f);
    if (status != LR_OK) {
        free(bytes);
        return status;
    }
    *out = bytes;
    *items = n;
    *item_size = each;
    return LR_OK;
}

int lr_dataset_fashion(const char *dir, size_t max_train, size_t max_test, lr_dataset *out)
{
    memset(out, 0, sizeof *out);
    const char *img[2] = {"train-images-idx3-ubyte", "t10k-images-idx3-ubyte"};
    const char *lab[2] = {"train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"};
    size_t limit[2] = {max_train, max_test};
    unsigned char *pix[2] = {NULL, NULL}, *lb[2] = {NULL, NULL};
    size_t n[2] = {0, 0}, nl[2] = {0, 0}, each = 0, one = 0;
    int status = LR_OK;
    for (int p = 0; status == LR_OK && p < 2; p++) {
        status = idx_read(dir, img[p], 3, limit[p], &pix[p], &n[p], &each);
        if (status == LR_OK) status = idx_read(dir, lab[p], 1, limit[p], &lb[p], &nl[p], &one);
        if (status == LR_OK && nl[p] != n[p])
            status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s/%s: %zu labels for %zu images", dir, lab[p], nl[p], n[p]);
    }
    if (status == LR_OK) status = dataset_alloc(out, each, n[0] + n[1]);
    size_t at = 0;
    for (int p = 0; status == LR_OK && p < 2; at += n[p], p++)
        for (size_t s = 0; s < n[p]; s++) {
            for (size_t j = 0; j < each; j++) out->x[(at + s) * each + j] = pix[p][s * each + j] / 255.0;
            out->labels[at + s] = lb[p][s];
            if (lb[p][s] > 9) {
                status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s/%s: label %d of item %zu is not a class 0..9", dir,
                                  lab[p], lb[p][s], s);
                break;
            }
        }
    for (int p = 0; p < 2; p++) free(pix[p]), free(lb[p]);
    if (status != LR_OK) {
        lr_dataset_free(out);
        return status;
    }
    out->n_train = n[0];
    out->n_test = n[1];
    out->classes = 10;
    out->rank = 3;
    out->shape[0] = 1, out->shape[1] = 28, out->shape[2] = 28;
    snprintf(out->desc, sizeof out->desc, "Fashion-MNIST (%s): %zu training and %zu test images, pixels / 255", dir,
             n[0], n[1]);
    return LR_OK;
}

int lr_dataset_gmm(size_t p, size_t K, size_t n_train, size_t n_test, unsigned long seed, lr_dataset *out)
{
    memset(out, 0, sizeof *out);
    lr_gmm *g = lr_gmm_alloc(p, K, LR_GMM_COV_SCALED);
    if (!g) return LR_ENOMEM;
    int status = lr_gmm_set_preset(g, LR_GMM_PRESET_GU22);
    gsl_rng *r = lr_rng_alloc();
    size_t *lab = lr_malloc((n_train + n_test) * sizeof(size_t)), *perm = lr_malloc(n_train * sizeof(size_t));
    double *tmp = lr_malloc(n_train * p * sizeof(double));
    if (status == LR_OK && (!r || !lab || !perm || !tmp)) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "gmm: no memory");
    if (status == LR_OK) status = dataset_alloc(out, p, n_train + n_test);
    size_t count[2] = {n_train, n_test}, at[2] = {0, n_train};
    for (int part = 0; status == LR_OK && part < 2; part++) {
        if (!count[part]) continue;
        lr_rng_seed_unit(r, seed, 0, (uint64_t)part);
        /* Column-major p x n (columns = samples) is row-major n x p: the rows are samples. */
        lr_mat X = lr_mat_wrap(out->x + at[part] * p, p, count[part]);
        status = lr_gmm_sample(g, r, X, lab + at[part]);
        for (size_t s = 0; status == LR_OK && s < count[part]; s++) out->labels[at[part] + s] = (long)lab[at[part] + s];
    }
    /* The mixture comes ordered by class: shuffle the training rows so that a prefix (a
     * dump's calibration rows, data.n_train) holds every class. */
    if (status == LR_OK && n_train) {
        for (size_t i = 0; i < n_train; i++) perm[i] = i;
        gsl_ran_shuffle(r, perm, n_train, sizeof(size_t));
        memcpy(tmp, out->x, n_train * p * sizeof(double));
        for (size_t i = 0; i < n_train; i++) {
            memcpy(out->x + i * p, tmp + perm[i] * p, p * sizeof(double));
            out->labels[i] = (long)lab[perm[i]];
        }
    }
    if (status == LR_OK) {
        out->n_train = n_train;
        out->n_test = n_test;
        out->classes = K;
        out->rank = 1;
        out->shape[0] = p;
        snprintf(out->desc, sizeof out->desc, "Gaussian mixture gu22, p = %zu, K = %zu, seed %lu", p, K, seed);
    } else {
        lr_dataset_free(out);
    }
    lr_free(lab);
    lr_free(perm);
    lr_free(tmp);
    if (r) gsl_rng_free(r);
    lr_gmm_free(g);
    return status;
}

/* ---- the dump writer ---- */

static int write_matrix(hid_t loc, const char *name, const double *a, size_t rows, size_t cols)
{
    hsize_t dims[2] = {rows, cols};
    if (H5LTmake_dataset_double(loc, name, cols ? 2 : 1, dims, a) < 0)
        LR_ERRORF(LR_EIO, "cannot write dataset '%s': %s", name, lr_h5_error_reason());
    return LR_OK;
}

static const char *post_text(const lr_tlayer *L, char *buf, size_t len)
{
    if (L->act == LR_TRAIN_ACT_NONE) return "";
    const lr_activation *a = lr_activation_get((lr_activation_id)L->act);
    if (a->param) snprintf(buf, len, "%s(%.17g)", a->name, L->act_param);
    else snprintf(buf, len, "%s", a->name);
    return buf;
}

static int write_layer(lr_tnet *net, size_t l, const lr_dataset *d, size_t n_calib, hid_t layers, hid_t lod)
{
    const lr_tlayer *L = &net->layers[l];
    char name[32], module[32], post[128];
    snprintf(name, sizeof name, "%03zu", l);
    snprintf(module, sizeof module, "fc%zu", l);
    hid_t g = H5Gcreate2(layers, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) LR_ERRORF(LR_EIO, "cannot create layer group %s", name);
    double *W = lr_malloc(L->n0 * L->n1 * sizeof(double));
    double *X = lr_malloc(n_calib * L->n0 * sizeof(double)), *Y = lr_malloc(n_calib * L->n1 * sizeof(double));
    int status = W && X && Y ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "no memory for layer %s's X and Y", name);
    if (status == LR_OK) status = lr_tnet_dense_weight(net, l, W);
    /* X: the inputs that fed the layer, Y its pre-activations, batch by batch. */
    for (size_t s0 = 0; status == LR_OK && s0 < n_calib; s0 += net->cap) {
        size_t n = n_calib - s0 < net->cap ? n_calib - s0 : net->cap;
        status = lr_tnet_forward(net, d->x + s0 * d->dim, n, NULL);
        const double *in = l ? net->A[l - 1] : d->x + s0 * d->dim;
        if (status == LR_OK) {
            memcpy(X + s0 * L->n0, in, n * L->n0 * sizeof(double));
            memcpy(Y + s0 * L->n1, net->Z[l], n * L->n1 * sizeof(double));
        }
    }
    if (status == LR_OK) status = write_matrix(g, "W", W, L->n1, L->n0);
    if (status == LR_OK) status = write_matrix(g, "b", L->b, L->n1, 0);
    if (status == LR_OK) status = write_matrix(g, "X", X, n_calib, L->n0);
    if (status == LR_OK) status = write_matrix(g, "Y", Y, n_calib, L->n1);
    if (status == LR_OK)
        status = lr_h5_attr_str(g, "kind", "linear") || lr_h5_attr_str(g, "module", module) ||
                         lr_h5_attr_i64(g, "index", (long long)l) || lr_h5_attr_i64(g, "rows_total", (long long)n_calib) ||
                         lr_h5_attr_str(g, "post", post_text(L, post, sizeof post))
                     ? LR_EIO
                     : LR_OK;
    H5Gclose(g);
    if (status == LR_OK && L->rmax) {
        hid_t f = H5Gcreate2(lod, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        double imp[L->rmax];
        status = f < 0 ? LR_EIO : lr_lod_importance(net, l, imp);
        if (status == LR_OK) status = write_matrix(f, "U", L->U, L->n0, L->rmax);
        if (status == LR_OK) status = write_matrix(f, "V", L->V, L->n1, L->rmax);
        if (status == LR_OK) status = write_matrix(f, "importance", imp, L->rank, 0);
        if (status == LR_OK)
            status = lr_h5_attr_i64(f, "rank", (long long)L->rank) || lr_h5_attr_i64(f, "rmax", (long long)L->rmax)
                         ? LR_EIO
                         : LR_OK;
        if (f >= 0) H5Gclose(f);
    }
    lr_free(W);
    lr_free(X);
    lr_free(Y);
    return status;
}

int lr_train_write_dump(lr_tnet *net, const lr_dataset *d, size_t n_calib, double test_accuracy,
                        const char *const *attrs, const char *path)
{
    if (n_calib == 0 || n_calib > d->n_train)
        LR_ERRORF(LR_EINVAL, "lr_train_write_dump: %zu calibration samples of %zu", n_calib, d->n_train);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f = lr_h5_create(tmp, H5F_ACC_TRUNC);
    if (f < 0) LR_ERRORF(LR_EIO, "%s: cannot create: %s", tmp, lr_h5_error_reason());
    int status = lr_h5_attr_str(f, "format", LR_DUMP_FORMAT) || lr_h5_attr_i64(f, "format_version", LR_DUMP_VERSION) ||
                         lr_h5_attr_i64(f, "nlayers", (long long)net->nlayers) ||
                         lr_h5_attr_str(f, "network", "sequential") || lr_h5_attr_str(f, "producer", "lrlab train") ||
                         lr_h5_attr_f64(f, "test_accuracy", test_accuracy)
                     ? LR_EIO
                     : LR_OK;
    for (size_t i = 0; status == LR_OK && attrs && attrs[i]; i += 2)
        if (lr_h5_attr_str(f, attrs[i], attrs[i + 1])) status = LR_EIO;
    hid_t layers = H5Gcreate2(f, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t lod = H5Gcreate2(f, "lod", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (layers < 0 || lod < 0) status = LR_EIO;
    for (size_t l = 0; status == LR_OK && l < net->nlayers; l++) status = write_layer(net, l, d, n_calib, layers, lod);
    if (layers >= 0) H5Gclose(layers);
    if (lod >= 0) H5Gclose(lod);
    /* /inputs: the calibration samples, then the test samples (the dump's convention). */
    hid_t in = status == LR_OK ? H5Gcreate2(f, "inputs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (status == LR_OK && in < 0) status = LR_EIO;
    size_t n = n_calib + d->n_test;
    double *x = status == LR_OK ? lr_malloc(n * d->dim * sizeof(double)) : NULL;
    long long *lab = status == LR_OK ? lr_malloc(n * sizeof(long long)) : NULL;
    if (status == LR_OK && (!x || !lab)) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "no memory for /inputs");
    if (status == LR_OK) {
        memcpy(x, d->x, n_calib * d->dim * sizeof(double));
        memcpy(x + n_calib * d->dim, d->x + d->n_train * d->dim, d->n_test * d->dim * sizeof(double));
        for (size_t s = 0; s < n_calib; s++) lab[s] = d->labels[s];
        for (size_t s = 0; s < d->n_test; s++) lab[n_calib + s] = d->labels[d->n_train + s];
        hsize_t dims[4] = {n, d->shape[0], d->shape[1], d->shape[2]};
        hsize_t ln = n;
        if (H5LTmake_dataset_double(in, "x", 1 + d->rank, dims, x) < 0 ||
            H5LTmake_dataset(in, "labels", 1, &ln, H5T_NATIVE_LLONG, lab) < 0 ||
            lr_h5_attr_i64(in, "n_calib", (long long)n_calib) || lr_h5_attr_f64(in, "test_accuracy", test_accuracy))
            status = LR_EIO;
    }
    lr_free(x);
    lr_free(lab);
    if (in >= 0) H5Gclose(in);
    if (H5Fclose(f) < 0 && status == LR_OK) status = LR_EIO;
    if (status == LR_EIO && !lr_last_error()[0]) lr_error(status, __FILE__, __LINE__, "%s: cannot write the dump", tmp);
    if (status == LR_OK && rename(tmp, path) != 0)
        status = lr_error(LR_EIO, __FILE__, __LINE__, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (status != LR_OK) {
        remove(tmp);
        if (status == LR_EIO) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", lr_last_error());
            return lr_error(status, __FILE__, __LINE__, "%s: cannot write the dump (%s)", path, msg);
        }
    }
    return status;
}

const lr_key lr_train_data_schema[] = {
    {.path = "train.source", .type = LR_KEY_STRING, .def = NAN, .def_str = "dump", .choices = "dump|fashion",
     .doc = "training data: the /inputs of the dump of key dump (its first n_calib samples train, the rest test) or "
            "the Fashion-MNIST IDX files"},
    {.path = "train.dir", .type = LR_KEY_STRING, .def = NAN, .def_str = "/usr/share/datasets/fashion-mnist",
     .doc = "train.source = \"fashion\": directory of {train,t10k}-{images-idx3,labels-idx1}-ubyte(.gz)"},
    {.path = "train.n_train", .type = LR_KEY_INT, .def = 0, .min = 0, .max = 1e8, .doc = "training samples (0: all)"},
    {.path = "train.hidden", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[256, 128]", .min = 1, .max = 1e6,
     .doc = "widths of the ReLU hidden layers (the output layer has one unit per class)"},
    {.path = NULL}};

int lr_dataset_from_config(const lr_config *c, size_t max_test, lr_dataset *out, char *path, size_t cap, char *sha)
{
    char where[512];
    size_t n_train = (size_t)lr_config_num(c, 0, "train.n_train");
    sha[0] = 0;
    if (!strcmp(lr_config_str(c, "train.source"), "dump")) {
        if (!lr_config_str(c, "dump")[0])
            LR_ERRORF(LR_ECONFIG, "%s: train.source = \"dump\" needs the key dump (a layer dump with /inputs)",
                      lr_config_where(c, "train.source", where, sizeof where));
        LR_TRY(lr_dump_resolve(c, "dump", path, cap));
        lr_file_sha256(path, sha);
        LR_TRY(lr_dataset_from_dump(path, n_train, max_test, out));
    } else {
        snprintf(path, cap, "%s", lr_config_str(c, "train.dir"));
        LR_TRY(lr_dataset_fashion(path, n_train, max_test, out));
    }
    if (!out->n_train || !out->n_test) {
        size_t a = out->n_train, b = out->n_test;
        lr_dataset_free(out);
        LR_ERRORF(LR_EDATA, "%s: %zu training and %zu test samples: training and testing need both", path, a, b);
    }
    return LR_OK;
}
