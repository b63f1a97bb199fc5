/* The `alds` experiment's own results (alds.c has the maths):
 *   /alds_grid    every (trial, layer, k, j) of the tabulation: parameters, the three
 *                 bounds, the true error, its power iterations, and which of
 *                 lower <= eps <= l2 <= sqrt(k) held (within bounds.tol);
 *   /alds_trace   per budget, network and ALDS criterion: the alternation's objective and
 *                 rounding after every iteration of every seed, and the winning seed
 *                 (recomputed here from the tables: the allocator is deterministic, so a
 *                 resumed run writes the same trace);
 *   root attributes: the source (dump path and SHA-256, or "synthetic"), the grid's counts. */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alds.h"
#include "bounds/bounds.h"
#include "core/error.h"
#include "io/h5.h"

static int col(lr_table *t, const char *name, lr_col_type type, const char *doc, int *c)
{
    *c = lr_table_add_column(t, name, type, doc);
    return *c < 0 ? lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory") : LR_OK;
}

static int write_grid(const alds_state *st, double tol, hid_t file)
{
    lr_table *t = lr_table_alloc("alds_grid");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory");
    int c[16], s = LR_OK;
    static const char *const names[16] = {"trial", "layer_index", "k", "j", "params", "dense", "lower", "eps", "l2",
                                          "sqrtk", "iterations", "converged", "lower_held", "l2_held", "sqrtk_held",
                                          "N0"};
    static const lr_col_type types[16] = {LR_COL_INT, LR_COL_INT, LR_COL_INT, LR_COL_INT, LR_COL_INT, LR_COL_FLAG,
                                          LR_COL_REAL, LR_COL_REAL, LR_COL_REAL, LR_COL_REAL, LR_COL_INT, LR_COL_FLAG,
                                          LR_COL_FLAG, LR_COL_FLAG, LR_COL_FLAG, LR_COL_INT};
    static const char *const docs[16] = {
        "network (synthetic draw; 0 for a dump)", "layer position", "channel groups", "rank per group",
        "j (k N1 + N0)", "1 if that saves nothing (the layer would stay dense)",
        "max_i alpha_{i,j+1} / alpha_1 (the authors' code's criterion)", "true ||W^ - W||_2 / ||W||_2 (power iteration)",
        "(sum_i alpha_{i,j+1}^2)^(1/2) / alpha_1", "sqrt(k) max_i alpha_{i,j+1} / alpha_1 (the published bound)",
        "power iterations", "1 if alds.power.tol was met", "1 if lower <= eps (bounds.tol)", "1 if eps <= l2",
        "1 if l2 <= sqrtk", "layer inputs"};
    for (int i = 0; i < 16 && s == LR_OK; i++) s = col(t, names[i], types[i], docs[i], &c[i]);
    double row[16];
    for (size_t tr = 0; s == LR_OK && tr < st->ntrials; tr++)
        for (size_t l = 0; s == LR_OK && l < st->nets[tr].nl; l++) {
            const alds_layer *L = &st->nets[tr].L[l];
            for (size_t i = 0; s == LR_OK && i < L->nk; i++) {
                const alds_ktab *k = &L->tab[i];
                for (size_t j = 0; s == LR_OK && j <= k->mn; j++) {
                    double v[16] = {(double)tr, (double)l, (double)k->k, (double)j,
                                    (double)(j * (k->k * L->n1 + L->n0)), j * (k->k * L->n1 + L->n0) >= L->n0 * L->n1,
                                    k->lower[j], k->eps[j], k->l2[j], k->sqrtk[j], k->iters[j], k->converged[j],
                                    lr_le_tol(k->lower[j], k->eps[j], tol, 1.0), lr_le_tol(k->eps[j], k->l2[j], tol, 1.0),
                                    lr_le_tol(k->l2[j], k->sqrtk[j], tol, 1.0), (double)L->n0};
                    for (int q = 0; q < 16; q++) row[c[q]] = v[q];
                    s = lr_table_append(t, row);
                }
            }
        }
    if (s == LR_OK)
        s = lr_h5_write_table(file, t, "every (network, layer, k, j): the three bounds and the true error (docs/theory.md section 4)");
    lr_table_free(t);
    return s;
}

static int write_trace(const lr_run *run, const alds_state *st, hid_t file)
{
    lr_table *t = lr_table_alloc("alds_trace");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory");
    int c[8], s = LR_OK;
    static const char *const names[8] = {"point", "trial", "criterion", "seed", "iteration", "objective", "rho", "winner"};
    static const lr_col_type types[8] = {LR_COL_INT, LR_COL_INT, LR_COL_NAME, LR_COL_INT, LR_COL_INT, LR_COL_REAL,
                                         LR_COL_REAL, LR_COL_FLAG};
    static const char *const docs[8] = {"sweep point (budget)", "network", "ALDS variant", "seed of the alternation",
                                        "0: after the seed's first global step, then after each local + global step",
                                        "the criterion's max over layers", "rounding of the local step in force",
                                        "1 on the seed whose allocation the variant returned"};
    for (int i = 0; i < 8 && s == LR_OK; i++) s = col(t, names[i], types[i], docs[i], &c[i]);
    size_t nl = st->nets[0].nl, per = st->opts.nseeds * (st->opts.niter + 1);
    lr_alds_layer *P = calloc(nl, sizeof *P);
    lr_alds_choice *ch = calloc(nl, sizeof *ch);
    double *obj = calloc(per, sizeof(double)), *rho = calloc(per, sizeof(double)), row[8];
    if (!P || !ch || !obj || !rho) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    for (size_t v = 0; s == LR_OK && v < st->nvar; v++) {
        alds_variant var = st->var[v];
        if (var < ALDS_PROXY || var > ALDS_TRUE) continue;
        int name = lr_table_dict_index(t, (size_t)c[2], lr_alds_variant_names[var]);
        for (size_t tr = 0; s == LR_OK && tr < st->ntrials; tr++)
            for (size_t p = 0; s == LR_OK && p < run->npoints; p++) {
                const alds_net *N = &st->nets[tr];
                size_t budget;
                lr_alds_plan *plan = NULL;
                s = lr_alds_budget(N, lr_config_num(run->cfg, p, "alds.budget"), lr_config_str(run->cfg, "alds.budget_kind"),
                                   &budget);
                if (s == LR_OK) s = lr_alds_problem(N, var, P);
                if (s == LR_OK) s = lr_alds_plan_alloc(P, nl, &st->opts, &plan);
                lr_alds_result res = {.layer = ch};
                lr_alds_trace tc = {.objective = obj, .rho = rho};
                if (s == LR_OK) s = lr_alds_run(plan, budget, &res, &tc);
                lr_alds_plan_free(plan);
                for (size_t i = 0; s == LR_OK && i < per; i++) {
                    size_t seed = i / (st->opts.niter + 1);
                    double vals[8] = {(double)p, (double)tr, name, (double)seed, (double)(i % (st->opts.niter + 1)),
                                      obj[i], rho[i], seed == tc.winner};
                    for (int q = 0; q < 8; q++) row[c[q]] = vals[q];
                    s = lr_table_append(t, row);
                }
            }
    }
    if (s == LR_OK)
        s = lr_h5_write_table(file, t, "the alternation of every ALDS variant: objective after each iteration of each seed");
    free(P), free(ch), free(obj), free(rho);
    lr_table_free(t);
    return s;
}

int lr_alds_write_results(const lr_run *run, long long fileid)
{
    const alds_state *st = run->exp_state;
    hid_t file = (hid_t)fileid;
    LR_TRY(lr_h5_attr_str(file, "alds_source", st->synthetic ? "synthetic" : st->dump_path));
    if (!st->synthetic) LR_TRY(lr_h5_attr_str(file, "dump_sha256", st->dump_sha));
    LR_TRY(lr_h5_attr_f64(file, "accuracy_dense", st->acc_dense));
    LR_TRY(lr_h5_attr_i64(file, "test_samples", (long long)st->n_test));
    LR_TRY(lr_h5_attr_i64(file, "grid_rows", (long long)st->grid_rows));
    LR_TRY(lr_h5_attr_i64(file, "grid_lower_held", (long long)st->grid_held[0]));
    LR_TRY(lr_h5_attr_i64(file, "grid_l2_held", (long long)st->grid_held[1]));
    LR_TRY(lr_h5_attr_i64(file, "grid_sqrtk_held", (long long)st->grid_held[2]));
    LR_TRY(lr_h5_attr_i64(file, "grid_unconverged", (long long)st->grid_unconverged));
    LR_TRY(lr_h5_attr_f64(file, "grid_k1_max_rel_dev", st->k1_max_dev));
    LR_TRY(write_grid(st, run->bparams.tol, file));
    return write_trace(run, st, file);
}
