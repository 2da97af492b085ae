/*
 * utf8.h - UTF-8 validity, shared by the Feast body scanner (names cut at a
 * fixed length) and the exporters (OTLP and Prometheus both reject invalid
 * UTF-8, a whole request or a whole scrape at a time).
 *
 * No allocation, no locale: safe on the host's threads.
 */
#ifndef FO_UTF8_H
#define FO_UTF8_H

#include <stddef.h>

/* The replacement character U+FFFD in UTF-8, and its length. */
#define FO_UTF8_REPLACEMENT "\xef\xbf\xbd"
#define FO_UTF8_REPLACEMENT_LEN 3

/*
 * Length of the valid UTF-8 sequence at s[0..n) (n > 0), or 0 when s[0]
 * starts none: a stray continuation byte, an overlong form, a surrogate, a
 * code point past U+10FFFF, or a sequence cut short by n. NUL counts as
 * invalid (protobuf-c strings and our label values end at the first NUL).
 */
size_t fo_utf8_seq(const unsigned char *s, size_t n);

/*
 * How many bytes s[0..n) starts with that are ASCII and not NUL (0x01 to
 * 0x7f), each valid UTF-8 on its own: what needs no repair. Eight at a time.
 */
size_t fo_utf8_ascii_prefix(const char *s, size_t n);

/*
 * The length of s[0..n) without a multi-byte character that the end cuts
 * short (a lead byte with fewer continuation bytes than it announces).
 * Used where a name was truncated at a byte count.
 */
size_t fo_utf8_cut(const char *s, size_t n);

/*
 * Writes s[0..n) as valid UTF-8 into out (room for cap bytes, no NUL
 * added): each byte that starts no valid sequence becomes U+FFFD. Stops
 * before a character that would not fit, and then sets *cut (when not
 * NULL) to 1. out and s must not overlap. Returns the bytes written.
 */
size_t fo_utf8_clean(char *out, size_t cap, const char *s, size_t n, int *cut);

#endif
