/* ZS25 Theorem 1: exactly low-rank activations plus noise (THEORY.md section 3).
 *
 * Y = X~ M* + G, rank M* <= r, Z* = X~ M*, Z^ = [P Y]_k with k >= r (dd_rank).
 *   (a) ||Z^ - Z*||_F <= C sqrt(k + r) ||P G||_op                     always (C = 2)
 *   (b) the same with ||P G||_op <- sigma (sqrt q + sqrt N1 + t)     w.p. >= 1 - e^{-t^2/2}
 *   (c) E ||Z^ - Z*||_F^2 ~= sigma^2 r (q + N1 - r)                  high-SNR prediction, k = r
 *   (d) ||M^ - M*||_F <= ||Z^ - Z*||_F / sigma_min(X~)                X~ of full column rank
 *
 * Why (a): Z^ is the best rank-k approximation of P Y = Z* + P G, so
 * ||Z^ - P Y|| <= ||Z* - P Y|| = ||P G|| in any unitarily invariant norm; Z^ - Z* has rank
 * <= k + r, so its Frobenius norm is at most sqrt(k + r) times its operator norm, which
 * is <= 2 ||P G||_op.  (b) is Gaussian concentration of the operator norm of the q x N1
 * Gaussian matrix U_q^T G (Davidson-Szarek / Gordon), valid only for i.i.d. Gaussian G.
 * (c) counts the dimension r (q + N1 - r) of the tangent space of rank-r q x N1
 * matrices: at high SNR the error is the projection of the noise onto it.
 * These statements are lrlab's reconstruction in ZS25's setting, not the paper's text. */
#include <math.h>

#include "bounds.h"

static double thm1_applies(const lr_bound_input *in) { return in->k >= in->r ? 1.0 : NAN; }

static double thm1a_value(const lr_bound_input *in, const lr_bound_params *p)
{
    return thm1_applies(in) * p->C * sqrt((double)(in->k + in->r)) * in->pg_op;
}

static double thm1b_value(const lr_bound_input *in, const lr_bound_params *p)
{
    if (!in->iid_noise) return NAN;
    double op = in->sigma * (sqrt((double)in->q) + sqrt((double)in->n1) + p->t);
    return thm1_applies(in) * p->C * sqrt((double)(in->k + in->r)) * op;
}

static double thm1c_value(const lr_bound_input *in, const lr_bound_params *p)
{
    if (in->k != in->r || !in->iid_noise || in->q + in->n1 < in->r) return NAN;
    return in->sigma * sqrt((double)in->r * (double)(in->q + in->n1 - in->r));
}

static double thm1d_value(const lr_bound_input *in, const lr_bound_params *p)
{
    if (!(in->smin_x > 0.0) || in->q < in->n0) return NAN;
    return in->err_fro / in->smin_x;
}

const lr_bound lr_bound_thm1a = {
    "thm1a", "ZS25 Theorem 1(a)", "||[PY]_k - Z*||_F <= C sqrt(k+r) ||PG||_op, k >= r",
    LR_BOUND_ALWAYS, "dd_rank", LR_OBS_ERR_FRO, thm1a_value};
const lr_bound lr_bound_thm1b = {
    "thm1b", "ZS25 Theorem 1(b)",
    "||[PY]_k - Z*||_F <= C sqrt(k+r) sigma (sqrt q + sqrt N1 + t), w.p. >= 1 - exp(-t^2/2)",
    LR_BOUND_PROBABLE, "dd_rank", LR_OBS_ERR_FRO, thm1b_value};
const lr_bound lr_bound_thm1c = {
    "thm1c", "ZS25 Theorem 1(c)", "RMS ||[PY]_r - Z*||_F ~= sigma sqrt(r (q + N1 - r)) at high SNR",
    LR_BOUND_PREDICTION, "dd_rank", LR_OBS_ERR_FRO, thm1c_value};
const lr_bound lr_bound_thm1d = {
    "thm1d", "ZS25 Theorem 1(d)", "||M^ - M*||_F <= ||X~ M^ - Z*||_F / sigma_min(X~), X~ full column rank",
    LR_BOUND_ALWAYS, "dd_rank", LR_OBS_ERR_WEIGHT, thm1d_value};
