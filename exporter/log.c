/* log.c - rate-limited one-line diagnostics on stderr (see log.h). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../preload/real.h"

int fo_log_level = FO_LOG_ERROR;

#define CAUSE_SLOTS 64

/* Cause pointer and the last time (s) it was logged; a lossy open hash. */
static struct {
    _Atomic(const char *) cause;
    _Atomic long last_s;
} slots[CAUSE_SLOTS];

static int should_log(const char *cause)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long now = (long)ts.tv_sec;
    size_t h = ((uintptr_t)cause >> 3) % CAUSE_SLOTS;
    for (size_t i = 0; i < CAUSE_SLOTS; i++) {
        size_t j = (h + i) % CAUSE_SLOTS;
        const char *c = atomic_load(&slots[j].cause);
        if (c == NULL) {
            const char *expect = NULL;
            if (!atomic_compare_exchange_strong(&slots[j].cause, &expect, cause) &&
                expect != cause)
                continue;
            atomic_store(&slots[j].last_s, now);
            return 1;
        }
        if (c == cause) {
            long last = atomic_load(&slots[j].last_s);
            if (now - last < 60)
                return 0;
            return atomic_compare_exchange_strong(&slots[j].last_s, &last, now);
        }
    }
    return 1; /* table full: better a repeated line than a lost one */
}

const char fo_log_loss[] = "loss";

void fo_log(int level, const char *cause, const char *fmt, ...)
{
    if (level > fo_log_level || !should_log(cause))
        return;
    int saved = errno;
    char buf[560];
    size_t n = sizeof "feast-otel: " - 1;
    memcpy(buf, "feast-otel: ", n);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + n, 512, fmt, ap);
    va_end(ap);
    if (k > 0)
        n += (size_t)k < 511 ? (size_t)k : 511;
    buf[n++] = '\n';
    if (fo_real.write == NULL)
        fo_real_init();
    ssize_t w = fo_real.write(2, buf, n);
    (void)w;
    errno = saved;
}
