/* Gaussian draws for experiment lod (lod.h says why they live apart from lod.c). */
#include <gsl/gsl_randist.h>

#include "lod.h"

void lr_lod_gaussian(gsl_rng *g, double *a, size_t n, double sd)
{
    for (size_t i = 0; i < n; i++) a[i] = gsl_ran_gaussian(g, sd);
}

double lr_lod_gaussian_one(gsl_rng *g, double sd) { return gsl_ran_gaussian(g, sd); }
