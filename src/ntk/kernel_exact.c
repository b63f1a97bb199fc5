/* The exact infinite-width CK and NTK of a fully connected network (docs/theory.md section 5; Gu,
 * Du, Zhang, Xie, Pu, Qiu, Liao, NeurIPS 2022; the recursion is the standard one of Neal
 * 1996, Cho and Saul 2009, Jacot, Gabriel and Hongler 2018).
 *
 * The recursion.  K_CK,0 = X^T X (BLAS dsyrk).  Layer l maps K = K_CK,l-1 to
 *   [K_CK,l]_ij = E[sigma_c(u) sigma_c(v)],  [K'_CK,l]_ij = E[sigma'(u) sigma'(v)],
 *   (u, v) ~ N(0, [[K_ii, K_ij], [K_ij, K_jj]]),
 * and K_NTK,l = K_CK,l + K_NTK,l-1 o K'_CK,l from K_NTK,0 = K_CK,0.  sigma_c = sigma - c_l
 * with THEORY's population constant c_l = E sigma_l(tau_{l-1} xi), not each sample's own
 * mean E sigma(sqrt(K_ii) xi): the caller gives tau_0, and tau_l^2 = Var sigma_l(tau_{l-1} xi)
 * (src/ntk/keyq.h, closed form or quadrature), so the exact kernel is centred exactly as the
 * finite network of src/ntk/kernel_emp.h and as the equivalent kernels of the other half.
 * sigma' is not centred: the derivative kernel of the centred activation is the same.
 *
 * Every method below computes, per layer, K_ij = E[f_i(z1) f_j(rho z1 + sqrt(1 - rho^2) z2)]
 * with z1, z2 independent N(0, 1), s_i = sqrt(K_ii), rho_ij = K_ij / (s_i s_j) (clamped to
 * [-1, 1]; 0 when s_i s_j = 0) and f_i(z) = g(s_i z) - shift, g = sigma or sigma'.  Writing
 * m_i = E f_i(z), K_ij = m_i m_j + Cov(f_i(z1), f_j(...)); the closed forms give the covariance
 * directly, which keeps the small centred kernels free of the cancellation of
 * E[sigma sigma] - c (m_i + m_j) + c^2.
 *
 * Closed forms (CLOSED), for s_i, s_j > 0 (a zero sample has u = 0: its covariance is 0 and
 * its mean is g(0)):
 *   piecewise linear, slopes a- below and a+ above 0 (relu, leaky_relu, abs; Cho and Saul's
 *   arc-cosine kernel of degree 1 and 0, theta = acos rho):
 *     E[relu(u) relu(v)] = s_i s_j (sin theta + (pi - theta) cos theta) / (2 pi),
 *     sigma = a- t + (a+ - a-) relu(t), E[u relu(v)] = K_ij / 2, so
 *     Cov[sigma(u), sigma(v)] = a- a+ K_ij + (a+ - a-)^2 s_i s_j (sqrt(1 - rho^2) - 1 + (pi - theta) rho) / (2 pi),
 *     with sqrt(1 - rho^2) - 1 = -rho^2 / (1 + sqrt(1 - rho^2)) and pi - theta = pi/2 + asin rho;
 *     sigma' = a- + (a+ - a-) 1_{t > 0}, P(u > 0, v > 0) = (pi - theta) / (2 pi), so
 *     Cov[sigma'(u), sigma'(v)] = (a+ - a-)^2 asin(rho) / (2 pi)   (THEORY's (pi - theta) / (2 pi)
 *     for relu once the means 1/2 are added back);
 *   quad c0 + c1 t + c2 t^2 (and linear): Cov = c1^2 K_ij + 2 c2^2 K_ij^2 (Isserlis), mean
 *     c0 + c2 K_ii; sigma': Cov = 4 c2^2 K_ij, mean c1;
 *   erf (Williams 1997): E[erf(u) erf(v)] = (2/pi) asin(2 K_ij / sqrt((1 + 2 K_ii)(1 + 2 K_jj)));
 *     erf' = (2/sqrt pi) e^{-t^2}: E[erf'(u) erf'(v)] = (4/pi) / sqrt(det(I + 2 Sigma)), mean
 *     (2/sqrt pi) / sqrt(1 + 2 K_ii), the covariance written as a difference of inverse square
 *     roots that does not cancel;
 *   sin, cos (from E e^{i(u +- v)}): E[sin u sin v] = e^{-(K_ii + K_jj)/2} sinh K_ij and
 *     Cov[cos u, cos v] = e^{-(K_ii + K_jj)/2} (cosh K_ij - 1), cosh - 1 = 2 sinh^2(K_ij / 2);
 *   piecewise constant, sigma = L + h1 1_{t > t1} + h2 1_{t > t2} (sign, step, sigma_T,
 *     sigma_Q; src/ntk/keyq.c): Cov = sum_{a,b} h_a h_b [P(u > t_a, v > t_b) - Q(t_a/s_i) Q(t_b/s_j)],
 *     the bivariate normal orthant covariances of src/ntk/bvn.h (Genz's algorithm, the four
 *     of an entry together: lr_ntk_bvn_cov4), mean L + h1 Q(t1/s_i) + h2 Q(t2/s_i).  Their
 *     sigma' holds Dirac masses: no K'.  Where |rho| < LR_NTK_SER_RHO = 0.3 the covariance is
 *     summed instead as Mehler's series with exact coefficients (layer_pwconst):
 *       Cov = sum_{1 <= m < D} rho^m A_im A_jm,  A_im = sum_a h_a a_m(1{z > t_a / s_i}),
 *       a_m(1{z > x}) = int_x^inf phi h_m = phi(x) h_{m-1}(x) / sqrt(m)
 *     (h_m the orthonormal Hermite polynomials; d/dz [phi He_{m-1}] = -phi He_m), D =
 *     LR_NTK_SER_D = 32, so O(n D) coefficients per layer and D multiply-adds per entry
 *     instead of four Gauss-Legendre sums of exp.  Truncation, by Cauchy-Schwarz as for
 *     Mehler below: |sum_{m >= D}| <= |rho|^D sqrt(Var f_i Var f_j) < 0.3^32 = 1.9e-17 times
 *     the scale of the entries, below Genz's 1e-15 (tests/test_ntk_kernel.c: the two agree
 *     to 3e-16 of the largest entry).
 *
 * lr_ntk_kernel_exact's fast path for the piecewise-linear layers (layer_pwlin_fused): the
 * CK's and K''s covariances above share theta, so one asin per entry serves both, and the
 * NTK step K_NTK,l = K_CK,l + K_NTK,l-1 o K'_CK,l is done in the same pass over the lower
 * triangle (K' is never stored); lr_ntk_kernel_layer, one kernel at a time, is the plain
 * path the tests compare it with.
 *
 * Vector maths: where configure found glibc's libmvec and the machine has AVX2 and FMA
 * (lr_ntk_simd_avx2, decided at start-up), the asin of the fused pass and the exp and sin of
 * lr_ntk_bvn_cov4 are libmvec's 4-wide AVX2 variants (within 4 ulp of the scalar libm
 * functions) and the series' Horner steps are 4-wide fused multiply-adds; elsewhere the same
 * formulas run with scalar libm.  So the results depend on the machine's vector support in
 * the last bits (about 1e-16 relative); never on the thread count.
 *
 * The general method (MEHLER).  Mehler's formula: for f, g in L^2 of the normal law,
 *   E[f(z1) g(rho z1 + sqrt(1 - rho^2) z2)] = sum_k rho^k a_k(f) a_k(g),
 *   a_k(f) = E[f(z) h_k(z)],  h_k = He_k / sqrt(k!) (orthonormal probabilists' Hermite).
 * One n x D table a_ik = a_k(f_i) (k < D), then K_ij = sum_{k<D} rho_ij^k a_ik a_jk by Horner,
 * vectorised over the rows of a column: O(n^2 D) after O(n D Q).  The diagonal (rho = 1, where
 * the series converges slowest) is E f_i^2 from the same rule instead (Parseval).
 * Coefficients: a composite Gauss-Legendre rule for the normal weight on [-z_max, z_max] cut
 * at f_i's kinks t / s_i (so that each panel's integrand is smooth: a rule across a kink
 * converges like its jump, THEORY's 1e-3 for ReLU), and h_k by the three-term recurrence
 * h_{k+1} = (z h_k - sqrt(k) h_{k-1}) / sqrt(k + 1), run on w_q f(z_q) h_k(z_q) directly so that
 * nothing overflows for large z and k.  Without kinks every sample shares one rule, and the
 * table is one matrix product (dgemm) of the weighted values with the plan's h_k(z_q).  The
 * Horner sums run on register tiles of 8 rows x 4 columns over a table packed tile by tile.
 * Truncation: by Cauchy-Schwarz
 *   |sum_{k>=D} rho^k a_ik a_jk| <= |rho|^D sqrt(T_i T_j),  T_i = E f_i^2 - sum_{k<D} a_ik^2,
 * and the layer reports max_{i != j} |rho_ij|^D * max_i T_i, a bound on every off-diagonal
 * entry's truncation (T_i is known only to the rounding of E f_i^2, about 1e-16 E f_i^2).
 * For a kinked sigma the coefficients decay only like a power of k and the bound is large
 * where |rho| is near 1: Mehler is the method for the smooth activations without closed
 * forms (tanh, sigmoid), and the kinked ones have closed forms.
 *
 * The plain reference (REFERENCE): the double integral by a product rule, the same kind of
 * composite Gauss-Legendre rule in z1 and in z2.  In z2 it is cut where the argument of f_i
 * crosses a kink, (t / s_i - rho z1) / sqrt(1 - rho^2), per outer node; in z1 at f_j's kinks
 * and, graded geometrically, around the points where the inner integral steps across a kink
 * of f_i (a step of width sqrt(1 - rho^2) / |rho|, sharp for correlated samples); panels are
 * refined by the scale of the integrand (s_i or s_j, up to 4x).  At |rho| = 1 the
 * one-dimensional integral E[f_j(z) f_i(rho z)].  O(Q^2) per entry: for checking.
 *
 * Parallelism: every elementwise pass and every kernel loop runs over columns with OpenMP,
 * each entry computed by one thread in a fixed order, so the results do not depend on the
 * thread count.  The plan owns every buffer (per-thread rules included). */
#include "kernel_exact.h"

#include "lrlab_config.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/error.h"
#include "ntk/bvn.h"
#include "ntk/mvec.h"


static inline int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* ---- the one-dimensional rule for the normal weight ---- */

typedef struct rule_spec {
    const double *x, *w; /* Gauss-Legendre on [-1, 1] */
    size_t G;
    double zmax, panel;
} rule_spec;

/* The reference refines its panels by the scale s of the function it integrates, f(s z),
 * whose features shrink like 1 / s (tanh(2 z) has poles at i pi / 4: a 10-point rule on
 * panels of 1 meets it at 1e-11), up to this factor. */
#define LR_NTK_REF_REFINE 4.0
#define LR_NTK_REF_LEVELS 3 /* refinements 1, 2, 4 */

static double refine_for(double s) { return s < 1 ? 1.0 : (s > LR_NTK_REF_REFINE ? LR_NTK_REF_REFINE : s); }
/* The refinement level 0, 1, 2 (factor 1, 2, 4: at least refine_for(s)) of the cached rules. */
static int refine_level(double s) { return s <= 1 ? 0 : (s <= 2 ? 1 : 2); }

/* The most nodes a rule with nb breakpoints and refinement up to `refine` can have. */
static size_t rule_max(const rule_spec *r, size_t nb, double refine)
{
    return ((size_t)ceil(2 * r->zmax * refine / r->panel) + nb + 2) * r->G;
}

/* Nodes z and weights w (phi included) of the composite rule on [-zmax, zmax] with panels
 * of at most r->panel / refine (refine >= 1), cut at the breakpoints (any order; those
 * outside are ignored).  Returns the node count. */
static size_t rule_build(const rule_spec *r, double refine, double *br, size_t nb, double *z, double *w)
{
    const double panel = r->panel / refine;
    for (size_t i = 1; i < nb; i++)
        for (size_t j = i; j > 0 && br[j - 1] > br[j]; j--) {
            double s = br[j];
            br[j] = br[j - 1], br[j - 1] = s;
        }
    const double c = 1.0 / sqrt(2.0 * M_PI);
    size_t q = 0;
    double a = -r->zmax;
    for (size_t e = 0; e <= nb; e++) {
        double b = e < nb ? br[e] : r->zmax;
        if (!(b > a)) continue;
        if (b > r->zmax) b = r->zmax;
        size_t m = (size_t)ceil((b - a) / panel);
        if (m == 0) m = 1;
        double h = (b - a) / (double)m;
        for (size_t p = 0; p < m; p++) {
            double lo = a + (double)p * h;
            for (size_t g = 0; g < r->G; g++) {
                double zz = lo + 0.5 * h * (1.0 + r->x[g]);
                z[q] = zz;
                w[q] = 0.5 * h * r->w[g] * c * exp(-0.5 * zz * zz);
                q++;
            }
        }
        a = b;
        if (a >= r->zmax) break;
    }
    return q;
}

/* The reference's graded outer breakpoints (ref_outer_breaks): at most this many. */
#define LR_NTK_REF_GRADES 40
#define LR_NTK_REF_STEPS 8
#define LR_NTK_REF_MAX_BREAKS (LR_NTK_ACT_MAX_KINKS * (2 * LR_NTK_REF_GRADES + 2 * LR_NTK_REF_STEPS + 4))

/* The Horner sum runs over blocks of LR_NTK_MEHLER_COLS columns: each row's coefficients are
 * then read from memory once per block of columns instead of once per column (the table,
 * n x D, does not fit in cache; a block's own coefficients do). */
#define LR_NTK_MEHLER_COLS 16

/* The Horner sum reads the table packed by tiles of LR_NTK_TILE_R samples, k-major within a
 * tile: a_ik at tp[(i / R) R D + k R + i % R].  Each tile's coefficients are then one
 * contiguous stream (the n x D column-major table strides n doubles between orders, a new
 * page per order for large n, and the TLB misses dominated). */
#define LR_NTK_TILE_R 8
#define LR_NTK_TILE_C 4
#define LR_NTK_TP(tp, D, i, k) \
    ((tp)[((i) / LR_NTK_TILE_R) * LR_NTK_TILE_R * (D) + (k) * LR_NTK_TILE_R + (i) % LR_NTK_TILE_R])

/* The piecewise-constant closed forms' series (layer_pwconst): order, the |rho| below which
 * it replaces Genz's orthants, and its coefficient table, packed by groups of
 * LR_NTK_SER_R samples, m-major within a group (A_im at LR_NTK_SER_TP(ser, i, m)). */
#define LR_NTK_SER_D 32
#define LR_NTK_SER_RHO 0.3
#define LR_NTK_SER_R 4
#define LR_NTK_SER_TP(tp, i, m) \
    ((tp)[((i) / LR_NTK_SER_R) * LR_NTK_SER_R * LR_NTK_SER_D + (m) * LR_NTK_SER_R + (i) % LR_NTK_SER_R])

/* ---- the plan ---- */

typedef struct thread_ws {
    double *z, *w, *f, *g0, *g1;            /* Mehler's rule and recurrence (q_max each) */
    double *oz, *ow, *of, *iz, *iw, *iv, *jv; /* the reference's rules (qr_max each) */
} thread_ws;

struct lr_ntk_kernel_plan {
    size_t n, L, nthreads, q_max, qr_max;
    lr_ntk_kernel_opts o;
    rule_spec rule, rrule;
    double *K[4]; /* two CK buffers, K', the NTK */
    /* kd: Kin's diagonal, contiguous (the closed forms read K_ii for every entry of a column:
     * from Kin itself that is a stride of n + 1 doubles, a new page per row for large n) */
    double *table, *tp, *ef2, *tail, *sd, *kd, *mean, *colmax, *isq, *sqk;
    /* the piecewise-constant series' coefficients (LR_NTK_SER_TP layout, npad x LR_NTK_SER_D) */
    double *ser;
    /* the shared rule of activations without kinks (qs nodes), its Hermite values H
     * (qs x D, H_qk = h_k(z_q)), and the weighted function values F (qs x n) */
    size_t qs;
    double *sz, *sw, *H, *F;
    /* the reference's rule without breakpoints at each refinement level: panels of width
     * bh[m], bp[m] of them, G nodes each, nodes bz[m] and weights bw[m] in panel order */
    size_t bp[LR_NTK_REF_LEVELS];
    double bh[LR_NTK_REF_LEVELS], *bz[LR_NTK_REF_LEVELS], *bw[LR_NTK_REF_LEVELS];
    double *glx, *glw, *rglx, *rglw;
    thread_ws *tw;
    double *block;
    lr_ntk_keyq_ws *kws;
};

const char *lr_ntk_kernel_method_name(lr_ntk_kernel_method m)
{
    switch (m) {
    case LR_NTK_KERNEL_AUTO: return "auto";
    case LR_NTK_KERNEL_CLOSED: return "closed";
    case LR_NTK_KERNEL_MEHLER: return "mehler";
    case LR_NTK_KERNEL_REFERENCE: return "reference";
    }
    return NULL;
}

lr_ntk_kernel_opts lr_ntk_kernel_defaults(void)
{
    return (lr_ntk_kernel_opts){.mehler_order = LR_NTK_KERNEL_ORDER,
                                .z_max = LR_NTK_KERNEL_Z_MAX,
                                .panel = LR_NTK_KERNEL_PANEL,
                                .gl_nodes = LR_NTK_KERNEL_GL_NODES,
                                .ref_z_max = LR_NTK_KERNEL_REF_Z_MAX,
                                .ref_panel = LR_NTK_KERNEL_REF_PANEL,
                                .ref_gl_nodes = LR_NTK_KERNEL_REF_GL_NODES,
                                .quad = lr_ntk_quad_defaults()};
}

void lr_ntk_kernel_plan_free(lr_ntk_kernel_plan *P)
{
    if (!P) return;
    lr_ntk_keyq_ws_free(P->kws);
    lr_free(P->block);
    lr_free(P->tw);
    lr_free(P);
}

/* Gauss-Legendre nodes and weights on [-1, 1] from GSL's tables. */
static int gl_nodes(size_t G, double *x, double *w)
{
    gsl_integration_glfixed_table *t = gsl_integration_glfixed_table_alloc(G);
    if (!t) LR_ERRORF(LR_ENOMEM, "cannot make the %zu-point Gauss-Legendre rule", G);
    for (size_t i = 0; i < G; i++) gsl_integration_glfixed_point(-1, 1, i, &x[i], &w[i], t);
    gsl_integration_glfixed_table_free(t);
    return LR_OK;
}

lr_ntk_kernel_plan *lr_ntk_kernel_plan_alloc(size_t n, size_t L, const lr_ntk_kernel_opts *opts)
{
    lr_ntk_kernel_opts o = opts ? *opts : lr_ntk_kernel_defaults();
    if (n == 0 || L == 0 || L > LR_NTK_MAX_LAYERS)
        LR_ERROR_NULL(LR_EINVAL, "lr_ntk_kernel_plan_alloc: n = %zu, L = %zu (1 <= L <= %d)", n, L,
                      LR_NTK_MAX_LAYERS);
    /* z_max <= 37: beyond, phi(z) underflows and the rule's weights with it. */
    if (o.mehler_order == 0 || o.mehler_order > 4096 || !(o.z_max > 0 && o.z_max <= 37) || !(o.panel > 0) ||
        o.gl_nodes == 0 || o.gl_nodes > 256 || !(o.ref_z_max > 0 && o.ref_z_max <= 37) || !(o.ref_panel > 0) ||
        o.ref_gl_nodes == 0 || o.ref_gl_nodes > 256 || o.z_max / o.panel > 1e5 || o.ref_z_max / o.ref_panel > 1e5)
        LR_ERROR_NULL(LR_EINVAL,
                      "lr_ntk_kernel_plan_alloc: bad options (order %zu in [1, 4096]; z_max %g, ref_z_max %g in "
                      "(0, 37]; panel %g, ref_panel %g > 0; nodes %zu, %zu in [1, 256])",
                      o.mehler_order, o.z_max, o.ref_z_max, o.panel, o.ref_panel, o.gl_nodes, o.ref_gl_nodes);
    lr_ntk_kernel_plan *P = lr_calloc(1, sizeof *P);
    if (!P) LR_ERROR_NULL(LR_ENOMEM, "cannot allocate the kernel plan");
    P->n = n, P->L = L, P->o = o;
#ifdef _OPENMP
    P->nthreads = (size_t)omp_get_max_threads();
#else
    P->nthreads = 1;
#endif
    size_t D = o.mehler_order;
    P->rule = (rule_spec){.G = o.gl_nodes, .zmax = o.z_max, .panel = o.panel};
    P->rrule = (rule_spec){.G = o.ref_gl_nodes, .zmax = o.ref_z_max, .panel = o.ref_panel};
    P->q_max = rule_max(&P->rule, LR_NTK_ACT_MAX_KINKS, 1.0);
    P->qr_max = rule_max(&P->rrule, LR_NTK_REF_MAX_BREAKS, LR_NTK_REF_REFINE);
    /* Each array rounded up to whole 64-byte lines, so that threads never share one. */
#define LR_NTK_PAD(x) (((x) + 7) / 8 * 8)
    size_t qs_max = rule_max(&P->rule, 0, 1.0);
    size_t per_thread = 5 * LR_NTK_PAD(P->q_max) + 7 * LR_NTK_PAD(P->qr_max);
    size_t npad = (n + LR_NTK_TILE_R - 1) / LR_NTK_TILE_R * LR_NTK_TILE_R, bq = 0;
    for (int m = 0; m < LR_NTK_REF_LEVELS; m++) bq += 2 * LR_NTK_PAD(rule_max(&P->rrule, 0, ldexp(1.0, m)));
    size_t total = bq + LR_NTK_PAD(npad * LR_NTK_SER_D) + 4 * LR_NTK_PAD(n * n) + LR_NTK_PAD(n * D) + LR_NTK_PAD(npad * D) + 6 * LR_NTK_PAD(n) + 2 * LR_NTK_PAD(D + 1) +
                   2 * LR_NTK_PAD(qs_max) + LR_NTK_PAD(qs_max * D) + LR_NTK_PAD(qs_max * n) +
                   2 * LR_NTK_PAD(o.gl_nodes) + 2 * LR_NTK_PAD(o.ref_gl_nodes) + P->nthreads * per_thread;
    P->block = lr_malloc(total * sizeof(double));
    P->tw = lr_calloc(P->nthreads, sizeof *P->tw);
    P->kws = lr_ntk_keyq_ws_alloc(o.quad.limit ? o.quad.limit : LR_NTK_QUAD_LIMIT);
    if (!P->block || !P->tw || !P->kws) {
        lr_ntk_kernel_plan_free(P);
        LR_ERROR_NULL(LR_ENOMEM, "cannot allocate the kernel plan's workspace (%zu doubles for n = %zu)", total, n);
    }
    double *b = P->block;
#define LR_NTK_TAKE(ptr, len) (ptr = b, b += LR_NTK_PAD(len))
    for (int k = 0; k < 4; k++) LR_NTK_TAKE(P->K[k], n * n);
    LR_NTK_TAKE(P->table, n * D);
    LR_NTK_TAKE(P->tp, npad * D);
    LR_NTK_TAKE(P->sz, qs_max), LR_NTK_TAKE(P->sw, qs_max), LR_NTK_TAKE(P->H, qs_max * D);
    LR_NTK_TAKE(P->F, qs_max * n);
    for (int m = 0; m < LR_NTK_REF_LEVELS; m++) {
        size_t q = rule_max(&P->rrule, 0, ldexp(1.0, m));
        LR_NTK_TAKE(P->bz[m], q), LR_NTK_TAKE(P->bw[m], q);
    }
    LR_NTK_TAKE(P->ef2, n), LR_NTK_TAKE(P->tail, n), LR_NTK_TAKE(P->sd, n), LR_NTK_TAKE(P->mean, n);
    LR_NTK_TAKE(P->colmax, n), LR_NTK_TAKE(P->kd, n), LR_NTK_TAKE(P->ser, npad * LR_NTK_SER_D);
    LR_NTK_TAKE(P->sqk, D + 1), LR_NTK_TAKE(P->isq, D + 1);
    LR_NTK_TAKE(P->glx, o.gl_nodes), LR_NTK_TAKE(P->glw, o.gl_nodes);
    LR_NTK_TAKE(P->rglx, o.ref_gl_nodes), LR_NTK_TAKE(P->rglw, o.ref_gl_nodes);
    for (size_t t = 0; t < P->nthreads; t++) {
        thread_ws *w = &P->tw[t];
        LR_NTK_TAKE(w->z, P->q_max), LR_NTK_TAKE(w->w, P->q_max), LR_NTK_TAKE(w->f, P->q_max);
        LR_NTK_TAKE(w->g0, P->q_max), LR_NTK_TAKE(w->g1, P->q_max);
        LR_NTK_TAKE(w->oz, P->qr_max), LR_NTK_TAKE(w->ow, P->qr_max), LR_NTK_TAKE(w->of, P->qr_max);
        LR_NTK_TAKE(w->iz, P->qr_max), LR_NTK_TAKE(w->iw, P->qr_max), LR_NTK_TAKE(w->iv, P->qr_max);
        LR_NTK_TAKE(w->jv, P->qr_max);
    }
#undef LR_NTK_TAKE
#undef LR_NTK_PAD
    for (size_t k = 0; k <= D; k++) P->sqk[k] = sqrt((double)k), P->isq[k] = k ? 1.0 / sqrt((double)k) : 0.0;
    if (gl_nodes(o.gl_nodes, P->glx, P->glw) || gl_nodes(o.ref_gl_nodes, P->rglx, P->rglw)) {
        lr_ntk_kernel_plan_free(P);
        return NULL;
    }
    P->rule.x = P->glx, P->rule.w = P->glw;
    P->rrule.x = P->rglx, P->rrule.w = P->rglw;
    /* The shared rule and its Hermite values, by the recurrence (no overflow: by Cramer's
     * bound |h_k(z)| <= 1.09 e^{z^2/4} (2 pi)^{1/4} <= 1e149 for z <= 37). */
    P->qs = rule_build(&P->rule, 1.0, NULL, 0, P->sz, P->sw);
    for (int m = 0; m < LR_NTK_REF_LEVELS; m++) {
        size_t q = rule_build(&P->rrule, ldexp(1.0, m), NULL, 0, P->bz[m], P->bw[m]);
        P->bp[m] = q / P->rrule.G;
        P->bh[m] = 2 * P->rrule.zmax / (double)P->bp[m];
    }
    for (size_t q = 0; q < P->qs; q++) {
        double z = P->sz[q], hp = 0, hc = 1;
        for (size_t k = 0; k < D; k++) {
            P->H[q + k * P->qs] = hc;
            double hn = (z * hc - P->sqk[k] * hp) * P->isq[k + 1];
            hp = hc, hc = hn;
        }
    }
    return P;
}

/* The threads of a parallel loop: the caller's current setting, at most the plan's. */
static inline int team(const lr_ntk_kernel_plan *P)
{
#ifdef _OPENMP
    int t = omp_get_max_threads();
    return t < (int)P->nthreads ? t : (int)P->nthreads;
#else
    (void)P;
    return 1;
#endif
}

/* ---- closed forms ---- */

typedef enum { FAM_NONE, FAM_PWLIN, FAM_QUAD, FAM_ERF, FAM_SIN, FAM_COS, FAM_PWCONST } family;

typedef struct closed_ctx {
    family fam;
    int deriv;
    const lr_ntk_act *a;
    double am, ap;         /* piecewise linear */
    double c0, c1, c2;     /* quad */
    double L, h[2], t[2];  /* piecewise constant */
} closed_ctx;

static int closed_init(const lr_ntk_act *a, int deriv, closed_ctx *c)
{
    *c = (closed_ctx){.fam = FAM_NONE, .deriv = deriv, .a = a};
    const double *p = a->p;
    switch (a->id) {
    case LR_NTK_ACT_RELU: c->fam = FAM_PWLIN, c->am = 0, c->ap = 1; break;
    case LR_NTK_ACT_LEAKY_RELU: c->fam = FAM_PWLIN, c->am = p[0], c->ap = p[1]; break;
    case LR_NTK_ACT_ABS: c->fam = FAM_PWLIN, c->am = -1, c->ap = 1; break;
    case LR_NTK_ACT_LINEAR: c->fam = FAM_QUAD, c->c0 = 0, c->c1 = 1, c->c2 = 0; break;
    case LR_NTK_ACT_QUAD: c->fam = FAM_QUAD, c->c0 = p[0], c->c1 = p[1], c->c2 = p[2]; break;
    case LR_NTK_ACT_ERF: c->fam = FAM_ERF; break;
    case LR_NTK_ACT_SIN: c->fam = FAM_SIN; break;
    case LR_NTK_ACT_COS: c->fam = FAM_COS; break;
    case LR_NTK_ACT_STEP: c->fam = FAM_PWCONST, c->L = 0, c->h[0] = 0, c->h[1] = 1, c->t[0] = c->t[1] = 0; break;
    case LR_NTK_ACT_SIGN: c->fam = FAM_PWCONST, c->L = -1, c->h[0] = 0, c->h[1] = 2, c->t[0] = c->t[1] = 0; break;
    case LR_NTK_ACT_SIGMA_T: /* levels a, 0, a */
        c->fam = FAM_PWCONST, c->L = p[0], c->h[0] = -p[0], c->h[1] = p[0], c->t[0] = p[1], c->t[1] = p[2];
        break;
    case LR_NTK_ACT_SIGMA_Q: /* levels b1, 0, b2 */
        c->fam = FAM_PWCONST, c->L = p[0], c->h[0] = -p[0], c->h[1] = p[1], c->t[0] = p[2], c->t[1] = p[3];
        break;
    default: return 0;
    }
    /* A piecewise-constant sigma' is a sum of Dirac masses: no kernel (0 without jumps). */
    if (deriv && c->fam == FAM_PWCONST && lr_ntk_act_has_dirac(a)) return c->fam = FAM_NONE, 0;
    return 1;
}

int lr_ntk_kernel_has_closed(const lr_ntk_act *a, int deriv)
{
    closed_ctx c;
    return a && lr_ntk_act_get(a->id) && (deriv == 0 || deriv == 1) && closed_init(a, deriv, &c);
}

/* E g(s z), g = sigma or sigma', at K_ii = s^2. */
static double closed_mean(const closed_ctx *c, double kii, double s)
{
    double g0 = c->deriv ? lr_ntk_act_deriv1(c->a, 0.0) : lr_ntk_act_value(c->a, 0.0);
    switch (c->fam) {
    case FAM_PWLIN:
        if (s == 0) return g0;
        return c->deriv ? 0.5 * (c->am + c->ap) : (c->ap - c->am) * s / sqrt(2.0 * M_PI);
    case FAM_QUAD: return c->deriv ? c->c1 : c->c0 + c->c2 * kii;
    case FAM_ERF: return c->deriv ? M_2_SQRTPI / sqrt(1.0 + 2.0 * kii) : 0.0;
    case FAM_SIN: return c->deriv ? exp(-0.5 * kii) : 0.0;
    case FAM_COS: return c->deriv ? 0.0 : exp(-0.5 * kii);
    case FAM_PWCONST:
        if (c->deriv) return 0.0;
        if (s == 0) return lr_ntk_act_value(c->a, 0.0);
        return c->L + (c->h[0] ? c->h[0] * gsl_cdf_ugaussian_Q(c->t[0] / s) : 0.0) +
               (c->h[1] ? c->h[1] * gsl_cdf_ugaussian_Q(c->t[1] / s) : 0.0);
    case FAM_NONE: break;
    }
    return NAN;
}

/* Cov[g(u), g(v)]. */
static double closed_cov(const closed_ctx *c, double kii, double kjj, double kij, double si, double sj,
                         double rho)
{
    switch (c->fam) {
    case FAM_PWLIN: {
        if (si == 0 || sj == 0) return 0.0;
        double dj = c->ap - c->am, as = asin(rho);
        if (c->deriv) return dj * dj * as / (2.0 * M_PI);
        double cr = sqrt((1.0 - rho) * (1.0 + rho));
        return c->am * c->ap * kij + dj * dj * si * sj * (rho * (0.5 * M_PI + as) - rho * rho / (1.0 + cr)) / (2.0 * M_PI);
    }
    case FAM_QUAD:
        return c->deriv ? 4.0 * c->c2 * c->c2 * kij : c->c1 * c->c1 * kij + 2.0 * c->c2 * c->c2 * kij * kij;
    case FAM_ERF: {
        double P = (1.0 + 2.0 * kii) * (1.0 + 2.0 * kjj);
        if (!c->deriv) return M_2_PI * asin(2.0 * kij / sqrt(P));
        /* (4/pi) (1/sqrt(P - x) - 1/sqrt(P)), x = 4 K_ij^2, without cancelling */
        double x = 4.0 * kij * kij, sP = sqrt(P), sD = sqrt(P - x);
        return 4.0 / M_PI * x / (sP * sD * (sP + sD));
    }
    case FAM_SIN:
    case FAM_COS: {
        double e = exp(-0.5 * (kii + kjj)), sh = sinh(0.5 * kij);
        /* sin: Cov[sin, sin] = e sinh K_ij and Cov[cos, cos] = 2 e sinh^2(K_ij / 2);
         * sin' = cos, cos' = -sin swap them */
        int odd = (c->fam == FAM_SIN) != (c->deriv != 0);
        return odd ? e * sinh(kij) : 2.0 * e * sh * sh;
    }
    case FAM_PWCONST: {
        if (c->deriv || si == 0 || sj == 0) return 0.0;
        /* the four orthants share rho: lr_ntk_bvn_cov4 computes them together */
        double v = 0, h[2] = {c->t[0] / si, c->t[1] / si}, k[2] = {c->t[0] / sj, c->t[1] / sj}, cv[4];
        lr_ntk_bvn_cov4(h, k, rho, cv);
        for (int a = 0; a < 2; a++) {
            if (c->h[a] == 0) continue;
            for (int b = 0; b < 2; b++)
                if (c->h[b] != 0) v += c->h[a] * c->h[b] * cv[2 * a + b];
        }
        return v;
    }
    case FAM_NONE: break;
    }
    return NAN;
}

/* rho_ij from K_ij and the scales, clamped; 0 when a scale is 0. */
static inline double corr(double kij, double si, double sj)
{
    double d = si * sj;
    if (!(d > 0)) return 0.0;
    double r = kij / d;
    return r > 1 ? 1.0 : (r < -1 ? -1.0 : r);
}

/* ---- the piecewise-constant series (small |rho|) ---- */

/* Sample i's coefficients A_im, 1 <= m < D (A_i0 = 0): sum_a h_a phi(c_a) h_{m-1}(c_a) / sqrt(m),
 * c_a = t_a / s_i, by the recurrence run on phi(c) h_k(c) (nothing overflows: phi(c) first);
 * all 0 for a zero sample (its covariances are 0) or a threshold beyond the doubles. */
static void pwconst_coeffs(const lr_ntk_kernel_plan *P, const closed_ctx *c, size_t i)
{
    const size_t D = LR_NTK_SER_D;
    double *A = &LR_NTK_SER_TP(P->ser, i, 0);
    for (size_t m = 0; m < D; m++) A[m * LR_NTK_SER_R] = 0;
    double s = P->sd[i];
    if (!(s > 0)) return;
    for (int a = 0; a < 2; a++) {
        if (c->h[a] == 0) continue;
        double x = c->t[a] / s;
        if (!isfinite(x)) continue;
        double gp = 0, gc = exp(-0.5 * x * x) / sqrt(2.0 * M_PI); /* phi h_{-1}, phi h_0 */
        for (size_t m = 1; m < D; m++) {
            double im = 1.0 / sqrt((double)m);
            A[m * LR_NTK_SER_R] += c->h[a] * gc * im;
            double gn = (x * gc - sqrt((double)(m - 1)) * gp) * im;
            gp = gc, gc = gn;
        }
    }
}

/* rho sum_{1 <= m < D} rho^{m-1} A_im A_jm by Horner (the series of one entry). */
static inline double pwconst_series(const double *ser, size_t i, size_t j, double rho)
{
    const size_t D = LR_NTK_SER_D;
    double acc = LR_NTK_SER_TP(ser, i, D - 1) * LR_NTK_SER_TP(ser, j, D - 1);
    for (size_t m = D - 2; m >= 1; m--) acc = acc * rho + LR_NTK_SER_TP(ser, i, m) * LR_NTK_SER_TP(ser, j, m);
    return acc * rho;
}

#ifdef LR_NTK_MVEC
/* Rows i0 .. i0 + 3 (i0 a multiple of LR_NTK_SER_R, all below the diagonal) of column j:
 * returns 0 (nothing written) unless every |rho| < LR_NTK_SER_RHO; else writes the
 * entries (series + means), Horner with fused multiply-adds. */
LR_NTK_AVX2 static int pwconst_rows_avx2(const lr_ntk_kernel_plan *P, size_t i0, size_t j, const double *kin, double *out)
{
    const size_t D = LR_NTK_SER_D;
    const __m256d one = _mm256_set1_pd(1.0), mone = _mm256_set1_pd(-1.0), zero = _mm256_setzero_pd();
    __m256d si = _mm256_loadu_pd(P->sd + i0), d = _mm256_mul_pd(si, _mm256_set1_pd(P->sd[j]));
    __m256d r = _mm256_div_pd(_mm256_loadu_pd(kin + i0), d);
    r = _mm256_blendv_pd(r, one, _mm256_cmp_pd(r, one, _CMP_GT_OQ));
    r = _mm256_blendv_pd(r, mone, _mm256_cmp_pd(r, mone, _CMP_LT_OQ));
    r = _mm256_blendv_pd(zero, r, _mm256_cmp_pd(d, zero, _CMP_GT_OQ));
    __m256d ar = _mm256_andnot_pd(_mm256_set1_pd(-0.0), r);
    if (_mm256_movemask_pd(_mm256_cmp_pd(ar, _mm256_set1_pd(LR_NTK_SER_RHO), _CMP_LT_OQ)) != 0xF) return 0;
    const double *A = &LR_NTK_SER_TP(P->ser, i0, 0), *B = &LR_NTK_SER_TP(P->ser, j, 0);
    __m256d acc = _mm256_mul_pd(_mm256_loadu_pd(A + (D - 1) * LR_NTK_SER_R), _mm256_set1_pd(B[(D - 1) * LR_NTK_SER_R]));
    for (size_t m = D - 2; m >= 1; m--)
        acc = _mm256_fmadd_pd(acc, r, _mm256_mul_pd(_mm256_loadu_pd(A + m * LR_NTK_SER_R), _mm256_set1_pd(B[m * LR_NTK_SER_R])));
    acc = _mm256_mul_pd(acc, r);
    _mm256_storeu_pd(out + i0, _mm256_add_pd(acc, _mm256_mul_pd(_mm256_loadu_pd(P->mean + i0), _mm256_set1_pd(P->mean[j]))));
    return 1;
}
#endif

/* A piecewise-constant layer: Genz's orthants (lr_ntk_bvn_cov4) on the diagonal and where
 * |rho| >= LR_NTK_SER_RHO, the series elsewhere (see the header). */
static void layer_pwconst(lr_ntk_kernel_plan *P, const closed_ctx *c, double shift, lr_mat Kin, lr_mat Kout)
{
    size_t n = P->n, npad = (n + LR_NTK_SER_R - 1) / LR_NTK_SER_R * LR_NTK_SER_R;
    for (size_t i = 0; i < n; i++) P->mean[i] = closed_mean(c, P->kd[i], P->sd[i]) - shift;
    for (size_t i = 0; i < npad; i++) {
        if (i < n) pwconst_coeffs(P, c, i);
        else
            for (size_t m = 0; m < LR_NTK_SER_D; m++) LR_NTK_SER_TP(P->ser, i, m) = 0;
    }
#ifdef LR_NTK_MVEC
    const int avx2 = lr_ntk_simd_avx2();
#endif
    long nn = (long)n;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 8) num_threads(team(P))
#endif
    for (long jj = 0; jj < nn; jj++) {
        size_t j = (size_t)jj;
        double kjj = P->kd[j], sj = P->sd[j], mj = P->mean[j];
        const double *kin = &LR_AT(Kin, 0, j);
        double *out = &LR_AT(Kout, 0, j);
        out[j] = closed_cov(c, kjj, kjj, kjj, sj, sj, 1.0) + mj * mj;
        for (size_t i = j + 1; i < n; i++) {
#ifdef LR_NTK_MVEC
            if (avx2 && i % LR_NTK_SER_R == 0 && i + LR_NTK_SER_R <= n && pwconst_rows_avx2(P, i, j, kin, out)) {
                i += LR_NTK_SER_R - 1;
                continue;
            }
#endif
            double si = P->sd[i], rho = corr(kin[i], si, sj);
            out[i] = (fabs(rho) < LR_NTK_SER_RHO ? pwconst_series(P->ser, i, j, rho)
                                                 : closed_cov(c, P->kd[i], kjj, kin[i], si, sj, rho)) +
                     P->mean[i] * mj;
        }
    }
}

static void layer_closed(lr_ntk_kernel_plan *P, const closed_ctx *c, double shift, lr_mat Kin, lr_mat Kout)
{
    size_t n = P->n;
    if (c->fam == FAM_PWCONST && !c->deriv) {
        layer_pwconst(P, c, shift, Kin, Kout);
        return;
    }
    for (size_t i = 0; i < n; i++) P->mean[i] = closed_mean(c, P->kd[i], P->sd[i]) - shift;
    long nn = (long)n;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 8) num_threads(team(P))
#endif
    for (long jj = 0; jj < nn; jj++) {
        size_t j = (size_t)jj;
        double kjj = P->kd[j], sj = P->sd[j];
        for (size_t i = j; i < n; i++) {
            double kii = P->kd[i], si = P->sd[i], kij = i == j ? kjj : LR_AT(Kin, i, j);
            double rho = i == j ? 1.0 : corr(kij, si, sj);
            LR_AT(Kout, i, j) = closed_cov(c, kii, kjj, kij, si, sj, rho) + P->mean[i] * P->mean[j];
        }
    }
}

/* ---- the fused piecewise-linear layer (the fast path of lr_ntk_kernel_exact) ---- */

/* One entry of a piecewise-linear layer: CK (written to *kc), K' (returned) from one asin
 * of rho, with closed_cov's operations in closed_cov's order; mi, mj the CK means (shift
 * included), dmi, dmj K''s. */
static inline double pwlin_pair(const closed_ctx *c, double kij, double si, double sj, double rho, double as,
                                double mi, double mj, double dmi, double dmj, double *kc)
{
    double dj = c->ap - c->am;
    if (si == 0 || sj == 0) {
        *kc = 0.0 + mi * mj;
        return 0.0 + dmi * dmj;
    }
    double cr = sqrt((1.0 - rho) * (1.0 + rho));
    *kc = c->am * c->ap * kij + dj * dj * si * sj * (rho * (0.5 * M_PI + as) - rho * rho / (1.0 + cr)) / (2.0 * M_PI) +
          mi * mj;
    return dj * dj * as / (2.0 * M_PI) + dmi * dmj;
}

#ifdef LR_NTK_MVEC
/* Rows i0 .. i0 + 4 m - 1 (all below the diagonal) of column j, 4 at a time: pwlin_pair's
 * operations lane by lane, asin by libmvec (within 4 ulp of libm's). */
LR_NTK_AVX2 static void pwlin_rows_avx2(const closed_ctx *c, size_t i0, size_t m, const double *kin, const double *sd,
                            const double *mean, const double *dmean, double sj, double mj, double dmj, double *kc,
                            double *nt)
{
    const double dj = c->ap - c->am;
    const __m256d one = _mm256_set1_pd(1.0), mone = _mm256_set1_pd(-1.0), zero = _mm256_setzero_pd(),
                  vsj = _mm256_set1_pd(sj), vmj = _mm256_set1_pd(mj), vdmj = _mm256_set1_pd(dmj),
                  amap = _mm256_set1_pd(c->am * c->ap), dj2 = _mm256_set1_pd(dj * dj), tpi = _mm256_set1_pd(2.0 * M_PI),
                  hpi = _mm256_set1_pd(0.5 * M_PI);
    for (size_t q = 0; q < m; q++) {
        size_t i = i0 + 4 * q;
        __m256d kij = _mm256_loadu_pd(kin + i), si = _mm256_loadu_pd(sd + i);
        /* corr: 0 unless s_i s_j > 0, clamped to [-1, 1] (NaN stays NaN) */
        __m256d d = _mm256_mul_pd(si, vsj), pos = _mm256_cmp_pd(d, zero, _CMP_GT_OQ);
        __m256d r = _mm256_div_pd(kij, d);
        r = _mm256_blendv_pd(r, one, _mm256_cmp_pd(r, one, _CMP_GT_OQ));
        r = _mm256_blendv_pd(r, mone, _mm256_cmp_pd(r, mone, _CMP_LT_OQ));
        r = _mm256_blendv_pd(zero, r, pos);
        __m256d as = _ZGVdN4v_asin(r);
        __m256d cr = _mm256_sqrt_pd(_mm256_mul_pd(_mm256_sub_pd(one, r), _mm256_add_pd(one, r)));
        __m256d br = _mm256_sub_pd(_mm256_mul_pd(r, _mm256_add_pd(hpi, as)),
                                   _mm256_div_pd(_mm256_mul_pd(r, r), _mm256_add_pd(one, cr)));
        __m256d ck = _mm256_add_pd(_mm256_mul_pd(amap, kij),
                                   _mm256_div_pd(_mm256_mul_pd(_mm256_mul_pd(_mm256_mul_pd(dj2, si), vsj), br), tpi));
        __m256d dk = _mm256_div_pd(_mm256_mul_pd(dj2, as), tpi);
        /* si == 0: the covariances are 0 (sj > 0 here) */
        __m256d nz = _mm256_cmp_pd(si, zero, _CMP_NEQ_UQ);
        ck = _mm256_blendv_pd(zero, ck, nz), dk = _mm256_blendv_pd(zero, dk, nz);
        __m256d vkc = _mm256_add_pd(ck, _mm256_mul_pd(_mm256_loadu_pd(mean + i), vmj));
        __m256d vkd = _mm256_add_pd(dk, _mm256_mul_pd(_mm256_loadu_pd(dmean + i), vdmj));
        _mm256_storeu_pd(kc + i, vkc);
        _mm256_storeu_pd(nt + i, _mm256_add_pd(vkc, _mm256_mul_pd(_mm256_loadu_pd(nt + i), vkd)));
    }
}
#endif

/* A piecewise-linear layer with its derivative and the NTK step in one pass over the lower
 * triangle: Kc = K_CK,l, Nt <- Kc + Nt o K'_CK,l, one asin per entry for both kernels (the
 * vectorised libmvec asin where the machine has AVX2); the same closed forms as
 * layer_closed's (two calls, CK and K', then the elementwise NTK step: the plain path that
 * tests/test_ntk_kernel.c compares this one with).  Neither output is mirrored: the caller
 * does it once at the end. */
static void layer_pwlin_fused(lr_ntk_kernel_plan *P, const closed_ctx *c, double shift, lr_mat Kin, lr_mat Kc,
                              lr_mat Nt)
{
    size_t n = P->n;
    const closed_ctx c1 = {.fam = FAM_PWLIN, .deriv = 1, .a = c->a, .am = c->am, .ap = c->ap};
    /* the CK's means and K''s (in ef2, which only Mehler uses) */
    double *dmean = P->ef2;
    for (size_t i = 0; i < n; i++)
        P->mean[i] = closed_mean(c, P->kd[i], P->sd[i]) - shift, dmean[i] = closed_mean(&c1, P->kd[i], P->sd[i]);
#ifdef LR_NTK_MVEC
    const int avx2 = lr_ntk_simd_avx2();
#endif
    long nn = (long)n;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 8) num_threads(team(P))
#endif
    for (long jj = 0; jj < nn; jj++) {
        size_t j = (size_t)jj;
        double sj = P->sd[j], mj = P->mean[j];
        const double *kin = &LR_AT(Kin, 0, j);
        double *kc = &LR_AT(Kc, 0, j), *nt = &LR_AT(Nt, 0, j);
        size_t i = j;
        /* the diagonal (rho = 1), then the rows below; a zero sample's column is scalar */
        {
            double v, kd = pwlin_pair(c, P->kd[j], sj, sj, 1.0, 0.5 * M_PI, mj, mj, dmean[j], dmean[j], &v);
            kc[j] = v, nt[j] = v + nt[j] * kd;
            i++;
        }
#ifdef LR_NTK_MVEC
        if (avx2 && sj > 0 && i < n) {
            size_t m = (n - i) / 4;
            pwlin_rows_avx2(c, i, m, kin, P->sd, P->mean, dmean, sj, mj, dmean[j], kc, nt);
            i += 4 * m;
        }
#endif
        for (; i < n; i++) {
            double si = P->sd[i], rho = corr(kin[i], si, sj), as = asin(rho), v;
            double kd = pwlin_pair(c, kin[i], si, sj, rho, as, P->mean[i], mj, dmean[i], dmean[j], &v);
            kc[i] = v, nt[i] = v + nt[i] * kd;
        }
    }
}

/* ---- Mehler ---- */

/* Sample i's coefficients a_k(f), k < D, into coef[k * stride]; E f^2 and the tail T. */
static void mehler_coeffs(const lr_ntk_kernel_plan *P, thread_ws *t, const lr_ntk_act *a, int deriv,
                          double shift, double s, double *coef, size_t stride, double *ef2, double *tail)
{
    size_t D = P->o.mehler_order;
    if (!(s > 0)) { /* u = 0: f is the constant g(0) - shift */
        double v = 0;
        lr_ntk_act_map(a, deriv, 1.0, shift, 1.0, &v, 1);
        coef[0] = v;
        for (size_t k = 1; k < D; k++) coef[k * stride] = 0;
        *ef2 = v * v, *tail = 0;
        return;
    }
    double br[LR_NTK_ACT_MAX_KINKS];
    size_t nb = lr_ntk_act_kinks(a, br);
    for (size_t k = 0; k < nb; k++) br[k] /= s;
    size_t nq = rule_build(&P->rule, 1.0, br, nb, t->z, t->w);
    double *z = t->z, *w = t->w, *f = t->f, *gp = t->g0, *gc = t->g1;
    memcpy(f, z, nq * sizeof *f);
    lr_ntk_act_map(a, deriv, s, shift, 1.0, f, nq);
    double e2 = 0;
    for (size_t q = 0; q < nq; q++) {
        gc[q] = w[q] * f[q]; /* w f h_0 */
        gp[q] = 0;           /* w f h_{-1} */
        e2 += gc[q] * f[q];
    }
    double ss = 0;
    for (size_t k = 0; k < D; k++) {
        double ck = 0;
        LR_NTK_SIMD
        for (size_t q = 0; q < nq; q++) ck += gc[q];
        coef[k * stride] = ck;
        ss += ck * ck;
        /* w f h_{k+1} = (z w f h_k - sqrt(k) w f h_{k-1}) / sqrt(k + 1), into the older buffer */
        double sk = P->sqk[k], ik = P->isq[k + 1];
        LR_NTK_SIMD
        for (size_t q = 0; q < nq; q++) gp[q] = (z[q] * gc[q] - sk * gp[q]) * ik;
        double *tmp = gp;
        gp = gc, gc = tmp;
    }
    *ef2 = e2;
    *tail = e2 > ss ? e2 - ss : 0.0;
}

/* One tile: out[c][r] = sum_{k<D} rho[c][r]^k a_{r0+r,k} a_{j+c,k} for LR_NTK_TILE_R rows
 * from r0 (a multiple of LR_NTK_TILE_R) and LR_NTK_TILE_C columns from j (within one tile),
 * the accumulators in registers.  Compiled for AVX2 and for the baseline and picked at run
 * time (gcc's target_clones): the same multiplies and adds in the same order either way (no
 * FMA contraction), so the results do not depend on the machine's vector width.
 *
 * The 8 x 4 accumulators are eight named 4-wide vectors (GNU C vector extensions), not an
 * array: as acc[4][8] indexed in a loop, gcc -O2 kept them on the stack, and each of the D
 * steps waited for a store and a reload of every accumulator (about 3x slower). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static void horner_tile(const double *tp, size_t D, size_t r0, size_t j,
                        const double rho[LR_NTK_TILE_C][LR_NTK_TILE_R], double out[LR_NTK_TILE_C][LR_NTK_TILE_R])
{
    typedef double v4d __attribute__((vector_size(4 * sizeof(double))));
    enum { R = LR_NTK_TILE_R, TC = LR_NTK_TILE_C };
    _Static_assert(R == 8 && TC == 4, "horner_tile is written for 8 x 4 tiles");
    const double *A = &LR_NTK_TP(tp, D, r0, 0), *B = &LR_NTK_TP(tp, D, j, 0);
    v4d rl[TC], rh[TC], al, ah;
    for (int c = 0; c < TC; c++) memcpy(&rl[c], &rho[c][0], sizeof al), memcpy(&rh[c], &rho[c][4], sizeof al);
    memcpy(&al, A + (D - 1) * R, sizeof al), memcpy(&ah, A + (D - 1) * R + 4, sizeof al);
    v4d c0l = B[(D - 1) * R + 0] * al, c0h = B[(D - 1) * R + 0] * ah, c1l = B[(D - 1) * R + 1] * al,
        c1h = B[(D - 1) * R + 1] * ah, c2l = B[(D - 1) * R + 2] * al, c2h = B[(D - 1) * R + 2] * ah,
        c3l = B[(D - 1) * R + 3] * al, c3h = B[(D - 1) * R + 3] * ah;
    for (size_t k = D - 1; k-- > 0;) {
        const double *Ak = A + k * R, *Bk = B + k * R;
        memcpy(&al, Ak, sizeof al), memcpy(&ah, Ak + 4, sizeof al);
        /* acc = acc * rho + b_k a_k, as horner_entry */
        c0l = c0l * rl[0] + Bk[0] * al, c0h = c0h * rh[0] + Bk[0] * ah;
        c1l = c1l * rl[1] + Bk[1] * al, c1h = c1h * rh[1] + Bk[1] * ah;
        c2l = c2l * rl[2] + Bk[2] * al, c2h = c2h * rh[2] + Bk[2] * ah;
        c3l = c3l * rl[3] + Bk[3] * al, c3h = c3h * rh[3] + Bk[3] * ah;
    }
    memcpy(&out[0][0], &c0l, sizeof al), memcpy(&out[0][4], &c0h, sizeof al);
    memcpy(&out[1][0], &c1l, sizeof al), memcpy(&out[1][4], &c1h, sizeof al);
    memcpy(&out[2][0], &c2l, sizeof al), memcpy(&out[2][4], &c2h, sizeof al);
    memcpy(&out[3][0], &c3l, sizeof al), memcpy(&out[3][4], &c3h, sizeof al);
}

/* The same for one entry (the edges of the triangle), in the same order. */
static double horner_entry(const double *tp, size_t D, size_t i, size_t j, double rho)
{
    double acc = LR_NTK_TP(tp, D, i, D - 1) * LR_NTK_TP(tp, D, j, D - 1);
    for (size_t k = D - 1; k-- > 0;) acc = acc * rho + LR_NTK_TP(tp, D, j, k) * LR_NTK_TP(tp, D, i, k);
    return acc;
}

static double layer_mehler(lr_ntk_kernel_plan *P, const lr_ntk_act *a, int deriv, double shift, lr_mat Kin,
                           lr_mat Kout)
{
    size_t n = P->n, D = P->o.mehler_order;
    long nn = (long)n;
    double kk[LR_NTK_ACT_MAX_KINKS];
    if (lr_ntk_act_kinks(a, kk) == 0) {
        /* No kinks: one rule for every sample, so the table is one product,
         * a_ik = sum_q [w_q f_i(z_q)] h_k(z_q): F^T H with F (Q x n) and H (Q x D) the plan's. */
        size_t Q = P->qs;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(team(P))
#endif
        for (long ii = 0; ii < nn; ii++) {
            size_t i = (size_t)ii;
            double *f = P->F + i * Q, e2 = 0;
            memcpy(f, P->sz, Q * sizeof *f);
            if (P->sd[i] > 0) {
                lr_ntk_act_map(a, deriv, P->sd[i], shift, 1.0, f, Q);
            } else { /* u = 0: the constant g(0) - shift */
                double v = 0;
                lr_ntk_act_map(a, deriv, 1.0, shift, 1.0, &v, 1);
                for (size_t q = 0; q < Q; q++) f[q] = v;
            }
            for (size_t q = 0; q < Q; q++) e2 += P->sw[q] * f[q] * f[q], f[q] *= P->sw[q];
            P->ef2[i] = e2;
        }
        lr_gemm('T', 'N', 1.0, lr_mat_wrap(P->F, Q, n), lr_mat_wrap(P->H, Q, D), 0.0, lr_mat_wrap(P->table, n, D));
        for (size_t i = 0; i < n; i++) {
            double ss = 0;
            for (size_t k = 0; k < D; k++) ss += P->table[i + k * n] * P->table[i + k * n];
            P->tail[i] = P->ef2[i] > ss ? P->ef2[i] - ss : 0.0;
        }
    } else {
        /* Kinks at t / s_i: a rule per sample, and the recurrence run on it. */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 16) num_threads(team(P))
#endif
        for (long ii = 0; ii < nn; ii++) {
            size_t i = (size_t)ii;
            mehler_coeffs(P, &P->tw[thread_id()], a, deriv, shift, P->sd[i], P->table + i, n, &P->ef2[i],
                          &P->tail[i]);
        }
    }
    /* Pack the table (see LR_NTK_TP); the padding rows are 0. */
    double *tp = P->tp;
    size_t npad = (n + LR_NTK_TILE_R - 1) / LR_NTK_TILE_R * LR_NTK_TILE_R;
    for (size_t k = 0; k < D; k++) {
        for (size_t i = 0; i < n; i++) LR_NTK_TP(tp, D, i, k) = P->table[i + k * n];
        for (size_t i = n; i < npad; i++) LR_NTK_TP(tp, D, i, k) = 0;
    }
    /* Column blocks of LR_NTK_MEHLER_COLS, in tiles of LR_NTK_TILE_R rows x LR_NTK_TILE_C
     * columns: a block's coefficients stay in cache while the rows stream past. */
    const size_t NB = LR_NTK_MEHLER_COLS, TR = LR_NTK_TILE_R, TC = LR_NTK_TILE_C;
    long nblocks = (long)((n + NB - 1) / NB);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(team(P))
#endif
    for (long jb = 0; jb < nblocks; jb++) {
        size_t j0 = (size_t)jb * NB, nbk = n - j0 < NB ? n - j0 : NB;
        double rmax = 0;
        for (size_t b = 0; b < nbk; b++) {
            size_t j = j0 + b;
            LR_AT(Kout, j, j) = P->ef2[j];
            for (size_t i = j + 1; i < n; i++) rmax = fmax(rmax, fabs(corr(LR_AT(Kin, i, j), P->sd[i], P->sd[j])));
        }
        P->colmax[jb] = rmax;
        for (size_t r0 = (j0 + 1) / TR * TR; r0 < n; r0 += TR)
            for (size_t c0 = 0; c0 < nbk; c0 += TC) {
                size_t j = j0 + c0;
                if (r0 + TR - 1 <= j) continue; /* the tile is on or above the diagonal */
                if (r0 + TR <= n && c0 + TC <= nbk) {
                    double rho[LR_NTK_TILE_C][LR_NTK_TILE_R], out[LR_NTK_TILE_C][LR_NTK_TILE_R];
                    for (size_t c = 0; c < TC; c++)
                        for (size_t r = 0; r < TR; r++)
                            rho[c][r] = r0 + r > j + c ? corr(LR_AT(Kin, r0 + r, j + c), P->sd[r0 + r], P->sd[j + c]) : 0;
                    horner_tile(tp, D, r0, j, rho, out);
                    for (size_t c = 0; c < TC; c++)
                        for (size_t r = 0; r < TR; r++)
                            if (r0 + r > j + c) LR_AT(Kout, r0 + r, j + c) = out[c][r];
                } else {
                    for (size_t c = 0; c < TC && c0 + c < nbk; c++)
                        for (size_t r = 0; r < TR && r0 + r < n; r++) {
                            size_t i = r0 + r, jj = j + c;
                            if (i > jj)
                                LR_AT(Kout, i, jj) = horner_entry(tp, D, i, jj, corr(LR_AT(Kin, i, jj), P->sd[i], P->sd[jj]));
                        }
                }
            }
    }
    double rmax = 0, tmax = 0;
    for (long jb = 0; jb < nblocks; jb++) rmax = fmax(rmax, P->colmax[jb]);
    for (size_t i = 0; i < n; i++) tmax = fmax(tmax, P->tail[i]);
    return pow(rmax, (double)D) * tmax;
}

/* ---- the reference ---- */

/* The reference's rule at refinement level m cut at the breakpoints: the cached panels where
 * no breakpoint falls, fresh nodes (and their exp) only in the panels that are cut.  The
 * same rule as rule_build with the panel width of level m, faster when few panels are cut. */
static size_t rule_cut(const lr_ntk_kernel_plan *P, int m, double *br, size_t nb, double *z, double *w)
{
    for (size_t i = 1; i < nb; i++)
        for (size_t j = i; j > 0 && br[j - 1] > br[j]; j--) {
            double s = br[j];
            br[j] = br[j - 1], br[j - 1] = s;
        }
    const rule_spec *r = &P->rrule;
    const size_t G = r->G, np = P->bp[m];
    const double h = P->bh[m], c = 1.0 / sqrt(2.0 * M_PI);
    size_t q = 0, e = 0;
    while (e < nb && !(br[e] > -r->zmax)) e++;
    for (size_t p = 0; p < np; p++) {
        double lo = -r->zmax + (double)p * h, hi = p + 1 == np ? r->zmax : lo + h;
        if (e >= nb || !(br[e] < hi)) { /* no cut: the cached nodes */
            memcpy(z + q, P->bz[m] + p * G, G * sizeof *z);
            memcpy(w + q, P->bw[m] + p * G, G * sizeof *w);
            q += G;
            continue;
        }
        double a = lo;
        for (;;) {
            double b = e < nb && br[e] < hi ? br[e] : hi;
            if (b > a) {
                for (size_t g = 0; g < G; g++) {
                    double zz = a + 0.5 * (b - a) * (1.0 + r->x[g]);
                    z[q] = zz, w[q] = 0.5 * (b - a) * r->w[g] * c * exp(-0.5 * zz * zz);
                    q++;
                }
                a = b;
            }
            if (b >= hi) break;
            e++;
        }
    }
    return q;
}

/* E f(s z) by the reference rule (into t's inner buffers). */
static double ref_mean(const lr_ntk_kernel_plan *P, thread_ws *t, const lr_ntk_act *a, int deriv, double shift,
                       double s)
{
    if (!(s > 0)) {
        double v = 0;
        lr_ntk_act_map(a, deriv, 1.0, shift, 1.0, &v, 1);
        return v;
    }
    double br[LR_NTK_ACT_MAX_KINKS];
    size_t nb = lr_ntk_act_kinks(a, br);
    for (size_t k = 0; k < nb; k++) br[k] /= s;
    size_t nq = rule_cut(P, refine_level(s), br, nb, t->iz, t->iw);
    memcpy(t->iv, t->iz, nq * sizeof *t->iv);
    lr_ntk_act_map(a, deriv, s, shift, 1.0, t->iv, nq);
    double v = 0;
    for (size_t q = 0; q < nq; q++) v += t->iw[q] * t->iv[q];
    return v;
}

/* The outer breakpoints of entry (i, j): f_j's kinks t / s_j, and around each point
 * c = t / (rho s_i) where the inner integral E_z2 f_i(s_i (rho z1 + sqrt(1 - rho^2) z2)) crosses
 * a kink of f_i (a smooth step Phi((z1 - c) / w), w = sqrt(1 - rho^2) / |rho|, in z1), the points
 * c + m w for |m| <= LR_NTK_REF_STEPS (the step itself), then c +- LR_NTK_REF_STEPS w 2^m up to
 * the panel width: panels graded towards the step, so that the outer rule resolves it however
 * correlated the samples are (w below panel 2^-LR_NTK_REF_GRADES counts as that width). */
static size_t ref_outer_breaks(const lr_ntk_kernel_plan *P, const double *kk, size_t nk, double si, double sj,
                               double rho, double sq, double *br)
{
    size_t nb = 0;
    for (size_t k = 0; k < nk; k++) br[nb++] = kk[k] / sj;
    if (rho == 0) return nb;
    double w = fmax(sq / fabs(rho), P->rrule.panel * ldexp(1.0, -LR_NTK_REF_GRADES));
    if (w >= P->rrule.panel) return nb;
    for (size_t k = 0; k < nk; k++) {
        double c = kk[k] / (rho * si);
        br[nb++] = c;
        for (int m = 1; m <= LR_NTK_REF_STEPS; m++) br[nb++] = c - m * w, br[nb++] = c + m * w;
        for (double d = 2 * LR_NTK_REF_STEPS * w; d < P->rrule.panel; d *= 2) br[nb++] = c - d, br[nb++] = c + d;
    }
    return nb;
}

static void layer_reference(lr_ntk_kernel_plan *P, const lr_ntk_act *a, int deriv, double shift, lr_mat Kin,
                            lr_mat Kout)
{
    size_t n = P->n;
    long nn = (long)n;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(team(P))
#endif
    for (long jj = 0; jj < nn; jj++) {
        size_t j = (size_t)jj;
        thread_ws *t = &P->tw[thread_id()];
        double sj = P->sd[j], kk[LR_NTK_ACT_MAX_KINKS], br[LR_NTK_REF_MAX_BREAKS];
        size_t nk = lr_ntk_act_kinks(a, kk);
        double mj = ref_mean(P, t, a, deriv, shift, sj);
        for (size_t i = j; i < n; i++) {
            double si = P->sd[i], v = 0;
            if (!(sj > 0) || !(si > 0)) { /* a constant factor times the other's mean */
                v = (i == j ? mj : ref_mean(P, t, a, deriv, shift, si)) * mj;
                LR_AT(Kout, i, j) = v;
                continue;
            }
            double rho = i == j ? 1.0 : corr(LR_AT(Kin, i, j), si, sj);
            if (fabs(rho) == 1) { /* v = rho s_i z: one dimension, cut at both kink sets */
                size_t nb = 0;
                for (size_t k = 0; k < nk; k++) br[nb++] = kk[k] / sj, br[nb++] = kk[k] / (rho * si);
                size_t nq = rule_cut(P, refine_level(fmax(si, sj)), br, nb, t->iz, t->iw);
                memcpy(t->iv, t->iz, nq * sizeof *t->iv);
                memcpy(t->jv, t->iz, nq * sizeof *t->jv);
                lr_ntk_act_map(a, deriv, rho * si, shift, 1.0, t->iv, nq);
                lr_ntk_act_map(a, deriv, sj, shift, 1.0, t->jv, nq);
                for (size_t q = 0; q < nq; q++) v += t->iw[q] * t->iv[q] * t->jv[q];
                LR_AT(Kout, i, j) = v;
                continue;
            }
            double sq = sqrt((1.0 - rho) * (1.0 + rho));
            size_t no = rule_build(&P->rrule, refine_for(fmax(sj, si * fabs(rho))), br,
                                   ref_outer_breaks(P, kk, nk, si, sj, rho, sq, br), t->oz, t->ow);
            int lin = refine_level(si * sq);
            memcpy(t->of, t->oz, no * sizeof *t->of);
            lr_ntk_act_map(a, deriv, sj, shift, 1.0, t->of, no);
            for (size_t q = 0; q < no; q++) {
                double z1 = t->oz[q], inner = 0;
                for (size_t k = 0; k < nk; k++) br[k] = (kk[k] / si - rho * z1) / sq;
                size_t nq = rule_cut(P, lin, br, nk, t->iz, t->iw);
                for (size_t r = 0; r < nq; r++) t->iv[r] = rho * z1 + sq * t->iz[r];
                lr_ntk_act_map(a, deriv, si, shift, 1.0, t->iv, nq);
                for (size_t r = 0; r < nq; r++) inner += t->iw[r] * t->iv[r];
                v += t->ow[q] * t->of[q] * inner;
            }
            LR_AT(Kout, i, j) = v;
        }
    }
}

/* ---- layers and the recursion ---- */

/* Copy the lower triangle to the upper one. */
static void mirror(lr_ntk_kernel_plan *P, lr_mat K)
{
    /* in 64 x 64 tiles, so that the strided writes of the upper triangle stay in cache */
    const size_t T = 64, n = K.rows;
    long nt = (long)((n + T - 1) / T);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(team(P))
#endif
    for (long tj = 0; tj < nt; tj++)
        for (size_t ti = 0; ti <= (size_t)tj; ti++) {
            size_t j0 = (size_t)tj * T, i0 = ti * T, j1 = j0 + T < n ? j0 + T : n, i1 = i0 + T < n ? i0 + T : n;
            for (size_t j = j0; j < j1; j++)
                for (size_t i = i0; i < i1 && i < j; i++) LR_AT(K, i, j) = LR_AT(K, j, i);
        }
}

static int check_square(lr_mat K, size_t n, const char *who, const char *name)
{
    if (!K.data || K.rows != n || K.cols != n || K.ld < n)
        LR_ERRORF(LR_EINVAL, "%s: %s is %zux%zu (ld %zu), not %zux%zu", who, name, K.rows, K.cols, K.ld, n, n);
    return LR_OK;
}

/* K_ii into kd and sqrt(K_ii) into sd (0 where K_ii <= 0); LR_ENUMERIC for a non-finite one. */
static int read_diagonal(lr_ntk_kernel_plan *P, lr_mat Kin, const char *who)
{
    for (size_t i = 0; i < P->n; i++) {
        double kii = LR_AT(Kin, i, i);
        if (!isfinite(kii)) LR_ERRORF(LR_ENUMERIC, "%s: K_%zu%zu = %g", who, i, i, kii);
        P->kd[i] = kii;
        P->sd[i] = kii > 0 ? sqrt(kii) : 0.0;
    }
    return LR_OK;
}

int lr_ntk_kernel_layer(lr_ntk_kernel_plan *P, const lr_ntk_act *a, int deriv, double shift, lr_mat Kin,
                        lr_mat Kout, lr_ntk_kernel_method method, double *trunc)
{
    static const char who[] = "lr_ntk_kernel_layer";
    if (!P) LR_ERRORF(LR_EINVAL, "%s: no plan", who);
    if (!a || !lr_ntk_act_get(a->id)) LR_ERRORF(LR_EINVAL, "%s: unknown activation", who);
    if (deriv != 0 && deriv != 1) LR_ERRORF(LR_EINVAL, "%s: deriv = %d (0 or 1)", who, deriv);
    if (!isfinite(shift)) LR_ERRORF(LR_EINVAL, "%s: shift = %g", who, shift);
    LR_TRY(check_square(Kin, P->n, who, "Kin"));
    LR_TRY(check_square(Kout, P->n, who, "Kout"));
    if (Kin.data == Kout.data) LR_ERRORF(LR_EINVAL, "%s: Kin and Kout must be different matrices", who);
    const lr_ntk_act_entry *e = lr_ntk_act_get(a->id);
    if (deriv && lr_ntk_act_has_dirac(a))
        LR_ERRORF(LR_EINVAL, "%s: %s' holds a Dirac mass: E sigma'(u) sigma'(v) does not exist (nor the NTK)", who,
                  e->name);
    closed_ctx c;
    int has = closed_init(a, deriv, &c);
    if (method == LR_NTK_KERNEL_AUTO) method = has ? LR_NTK_KERNEL_CLOSED : LR_NTK_KERNEL_MEHLER;
    if (method == LR_NTK_KERNEL_CLOSED && !has)
        LR_ERRORF(LR_EINVAL, "%s: no closed form for the kernel of %s%s", who, e->name, deriv ? "'" : "");
    if (method != LR_NTK_KERNEL_CLOSED && method != LR_NTK_KERNEL_MEHLER && method != LR_NTK_KERNEL_REFERENCE)
        LR_ERRORF(LR_EINVAL, "%s: unknown method %d", who, (int)method);
    LR_TRY(read_diagonal(P, Kin, who));
    double tr = 0;
    switch (method) {
    case LR_NTK_KERNEL_CLOSED: layer_closed(P, &c, shift, Kin, Kout); break;
    case LR_NTK_KERNEL_MEHLER: tr = layer_mehler(P, a, deriv, shift, Kin, Kout); break;
    default: layer_reference(P, a, deriv, shift, Kin, Kout); break;
    }
    mirror(P, Kout);
    if (trunc) *trunc = tr;
    return LR_OK;
}

/* The checks both entry points share (X is checked by lr_ntk_kernel_exact). */
static int check_call(const lr_ntk_kernel_plan *P, const lr_ntk_act *acts, size_t L, double tau0,
                      lr_ntk_kernel_method method, lr_mat CK, lr_mat NTK, const char *who)
{
    size_t n = P->n;
    if (L == 0 || L > P->L) LR_ERRORF(LR_EINVAL, "%s: L = %zu (the plan has 1..%zu)", who, L, P->L);
    if (!acts) LR_ERRORF(LR_EINVAL, "%s: no activations", who);
    for (size_t l = 0; l < L; l++)
        if (!lr_ntk_act_get(acts[l].id)) LR_ERRORF(LR_EINVAL, "%s: layer %zu: unknown activation", who, l + 1);
    if (!(tau0 > 0) || !isfinite(tau0)) LR_ERRORF(LR_EINVAL, "%s: tau_0 = %g (positive, finite)", who, tau0);
    LR_TRY(check_square(CK, n, who, "CK"));
    if (NTK.data) LR_TRY(check_square(NTK, n, who, "NTK"));
    if (method < LR_NTK_KERNEL_AUTO || method > LR_NTK_KERNEL_REFERENCE)
        LR_ERRORF(LR_EINVAL, "%s: unknown method %d", who, (int)method);
    return LR_OK;
}

static int recursion(lr_ntk_kernel_plan *P, const lr_ntk_act *acts, size_t L, double tau0, lr_ntk_kernel_method method,
                     lr_mat CK, lr_mat NTK, lr_ntk_kernel_info *info, const char *who);

int lr_ntk_kernel_exact(lr_ntk_kernel_plan *P, lr_mat X, const lr_ntk_act *acts, size_t L, double tau0,
                        lr_ntk_kernel_method method, lr_mat CK, lr_mat NTK, lr_ntk_kernel_info *info)
{
    static const char who[] = "lr_ntk_kernel_exact";
    if (!P) LR_ERRORF(LR_EINVAL, "%s: no plan", who);
    size_t n = P->n;
    if (!X.data || X.cols != n || X.rows == 0 || X.ld < X.rows)
        LR_ERRORF(LR_EINVAL, "%s: X is %zux%zu (ld %zu), the plan is for %zu samples (columns)", who, X.rows, X.cols,
                  X.ld, n);
    LR_TRY(check_call(P, acts, L, tau0, method, CK, NTK, who));
    lr_mat Kp = lr_mat_wrap(P->K[0], n, n);
    LR_TRY(lr_syrk('T', 1.0, X, 0.0, Kp));
    mirror(P, Kp);
    return recursion(P, acts, L, tau0, method, CK, NTK, info, who);
}

int lr_ntk_kernel_exact_gram(lr_ntk_kernel_plan *P, lr_mat K0, const lr_ntk_act *acts, size_t L, double tau0,
                             lr_ntk_kernel_method method, lr_mat CK, lr_mat NTK, lr_ntk_kernel_info *info)
{
    static const char who[] = "lr_ntk_kernel_exact_gram";
    if (!P) LR_ERRORF(LR_EINVAL, "%s: no plan", who);
    size_t n = P->n;
    LR_TRY(check_square(K0, n, who, "K0"));
    LR_TRY(check_call(P, acts, L, tau0, method, CK, NTK, who));
    lr_mat Kp = lr_mat_wrap(P->K[0], n, n);
    for (size_t j = 0; j < n; j++) memcpy(&LR_AT(Kp, j, j), &LR_AT(K0, j, j), (n - j) * sizeof(double));
    mirror(P, Kp);
    return recursion(P, acts, L, tau0, method, CK, NTK, info, who);
}

/* The layers from K_CK,0 = K_NTK,0 in the plan's K[0] (whole, symmetric). */
static int recursion(lr_ntk_kernel_plan *P, const lr_ntk_act *acts, size_t L, double tau0, lr_ntk_kernel_method method,
                     lr_mat CK, lr_mat NTK, lr_ntk_kernel_info *info, const char *who)
{
    size_t n = P->n;
    int want_ntk = NTK.data != NULL;
    lr_ntk_kernel_info inf;
    memset(&inf, 0, sizeof inf);
    inf.layers = L, inf.tau[0] = tau0, inf.ntk_defined = 1;
    lr_mat Kp = lr_mat_wrap(P->K[0], n, n), Kc = lr_mat_wrap(P->K[1], n, n), Kd = lr_mat_wrap(P->K[2], n, n),
           Nt = lr_mat_wrap(P->K[3], n, n);
    if (want_ntk) memcpy(Nt.data, Kp.data, n * n * sizeof(double));
    double tau = tau0;
    for (size_t l = 0; l < L; l++) {
        const lr_ntk_act *a = &acts[l];
        if (!(tau > 0))
            LR_ERRORF(LR_EINVAL, "%s: layer %zu: tau_%zu = 0 (layer %zu is constant): no centring scale", who, l + 1, l,
                      l);
        lr_ntk_keyq kq;
        LR_TRY(lr_ntk_keyq_eval(a, tau, &P->o.quad, P->kws, &kq));
        inf.keyq[l] = kq, inf.centre[l] = kq.mean;
        int has = lr_ntk_kernel_has_closed(a, 0);
        inf.method[l] = method == LR_NTK_KERNEL_AUTO ? (has ? LR_NTK_KERNEL_CLOSED : LR_NTK_KERNEL_MEHLER) : method;
        if (inf.ntk_defined && lr_ntk_act_has_dirac(a)) inf.ntk_defined = 0, inf.ntk_undefined_layer = l + 1;
        closed_ctx c;
        if (want_ntk && inf.ntk_defined && (method == LR_NTK_KERNEL_AUTO || method == LR_NTK_KERNEL_CLOSED) &&
            closed_init(a, 0, &c) && c.fam == FAM_PWLIN) {
            /* the fast path: CK, K' and the NTK step in one pass (see layer_pwlin_fused) */
            LR_TRY(read_diagonal(P, Kp, who));
            layer_pwlin_fused(P, &c, kq.mean, Kp, Kc, Nt);
            inf.dmethod[l] = LR_NTK_KERNEL_CLOSED;
            inf.trunc_ck[l] = inf.trunc_dk[l] = 0;
        } else {
            LR_TRY(lr_ntk_kernel_layer(P, a, 0, kq.mean, Kp, Kc, method, &inf.trunc_ck[l]));
            if (want_ntk && inf.ntk_defined) {
                int hasd = lr_ntk_kernel_has_closed(a, 1);
                inf.dmethod[l] =
                    method == LR_NTK_KERNEL_AUTO ? (hasd ? LR_NTK_KERNEL_CLOSED : LR_NTK_KERNEL_MEHLER) : method;
                LR_TRY(lr_ntk_kernel_layer(P, a, 1, 0.0, Kp, Kd, method, &inf.trunc_dk[l]));
                long nn = (long)(n * n);
                double *nt = Nt.data, *kc = Kc.data, *kd = Kd.data;
#ifdef _OPENMP
#pragma omp parallel for simd schedule(static) num_threads(team(P))
#endif
                for (long q = 0; q < nn; q++) nt[q] = kc[q] + nt[q] * kd[q];
            }
        }
        inf.trunc_max = fmax(inf.trunc_max, fmax(inf.trunc_ck[l], inf.trunc_dk[l]));
        tau = sqrt(kq.var);
        inf.tau[l + 1] = tau;
        lr_mat s = Kp;
        Kp = Kc, Kc = s;
    }
    /* the fused layers write the lower triangles only (the others are mirrored already) */
    mirror(P, Kp);
    if (want_ntk && inf.ntk_defined) mirror(P, Nt);
    for (size_t j = 0; j < n; j++) memcpy(&LR_AT(CK, 0, j), &LR_AT(Kp, 0, j), n * sizeof(double));
    if (want_ntk)
        for (size_t j = 0; j < n; j++) {
            if (inf.ntk_defined)
                memcpy(&LR_AT(NTK, 0, j), &LR_AT(Nt, 0, j), n * sizeof(double));
            else
                for (size_t i = 0; i < n; i++) LR_AT(NTK, i, j) = NAN;
        }
    if (info) *info = inf;
    return LR_OK;
}
