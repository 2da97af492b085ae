/*
 * span.h - a request record as the exporter thread sees it once it has given
 * it identity (trace and span ids), a route and a sampling decision.
 */
#ifndef FO_SPAN_H
#define FO_SPAN_H

#include <stdint.h>

#include "../preload/record.h"

struct fo_span {
    struct fo_record rec;
    uint64_t start_unix_ns;
    uint64_t end_unix_ns;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8]; /* all zero when there is no parent */
    uint8_t has_parent;
    uint8_t trace_flags;       /* W3C flags: 0x01 sampled */
    uint8_t parent_remote;     /* the parent came from a traceparent header */
    const char *route;         /* static string, or NULL when not known */
    uint16_t path_len;         /* length of the path part of rec.http.target */
};

#endif
