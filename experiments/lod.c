/* Experiment `lod`: does LoD's ordered low-rank training (Horvath, Laskaridis, Rajput, Wang,
 * "Maestro: Uncovering Low-Rank Structures via Trainable Decomposition", ICML 2024; THEORY.md
 * and docs/theory.md section 6) find the answers the theory names?
 *
 * lod.problem chooses the problem; every trial draws its own data from its unit's stream:
 *
 *   isotropic    X (n x d) centred and whitened exactly (X^T X / n = I), Y = X A^T (+ noise)
 *                with A (m x d) of singular values top * ratio^(t-1): the answer is the
 *                nested truncated SVDs of A;
 *   covariance   X with covariance Sigma = Q diag(cov_ratio^(i-1)) Q^T exactly (Q random
 *                orthogonal), Y = X A^T (+ noise): the answer is [A Sigma^{1/2}]_b Sigma^{-1/2},
 *                dd_rank's data-driven solution;
 *   autoencoder  X as for covariance, Y = X (m = d): the answer is the top-b principal
 *                subspaces (ordered PCA);
 *   planted      X Gaussian, Y = X A^T + noise with A of rank lod.true_rank < lod.rank, trained
 *                by minibatch LoD with the hierarchical group lasso (lod.lambda) and end-of-epoch
 *                pruning (lod.prune_tol): which rank survives;
 *   network      a ReLU MLP on real data trained by LoD, its accuracy at every kept rank next to
 *                svd_w and dd_rank truncations of the same MLP trained densely, at the same
 *                parameter counts (lod_network.c, which has its own maths and rows).
 *
 * The truth is always computed from the trial's own data (src/nn/lod_check.h: the minimiser of
 * the empirical loss, W_b = [C S^{-1/2}]_b S^{-1/2}), so noise and finite n change the answer,
 * never the check.  The three recovery problems are trained by full-batch descent (SGD with
 * heavy-ball momentum) on the exact expected gradient over LoD's rank distribution
 * (lr_lod_expected_grad), since a sampled rank per step leaves a gradient noise that keeps the
 * angles far above 1e-6; each factored layer starts at random (PyTorch's scale).
 *
 * Rows per unit: recovery problems: one "component" row per b = 1..r (sines of the largest
 * principal angles between the trained and the true b-dimensional column and row spaces,
 * relative error of W_b, singular values, importance) and one "trace" row per recorded step
 * (the largest sine over b and both sides); planted: one component row per t = 1..lod.rank
 * (relative importance before the last pruning, kept rank, true rank). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/mat.h"
#include "io/h5.h"
#include "lod.h"
#include "nn/lod_check.h"
#include "nn/train.h"
#include "nn/train_io.h"
#include "run/run.h"

#define ROW CblasRowMajor

const char *const lod_problem_names[LOD_NPROBLEMS] = {"isotropic", "covariance", "autoencoder", "planted", "network"};
const char *const lod_row_names[LOD_NROWKINDS] = {"component", "trace", "level"};

const lr_key lr_lod_schema[] = {
    {.path = "lod.problem", .type = LR_KEY_STRING, .def = NAN, .def_str = "isotropic",
     .choices = "isotropic|covariance|autoencoder|planted|network",
     .doc = "linear recovery with isotropic inputs, with an input covariance, a linear autoencoder, a planted rank "
            "with the penalty on, or a trained classifier against svd_w and dd_rank truncations (lod_network.c)"},
    {.path = "lod.d", .type = LR_KEY_INT, .def = 12, .min = 1, .max = 4096, .doc = "inputs d"},
    {.path = "lod.m", .type = LR_KEY_INT, .def = 10, .min = 1, .max = 4096,
     .doc = "outputs m (autoencoder: ignored, m = d)"},
    {.path = "lod.n", .type = LR_KEY_INT, .def = 200, .min = 2, .max = 1e7, .doc = "samples n"},
    {.path = "lod.rank", .type = LR_KEY_INT, .def = 5, .min = 1, .max = 4096, .doc = "r_max of the factored layer"},
    {.path = "lod.true_rank", .type = LR_KEY_INT, .def = 3, .min = 1, .max = 4096,
     .doc = "planted: the rank of the target map A (below lod.rank)"},
    {.path = "lod.sv_top", .type = LR_KEY_REAL, .def = 2, .min = 1e-6, .max = 1e6, .doc = "largest singular value of A"},
    {.path = "lod.sv_ratio", .type = LR_KEY_REAL, .def = 0.7, .min = 1e-3, .max = 1,
     .doc = "singular values of A: sv_top sv_ratio^(t-1) (planted: the first true_rank, the rest 0)"},
    {.path = "lod.cov_ratio", .type = LR_KEY_REAL, .def = 0.8, .min = 1e-3, .max = 1,
     .doc = "covariance, autoencoder: eigenvalues of Sigma cov_ratio^(i-1), i = 1..d"},
    {.path = "lod.noise", .type = LR_KEY_REAL, .def = 0, .min = 0, .max = 1e6,
     .doc = "standard deviation of the Gaussian noise added to Y (units of Y)"},
    {.path = "lod.dist", .type = LR_KEY_STRING, .def = NAN, .def_str = "uniform", .choices = "uniform|geometric",
     .doc = "LoD's rank distribution p_b on 1..r"},
    {.path = "lod.geom_p", .type = LR_KEY_REAL, .def = 0.3, .min = 1e-6, .max = 1, .doc = "geometric: p_b ~ p (1-p)^(b-1)"},
    {.path = "lod.lambda", .type = LR_KEY_REAL, .sweepable = 1, .def = 0, .min = 0, .max = 1e6,
     .doc = "planted, network: weight of the hierarchical group lasso"},
    {.path = "lod.prune_tol", .type = LR_KEY_REAL, .sweepable = 1, .def = 0, .min = 0, .max = 1,
     .doc = "planted, network: cut the suffix whose importance is below prune_tol times the first component's"},
    {.path = "lod.one_layer", .type = LR_KEY_BOOL, .def = 1,
     .doc = "network: per step one factored layer (uniformly) gets the drawn rank, the others their kept rank "
            "(false: each draws its own)"},
    {.path = "lod.init", .type = LR_KEY_STRING, .def = NAN, .def_str = "random", .choices = "random|dense",
     .doc = "network: LoD's factors start at PyTorch's scale, or from the trial's densely trained network (balanced SVD)"},
    {.path = "lod.levels", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[1, 2, 4, 8, 16, 32, 64, 128, 256]", .min = 1,
     .max = 1e6,
     .doc = "network: the levels b (increasing) at which every factored layer keeps min(b, its kept rank) components"},
    {.path = "lod.calib_rows", .type = LR_KEY_INT, .def = 1024, .min = 1, .max = 1e7,
     .doc = "network: training samples whose activations calibrate dd_rank (and svd_w's layer problems)"},
    {.path = "lod.test_max", .type = LR_KEY_INT, .def = 0, .min = 0, .max = 1e9,
     .doc = "network: use at most this many test samples (0: all)"},
    {.path = "dump", .type = LR_KEY_STRING, .def = NAN, .def_str = "",
     .doc = "network, train.source = \"dump\": a layer dump with /inputs and labels (data/README.md)"},
    {.path = "train.ranks", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[]", .min = 0, .max = 1e6,
     .doc = "network: r_max of each layer of the LoD network (0: dense); [] : every hidden layer at min(n0, n1), the "
            "output layer dense"},
    {.path = "train.steps", .type = LR_KEY_INT, .def = 20000, .min = 1, .max = 1e9,
     .doc = "recovery: full-batch expected-gradient steps"},
    {.path = "train.record_every", .type = LR_KEY_INT, .def = 500, .min = 1, .max = 1e9,
     .doc = "recovery: a trace row every this many steps (and at step 0)"},
    {.path = "train.lr", .type = LR_KEY_REAL, .def = 0.5, .min = 1e-12, .max = 1e6, .doc = "learning rate"},
    {.path = "train.momentum", .type = LR_KEY_REAL, .def = 0.9, .min = 0, .max = 0.9999, .doc = "SGD momentum"},
    {.path = "train.optimizer", .type = LR_KEY_STRING, .def = NAN, .def_str = "sgd", .choices = "sgd|adam",
     .doc = "planted, network: the minibatch optimiser"},
    {.path = "train.epochs", .type = LR_KEY_INT, .def = 40, .min = 1, .max = 1e6, .doc = "planted: epochs"},
    {.path = "train.batch", .type = LR_KEY_INT, .def = 100, .min = 1, .max = 1e7, .doc = "planted: samples per batch"},
    {.path = NULL}};

typedef struct lod_state {
    lod_problem problem;
    lod_net_state *net; /* problem network */
    size_t d, m, n, r, r0, nrec, steps, every;
    int c_problem, c_row, c_b, c_step, c_sin_left, c_sin_right, c_rel_err, c_sv_trained, c_sv_true, c_importance,
        c_rank_kept, c_rank_true, c_loss;
} lod_state;

typedef struct lod_ws {
    double *X, *Y, *G, *O, *Qa, *Qb, *Qt, *Wt, *Wm, *imp, *sv, *work;
    void *net; /* problem network: lod_network.c's workspace (the buffers above unused) */
} lod_ws;

static void lod_ws_free(void *p)
{
    lod_ws *w = p;
    if (!w) return;
    free(w->X), free(w->Y), free(w->G), free(w->O), free(w->Qa), free(w->Qb), free(w->Qt), free(w->Wt), free(w->Wm);
    free(w->imp), free(w->sv), free(w->work);
    lod_network_ws_free(w->net);
    free(w);
}

static void *lod_ws_alloc(const lr_run *run)
{
    const lod_state *st = run->exp_state;
    lod_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    if (st->problem == LOD_NETWORK) {
        if (!(w->net = lod_network_ws_alloc(run, st->net))) lod_ws_free(w), w = NULL;
        return w;
    }
    size_t d = st->d, m = st->m, n = st->n, big = d > m ? d : m;
    w->X = malloc(n * d * sizeof(double)), w->Y = malloc(n * m * sizeof(double));
    w->G = malloc((n > big ? n : big) * big * sizeof(double)), w->O = malloc(big * big * sizeof(double));
    w->Qa = malloc(big * big * sizeof(double)), w->Qb = malloc(big * big * sizeof(double));
    w->Qt = malloc(big * big * sizeof(double)), w->Wt = malloc(m * d * sizeof(double)), w->Wm = malloc(m * d * sizeof(double));
    w->imp = malloc(st->r * sizeof(double)), w->sv = malloc(big * sizeof(double)), w->work = malloc(big * sizeof(double));
    if (!w->X || !w->Y || !w->G || !w->O || !w->Qa || !w->Qb || !w->Qt || !w->Wt || !w->Wm || !w->imp || !w->sv || !w->work) {
        lod_ws_free(w);
        return NULL;
    }
    return w;
}

/* ---- data ---- */

static void centre_columns(double *a, size_t n, size_t d)
{
    for (size_t j = 0; j < d; j++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) s += a[i * d + j];
        s /= (double)n;
        for (size_t i = 0; i < n; i++) a[i * d + j] -= s;
    }
}

/* O (k x k): a random orthogonal matrix (QR of a Gaussian; G is scratch). */
static int random_orthogonal(gsl_rng *g, size_t k, double *G, double *O)
{
    lr_lod_gaussian(g, G, k * k, 1.0);
    return lr_lod_orth(G, k, k, k, O);
}

/* The map A (m x d) with the given singular values (n_sv of them, the rest 0):
 * A = Ul diag(s) Ur^T with random orthogonal Ul, Ur. */
static int target_map(gsl_rng *g, lod_ws *w, size_t m, size_t d, const double *s, size_t n_sv, double *A)
{
    LR_TRY(random_orthogonal(g, m, w->G, w->Qa));
    LR_TRY(random_orthogonal(g, d, w->G, w->Qb));
    memset(A, 0, m * d * sizeof(double));
    for (size_t t = 0; t < n_sv; t++) cblas_dger(ROW, (int)m, (int)d, s[t], w->Qa + t, (int)m, w->Qb + t, (int)d, A, (int)d);
    return LR_OK;
}

/* The trial's X and Y (centred). */
static int make_data(const lr_run *run, const lod_state *st, lod_ws *w, gsl_rng *g, size_t point)
{
    const lr_config *c = run->cfg;
    size_t n = st->n, d = st->d, m = st->m;
    double top = lr_config_num(c, point, "lod.sv_top"), ratio = lr_config_num(c, point, "lod.sv_ratio");
    double cov_ratio = lr_config_num(c, point, "lod.cov_ratio"), noise = lr_config_num(c, point, "lod.noise");
    lr_lod_gaussian(g, w->X, n * d, 1.0);
    centre_columns(w->X, n, d);
    if (st->problem != LOD_PLANTED) {
        /* whiten exactly: X = sqrt(n) Q of X's QR, so X^T X / n = I (centred columns stay centred) */
        double *Q = malloc(n * d * sizeof(double));
        if (!Q) LR_ERROR(LR_ENOMEM, "out of memory");
        int s = lr_lod_orth(w->X, n, d, d, Q);
        for (size_t i = 0; s == LR_OK && i < n * d; i++) w->X[i] = sqrt((double)n) * Q[i];
        free(Q);
        LR_TRY(s);
    }
    if (st->problem == LOD_COVARIANCE || st->problem == LOD_AUTOENCODER) {
        /* X <- X Sigma^{1/2}, Sigma^{1/2} = O diag(sqrt(lambda)) O^T */
        LR_TRY(random_orthogonal(g, d, w->G, w->O));
        memset(w->Qt, 0, d * d * sizeof(double));
        for (size_t i = 0; i < d; i++)
            cblas_dger(ROW, (int)d, (int)d, sqrt(pow(cov_ratio, (double)i)), w->O + i, (int)d, w->O + i, (int)d, w->Qt, (int)d);
        memcpy(w->G, w->X, n * d * sizeof(double));
        cblas_dgemm(ROW, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)d, 1.0, w->G, (int)d, w->Qt, (int)d, 0.0, w->X, (int)d);
    }
    if (st->problem == LOD_AUTOENCODER) {
        memcpy(w->Y, w->X, n * d * sizeof(double));
    } else {
        size_t mn = m < d ? m : d, nsv = st->problem == LOD_PLANTED ? st->r0 : mn;
        double s[mn];
        for (size_t t = 0; t < mn; t++) s[t] = top * pow(ratio, (double)t);
        LR_TRY(target_map(g, w, m, d, s, nsv, w->Wt));
        cblas_dgemm(ROW, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)d, 1.0, w->X, (int)d, w->Wt, (int)d, 0.0, w->Y, (int)m);
    }
    if (noise > 0 && st->problem != LOD_AUTOENCODER) {
        for (size_t i = 0; i < n * m; i++) w->Y[i] += lr_lod_gaussian_one(g, noise);
        centre_columns(w->Y, n, m);
    }
    return LR_OK;
}

/* ---- measures ---- */

/* The first b columns of a (rows x ld) into out (rows x b). */
static void first_columns(const double *a, size_t rows, size_t ld, size_t b, double *out)
{
    for (size_t i = 0; i < rows; i++) memcpy(out + i * b, a + i * ld, b * sizeof(double));
}

/* The sines of the largest principal angles at rank b between the trained layer (W = V U^T)
 * and the truth: *left on the output side (V_b against P_b), *right on the input side. */
static int angles_at(const lr_tlayer *L, const lr_lod_truth *t, lod_ws *w, size_t b, double *left, double *right)
{
    size_t d = L->n0, m = L->n1;
    LR_TRY(lr_lod_orth(L->V, m, L->rmax, b, w->Qa));
    first_columns(t->P, m, t->r, b, w->Qt);
    *left = lr_lod_sin_max(w->Qa, w->Qt, m, b);
    LR_TRY(lr_lod_orth(L->U, d, L->rmax, b, w->Qb));
    first_columns(t->Qr, d, t->r, b, w->Qt);
    *right = lr_lod_sin_max(w->Qb, w->Qt, d, b);
    return LR_OK;
}

/* W (m x d) = V_b U_b^T of the trained layer. */
static void trained_map(const lr_tlayer *L, size_t b, double *W)
{
    cblas_dgemm(ROW, CblasNoTrans, CblasTrans, (int)L->n1, (int)L->n0, (int)b, 1.0, L->V, (int)L->rmax, L->U, (int)L->rmax, 0.0, W,
                (int)L->n0);
}

static int singular_values(const double *W, size_t m, size_t d, lod_ws *w)
{
    memcpy(w->G, W, m * d * sizeof(double));
    if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (int)m, (int)d, w->G, (int)d, w->sv, NULL, 1, NULL, 1, w->work) != 0)
        LR_ERROR(LR_ENUMERIC, "lod: SVD of a trained map did not converge");
    return LR_OK;
}

static double *row_at(const lr_run *run, double *rows, size_t i) { return rows + i * run->trials->ncols; }

static void fill_common(const lr_run *run, const lod_state *st, double *row, size_t point, size_t trial, size_t b, int kind)
{
    lr_run_fill_row(run, row, point, trial, 0, 0);
    row[st->c_problem] = st->problem;
    row[st->c_row] = kind;
    row[st->c_b] = (double)b;
    row[run->col.k] = (double)b;
}

/* ---- the units ---- */

static int lod_opts_of(const lr_config *c, size_t point, lr_lod_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dist = strcmp(lr_config_str(c, "lod.dist"), "geometric") ? LR_LOD_UNIFORM : LR_LOD_GEOMETRIC;
    o->geom_p = lr_config_num(c, point, "lod.geom_p");
    o->lambda = lr_config_num(c, point, "lod.lambda");
    o->prune_tol = lr_config_num(c, point, "lod.prune_tol");
    return LR_OK;
}

static int recovery_unit(const lr_run *run, const lod_state *st, lod_ws *w, lr_tnet *net, lr_optim *opt, const lr_lod_truth *t,
                         size_t point, size_t trial, double *rows)
{
    lr_lod_opts lo;
    lod_opts_of(run->cfg, point, &lo);
    lo.lambda = 0, lo.prune_tol = 0;
    const lr_tlayer *L = &net->layers[0];
    size_t r = st->r, rec = 0;
    double loss = NAN;
    for (size_t step = 0;; step++) {
        if (step % st->every == 0 || step == st->steps) {
            /* a trace row: the worst sine over b and both sides */
            double worst = 0.0;
            for (size_t b = 1; b <= r; b++) {
                double sl, sr;
                LR_TRY(angles_at(L, t, w, b, &sl, &sr));
                worst = fmax(worst, fmax(sl, sr));
            }
            if (rec < st->nrec) {
                double *row = row_at(run, rows, r + rec++);
                fill_common(run, st, row, point, trial, 0, 1);
                row[st->c_step] = (double)step;
                row[st->c_sin_left] = worst;
                row[st->c_loss] = loss;
            }
        }
        if (step == st->steps) break;
        LR_TRY(lr_lod_expected_grad(net, 0, &lo, w->X, st->n, NULL, w->Y, LR_LOSS_SQUARED, &loss));
        if (!isfinite(loss))
            LR_ERRORF(LR_ENUMERIC, "lod: the loss diverged at step %zu (train.lr = %g too large?)", step, opt->o.lr);
        LR_TRY(lr_optim_step(opt, net->theta, net->grad));
    }
    LR_TRY(lr_lod_importance(net, 0, w->imp));
    trained_map(L, r, w->Wm);
    LR_TRY(singular_values(w->Wm, st->m, st->d, w));
    double svt[r];
    memcpy(svt, w->sv, r * sizeof(double));
    lr_lod_truth_map(t, r, w->Wt);
    LR_TRY(singular_values(w->Wt, st->m, st->d, w));
    for (size_t b = 1; b <= r; b++) {
        double *row = row_at(run, rows, b - 1);
        fill_common(run, st, row, point, trial, b, 0);
        row[st->c_step] = (double)st->steps;
        LR_TRY(angles_at(L, t, w, b, &row[st->c_sin_left], &row[st->c_sin_right]));
        trained_map(L, b, w->Wm);
        lr_lod_truth_map(t, b, w->Wt);
        double nt = cblas_dnrm2((int)(st->m * st->d), w->Wt, 1);
        cblas_daxpy((int)(st->m * st->d), -1.0, w->Wt, 1, w->Wm, 1);
        row[st->c_rel_err] = cblas_dnrm2((int)(st->m * st->d), w->Wm, 1) / nt;
        row[st->c_sv_trained] = svt[b - 1];
        row[st->c_sv_true] = w->sv[b - 1];
        row[st->c_importance] = w->imp[b - 1] / w->imp[0];
        row[st->c_rank_kept] = (double)L->rank;
        row[st->c_rank_true] = (double)r;
        row[st->c_loss] = loss;
    }
    return LR_OK;
}

static int planted_unit(const lr_run *run, const lod_state *st, lod_ws *w, lr_tnet *net, lr_optim *opt, gsl_rng *rng,
                        size_t point, size_t trial, double *rows)
{
    const lr_config *c = run->cfg;
    lr_lod_opts lo;
    lod_opts_of(c, point, &lo);
    size_t epochs = (size_t)lr_config_num(c, point, "train.epochs"), batch = (size_t)lr_config_num(c, point, "train.batch");
    lr_train_data data = {.x = w->X, .targets = w->Y, .N = st->n};
    lr_epoch_stats es = {0};
    for (size_t e = 0; e < epochs; e++) {
        /* the last epoch without its pruning, so that the importance profile shows what it cuts */
        lr_lod_opts le = lo;
        if (e + 1 == epochs) le.prune_tol = 0;
        LR_TRY(lr_train_epoch(net, opt, &data, batch, LR_LOSS_SQUARED, &le, rng, &es));
        if (!isfinite(es.loss)) LR_ERRORF(LR_ENUMERIC, "lod: the loss diverged in epoch %zu (train.lr too large?)", e + 1);
    }
    size_t before = net->layers[0].rank;
    for (size_t t = 0; t < st->r; t++) w->imp[t] = 0;
    LR_TRY(lr_lod_importance(net, 0, w->imp));
    if (lo.prune_tol > 0) lr_lod_prune(net, lo.prune_tol);
    for (size_t t = 1; t <= st->r; t++) {
        double *row = row_at(run, rows, t - 1);
        fill_common(run, st, row, point, trial, t, 0);
        row[st->c_step] = (double)epochs;
        row[st->c_importance] = t <= before && w->imp[0] > 0 ? w->imp[t - 1] / w->imp[0] : NAN;
        row[st->c_rank_kept] = (double)net->layers[0].rank;
        row[st->c_rank_true] = (double)st->r0;
        row[st->c_loss] = es.loss;
    }
    return LR_OK;
}

static int lod_unit(const lr_run *run, void *wsp, size_t point, size_t trial, gsl_rng *rng, double *rows, double *seconds)
{
    const lod_state *st = run->exp_state;
    lod_ws *w = wsp;
    for (size_t i = 0; i < run->rows_per_unit; i++) seconds[i] = NAN;
    if (st->problem == LOD_NETWORK) return lod_network_unit(run, st->net, w->net, point, trial, rng, rows, seconds);
    LR_TRY(make_data(run, st, w, rng, point));
    lr_tlayer_spec spec = {.n_out = st->m, .act = LR_TRAIN_ACT_NONE, .rank = st->r};
    lr_tnet *net = lr_tnet_alloc(st->d, &spec, 1, st->problem == LOD_PLANTED ? (size_t)lr_config_num(run->cfg, point, "train.batch") : st->n);
    if (!net) return LR_ENOMEM;
    lr_optim_opts oo = {.kind = LR_OPT_SGD, .lr = lr_config_num(run->cfg, point, "train.lr"),
                        .momentum = lr_config_num(run->cfg, point, "train.momentum"), .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    if (!strcmp(lr_config_str(run->cfg, "train.optimizer"), "adam")) oo.kind = LR_OPT_ADAM;
    lr_optim *opt = lr_optim_alloc(net->nparams, &oo);
    lr_lod_truth t = {0};
    int s = opt ? lr_tnet_init_random(net, rng) : LR_ENOMEM;
    if (s == LR_OK && st->problem != LOD_PLANTED) s = lr_lod_truth_compute(w->X, w->Y, st->n, st->d, st->m, st->r, &t);
    if (s == LR_OK)
        s = st->problem == LOD_PLANTED ? planted_unit(run, st, w, net, opt, rng, point, trial, rows)
                                       : recovery_unit(run, st, w, net, opt, &t, point, trial, rows);
    lr_lod_truth_free(&t);
    lr_optim_free(opt);
    lr_tnet_free(net);
    return s;
}

/* ---- preparation ---- */

static int lod_prepare(lr_run *run, void **state)
{
    const lr_config *c = run->cfg;
    lod_state *st = calloc(1, sizeof *st);
    if (!st) LR_ERROR(LR_ENOMEM, "out of memory");
    *state = st;
    char where[512];
    const char *pn = lr_config_str(c, "lod.problem");
    for (int p = 0; p < LOD_NPROBLEMS; p++)
        if (!strcmp(pn, lod_problem_names[p])) st->problem = (lod_problem)p;
    if (st->problem == LOD_NETWORK) return lod_network_prepare(run, &st->net);
    st->d = (size_t)lr_config_num(c, 0, "lod.d");
    st->m = st->problem == LOD_AUTOENCODER ? st->d : (size_t)lr_config_num(c, 0, "lod.m");
    st->n = (size_t)lr_config_num(c, 0, "lod.n");
    st->r = (size_t)lr_config_num(c, 0, "lod.rank");
    st->r0 = (size_t)lr_config_num(c, 0, "lod.true_rank");
    st->steps = (size_t)lr_config_num(c, 0, "train.steps");
    st->every = (size_t)lr_config_num(c, 0, "train.record_every");
    size_t mn = st->m < st->d ? st->m : st->d;
    if (st->r > mn)
        LR_ERRORF(LR_ECONFIG, "%s: rank %zu exceeds min(m, d) = %zu", lr_config_where(c, "lod.rank", where, sizeof where), st->r, mn);
    if (st->problem != LOD_PLANTED && st->n < st->d)
        LR_ERRORF(LR_ECONFIG, "%s: n = %zu samples give a singular covariance of d = %zu inputs: need n >= d",
                  lr_config_where(c, "lod.n", where, sizeof where), st->n, st->d);
    if (st->problem == LOD_PLANTED && st->r0 >= st->r)
        LR_ERRORF(LR_ECONFIG, "%s: the planted rank %zu must be below lod.rank = %zu",
                  lr_config_where(c, "lod.true_rank", where, sizeof where), st->r0, st->r);
    st->nrec = st->problem == LOD_PLANTED ? 0 : st->steps / st->every + 1 + (st->steps % st->every != 0);
    static const char *const paths[] = {"lod.lambda", "lod.prune_tol"};
    static const char *const names[] = {"lambda", "prune_tol"};
    LR_TRY(lr_run_use_rank_offsets(run, NULL, 1));
    LR_TRY(lr_run_set_layout(run, st->r + st->nrec, 0));
    LR_TRY(lr_run_trial_columns(run, paths, names, 2));
    if (lr_table_dict_index(run->trials, (size_t)run->col.compressor, "lod") < 0) LR_ERROR(LR_ENOMEM, "out of memory");
#define COL(slot, name, type, doc) LR_TRY(lr_run_add_column(run, &st->slot, name, type, doc))
    COL(c_problem, "problem", LR_COL_NAME, "lod.problem of the row: isotropic, covariance, autoencoder or planted");
    for (int p = 0; p < LOD_NPROBLEMS; p++)
        if (lr_table_dict_index(run->trials, (size_t)st->c_problem, lod_problem_names[p]) < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    COL(c_row, "row_kind", LR_COL_NAME, "component: component b of the trained layer; trace: one recorded training step");
    for (int p = 0; p < LOD_NROWKINDS; p++)
        if (lr_table_dict_index(run->trials, (size_t)st->c_row, lod_row_names[p]) < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    COL(c_b, "b", LR_COL_INT, "component rows: the rank b (1-based); trace rows: 0");
    COL(c_step, "step", LR_COL_INT, "recovery: full-batch steps taken (trace rows: when recorded); planted: epochs");
    COL(c_sin_left, "sin_left", LR_COL_REAL,
        "sine of the largest principal angle between span(V_b) and the true b-dim column space (dimensionless); "
        "trace rows: the largest of sin_left, sin_right over every b");
    COL(c_sin_right, "sin_right", LR_COL_REAL, "sine of the largest principal angle between span(U_b) and the true row space");
    COL(c_rel_err, "rel_err", LR_COL_REAL, "||V_b U_b^T - W_b||_F / ||W_b||_F, W_b the true rank-b map");
    COL(c_sv_trained, "sv_trained", LR_COL_REAL, "b-th singular value of the trained V_r U_r^T (units of Y per unit of X)");
    COL(c_sv_true, "sv_true", LR_COL_REAL, "b-th singular value of the true W_r");
    COL(c_importance, "importance", LR_COL_REAL,
        "||U_{:,b:}||_F ||V_{:,b:}||_F / ||U||_F ||V||_F (planted: before the last epoch's pruning; NaN: cut earlier)");
    COL(c_rank_kept, "rank_kept", LR_COL_INT, "components the layer kept after pruning");
    COL(c_rank_true, "rank_true", LR_COL_INT, "planted: lod.true_rank; recovery: lod.rank");
    COL(c_loss, "loss", LR_COL_REAL, "expected squared loss (recovery) or last epoch's mean loss (planted), units of Y^2");
    return LR_OK;
}

static void lod_release(void *state)
{
    lod_state *st = state;
    if (st) lod_network_release(st->net);
    free(st);
}

static int lod_write_results(const lr_run *run, long long file)
{
    const lod_state *st = run->exp_state;
    hid_t f = (hid_t)file;
    LR_TRY(lr_h5_attr_str(f, "lod_problem", lod_problem_names[st->problem]));
    if (st->problem == LOD_NETWORK) return lod_network_write_results(st->net, file);
    return lr_h5_attr_str(f, "lod_note", st->problem == LOD_PLANTED
                                             ? "minibatch LoD with the hierarchical group lasso (prox) and end-of-epoch pruning"
                                             : "full-batch descent on the exact expected gradient over the rank distribution; "
                                               "truth computed from each trial's data (src/nn/lod_check.h)");
}

static const lr_key *const lod_includes[] = {lr_train_data_schema, NULL};

const lr_experiment lr_experiment_lod = {
    .name = "lod",
    .description = "LoD (Horvath et al. 2024): ordered low-rank training recovers the nested SVD, dd_rank and PCA answers "
                   "of linear problems and a planted rank under the group lasso, and on trained MLPs meets svd_w and "
                   "dd_rank truncations at equal parameter counts",
    .includes = lod_includes,
    .schema = lr_lod_schema,
    .summaries = 0,
    .prepare = lod_prepare,
    .ws_alloc = lod_ws_alloc,
    .ws_free = lod_ws_free,
    .unit = lod_unit,
    .release = lod_release,
    .write_results = lod_write_results,
    .report = lr_lod_report,
    .plot = lr_lod_plot,
};
