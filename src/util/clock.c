/* The wall and monotonic clocks (util/clock.h). */
#include "util/clock.h"

#include <time.h>

static struct timespec get(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts;
}

int64_t eb_now_ms(void)
{
    struct timespec ts = get(CLOCK_REALTIME);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t eb_mono_ms(void)
{
    struct timespec ts = get(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double eb_mono_ms_frac(void)
{
    struct timespec ts = get(CLOCK_MONOTONIC);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}
