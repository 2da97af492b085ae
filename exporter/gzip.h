/*
 * gzip.h - gzip compression of encoded requests (OTEL_EXPORTER_OTLP_COMPRESSION),
 * with zlib, for both transports.
 */
#ifndef FO_GZIP_H
#define FO_GZIP_H

#include <stddef.h>

#include "buf.h"

/* Replaces out's contents with the gzip member of in[0..len). Returns 0,
 * -ENOMEM, or -EIO when zlib fails. */
int fo_gzip(const void *in, size_t len, struct fo_buf *out);

/* Inflates a gzip or zlib stream into out (at most cap bytes). Returns 0,
 * -E2BIG past cap, or -EPROTO for a corrupt stream. */
int fo_gunzip(const void *in, size_t len, struct fo_buf *out, size_t cap);

#endif
