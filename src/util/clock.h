/* The two clocks of ehrbridge, in milliseconds: the wall clock for what is recorded (push_log
 * times, ids, the replay window) and the monotonic clock for durations and deadlines. */
#ifndef EB_CLOCK_H
#define EB_CLOCK_H

#include <stdint.h>

/* Unix time in milliseconds (CLOCK_REALTIME). */
int64_t eb_now_ms(void);

/* Monotonic milliseconds (CLOCK_MONOTONIC): for deadlines and durations only. */
int64_t eb_mono_ms(void);

/* As eb_mono_ms, with the fraction: for durations shorter than a millisecond. */
double eb_mono_ms_frac(void);

#endif
