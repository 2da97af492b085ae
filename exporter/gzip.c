/* gzip.c - zlib wrappers for request compression (see gzip.h). */
#include "gzip.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

int fo_gzip(const void *in, size_t len, struct fo_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 window bits + 16: a gzip header and trailer instead of zlib's. */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    size_t bound = deflateBound(&z, (uLong)len);
    fo_buf_reset(out);
    if (len > UINT32_MAX || fo_buf_reserve(out, bound) != 0) {
        deflateEnd(&z);
        return -ENOMEM;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out->data;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    out->len = rc == Z_STREAM_END ? z.total_out : 0;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -EIO;
}

int fo_gunzip(const void *in, size_t len, struct fo_buf *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 + 32: detect gzip or zlib headers. */
    if (inflateInit2(&z, 15 + 32) != Z_OK)
        return -ENOMEM;
    fo_buf_reset(out);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    int rc = Z_OK;
    while (rc == Z_OK) {
        if (out->len == cap) {
            inflateEnd(&z);
            return -E2BIG;
        }
        size_t room = cap - out->len < 16384 ? cap - out->len : 16384;
        if (fo_buf_reserve(out, room) != 0) {
            inflateEnd(&z);
            return -ENOMEM;
        }
        z.next_out = out->data + out->len;
        z.avail_out = (uInt)room;
        rc = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (rc == Z_BUF_ERROR && z.avail_in == 0)
            break;
    }
    inflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -EPROTO;
}
