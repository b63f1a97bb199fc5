/* The bounds lrlab knows, one line each, in the order `lrlab list` shows them.
 *
 * This list is the only place that names them: the registry array and its externs
 * (registry.c), the words bounds.names accepts (lr_bound_name_at) and `lrlab list` all
 * follow from it.  A new bound is its file (or an entry in its theorem's file) plus one
 * line here; LR_BOUND(id) refers to the object `lr_bound_<id>`, whose .name must be "id"
 * (tests/test_bounds.c checks it). */
LR_BOUND(thm1a)
LR_BOUND(thm1b)
LR_BOUND(thm1c)
LR_BOUND(thm1d)
LR_BOUND(thm2a)
LR_BOUND(thm2a_p)
LR_BOUND(thm2b)
LR_BOUND(thm2c)
LR_BOUND(thm3)
LR_BOUND(alds_lower)
LR_BOUND(alds_l2)
LR_BOUND(alds_sqrtk)
LR_BOUND(lq_l1)
LR_BOUND(lq_l2)
LR_BOUND(lq_degrade)
