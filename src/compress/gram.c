/* The Gram route for the range of X~ (the fast path of lr_layer_factor_x).
 *
 * Data-driven compression needs only the range of X~ (m x N0) and the pseudo-inverse:
 * P = U_q U_q^T and X~^+ = Vx diag(1/sx) U_q^T.  With K = X~^T X~ = Vx diag(sx^2) Vx^T
 * (symmetric eigendecomposition, N0 x N0) every quantity a recovery trial needs is
 * reachable without U:
 *   U_q^T Y = diag(1/sx) Vx^T (X~^T Y),     ||X~ D||_F = ||diag(sx) Vx^T D||_F,
 * so a trial costs m N0^2 (one dsyrk) + 2 m N0 N1 (X~^T Y) instead of the ~6 m N0^2 of a
 * thin SVD of X~, and X~ can be consumed in row blocks (K and X~^T Y are sums over rows).
 * This is the normal-equations route of least squares (Golub and Van Loan, Matrix
 * Computations, 4th ed., sections 5.3.2 and 8.6): it squares the condition number, so a
 * singular value s_i is resolved to a relative accuracy of about eps (s_1 / s_i)^2.  The
 * guard therefore refuses spectra with s_min / s_1 below a threshold (a config key), and
 * the caller falls back to the SVD route and records it. */
#include <math.h>

#include "compress.h"
#include "core/error.h"

int lr_layer_factor_gram(lr_layer *L, size_t m, lr_mat K, double rank_rtol, double min_ratio,
                         lr_eig_plan *ep, double *ratio, int *accepted)
{
    size_t n0 = K.rows;
    *accepted = 0;
    *ratio = 0.0;
    if (K.cols != n0 || L->Vx.rows != n0 || L->Vx.cols < n0)
        LR_ERRORF(LR_EINVAL, "lr_layer_factor_gram: K %zux%zu, Vx %zux%zu", K.rows, K.cols,
                  L->Vx.rows, L->Vx.cols);
    /* With fewer samples than inputs K is singular by construction: nothing to gain. */
    if (m < n0 || n0 == 0) return LR_OK;
    lr_mat V = lr_mat_view(L->Vx, 0, 0, n0, n0);
    LR_TRY(lr_eig_sym(ep, K, L->sx, V));
    if (!(L->sx[0] > 0.0) || !(L->sx[n0 - 1] > 0.0)) return LR_OK;
    for (size_t i = 0; i < n0; i++) L->sx[i] = sqrt(L->sx[i]);
    *ratio = L->sx[n0 - 1] / L->sx[0];
    if (!(*ratio >= min_ratio)) return LR_OK;
    L->rank_rtol = rank_rtol;
    L->q = lr_numerical_rank(L->sx, n0, rank_rtol);
    L->smin_x = L->q == n0 ? L->sx[n0 - 1] : 0.0;
    L->Vx.cols = L->q;
    L->x_fallback = 0;
    *accepted = 1;
    return LR_OK;
}
