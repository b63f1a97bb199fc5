/* Shared types of the NTK "lossless" compression kind (docs/theory.md section 5; Gu, Du, Zhang,
 * Xie, Pu, Qiu, Liao, "'Lossless' Compression of Deep Neural Networks: A High-dimensional
 * Neural Tangent Kernel Approach", NeurIPS 2022).
 *
 * The activation registry and the key quantities (src/ntk/act.h, keyq.h) produce
 * lr_ntk_keyq; the alpha/beta/tau/kappa recursions and the equivalent kernels
 * (src/ntk/equiv.h) consume it.  Nothing else is shared between those two halves. */
#ifndef LR_NTK_NTK_H
#define LR_NTK_NTK_H

/* The key quantities of one activation sigma at scale tau, xi ~ N(0, 1).  sigma_c is sigma
 * centred by its own mean at that scale, sigma_c(t) = sigma(t) - mean.  Derivatives of
 * activations that are not smooth are taken as distributions, through Gaussian integration
 * by parts (docs/theory.md section 5).  A quantity that does not exist (E sigma'^2 when sigma'
 * holds a Dirac mass, e.g. sign, the step, sigma_T) is +INFINITY. */
typedef struct lr_ntk_keyq {
    double tau;  /* the scale the expectations are taken at */
    double mean; /* E sigma(tau xi): the centring constant */
    double d1;   /* E sigma'(tau xi) */
    double d2;   /* E sigma''(tau xi) */
    double sq2;  /* E (sigma_c^2)''(tau xi) */
    double var;  /* Var sigma(tau xi) */
    double d1sq; /* E sigma'(tau xi)^2 */
} lr_ntk_keyq;

#endif
