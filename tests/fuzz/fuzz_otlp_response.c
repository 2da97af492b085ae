/*
 * fuzz_otlp_response.c - libFuzzer target for what the exporter reads from a
 * collector: Retry-After values, base64 -bin metadata, the RetryInfo inside
 * a google.rpc.Status, and the partial success of an Export response. The
 * first byte picks the parser; the rest is its input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t which = data[0] % 4;
    data++;
    size--;
    switch (which) {
    case 0: {
        char s[256];
        size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
        memcpy(s, data, n);
        s[n] = '\0';
        int64_t ms = fo_retry_after_parse(s, 1700000000);
        if (ms < -1)
            abort();
        break;
    }
    case 1: {
        uint8_t out[1024];
        ssize_t n = fo_retry_base64_decode((const char *)data, size, out, sizeof out);
        if (n > (ssize_t)sizeof out || (n >= 0 && (size_t)n > size))
            abort();
        if (n > 0 && fo_retry_info_ms(out, (size_t)n) < -1)
            abort();
        break;
    }
    case 2:
        if (fo_retry_info_ms(data, size) < -1)
            abort();
        break;
    default: {
        int64_t rejected;
        char msg[64];
        int rc = fo_retry_partial_success(data, size, &rejected, msg, sizeof msg);
        if (rc < -1 || rc > 1 || strlen(msg) >= sizeof msg)
            abort();
        for (const char *p = msg; *p; p++)
            if (*p < 0x20 || *p > 0x7e)
                abort();
        break;
    }
    }
    return 0;
}
