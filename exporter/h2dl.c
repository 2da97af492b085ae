/* h2dl.c - private dlopen of nghttp2 (see h2dl.h). */
#include "h2dl.h"

#include <dlfcn.h>
#include <errno.h>

struct fo_h2 fo_h2;

int fo_h2dl_load(void)
{
    static int result = 1; /* 1: not tried yet */
    if (result != 1)
        return result;
    void *h = dlopen("libnghttp2.so.14", RTLD_NOW | RTLD_LOCAL);
    result = h != NULL ? 0 : -ENOENT;
#define FO_H2_LOAD(name)                                                                     \
    if (result == 0 && (*(void **)&fo_h2.name = dlsym(h, #name)) == NULL)                    \
        result = -ENOENT;
    FO_NGHTTP2_FUNCS(FO_H2_LOAD)
#undef FO_H2_LOAD
    return result;
}
