/* The experiment kinds lrlab runs, one line each.
 *
 * This list is the only place that names them: the registry array and its externs
 * (src/run/runner.c), the words the config key `experiment` accepts
 * (lr_experiment_name_at), `lrlab list`, and the dispatch of `lrlab report` and `lrlab
 * plot` all follow from it.  A new kind is its file(s) under experiments/ plus one line
 * here; LR_EXPERIMENT(id) refers to the object `lr_experiment_<id>`, whose .name must be
 * "id" (tests/test_config.c checks it). */
LR_EXPERIMENT(recovery)
LR_EXPERIMENT(real_layers)
LR_EXPERIMENT(alds)
LR_EXPERIMENT(ntk)
LR_EXPERIMENT(lq)
LR_EXPERIMENT(lod)
