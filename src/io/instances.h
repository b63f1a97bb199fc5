/* `lrlab run --save-instances FILE`: the matrices each unit generated, for other programs
 * (bench/ref_numpy.py) to recompute the same trials on exactly the same data.
 *
 * Layout (HDF5, schema "lrlab.instances", version 2: string attributes variable-length
 * UTF-8, as in results files of schema version 3; version 1 wrote them fixed-length):
 *   /                  attributes: schema, schema_version, experiment, config (the resolved
 *                      config text), seed, trials, points, layout (this description)
 *   /p<point>/t<trial> one group per unit (point and trial zero-padded to 5 and 6 digits:
 *                      /p00003/t000007), attributes point, trial and whatever the
 *                      experiment records (recovery: m, N0, N1, r, sigma, model, noise,
 *                      iid_noise, ranks, C, t, tol, rank_rtol, route)
 *      X  (m x N0)     the calibration inputs X~
 *      M  (N0 x N1)    the true weights M*
 *      G  (m x N1)     the pre-activation noise G (model "weight": G = X~ E)
 *      W  (N0 x N1)    the layer that data-agnostic compression truncates
 *                      (model "preact": W = X~^+ Y with Y = X~ M* + G; "weight": M* + E)
 * Datasets are float64 in the natural (row-major) orientation: h5py's f["p00000/t000000/X"]
 * is m x N0.  Rows of X and G are written block by block as a streamed trial produces
 * them, so saving never needs more than one block in memory.  Saving is for checking,
 * not for speed: it transposes through a temporary buffer and serialises threads. */
#ifndef LR_IO_INSTANCES_H
#define LR_IO_INSTANCES_H

#include <stddef.h>

#include "core/mat.h"

typedef struct lr_instances lr_instances;

/* Create FILE (refuses to overwrite unless force).  attrs: root attributes. */
int lr_instances_open(lr_instances **out, const char *path, int force, const char *experiment,
                      const char *config_text, unsigned long long seed, size_t trials,
                      size_t points);
int lr_instances_close(lr_instances *ins);

/* Rows [row0, row0 + A.rows) of the total_rows x A.cols matrix `name` of unit
 * (point, trial).  Thread-safe (serialised). */
int lr_instances_put(lr_instances *ins, size_t point, size_t trial, const char *name, lr_mat A,
                     size_t row0, size_t total_rows);
/* Attributes of a unit's group: a number, a list of numbers, or a string. */
int lr_instances_attr(lr_instances *ins, size_t point, size_t trial, const char *name,
                      const double *v, size_t n);
int lr_instances_attr_str(lr_instances *ins, size_t point, size_t trial, const char *name,
                          const char *value);

#endif
