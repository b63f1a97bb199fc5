/* Random streams: one GSL generator per unit of work (sweep point x trial).
 *
 * A unit's stream depends only on (seed, point, trial), never on the thread that runs it
 * or on the order of execution, so results are identical for any thread count and a
 * resumed run recomputes exactly the units it lacked.  GSL's generators take a 32-bit
 * seed, so the unit key packs the point into the high LR_RNG_POINT_BITS bits and the
 * trial into the low LR_RNG_TRIAL_BITS bits (injective within those limits, which the
 * runner enforces) and mixes it with the run seed through a bijection of 32-bit integers:
 * distinct units of one run always get distinct generator seeds, and adding trials to a
 * config leaves the existing trials unchanged. */
#ifndef LR_CORE_RNG_H
#define LR_CORE_RNG_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

#define LR_RNG_TRIAL_BITS 17
#define LR_RNG_POINT_BITS 15
#define LR_RNG_MAX_TRIALS (1ul << LR_RNG_TRIAL_BITS)
#define LR_RNG_MAX_POINTS (1ul << LR_RNG_POINT_BITS)

/* The default generator type of every stream (MT19937). */
gsl_rng *lr_rng_alloc(void);
/* A generator of the config's `rng` kind: "mt19937" (the default, also for NULL;
 * Matsumoto and Nishimura 1998) or "taus2" (L'Ecuyer's maximally equidistributed combined
 * Tausworthe, period 2^88: GSL's fastest generator of simulation quality, about 2.5x
 * MT19937 per Gaussian draw on the development machine); NULL for any other name. */
gsl_rng *lr_rng_alloc_kind(const char *kind);
/* Seed r for unit (point, trial) of a run with this seed. */
void lr_rng_seed_unit(gsl_rng *r, uint64_t seed, uint64_t point, uint64_t trial);
uint32_t lr_rng_unit_seed(uint64_t seed, uint64_t point, uint64_t trial);

#endif
