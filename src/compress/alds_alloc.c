/* ALDS allocation on tabulated errors (Liebenwein, Maalouf, Gal, Feldman, Rus, NeurIPS
 * 2021): the global step (exact minimax for fixed k), the local step (best k per layer
 * for its current budget), their alternation over 15 seeds, and the baselines uniform
 * rank, SVD energy and the global step at k = 1.  alds_alloc.h states the maths, the
 * reading of torchprune and every tie-breaking rule; bench/alds_ref.py is the same
 * allocator in numpy, and tests/test_alds_alloc.c checks it against brute force. */
#include "alds_alloc.h"

#include <float.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "core/mat.h"

/* Parameter counts up to 2^53 are exact as doubles (the local step divides them). */
#define COUNT_MAX ((size_t)1 << 53)

/* One table the global search runs on: layer l's errors at its current k (or its
 * residual-energy fractions), the cost per unit of j and the dense cost. */
typedef struct gtab {
    const double *t; /* t[0 .. jmax], non-increasing */
    size_t jmax;
    size_t cj;    /* k N1 + N0 */
    size_t dense; /* N0 N1 */
} gtab;

struct lr_alds_plan {
    const lr_alds_layer *L;
    size_t n;      /* layers */
    size_t nc;     /* compressible layers */
    size_t *comp;  /* [nc] their indices */
    lr_alds_opts o;
    size_t fixed_cost; /* N0 N1 summed over the non-compressible layers */
    size_t total;      /* N0 N1 summed over all layers */
    /* global search, per compressible layer */
    gtab *g;
    size_t *lo, *hi, *f; /* candidate index ranges [lo, hi) and the first j <= pivot */
    double *mval;        /* middle values of the non-empty ranges ... */
    size_t *mw;          /* ... and their weights */
    /* alternation state, per compressible layer: indices into the layer's k list */
    size_t *kcur, *kprop, *kbest, *kseed;
    size_t *jg; /* the global step's j per compressible layer */
    lr_alds_choice *ca, *cb, *cbest; /* per layer (all n): current, proposal, best */
    /* SVD energy: residual fractions r_l(j), j = 0 .. nsv, per compressible layer (filled by
     * each lr_alds_svd_energy call) */
    double *energy;
    size_t *eoff;
    int have_energy;
    gsl_rng *rng;
};

lr_alds_opts lr_alds_opts_default(void)
{
    lr_alds_opts o;
    memset(&o, 0, sizeof o);
    o.jmin = 1;
    o.nseeds = 15;
    o.niter = 4;
    o.nfixed = 4;
    o.fixed_k[0] = 3, o.fixed_k[1] = 5, o.fixed_k[2] = 7, o.fixed_k[3] = 9;
    o.seed = 1;
    o.rho_start = 0.5;
    o.rho_step = 0.2;
    o.rho_lowerings = 5;
    return o;
}

void lr_alds_plan_free(lr_alds_plan *p)
{
    if (!p) return;
    lr_free(p->comp), lr_free(p->g), lr_free(p->lo), lr_free(p->hi), lr_free(p->f);
    lr_free(p->mval), lr_free(p->mw);
    lr_free(p->kcur), lr_free(p->kprop), lr_free(p->kbest), lr_free(p->kseed), lr_free(p->jg);
    lr_free(p->ca), lr_free(p->cb), lr_free(p->cbest);
    lr_free(p->energy), lr_free(p->eoff);
    if (p->rng) gsl_rng_free(p->rng);
    lr_free(p);
}

/* a * b, or COUNT_MAX + 1 when that exceeds COUNT_MAX. */
static size_t mul_count(size_t a, size_t b)
{
    if (a && b > COUNT_MAX / a) return COUNT_MAX + 1;
    return a * b;
}

static int check_table(size_t l, size_t k, const double *t, size_t jmax)
{
    /* One branch-free pass (the common case: a valid table), then the detail if not. */
    int bad = !((t[0] >= 0) & (t[0] <= DBL_MAX));
    for (size_t j = 1; j <= jmax; j++) bad |= !((t[j] >= 0) & (t[j] <= DBL_MAX)) | (t[j] > t[j - 1]);
    if (!bad) return LR_OK;
    for (size_t j = 0; j <= jmax; j++) {
        if (!isfinite(t[j]) || t[j] < 0)
            LR_ERRORF(LR_EINVAL, "alds: layer %zu, k = %zu: err[%zu] = %g is not a finite number >= 0", l, k,
                      j, t[j]);
        if (j && t[j] > t[j - 1])
            LR_ERRORF(LR_EINVAL,
                      "alds: layer %zu, k = %zu: the error table increases at j = %zu (%.17g after %.17g); "
                      "it must be non-increasing in j",
                      l, k, j, t[j], t[j - 1]);
    }
    return LR_OK;
}

static int check_layer(const lr_alds_layer *y, size_t l, const lr_alds_opts *o, size_t *worst)
{
    if (!y->n0 || !y->n1) LR_ERRORF(LR_EINVAL, "alds: layer %zu has N0 = %zu, N1 = %zu", l, y->n0, y->n1);
    size_t dense = mul_count(y->n0, y->n1);
    if (dense > COUNT_MAX) LR_ERRORF(LR_EINVAL, "alds: layer %zu: N0 N1 = %zu x %zu exceeds 2^53", l, y->n0, y->n1);
    *worst = dense;
    if (!y->compressible) return LR_OK;
    if (!y->nk || !y->k || !y->jmax || !y->err)
        LR_ERRORF(LR_EINVAL, "alds: compressible layer %zu needs nk >= 1 group counts with their tables", l);
    if (y->k[0] != 1) LR_ERRORF(LR_EINVAL, "alds: layer %zu: the allowed k must start at 1 (k[0] = %zu)", l, y->k[0]);
    for (size_t i = 0; i < y->nk; i++) {
        if (i && y->k[i] <= y->k[i - 1])
            LR_ERRORF(LR_EINVAL, "alds: layer %zu: the allowed k must be strictly ascending (k[%zu] = %zu after %zu)",
                      l, i, y->k[i], y->k[i - 1]);
        if (!y->err[i]) LR_ERRORF(LR_EINVAL, "alds: layer %zu: no table for k = %zu", l, y->k[i]);
        if (y->jmax[i] < o->jmin)
            LR_ERRORF(LR_EINVAL, "alds: layer %zu, k = %zu: jmax = %zu is below jmin = %zu", l, y->k[i], y->jmax[i],
                      o->jmin);
        size_t cj = mul_count(y->k[i], y->n1);
        cj = cj > COUNT_MAX ? cj : cj + y->n0;
        size_t c = mul_count(y->jmax[i], cj);
        if (cj > COUNT_MAX || c > COUNT_MAX)
            LR_ERRORF(LR_EINVAL, "alds: layer %zu, k = %zu: jmax (k N1 + N0) exceeds 2^53", l, y->k[i]);
        if (c > *worst) *worst = c;
        LR_TRY(check_table(l, y->k[i], y->err[i], y->jmax[i]));
    }
    if (y->sv) {
        if (y->nsv != y->jmax[0])
            LR_ERRORF(LR_EINVAL,
                      "alds: layer %zu: %zu singular values for a k = 1 table of jmax = %zu (they must match)", l,
                      y->nsv, y->jmax[0]);
        const double *s = y->sv;
        int bad = y->nsv && !((s[0] >= 0) & (s[0] <= DBL_MAX));
        for (size_t i = 1; i < y->nsv; i++) bad |= !((s[i] >= 0) & (s[i] <= DBL_MAX)) | (s[i] > s[i - 1]);
        for (size_t i = 0; bad && i < y->nsv; i++)
            if (!isfinite(s[i]) || s[i] < 0 || (i && s[i] > s[i - 1]))
                LR_ERRORF(LR_EINVAL, "alds: layer %zu: singular value %zu (%g) is not finite, >= 0 and non-increasing",
                          l, i, s[i]);
    }
    return LR_OK;
}

static int check_opts(const lr_alds_opts *o)
{
    if (!o->nseeds) LR_ERROR(LR_EINVAL, "alds: nseeds must be >= 1");
    if (o->nfixed > LR_ALDS_MAX_FIXED)
        LR_ERRORF(LR_EINVAL, "alds: nfixed = %zu exceeds %d", o->nfixed, LR_ALDS_MAX_FIXED);
    for (size_t s = 0; s < o->nfixed; s++)
        if (!o->fixed_k[s]) LR_ERRORF(LR_EINVAL, "alds: fixed_k[%zu] = 0 (a target k must be >= 1)", s);
    if (!isfinite(o->rho_start) || !isfinite(o->rho_step) || o->rho_step < 0)
        LR_ERRORF(LR_EINVAL, "alds: rho_start = %g, rho_step = %g (finite, rho_step >= 0)", o->rho_start, o->rho_step);
    if (o->seed > 0xffffffffUL) LR_ERRORF(LR_EINVAL, "alds: seed %lu does not fit in 32 bits", o->seed);
    return LR_OK;
}

/* The residual-energy fractions of every compressible layer with singular values. */
static void energy_tables(lr_alds_plan *p)
{
    for (size_t c = 0; c < p->nc; c++) {
        const lr_alds_layer *y = &p->L[p->comp[c]];
        double *r = p->energy + p->eoff[c];
        double acc = 0.0;
        r[y->nsv] = 0.0;
        /* The tail from the smallest singular value up: r[j] = sum_{i >= j} s_i^2 (0-based),
         * the same order as numpy's cumsum of the reversed squares. */
        for (size_t i = y->nsv; i-- > 0;) {
            acc += y->sv[i] * y->sv[i];
            r[i] = acc;
        }
        double total = r[0];
        for (size_t i = 0; i < y->nsv; i++) r[i] = total > 0 ? r[i] / total : 0.0;
    }
}

int lr_alds_plan_alloc(const lr_alds_layer *layers, size_t nlayers, const lr_alds_opts *opts, lr_alds_plan **out)
{
    if (!out) LR_ERROR(LR_EINVAL, "alds: no output pointer for the plan");
    *out = NULL;
    if (!layers || !nlayers) LR_ERROR(LR_EINVAL, "alds: no layers");
    lr_alds_opts o = opts ? *opts : lr_alds_opts_default();
    LR_TRY(check_opts(&o));
    size_t nc = 0, worst_sum = 0, fixed = 0, total = 0, esize = 0;
    int have_energy = 1;
    for (size_t l = 0; l < nlayers; l++) {
        size_t worst = 0;
        LR_TRY(check_layer(&layers[l], l, &o, &worst));
        worst_sum += worst;
        if (worst_sum > COUNT_MAX)
            LR_ERROR(LR_EINVAL, "alds: the layers' parameter counts add up to more than 2^53");
        total += layers[l].n0 * layers[l].n1;
        if (layers[l].compressible) {
            nc++;
            if (layers[l].sv) esize += layers[l].nsv + 1;
            else have_energy = 0;
        } else {
            fixed += layers[l].n0 * layers[l].n1;
        }
    }
    if (!nc) LR_ERROR(LR_EINVAL, "alds: no compressible layer");
    lr_alds_plan *p = lr_calloc(1, sizeof *p);
    if (!p) return LR_ENOMEM;
    p->L = layers, p->n = nlayers, p->nc = nc, p->o = o, p->fixed_cost = fixed, p->total = total;
    p->have_energy = have_energy;
    size_t z = sizeof(size_t);
    if (!(p->comp = lr_calloc(nc, z)) || !(p->g = lr_calloc(nc, sizeof(gtab))) || !(p->lo = lr_calloc(nc, z)) ||
        !(p->hi = lr_calloc(nc, z)) || !(p->f = lr_calloc(nc, z)) || !(p->mval = lr_calloc(nc, sizeof(double))) ||
        !(p->mw = lr_calloc(nc, z)) || !(p->kcur = lr_calloc(nc, z)) || !(p->kprop = lr_calloc(nc, z)) ||
        !(p->kbest = lr_calloc(nc, z)) || !(p->kseed = lr_calloc(nc, z)) || !(p->jg = lr_calloc(nc, z)) ||
        !(p->ca = lr_calloc(nlayers, sizeof(lr_alds_choice))) ||
        !(p->cb = lr_calloc(nlayers, sizeof(lr_alds_choice))) ||
        !(p->cbest = lr_calloc(nlayers, sizeof(lr_alds_choice))) || !(p->eoff = lr_calloc(nc, z)) ||
        (have_energy && !(p->energy = lr_calloc(esize, sizeof(double))))) {
        lr_alds_plan_free(p);
        return LR_ENOMEM;
    }
    for (size_t l = 0, c = 0, e = 0; l < nlayers; l++)
        if (layers[l].compressible) {
            p->comp[c] = l;
            p->eoff[c] = e;
            if (layers[l].sv) e += layers[l].nsv + 1;
            c++;
        }
    p->rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!p->rng) {
        lr_alds_plan_free(p);
        LR_ERROR(LR_ENOMEM, "alds: out of memory for the random generator");
    }
    *out = p;
    return LR_OK;
}

/* ---- the global search ---- */

/* The smallest j in [a, b) with t[j] <= e (b if none); t non-increasing. */
static size_t first_le(const double *t, size_t a, size_t b, double e)
{
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (t[m] <= e) b = m;
        else a = m + 1;
    }
    return a;
}

/* The smallest j in [a, b) with t[j] < e (b if none). */
static size_t first_lt(const double *t, size_t a, size_t b, double e)
{
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (t[m] < e) b = m;
        else a = m + 1;
    }
    return a;
}

/* The cost of rank j in table g (j > jmax: no rank qualifies, dense); *dense says which. */
static size_t cost_at(const gtab *g, size_t j, int *dense)
{
    if (j <= g->jmax) {
        size_t c = j * g->cj;
        if (c < g->dense) {
            *dense = 0;
            return c;
        }
    }
    *dense = 1;
    return g->dense;
}

static size_t min_cost(const lr_alds_plan *p)
{
    size_t s = 0;
    int d;
    for (size_t c = 0; c < p->nc; c++) s += cost_at(&p->g[c], p->o.jmin, &d);
    return s;
}

/* The weighted median of the m values mval[0..m) with weights mw (total w): the smallest
 * value v such that the values <= v carry at least half of w.  Sorts the arrays in place
 * (insertion sort: m is the number of layers). */
static double weighted_median(double *v, size_t *w, size_t m, size_t total)
{
    for (size_t i = 1; i < m; i++) {
        double x = v[i];
        size_t y = w[i], k = i;
        for (; k > 0 && v[k - 1] > x; k--) v[k] = v[k - 1], w[k] = w[k - 1];
        v[k] = x, w[k] = y;
    }
    size_t cum = 0;
    for (size_t i = 0; i < m; i++) {
        cum += w[i];
        if (2 * cum >= total) return v[i];
    }
    return v[m - 1];
}

/* The minimal feasible level eps* over the tables p->g (see the header) and each table's j
 * there (p->jg).  Returns 0 when even the smallest allocation exceeds the budget. */
static int search(lr_alds_plan *p, size_t budget, double *eps)
{
    size_t nc = p->nc, jmin = p->o.jmin;
    gtab *g = p->g;
    if (min_cost(p) > budget) return 0;
    /* The largest candidate is feasible (it is the smallest allocation); try 0 first. */
    double best = 0.0;
    size_t c0 = 0;
    int d;
    for (size_t c = 0; c < nc; c++) {
        if (g[c].t[jmin] > best) best = g[c].t[jmin];
        c0 += cost_at(&g[c], first_le(g[c].t, jmin, g[c].jmax + 1, 0.0), &d);
    }
    if (c0 <= budget) best = 0.0;
    else {
        /* Candidates strictly between low = 0 (infeasible) and best (feasible). */
        size_t W = 0;
        for (size_t c = 0; c < nc; c++) {
            p->lo[c] = first_lt(g[c].t, jmin, g[c].jmax + 1, best);
            p->hi[c] = first_le(g[c].t, p->lo[c], g[c].jmax + 1, 0.0);
            W += p->hi[c] - p->lo[c];
        }
        while (W > 0) {
            size_t m = 0;
            for (size_t c = 0; c < nc; c++)
                if (p->hi[c] > p->lo[c]) {
                    p->mval[m] = g[c].t[p->lo[c] + (p->hi[c] - p->lo[c]) / 2];
                    p->mw[m++] = p->hi[c] - p->lo[c];
                }
            double piv = weighted_median(p->mval, p->mw, m, W);
            size_t cost = 0;
            for (size_t c = 0; c < nc; c++) {
                /* Values before lo are >= best > piv and values from hi on are <= low < piv,
                 * so the first j with t <= piv lies in [lo, hi]. */
                p->f[c] = first_le(g[c].t, p->lo[c], p->hi[c], piv);
                cost += cost_at(&g[c], p->f[c], &d);
            }
            W = 0;
            if (cost <= budget) {
                best = piv;
                for (size_t c = 0; c < nc; c++) {
                    p->lo[c] = first_lt(g[c].t, p->f[c], p->hi[c], piv);
                    W += p->hi[c] - p->lo[c];
                }
            } else {
                for (size_t c = 0; c < nc; c++) {
                    p->hi[c] = p->f[c];
                    W += p->hi[c] - p->lo[c];
                }
            }
        }
    }
    for (size_t c = 0; c < nc; c++) p->jg[c] = first_le(g[c].t, jmin, g[c].jmax + 1, best);
    *eps = best;
    return 1;
}

/* Fill every layer's choice from the global step's j (p->jg) on tables of layer k-indices
 * kidx, reading the errors from the caller's tables at those k; the objective and counts
 * go to the result fields. */
static void fill_choices(const lr_alds_plan *p, const size_t *kidx, lr_alds_choice *ch, double *obj, size_t *params)
{
    double mx = 0.0;
    size_t sum = 0;
    for (size_t l = 0; l < p->n; l++) {
        const lr_alds_layer *y = &p->L[l];
        if (!y->compressible) {
            lr_alds_choice c = {1, 0, 1, y->n0 * y->n1, 0.0};
            ch[l] = c;
        }
    }
    for (size_t c = 0; c < p->nc; c++) {
        size_t l = p->comp[c];
        const lr_alds_layer *y = &p->L[l];
        size_t i = kidx ? kidx[c] : 0;
        int dense;
        size_t cost = cost_at(&p->g[c], p->jg[c], &dense);
        lr_alds_choice x = {y->k[i], dense ? 0 : p->jg[c], dense, cost, dense ? 0.0 : y->err[i][p->jg[c]]};
        ch[l] = x;
        if (x.err > mx) mx = x.err;
        sum += cost;
    }
    *obj = mx;
    *params = sum;
}

static void set_tables_k(lr_alds_plan *p, const size_t *kidx)
{
    for (size_t c = 0; c < p->nc; c++) {
        const lr_alds_layer *y = &p->L[p->comp[c]];
        size_t i = kidx ? kidx[c] : 0;
        gtab t = {y->err[i], y->jmax[i], y->k[i] * y->n1 + y->n0, y->n0 * y->n1};
        p->g[c] = t;
    }
}

static void result_set(const lr_alds_plan *p, lr_alds_result *out, const lr_alds_choice *ch, double obj,
                       size_t params, size_t budget)
{
    if (ch != out->layer) memcpy(out->layer, ch, p->n * sizeof *ch);
    out->objective = obj;
    out->params = params;
    out->params_total = params + p->fixed_cost;
    out->budget = budget;
    out->budget_left = budget - params;
}

static int refuse_budget(size_t budget, size_t reach, size_t jmin, const char *with)
{
    LR_ERRORF(LR_EINVAL,
              "alds: budget %zu is below the smallest reachable budget %zu (every compressible layer at "
              "j = %zu %s, or dense where that is cheaper)",
              budget, reach, jmin, with);
}

static int check_call(const lr_alds_plan *p, const lr_alds_result *out, const char *who)
{
    if (!p || !out || !out->layer) LR_ERRORF(LR_EINVAL, "%s: needs a plan and a result with its layer array", who);
    return LR_OK;
}

/* Layer c's index of group count k, or nk if k is not allowed. */
static size_t k_index(const lr_alds_layer *y, size_t k)
{
    size_t a = 0, b = y->nk;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (y->k[m] < k) a = m + 1;
        else b = m;
    }
    return a < y->nk && y->k[a] == k ? a : y->nk;
}

static int kidx_from_k(lr_alds_plan *p, const size_t *k, size_t *kidx)
{
    for (size_t c = 0; c < p->nc; c++) {
        size_t l = p->comp[c];
        kidx[c] = k ? k_index(&p->L[l], k[l]) : 0;
        if (kidx[c] == p->L[l].nk)
            LR_ERRORF(LR_EINVAL, "alds: layer %zu: k = %zu is not among its allowed group counts", l, k[l]);
    }
    return LR_OK;
}

int lr_alds_min_budget(const lr_alds_plan *p, const size_t *k, size_t *out)
{
    if (!p || !out) LR_ERROR(LR_EINVAL, "lr_alds_min_budget: needs a plan and an output");
    size_t s = 0;
    for (size_t c = 0; c < p->nc; c++) {
        const lr_alds_layer *y = &p->L[p->comp[c]];
        size_t i = k ? k_index(y, k[p->comp[c]]) : 0;
        if (i == y->nk)
            LR_ERRORF(LR_EINVAL, "alds: layer %zu: k = %zu is not among its allowed group counts", p->comp[c],
                      k[p->comp[c]]);
        size_t x = p->o.jmin * (y->k[i] * y->n1 + y->n0), d = y->n0 * y->n1;
        s += x < d ? x : d;
    }
    *out = s;
    return LR_OK;
}

int lr_alds_budget_from_keep(const lr_alds_plan *p, double keep, size_t *budget)
{
    if (!p || !budget) LR_ERROR(LR_EINVAL, "lr_alds_budget_from_keep: needs a plan and an output");
    if (!(keep > 0 && keep <= 1)) LR_ERRORF(LR_EINVAL, "alds: keep ratio %g is not in (0, 1]", keep);
    size_t all = (size_t)floor(keep * (double)p->total);
    if (all < p->fixed_cost)
        LR_ERRORF(LR_EINVAL,
                  "alds: keep ratio %g of %zu parameters leaves %zu, fewer than the %zu of the non-compressible "
                  "layers",
                  keep, p->total, all, p->fixed_cost);
    *budget = all - p->fixed_cost;
    return LR_OK;
}

int lr_alds_global(lr_alds_plan *p, const size_t *k, size_t budget, lr_alds_result *out)
{
    LR_TRY(check_call(p, out, "lr_alds_global"));
    LR_TRY(kidx_from_k(p, k, p->kcur));
    set_tables_k(p, p->kcur);
    double eps;
    if (!search(p, budget, &eps))
        return refuse_budget(budget, min_cost(p), p->o.jmin, k ? "with the given k" : "with k = 1");
    double obj;
    size_t params;
    fill_choices(p, p->kcur, out->layer, &obj, &params);
    result_set(p, out, out->layer, obj, params, budget);
    return LR_OK;
}

/* ---- the alternation ---- */

/* The index of layer y's allowed k closest to target; ties to the larger k. */
static size_t k_nearest(const lr_alds_layer *y, size_t target)
{
    size_t bi = 0, bd = (size_t)-1;
    for (size_t i = 0; i < y->nk; i++) {
        size_t d = y->k[i] > target ? y->k[i] - target : target - y->k[i];
        if (d <= bd) bd = d, bi = i;
    }
    return bi;
}

/* The local step: kprop from the current allocation ch at rounding rho. */
static void local_step(lr_alds_plan *p, const lr_alds_choice *ch, double rho)
{
    size_t jmin = p->o.jmin;
    for (size_t c = 0; c < p->nc; c++) {
        const lr_alds_layer *y = &p->L[p->comp[c]];
        size_t b = ch[p->comp[c]].params, dense = y->n0 * y->n1, bi = p->kcur[c];
        double be = INFINITY;
        for (size_t i = 0; i < y->nk; i++) {
            size_t cj = y->k[i] * y->n1 + y->n0, j;
            double x = floor((double)b / (double)cj + rho);
            if (x > (double)y->jmax[i]) j = y->jmax[i];
            else if (x < (double)jmin) {
                if (jmin * cj > b) continue;
                j = jmin;
            } else j = (size_t)x;
            double e = j * cj >= dense ? 0.0 : y->err[i][j];
            if (e < be) be = e, bi = i;
        }
        p->kprop[c] = bi;
    }
}

/* The global step at layer k-indices kidx into ch; 0 if infeasible. */
static int global_k(lr_alds_plan *p, const size_t *kidx, size_t budget, lr_alds_choice *ch, double *obj,
                    size_t *params)
{
    set_tables_k(p, kidx);
    double eps;
    if (!search(p, budget, &eps)) return 0;
    fill_choices(p, kidx, ch, obj, params);
    return 1;
}

int lr_alds_run(lr_alds_plan *p, size_t budget, lr_alds_result *out, lr_alds_trace *trace)
{
    LR_TRY(check_call(p, out, "lr_alds_run"));
    size_t reach;
    LR_TRY(lr_alds_min_budget(p, NULL, &reach));
    if (budget < reach) return refuse_budget(budget, reach, p->o.jmin, "with k = 1");
    const lr_alds_opts *o = &p->o;
    size_t nc = p->nc, nt = o->niter + 1;
    gsl_rng_set(p->rng, o->seed);
    double best_obj = INFINITY;
    size_t best_params = 0;
    if (trace) trace->winner = 0;
    for (size_t s = 0; s < o->nseeds; s++) {
        for (size_t c = 0; c < nc; c++) {
            const lr_alds_layer *y = &p->L[p->comp[c]];
            p->kcur[c] = s < o->nfixed ? k_nearest(y, o->fixed_k[s]) : (size_t)gsl_rng_uniform_int(p->rng, y->nk);
        }
        double f;
        size_t params, halvings = 0;
        while (!global_k(p, p->kcur, budget, p->ca, &f, &params)) {
            /* torchprune's _initialize_seed: halve k until the seed is feasible; k = 1
             * everywhere is feasible (the budget passed the check above). */
            int any = 0;
            for (size_t c = 0; c < nc; c++) {
                const lr_alds_layer *y = &p->L[p->comp[c]];
                size_t half = y->k[p->kcur[c]] / 2;
                if (half >= 1) any = 1;
                p->kcur[c] = k_nearest(y, half);
            }
            if (!any) LR_ERROR(LR_EINVAL, "alds: internal error: k = 1 everywhere is infeasible");
            halvings++;
        }
        if (trace) {
            if (trace->halvings) trace->halvings[s] = halvings;
            if (trace->seed_k) {
                for (size_t l = 0; l < p->n; l++) trace->seed_k[s * p->n + l] = 1;
                for (size_t c = 0; c < nc; c++)
                    trace->seed_k[s * p->n + p->comp[c]] = p->L[p->comp[c]].k[p->kcur[c]];
            }
        }
        double rho = o->rho_start;
        size_t lowered = 0;
        int stopped = 0;
        for (size_t t = 0; t < nt; t++) {
            while (t > 0 && !stopped) {
                local_step(p, p->ca, rho);
                if (!memcmp(p->kprop, p->kcur, nc * sizeof(size_t))) {
                    stopped = 1; /* a fixed point: every later iteration repeats it */
                    break;
                }
                double fp;
                size_t pp;
                if (global_k(p, p->kprop, budget, p->cb, &fp, &pp) && fp <= f) {
                    lr_alds_choice *sw = p->ca;
                    p->ca = p->cb, p->cb = sw;
                    size_t *sk = p->kcur;
                    p->kcur = p->kprop, p->kprop = sk;
                    f = fp, params = pp;
                    break;
                }
                if (lowered == o->rho_lowerings) {
                    stopped = 1;
                    break;
                }
                rho = rho - o->rho_step;
                lowered++;
            }
            if (trace && trace->objective) trace->objective[s * nt + t] = f;
            if (trace && trace->rho) trace->rho[s * nt + t] = rho;
        }
        if (f < best_obj) {
            best_obj = f, best_params = params;
            memcpy(p->cbest, p->ca, p->n * sizeof *p->ca);
            memcpy(p->kbest, p->kcur, nc * sizeof *p->kcur);
            if (trace) trace->winner = s;
        }
    }
    result_set(p, out, p->cbest, best_obj, best_params, budget);
    return LR_OK;
}

/* ---- baselines ---- */

int lr_alds_uniform(lr_alds_plan *p, size_t budget, lr_alds_result *out, size_t *j_common)
{
    LR_TRY(check_call(p, out, "lr_alds_uniform"));
    size_t reach, jmin = p->o.jmin, jtop = jmin;
    LR_TRY(lr_alds_min_budget(p, NULL, &reach));
    if (budget < reach) return refuse_budget(budget, reach, jmin, "with k = 1");
    set_tables_k(p, NULL);
    for (size_t c = 0; c < p->nc; c++)
        if (p->g[c].jmax > jtop) jtop = p->g[c].jmax;
    /* The largest common j in [jmin, jtop] that fits; cost(jmin) = reach fits. */
    size_t a = jmin, b = jtop;
    while (a < b) {
        size_t m = a + (b - a + 1) / 2, cost = 0;
        int d;
        for (size_t c = 0; c < p->nc; c++) cost += cost_at(&p->g[c], m < p->g[c].jmax ? m : p->g[c].jmax, &d);
        if (cost <= budget) a = m;
        else b = m - 1;
    }
    for (size_t c = 0; c < p->nc; c++) p->jg[c] = a < p->g[c].jmax ? a : p->g[c].jmax;
    double obj;
    size_t params;
    fill_choices(p, NULL, out->layer, &obj, &params);
    result_set(p, out, out->layer, obj, params, budget);
    if (j_common) *j_common = a;
    return LR_OK;
}

int lr_alds_svd_energy(lr_alds_plan *p, size_t budget, lr_alds_result *out, double *eta)
{
    LR_TRY(check_call(p, out, "lr_alds_svd_energy"));
    if (!p->have_energy) {
        for (size_t c = 0; c < p->nc; c++)
            if (!p->L[p->comp[c]].sv)
                LR_ERRORF(LR_EINVAL, "alds: SVD energy needs the singular values of every compressible layer; "
                          "layer %zu has none (lr_alds_layer.sv)", p->comp[c]);
    }
    size_t reach;
    LR_TRY(lr_alds_min_budget(p, NULL, &reach));
    if (budget < reach) return refuse_budget(budget, reach, p->o.jmin, "with k = 1");
    for (size_t c = 0; c < p->nc; c++) {
        const lr_alds_layer *y = &p->L[p->comp[c]];
        gtab t = {p->energy + p->eoff[c], y->nsv, y->n1 + y->n0, y->n0 * y->n1};
        p->g[c] = t;
    }
    energy_tables(p); /* per call: O(singular values), cheaper than the search itself */
    double r;
    if (!search(p, budget, &r)) return refuse_budget(budget, reach, p->o.jmin, "with k = 1");
    double obj;
    size_t params;
    fill_choices(p, NULL, out->layer, &obj, &params);
    result_set(p, out, out->layer, obj, params, budget);
    if (eta) *eta = 1.0 - r;
    return LR_OK;
}

/* ---- spending the leftover budget ---- */

/* Layer l's next step from its choice ch: the new choice *nx and its extra cost; 0 when the
 * layer cannot step (not compressible, dense, error 0). */
static int layer_step(const lr_alds_layer *y, const lr_alds_choice *ch, lr_alds_choice *nx, size_t *extra)
{
    if (!y->compressible || ch->dense || !(ch->err > 0)) return 0;
    size_t i = k_index(y, ch->k), dense = y->n0 * y->n1;
    if (i == y->nk) return 0;
    size_t j = ch->j + 1, cost = j * (y->k[i] * y->n1 + y->n0);
    if (j <= y->jmax[i] && cost < dense) {
        lr_alds_choice c = {ch->k, j, 0, cost, y->err[i][j]};
        *nx = c;
    } else {
        lr_alds_choice c = {ch->k, 0, 1, dense, 0.0};
        *nx = c;
    }
    *extra = nx->params - ch->params;
    return 1;
}

static int check_result(const lr_alds_plan *p, const lr_alds_result *r, const char *who)
{
    LR_TRY(check_call(p, r, who));
    size_t sum = 0;
    for (size_t c = 0; c < p->nc; c++) sum += r->layer[p->comp[c]].params;
    if (sum != r->params || r->params > r->budget)
        LR_ERRORF(LR_EINVAL, "%s: the result does not belong to this plan (%zu parameters in its layers, %zu "
                  "recorded, budget %zu)", who, sum, r->params, r->budget);
    return LR_OK;
}

int lr_alds_next_step(const lr_alds_plan *p, const lr_alds_result *result, size_t *cost)
{
    LR_TRY(check_result(p, result, "lr_alds_next_step"));
    if (!cost) LR_ERROR(LR_EINVAL, "lr_alds_next_step: needs an output");
    size_t best = 0;
    for (size_t c = 0; c < p->nc; c++) {
        size_t l = p->comp[c], extra;
        lr_alds_choice nx;
        if (layer_step(&p->L[l], &result->layer[l], &nx, &extra) && (!best || extra < best)) best = extra;
    }
    *cost = best;
    return LR_OK;
}

int lr_alds_fill(const lr_alds_plan *p, lr_alds_result *result, size_t *steps)
{
    LR_TRY(check_result(p, result, "lr_alds_fill"));
    size_t taken = 0;
    for (;;) {
        size_t pick = p->n, pick_extra = 0;
        lr_alds_choice pick_nx = {0};
        for (size_t c = 0; c < p->nc; c++) {
            size_t l = p->comp[c], extra;
            lr_alds_choice nx;
            if (!layer_step(&p->L[l], &result->layer[l], &nx, &extra) || extra > result->budget_left) continue;
            if (pick == p->n || result->layer[l].err > result->layer[pick].err)
                pick = l, pick_extra = extra, pick_nx = nx;
        }
        if (pick == p->n) break;
        result->layer[pick] = pick_nx;
        result->params += pick_extra;
        result->budget_left -= pick_extra;
        taken++;
    }
    double mx = 0.0;
    for (size_t c = 0; c < p->nc; c++)
        if (result->layer[p->comp[c]].err > mx) mx = result->layer[p->comp[c]].err;
    result->objective = mx;
    result->params_total = result->params + p->fixed_cost;
    if (steps) *steps = taken;
    return LR_OK;
}
