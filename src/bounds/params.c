/* The bounds' constants as config keys: one schema that every experiment evaluating bounds
 * includes (lr_experiment.includes), and one reader, so that no experiment re-declares a
 * bound's constant with a default or a doc of its own. */
#include <math.h>

#include "core/error.h"

#include "bounds.h"

const lr_key lr_bounds_schema[] = {
    {.path = "bounds.C", .type = LR_KEY_REAL, .sweepable = 1, .def = 2, .min = 0, .max = INFINITY,
     .doc = "constant C of Theorem 1(a)/(b) and of the noise term of 2(a)"},
    {.path = "bounds.t", .type = LR_KEY_REAL, .sweepable = 1, .def = 2, .min = 0, .max = INFINITY,
     .doc = "deviation t: probabilistic bounds hold w.p. 1 - exp(-t^2/2)"},
    {.path = "bounds.tol", .type = LR_KEY_REAL, .def = 1e-10, .min = 0, .max = 1,
     .doc = "rounding slack of every bound check and error comparison: a <= b + tol (|b| + scale), "
            "scale ||Z*||_F (||X~W||_F for real layers)"},
    {.path = "bounds.outside_assumptions", .type = LR_KEY_BOOL, .def = 0, .min = 0, .max = 1,
     .doc = "evaluate bounds whose declared assumptions the run does not meet (e.g. thm1b under "
            "Student t noise: a robustness study); /bounds records it"},
    {.path = "bounds.Ctau", .type = LR_KEY_REAL, .def = 1, .min = 0, .max = INFINITY,
     .doc = "coefficient of tau_k(Z0) in Theorem 2(a)"},
    {.path = "bounds.C2b", .type = LR_KEY_REAL, .def = 4.5, .min = 0, .max = INFINITY,
     .doc = "constant of Theorem 2(b) (9/2)"},
    {.path = "bounds.C2c", .type = LR_KEY_REAL, .def = 3, .min = 0, .max = INFINITY,
     .doc = "constant of Theorem 2(c)"},
    {.path = "bounds.lambda_c", .type = LR_KEY_REAL, .def = 2, .min = 0, .max = INFINITY,
     .doc = "2(b)/2(c) apply when lambda >= lambda_c ||PG||_op (resp. ||X~^T G||_op)"},
    {.path = "bounds.C3", .type = LR_KEY_REAL, .def = 1, .min = 0, .max = INFINITY,
     .doc = "constant drawn with Theorem 3's shape (the fitted one is in /shape)"},
    {.path = NULL}};

int lr_bound_params_check(const lr_config *cfg)
{
    /* A zero C makes Theorem 1's bounds 0, violated by every trial; a zero C3 cannot be
     * divided out of Theorem 3's shape.  The schema's ranges include 0 (t = 0, Ctau = 0
     * and lambda_c = 0 are meaningful), so these two are refused here, at every point. */
    static const char *const positive[] = {"bounds.C", "bounds.C3"};
    char where[512];
    for (size_t p = 0; p < lr_config_npoints(cfg); p++)
        for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++)
            if (!(lr_config_num(cfg, p, positive[i]) > 0))
                LR_ERRORF(LR_ECONFIG, "%s = %g must be positive (a bound's constant) at sweep point %zu",
                          lr_config_where(cfg, positive[i], where, sizeof where),
                          lr_config_num(cfg, p, positive[i]), p);
    return LR_OK;
}

void lr_bound_params_read(const lr_config *cfg, size_t point, lr_bound_params *p)
{
    p->C = lr_config_num(cfg, point, "bounds.C");
    p->t = lr_config_num(cfg, point, "bounds.t");
    p->tol = lr_config_num(cfg, point, "bounds.tol");
    p->outside_assumptions = lr_config_num(cfg, point, "bounds.outside_assumptions") != 0;
    p->Ctau = lr_config_num(cfg, point, "bounds.Ctau");
    p->C2b = lr_config_num(cfg, point, "bounds.C2b");
    p->C2c = lr_config_num(cfg, point, "bounds.C2c");
    p->lambda_c = lr_config_num(cfg, point, "bounds.lambda_c");
    p->C3 = lr_config_num(cfg, point, "bounds.C3");
}
