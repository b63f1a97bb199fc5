/* The key quantities of an activation at a scale tau (docs/theory.md section 5): the
 * lr_ntk_keyq of src/ntk/ntk.h, two independent ways.
 *
 *   lr_ntk_keyq_quad    Gaussian integration by parts and adaptive quadrature, piecewise
 *                       between the kinks (any activation of the registry);
 *   lr_ntk_keyq_closed  closed forms (every activation except tanh and sigmoid);
 *   lr_ntk_keyq_eval    the closed form where there is one, else the quadrature.
 *
 * The maths is at the top of keyq.c. */
#ifndef LR_NTK_KEYQ_H
#define LR_NTK_KEYQ_H

#include "ntk/act.h"
#include "ntk/ntk.h"

/* The tolerances of the quadrature, per piece between kinks (GSL's qag on finite pieces,
 * qagil / qagiu on the two tails); all written to the results by whoever records them. */
typedef struct lr_ntk_quad_opts {
    double epsabs; /* absolute tolerance of each piece */
    double epsrel; /* relative tolerance of each piece */
    size_t limit;  /* subintervals of GSL's workspace (at most the workspace's own limit) */
    int key;       /* GSL's Gauss-Kronrod rule of qag on finite pieces (GSL_INTEG_GAUSS15..61) */
} lr_ntk_quad_opts;

/* 1e-13 absolute, 1e-12 relative, 200 subintervals, the 61-point rule: the closed forms agree
 * with it to 1e-10 or better at tau in [0.3, 2.5] (tests/test_ntk_act.c). */
#define LR_NTK_QUAD_EPSABS 1e-13
#define LR_NTK_QUAD_EPSREL 1e-12
#define LR_NTK_QUAD_LIMIT 200
lr_ntk_quad_opts lr_ntk_quad_defaults(void);

/* GSL's integration workspace, sized once (limit subintervals). */
typedef struct lr_ntk_keyq_ws lr_ntk_keyq_ws;
lr_ntk_keyq_ws *lr_ntk_keyq_ws_alloc(size_t limit);
void lr_ntk_keyq_ws_free(lr_ntk_keyq_ws *ws);

/* The key quantities of a at scale tau > 0 by quadrature.  opts NULL: the defaults; ws NULL:
 * one is allocated and freed inside (a convenience; the kernels pass their own).  abserr, if
 * not NULL, receives GSL's error estimates of each field (tau: 0; d1sq: 0 when +INFINITY).
 * LR_EINVAL for a bad tau or activation, LR_ENUMERIC when GSL does not reach the tolerance
 * (the message names the quantity and GSL's reason). */
int lr_ntk_keyq_quad(const lr_ntk_act *a, double tau, const lr_ntk_quad_opts *opts, lr_ntk_keyq_ws *ws,
                     lr_ntk_keyq *out, lr_ntk_keyq *abserr);

/* Whether lr_ntk_keyq_closed knows a closed form for id. */
int lr_ntk_keyq_has_closed(lr_ntk_act_id id);

/* The key quantities of a at scale tau > 0 in closed form; LR_EINVAL for tanh and sigmoid
 * (none known) and for a bad tau. */
int lr_ntk_keyq_closed(const lr_ntk_act *a, double tau, lr_ntk_keyq *out);

/* The closed form when there is one, else the quadrature (opts, ws as for lr_ntk_keyq_quad). */
int lr_ntk_keyq_eval(const lr_ntk_act *a, double tau, const lr_ntk_quad_opts *opts, lr_ntk_keyq_ws *ws,
                lr_ntk_keyq *out);

#endif
