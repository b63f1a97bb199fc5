/* The element-wise activations of the forward pass (src/nn/net.c), one registry.
 *
 * LR_ACTIVATION_LIST is the single source: the ids, the table of entries (name as written
 * in a dump's `post` attribute, parameter, scalar function, in-place kernel), the name
 * lookup, the dispatch and the list of known names all follow from it.  To add an
 * activation: one X(...) line here and its scalar function in activation.c.
 *
 * Each entry's formula is PyTorch's (torch.nn.<module>, tools/dump_torch.py writes the
 * names):
 *   relu           max(x, 0)                                          nn.ReLU
 *   leaky_relu(a)  x if x >= 0 else a x (a: negative_slope)           nn.LeakyReLU(a)
 *   tanh           tanh(x)                                            nn.Tanh
 *   sigmoid        1 / (1 + exp(-x))                                  nn.Sigmoid
 *   gelu           x Phi(x) = x (1 + erf(x / sqrt 2)) / 2             nn.GELU()
 *   gelu_tanh      x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2    nn.GELU(approximate='tanh')
 * (both GELUs evaluated in forms that keep their left tails: erfc, and the logistic). */
#ifndef LR_NN_ACTIVATION_H
#define LR_NN_ACTIVATION_H

#include <stddef.h>

/* X(ID, name, parameter name or NULL, torch module) */
#define LR_ACTIVATION_LIST(X)                                              \
    X(RELU, relu, NULL, "nn.ReLU")                                         \
    X(LEAKY_RELU, leaky_relu, "negative_slope", "nn.LeakyReLU")            \
    X(TANH, tanh, NULL, "nn.Tanh")                                         \
    X(SIGMOID, sigmoid, NULL, "nn.Sigmoid")                                \
    X(GELU, gelu, NULL, "nn.GELU")                                         \
    X(GELU_TANH, gelu_tanh, NULL, "nn.GELU(approximate='tanh')")

typedef enum {
#define LR_ACTIVATION_ID(ID, name, param, torch) LR_ACT_##ID,
    LR_ACTIVATION_LIST(LR_ACTIVATION_ID)
#undef LR_ACTIVATION_ID
    LR_ACT_COUNT
} lr_activation_id;

typedef struct lr_activation {
    const char *name;  /* as written in a dump's `post` attribute */
    const char *param; /* the name of its one real parameter, written name(p), or NULL */
    const char *torch; /* the PyTorch module */
    double (*fn)(double x, double p); /* the scalar function (p: the parameter, else 0) */
    double (*dfn)(double x, double p); /* its derivative in x (training, src/nn/train.c) */
} lr_activation;

/* The entry of id (id < LR_ACT_COUNT). */
const lr_activation *lr_activation_get(lr_activation_id id);

/* The id of the activation named by the first len characters of name, or -1. */
int lr_activation_find(const char *name, size_t len);

/* The known names as "relu, leaky_relu(negative_slope), tanh, ..." (for messages).
 * Returns buf. */
const char *lr_activation_names(char *buf, size_t size);

/* v[i] = f(v[i], p) for i < n; LR_EINVAL for an id outside the registry. */
int lr_activation_apply(lr_activation_id id, double p, double *v, size_t n);

/* g[i] *= f'(z[i], p) for i < n: the backward pass through the activation at the
 * pre-activations z; LR_EINVAL for an id outside the registry. */
int lr_activation_backward(lr_activation_id id, double p, const double *z, double *g, size_t n);

#endif
