/* Experiment `alds`: its config, its networks (a layer dump, or synthetic networks) and the
 * tabulation of every layer's (k, j) grid (alds.c has the maths and the unit).
 *
 * The tabulation is the expensive part and is done once, here: for every layer, every
 * allowed k (the divisors of the layer's input channels up to alds.kmax) and every rank
 * j = 0 .. min(N0 / k, N1): the three bounds of docs/theory.md section 4 from the groups'
 * singular values, and the true error eps = ||W^ - W||_2 / ||W||_2 by power iteration
 * (src/compress/grouped.h), with its iterations and whether it converged.  The units then
 * only allocate (src/compress/alds_alloc.h, milliseconds) and evaluate. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alds.h"
#include "bounds/bounds.h"
#include "core/error.h"
#include "core/linalg.h"
#include "core/rng.h"
#include "gen/gen.h"

const char *const lr_alds_variant_names[ALDS_NVARIANTS] = {
    [ALDS_UNIFORM] = "uniform",       [ALDS_ENERGY] = "energy",       [ALDS_GLOBAL] = "global",
    [ALDS_PROXY] = "alds_proxy",      [ALDS_L2] = "alds_l2",          [ALDS_SQRTK] = "alds_sqrtk",
    [ALDS_TRUE] = "alds_true",        [ALDS_DATA_DRIVEN] = "data_driven",
};

const lr_key lr_alds_schema[] = {
    {.path = "source", .type = LR_KEY_STRING, .def = NAN, .def_str = "dump", .choices = "dump|synthetic",
     .doc = "the network: a layer dump (key dump) or synthetic layers (network.*)"},
    {.path = "dump", .type = LR_KEY_STRING, .def = NAN, .def_str = "",
     .doc = "layer dump (HDF5, data/README.md) when source = \"dump\"; a relative path is looked up in the "
            "working directory, then next to the config and in its ancestors"},
    {.path = "network.channels", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[]", .min = 1, .max = 1e5,
     .doc = "synthetic: input channels c of each layer"},
    {.path = "network.outputs", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[]", .min = 1, .max = 1e5,
     .doc = "synthetic: outputs f of each layer"},
    {.path = "network.kernels", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[]", .min = 1, .max = 15,
     .doc = "synthetic: kernel size (kh = kw) of each layer ([]: 1, linear layers); N0 = c kh kw"},
    {.path = "network.decays", .type = LR_KEY_REAL_LIST, .def = NAN, .def_str = "[]", .max = 10,
     .doc = "synthetic: each layer's spectrum decays as i^-decay (src/gen/gen.h, lr_gen_power_layer)"},
    {.path = "network.noise", .type = LR_KEY_REAL, .def = 0.01, .max = 10,
     .doc = "synthetic: operator norm of each layer's Gaussian noise floor (the signal's is 1)"},
    {.path = "network.m", .type = LR_KEY_INT, .def = 256, .min = 1, .max = 1e6,
     .doc = "synthetic: calibration rows per layer (Gaussian X with condition number network.x_cond), for "
            "the data-driven allocation"},
    {.path = "network.x_cond", .type = LR_KEY_REAL, .def = 10, .min = 1, .max = 1e12,
     .doc = "synthetic: condition number of each layer's calibration inputs X"},
    {.path = "network.evaluate", .type = LR_KEY_BOOL, .def = 1,
     .doc = "dumps of a sequential network with test inputs: the compressed network's test accuracy"},
    {.path = "network.test_max", .type = LR_KEY_INT, .max = 1e9, .doc = "use at most this many test samples (0: all)"},
    {.path = "network.batch", .type = LR_KEY_INT, .def = 256, .min = 1, .max = 1e6,
     .doc = "samples per batch of the test-set forward pass"},
    {.path = "alds.budget", .type = LR_KEY_REAL, .sweepable = 1, .required = 1, .min = 1e-9, .max = 1e15,
     .doc = "the parameter budget: a keep ratio of the whole network (weights and biases; layers kept "
            "dense count in full), or a count (alds.budget_kind)"},
    {.path = "alds.budget_kind", .type = LR_KEY_STRING, .def = NAN, .def_str = "keep", .choices = "keep|params",
     .doc = "alds.budget is a keep ratio in (0, 1] or a number of parameters"},
    {.path = "alds.methods", .type = LR_KEY_STRING_LIST, .def = NAN,
     .def_str = "[\"uniform\", \"energy\", \"global\", \"alds\", \"data_driven\"]",
     .choices = "uniform|energy|global|alds|data_driven",
     .doc = "allocations: uniform rank, SVD energy, the global step at k = 1, ALDS (once per alds.criteria), "
            "and the data-driven one on tau_j(XW) / ||XW||_F"},
    {.path = "alds.criteria", .type = LR_KEY_STRING_LIST, .def = NAN, .def_str = "[\"proxy\", \"l2\", \"sqrtk\", \"true\"]",
     .choices = "proxy|l2|sqrtk|true",
     .doc = "ALDS's allocation criterion: the lower bound (the authors' code), the l2 bound, the published "
            "sqrt(k) bound, the computed true error"},
    {.path = "alds.kmax", .type = LR_KEY_INT, .def = 16, .min = 1, .max = 4096,
     .doc = "largest number of channel groups k (every divisor of a layer's channels up to it is allowed)"},
    {.path = "alds.jmin", .type = LR_KEY_INT, .def = 1, .max = 1e6,
     .doc = "smallest rank of a decomposed layer (the authors': 1)"},
    {.path = "alds.seeds", .type = LR_KEY_INT, .def = 15, .min = 1, .max = 1000, .doc = "seeds of the alternation"},
    {.path = "alds.fixed_k", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[3, 5, 7, 9]", .min = 1, .max = 4096,
     .doc = "the first seeds: every layer at its allowed k nearest each of these (ALDS's; add 1 for a seed at "
            "k = 1, which makes ALDS never worse than the global step); the other seeds are random"},
    {.path = "alds.iterations", .type = LR_KEY_INT, .def = 4, .min = 1, .max = 1000,
     .doc = "local + global iterations per seed"},
    {.path = "alds.power.tol", .type = LR_KEY_REAL, .def = 1e-10, .min = 1e-16, .max = 0.1,
     .doc = "power iteration for the true error: stop when the estimated remaining relative increase is below"},
    {.path = "alds.power.max_iter", .type = LR_KEY_INT, .def = 5000, .min = 1, .max = 1e7,
     .doc = "power iteration: most products with E^T E"},
    {.path = "alds.fill", .type = LR_KEY_BOOL, .def = 1,
     .doc = "spend the budget a minimax allocation leaves (global, alds, data_driven) on the layers of largest "
            "error, one rank at a time (lrlab's addition; uniform and energy stay as defined)"},
    {.path = "alds.keep_tol", .type = LR_KEY_REAL, .def = 0.005, .min = 0, .max = 1,
     .doc = "a network row meets its keep-ratio target when it keeps at least (1 - keep_tol) of it"},
    {.path = "alds.keep_dense", .type = LR_KEY_STRING_LIST, .def = NAN, .def_str = "[]",
     .doc = "layers left dense: module names (dumps), \"first\" or \"last\"; they count in full"},
    {.path = NULL}};

/* ---- the tabulation ---- */

static void ktab_free(alds_ktab *t)
{
    free(t->lower), free(t->l2), free(t->sqrtk), free(t->eps), free(t->eps_table);
    free(t->iters), free(t->converged), free(t->alpha_next);
}

static void layer_free(alds_layer *L)
{
    lr_free(L->W.data);
    for (size_t i = 0; L->tab && i < L->nk; i++) ktab_free(&L->tab[i]);
    free(L->tab), free(L->ks), free(L->sv), free(L->dd_err), free(L->jmax);
    for (int c = 0; c < 4; c++) free(L->crit[c]);
    lr_free(L->Vxw.data);
}

static int tabulate_k(lr_grouped_plan *gp, alds_layer *L, alds_ktab *t, size_t k, double tol, int max_iter)
{
    lr_alds_spectra s;
    LR_TRY(lr_alds_spectra_compute(gp, L->W, L->c, k, L->alpha1, 1, &s));
    t->k = k;
    t->mn = s.mn;
    size_t n = s.mn + 1;
    t->lower = malloc(n * sizeof(double)), t->l2 = malloc(n * sizeof(double));
    t->sqrtk = malloc(n * sizeof(double)), t->eps = malloc(n * sizeof(double));
    t->eps_table = malloc(n * sizeof(double));
    t->iters = malloc(n * sizeof(int)), t->converged = malloc(n * sizeof(int));
    t->alpha_next = malloc(n * k * sizeof(double));
    if (!t->lower || !t->l2 || !t->sqrtk || !t->eps || !t->eps_table || !t->iters || !t->converged || !t->alpha_next)
        LR_ERROR(LR_ENOMEM, "out of memory tabulating a layer");
    for (size_t j = 0; j < n; j++) {
        t->lower[j] = lr_alds_bound(&s, j, LR_ALDS_LOWER);
        t->l2[j] = lr_alds_bound(&s, j, LR_ALDS_L2);
        t->sqrtk[j] = lr_alds_bound(&s, j, LR_ALDS_SQRTK);
        lr_alds_alpha_next(&s, j, t->alpha_next + j * k);
        lr_alds_error_info info;
        LR_TRY(lr_alds_error(gp, &s, j, tol, max_iter, &info));
        t->eps[j] = info.eps;
        t->iters[j] = info.iterations;
        t->converged[j] = info.converged;
        /* The allocator needs non-increasing tables; the true error is (||E||_2 only loses
         * rows as j grows), its estimate may wobble by the tolerance. */
        t->eps_table[j] = j && t->eps_table[j - 1] < info.eps ? t->eps_table[j - 1] : info.eps;
        if (!isfinite(t->lower[j]) || !isfinite(t->eps[j]))
            LR_ERRORF(LR_ENUMERIC, "layer %s: a non-finite error at k = %zu, j = %zu", L->name, k, j);
    }
    return LR_OK;
}

/* The allowed k, the grid of each, the spectrum of W and the data-driven table (X: the
 * layer's calibration inputs, m x n0). */
static int tabulate_layer(alds_layer *L, lr_mat X, size_t kmax, double tol, int max_iter)
{
    lr_grouped_plan *gp = lr_grouped_plan_alloc(L->n0, L->n1);
    if (!gp) return LR_ENOMEM;
    int status = lr_alds_norm(gp, L->W, &L->alpha1);
    L->ks = malloc((L->c < kmax ? L->c : kmax) * sizeof(size_t));
    if (status == LR_OK && !L->ks) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    for (size_t k = 1; status == LR_OK && k <= kmax && k <= L->c; k++)
        if (L->c % k == 0) L->ks[L->nk++] = k;
    L->tab = calloc(L->nk, sizeof *L->tab);
    if (status == LR_OK && !L->tab) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    for (size_t i = 0; status == LR_OK && i < L->nk; i++)
        status = tabulate_k(gp, L, &L->tab[i], L->ks[i], tol, max_iter);
    lr_grouped_plan_free(gp);
    if (status != LR_OK) return status;
    /* What the allocator reads (src/compress/alds_alloc.h): per k, jmax and one table per
     * criterion. */
    L->jmax = malloc(L->nk * sizeof(size_t));
    for (int c = 0; c < 4; c++) L->crit[c] = malloc(L->nk * sizeof(double *));
    if (!L->jmax || !L->crit[0] || !L->crit[1] || !L->crit[2] || !L->crit[3]) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t i = 0; i < L->nk; i++) {
        L->jmax[i] = L->tab[i].mn;
        L->crit[0][i] = L->tab[i].lower, L->crit[1][i] = L->tab[i].l2;
        L->crit[2][i] = L->tab[i].sqrtk, L->crit[3][i] = L->tab[i].eps_table;
    }
    /* k = 1: the singular values of W are alpha_1 (lower bound x alpha_1) for the energy
     * baseline: sigma_{j+1} = lower[j] alpha_1. */
    const alds_ktab *t1 = &L->tab[0];
    L->sv = malloc((t1->mn ? t1->mn : 1) * sizeof(double));
    if (!L->sv) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t j = 0; j < t1->mn; j++) L->sv[j] = t1->lower[j] * L->alpha1;
    /* The data-driven table: tau_j(X W) / ||X W||_F from the SVD of X W, whose right
     * singular vectors V give dd_rank's fit W V_j V_j^T (docs/theory.md section 2). */
    size_t m = X.rows, n1 = L->n1, mn = m < n1 ? m : n1;
    L->mn1 = mn;
    lr_mat XW = lr_mat_wrap(lr_malloc(m * n1 * sizeof(double)), m, n1);
    lr_mat VT = lr_mat_wrap(lr_malloc(mn * n1 * sizeof(double)), mn, n1);
    lr_mat U = lr_mat_wrap(lr_malloc(m * (mn ? mn : 1) * sizeof(double)), m, mn); /* lr_svd gives vectors in pairs */
    double *s = malloc((mn + 1) * sizeof(double));
    L->dd_err = malloc((mn + 1) * sizeof(double));
    L->Vxw = lr_mat_wrap(lr_malloc(n1 * (mn ? mn : 1) * sizeof(double)), n1, mn);
    lr_svd_plan *sp = lr_svd_plan_alloc(m, n1);
    if (!XW.data || !VT.data || !U.data || !s || !L->dd_err || !L->Vxw.data || !sp) status = LR_ENOMEM;
    if (status == LR_OK) status = lr_gemm('N', 'N', 1.0, X, L->W, 0.0, XW);
    if (status == LR_OK) status = lr_svd(sp, XW, s, U, VT, NULL);
    if (status == LR_OK) {
        double tail = 0;
        for (size_t j = mn; j-- > 0;) {
            L->dd_err[j + 1] = sqrt(tail);
            tail += s[j] * s[j];
        }
        L->dd_err[0] = sqrt(tail);
        for (size_t j = 0; j <= mn; j++) L->dd_err[j] = tail > 0 ? L->dd_err[j] / sqrt(tail) : 0.0;
        for (size_t c = 0; c < mn; c++)
            for (size_t i = 0; i < n1; i++) LR_AT(L->Vxw, i, c) = LR_AT(VT, c, i);
        /* A rank above min(N0, N1) adds nothing: the table stops where W's rank does. */
        L->dd_jmax[0] = mn < L->tab[0].mn ? mn : L->tab[0].mn;
        L->dd_tab[0] = L->dd_err;
    }
    lr_svd_plan_free(sp);
    lr_free(XW.data), lr_free(VT.data), lr_free(U.data), free(s);
    return status == LR_ENOMEM ? lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory") : status;
}

/* ---- the networks ---- */

static int mark_dense(const lr_config *c, alds_net *N)
{
    const char *const *keep;
    size_t nkeep = lr_config_str_list(c, "alds.keep_dense", &keep);
    char where[512];
    for (size_t i = 0; i < nkeep; i++) {
        int found = 0;
        for (size_t l = 0; l < N->nl; l++)
            if (!strcmp(keep[i], N->L[l].name) || (!strcmp(keep[i], "first") && l == 0) ||
                (!strcmp(keep[i], "last") && l + 1 == N->nl)) {
                N->L[l].compressible = 0;
                found = 1;
            }
        if (!found)
            LR_ERRORF(LR_ECONFIG, "%s: element %zu = \"%s\" names no layer", lr_config_where(c, "alds.keep_dense", where, sizeof where),
                      i + 1, keep[i]);
    }
    N->dense_params = N->bias_params = N->fixed_params = 0;
    for (size_t l = 0; l < N->nl; l++) {
        const alds_layer *L = &N->L[l];
        double w = (double)L->n0 * (double)L->n1, b = L->has_bias ? (double)L->n1 : 0.0;
        N->dense_params += w + b;
        N->bias_params += b;
        N->fixed_params += b + (L->compressible ? 0.0 : w);
    }
    return LR_OK;
}

static int dump_net(lr_run *run, alds_state *st, alds_net *N, size_t kmax)
{
    const lr_dump *d = st->dump;
    N->nl = d->nlayers;
    N->L = calloc(N->nl, sizeof *N->L);
    if (!N->L) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t l = 0; l < N->nl; l++) {
        const lr_dump_layer *D = &d->layers[l];
        alds_layer *L = &N->L[l];
        snprintf(L->name, sizeof L->name, "%s", D->module[0] ? D->module : D->group);
        L->n0 = D->n0, L->n1 = D->n1, L->has_bias = D->has_bias, L->compressible = 1;
        L->c = D->kind == LR_LAYER_CONV2D ? (size_t)D->in_shape[0] : D->n0;
        L->W = lr_mat_wrap(lr_malloc(L->n0 * L->n1 * sizeof(double)), L->n0, L->n1);
        double *b = malloc(L->n1 * sizeof(double));
        lr_mat X = lr_mat_wrap(lr_malloc(D->m * L->n0 * sizeof(double)), D->m, L->n0);
        int s = L->W.data && b && X.data ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        if (s == LR_OK) s = lr_dump_read_weights(d, l, L->W, b);
        if (s == LR_OK) s = lr_dump_read_rows(d, l, "X", 0, X);
        if (s == LR_OK) s = tabulate_layer(L, X, kmax, st->power_tol, st->power_max_iter);
        free(b);
        lr_free(X.data);
        LR_TRY(s);
    }
    return mark_dense(run->cfg, N);
}

static int synthetic_net(lr_run *run, alds_state *st, alds_net *N, size_t trial, size_t kmax)
{
    const lr_config *c = run->cfg;
    const long *ch, *out, *ker;
    const double *dec;
    /* check_synthetic has made the lists agree. */
    size_t nc = lr_config_int_list(c, "network.channels", &ch);
    lr_config_int_list(c, "network.outputs", &out);
    lr_config_real_list(c, "network.decays", &dec);
    size_t nker = lr_config_int_list(c, "network.kernels", &ker);
    double noise = lr_config_num(c, 0, "network.noise"), cond = lr_config_num(c, 0, "network.x_cond");
    size_t m = (size_t)lr_config_num(c, 0, "network.m");
    N->nl = nc;
    N->L = calloc(nc, sizeof *N->L);
    gsl_rng *r = lr_rng_alloc_kind(run->rng_kind);
    if (!N->L || !r) {
        if (r) gsl_rng_free(r);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    /* One stream per network (trial), whatever the budget: every budget sees the same nets. */
    lr_rng_seed_unit(r, run->seed, 0, trial);
    int s = LR_OK;
    for (size_t l = 0; s == LR_OK && l < nc; l++) {
        alds_layer *L = &N->L[l];
        size_t kk = nker ? (size_t)ker[l] : 1;
        snprintf(L->name, sizeof L->name, "layer%zu", l + 1);
        L->c = (size_t)ch[l], L->n0 = L->c * kk * kk, L->n1 = (size_t)out[l], L->compressible = 1;
        L->W = lr_mat_wrap(lr_malloc(L->n0 * L->n1 * sizeof(double)), L->n0, L->n1);
        lr_mat X = lr_mat_wrap(lr_malloc(m * L->n0 * sizeof(double)), m, L->n0);
        size_t q = m < L->n0 ? m : L->n0;
        size_t need = lr_gen_power_layer_scratch(L->n0, L->n1), needx = lr_gen_x_scratch(m, L->n0, q);
        double *scratch = lr_malloc((need > needx ? need : needx) * sizeof(double));
        s = L->W.data && X.data && scratch ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        if (s == LR_OK) s = lr_gen_power_layer(r, L->W, dec[l], noise, scratch);
        if (s == LR_OK) s = lr_gen_x(r, X, LR_X_SPECTRUM, q, cond, scratch);
        lr_free(scratch);
        if (s == LR_OK) s = tabulate_layer(L, X, kmax, st->power_tol, st->power_max_iter);
        lr_free(X.data);
    }
    gsl_rng_free(r);
    LR_TRY(s);
    return mark_dense(c, N);
}

/* The synthetic network's lists must agree. */
static int check_synthetic(const lr_config *c)
{
    const long *v;
    const double *d;
    char where[512];
    size_t nc = lr_config_int_list(c, "network.channels", &v), no = lr_config_int_list(c, "network.outputs", &v);
    size_t nk = lr_config_int_list(c, "network.kernels", &v), nd = lr_config_real_list(c, "network.decays", &d);
    if (nc == 0)
        LR_ERRORF(LR_ECONFIG, "%s: source = \"synthetic\" needs network.channels (one entry per layer)",
                  lr_config_where(c, "network.channels", where, sizeof where));
    if (no != nc || nd != nc || (nk && nk != nc))
        LR_ERRORF(LR_ECONFIG, "%s: network.channels has %zu layers but network.outputs %zu, network.decays %zu "
                  "and network.kernels %zu (each needs one entry per layer; kernels may be [])",
                  lr_config_where(c, "network.outputs", where, sizeof where), nc, no, nd, nk);
    return LR_OK;
}

/* ---- the problem of one variant ---- */

int lr_alds_problem(const alds_net *N, alds_variant v, lr_alds_layer *out)
{
    for (size_t l = 0; l < N->nl; l++) {
        const alds_layer *L = &N->L[l];
        lr_alds_layer *P = &out[l];
        memset(P, 0, sizeof *P);
        P->n0 = L->n0, P->n1 = L->n1, P->compressible = L->compressible;
        P->k = L->ks;
        P->nsv = L->tab[0].mn;
        P->sv = L->sv;
        switch (v) {
        case ALDS_PROXY: case ALDS_L2: case ALDS_SQRTK: case ALDS_TRUE:
            P->nk = L->nk;
            P->jmax = L->jmax;
            P->err = L->crit[v - ALDS_PROXY];
            break;
        case ALDS_DATA_DRIVEN:
            P->nk = 1;
            P->jmax = L->dd_jmax;
            P->err = L->dd_tab;
            break;
        default: /* k = 1 on the true error, which equals every bound there */
            P->nk = 1;
            P->jmax = L->jmax;
            P->err = L->crit[ALDS_TRUE - ALDS_PROXY];
        }
    }
    return LR_OK;
}

/* ---- prepare ---- */

int lr_alds_budget(const alds_net *N, double budget, const char *kind, size_t *out)
{
    double b = !strcmp(kind, "keep") ? floor(budget * N->dense_params) : floor(budget);
    double left = b - N->fixed_params;
    if (!(left >= 0)) return lr_error(LR_ECONFIG, __FILE__, __LINE__,
                                      "alds.budget = %g leaves no parameters for the compressed layers: biases "
                                      "and layers kept dense take %.0f of the %.0f", budget, N->fixed_params,
                                      !strcmp(kind, "keep") ? b : N->dense_params);
    *out = (size_t)left;
    return LR_OK;
}

static int declare_columns(lr_run *run, alds_state *st)
{
    static const char *const paths[] = {"alds.budget"};
    static const char *const names[] = {"budget"};
    LR_TRY(lr_run_trial_columns(run, paths, names, 1));
    /* The runner's compressor column names the allocation variant of each row. */
    for (size_t v = 0; v < st->nvar; v++)
        if (lr_table_dict_index(run->trials, (size_t)run->col.compressor, lr_alds_variant_names[st->var[v]]) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
    LR_TRY(lr_run_add_column(run, &st->c_layer, "layer", LR_COL_NAME, "module name of the layer ('(network)' for the network row)"));
    for (size_t l = 0; l < st->nets[0].nl; l++)
        if (lr_table_dict_index(run->trials, (size_t)st->c_layer, st->nets[0].L[l].name) < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    if (lr_table_dict_index(run->trials, (size_t)st->c_layer, "(network)") < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    LR_TRY(lr_run_add_column(run, &st->c_layer_index, "layer_index", LR_COL_INT, "position of the layer (-1: the network row)"));
    LR_TRY(lr_run_add_column(run, &st->c_n0, "N0", LR_COL_INT, "layer inputs c kh kw"));
    LR_TRY(lr_run_add_column(run, &st->c_n1, "N1", LR_COL_INT, "layer outputs f"));
    LR_TRY(lr_run_add_column(run, &st->c_c, "channels", LR_COL_INT, "input channels c (k divides it)"));
    LR_TRY(lr_run_add_column(run, &st->c_kgroups, "groups", LR_COL_INT, "channel groups k of the layer's decomposition"));
    LR_TRY(lr_run_add_column(run, &st->c_j, "j", LR_COL_INT, "rank per group (0 when dense)"));
    LR_TRY(lr_run_add_column(run, &st->c_dense, "dense", LR_COL_FLAG, "1: the layer keeps W (decomposing saves nothing, or alds.keep_dense)"));
    LR_TRY(lr_run_add_column(run, &st->c_params, "params", LR_COL_INT,
                   "weights stored: j (k N1 + N0), N0 N1 when dense (network row: every layer's, biases included)"));
    LR_TRY(lr_run_add_column(run, &st->c_budget, "budget_params", LR_COL_INT, "the compressed layers' parameter budget"));
    LR_TRY(lr_run_add_column(run, &st->c_eps, "eps", LR_COL_REAL,
                   "true relative error ||W^ - W||_2 / ||W||_2 (power iteration; network row: the largest over layers)"));
    LR_TRY(lr_run_add_column(run, &st->c_crit, "criterion", LR_COL_REAL,
                   "the error the allocation was made on at this (k, j) (the variant's criterion)"));
    LR_TRY(lr_run_add_column(run, &st->c_obj_crit, "objective", LR_COL_REAL,
                   "network row: the final allocation's objective, max over layers of the criterion"));
    LR_TRY(lr_run_add_column(run, &st->c_obj_alloc, "objective_alloc", LR_COL_REAL,
                   "network row: the allocator's objective before alds.fill spent the rest of the budget"));
    LR_TRY(lr_run_add_column(run, &st->c_fill_steps, "fill_steps", LR_COL_INT,
                   "network row: ranks added by alds.fill (0: not filled)"));
    LR_TRY(lr_run_add_column(run, &st->c_budget_left, "budget_left", LR_COL_INT,
                   "network row: budget_params minus the compressed layers' parameters"));
    LR_TRY(lr_run_add_column(run, &st->c_next_step, "next_step", LR_COL_INT,
                   "network row: parameters of the cheapest rank (or dense) step any layer could still take (0: none)"));
    LR_TRY(lr_run_add_column(run, &st->c_keep_achieved, "keep", LR_COL_REAL, "network row: parameters kept / dense parameters (whole network)"));
    LR_TRY(lr_run_add_column(run, &st->c_keep_ok, "keep_ok", LR_COL_FLAG,
                   "network row: 1 if the kept ratio is within alds.keep_tol (relative) of the target, 0 if not"));
    LR_TRY(lr_run_add_column(run, &st->c_keep_reason, "keep_reason", LR_COL_NAME,
                   "network row: met; or why not: step (what is left is smaller than any layer's next step), "
                   "common_rank (uniform: the next common rank does not fit), energy_level (energy: the next "
                   "common kept-energy level does not fit), saturated (no layer can take a step: all dense or exact)"));
    for (size_t i = 0; i < sizeof alds_keep_reasons / sizeof alds_keep_reasons[0]; i++)
        if (lr_table_dict_index(run->trials, (size_t)st->c_keep_reason, alds_keep_reasons[i]) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
    LR_TRY(lr_run_add_column(run, &st->c_uniform_obj, "eps_uniform", LR_COL_REAL,
                   "network row: the largest true error of uniform rank at this budget (for the global step's check)"));
    LR_TRY(lr_run_add_column(run, &st->c_accuracy, "accuracy", LR_COL_REAL,
                   "network row: test accuracy of the compressed network, grouped layers run as encoders + decoder"));
    LR_TRY(lr_run_add_column(run, &st->c_accuracy_dense, "accuracy_dense", LR_COL_REAL, "test accuracy of the dense network (lrlab's forward pass)"));
    LR_TRY(lr_run_add_column(run, &st->c_iters, "iterations", LR_COL_INT, "power iterations of eps"));
    LR_TRY(lr_run_add_column(run, &st->c_converged, "converged", LR_COL_FLAG, "1 if eps's power iteration met alds.power.tol"));
    return LR_OK;
}

static int refuse_repeats(const lr_config *c, const char *key, const char *const *v, size_t n)
{
    char where[512];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(v[i], v[j]))
                LR_ERRORF(LR_ECONFIG, "%s: \"%s\" is listed twice", lr_config_where(c, key, where, sizeof where), v[i]);
    return LR_OK;
}

static int choose_variants(const lr_config *c, alds_state *st)
{
    const char *const *m, *const *cr;
    size_t nm = lr_config_str_list(c, "alds.methods", &m), nc = lr_config_str_list(c, "alds.criteria", &cr);
    LR_TRY(refuse_repeats(c, "alds.methods", m, nm));
    LR_TRY(refuse_repeats(c, "alds.criteria", cr, nc));
    static const char *const crit[4] = {"proxy", "l2", "sqrtk", "true"};
    /* Uniform rank always runs: the global step is checked against it at every budget. */
    st->var[st->nvar++] = ALDS_UNIFORM;
    for (size_t i = 0; i < nm; i++) {
        if (!strcmp(m[i], "energy")) st->var[st->nvar++] = ALDS_ENERGY;
        else if (!strcmp(m[i], "global")) st->var[st->nvar++] = ALDS_GLOBAL;
        else if (!strcmp(m[i], "data_driven")) st->var[st->nvar++] = ALDS_DATA_DRIVEN;
        else if (!strcmp(m[i], "alds"))
            for (size_t j = 0; j < nc; j++)
                for (int k = 0; k < 4; k++)
                    if (!strcmp(cr[j], crit[k])) st->var[st->nvar++] = (alds_variant)(ALDS_PROXY + k);
    }
    return LR_OK;
}

static int prepare_test_set(lr_run *run, alds_state *st)
{
    const lr_config *c = run->cfg;
    const lr_dump *d = st->dump;
    st->acc_dense = NAN;
    if (!lr_config_num(c, 0, "network.evaluate")) return lr_run_note(run, "accuracy not evaluated (network.evaluate = false)");
    if (!d->sequential || !d->has_inputs || !d->has_labels || d->n_calib >= d->n_inputs)
        return lr_run_note(run, "%s describes no sequential network with labelled test inputs: no accuracy", st->dump_path);
    LR_TRY(lr_net_from_dump(d, &st->net));
    st->n_test = d->n_inputs - d->n_calib;
    size_t tmax = (size_t)lr_config_num(c, 0, "network.test_max");
    if (tmax && tmax < st->n_test) st->n_test = tmax;
    st->test_x = lr_mat_wrap(lr_malloc(st->n_test * d->input_dim * sizeof(double)), st->n_test, d->input_dim);
    st->test_labels = lr_malloc(st->n_test * sizeof(long));
    if (!st->test_x.data || !st->test_labels) LR_ERROR(LR_ENOMEM, "out of memory");
    LR_TRY(lr_dump_read_inputs(d, d->n_calib, st->n_test, st->test_x, st->test_labels));
    for (size_t i = 0; i < st->n_test; i++)
        if (st->test_labels[i] >= (long)st->net->out_dim)
            LR_ERRORF(LR_EDATA, "%s: /inputs: label %ld of test sample %zu is not a class of the network's %zu outputs",
                      d->path, st->test_labels[i], d->n_calib + i, st->net->out_dim);
    size_t correct = 0;
    LR_TRY(lr_net_correct(st->net, NULL, st->test_x, st->test_labels, (size_t)st->batch, &correct));
    st->acc_dense = (double)correct / (double)st->n_test;
    st->evaluate = 1;
    return lr_run_note(run, "dense accuracy %.6f on %zu test samples (recorded in the dump: %.6f)", st->acc_dense,
                       st->n_test, d->test_accuracy);
}

/* The grid's checks, counted once for the report and the note: lower <= eps <= l2 <= sqrtk
 * within bounds.tol, and at k = 1 the bound against eps. */
static void count_grid(alds_state *st, double tol)
{
    for (size_t t = 0; t < st->ntrials; t++)
        for (size_t l = 0; l < st->nets[t].nl; l++) {
            const alds_layer *L = &st->nets[t].L[l];
            for (size_t i = 0; i < L->nk; i++) {
                const alds_ktab *k = &L->tab[i];
                for (size_t j = 0; j <= k->mn; j++) {
                    st->grid_rows++;
                    st->grid_held[0] += lr_le_tol(k->lower[j], k->eps[j], tol, 1.0);
                    st->grid_held[1] += lr_le_tol(k->eps[j], k->l2[j], tol, 1.0);
                    st->grid_held[2] += lr_le_tol(k->l2[j], k->sqrtk[j], tol, 1.0);
                    st->grid_unconverged += !k->converged[j];
                    if (k->k == 1 && k->eps[j] > 0) {
                        double dev = fabs(k->lower[j] - k->eps[j]) / k->eps[j];
                        if (dev > st->k1_max_dev) st->k1_max_dev = dev;
                    }
                }
            }
        }
}

int lr_alds_prepare(lr_run *run, void **state)
{
    const lr_config *c = run->cfg;
    alds_state *st = calloc(1, sizeof *st);
    if (!st) LR_ERROR(LR_ENOMEM, "out of memory");
    *state = st;
    char where[512];
    st->synthetic = !strcmp(lr_config_str(c, "source"), "synthetic");
    st->power_tol = lr_config_num(c, 0, "alds.power.tol");
    st->fill = lr_config_num(c, 0, "alds.fill") != 0;
    st->keep_tol = lr_config_num(c, 0, "alds.keep_tol");
    st->power_max_iter = (int)lr_config_num(c, 0, "alds.power.max_iter");
    st->batch = (int)lr_config_num(c, 0, "network.batch");
    st->opts = lr_alds_opts_default();
    st->opts.jmin = (size_t)lr_config_num(c, 0, "alds.jmin");
    st->opts.nseeds = (size_t)lr_config_num(c, 0, "alds.seeds");
    st->opts.niter = (size_t)lr_config_num(c, 0, "alds.iterations");
    st->opts.seed = (unsigned long)(run->seed & 0xffffffffu);
    const long *fk;
    size_t nfk = lr_config_int_list(c, "alds.fixed_k", &fk);
    if (nfk > LR_ALDS_MAX_FIXED)
        LR_ERRORF(LR_ECONFIG, "%s: at most %d fixed seeds, got %zu", lr_config_where(c, "alds.fixed_k", where, sizeof where),
                  LR_ALDS_MAX_FIXED, nfk);
    st->opts.nfixed = nfk;
    for (size_t i = 0; i < nfk; i++) st->opts.fixed_k[i] = (size_t)fk[i];
    if (st->opts.nfixed > st->opts.nseeds) st->opts.nfixed = st->opts.nseeds;
    size_t kmax = (size_t)lr_config_num(c, 0, "alds.kmax");
    LR_TRY(choose_variants(c, st));
    for (size_t a = 0; a < lr_config_naxes(c); a++)
        if (strcmp(lr_config_axis_path(c, a), "alds.budget"))
            LR_ERRORF(LR_ECONFIG, "%s: alds sweeps alds.budget only (the tables are computed once)",
                      lr_config_where(c, lr_config_axis_path(c, a), where, sizeof where));
    const char *kind = lr_config_str(c, "alds.budget_kind");
    for (size_t p = 0; p < run->npoints; p++) {
        double b = lr_config_num(c, p, "alds.budget");
        if (!strcmp(kind, "keep") && !(b > 0 && b <= 1))
            LR_ERRORF(LR_ECONFIG, "%s: a keep ratio must lie in (0, 1], got %g",
                      lr_config_where(c, "alds.budget", where, sizeof where), b);
    }
    st->ntrials = run->ntrials;
    if (!st->synthetic) {
        if (lr_config_given(c, "trials") && run->ntrials != 1)
            LR_ERRORF(LR_ECONFIG, "%s: a dump is one network: trials must be 1", lr_config_where(c, "trials", where, sizeof where));
        if (!lr_config_str(c, "dump")[0])
            LR_ERRORF(LR_ECONFIG, "%s: source = \"dump\" needs the key dump (a layer dump, data/README.md)",
                      lr_config_where(c, "source", where, sizeof where));
        LR_TRY(lr_dump_resolve(c, "dump", st->dump_path, sizeof st->dump_path));
        LR_TRY(lr_dump_open(st->dump_path, &st->dump));
        lr_file_sha256(st->dump_path, st->dump_sha);
        st->ntrials = 1;
    } else {
        LR_TRY(check_synthetic(c));
    }
    st->nets = calloc(st->ntrials, sizeof *st->nets);
    if (!st->nets) LR_ERROR(LR_ENOMEM, "out of memory");
    /* The tabulation is thousands of small products (power iterations of N1 x N1 operators):
     * OpenBLAS's threads would spend most of it waiting for each other (12x slower with 2). */
    openblas_set_num_threads(1);
    for (size_t t = 0; t < st->ntrials; t++)
        LR_TRY(st->synthetic ? synthetic_net(run, st, &st->nets[t], t, kmax) : dump_net(run, st, &st->nets[t], kmax));
    for (size_t l = 0; l < st->nets[0].nl; l++) {
        if (st->nets[0].L[l].n0 > st->max_n0) st->max_n0 = st->nets[0].L[l].n0;
        if (st->nets[0].L[l].n1 > st->max_n1) st->max_n1 = st->nets[0].L[l].n1;
    }
    if (!st->synthetic) LR_TRY(prepare_test_set(run, st));
    else st->acc_dense = NAN;
    count_grid(st, run->bparams.tol);
    LR_TRY(lr_run_note(run, "(k, j) grid: %zu rows; lower <= eps held in %zu, eps <= l2 in %zu, l2 <= sqrt(k) in %zu; "
                       "%zu power iterations unconverged; k = 1: largest |bound - eps| / eps = %.3g", st->grid_rows,
                       st->grid_held[0], st->grid_held[1], st->grid_held[2], st->grid_unconverged, st->k1_max_dev));
    static const char *const bounds[] = {"alds_lower", "alds_l2", "alds_sqrtk"};
    LR_TRY(lr_run_use_own_bounds(run, bounds, 3, "alds.methods"));
    LR_TRY(lr_run_use_rank_offsets(run, NULL, 1));
    LR_TRY(lr_run_set_layout(run, st->nvar * (st->nets[0].nl + 1), st->ntrials));
    return declare_columns(run, st);
}

void lr_alds_release(void *state)
{
    alds_state *st = state;
    if (!st) return;
    for (size_t t = 0; st->nets && t < st->ntrials; t++) {
        for (size_t l = 0; st->nets[t].L && l < st->nets[t].nl; l++) layer_free(&st->nets[t].L[l]);
        free(st->nets[t].L);
    }
    free(st->nets);
    lr_net_free(st->net);
    lr_dump_close(st->dump);
    lr_free(st->test_x.data);
    lr_free(st->test_labels);
    free(st);
}
