/* Experiment `alds`: layer-wise optimal decomposition with rank allocation (ALDS:
 * Liebenwein, Maalouf, Gal, Feldman, Rus, "Compressing Neural Networks: Towards Determining
 * the Optimal Layer-wise Decomposition", NeurIPS 2021; docs/theory.md section 4).
 *
 * A layer's folded weight W (N0 = c kh kw inputs x N1 = f outputs) is sliced into k groups
 * of whole input channels, W = [W_1; ...; W_k], each replaced by its best rank-j
 * approximation: j (k N1 + N0) parameters against N0 N1, and the relative operator-norm
 * error eps = ||W^ - W||_2 / ||W||_2 obeys, with alpha_{i,j+1} the (j+1)-th singular value of
 * W_i and alpha_1 = ||W||_2,
 *     max_i alpha_{i,j+1} / alpha_1  <=  eps  <=  (sum_i alpha_{i,j+1}^2)^(1/2) / alpha_1
 *                                            <=  sqrt(k) max_i alpha_{i,j+1} / alpha_1,
 * all equal to sigma_{j+1}(W) / sigma_1(W) at k = 1 (Eckart-Young-Mirsky).  The allocation
 * minimises max_l eps_l under a parameter budget.  The authors' code ranks choices by the
 * lower bound (`proxy`); the paper states the sqrt(k) bound; lrlab also allocates on the
 * l2 bound and on the computed true error, and always reports the true error.
 *
 * Rows of /trials: per budget (the sweep of alds.budget), network (trial: a synthetic draw,
 * or the one dump), and variant (column compressor: uniform, energy, global, alds_proxy,
 * alds_l2, alds_sqrtk, alds_true, data_driven), one row per layer with (k, j), the
 * parameters, the true error, the criterion's value and the three bounds (registry bounds
 * alds_lower, alds_l2, alds_sqrtk, checked against the true error), then one network row
 * (layer "(network)") with the largest true error, the allocator's objective, the kept
 * ratio and, for a dump of a sequential network, the test accuracy of the compressed
 * network run with its grouped layers as k encoders and a decoder (src/nn/net.h).
 *
 * The data-driven variant allocates ranks on tau_j(X W) / ||X W||_F (X: the layer's
 * calibration inputs; ZS25's quantity, which no ALDS implementation offers) at k = 1 and
 * fits each layer as dd_rank does: W^ = W V_j V_j^T with V_j the top right singular vectors
 * of X W, so that X W^ = [X W]_j (docs/theory.md section 2).  Its rows report the weight error
 * of that W^; the grouped bounds do not apply to it (NaN). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alds.h"
#include "core/error.h"
#include "core/linalg.h"

typedef struct alds_ws {
    size_t nl;
    lr_alds_layer *P;
    lr_alds_choice *choice;
    lr_grouped_plan **gp;   /* one per layer, for the accuracy's factors */
    lr_compressed *comp;    /* the replacement of each layer */
    lr_net_lowrank *rep;
    double **ddA, **ddB;    /* data-driven factors per layer */
    lr_svd_plan *svd;       /* the data-driven weight error */
    double *E, *s;
} alds_ws;

static void alds_ws_free(void *p)
{
    alds_ws *w = p;
    if (!w) return;
    for (size_t l = 0; l < w->nl; l++) {
        if (w->gp) lr_grouped_plan_free(w->gp[l]);
        if (w->ddA) free(w->ddA[l]);
        if (w->ddB) free(w->ddB[l]);
    }
    free(w->P), free(w->choice), free(w->gp), free(w->comp), free(w->rep), free(w->ddA), free(w->ddB);
    lr_svd_plan_free(w->svd);
    free(w->E), free(w->s);
    free(w);
}

static void *alds_ws_alloc(const lr_run *run)
{
    const alds_state *st = run->exp_state;
    const alds_net *N = &st->nets[0];
    alds_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->nl = N->nl;
    w->P = calloc(N->nl, sizeof *w->P);
    w->choice = calloc(N->nl, sizeof *w->choice);
    w->gp = calloc(N->nl, sizeof *w->gp);
    w->comp = calloc(N->nl, sizeof *w->comp);
    w->rep = calloc(N->nl, sizeof *w->rep);
    w->ddA = calloc(N->nl, sizeof *w->ddA);
    w->ddB = calloc(N->nl, sizeof *w->ddB);
    w->svd = lr_svd_plan_alloc(st->max_n0, st->max_n1);
    w->E = malloc(st->max_n0 * st->max_n1 * sizeof(double));
    w->s = malloc((st->max_n0 < st->max_n1 ? st->max_n0 : st->max_n1) * sizeof(double) + sizeof(double));
    if (!w->P || !w->choice || !w->gp || !w->comp || !w->rep || !w->ddA || !w->ddB || !w->svd || !w->E || !w->s) {
        alds_ws_free(w);
        return NULL;
    }
    for (size_t l = 0; l < N->nl; l++) {
        const alds_layer *L = &N->L[l];
        size_t mn = L->n0 < L->n1 ? L->n0 : L->n1;
        w->gp[l] = st->evaluate ? lr_grouped_plan_alloc(L->n0, L->n1) : NULL;
        w->ddA[l] = malloc(L->n0 * mn * sizeof(double));
        w->ddB[l] = malloc(mn * L->n1 * sizeof(double));
        if ((st->evaluate && !w->gp[l]) || !w->ddA[l] || !w->ddB[l]) {
            alds_ws_free(w);
            return NULL;
        }
    }
    return w;
}

/* dd_rank's fit at rank j, W V_j V_j^T, as factors A = W V_j (N0 x j), B = V_j^T. */
static int dd_factors(const alds_layer *L, alds_ws *w, size_t l, size_t j, lr_compressed *out)
{
    lr_mat A = lr_mat_wrap(w->ddA[l], L->n0, j), B = lr_mat_wrap(w->ddB[l], j, L->n1);
    lr_mat Vj = lr_mat_view(L->Vxw, 0, 0, L->n1, j);
    if (j) LR_TRY(lr_gemm('N', 'N', 1.0, L->W, Vj, 0.0, A));
    for (size_t c = 0; c < L->n1; c++)
        for (size_t r = 0; r < j; r++) LR_AT(B, r, c) = LR_AT(Vj, c, r);
    return lr_compressed_lowrank(out, A, B);
}

/* ||W - W^||_2 / ||W||_2 of a compressed W^ (the data-driven rows' error). */
static int weight_error(const alds_layer *L, alds_ws *w, const lr_compressed *c, double *eps)
{
    lr_mat E = lr_mat_wrap(w->E, L->n0, L->n1), none = {NULL, 0, 0, 1};
    LR_TRY(lr_compressed_to_dense(c, E));
    for (size_t j = 0; j < L->n1; j++)
        for (size_t i = 0; i < L->n0; i++) LR_AT(E, i, j) = LR_AT(L->W, i, j) - LR_AT(E, i, j);
    LR_TRY(lr_svd(w->svd, E, w->s, none, none, NULL));
    *eps = L->alpha1 > 0 ? w->s[0] / L->alpha1 : 0.0;
    return LR_OK;
}

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int allocate(alds_variant v, lr_alds_plan *plan, size_t budget, lr_alds_result *res)
{
    switch (v) {
    case ALDS_UNIFORM: return lr_alds_uniform(plan, budget, res, NULL);
    case ALDS_ENERGY: return lr_alds_svd_energy(plan, budget, res, NULL);
    case ALDS_GLOBAL: case ALDS_DATA_DRIVEN: return lr_alds_global(plan, NULL, budget, res);
    default: return lr_alds_run(plan, budget, res, NULL);
    }
}

static size_t k_index(const alds_layer *L, size_t k)
{
    for (size_t i = 0; i < L->nk; i++)
        if (L->ks[i] == k) return i;
    return 0;
}

/* A row's cells before the variant fills them: the runner's (NaN), with every bound "not
 * applicable" (-1) and the integer cells of a network row -1, not NaN. */
static void start_row(const lr_run *run, const alds_state *st, double *row, size_t point, size_t trial, size_t vi,
                      int network)
{
    lr_run_fill_row(run, row, point, trial, vi, 0);
    for (size_t b = 0; b < run->nbounds; b++) row[run->col.bound_held[b]] = -1;
    row[run->col.k_target] = row[run->col.k] = row[run->col.q] = -1;
    row[run->col.svd_fallback] = 0;
    if (network) {
        int cells[] = {st->c_n0, st->c_n1, st->c_c, st->c_kgroups, st->c_j, st->c_dense, st->c_iters, st->c_converged};
        for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) row[cells[i]] = -1;
    } else {
        row[st->c_keep_ok] = -1;
        int cells[] = {st->c_fill_steps, st->c_budget_left, st->c_next_step, st->c_keep_reason};
        for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) row[cells[i]] = -1;
    }
}

/* One variant at one budget: its allocation, its rows. */
static int variant_rows(const lr_run *run, const alds_state *st, alds_ws *w, const alds_net *N, size_t point,
                        size_t trial, size_t vi, size_t budget, double eps_uniform, double *rows, double *seconds,
                        double *eps_max_out)
{
    alds_variant v = st->var[vi];
    size_t nl = N->nl, ncols = run->trials->ncols;
    const lr_trial_columns *col = &run->col;
    LR_TRY(lr_alds_problem(N, v, w->P));
    double t0 = wall();
    lr_alds_plan *plan = NULL;
    LR_TRY(lr_alds_plan_alloc(w->P, nl, &st->opts, &plan));
    lr_alds_result res = {.layer = w->choice};
    int s = allocate(v, plan, budget, &res);
    double obj_alloc = res.objective;
    size_t fill_steps = 0, next_step = 0;
    int fills = st->fill && v != ALDS_UNIFORM && v != ALDS_ENERGY;
    if (s == LR_OK && fills) s = lr_alds_fill(plan, &res, &fill_steps);
    if (s == LR_OK) s = lr_alds_next_step(plan, &res, &next_step);
    lr_alds_plan_free(plan);
    double secs = wall() - t0;
    LR_TRY(s);
    double eps_max = 0, params = st->nets[trial].fixed_params;
    for (size_t l = 0; l < nl; l++) {
        const alds_layer *L = &N->L[l];
        const lr_alds_choice *ch = &w->choice[l];
        double *row = rows + (vi * (nl + 1) + l) * ncols;
        start_row(run, st, row, point, trial, vi, 0);
        seconds[vi * (nl + 1) + l] = secs / (double)(nl + 1);
        int dense = ch->dense || !L->compressible;
        size_t ki = k_index(L, ch->k);
        const alds_ktab *t = &L->tab[ki];
        row[st->c_layer] = (double)lr_table_dict_index(run->trials, (size_t)st->c_layer, L->name);
        row[st->c_layer_index] = (double)l;
        row[st->c_n0] = (double)L->n0, row[st->c_n1] = (double)L->n1, row[st->c_c] = (double)L->c;
        row[st->c_kgroups] = (double)(dense ? 1 : ch->k);
        row[st->c_j] = (double)(dense ? 0 : ch->j);
        row[st->c_dense] = dense;
        size_t p = dense ? L->n0 * L->n1 : ch->params;
        row[st->c_params] = (double)p;
        params += (double)p;
        row[st->c_budget] = (double)budget;
        row[st->c_crit] = dense ? 0.0 : ch->err;
        double eps = 0;
        w->rep[l] = (lr_net_lowrank){.c = NULL};
        if (dense) {
            row[st->c_iters] = 0, row[st->c_converged] = 1;
        } else if (v == ALDS_DATA_DRIVEN) {
            row[st->c_iters] = -1, row[st->c_converged] = -1; /* an SVD, not a power iteration */
            LR_TRY(dd_factors(L, w, l, ch->j, &w->comp[l]));
            LR_TRY(weight_error(L, w, &w->comp[l], &eps));
            w->rep[l].c = &w->comp[l];
        } else {
            eps = t->eps[ch->j];
            row[st->c_iters] = t->iters[ch->j], row[st->c_converged] = t->converged[ch->j];
            lr_bound_input in = {0};
            in.ngroups = ch->k;
            in.alpha_next = t->alpha_next + ch->j * ch->k;
            in.alpha1 = L->alpha1;
            /* Each bound against the true error; the relative error's scale is 1. */
            for (size_t b = 0; b < run->nbounds; b++) {
                double val = lr_bound_evaluate(run->bounds[b], &in, &run->bparams);
                row[col->bound_value[b]] = val;
                row[col->bound_held[b]] = lr_bound_check(run->bounds[b], val, eps, 1.0, &run->bparams);
            }
            if (st->evaluate) {
                lr_alds_spectra sp;
                LR_TRY(lr_alds_spectra_compute(w->gp[l], L->W, L->c, ch->k, L->alpha1, 1, &sp));
                LR_TRY(lr_alds_factors(w->gp[l], &sp, ch->j, &w->comp[l]));
                w->rep[l].c = &w->comp[l];
            }
        }
        row[st->c_eps] = eps;
        if (eps > eps_max) eps_max = eps;
    }
    double *nrow = rows + (vi * (nl + 1) + nl) * ncols;
    start_row(run, st, nrow, point, trial, vi, 1);
    seconds[vi * (nl + 1) + nl] = secs / (double)(nl + 1);
    nrow[st->c_layer] = (double)lr_table_dict_index(run->trials, (size_t)st->c_layer, "(network)");
    nrow[st->c_layer_index] = -1;
    nrow[st->c_params] = params;
    nrow[st->c_budget] = (double)budget;
    nrow[st->c_eps] = eps_max;
    nrow[st->c_obj_crit] = res.objective;
    nrow[st->c_obj_alloc] = obj_alloc;
    nrow[st->c_fill_steps] = (double)fill_steps;
    nrow[st->c_budget_left] = (double)res.budget_left;
    nrow[st->c_next_step] = (double)next_step;
    double keep = params / N->dense_params, target = lr_config_num(run->cfg, point, "alds.budget");
    if (strcmp(lr_config_str(run->cfg, "alds.budget_kind"), "keep")) target /= N->dense_params;
    nrow[st->c_keep_achieved] = keep;
    int met = keep >= (1 - st->keep_tol) * target;
    alds_keep_reason why = met ? ALDS_KEEP_MET
                           : !next_step ? ALDS_KEEP_SATURATED
                           : v == ALDS_UNIFORM ? ALDS_KEEP_COMMON_RANK
                           : v == ALDS_ENERGY ? ALDS_KEEP_ENERGY_LEVEL
                           : ALDS_KEEP_STEP;
    nrow[st->c_keep_ok] = met;
    nrow[st->c_keep_reason] = (double)lr_table_dict_index(run->trials, (size_t)st->c_keep_reason, alds_keep_reasons[why]);
    nrow[st->c_uniform_obj] = eps_uniform;
    nrow[st->c_accuracy_dense] = st->acc_dense;
    if (st->evaluate) {
        size_t correct = 0;
        LR_TRY(lr_net_correct(st->net, w->rep, st->test_x, st->test_labels, (size_t)st->batch, &correct));
        nrow[st->c_accuracy] = (double)correct / (double)st->n_test;
    }
    *eps_max_out = eps_max;
    return LR_OK;
}

static int alds_unit(const lr_run *run, void *wsp, size_t point, size_t trial, gsl_rng *rng, double *rows,
                     double *seconds)
{
    (void)rng;
    const alds_state *st = run->exp_state;
    alds_ws *w = wsp;
    const alds_net *N = &st->nets[trial];
    size_t budget = 0;
    LR_TRY(lr_alds_budget(N, lr_config_num(run->cfg, point, "alds.budget"), lr_config_str(run->cfg, "alds.budget_kind"),
                          &budget));
    /* Uniform rank comes first (choose_variants): its largest error is every network row's
     * reference for "the global step is never worse than uniform". */
    double eps_uniform = NAN;
    for (size_t vi = 0; vi < st->nvar; vi++) {
        double e = NAN;
        LR_TRY(variant_rows(run, st, w, N, point, trial, vi, budget, eps_uniform, rows, seconds, &e));
        if (st->var[vi] == ALDS_UNIFORM) eps_uniform = e;
    }
    return LR_OK;
}

static const lr_key *const alds_includes[] = {lr_bounds_schema, NULL};

const lr_experiment lr_experiment_alds = {
    .name = "alds",
    .description = "ALDS (Liebenwein et al. 2021): channel-group low-rank decompositions and the minimax rank "
                   "allocation, on layer dumps and synthetic networks, with every bound checked",
    .schema = lr_alds_schema,
    .includes = alds_includes,
    .summaries = 0,
    .prepare = lr_alds_prepare,
    .ws_alloc = alds_ws_alloc,
    .ws_free = alds_ws_free,
    .unit = alds_unit,
    .release = lr_alds_release,
    .write_results = lr_alds_write_results,
    .report = lr_alds_report,
    .plot = lr_alds_plot,
};
