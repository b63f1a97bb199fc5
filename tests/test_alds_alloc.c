/* The ALDS allocator (src/compress/alds_alloc.h) against brute force and hand-computed cases:
 *   global step  = the minimax optimum over every j vector (and dense) on random small
 *                  instances (3-4 layers, jmax <= 5, tied and zero-ending tables, k > 1 in
 *                  some layers, several budgets): identical objective, feasible, and the
 *                  objective equals the max over the layers of its own allocation;
 *   alternation  the objective never increases within a seed (on the trace), the result is
 *                the best seed's last entry, consistent with the tables and the budget;
 *                seeds start at the allowed k nearest 3, 5, 7, 9 (ties to the larger);
 *                with k = 1 as the only choice it is the global step at k = 1;
 *   baselines    uniform rank and SVD energy on hand-computed cases; SVD energy against a
 *                linear scan of every energy level; the global step never worse than
 *                uniform at equal budget, strictly better on layers of different decay;
 *   refusals     a budget below the smallest reachable one (with that number in the
 *                message), malformed tables;
 *   memory       global, run, uniform and SVD energy allocate nothing; every allocation
 *                failure of lr_alds_plan_alloc is reported as LR_ENOMEM. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compress/alds_alloc.h"
#include "core/error.h"
#include "core/mat.h"
#include "tests.h"

#define MAXL 6
#define MAXK 4
#define MAXJ 16

/* An instance with its own storage. */
typedef struct inst {
    size_t n;
    lr_alds_layer L[MAXL];
    size_t k[MAXL][MAXK], jmax[MAXL][MAXK];
    double tab[MAXL][MAXK][MAXJ + 1];
    const double *ptr[MAXL][MAXK];
    double sv[MAXL][MAXJ];
} inst;

static void inst_layer(inst *x, size_t l, size_t n0, size_t n1, int comp, size_t nk, const size_t *k,
                       const size_t *jmax)
{
    lr_alds_layer *y = &x->L[l];
    memset(y, 0, sizeof *y);
    y->n0 = n0, y->n1 = n1, y->compressible = comp, y->nk = nk;
    for (size_t i = 0; i < nk; i++) {
        x->k[l][i] = k[i], x->jmax[l][i] = jmax[i];
        x->ptr[l][i] = x->tab[l][i];
    }
    y->k = x->k[l], y->jmax = x->jmax[l], y->err = x->ptr[l];
}

/* A random non-increasing table of jmax + 1 entries from about 1 down, with ties (a fifth
 * of the steps repeat the value) and, half the time, a final 0. */
static void rand_table(gsl_rng *g, double *t, size_t jmax)
{
    t[0] = 0.5 + 0.5 * gsl_rng_uniform(g);
    for (size_t j = 1; j <= jmax; j++) t[j] = gsl_rng_uniform(g) < 0.2 ? t[j - 1] : t[j - 1] * gsl_rng_uniform(g);
    if (gsl_rng_uniform(g) < 0.5) t[jmax] = 0.0;
}

/* 3-4 layers, N0, N1 in 2..7, k lists {1}, {1,2} or {1,2,4} with jmax <= min(N0 / k, N1, 5)
 * (at least jmin), one layer in five not compressible (but at least one is). */
static void rand_inst(gsl_rng *g, inst *x, size_t jmin, int kmax_choice)
{
    memset(x, 0, sizeof *x);
    x->n = 3 + gsl_rng_uniform_int(g, 2);
    size_t ncomp = 0;
    for (size_t l = 0; l < x->n; l++) {
        size_t n0 = 2 + gsl_rng_uniform_int(g, 6), n1 = 2 + gsl_rng_uniform_int(g, 6);
        int comp = !(l == x->n - 1 && !ncomp) && gsl_rng_uniform(g) < 0.2 ? 0 : 1;
        size_t nk = kmax_choice ? 1 + gsl_rng_uniform_int(g, 3) : 1;
        size_t ks[3] = {1, 2, 4}, jm[3];
        for (size_t i = 0; i < nk; i++) {
            size_t r = n0 / ks[i] < n1 ? n0 / ks[i] : n1;
            if (r > 5) r = 5;
            jm[i] = r < jmin ? jmin : r;
        }
        inst_layer(x, l, n0, n1, comp, nk, ks, jm);
        for (size_t i = 0; i < nk; i++) rand_table(g, x->tab[l][i], jm[i]);
        ncomp += comp;
    }
}

static size_t dense_of(const lr_alds_layer *y) { return y->n0 * y->n1; }

/* Field by field (the struct has padding). */
static int same_choices(const lr_alds_choice *a, const lr_alds_choice *b, size_t n)
{
    for (size_t l = 0; l < n; l++)
        if (a[l].k != b[l].k || a[l].j != b[l].j || a[l].dense != b[l].dense || a[l].params != b[l].params ||
            a[l].err != b[l].err)
            return 0;
    return 1;
}

/* Brute force: the minimax error over every choice of (j >= jmin or dense) per compressible
 * layer at k-index kidx[l], subject to the budget; INFINITY if nothing fits. */
static double brute_global(const inst *x, const size_t *kidx, size_t jmin, size_t budget)
{
    size_t opt[MAXL], nopt[MAXL];
    double best = INFINITY;
    for (size_t l = 0; l < x->n; l++) {
        opt[l] = 0;
        nopt[l] = x->L[l].compressible ? x->L[l].jmax[kidx[l]] - jmin + 2 : 1; /* j = jmin..jmax, dense */
    }
    for (;;) {
        size_t cost = 0;
        double mx = 0;
        for (size_t l = 0; l < x->n; l++) {
            const lr_alds_layer *y = &x->L[l];
            if (!y->compressible) continue;
            size_t i = kidx[l], j = jmin + opt[l];
            if (j > y->jmax[i] || j * (y->k[i] * y->n1 + y->n0) >= dense_of(y)) {
                cost += dense_of(y); /* dense: error 0 */
            } else {
                cost += j * (y->k[i] * y->n1 + y->n0);
                if (y->err[i][j] > mx) mx = y->err[i][j];
            }
        }
        if (cost <= budget && mx < best) best = mx;
        size_t l = 0;
        while (l < x->n && ++opt[l] == nopt[l]) opt[l++] = 0;
        if (l == x->n) break;
    }
    return best;
}

/* The result is consistent: every choice matches the tables, the objective is the max
 * error, the counts add up and fit the budget. */
static void check_result(const inst *x, const lr_alds_result *r, size_t budget, size_t jmin)
{
    double mx = 0;
    size_t sum = 0, fixed = 0;
    for (size_t l = 0; l < x->n; l++) {
        const lr_alds_layer *y = &x->L[l];
        const lr_alds_choice *c = &r->layer[l];
        if (!y->compressible) {
            CU_ASSERT(c->dense && c->k == 1 && c->params == dense_of(y) && c->err == 0.0);
            fixed += dense_of(y);
            continue;
        }
        size_t i = 0;
        while (i < y->nk && y->k[i] != c->k) i++;
        CU_ASSERT_FATAL(i < y->nk);
        size_t cj = c->k * y->n1 + y->n0;
        if (c->dense) {
            CU_ASSERT(c->params == dense_of(y) && c->err == 0.0 && c->j == 0);
        } else {
            CU_ASSERT(c->j >= jmin && c->j <= y->jmax[i]);
            CU_ASSERT(c->params == c->j * cj && c->params < dense_of(y));
            CU_ASSERT(c->err == y->err[i][c->j]);
        }
        if (c->err > mx) mx = c->err;
        sum += c->params;
    }
    CU_ASSERT(r->objective == mx);
    CU_ASSERT(r->params == sum);
    CU_ASSERT(r->params_total == sum + fixed);
    CU_ASSERT(r->params <= budget);
    CU_ASSERT(r->budget == budget && r->budget_left == budget - r->params);
}

static lr_alds_plan *plan_for(const inst *x, const lr_alds_opts *o)
{
    lr_alds_plan *p = NULL;
    int st = lr_alds_plan_alloc(x->L, x->n, o, &p);
    if (st != LR_OK) fprintf(stderr, "plan: %s\n", lr_last_error());
    CU_ASSERT_EQUAL_FATAL(st, LR_OK);
    return p;
}

static size_t total_dense(const inst *x)
{
    size_t s = 0;
    for (size_t l = 0; l < x->n; l++)
        if (x->L[l].compressible) s += dense_of(&x->L[l]);
    return s;
}

static void test_global_brute_force(void)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 2024);
    lr_alds_choice ch[MAXL];
    size_t cases = 0, refused = 0, dense_seen = 0, tight = 0;
    for (int trial = 0; trial < 300; trial++) {
        size_t jmin = trial % 3 == 0 ? 0 : 1;
        inst x;
        rand_inst(g, &x, jmin, 1);
        lr_alds_opts o = lr_alds_opts_default();
        o.jmin = jmin;
        lr_alds_plan *p = plan_for(&x, &o);
        /* A random allowed k per layer (the value for lr_alds_global, the index for brute force). */
        size_t kv[MAXL], ki[MAXL];
        for (size_t l = 0; l < x.n; l++) {
            ki[l] = x.L[l].compressible ? gsl_rng_uniform_int(g, x.L[l].nk) : 0;
            kv[l] = x.L[l].compressible ? x.L[l].k[ki[l]] : 0;
        }
        size_t lo, hi = total_dense(&x) + 3;
        CU_ASSERT_EQUAL_FATAL(lr_alds_min_budget(p, kv, &lo), LR_OK);
        size_t budgets[8] = {lo > 0 ? lo - 1 : 0, lo, lo + 1, hi};
        for (int b = 4; b < 8; b++) budgets[b] = lo + gsl_rng_uniform_int(g, hi - lo + 1);
        for (int b = 0; b < 8; b++) {
            lr_alds_result r = {.layer = ch};
            int st = lr_alds_global(p, kv, budgets[b], &r);
            double want = brute_global(&x, ki, jmin, budgets[b]);
            if (isinf(want)) {
                CU_ASSERT_EQUAL(st, LR_EINVAL);
                refused++;
                continue;
            }
            CU_ASSERT_EQUAL_FATAL(st, LR_OK);
            CU_ASSERT(r.objective == want);
            if (r.objective != want)
                fprintf(stderr, "trial %d budget %zu: objective %.17g, brute force %.17g\n", trial, budgets[b],
                        r.objective, want);
            check_result(&x, &r, budgets[b], jmin);
            for (size_t l = 0; l < x.n; l++) {
                if (x.L[l].compressible) CU_ASSERT_EQUAL(r.layer[l].k, kv[l]);
                dense_seen += x.L[l].compressible && r.layer[l].dense;
            }
            tight += r.budget_left == 0;
            cases++;
        }
        lr_alds_plan_free(p);
    }
    /* The instances reach every branch: refusals, dense layers, budgets met exactly. */
    CU_ASSERT(cases > 1500 && refused > 100 && dense_seen > 100 && tight > 10);
    gsl_rng_free(g);
}

/* The step a layer could take from choice c (as lr_alds_fill defines it), written plainly:
 * its extra cost, or 0 when it cannot step. */
static size_t plain_step(const lr_alds_layer *y, const lr_alds_choice *c)
{
    if (!y->compressible || c->dense || c->err == 0.0) return 0;
    size_t i = 0;
    while (y->k[i] != c->k) i++;
    size_t cost = (c->j + 1) * (c->k * y->n1 + y->n0);
    if (c->j + 1 <= y->jmax[i] && cost < dense_of(y)) return cost - c->params;
    return dense_of(y) - c->params;
}

/* lr_alds_fill after every allocator, on random instances and budgets: the result stays a
 * valid allocation within the budget; every layer keeps its k and its error does not grow;
 * the objective does not grow; it stops only when no layer's step fits in what is left;
 * lr_alds_next_step is the smallest step of the filled result. */
static void test_fill(void)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 77);
    lr_alds_choice ch[MAXL], before[MAXL];
    size_t cases = 0, grew = 0, fell = 0, spent = 0;
    for (int trial = 0; trial < 200; trial++) {
        size_t jmin = trial % 3 == 0 ? 0 : 1;
        inst x;
        rand_inst(g, &x, jmin, 1);
        for (size_t l = 0; l < x.n; l++) {
            lr_alds_layer *y = &x.L[l];
            y->nsv = y->jmax[0], y->sv = x.sv[l];
            for (size_t i = 0; i < y->nsv; i++) x.sv[l][i] = 1.0 / (1.0 + (double)i);
        }
        lr_alds_opts o = lr_alds_opts_default();
        o.jmin = jmin;
        o.nseeds = 3;
        lr_alds_plan *p = plan_for(&x, &o);
        size_t lo;
        CU_ASSERT_EQUAL_FATAL(lr_alds_min_budget(p, NULL, &lo), LR_OK);
        for (int b = 0; b < 4; b++) {
            size_t budget = lo + gsl_rng_uniform_int(g, total_dense(&x) - lo + 4);
            for (int m = 0; m < 4; m++) {
                lr_alds_result r = {.layer = ch};
                int st = m == 0 ? lr_alds_global(p, NULL, budget, &r)
                         : m == 1 ? lr_alds_run(p, budget, &r, NULL)
                         : m == 2 ? lr_alds_uniform(p, budget, &r, NULL)
                                  : lr_alds_svd_energy(p, budget, &r, NULL);
                CU_ASSERT_EQUAL_FATAL(st, LR_OK);
                memcpy(before, ch, sizeof ch);
                double obj0 = r.objective;
                size_t left0 = r.budget_left, steps = 0, next = 0;
                CU_ASSERT_EQUAL_FATAL(lr_alds_fill(p, &r, &steps), LR_OK);
                check_result(&x, &r, budget, jmin);
                CU_ASSERT(r.objective <= obj0);
                size_t smallest = 0, fits = 0;
                for (size_t l = 0; l < x.n; l++) {
                    CU_ASSERT(ch[l].k == before[l].k || ch[l].dense);
                    CU_ASSERT(ch[l].err <= before[l].err);
                    size_t s = plain_step(&x.L[l], &ch[l]);
                    if (s && (!smallest || s < smallest)) smallest = s;
                    fits += s && s <= r.budget_left;
                }
                CU_ASSERT_EQUAL(fits, 0);
                CU_ASSERT_EQUAL(lr_alds_next_step(p, &r, &next), LR_OK);
                CU_ASSERT_EQUAL(next, smallest);
                CU_ASSERT_EQUAL(steps == 0, r.budget_left == left0);
                grew += steps > 0, fell += r.objective < obj0, spent += left0 - r.budget_left;
                cases++;
            }
        }
        lr_alds_plan_free(p);
    }
    /* The instances reach both outcomes: fills that spend, some that lower the objective. */
    CU_ASSERT(cases == 3200 && grew > 300 && fell > 10);
    printf("\n    fill: %zu allocations, %zu took steps (%zu parameters spent), %zu lowered the objective ", cases,
           grew, spent, fell);
    gsl_rng_free(g);
}

/* A fixed seed at k = 1 starts from the global step at k = 1 and never raises its
 * objective, so ALDS with it is never worse than the global step; without it, it can be. */
static void test_k1_seed(void)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 91);
    lr_alds_choice ch[MAXL];
    size_t cases = 0, worse_without = 0;
    for (int trial = 0; trial < 300; trial++) {
        inst x;
        rand_inst(g, &x, 1, 1);
        lr_alds_opts with = lr_alds_opts_default(), without = lr_alds_opts_default();
        with.nfixed = 2, with.fixed_k[0] = 1, with.fixed_k[1] = 4, with.nseeds = 2;
        without.nfixed = 1, without.fixed_k[0] = 4, without.nseeds = 1;
        lr_alds_plan *pw = plan_for(&x, &with), *po = plan_for(&x, &without);
        size_t lo;
        CU_ASSERT_EQUAL_FATAL(lr_alds_min_budget(pw, NULL, &lo), LR_OK);
        size_t budget = lo + gsl_rng_uniform_int(g, total_dense(&x) - lo + 1);
        lr_alds_result r = {.layer = ch};
        CU_ASSERT_EQUAL_FATAL(lr_alds_global(pw, NULL, budget, &r), LR_OK);
        double glob = r.objective;
        CU_ASSERT_EQUAL_FATAL(lr_alds_run(pw, budget, &r, NULL), LR_OK);
        CU_ASSERT(r.objective <= glob);
        CU_ASSERT_EQUAL_FATAL(lr_alds_run(po, budget, &r, NULL), LR_OK);
        worse_without += r.objective > glob;
        cases++;
        lr_alds_plan_free(pw), lr_alds_plan_free(po);
    }
    CU_ASSERT(worse_without > 0);
    printf("\n    k = 1 seed: %zu instances; without it ALDS (one seed at k = 4) was worse than the global step in %zu ",
           cases, worse_without);
    gsl_rng_free(g);
}

static int trace_nonincreasing(const double *t, size_t nseeds, size_t nt)
{
    for (size_t s = 0; s < nseeds; s++)
        for (size_t i = 1; i < nt; i++)
            if (t[s * nt + i] > t[s * nt + i - 1]) return 0;
    return 1;
}

static void test_alternation_trace(void)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 7);
    lr_alds_choice ch[MAXL], ch2[MAXL];
    size_t lowered = 0, improved = 0, runs = 0;
    for (int trial = 0; trial < 200; trial++) {
        size_t jmin = trial % 4 == 0 ? 0 : 1;
        inst x;
        rand_inst(g, &x, jmin, 1);
        lr_alds_opts o = lr_alds_opts_default();
        o.jmin = jmin;
        o.seed = 1 + (unsigned long)trial;
        lr_alds_plan *p = plan_for(&x, &o);
        size_t lo, hi = total_dense(&x);
        CU_ASSERT_EQUAL_FATAL(lr_alds_min_budget(p, NULL, &lo), LR_OK);
        for (int b = 0; b < 3; b++) {
            size_t budget = lo + gsl_rng_uniform_int(g, hi - lo + 1);
            size_t nt = o.niter + 1;
            double obj[15 * 5], rho[15 * 5];
            size_t halv[15], sk[15 * MAXL];
            lr_alds_trace tr = {obj, rho, halv, sk, 99};
            lr_alds_result r = {.layer = ch};
            CU_ASSERT_EQUAL_FATAL(lr_alds_run(p, budget, &r, &tr), LR_OK);
            check_result(&x, &r, budget, jmin);
            CU_ASSERT(trace_nonincreasing(obj, o.nseeds, nt));
            CU_ASSERT(tr.winner < o.nseeds);
            CU_ASSERT(obj[tr.winner * nt + o.niter] == r.objective);
            for (size_t s = 0; s < o.nseeds; s++) {
                double last = obj[s * nt + o.niter];
                CU_ASSERT(last >= r.objective);
                if (s < tr.winner) CU_ASSERT(last > r.objective); /* ties go to the earlier seed */
                improved += last < obj[s * nt];
                for (size_t i = 1; i < nt; i++) {
                    CU_ASSERT(rho[s * nt + i] <= rho[s * nt + i - 1]);
                    lowered += rho[s * nt + i] < rho[s * nt + i - 1];
                }
                CU_ASSERT(rho[s * nt] == 0.5 && rho[s * nt + o.niter] >= 0.5 - 0.2 * 5 - 1e-12);
                for (size_t l = 0; l < x.n; l++) {
                    size_t k = sk[s * x.n + l], i = 0;
                    if (!x.L[l].compressible) {
                        CU_ASSERT_EQUAL(k, 1);
                        continue;
                    }
                    while (i < x.L[l].nk && x.L[l].k[i] != k) i++;
                    CU_ASSERT(i < x.L[l].nk);
                }
            }
            /* The global step at the winner's k gives the same allocation. */
            size_t kw[MAXL];
            for (size_t l = 0; l < x.n; l++) kw[l] = r.layer[l].k;
            lr_alds_result r2 = {.layer = ch2};
            CU_ASSERT_EQUAL(lr_alds_global(p, kw, budget, &r2), LR_OK);
            CU_ASSERT(r2.objective == r.objective);
            /* Deterministic: the same run again gives the same trace and allocation. */
            double obj2[15 * 5];
            lr_alds_trace t2 = {obj2, NULL, NULL, NULL, 0};
            CU_ASSERT_EQUAL(lr_alds_run(p, budget, &r2, &t2), LR_OK);
            CU_ASSERT(!memcmp(obj, obj2, sizeof obj) && t2.winner == tr.winner);
            CU_ASSERT(same_choices(ch, ch2, x.n));
            runs++;
        }
        lr_alds_plan_free(p);
    }
    /* The instances exercise the local step and the rounding rule. */
    CU_ASSERT(runs == 600 && improved > 50 && lowered > 20);
    gsl_rng_free(g);
}

/* Seeds 0-3 start at the allowed k nearest 3, 5, 7, 9 (ties to the larger: 3 -> 4 among
 * 1, 2, 4, 8); the random seeds draw from the list; a seed whose smallest allocation does
 * not fit is halved. */
static void test_seeds(void)
{
    inst x;
    memset(&x, 0, sizeof x);
    x.n = 2;
    size_t ks[4] = {1, 2, 4, 8}, jm[4] = {8, 8, 8, 4}, k1[1] = {1}, j1[1] = {8};
    inst_layer(&x, 0, 32, 8, 1, 4, ks, jm);
    inst_layer(&x, 1, 16, 16, 1, 1, k1, j1);
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j <= jm[i]; j++) x.tab[0][i][j] = j == jm[i] ? 0 : 1.0 / (double)(1 + j * ks[i]);
    for (size_t j = 0; j <= 8; j++) x.tab[1][0][j] = j == 8 ? 0 : 1.0 - j / 8.0;
    lr_alds_opts o = lr_alds_opts_default();
    lr_alds_plan *p = plan_for(&x, &o);
    lr_alds_choice ch[2];
    lr_alds_result r = {.layer = ch};
    double obj[75];
    size_t sk[30], halv[15];
    lr_alds_trace tr = {obj, NULL, halv, sk, 0};
    /* A large budget: no halving. */
    CU_ASSERT_EQUAL_FATAL(lr_alds_run(p, 1000, &r, &tr), LR_OK);
    size_t want[4] = {4, 4, 8, 8};
    for (int s = 0; s < 4; s++) CU_ASSERT_EQUAL(sk[2 * s], want[s]);
    for (int s = 0; s < 15; s++) {
        CU_ASSERT_EQUAL(halv[s], 0);
        CU_ASSERT(sk[2 * s] == 1 || sk[2 * s] == 2 || sk[2 * s] == 4 || sk[2 * s] == 8);
        CU_ASSERT_EQUAL(sk[2 * s + 1], 1);
    }
    /* Budget 40 + 32 = 72: layer 1 at j = 1 costs 32, layer 0 at j = 1 with k = 8 costs
     * 96 and with k = 1 40: every seed at k = 4 or 8 (and most random ones) is halved to
     * k <= 1 (k = 4 at j = 1 costs 64: 64 + 32 > 72). */
    CU_ASSERT_EQUAL_FATAL(lr_alds_run(p, 72, &r, &tr), LR_OK);
    for (int s = 0; s < 4; s++) {
        CU_ASSERT_EQUAL(sk[2 * s], 1);
        CU_ASSERT(halv[s] >= 2);
    }
    check_result(&x, &r, 72, 1);
    lr_alds_plan_free(p);
}

static void test_k1_only_is_global(void)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 99);
    lr_alds_choice a[MAXL], b[MAXL];
    for (int trial = 0; trial < 100; trial++) {
        inst x;
        rand_inst(g, &x, 1, 0);
        lr_alds_plan *p = plan_for(&x, NULL);
        size_t lo, hi = total_dense(&x);
        CU_ASSERT_EQUAL_FATAL(lr_alds_min_budget(p, NULL, &lo), LR_OK);
        size_t budget = lo + gsl_rng_uniform_int(g, hi - lo + 1);
        lr_alds_result ra = {.layer = a}, rb = {.layer = b};
        CU_ASSERT_EQUAL_FATAL(lr_alds_run(p, budget, &ra, NULL), LR_OK);
        CU_ASSERT_EQUAL_FATAL(lr_alds_global(p, NULL, budget, &rb), LR_OK);
        CU_ASSERT(ra.objective == rb.objective && ra.params == rb.params);
        CU_ASSERT(same_choices(a, b, x.n));
        lr_alds_plan_free(p);
    }
    gsl_rng_free(g);
}

/* Two layers, k = 1 only, jmin = 1:
 *   A: N0 = N1 = 10 (20 per rank, dense 100), err = 1, .6, .3, .2, .1, 0,
 *      s = 3, 2, 1, 1, 1: residual energy 1, 7/16, 3/16, 2/16, 1/16, 0;
 *   B: N0 = 20, N1 = 5 (25 per rank, dense 100), err = 1, .5, .4, .3, 0, 0,
 *      s = 2, 2, 2, 2, 0: residual energy 1, 3/4, 1/2, 1/4, 0, 0. */
static void hand_inst(inst *x)
{
    memset(x, 0, sizeof *x);
    x->n = 2;
    size_t k1[1] = {1}, j5[1] = {5};
    inst_layer(x, 0, 10, 10, 1, 1, k1, j5);
    inst_layer(x, 1, 20, 5, 1, 1, k1, j5);
    double ea[6] = {1, .6, .3, .2, .1, 0}, eb[6] = {1, .5, .4, .3, 0, 0};
    double sa[5] = {3, 2, 1, 1, 1}, sb[5] = {2, 2, 2, 2, 0};
    for (int j = 0; j < 6; j++) x->tab[0][0][j] = ea[j], x->tab[1][0][j] = eb[j];
    for (int j = 0; j < 5; j++) x->sv[0][j] = sa[j], x->sv[1][j] = sb[j];
    for (int l = 0; l < 2; l++) x->L[l].nsv = 5, x->L[l].sv = x->sv[l];
}

static void test_uniform_hand(void)
{
    inst x;
    hand_inst(&x);
    lr_alds_plan *p = plan_for(&x, NULL);
    lr_alds_choice ch[2];
    lr_alds_result r = {.layer = ch};
    size_t j;
    /* 100: j = 2 costs 40 + 50 = 90, j = 3 135: 10 left, errors .3 and .4. */
    CU_ASSERT_EQUAL_FATAL(lr_alds_uniform(p, 100, &r, &j), LR_OK);
    CU_ASSERT(j == 2 && r.params == 90 && r.budget_left == 10 && r.objective == 0.4);
    CU_ASSERT(ch[0].j == 2 && ch[1].j == 2 && ch[0].err == 0.3 && ch[1].err == 0.4);
    /* 140: j = 3 costs 135 (j = 4: 80 + 100 with B dense = 180). */
    CU_ASSERT_EQUAL_FATAL(lr_alds_uniform(p, 140, &r, &j), LR_OK);
    CU_ASSERT(j == 3 && r.params == 135 && r.budget_left == 5 && r.objective == 0.3);
    /* 199: j = 4 (B dense at 4 x 25 = 100): 180, 19 left, A's error .1. */
    CU_ASSERT_EQUAL_FATAL(lr_alds_uniform(p, 199, &r, &j), LR_OK);
    CU_ASSERT(j == 4 && r.params == 180 && r.budget_left == 19 && r.objective == 0.1 && ch[1].dense && !ch[0].dense);
    /* 300: everything dense at j = 5 (the largest jmax), 200 used. */
    CU_ASSERT_EQUAL_FATAL(lr_alds_uniform(p, 300, &r, &j), LR_OK);
    CU_ASSERT(j == 5 && r.params == 200 && r.budget_left == 100 && r.objective == 0.0 && ch[0].dense && ch[1].dense);
    /* The smallest budget: j = 1, 45. */
    CU_ASSERT_EQUAL_FATAL(lr_alds_uniform(p, 45, &r, &j), LR_OK);
    CU_ASSERT(j == 1 && r.params == 45 && r.objective == 0.6);
    lr_alds_plan_free(p);
}

static void test_svd_energy_hand(void)
{
    inst x;
    hand_inst(&x);
    lr_alds_plan *p = plan_for(&x, NULL);
    lr_alds_choice ch[2];
    lr_alds_result r = {.layer = ch};
    double eta;
    /* Cost at each level (A + B): 1 and .75: 20 + 25; .5: 20 + 50; .4375: 20 + 75; .25:
     * 40 + 75; .1875: 40 + 100 (B dense); .125: 60 + 100; .0625: 80 + 100; 0: 100 + 100. */
    CU_ASSERT_EQUAL_FATAL(lr_alds_svd_energy(p, 94, &r, &eta), LR_OK);
    CU_ASSERT(eta == 0.5 && ch[0].j == 1 && ch[1].j == 2 && r.params == 70 && r.objective == 0.6);
    CU_ASSERT_EQUAL_FATAL(lr_alds_svd_energy(p, 100, &r, &eta), LR_OK);
    CU_ASSERT(eta == 1 - 0.4375 && ch[0].j == 1 && ch[1].j == 3 && r.params == 95 && r.objective == 0.6);
    CU_ASSERT_EQUAL_FATAL(lr_alds_svd_energy(p, 139, &r, &eta), LR_OK);
    CU_ASSERT(eta == 0.75 && ch[0].j == 2 && ch[1].j == 3 && r.params == 115 && r.budget_left == 24 &&
              r.objective == 0.3);
    CU_ASSERT_EQUAL_FATAL(lr_alds_svd_energy(p, 170, &r, &eta), LR_OK);
    CU_ASSERT(eta == 0.875 && ch[0].j == 3 && ch[1].dense && r.params == 160 && r.objective == 0.2);
    CU_ASSERT_EQUAL_FATAL(lr_alds_svd_energy(p, 200, &r, &eta), LR_OK);
    CU_ASSERT(eta == 1.0 && ch[0].dense && ch[1].dense && r.params == 200 && r.objective == 0.0);
    CU_ASSERT_EQUAL_FATAL(lr_alds_svd_energy(p, 45, &r, &eta), LR_OK);
    CU_ASSERT(eta == 0.25 && ch[0].j == 1 && ch[1].j == 1 && r.params == 45);
    /* The global step on the criterion at 140: level .3 (A j = 2, B j = 3: 115). */
    CU_ASSERT_EQUAL_FATAL(lr_alds_global(p, NULL, 140, &r), LR_OK);
    CU_ASSERT(r.objective == 0.3 && ch[0].j == 2 && ch[1].j == 3 && r.params == 115);
    lr_alds_plan_free(p);
}

/* SVD energy on random instances against a linear scan: for every level in the union of
 * the residual-energy tables (ascending), the first that fits. */
static void test_svd_energy_scan(void)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 5);
    lr_alds_choice ch[MAXL];
    for (int trial = 0; trial < 200; trial++) {
        inst x;
        rand_inst(g, &x, 1, 0);
        double r[MAXL][MAXJ + 1], lev[MAXL * (MAXJ + 1) + 1];
        size_t nlev = 0;
        lev[nlev++] = 0.0;
        for (size_t l = 0; l < x.n; l++) {
            lr_alds_layer *y = &x.L[l];
            if (!y->compressible) continue;
            size_t n = y->jmax[0];
            for (size_t i = 0; i < n; i++)
                x.sv[l][i] = (i == 0 ? 1.0 : x.sv[l][i - 1]) * (gsl_rng_uniform(g) < 0.2 ? 1.0 : gsl_rng_uniform(g));
            y->nsv = n, y->sv = x.sv[l];
            /* Tails summed from the smallest singular value up, each over its own loop. */
            for (size_t j = 0; j <= n; j++) {
                double tail = 0;
                for (size_t i = n; i-- > j;) tail += x.sv[l][i] * x.sv[l][i];
                r[l][j] = tail;
            }
            for (size_t j = n + 1; j-- > 0;) r[l][j] /= r[l][0];
            for (size_t j = 1; j <= n; j++) lev[nlev++] = r[l][j];
        }
        lr_alds_plan *p = plan_for(&x, NULL);
        size_t lo, hi = total_dense(&x);
        CU_ASSERT_EQUAL_FATAL(lr_alds_min_budget(p, NULL, &lo), LR_OK);
        size_t budget = lo + gsl_rng_uniform_int(g, hi - lo + 1);
        /* Sort the levels (insertion sort) and scan. */
        for (size_t i = 1; i < nlev; i++)
            for (size_t k = i; k > 0 && lev[k - 1] > lev[k]; k--) {
                double t = lev[k];
                lev[k] = lev[k - 1], lev[k - 1] = t;
            }
        double want = NAN;
        for (size_t i = 0; i < nlev && isnan(want); i++) {
            size_t cost = 0;
            for (size_t l = 0; l < x.n; l++) {
                lr_alds_layer *y = &x.L[l];
                if (!y->compressible) continue;
                size_t j = 1;
                while (j <= y->nsv && r[l][j] > lev[i]) j++;
                size_t c = j * (y->n1 + y->n0);
                cost += j > y->nsv || c >= dense_of(y) ? dense_of(y) : c;
            }
            if (cost <= budget) want = lev[i];
        }
        lr_alds_result res = {.layer = ch};
        double eta;
        CU_ASSERT_EQUAL_FATAL(lr_alds_svd_energy(p, budget, &res, &eta), LR_OK);
        /* The residual fractions here sum the tail in the same order as the module. */
        CU_ASSERT(eta == 1.0 - want);
        check_result(&x, &res, budget, 1);
        lr_alds_plan_free(p);
    }
    gsl_rng_free(g);
}

static void test_global_vs_uniform(void)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 11);
    lr_alds_choice a[MAXL], b[MAXL];
    for (int trial = 0; trial < 300; trial++) {
        inst x;
        rand_inst(g, &x, trial % 2, 0);
        lr_alds_opts o = lr_alds_opts_default();
        o.jmin = (size_t)(trial % 2);
        lr_alds_plan *p = plan_for(&x, &o);
        size_t lo, hi = total_dense(&x);
        CU_ASSERT_EQUAL_FATAL(lr_alds_min_budget(p, NULL, &lo), LR_OK);
        size_t budget = lo + gsl_rng_uniform_int(g, hi - lo + 1);
        lr_alds_result ra = {.layer = a}, rb = {.layer = b};
        CU_ASSERT_EQUAL_FATAL(lr_alds_global(p, NULL, budget, &ra), LR_OK);
        CU_ASSERT_EQUAL_FATAL(lr_alds_uniform(p, budget, &rb, NULL), LR_OK);
        CU_ASSERT(ra.objective <= rb.objective);
        check_result(&x, &rb, budget, o.jmin);
        lr_alds_plan_free(p);
    }
    gsl_rng_free(g);
    /* Heterogeneous: A decays fast (1, .01, .001, ..., 0), B slowly (1, .9, .8, ..., 0);
     * N0 = N1 = 20 (40 per rank, dense 400), jmax 10.  At 470 uniform gives both j = 5
     * (480 for j = 6): B's error .5; the global step gives A j = 1 (.01) and B the rest,
     * 430 >= its dense 400 (A at j = 2 would need 80 + 400 = 480). */
    inst x;
    memset(&x, 0, sizeof x);
    x.n = 2;
    size_t k1[1] = {1}, j10[1] = {10};
    inst_layer(&x, 0, 20, 20, 1, 1, k1, j10);
    inst_layer(&x, 1, 20, 20, 1, 1, k1, j10);
    for (int j = 0; j <= 10; j++) {
        x.tab[0][0][j] = j == 0 ? 1.0 : (j == 10 ? 0.0 : pow(10.0, -(double)(j + 1)));
        x.tab[1][0][j] = j == 10 ? 0.0 : 1.0 - 0.1 * j;
    }
    lr_alds_plan *p = plan_for(&x, NULL);
    lr_alds_result ra = {.layer = a}, rb = {.layer = b};
    size_t j;
    CU_ASSERT_EQUAL_FATAL(lr_alds_global(p, NULL, 470, &ra), LR_OK);
    CU_ASSERT_EQUAL_FATAL(lr_alds_uniform(p, 470, &rb, &j), LR_OK);
    CU_ASSERT(j == 5 && rb.objective == x.tab[1][0][5] && rb.params == 400);
    CU_ASSERT(ra.objective == 0.01 && a[0].j == 1 && a[1].dense);
    CU_ASSERT(ra.objective < rb.objective);
    lr_alds_plan_free(p);
}

static void test_refusals(void)
{
    inst x;
    hand_inst(&x);
    lr_alds_plan *p = plan_for(&x, NULL);
    lr_alds_choice ch[2];
    lr_alds_result r = {.layer = ch};
    size_t lo;
    CU_ASSERT_EQUAL(lr_alds_min_budget(p, NULL, &lo), LR_OK);
    CU_ASSERT_EQUAL(lo, 45);
    lr_clear_error();
    CU_ASSERT_EQUAL(lr_alds_run(p, 44, &r, NULL), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "smallest reachable budget 45") != NULL);
    lr_clear_error();
    CU_ASSERT_EQUAL(lr_alds_global(p, NULL, 44, &r), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "smallest reachable budget 45") != NULL);
    lr_clear_error();
    CU_ASSERT_EQUAL(lr_alds_uniform(p, 0, &r, NULL), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "budget 0 is below the smallest reachable budget 45") != NULL);
    lr_clear_error();
    CU_ASSERT_EQUAL(lr_alds_svd_energy(p, 10, &r, NULL), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "smallest reachable budget 45") != NULL);
    /* Not an allowed k. */
    size_t k3[2] = {3, 1};
    CU_ASSERT_EQUAL(lr_alds_global(p, k3, 100, &r), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "k = 3 is not among") != NULL);
    /* Budget from a keep ratio: 200 parameters in all, none fixed. */
    size_t b;
    CU_ASSERT_EQUAL(lr_alds_budget_from_keep(p, 0.5, &b), LR_OK);
    CU_ASSERT_EQUAL(b, 100);
    CU_ASSERT_EQUAL(lr_alds_budget_from_keep(p, 0.0, &b), LR_EINVAL);
    lr_alds_plan_free(p);
    /* With jmin = 0 every budget is reachable. */
    lr_alds_opts o = lr_alds_opts_default();
    o.jmin = 0;
    p = plan_for(&x, &o);
    CU_ASSERT_EQUAL(lr_alds_run(p, 0, &r, NULL), LR_OK);
    CU_ASSERT(r.params == 0 && r.objective == 1.0 && ch[0].j == 0 && !ch[0].dense);
    lr_alds_plan_free(p);
    /* A non-compressible layer of 64 parameters: keep 0.5 of 264 = 132 leaves 68. */
    inst y;
    hand_inst(&y);
    size_t k1[1] = {1}, j1[1] = {1};
    y.n = 3;
    inst_layer(&y, 2, 8, 8, 0, 1, k1, j1);
    p = plan_for(&y, NULL);
    CU_ASSERT_EQUAL(lr_alds_budget_from_keep(p, 0.5, &b), LR_OK);
    CU_ASSERT_EQUAL(b, 68);
    CU_ASSERT_EQUAL(lr_alds_budget_from_keep(p, 0.2, &b), LR_EINVAL); /* 52 < 64 */
    CU_ASSERT(strstr(lr_last_error(), "fewer than the 64 of the non-compressible") != NULL);
    lr_alds_choice c3[3];
    lr_alds_result r3 = {.layer = c3};
    CU_ASSERT_EQUAL(lr_alds_run(p, 68, &r3, NULL), LR_OK);
    CU_ASSERT(r3.params_total == r3.params + 64 && c3[2].dense && c3[2].params == 64);
    lr_alds_plan_free(p);
}

static void test_malformed(void)
{
    inst x;
    lr_alds_plan *p = NULL;
    hand_inst(&x);
    x.tab[1][0][3] = 0.45; /* .5, .4, .45: increases */
    CU_ASSERT_EQUAL(lr_alds_plan_alloc(x.L, x.n, NULL, &p), LR_EINVAL);
    CU_ASSERT(p == NULL && strstr(lr_last_error(), "layer 1, k = 1: the error table increases at j = 3") != NULL);
    hand_inst(&x);
    x.tab[0][0][2] = NAN;
    CU_ASSERT_EQUAL(lr_alds_plan_alloc(x.L, x.n, NULL, &p), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "layer 0, k = 1: err[2] = nan is not a finite number >= 0") != NULL);
    hand_inst(&x);
    x.tab[0][0][5] = -1e-300;
    CU_ASSERT_EQUAL(lr_alds_plan_alloc(x.L, x.n, NULL, &p), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "err[5]") != NULL);
    hand_inst(&x);
    x.tab[1][0][0] = INFINITY;
    CU_ASSERT_EQUAL(lr_alds_plan_alloc(x.L, x.n, NULL, &p), LR_EINVAL);
    hand_inst(&x);
    x.sv[1][3] = 3.0; /* 2, 2, 2, 3: increases */
    CU_ASSERT_EQUAL(lr_alds_plan_alloc(x.L, x.n, NULL, &p), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "layer 1: singular value 3 (3) is not finite, >= 0 and non-increasing") != NULL);
    hand_inst(&x);
    x.sv[0][4] = NAN;
    CU_ASSERT_EQUAL(lr_alds_plan_alloc(x.L, x.n, NULL, &p), LR_EINVAL);
    hand_inst(&x);
    x.k[0][0] = 2;
    CU_ASSERT_EQUAL(lr_alds_plan_alloc(x.L, x.n, NULL, &p), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "must start at 1") != NULL);
    hand_inst(&x);
    x.L[0].nsv = 4;
    CU_ASSERT_EQUAL(lr_alds_plan_alloc(x.L, x.n, NULL, &p), LR_EINVAL);
    hand_inst(&x);
    x.L[0].compressible = x.L[1].compressible = 0;
    CU_ASSERT_EQUAL(lr_alds_plan_alloc(x.L, x.n, NULL, &p), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "no compressible layer") != NULL);
    hand_inst(&x);
    lr_alds_opts o = lr_alds_opts_default();
    o.jmin = 6; /* above jmax = 5 */
    CU_ASSERT_EQUAL(lr_alds_plan_alloc(x.L, x.n, &o, &p), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "jmax = 5 is below jmin = 6") != NULL);
    /* SVD energy without singular values. */
    hand_inst(&x);
    x.L[1].sv = NULL;
    p = plan_for(&x, NULL);
    lr_alds_choice ch[2];
    lr_alds_result r = {.layer = ch};
    CU_ASSERT_EQUAL(lr_alds_svd_energy(p, 100, &r, NULL), LR_EINVAL);
    CU_ASSERT(strstr(lr_last_error(), "layer 1 has none") != NULL);
    CU_ASSERT_EQUAL(lr_alds_uniform(p, 100, &r, NULL), LR_OK);
    lr_alds_plan_free(p);
}

static void test_no_allocation(void)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 3);
    inst x;
    rand_inst(g, &x, 1, 1);
    for (size_t l = 0; l < x.n; l++) {
        lr_alds_layer *y = &x.L[l];
        y->nsv = y->jmax[0], y->sv = x.sv[l];
        for (size_t i = 0; i < y->nsv; i++) x.sv[l][i] = 1.0 / (1.0 + (double)i);
    }
    lr_alds_plan *p = plan_for(&x, NULL);
    size_t lo;
    CU_ASSERT_EQUAL(lr_alds_min_budget(p, NULL, &lo), LR_OK);
    lr_alds_choice ch[MAXL];
    lr_alds_result r = {.layer = ch};
    double obj[75];
    lr_alds_trace tr = {obj, NULL, NULL, NULL, 0};
    long before = lr_test_alloc_calls();
    CU_ASSERT_EQUAL(lr_alds_run(p, lo + 10, &r, &tr), LR_OK);
    CU_ASSERT_EQUAL(lr_alds_global(p, NULL, lo + 10, &r), LR_OK);
    CU_ASSERT_EQUAL(lr_alds_uniform(p, lo + 10, &r, NULL), LR_OK);
    CU_ASSERT_EQUAL(lr_alds_svd_energy(p, lo + 10, &r, NULL), LR_OK);
    size_t steps, next;
    CU_ASSERT_EQUAL(lr_alds_fill(p, &r, &steps), LR_OK);
    CU_ASSERT_EQUAL(lr_alds_next_step(p, &r, &next), LR_OK);
    CU_ASSERT_EQUAL(lr_test_alloc_calls() - before, 0);
    lr_alds_plan_free(p);
    /* Every allocation of the plan failing in turn: LR_ENOMEM, no plan. */
    int failures = 0;
    for (long n = 1; n < 100; n++) {
        lr_fail_alloc_after(n);
        lr_alds_plan *q = NULL;
        int st = lr_alds_plan_alloc(x.L, x.n, NULL, &q);
        lr_fail_alloc_after(0);
        if (st == LR_OK) {
            lr_alds_plan_free(q);
            break;
        }
        CU_ASSERT_EQUAL(st, LR_ENOMEM);
        CU_ASSERT(q == NULL && strstr(lr_last_error(), "out of memory") != NULL);
        failures++;
    }
    CU_ASSERT(failures >= 10);
    gsl_rng_free(g);
}

void lr_tests_alds_alloc(void)
{
    CU_pSuite s = CU_add_suite("compress: the ALDS allocator (global, local, alternation, baselines)", NULL, NULL);
    CU_add_test(s, "global step = brute-force minimax over every j vector", test_global_brute_force);
    CU_add_test(s, "alternation: objective never increases per seed; result = best seed", test_alternation_trace);
    CU_add_test(s, "seeds at the allowed k nearest 3, 5, 7, 9; infeasible seeds halved", test_seeds);
    CU_add_test(s, "k = 1 only: ALDS is the global step at k = 1", test_k1_only_is_global);
    CU_add_test(s, "uniform rank on hand-computed cases", test_uniform_hand);
    CU_add_test(s, "SVD energy on hand-computed cases", test_svd_energy_hand);
    CU_add_test(s, "SVD energy = a linear scan of the energy levels", test_svd_energy_scan);
    CU_add_test(s, "global step never worse than uniform; strictly better on mixed decay", test_global_vs_uniform);
    CU_add_test(s, "fill: spends the leftover, errors never grow, stops when nothing fits", test_fill);
    CU_add_test(s, "a fixed seed at k = 1: ALDS never worse than the global step", test_k1_seed);
    CU_add_test(s, "budgets below the smallest reachable are refused with that number", test_refusals);
    CU_add_test(s, "malformed problems refused with messages", test_malformed);
    CU_add_test(s, "no allocation after the plan; allocation failures reported", test_no_allocation);
}
