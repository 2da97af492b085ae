/*
 * real.c - resolves the C library functions we interpose, once, with
 * dlsym(RTLD_NEXT), so wrappers and the exporter thread can call them.
 */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>

struct fo_real_table fo_real;

static _Atomic int resolved;

/* Stands in for a symbol this C library lacks: fail like an absent syscall. */
static long fo_enosys(void)
{
    errno = ENOSYS;
    return -1;
}

int fo_real_init(void)
{
    if (atomic_load_explicit(&resolved, memory_order_acquire))
        return 0;
    int rc = 0;
    void *p;
    /* Two threads may race here; both store the same values. */
#define FO_RESOLVE(ret, name, params)                                          \
    p = dlsym(RTLD_NEXT, #name);                                               \
    if (p == NULL) {                                                           \
        p = (void *)fo_enosys;                                                 \
        rc = -ENOSYS;                                                          \
    }                                                                          \
    *(void **)&fo_real.name = p;
    FO_REAL_FUNCS(FO_RESOLVE)
#undef FO_RESOLVE
    atomic_store_explicit(&resolved, 1, memory_order_release);
    return rc;
}
