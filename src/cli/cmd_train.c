/* `lrlab train CONFIG [key=value ...] -o DUMP.h5 [--force] [--quiet]`: train a sequential
 * network of dense or factored (LoD) layers with src/nn/train.h and write it as a layer
 * dump (src/nn/train_io.h), so that every lrlab experiment on dumps runs on it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/text.h"
#include "io/config.h"
#include "io/dump.h"
#include "nn/activation.h"
#include "nn/train.h"
#include "nn/train_io.h"

#define MAX_LAYERS 16

static const char train_help[] =
    "usage: lrlab train CONFIG [key.sub=value ...] -o DUMP.h5 [--force] [--quiet]\n"
    "\n"
    "Train the network a training config describes (configs/train/) and write it as a layer\n"
    "dump (data/README.md): weights, the calibration activations X and Y of every layer, and\n"
    "/inputs with the training and test samples, so `lrlab run configs/real_digits.cfg\n"
    "dump=DUMP.h5` compresses it.  One line per epoch: loss, test accuracy, kept LoD ranks.\n"
    "\n"
    "  -o FILE     the dump to write (required)\n"
    "  --force     overwrite an existing FILE\n"
    "  --quiet     no per-epoch lines\n"
    "  -h, --help  this text\n";

static const char *act_name_at(size_t i)
{
    if (i == 0) return "none";
    const lr_activation *a = lr_activation_get((lr_activation_id)(i - 1));
    return a ? a->name : NULL;
}

static const lr_key train_schema[] = {
    {.path = "name", .type = LR_KEY_STRING, .def = NAN, .def_str = "", .doc = "a label for the run"},
    {.path = "seed", .type = LR_KEY_INT, .def = 1, .min = 0, .max = 4294967295.0,
     .doc = "seed of the initialisation, the shuffles and LoD's ranks (same seed = same bits)"},
    {.path = "data.source", .type = LR_KEY_STRING, .def = NAN, .def_str = "dump", .choices = "dump|fashion|gmm",
     .doc = "a layer dump's /inputs (data.dump), the Fashion-MNIST IDX files (data.dir), or a Gaussian mixture"},
    {.path = "data.dump", .type = LR_KEY_STRING, .def = NAN, .def_str = "data/digits_mlp.h5",
     .doc = "data.source = \"dump\": a dump with /inputs and labels (the first n_calib train, the rest test)"},
    {.path = "data.dir", .type = LR_KEY_STRING, .def = NAN, .def_str = "/usr/share/datasets/fashion-mnist",
     .doc = "data.source = \"fashion\": the directory of {train,t10k}-{images-idx3,labels-idx1}-ubyte(.gz)"},
    {.path = "data.n_train", .type = LR_KEY_INT, .def = 0, .min = 0, .max = 1e8,
     .doc = "training samples (the first ones; 0: all; gmm: how many to draw, 0 = 1024)"},
    {.path = "data.n_test", .type = LR_KEY_INT, .def = 0, .min = 0, .max = 1e8,
     .doc = "test samples (the first ones; 0: all; gmm: how many to draw, 0 = 1024)"},
    {.path = "data.p", .type = LR_KEY_INT, .def = 64, .min = 2, .max = 1e5, .doc = "data.source = \"gmm\": dimension"},
    {.path = "data.classes", .type = LR_KEY_INT, .def = 4, .min = 2, .max = 64, .doc = "data.source = \"gmm\": classes"},
    {.path = "network.hidden", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[256, 128]", .min = 1, .max = 1e6,
     .doc = "widths of the hidden layers (the output layer has one unit per class)"},
    {.path = "network.activation", .type = LR_KEY_STRING, .def = NAN, .def_str = "relu", .names = act_name_at,
     .doc = "the activation after every hidden layer (none: linear)"},
    {.path = "network.act_param", .type = LR_KEY_REAL, .def = 0.01, .min = -1e300, .max = 1e300,
     .doc = "the activation's parameter (leaky_relu's negative slope)"},
    {.path = "network.ranks", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[]", .min = 0, .max = 1e6,
     .doc = "per layer: 0 dense, r > 0 factored U V^T with r_max = r (LoD); [] all dense"},
    {.path = "loss", .type = LR_KEY_STRING, .def = NAN, .def_str = "cross_entropy", .choices = "cross_entropy|squared",
     .doc = "softmax cross-entropy, or the squared loss against one-hot labels (nn.MSELoss)"},
    {.path = "init", .type = LR_KEY_STRING, .def = NAN, .def_str = "random", .choices = "random|dump",
     .doc = "PyTorch's nn.Linear initialisation, or data.dump's weights (factored layers: balanced SVD)"},
    {.path = "optim.kind", .type = LR_KEY_STRING, .def = NAN, .def_str = "adam", .choices = "sgd|adam|adamw",
     .doc = "the optimiser (torch.optim's update rules)"},
    {.path = "optim.lr", .type = LR_KEY_REAL, .def = 1e-3, .min = 0, .max = 1e3, .doc = "learning rate"},
    {.path = "optim.momentum", .type = LR_KEY_REAL, .def = 0.0, .min = 0, .max = 1, .doc = "SGD's momentum"},
    {.path = "optim.nesterov", .type = LR_KEY_BOOL, .def = 0, .doc = "SGD: Nesterov's momentum"},
    {.path = "optim.beta1", .type = LR_KEY_REAL, .def = 0.9, .min = 0, .max = 1, .doc = "Adam's beta1"},
    {.path = "optim.beta2", .type = LR_KEY_REAL, .def = 0.999, .min = 0, .max = 1, .doc = "Adam's beta2"},
    {.path = "optim.eps", .type = LR_KEY_REAL, .def = 1e-8, .min = 0, .max = 1, .doc = "Adam's epsilon"},
    {.path = "optim.weight_decay", .type = LR_KEY_REAL, .def = 0.0, .min = 0, .max = 1e3,
     .doc = "L2 weight decay (SGD, Adam) or AdamW's decoupled decay, on every parameter"},
    {.path = "train.epochs", .type = LR_KEY_INT, .def = 10, .min = 1, .max = 1e6, .doc = "epochs"},
    {.path = "train.batch", .type = LR_KEY_INT, .def = 64, .min = 1, .max = 1e6, .doc = "minibatch size"},
    {.path = "train.threads", .type = LR_KEY_INT, .def = 0, .min = 0, .max = 1024,
     .doc = "OpenBLAS threads (0: as the environment says); the result does not depend on it"},
    {.path = "lod.dist", .type = LR_KEY_STRING, .def = NAN, .def_str = "uniform", .choices = "full|uniform|geometric",
     .doc = "the rank b of a step on factored layers: always the kept rank, uniform on 1..k, or geometric"},
    {.path = "lod.geom_p", .type = LR_KEY_REAL, .def = 0.2, .min = 1e-9, .max = 1, .doc = "lod.dist = geometric: p"},
    {.path = "lod.one_layer", .type = LR_KEY_BOOL, .def = 1,
     .doc = "per step one factored layer draws b, the others run at their kept rank (else each draws)"},
    {.path = "lod.lambda", .type = LR_KEY_REAL, .def = 0.0, .min = 0, .max = 1e6,
     .doc = "weight of the hierarchical group lasso sum_t ||U_{:,t:}|| + ||V_{:,t:}|| (its prox after each step)"},
    {.path = "lod.prune_tol", .type = LR_KEY_REAL, .def = 0.0, .min = 0, .max = 1,
     .doc = "end of epoch: cut the suffix whose importance < prune_tol * importance(1) (0: never)"},
    {.path = "dump.calib_rows", .type = LR_KEY_INT, .def = 2048, .min = 0, .max = 1e8,
     .doc = "training samples whose activations X, Y the dump stores (0: all)"},
    {.path = NULL},
};

typedef struct train_run {
    lr_config *cfg;
    lr_dataset data;
    lr_tnet *net;
    lr_optim *opt;
    gsl_rng *rng;
    lr_strbuf log;
} train_run;

static int cfg_fail(const lr_config *cfg, const char *key, const char *what)
{
    char where[512];
    LR_ERRORF(LR_ECONFIG, "%s %s", lr_config_where(cfg, key, where, sizeof where), what);
}

static int load_data(train_run *t)
{
    const lr_config *c = t->cfg;
    const char *src = lr_config_str(c, "data.source");
    size_t ntr = (size_t)lr_config_num(c, 0, "data.n_train"), nte = (size_t)lr_config_num(c, 0, "data.n_test");
    if (!strcmp(src, "dump")) return lr_dataset_from_dump(lr_config_str(c, "data.dump"), ntr, nte, &t->data);
    if (!strcmp(src, "fashion")) return lr_dataset_fashion(lr_config_str(c, "data.dir"), ntr, nte, &t->data);
    size_t p = (size_t)lr_config_num(c, 0, "data.p"), K = (size_t)lr_config_num(c, 0, "data.classes");
    if (p < 8 * K) return cfg_fail(c, "data.p", "must be at least 8 data.classes (the gu22 means are 8 e_{8a+1})");
    return lr_dataset_gmm(p, K, ntr ? ntr : 1024, nte ? nte : 1024, (unsigned long)lr_config_num(c, 0, "seed"),
                          &t->data);
}

static int build_net(train_run *t)
{
    const lr_config *c = t->cfg;
    const long *hidden, *ranks;
    size_t nh = lr_config_int_list(c, "network.hidden", &hidden), nr = lr_config_int_list(c, "network.ranks", &ranks);
    size_t nl = nh + 1;
    if (nl > MAX_LAYERS) return cfg_fail(c, "network.hidden", "has more layers than lrlab train builds (15 hidden)");
    if (nr && nr != nl) {
        char msg[128];
        snprintf(msg, sizeof msg, "has %zu entries for %zu layers (one per layer, or [])", nr, nl);
        return cfg_fail(c, "network.ranks", msg);
    }
    const char *an = lr_config_str(c, "network.activation");
    int act = strcmp(an, "none") ? lr_activation_find(an, strlen(an)) : LR_TRAIN_ACT_NONE;
    lr_tlayer_spec sp[MAX_LAYERS];
    size_t n0 = t->data.dim;
    for (size_t l = 0; l < nl; l++) {
        sp[l] = (lr_tlayer_spec){.n_out = l < nh ? (size_t)hidden[l] : t->data.classes,
                                 .act = l < nh ? act : LR_TRAIN_ACT_NONE,
                                 .act_param = lr_config_num(c, 0, "network.act_param"),
                                 .rank = nr ? (size_t)ranks[l] : 0};
        size_t mn = n0 < sp[l].n_out ? n0 : sp[l].n_out;
        if (sp[l].rank > mn) {
            char msg[160];
            snprintf(msg, sizeof msg, "entry %zu = %zu exceeds min(n0, n1) = %zu of layer %zu (%zu -> %zu)", l,
                     sp[l].rank, mn, l, n0, sp[l].n_out);
            return cfg_fail(c, "network.ranks", msg);
        }
        n0 = sp[l].n_out;
    }
    size_t batch = (size_t)lr_config_num(c, 0, "train.batch");
    t->net = lr_tnet_alloc(t->data.dim, sp, nl, batch < 256 ? 256 : batch);
    if (!t->net) return LR_ENOMEM;
    t->rng = lr_rng_alloc();
    if (!t->rng) LR_ERROR(LR_ENOMEM, "no memory for a random stream");
    /* Streams: (seed, 0, 0) initialises, (seed, 1, 0) shuffles and draws LoD's ranks. */
    lr_rng_seed_unit(t->rng, (uint64_t)lr_config_num(c, 0, "seed"), 0, 0);
    LR_TRY(lr_tnet_init_random(t->net, t->rng));
    if (!strcmp(lr_config_str(c, "init"), "dump")) {
        lr_dump *d = NULL;
        LR_TRY(lr_dump_open(lr_config_str(c, "data.dump"), &d));
        int status = d->nlayers == nl ? LR_OK : cfg_fail(c, "init", "= \"dump\" needs a dump with as many layers");
        for (size_t l = 0; status == LR_OK && l < nl; l++) {
            lr_tlayer *L = &t->net->layers[l];
            if (d->layers[l].n0 != L->n0 || d->layers[l].n1 != L->n1 || d->layers[l].kind != LR_LAYER_LINEAR) {
                char msg[4400];
                snprintf(msg, sizeof msg, "= \"dump\": layer %zu of %s is %zu -> %zu, the network's %zu -> %zu", l,
                         d->path, d->layers[l].n0, d->layers[l].n1, L->n0, L->n1);
                status = cfg_fail(c, "init", msg);
                break;
            }
            double *W = lr_malloc(L->n0 * L->n1 * sizeof(double));
            status = W ? LR_OK : LR_ENOMEM;
            /* lrlab's n0 x n1 W read column-major is PyTorch's n1 x n0 weight row-major. */
            if (status == LR_OK) status = lr_dump_read_weights(d, l, lr_mat_wrap(W, L->n0, L->n1), L->b);
            if (status == LR_OK && L->rmax) status = lr_tnet_init_svd(t->net, l, W);
            else if (status == LR_OK) memcpy(L->W, W, L->n0 * L->n1 * sizeof(double));
            lr_free(W);
        }
        lr_dump_close(d);
        LR_TRY(status);
    }
    const char *kind = lr_config_str(c, "optim.kind");
    lr_optim_opts o = {.kind = !strcmp(kind, "sgd") ? LR_OPT_SGD : !strcmp(kind, "adam") ? LR_OPT_ADAM : LR_OPT_ADAMW,
                       .lr = lr_config_num(c, 0, "optim.lr"),
                       .weight_decay = lr_config_num(c, 0, "optim.weight_decay"),
                       .momentum = lr_config_num(c, 0, "optim.momentum"),
                       .nesterov = (int)lr_config_num(c, 0, "optim.nesterov"),
                       .beta1 = lr_config_num(c, 0, "optim.beta1"),
                       .beta2 = lr_config_num(c, 0, "optim.beta2"),
                       .eps = lr_config_num(c, 0, "optim.eps")};
    if (o.nesterov && (o.kind != LR_OPT_SGD || o.momentum <= 0))
        return cfg_fail(c, "optim.nesterov", "needs optim.kind = \"sgd\" and optim.momentum > 0");
    t->opt = lr_optim_alloc(t->net->nparams, &o);
    if (!t->opt) return LR_ENOMEM;
    lr_rng_seed_unit(t->rng, (uint64_t)lr_config_num(c, 0, "seed"), 1, 0);
    return LR_OK;
}

static int run_epochs(train_run *t, int quiet, double *test_acc)
{
    const lr_config *c = t->cfg;
    const char *dist = lr_config_str(c, "lod.dist");
    lr_lod_opts lod = {.dist = !strcmp(dist, "full") ? LR_LOD_FULL : !strcmp(dist, "uniform") ? LR_LOD_UNIFORM : LR_LOD_GEOMETRIC,
                       .geom_p = lr_config_num(c, 0, "lod.geom_p"),
                       .one_layer = (int)lr_config_num(c, 0, "lod.one_layer"),
                       .lambda = lr_config_num(c, 0, "lod.lambda"),
                       .prune_tol = lr_config_num(c, 0, "lod.prune_tol")};
    int factored = 0;
    for (size_t l = 0; l < t->net->nlayers; l++) factored |= t->net->layers[l].rmax > 0;
    lr_loss_kind loss = !strcmp(lr_config_str(c, "loss"), "squared") ? LR_LOSS_SQUARED : LR_LOSS_SOFTMAX_CE;
    lr_train_data td = {.x = t->data.x, .labels = t->data.labels, .N = t->data.n_train};
    long epochs = (long)lr_config_num(c, 0, "train.epochs");
    size_t batch = (size_t)lr_config_num(c, 0, "train.batch");
    *test_acc = NAN;
    for (long e = 1; e <= epochs; e++) {
        lr_epoch_stats st;
        double t0 = lr_wall_seconds();
        LR_TRY(lr_train_epoch(t->net, t->opt, &td, batch, loss, factored ? &lod : NULL, t->rng, &st));
        double secs = lr_wall_seconds() - t0;
        size_t correct = 0;
        if (t->data.n_test) {
            LR_TRY(lr_tnet_correct(t->net, t->data.x + t->data.n_train * t->data.dim, t->data.labels + t->data.n_train,
                                   t->data.n_test, &correct));
            *test_acc = (double)correct / (double)t->data.n_test;
        }
        char line[512];
        int w = snprintf(line, sizeof line, "epoch %ld: loss %.6g, test accuracy %.4f, %.3f s", e, st.loss, *test_acc, secs);
        for (size_t l = 0; factored && l < t->net->nlayers && w > 0 && (size_t)w < sizeof line; l++)
            if (t->net->layers[l].rmax)
                w += snprintf(line + w, sizeof line - (size_t)w, ", layer %zu rank %zu/%zu", l, t->net->layers[l].rank,
                              t->net->layers[l].rmax);
        if (!quiet) printf("%s\n", line);
        lr_strbuf_puts(&t->log, line);
        lr_strbuf_puts(&t->log, "\n");
        if (t->log.failed) LR_ERROR(LR_ENOMEM, "no memory for the training log");
    }
    return LR_OK;
}

int lr_cmd_train(int argc, char **argv)
{
    const char *cfgpath = NULL, *out = NULL;
    int force = 0, quiet = 0;
    const char **ov = calloc((size_t)argc + 1, sizeof *ov);
    size_t nov = 0;
    if (!ov) return fprintf(stderr, "lrlab: out of memory\n"), 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(train_help, stdout);
            free(ov);
            return 0;
        } else if (!strcmp(a, "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-') {
            fprintf(stderr, "lrlab train: unknown option or missing value '%s'\n\n%s", a, train_help);
            free(ov);
            return 2;
        } else if (!cfgpath) {
            cfgpath = a;
        } else if (strchr(a, '=')) {
            ov[nov++] = a;
        } else {
            fprintf(stderr, "lrlab train: '%s' is neither a key=value override nor an option\n\n%s", a, train_help);
            free(ov);
            return 2;
        }
    }
    if (!cfgpath || !out) {
        fprintf(stderr, "lrlab train: %s\n\n%s", cfgpath ? "-o DUMP.h5 is required" : "no CONFIG given", train_help);
        free(ov);
        return 2;
    }
    struct stat sb;
    if (!force && stat(out, &sb) == 0) {
        fprintf(stderr, "lrlab: %s exists (--force overwrites it)\n", out);
        free(ov);
        return 1;
    }
    train_run t;
    memset(&t, 0, sizeof t);
    const lr_key *const schemas[] = {train_schema};
    int status = lr_config_read(&t.cfg, cfgpath, ov, nov);
    if (status == LR_OK) status = lr_config_validate(t.cfg, schemas, 1);
    if (status == LR_OK && lr_config_npoints(t.cfg) != 1)
        status = lr_error(LR_ECONFIG, __FILE__, __LINE__, "%s: lrlab train takes no sweeps", cfgpath);
    int threads_before = 0;
    if (status == LR_OK) threads_before = lr_train_blas_threads((int)lr_config_num(t.cfg, 0, "train.threads"));
    if (status == LR_OK) status = load_data(&t);
    if (status == LR_OK) status = build_net(&t);
    if (status == LR_OK && !quiet)
        printf("lrlab train: %s; %zu parameters in %zu layers\n", t.data.desc, t.net->nparams, t.net->nlayers);
    double acc = NAN;
    if (status == LR_OK) status = run_epochs(&t, quiet, &acc);
    if (status == LR_OK) {
        size_t calib = (size_t)lr_config_num(t.cfg, 0, "dump.calib_rows");
        if (!calib || calib > t.data.n_train) calib = t.data.n_train;
        const char *attrs[] = {"dataset", t.data.desc, "config", lr_config_text(t.cfg), "training",
                               t.log.s ? t.log.s : "", "calibration", "the first training samples", NULL};
        status = lr_train_write_dump(t.net, &t.data, calib, acc, attrs, out);
        if (status == LR_OK && !quiet) printf("lrlab train: wrote %s (test accuracy %.4f)\n", out, acc);
    }
    if (threads_before > 0) lr_train_blas_threads(threads_before);
    free(t.log.s);
    lr_optim_free(t.opt);
    lr_tnet_free(t.net);
    if (t.rng) gsl_rng_free(t.rng);
    lr_dataset_free(&t.data);
    lr_config_free(t.cfg);
    free(ov);
    return status == LR_OK ? 0 : lr_cli_fail();
}
