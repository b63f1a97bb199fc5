/* The activation registry (see activation.h): scalar functions, the table, the lookup. */
#include "activation.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

/* One static function act_<name>(x, p) per entry of LR_ACTIVATION_LIST. */
static inline double act_relu(double x, double p)
{
    (void)p;
    return x > 0 ? x : 0.0;
}

static inline double act_leaky_relu(double x, double p) { return x > 0 ? x : x * p; }

static inline double act_tanh(double x, double p)
{
    (void)p;
    return tanh(x);
}

/* exp(-x) overflows to inf for x < -709: the quotient is then 0, as it should be. */
static inline double act_sigmoid(double x, double p)
{
    (void)p;
    return 1.0 / (1.0 + exp(-x));
}

/* x (1 + erf(x / sqrt 2)) / 2 written with erfc(-z) = 1 + erf(z), which does not cancel
 * for x << 0 (PyTorch's 1 + erf loses the left tail: relative error 2e-10 at x = -5). */
static inline double act_gelu(double x, double p)
{
    (void)p;
    return 0.5 * x * erfc(-x * M_SQRT1_2);
}

/* x (1 + tanh z) / 2 = x / (1 + exp(-2z)), z = sqrt(2/pi) (x + kappa x^3), PyTorch's
 * constants (sqrt(2/pi) = M_SQRT2 * M_2_SQRTPI / 2, kappa = 0.044715); the logistic
 * form does not cancel for z << 0. */
static inline double act_gelu_tanh(double x, double p)
{
    (void)p;
    const double beta = M_SQRT2 * M_2_SQRTPI * 0.5, kappa = 0.044715;
    return x / (1.0 + exp(-2.0 * beta * (x + kappa * x * x * x)));
}

/* The derivatives f'(x) the training engine (src/nn/train.c) back-propagates through, one
 * act_<name>_d per entry; at a kink (relu, leaky_relu at 0)
 * the left slope (relu'(0) = 0, leaky_relu'(0) = a), as PyTorch's autograd gives. */
static inline double act_relu_d(double x, double p)
{
    (void)p;
    return x > 0 ? 1.0 : 0.0;
}

static inline double act_leaky_relu_d(double x, double p) { return x > 0 ? 1.0 : p; }

static inline double act_tanh_d(double x, double p)
{
    (void)p;
    double t = tanh(x);
    return 1.0 - t * t;
}

static inline double act_sigmoid_d(double x, double p)
{
    double s = act_sigmoid(x, p);
    return s * (1.0 - s);
}

/* d/dx x Phi(x) = Phi(x) + x phi(x). */
static inline double act_gelu_d(double x, double p)
{
    (void)p;
    return 0.5 * erfc(-x * M_SQRT1_2) + x * exp(-0.5 * x * x) * (M_2_SQRTPI * M_SQRT1_2 * 0.5);
}

/* f = x s(2z), s the logistic: f' = s + 2 x s (1 - s) z', z' = beta (1 + 3 kappa x^2). */
static inline double act_gelu_tanh_d(double x, double p)
{
    (void)p;
    const double beta = M_SQRT2 * M_2_SQRTPI * 0.5, kappa = 0.044715;
    double s = 1.0 / (1.0 + exp(-2.0 * beta * (x + kappa * x * x * x)));
    return s + 2.0 * x * s * (1.0 - s) * beta * (1.0 + 3.0 * kappa * x * x);
}

static const lr_activation activations[LR_ACT_COUNT] = {
#define LR_ACTIVATION_ENTRY(ID, nm, prm, trch) \
    [LR_ACT_##ID] = {.name = #nm, .param = prm, .torch = trch, .fn = act_##nm, .dfn = act_##nm##_d},
    LR_ACTIVATION_LIST(LR_ACTIVATION_ENTRY)
#undef LR_ACTIVATION_ENTRY
};

const lr_activation *lr_activation_get(lr_activation_id id)
{
    return (unsigned)id < LR_ACT_COUNT ? &activations[id] : NULL;
}

int lr_activation_find(const char *name, size_t len)
{
    for (int i = 0; i < LR_ACT_COUNT; i++)
        if (strlen(activations[i].name) == len && !strncmp(activations[i].name, name, len)) return i;
    return -1;
}

const char *lr_activation_names(char *buf, size_t size)
{
    size_t used = 0;
    if (size) buf[0] = '\0';
    for (int i = 0; i < LR_ACT_COUNT && used < size; i++) {
        const lr_activation *a = &activations[i];
        int w = snprintf(buf + used, size - used, "%s%s%s%s%s", i ? ", " : "", a->name,
                         a->param ? "(" : "", a->param ? a->param : "", a->param ? ")" : "");
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

/* The dispatch: one loop per entry, the scalar function inlined. */
int lr_activation_apply(lr_activation_id id, double p, double *v, size_t n)
{
    switch (id) {
#define LR_ACTIVATION_CASE(ID, nm, prm, trch)                    \
    case LR_ACT_##ID:                                            \
        for (size_t i = 0; i < n; i++) v[i] = act_##nm(v[i], p); \
        break;
        LR_ACTIVATION_LIST(LR_ACTIVATION_CASE)
#undef LR_ACTIVATION_CASE
    default:
        LR_ERRORF(LR_EINVAL, "lr_activation_apply: no activation %d (%d known)", (int)id, LR_ACT_COUNT);
    }
    return LR_OK;
}

int lr_activation_backward(lr_activation_id id, double p, const double *z, double *g, size_t n)
{
    switch (id) {
#define LR_ACTIVATION_BACK(ID, nm, prm, trch)                          \
    case LR_ACT_##ID:                                                  \
        for (size_t i = 0; i < n; i++) g[i] *= act_##nm##_d(z[i], p); \
        break;
        LR_ACTIVATION_LIST(LR_ACTIVATION_BACK)
#undef LR_ACTIVATION_BACK
    default:
        LR_ERRORF(LR_EINVAL, "lr_activation_backward: no activation %d (%d known)", (int)id, LR_ACT_COUNT);
    }
    return LR_OK;
}
