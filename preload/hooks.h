/*
 * hooks.h - what every interposed function needs: the export attribute and
 * the guard that resolves the real functions when a hook runs before our
 * constructor (another library's constructor may read or write first).
 */
#ifndef FO_HOOKS_H
#define FO_HOOKS_H

#include "conn.h"
#include "real.h"

#define FO_EXPORT __attribute__((visibility("default")))

/* A prototype for every hook, some of which (the fortified __*_chk) no
 * public header declares. */
#define FO_DECLARE(ret, name, params) ret name params;
FO_REAL_FUNCS(FO_DECLARE)
#undef FO_DECLARE

#define FO_ENSURE_REAL(name)                                                   \
    do {                                                                       \
        if (__builtin_expect(fo_real.name == NULL, 0))                         \
            fo_real_init();                                                    \
    } while (0)

#endif
