/* utf8.c - UTF-8 validity and repair (see utf8.h). */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

size_t fo_utf8_ascii_prefix(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    /* A byte of a word that is NUL or has its high bit set sets its high
     * bit in w | (w - 0x01...). */
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    for (uint64_t w; i + 8 <= n; i += 8) {
        memcpy(&w, u + i, 8);
        if (((w | (w - ones)) & highs) != 0)
            break;
    }
    while (i < n && (unsigned char)(u[i] - 1) < 0x7f) /* 0x01..0x7f */
        i++;
    return i;
}

size_t fo_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c >= 0x01 && c <= 0x7f)
        return 1;
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                                            : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    /* The second byte's range excludes overlong forms, surrogates and
     * code points past U+10FFFF. */
    unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

size_t fo_utf8_cut(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    /* The last lead byte is at most 3 continuation bytes back. */
    size_t back = 0;
    while (back < 3 && back < n && (u[n - 1 - back] & 0xc0) == 0x80)
        back++;
    if (back == n)
        return n; /* only continuation bytes: nothing to cut, clean repairs them */
    unsigned c = u[n - 1 - back];
    size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return want > back + 1 ? n - 1 - back : n;
}

size_t fo_utf8_clean(char *out, size_t cap, const char *s, size_t n, int *cut)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = fo_utf8_seq(u + i, n - i);
        const char *from = k != 0 ? s + i : FO_UTF8_REPLACEMENT;
        size_t len = k != 0 ? k : FO_UTF8_REPLACEMENT_LEN;
        if (o + len > cap) {
            if (cut != NULL)
                *cut = 1;
            break;
        }
        memcpy(out + o, from, len);
        o += len;
        i += k != 0 ? k : 1;
    }
    return o;
}
