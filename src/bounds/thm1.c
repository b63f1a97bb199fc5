/* ZS25 Theorem 1: exactly low-rank activations plus noise (docs/theory.md section 3).
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
    if (!in->preact) return NAN;
    double op = in->sigma * (sqrt((double)in->q) + sqrt((double)in->n1) + p->t);
    return thm1_applies(in) * p->C * sqrt((double)(in->k + in->r)) * op;
}

static double thm1c_value(const lr_bound_input *in, const lr_bound_params *p)
{
    if (in->k != in->r || !in->preact || in->q + in->n1 < in->r) return NAN;
    return in->sigma * sqrt((double)in->r * (double)(in->q + in->n1 - in->r));
}

static double thm1d_value(const lr_bound_input *in, const lr_bound_params *p)
{
    if (!(in->smin_x > 0.0) || in->q < in->n0) return NAN;
    return in->err_fro / in->smin_x;
}

const lr_bound lr_bound_thm1a = {
    .name = "thm1a",
    .theorem = "ZS25 Theorem 1(a)",
    .statement = "||[PY]_k - Z*||_F <= C sqrt(k+r) ||PG||_op, k >= r",
    .kind = LR_BOUND_ALWAYS,
    .compressor = "dd_rank",
    .observed = LR_OBS_ERR_FRO,
    .value = thm1a_value};
const lr_bound lr_bound_thm1b = {
    .name = "thm1b",
    .theorem = "ZS25 Theorem 1(b)",
    .statement = "||[PY]_k - Z*||_F <= C sqrt(k+r) sigma (sqrt q + sqrt N1 + t), w.p. >= 1 - exp(-t^2/2)",
    .kind = LR_BOUND_PROBABLE,
    .compressor = "dd_rank",
    .observed = LR_OBS_ERR_FRO,
    .assumes = LR_ASSUME_GAUSSIAN_NOISE,
    .value = thm1b_value};
const lr_bound lr_bound_thm1c = {
    .name = "thm1c",
    .theorem = "ZS25 Theorem 1(c)",
    .statement = "RMS ||[PY]_r - Z*||_F ~= sigma sqrt(r (q + N1 - r)) at high SNR",
    .kind = LR_BOUND_PREDICTION,
    .compressor = "dd_rank",
    .observed = LR_OBS_ERR_FRO,
    .assumes = LR_ASSUME_GAUSSIAN_NOISE,
    .value = thm1c_value};
const lr_bound lr_bound_thm1d = {
    .name = "thm1d",
    .theorem = "ZS25 Theorem 1(d)",
    .statement = "||M^ - M*||_F <= ||X~ M^ - Z*||_F / sigma_min(X~), X~ full column rank",
    .kind = LR_BOUND_ALWAYS,
    .compressor = "dd_rank",
    .observed = LR_OBS_ERR_WEIGHT,
    .value = thm1d_value};
