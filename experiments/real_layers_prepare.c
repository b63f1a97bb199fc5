/* Experiment `real_layers`, preparation: the config keys, the dump and its checks, the
 * network's forward pass against the stored activations, the budgets and the /trials
 * columns (the experiment and its maths: real_layers.c). */
#include <cblas.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/error.h"
#include "io/dump.h"
#include "io/h5.h"
#include "nn/net.h"
#include "nn/reduce.h"
#include "real_layers.h"
#include "run/run.h"

/* The compressors real_layers offers: every registered one that does not need the noise
 * level of Y, which a real layer does not know (the i-th of them, NULL past the end). */
static const char *real_compressor_name_at(size_t i)
{
    for (size_t j = 0; lr_compressors[j]; j++)
        if (!lr_compressors[j]->needs_noise_level && i-- == 0) return lr_compressors[j]->name;
    return NULL;
}

const lr_key lr_rl_schema[] = {
    {.path = "dump", .type = LR_KEY_STRING, .required = 1, .def = NAN,
     .doc = "layer dump (HDF5, data/README.md); a relative path is looked up in the working " "directory, then in the config file's directory and each of its ancestors"},
    {.path = "dump_check.rtol", .type = LR_KEY_REAL, .def = 1e-4, .max = 1,
     .doc = "largest ||Y - X W^T - b||_F / ||Y||_F accepted in a dump"},
    {.path = "dump_check.block_rows", .type = LR_KEY_INT, .def = 4096, .min = 1, .max = 1e7,
     .doc = "rows per block when streaming X and Y"},
    {.path = "layers.target", .type = LR_KEY_STRING, .def = NAN, .def_str = "product", .choices = "product|recorded",
     .doc = "the layer stage's Y: \"product\" = X W^T + b in double from the stored X and W " "(docs/theory.md section 1's Y = XW), \"recorded\" = the dump's stored Y"},
    {.path = "layers.ranks", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[]", .min = 1, .max = 1e6,
     .doc = "ranks of the per-layer error curves ([]: every rank 1 .. min(N0a, N1))"},
    {.path = "compress.methods", .type = LR_KEY_STRING_LIST, .def = NAN, .def_str = "[\"svd_w\", \"dd_rank\", \"whiten\", \"act_scaled\"]", .names = real_compressor_name_at,
     .doc = "compressors to run"},
    {.path = "compress.alpha", .type = LR_KEY_REAL, .sweepable = 1, .def = 0.5, .max = 10,
     .doc = "act_scaled: exponent of the activation statistic"},
    {.path = "compress.jitter", .type = LR_KEY_REAL, .max = 1,
     .doc = "whiten: relative jitter added to the diagonal of X~^T X~ before Cholesky (0: none)"},
    {.path = "compress.rank_rtol", .type = LR_KEY_REAL, .max = 1,
     .doc = "relative tolerance of the numerical rank of X~ (0: max(r, N0a) * eps)"},
    {.path = "network.evaluate", .type = LR_KEY_BOOL, .def = 1,
     .doc = "run the sequential and network stages when the dump allows it"},
    {.path = "network.budget_kind", .type = LR_KEY_STRING, .def = NAN, .def_str = "params", .choices = "params|rank|energy",
     .doc = "how network.budgets are read: parameter ratio, rank, or kept energy of W"},
    {.path = "network.budgets", .type = LR_KEY_REAL_LIST, .def = NAN, .def_str = "[0.05, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1.0]", .max = 1e6,
     .doc = "budgets of the sequential compression (one network row each)"},
    {.path = "network.keep_dense", .type = LR_KEY_STRING_LIST, .def = NAN, .def_str = "[]",
     .doc = "layers left uncompressed in the network stages: module names, or \"first\" / \"last\" " "(their parameters count in full towards the budget)"},
    {.path = "network.forward_rtol", .type = LR_KEY_REAL, .def = 1e-5, .max = 1,
     .doc = "largest relative difference accepted between lrlab's forward pass and the stored Y"},
    {.path = "network.test_max", .type = LR_KEY_INT, .max = 1e9,
     .doc = "use at most this many test samples (0: all)"},
    {.path = "network.batch", .type = LR_KEY_INT, .def = 256, .min = 1, .max = 1e6,
     .doc = "samples per batch of the test-set forward pass"},
    {.path = NULL}};

const char *const lr_rl_stage_names[] = {"layer", "sequential", "network"};

/* Singular values of A (copied), into a fresh array; n set to min(rows, cols). */
int lr_rl_singular_values(lr_mat A, double **s, size_t *n)
{
    size_t mn = A.rows < A.cols ? A.rows : A.cols;
    *n = mn;
    *s = lr_calloc(mn ? mn : 1, sizeof(double));
    double *c = lr_malloc(sz1(A.rows * A.cols) * sizeof(double));
    lr_svd_plan *p = lr_svd_plan_alloc(A.rows ? A.rows : 1, A.cols ? A.cols : 1);
    int st = *s && c && p ? LR_OK : LR_ENOMEM;
    if (st == LR_OK && mn) {
        lr_mat C = lr_mat_wrap(c, A.rows, A.cols);
        lr_mat_copy(C, A);
        lr_mat none = {NULL, 0, 0, 1};
        st = lr_svd(p, C, *s, none, none, NULL);
    }
    lr_free(c);
    lr_svd_plan_free(p);
    if (st != LR_OK) { /* no values: callers read *s only when *n > 0 */
        lr_free(*s);
        *s = NULL;
        *n = 0;
    }
    if (st == LR_ENOMEM) LR_ERROR(LR_ENOMEM, "out of memory for a spectrum");
    return st;
}

size_t lr_rl_kcap(const rl_layer *L) { return L->n0a < L->n1 ? L->n0a : L->n1; }

double lr_rl_param_ratio(const rl_layer *L, size_t k)
{
    return (double)k * (double)(L->n0a + L->n1) / L->dense_params;
}

double lr_rl_energy_at(const rl_layer *L, size_t k)
{
    double tot = 0, kept = 0;
    for (size_t i = 0; i < L->nspec_w; i++) {
        tot += L->spec_w[i] * L->spec_w[i];
        if (i < k) kept += L->spec_w[i] * L->spec_w[i];
    }
    return tot > 0 ? kept / tot : 1.0;
}

static size_t budget_rank(const rl_layer *L, const char *kind, double b)
{
    size_t cap = lr_rl_kcap(L), k;
    if (!strcmp(kind, "rank")) {
        k = b < 1 ? 1 : (size_t)b;
    } else if (!strcmp(kind, "energy")) {
        k = cap;
        for (size_t j = 1; j <= cap; j++)
            if (lr_rl_energy_at(L, j) >= b * (1 - 1e-15)) {
                k = j;
                break;
            }
    } else {
        double kk = floor(b * L->dense_params / (double)(L->n0a + L->n1));
        k = kk < 1 ? 1 : (size_t)kk;
    }
    return k > cap ? cap : (k < 1 ? 1 : k);
}

/* A layer with m <= N0a calibration rows: X~ has rank at most m, so X~ M can match any
 * observation and the data-driven fit is exact at rank m; its layer error is then no
 * evidence for the data-driven compressor over svd_w. */
static int warn_few_rows(lr_run *run, const rl_state *st)
{
    for (size_t l = 0; l < st->nl; l++) {
        const lr_dump_layer *D = &st->dump->layers[l];
        if (D->m <= st->L[l].n0a)
            LR_TRY(lr_run_warn(run, "layer %s: m = %zu calibration rows <= N0 = %zu inputs%s: the data-driven fit "
                               "is exact at rank m and the comparison with svd_w says nothing; dump more "
                               "calibration rows (tools/dump_torch.py --n-calib)", D->module, D->m,
                               st->L[l].n0a, D->has_bias ? " (with the bias column)" : ""));
    }
    return LR_OK;
}

/* A budget of 1 reads as "the dense network", but a rank-k factorisation of an N0a x N1
 * layer costs k (N0a + N1) parameters: at the dense count (kind params) it keeps k =
 * N0a N1 / (N0a + N1) < min(N0a, N1), and kind rank 1 is rank 1.  Say which layers the
 * network row at budget 1 truncates. */
static int warn_budget_one(lr_run *run, const rl_state *st, size_t b)
{
    size_t cut = 0, first = 0;
    for (size_t l = 0; l < st->nl; l++)
        if (!st->L[l].keep_dense && st->L[l].kbud[b] < lr_rl_kcap(&st->L[l]) && !cut++) first = l;
    if (!cut) return LR_OK;
    const rl_layer *L = &st->L[first];
    return lr_run_warn(run, "network.budgets holds 1 (budget_kind \"%s\"), which is not the dense network: "
                       "layer %s keeps rank %zu of %zu (%zu of %zu layers truncated), so its accuracy is not the "
                       "dense accuracy; budget_kind \"energy\" at 1 keeps every layer whole, and the report "
                       "prints the dense accuracy", st->budget_kind, st->dump->layers[first].module,
                       L->kbud[b], lr_rl_kcap(L), cut, st->nl);
}

static int declare_columns(lr_run *run, rl_state *st)
{
    static const char *const paths[] = {"compress.alpha"};
    static const char *const names[] = {"alpha"};
    LR_TRY(lr_run_trial_columns(run, paths, names, 1));
    LR_TRY(lr_run_add_column(run, &st->c_stage, "stage", LR_COL_NAME,
                   "layer: the dumped layer alone (X~ = X); sequential: ZS25's sequential "
                   "compression (X~ = the compressed network's input); network: accuracy"));
    for (int i = 0; i < 3; i++)
        if (lr_table_dict_index(run->trials, (size_t)st->c_stage, lr_rl_stage_names[i]) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
    LR_TRY(lr_run_add_column(run, &st->c_layer, "layer", LR_COL_NAME, "PyTorch module name of the layer ('(network)' for network rows)"));
    /* Every name the units will use, so that they only read the dictionary (units may run
     * on several threads). */
    for (size_t l = 0; l < st->nl; l++)
        if (lr_table_dict_index(run->trials, (size_t)st->c_layer, st->dump->layers[l].module) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
    if (lr_table_dict_index(run->trials, (size_t)st->c_layer, "(network)") < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    LR_TRY(lr_run_add_column(run, &st->c_layer_index, "layer_index", LR_COL_INT, "position of the layer in forward order (-1: network)"));
    LR_TRY(lr_run_add_column(run, &st->c_n0, "N0", LR_COL_INT, "layer inputs, with the bias column when folded (N0a)"));
    LR_TRY(lr_run_add_column(run, &st->c_n1, "N1", LR_COL_INT, "layer outputs"));
    LR_TRY(lr_run_add_column(run, &st->c_m, "m", LR_COL_INT, "rows of X~ (samples, or im2col rows)"));
    LR_TRY(lr_run_add_column(run, &st->c_budget, "budget", LR_COL_REAL, "network budget (network.budget_kind); NaN in the layer stage"));
    LR_TRY(lr_run_add_column(run, &st->c_param_ratio, "param_ratio", LR_COL_REAL,
                   "k (N0a + N1) / (N0a N1) for a layer; for a network row, the whole network's ratio"));
    LR_TRY(lr_run_add_column(run, &st->c_energy, "energy", LR_COL_REAL,
                   "sum_{i<=k} sigma_i(W)^2 / sum_i sigma_i(W)^2 (network rows: mean over layers)"));
    LR_TRY(lr_run_add_column(run, &st->c_err_y, "err_y", LR_COL_REAL, "||X~ M - Y||_F (Y: the stored / original pre-activations)"));
    LR_TRY(lr_run_add_column(run, &st->c_err_y_rel, "err_y_rel", LR_COL_REAL, "err_y / ||Y||_F"));
    LR_TRY(lr_run_add_column(run, &st->c_tau, "tau_k", LR_COL_REAL, "tau_k(X~ W): the smallest err_layer any rank-k M can have"));
    LR_TRY(lr_run_add_column(run, &st->c_pg_fro, "pg_fro", LR_COL_REAL, "||P G||_F, G = Y - X~ W"));
    LR_TRY(lr_run_add_column(run, &st->c_sigma_hat, "sigma_hat", LR_COL_REAL,
                   "noise-level estimate ||(I - P) Y||_F / sqrt((m - q) N1) (NaN if m <= q)"));
    LR_TRY(lr_run_add_column(run, &st->c_thm2a_hat, "thm2a_hat", LR_COL_REAL,
                   "Theorem 2(a) with ||PG||_op replaced by sigma_hat (sqrt q + sqrt N1 + t)"));
    LR_TRY(lr_run_add_column(run, &st->c_thm2a_hat_held, "thm2a_hat_held", LR_COL_FLAG, "1 if dd_rank's err_fro <= thm2a_hat (-1: n/a)"));
    LR_TRY(lr_run_add_column(run, &st->c_route, "route", LR_COL_INT,
                   "compressor's numerical route (whiten: 0 Cholesky, 1 with jitter, 2 pivoted-QR "
                   "fallback; act_scaled: 1 if some input was never active)"));
    LR_TRY(lr_run_add_column(run, &st->c_dd_le_da, "le_svd_w", LR_COL_FLAG,
                   "layer stage: 1 if err_layer <= svd_w's at this rank (slack bounds.tol, relative and of ||X~W||_F), "
                   "2 if only within svd_w's + 2 ||PG||_F, 0 if neither, -1 n/a"));
    LR_TRY(lr_run_add_column(run, &st->c_dd_le_da_y, "le_svd_w_y", LR_COL_FLAG,
                   "layer stage: 1 if err_y (against the fitted Y of layers.target, which dd_rank "
                   "minimises exactly) <= svd_w's at this rank (slack as le_svd_w), 0 if not, -1 n/a"));
    LR_TRY(lr_run_add_column(run, &st->c_accuracy, "accuracy", LR_COL_REAL, "test accuracy of the compressed network (network rows)"));
    LR_TRY(lr_run_add_column(run, &st->c_accuracy_dense, "accuracy_dense", LR_COL_REAL, "test accuracy of the dense network in lrlab's forward pass"));
    LR_TRY(lr_run_add_column(run, &st->c_net_ratio, "net_param_ratio", LR_COL_REAL, "the whole network's parameter ratio at this budget"));
    return LR_OK;
}

/* Forward pass on the calibration inputs against the stored X and Y; keeps the original
 * pre-activations for the sequential stage. */
static int forward_check(rl_state *st, double rtol)
{
    const lr_dump *d = st->dump;
    size_t n = st->n_calib;
    double *act = lr_malloc(n * st->net->in_dim * sizeof(double));
    if (!act) LR_ERROR(LR_ENOMEM, "out of memory");
    lr_mat A = lr_mat_wrap(act, n, st->net->in_dim);
    lr_mat_copy(A, st->calib_x);
    int s = LR_OK;
    char lab[400];
    for (size_t l = 0; l < st->nl && s == LR_OK; l++) {
        const lr_net_layer *NL = &st->net->layers[l];
        rl_layer *RL = &st->L[l];
        const lr_dump_layer *D = &d->layers[l];
        lr_dump_layer_label(d, l, lab, sizeof lab);
        size_t rows = lr_net_rows(NL, n);
        if (D->rows_total != rows) {
            s = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: rows_total = %zu, but the %zu "
                         "calibration inputs give %zu rows: the layers were not computed on /inputs",
                         d->path, lab, D->rows_total, n, rows);
            break;
        }
        RL->rows_total = rows;
        double *xb = lr_malloc(rows * NL->n0 * sizeof(double)), *nx = lr_malloc(n * NL->post_dim * sizeof(double));
        RL->Yo = lr_malloc(rows * NL->n1 * sizeof(double));
        long long *idx = lr_malloc(D->m * sizeof(long long));
        double *sx = lr_malloc(D->m * NL->n0 * sizeof(double)), *sy = lr_malloc(D->m * NL->n1 * sizeof(double));
        if (!xb || !nx || !RL->Yo || !idx || !sx || !sy) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        lr_mat X = lr_mat_wrap(xb, rows, NL->n0), Y = lr_mat_wrap(RL->Yo, rows, NL->n1), N = lr_mat_wrap(nx, n, NL->post_dim);
        lr_mat SX = lr_mat_wrap(sx, D->m, NL->n0), SY = lr_mat_wrap(sy, D->m, NL->n1);
        if (s == LR_OK) s = lr_net_im2col(NL, A, X);
        if (s == LR_OK) s = lr_net_apply(NL, NULL, X, Y);
        if (s == LR_OK) s = lr_dump_read_row_index(d, l, idx);
        if (s == LR_OK) s = lr_dump_read_rows(d, l, "X", 0, SX);
        if (s == LR_OK) s = lr_dump_read_rows(d, l, "Y", 0, SY);
        if (s == LR_OK) {
            double dx = 0, nxs = 0, dy = 0, nys = 0;
            for (size_t i = 0; i < D->m; i++) {
                size_t ri = (size_t)idx[i];
                for (size_t j = 0; j < NL->n0; j++) {
                    double a = LR_AT(X, ri, j), b = LR_AT(SX, i, j);
                    dx += (a - b) * (a - b);
                    nxs += b * b;
                }
                for (size_t j = 0; j < NL->n1; j++) {
                    double a = LR_AT(Y, ri, j), b = LR_AT(SY, i, j);
                    dy += (a - b) * (a - b);
                    nys += b * b;
                }
            }
            RL->fwd_rel_x = nxs > 0 ? sqrt(dx / nxs) : sqrt(dx);
            RL->fwd_rel_y = nys > 0 ? sqrt(dy / nys) : sqrt(dy);
            if (!(RL->fwd_rel_y <= rtol))
                s = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: lrlab's forward pass differs from "
                             "the stored 'Y' by %.3g (relative, Frobenius) > network.forward_rtol = %.3g: "
                             "the network description (post ops, shapes) does not match the dump",
                             d->path, lab, RL->fwd_rel_y, rtol);
        }
        if (s == LR_OK) s = lr_net_post(NL, Y, n, N);
        lr_free(xb);
        lr_free(idx);
        lr_free(sx);
        lr_free(sy);
        lr_free(act);
        act = nx;
        A = N;
    }
    lr_free(act);
    return s;
}

int lr_rl_test_accuracy(const rl_state *st, const lr_net_lowrank *lr, size_t *correct)
{
    return lr_net_correct(st->net, lr, st->test_x, st->test_labels, (size_t)st->batch, correct);
}

/* Yb = Xb W + 1 b^T in double: the layer's response to the stored inputs (the dump's Y is
 * the same product rounded to its storage precision, checked by lr_dump_check_layer). */
static int layer_product(const rl_layer *L, lr_mat Xb, lr_mat Yb)
{
    LR_TRY(lr_gemm('N', 'N', 1.0, Xb, lr_mat_view(L->Wa, 0, 0, L->n0, L->n1), 0.0, Yb));
    if (L->bias)
        for (size_t j = 0; j < L->n1; j++)
            for (size_t i = 0; i < Yb.rows; i++) LR_AT(Yb, i, j) += LR_AT(L->Wa, L->n0, j);
    return LR_OK;
}

static int prepare_layers(lr_run *run, rl_state *st)
{
    const lr_config *c = run->cfg;
    double rtol_check = lr_config_num(c, 0, "dump_check.rtol");
    size_t block = (size_t)lr_config_num(c, 0, "dump_check.block_rows");
    const long *rl;
    size_t nrl = lr_config_int_list(c, "layers.ranks", &rl);
    int recorded = !strcmp(lr_config_str(c, "layers.target"), "recorded");
    st->nl = st->dump->nlayers;
    st->L = calloc(st->nl, sizeof *st->L);
    if (!st->L) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t l = 0; l < st->nl; l++) {
        const lr_dump_layer *D = &st->dump->layers[l];
        rl_layer *L = &st->L[l];
        lr_dump_check_report rep;
        LR_TRY(lr_dump_check_layer(st->dump, l, rtol_check, block, &rep));
        L->check_rel = rep.resid_rel;
        L->n0 = D->n0;
        L->n1 = D->n1;
        L->bias = D->has_bias;
        L->n0a = D->n0 + (size_t)D->has_bias;
        L->dense_params = (double)L->n1 * ((double)D->n0 / (double)(D->groups > 1 ? D->groups : 1) + D->has_bias);
        L->Wa.data = lr_malloc(L->n0a * L->n1 * sizeof(double));
        L->Wa.rows = L->Wa.ld = L->n0a;
        L->Wa.cols = L->n1;
        double *b = lr_malloc(L->n1 * sizeof(double));
        if (!L->Wa.data || !b) {
            lr_free(b);
            LR_ERROR(LR_ENOMEM, "out of memory");
        }
        int s = lr_dump_read_weights(st->dump, l, lr_mat_view(L->Wa, 0, 0, L->n0, L->n1), b);
        if (L->bias)
            for (size_t j = 0; j < L->n1; j++) LR_AT(L->Wa, L->n0, j) = b[j];
        lr_free(b);
        LR_TRY(s);
        /* The stored X, Y streamed into their reduction. */
        LR_TRY(lr_reduced_init(&L->rd, L->n0, L->n1, L->bias, block, D->m));
        double *xb = lr_malloc(block * L->n0 * sizeof(double)), *yb = lr_malloc(block * L->n1 * sizeof(double));
        if (!xb || !yb) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        for (size_t r0 = 0; s == LR_OK && r0 < D->m; r0 += block) {
            size_t nb = D->m - r0 < block ? D->m - r0 : block;
            lr_mat Xb = lr_mat_wrap(xb, nb, L->n0), Yb = lr_mat_wrap(yb, nb, L->n1);
            s = lr_dump_read_rows(st->dump, l, "X", r0, Xb);
            if (s == LR_OK) s = recorded ? lr_dump_read_rows(st->dump, l, "Y", r0, Yb) : layer_product(L, Xb, Yb);
            if (s == LR_OK) s = lr_reduced_add(&L->rd, Xb, Yb);
        }
        lr_free(xb);
        lr_free(yb);
        LR_TRY(s);
        LR_TRY(lr_reduced_finish(&L->rd));
        /* Spectra: W (with the bias row), X~ (with the ones column), X~ W. */
        LR_TRY(lr_rl_singular_values(L->Wa, &L->spec_w, &L->nspec_w));
        LR_TRY(lr_rl_singular_values(L->rd.X, &L->spec_x, &L->nspec_x));
        double *z = lr_malloc(L->rd.r * L->n1 * sizeof(double));
        if (!z) LR_ERROR(LR_ENOMEM, "out of memory");
        lr_mat Z = lr_mat_wrap(z, L->rd.r, L->n1);
        s = lr_gemm('N', 'N', 1.0, L->rd.X, L->Wa, 0.0, Z);
        if (s == LR_OK) s = lr_rl_singular_values(Z, &L->spec_xw, &L->nspec_xw);
        lr_free(z);
        LR_TRY(s);
        /* Ranks of the error curves. */
        size_t cap = lr_rl_kcap(L);
        L->ranks = calloc(nrl ? nrl : cap, sizeof(size_t));
        if (!L->ranks) LR_ERROR(LR_ENOMEM, "out of memory");
        if (nrl == 0) {
            for (size_t k = 1; k <= cap; k++) L->ranks[L->nranks++] = k;
        } else {
            for (size_t i = 0; i < nrl; i++) {
                size_t k = (size_t)rl[i] < cap ? (size_t)rl[i] : cap;
                int dup = 0;
                for (size_t j = 0; j < L->nranks; j++) dup |= L->ranks[j] == k;
                if (!dup) L->ranks[L->nranks++] = k;
            }
            for (size_t i = 1; i < L->nranks; i++) /* insertion sort: ascending */
                for (size_t j = i; j > 0 && L->ranks[j - 1] > L->ranks[j]; j--) {
                    size_t t = L->ranks[j];
                    L->ranks[j] = L->ranks[j - 1];
                    L->ranks[j - 1] = t;
                }
        }
        size_t rmax = L->rd.r, cols = L->n0a > L->n1 ? L->n0a : L->n1;
        if (rmax > st->max_m) st->max_m = rmax;
        if (L->n0a > st->max_m) st->max_m = L->n0a;
        if (cols > st->max_n) st->max_n = cols;
    }
    return LR_OK;
}

static int prepare_network(lr_run *run, rl_state *st)
{
    const lr_config *c = run->cfg;
    const lr_dump *d = st->dump;
    st->evaluate = 0;
    st->acc_dense = st->acc_recorded = NAN;
    if (!lr_config_num(c, 0, "network.evaluate")) {
        snprintf(st->note, sizeof st->note, "network stages switched off (network.evaluate = false)");
        return LR_OK;
    }
    if (!d->sequential) {
        snprintf(st->note, sizeof st->note, "network = \"layers\": the dump describes layers, not a "
                 "sequential network; only the layer stage ran");
        return LR_OK;
    }
    if (!d->has_inputs || !d->has_labels || d->n_calib == 0 || d->n_calib >= d->n_inputs) {
        snprintf(st->note, sizeof st->note, "the dump has no /inputs with labels, calibration and "
                 "test samples; only the layer stage ran");
        return LR_OK;
    }
    LR_TRY(lr_net_from_dump(d, &st->net));
    st->n_calib = d->n_calib;
    st->n_test = d->n_inputs - d->n_calib;
    size_t tmax = (size_t)lr_config_num(c, 0, "network.test_max");
    if (tmax && tmax < st->n_test) st->n_test = tmax;
    st->calib_x.data = lr_malloc(st->n_calib * d->input_dim * sizeof(double));
    st->test_x.data = lr_malloc(st->n_test * d->input_dim * sizeof(double));
    st->test_labels = lr_malloc(st->n_test * sizeof(long));
    if (!st->calib_x.data || !st->test_x.data || !st->test_labels) LR_ERROR(LR_ENOMEM, "out of memory");
    st->calib_x = lr_mat_wrap(st->calib_x.data, st->n_calib, d->input_dim);
    st->test_x = lr_mat_wrap(st->test_x.data, st->n_test, d->input_dim);
    LR_TRY(lr_dump_read_inputs(d, 0, st->n_calib, st->calib_x, NULL));
    LR_TRY(lr_dump_read_inputs(d, st->n_calib, st->n_test, st->test_x, st->test_labels));
    /* A label the network cannot output would count as wrong without a word. */
    for (size_t i = 0; i < st->n_test; i++)
        if (st->test_labels[i] >= (long)st->net->out_dim)
            LR_ERRORF(LR_EDATA, "%s: /inputs: label %ld of test sample %zu is not a class of the "
                      "network's %zu outputs", d->path, st->test_labels[i], st->n_calib + i, st->net->out_dim);
    LR_TRY(forward_check(st, lr_config_num(c, 0, "network.forward_rtol")));
    LR_TRY(lr_rl_test_accuracy(st, NULL, &st->correct_dense));
    st->acc_dense = (double)st->correct_dense / (double)st->n_test;
    st->acc_recorded = d->test_accuracy;
    if (tmax && tmax < d->n_inputs - d->n_calib)
        snprintf(st->note, sizeof st->note, "network stages on the first %zu of %zu test samples "
                 "(network.test_max): the recorded accuracy is not comparable", st->n_test,
                 d->n_inputs - d->n_calib);
    else if (!isnan(st->acc_recorded) &&
             fabs(st->acc_dense - st->acc_recorded) * (double)st->n_test > 1.0 + 1e-9)
        snprintf(st->note, sizeof st->note, "lrlab's dense accuracy %.6f differs from the recorded "
                 "%.6f by more than one test sample", st->acc_dense, st->acc_recorded);
    else
        snprintf(st->note, sizeof st->note, "dense accuracy %.6f (recorded %.6f) on %zu test samples",
                 st->acc_dense, st->acc_recorded, st->n_test);
    for (size_t l = 0; l < st->nl; l++) {
        rl_layer *L = &st->L[l];
        size_t r = L->rows_total < L->n0a + L->n1 ? L->rows_total : L->n0a + L->n1;
        if (r > st->max_m) st->max_m = r;
    }
    st->evaluate = 1;
    return LR_OK;
}

int lr_rl_prepare(lr_run *run, void **state)
{
    const lr_config *c = run->cfg;
    rl_state *st = calloc(1, sizeof *st);
    if (!st) LR_ERROR(LR_ENOMEM, "out of memory");
    *state = st;
    char where[512];
    if (lr_config_given(c, "trials") && lr_config_num(c, 0, "trials") != 1)
        LR_ERRORF(LR_ECONFIG, "%s: real_layers is deterministic: trials must be 1",
                  lr_config_where(c, "trials", where, sizeof where));
    const char *const *names;
    size_t ncomps = lr_config_str_list(c, "compress.methods", &names);
    LR_TRY(lr_run_use_compressors(run, names, ncomps, "compress.methods"));
    /* The layer stage checks Theorem 2(a) for dd_rank, through the registry. */
    static const char *const checked[] = {"thm2a"};
    LR_TRY(lr_run_use_bounds(run, checked, 1, "compress.methods"));
    /* The layer stage holds one set of constants for every unit. */
    for (size_t a = 0; a < lr_config_naxes(c); a++)
        if (!strncmp(lr_config_axis_path(c, a), "bounds.", 7))
            LR_ERRORF(LR_ECONFIG, "%s: real_layers takes one value of each bound constant, not a sweep",
                      lr_config_where(c, lr_config_axis_path(c, a), where, sizeof where));
    st->tol = run->bparams.tol;
    st->C = run->bparams.C;
    st->t = run->bparams.t;
    st->rank_rtol = lr_config_num(c, 0, "compress.rank_rtol");
    st->jitter = lr_config_num(c, 0, "compress.jitter");
    st->batch = (int)lr_config_num(c, 0, "network.batch");
    st->budget_kind = lr_config_str(c, "network.budget_kind");
    st->nbud = lr_config_real_list(c, "network.budgets", &st->budgets);
    for (size_t i = 0; i < st->nbud; i++)
        if (!(st->budgets[i] > 0) || (strcmp(st->budget_kind, "rank") && st->budgets[i] > 1.0 &&
                                      !strcmp(st->budget_kind, "energy")))
            LR_ERRORF(LR_ECONFIG, "%s: element %zu = %g must lie in (0, 1] for kind \"%s\" "
                      "(and be positive for the others)",
                      lr_config_where(c, "network.budgets", where, sizeof where), i + 1,
                      st->budgets[i], st->budget_kind);

    LR_TRY(lr_dump_resolve(c, "dump", st->dump_path, sizeof st->dump_path));
    LR_TRY(lr_dump_open(st->dump_path, &st->dump));
    lr_file_sha256(st->dump_path, st->dump_sha);
    LR_TRY(prepare_layers(run, st));
    LR_TRY(warn_few_rows(run, st));
    LR_TRY(prepare_network(run, st));
    if (!st->evaluate) st->nbud = 0;
    const char *const *keep;
    size_t nkeep = lr_config_str_list(c, "network.keep_dense", &keep);
    for (size_t i = 0; i < nkeep; i++) {
        int found = 0;
        for (size_t l = 0; l < st->nl; l++)
            if (!strcmp(keep[i], st->dump->layers[l].module) || (!strcmp(keep[i], "first") && l == 0) ||
                (!strcmp(keep[i], "last") && l + 1 == st->nl)) {
                st->L[l].keep_dense = 1;
                found = 1;
            }
        if (!found)
            LR_ERRORF(LR_ECONFIG, "%s: element %zu = \"%s\" names no layer of %s",
                      lr_config_where(c, "network.keep_dense", where, sizeof where), i + 1, keep[i],
                      st->dump_path);
    }

    st->net_ratio = calloc(st->nbud + 1, sizeof(double));
    st->net_energy = calloc(st->nbud + 1, sizeof(double));
    if (!st->net_ratio || !st->net_energy) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t l = 0; l < st->nl; l++) {
        st->L[l].kbud = calloc(st->nbud + 1, sizeof(size_t));
        if (!st->L[l].kbud) LR_ERROR(LR_ENOMEM, "out of memory");
    }
    /* A "params" budget is a ratio of the whole network's dense parameter count: layers
     * kept dense count in full, the others share what is left at one common ratio. */
    double dense_all = 0, dense_kept = 0;
    for (size_t l = 0; l < st->nl; l++) {
        double p = st->L[l].dense_params;
        dense_all += p;
        if (st->L[l].keep_dense) dense_kept += p;
    }
    for (size_t b = 0; b < st->nbud; b++) {
        double kept = 0, dense = 0, en = 0, bl = st->budgets[b];
        if (!strcmp(st->budget_kind, "params")) {
            if (dense_all - dense_kept <= 0 || bl * dense_all <= dense_kept)
                LR_ERRORF(LR_ECONFIG, "%s: budget %g of the parameters is used up by the layers of "
                          "network.keep_dense (%.3g of the total)",
                          lr_config_where(c, "network.budgets", where, sizeof where), bl,
                          dense_kept / dense_all);
            bl = (bl * dense_all - dense_kept) / (dense_all - dense_kept);
        }
        for (size_t l = 0; l < st->nl; l++) {
            rl_layer *L = &st->L[l];
            size_t k = L->kbud[b] = L->keep_dense ? lr_rl_kcap(L) : budget_rank(L, st->budget_kind, bl);
            kept += L->keep_dense ? L->dense_params : (double)k * (double)(L->n0a + L->n1);
            dense += L->dense_params;
            en += L->keep_dense ? 1.0 : lr_rl_energy_at(L, k);
        }
        st->net_ratio[b] = kept / dense;
        st->net_energy[b] = en / (double)st->nl;
        if (st->budgets[b] == 1.0 && strcmp(st->budget_kind, "energy")) LR_TRY(warn_budget_one(run, st, b));
    }

    size_t nslots = 0;
    for (size_t l = 0; l < st->nl; l++) nslots += st->L[l].nranks;
    st->slot_seq = nslots;
    nslots += st->nbud * st->nl;
    st->slot_net = nslots;
    nslots += st->nbud;
    st->nslots = nslots;
    /* Rows are per compressor x slot (layer x rank, then budget x layer, then budget); the
     * runner's rank index is the slot, with no rank offsets. */
    LR_TRY(lr_run_use_rank_offsets(run, NULL, nslots));
    LR_TRY(lr_run_set_layout(run, run->ncomps * nslots, 1)); /* deterministic: one trial */

    for (size_t l = 0; l < st->nl; l++) {
        const rl_layer *L = &st->L[l];
        size_t r = L->rd.r > L->rows_total ? L->rd.r : (L->rows_total < L->n0a + L->n1 ? L->rows_total : L->n0a + L->n1);
        size_t need = lr_layer_factor_x_scratch(r, L->n0a) + lr_arena_need(r < L->n0a ? r : L->n0a, L->n0a);
        if (need > st->arena_need) st->arena_need = need;
        if (r > st->shape.m) st->shape.m = r;
        if (L->n0a > st->shape.n0) st->shape.n0 = L->n0a;
        if (L->n1 > st->shape.n1) st->shape.n1 = L->n1;
    }
    return declare_columns(run, st);
}
