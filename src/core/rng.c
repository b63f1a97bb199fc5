#include "rng.h"

#include <string.h>

/* MurmurHash3's finaliser: a bijection of 32-bit integers with good avalanche. */
static uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* SplitMix64 step, to fold a 64-bit run seed into 32 bits. */
static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint32_t lr_rng_unit_seed(uint64_t seed, uint64_t point, uint64_t trial)
{
    uint32_t key = (uint32_t)((point << LR_RNG_TRIAL_BITS) | (trial & (LR_RNG_MAX_TRIALS - 1)));
    uint32_t salt = (uint32_t)splitmix64(seed);
    uint32_t s = fmix32(key ^ salt);
    return s ? s : 0x6c8e9cf5u; /* GSL maps seed 0 to its default seed; avoid sharing it */
}

gsl_rng *lr_rng_alloc(void) { return gsl_rng_alloc(gsl_rng_mt19937); }

gsl_rng *lr_rng_alloc_kind(const char *kind)
{
    if (!kind || !strcmp(kind, "mt19937")) return gsl_rng_alloc(gsl_rng_mt19937);
    if (!strcmp(kind, "taus2")) return gsl_rng_alloc(gsl_rng_taus2);
    return NULL;
}

void lr_rng_seed_unit(gsl_rng *r, uint64_t seed, uint64_t point, uint64_t trial)
{
    gsl_rng_set(r, lr_rng_unit_seed(seed, point, trial));
}
