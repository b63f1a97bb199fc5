/* ALDS allocation: how many groups k and which rank j per group each layer gets, so that
 * the largest relative error over the layers is as small as a parameter budget allows.
 *
 * Paper: L. Liebenwein, A. Maalouf, O. Gal, D. Feldman, D. Rus, "Compressing Neural
 * Networks: Towards Determining the Optimal Layer-wise Decomposition", NeurIPS 2021
 * (ALDS); the authors' code is torchprune (github.com/lucaslie/torchprune,
 * src/torchprune/torchprune/method/alds/alds_allocator.py on top of
 * method/base_decompose/base_decompose_allocator.py and method/base/base_allocator.py).
 * docs/theory.md section 4 is lrlab's statement of it.  This module works on tabulated errors
 * only: it knows nothing of weights or SVDs, so whichever criterion the caller tabulates
 * (proxy, l2, sqrtk, the true error, a data-driven error) is the one it allocates on.
 *
 * The problem.  Layer l has N0 inputs (c kh kw), N1 outputs (f), allowed group counts
 * k_1 = 1 < k_2 < ... and, for each allowed k, a table err_l(k, j), j = 0 .. jmax_l(k),
 * non-increasing in j.  Choosing (k, j) costs j (k N1 + N0) parameters; a layer for which
 * that is no less than N0 N1 stays dense instead (error 0, N0 N1 parameters).  A layer
 * that is not compressible counts N0 N1 and never changes.  Given a budget B on the
 * parameters of the compressible layers, ALDS minimises max_l err_l subject to
 * sum_l params_l <= B, with j >= jmin in every decomposed layer (torchprune: jmin = 1, a
 * layer is never removed; jmin = 0 allows it).
 *
 * Global step (k fixed per layer; lr_alds_global).  For a level eps let layer l take the
 * smallest j >= jmin with err_l(k, j) <= eps, or dense if that is cheaper or no j
 * qualifies; its cost c_l(eps) is non-increasing in eps and changes only at tabulated
 * values, so the minimal feasible level eps* = min { e in E : sum_l c_l(e) <= B }, E = {0}
 * union { err_l(k_l, j) : j >= jmin }, is found exactly by a binary search over the
 * sorted set E.  The allocation at eps* is minimax-optimal for these k (any allocation
 * with max error e < eps* would make c(e') <= B for the largest e' in E below eps*), and
 * its objective max_l err_l equals eps*.  The search never sorts E: each layer's table is
 * already sorted, so every round keeps, per layer, the index range of its candidates
 * strictly between the best feasible level found and the largest infeasible one, takes as
 * pivot the weighted median of the ranges' middle elements (weights: range lengths; at
 * least a quarter of the remaining candidates go each round), evaluates the cost at the
 * pivot with one binary search per table, and narrows the ranges: O(L log J) per round,
 * O(log |E|) rounds.  Its result is the same number a search over np.unique(E) finds
 * (bench/alds_ref.py).
 *
 * Local step.  Layer l, given the parameters b_l the last global step gave it, tries
 * every allowed k' with j' = floor(b_l / (k' N1 + N0) + rho): j' > jmax_l(k') becomes
 * jmax_l(k'); j' < jmin becomes jmin if jmin (k' N1 + N0) <= b_l and otherwise rules k'
 * out (torchprune skips such a k'; with jmin = 0 this is the clamp to 0).  The error of
 * (k', j') is err_l(k', j'), or 0 if j' (k' N1 + N0) >= N0 N1 (dense).  The layer keeps
 * the k' of smallest error; ties go to the smallest k'; if every k' is ruled out it keeps
 * its k.  The local step chooses k only: the next global step chooses j.
 *
 * Alternation (lr_alds_run).  Seeds s = 0 .. nseeds-1: the first nfixed seeds give each
 * layer its allowed k closest to fixed_k[s] (3, 5, 7, 9; ties to the larger k, as
 * torchprune's descending divisor list and argmin do); the others draw each compressible
 * layer's k uniformly from its list, in layer order, with gsl_rng_uniform_int on one GSL
 * MT19937 generator seeded with gsl_rng_set(opts.seed) at the start of every run (one
 * draw per compressible layer, also when it has a single allowed k).  If a seed's global
 * step is infeasible its k are halved (each layer: the allowed k closest to k / 2, ties
 * to the larger) until it is feasible, as torchprune's _initialize_seed does; k = 1
 * everywhere is always feasible because smaller budgets are refused up front.  Then niter
 * iterations of local step + global step.
 *
 * What "infeasible" means, and the rounding rho.  In torchprune a global step is a
 * Brent root search of budget - size(eps) (base_allocator.py, BaseFilterAllocator.
 * _allocate_method); with disp=True, as ALDS calls it, it raises ValueError when the
 * function has the same sign at both ends of the bracket and misses the budget by more
 * than 0.5 %: in practice, when even the smallest allocation of the proposed k (every
 * layer at rank 1) exceeds the budget.  On that ValueError _iterate lowers the rounding
 * factor by 0.2 (from 0.5; _lower_round_rank raises once it would go below -0.51, which
 * stops the seed), restores the k it started from and proposes again; the factor is
 * reset only when the next seed starts.  lrlab's global step is exact, so here the
 * proposal is infeasible exactly when sum_l min(jmin (k'_l N1 + N0), N0 N1) > B, with no
 * tolerance.  lrlab also rejects a feasible proposal whose objective is larger than the
 * current one (torchprune accepts it and only compares the seed's last objective with its
 * first): the state then stays, so the objective after every iteration of a seed never
 * increases.  A rejected proposal of either kind lowers rho by rho_step and proposes
 * again from the same state, at most rho_lowerings times per seed (0.5, 0.3, 0.1, -0.1,
 * -0.3, -0.5: rho is updated as rho = rho - rho_step, so the last is
 * -0.5000000000000001); when rho can go no lower the seed stops and its remaining trace
 * entries repeat its objective.  (Rejecting without lowering rho would change nothing: the
 * same state and rho give the same proposal.)  A proposal equal to the current k is a
 * fixed point: the seed stops there too.  A proposal is accepted when its objective is
 * <= the current one (ties accepted).
 *
 * The best seed is the one of smallest final objective; ties go to the earlier seed.
 *
 * Baselines.  lr_alds_uniform: k = 1 and one common j for every compressible layer
 * (capped at the layer's jmax(1), dense where that is cheaper), the largest such j >=
 * jmin that fits; the result says how much budget is left.  lr_alds_svd_energy: k = 1
 * and per layer the smallest j whose kept energy sum_{i<=j} s_i^2 / sum_i s_i^2 reaches a
 * common eta, the largest eta that fits.  The kept fraction is computed as 1 - r(j) with
 * r(j) = (sum_{i>j} s_i^2) / (sum_i s_i^2), the tail summed from the smallest singular
 * value up (r = 0 for a zero matrix), and the largest feasible eta is 1 - r* where r* is
 * the global step's exact level on the tables r: a bisection on eta would converge to the
 * same breakpoint, without a tolerance here.  The errors reported are the caller's table
 * err_l(1, j).  The global step alone at k = 1 is lr_alds_global with k = NULL.
 *
 * Filling the leftover budget (lr_alds_fill).  Every step above stops at a level, so it
 * usually leaves part of the budget unspent: the minimax level cannot be lowered without
 * raising every layer at it, but cheaper improvements of the other layers may still fit.
 * lr_alds_fill spends the rest greedily: while some layer's next step fits in what is left,
 * the layer of largest error among those whose step fits takes it (ties: the first layer).
 * A step is j -> j + 1 at the layer's k, or to dense when j + 1 would cost no less than
 * N0 N1 or j is already jmax(k); layers that are dense or have error 0 take no step.  The
 * errors only go down, so the objective never increases (it falls only when the layers at
 * the level can all step).  This is lrlab's addition, not part of ALDS or torchprune: it
 * brings the kept ratio to the target without giving up the minimax level; lr_alds_run and
 * the baselines return their allocations unfilled, and the caller decides.
 * lr_alds_next_step gives the smallest step any layer of an allocation could take, so a
 * caller can say why a budget was not spent.
 *
 * Budgets.  Every function refuses (LR_EINVAL) a budget below the smallest reachable one,
 * sum_l min(jmin (k_l N1 + N0), N0 N1) over the compressible layers (k_l = 1 except for
 * lr_alds_global with given k), with a message that gives that number.  Parameter counts
 * are exact integers; every count the problem can produce must stay below 2^53 (checked),
 * so that b / (k N1 + N0) is the same double here and in numpy.
 *
 * Memory.  lr_alds_plan_alloc validates the problem (tables finite, >= 0, non-increasing;
 * k ascending from 1; jmax >= jmin) and sizes every workspace once; the plan keeps
 * pointers to the caller's tables, which must outlive it unchanged.  lr_alds_global,
 * lr_alds_run, lr_alds_uniform and lr_alds_svd_energy allocate nothing.  A plan is used by
 * one thread at a time. */
#ifndef LR_COMPRESS_ALDS_ALLOC_H
#define LR_COMPRESS_ALDS_ALLOC_H

#include <stddef.h>

/* One layer of the problem.  The pointers are the caller's and must outlive the plan. */
typedef struct lr_alds_layer {
    size_t n0;                /* N0 = c kh kw, inputs of the folded weight */
    size_t n1;                /* N1 = f, outputs */
    int compressible;         /* 0: counts N0 N1 in full and never changes (the rest is ignored) */
    size_t nk;                /* number of allowed group counts */
    const size_t *k;          /* [nk] ascending, k[0] = 1 */
    const size_t *jmax;       /* [nk] the table of k[i] has jmax[i] + 1 entries, jmax[i] >= jmin */
    const double *const *err; /* [nk] err[i][j], j = 0 .. jmax[i]: finite, >= 0, non-increasing in j */
    size_t nsv;               /* lr_alds_svd_energy only: nsv = jmax[0] singular values of W ... */
    const double *sv;         /* ... at k = 1, non-increasing, >= 0; NULL when not needed */
} lr_alds_layer;

#define LR_ALDS_MAX_FIXED 16

typedef struct lr_alds_opts {
    size_t jmin;                     /* smallest rank of a decomposed layer (default 1) */
    size_t nseeds;                   /* seeds of the alternation (default 15, >= 1) */
    size_t niter;                    /* local + global iterations per seed (default 4) */
    size_t nfixed;                   /* how many seeds are fixed targets (default 4) */
    size_t fixed_k[LR_ALDS_MAX_FIXED]; /* their target k (default 3, 5, 7, 9) */
    unsigned long seed;              /* gsl_rng_set seed of the random seeds (default 1; < 2^32) */
    double rho_start;                /* rounding of the local step (default 0.5) */
    double rho_step;                 /* lowered by this on a rejected proposal (default 0.2) */
    size_t rho_lowerings;            /* at most this many times per seed (default 5) */
} lr_alds_opts;

/* One layer's allocation. */
typedef struct lr_alds_choice {
    size_t k;      /* groups (1 for a non-compressible layer) */
    size_t j;      /* rank per group; 0 when dense */
    int dense;     /* 1: the layer keeps W (error 0, N0 N1 parameters) */
    size_t params; /* j (k N1 + N0), or N0 N1 when dense */
    double err;    /* err(k, j) from the caller's table; 0 when dense */
} lr_alds_choice;

typedef struct lr_alds_result {
    lr_alds_choice *layer; /* caller-owned, one per layer of the problem (filled) */
    double objective;      /* max over the compressible layers of layer[l].err */
    size_t params;         /* parameters of the compressible layers */
    size_t params_total;   /* params + N0 N1 of every non-compressible layer */
    size_t budget;         /* the budget given */
    size_t budget_left;    /* budget - params */
} lr_alds_result;

/* What lr_alds_run did, for the results file.  Every array is caller-owned and optional
 * (NULL: not recorded); entry [s * (niter + 1) + t] is seed s after iteration t (t = 0:
 * after the seed's first global step). */
typedef struct lr_alds_trace {
    double *objective; /* [nseeds * (niter + 1)] the seed's objective */
    double *rho;       /* [nseeds * (niter + 1)] the rounding in force after that iteration */
    size_t *halvings;  /* [nseeds] how often the seed's k were halved to make it feasible */
    size_t *seed_k;    /* [nseeds * nlayers] the k each seed started from (after halving) */
    size_t winner;     /* the seed whose allocation is returned */
} lr_alds_trace;

typedef struct lr_alds_plan lr_alds_plan;

/* jmin 1, 15 seeds, 4 iterations, fixed targets 3, 5, 7, 9, seed 1, rho 0.5 - 0.2 x 5. */
lr_alds_opts lr_alds_opts_default(void);

/* Validate the problem (nlayers layers, at least one compressible) and the options, and
 * size every workspace.  On success *out is the plan (free with lr_alds_plan_free). */
int lr_alds_plan_alloc(const lr_alds_layer *layers, size_t nlayers, const lr_alds_opts *opts,
                       lr_alds_plan **out);
void lr_alds_plan_free(lr_alds_plan *p);

/* The smallest reachable budget with group counts k (one per layer, entries of
 * non-compressible layers ignored; NULL: k = 1 everywhere). */
int lr_alds_min_budget(const lr_alds_plan *p, const size_t *k, size_t *out);

/* The budget of the compressible layers for a keep ratio of the whole network:
 * floor(keep * total) - (parameters of the non-compressible layers), total counting every
 * layer dense; refused when keep is not in (0, 1] or the result would be negative. */
int lr_alds_budget_from_keep(const lr_alds_plan *p, double keep, size_t *budget);

/* The global step with group counts k (as lr_alds_min_budget; NULL: k = 1). */
int lr_alds_global(lr_alds_plan *p, const size_t *k, size_t budget, lr_alds_result *out);

/* ALDS: the alternation over the seeds; trace may be NULL. */
int lr_alds_run(lr_alds_plan *p, size_t budget, lr_alds_result *out, lr_alds_trace *trace);

/* Uniform rank at k = 1; *j_common (may be NULL) gets the common j. */
int lr_alds_uniform(lr_alds_plan *p, size_t budget, lr_alds_result *out, size_t *j_common);

/* SVD energy at k = 1 (needs sv in every compressible layer); *eta (may be NULL) gets the
 * common kept-energy level 1 - r*. */
int lr_alds_svd_energy(lr_alds_plan *p, size_t budget, lr_alds_result *out, double *eta);

/* Spend result's budget_left greedily (see "Filling" above), updating every field of the
 * result; *steps (may be NULL) gets the number of steps taken.  The result must come from
 * one of the functions above on the same plan. */
int lr_alds_fill(const lr_alds_plan *p, lr_alds_result *result, size_t *steps);

/* The parameters of the smallest step any layer of result could take (as lr_alds_fill
 * defines steps), or 0 when no layer can step (all dense, or every error 0). */
int lr_alds_next_step(const lr_alds_plan *p, const lr_alds_result *result, size_t *cost);

#endif
