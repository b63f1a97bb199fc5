/* Wall-clock time for the timings lrlab records (unit, fit and training seconds): the
 * monotonic clock, so that a change of the system time never makes a duration negative. */
#ifndef LR_CORE_CLOCK_H
#define LR_CORE_CLOCK_H

#include <time.h>

/* Seconds since an arbitrary fixed point; differences of two calls are durations. */
static inline double lr_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
