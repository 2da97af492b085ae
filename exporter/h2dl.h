/*
 * h2dl.h - nghttp2, loaded on first use with dlopen(RTLD_LOCAL).
 *
 * Debian ships no position-independent libnghttp2.a, so the library cannot
 * carry its own copy. Loading libnghttp2.so.14 privately, only when a
 * feature needs it, keeps its symbols out of the host's global scope (ours
 * never interpose the host's, and the host's never replace ours) and costs
 * nothing to processes that export over OTLP/HTTP.
 */
#ifndef FO_H2DL_H
#define FO_H2DL_H

#include <nghttp2/nghttp2.h>

#define FO_NGHTTP2_FUNCS(X)                                                                  \
    X(nghttp2_session_callbacks_new)                                                         \
    X(nghttp2_session_callbacks_del)                                                         \
    X(nghttp2_session_callbacks_set_send_callback)                                           \
    X(nghttp2_session_callbacks_set_recv_callback)                                           \
    X(nghttp2_session_callbacks_set_on_header_callback)                                      \
    X(nghttp2_session_callbacks_set_on_data_chunk_recv_callback)                             \
    X(nghttp2_session_callbacks_set_on_stream_close_callback)                                \
    X(nghttp2_session_callbacks_set_on_frame_recv_callback)                                  \
    X(nghttp2_session_client_new)                                                            \
    X(nghttp2_session_del)                                                                   \
    X(nghttp2_submit_settings)                                                               \
    X(nghttp2_submit_request)                                                                \
    X(nghttp2_session_send)                                                                  \
    X(nghttp2_session_recv)                                                                  \
    X(nghttp2_session_want_read)                                                             \
    X(nghttp2_session_want_write)

struct fo_h2 {
#define FO_H2_PTR(name) __typeof__(name) *name;
    FO_NGHTTP2_FUNCS(FO_H2_PTR)
#undef FO_H2_PTR
};

extern struct fo_h2 fo_h2;

/*
 * Loads libnghttp2.so.14 and resolves every function once; later calls
 * return the first result. Returns 0, or -ENOENT when the library or one of
 * its functions is missing. Exporter thread only.
 */
int fo_h2dl_load(void);

#endif
