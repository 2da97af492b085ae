/*
 * feast_body.h - Feast's request statistics, read from JSON bodies as they
 * stream through the host's read and write calls.
 *
 * One scanner follows one exchange: the request body of
 * POST /get-online-features, /push or /materialize*, and for
 * /get-online-features the response body too. Bytes arrive in any split;
 * the caller passes only body bytes (already de-chunked). No allocation, no
 * recursion, bounded work per byte, all state in the struct. Past the byte
 * budget, or on anything that is not the JSON we expect, the statistics not
 * yet final are reported unknown: never guessed. Only counts and names leave
 * the scanner; no value does.
 */
#ifndef FO_FEAST_BODY_H
#define FO_FEAST_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define FO_FEAST_DEPTH_MAX 24
#define FO_FEAST_HASHES 128 /* distinct feature views counted exactly up to this */

/* An incremental JSON reader: where we are, and the string being kept. */
struct fo_json {
    uint8_t state;            /* what the next byte may be */
    uint8_t depth;
    uint8_t error;            /* malformed, too deep, or over budget: give up */
    uint8_t done;             /* the top-level value is complete */
    uint8_t esc;              /* inside a string: 1 after '\', 2..5 in \uXXXX */
    uint8_t keep;             /* the current string is kept in buf */
    uint8_t buf_len;
    uint8_t truncated;
    uint16_t ucode;           /* \uXXXX being read */
    uint16_t hi_surrogate;    /* pending high surrogate, 0 when none */
    uint8_t is_key;           /* the current string is an object key */
    uint8_t type[FO_FEAST_DEPTH_MAX]; /* 'o' object, 'a' array */
    uint8_t key[FO_FEAST_DEPTH_MAX];  /* known key of the value at this depth */
    uint32_t idx[FO_FEAST_DEPTH_MAX]; /* elements (arrays) or keys (objects) seen */
    char buf[FO_FEAST_NAME_MAX + 8];
};

struct fo_feast_body {
    struct fo_feast_stats stats;
    struct fo_json json;
    uint32_t budget;          /* bytes per body */
    uint32_t seen;            /* bytes of the current body */
    uint8_t response;         /* scanning the response now */
    uint8_t req_ok;           /* the request body was read whole and well-formed */
    uint16_t n_hashes;
    uint8_t views_over;       /* more distinct views than hashes[] holds */
    uint16_t n_entity_keys;   /* entity key columns lead the response */
    uint8_t feature_view[FO_FEAST_FEATURES_MAX]; /* view slot per requested feature */
    uint32_t hashes[FO_FEAST_HASHES];            /* distinct view names (FNV-1a) */
};

/* The kind of body a route has, or FO_FEAST_BODY_NONE. */
uint8_t fo_feast_body_kind(const char *route);

/* Starts on a new exchange of that kind with a budget in bytes per body. */
void fo_feast_body_init(struct fo_feast_body *b, uint8_t kind, uint32_t budget);

/* Request body bytes, in order, in any split. */
void fo_feast_body_request(struct fo_feast_body *b, const char *data, size_t len);

/* The request body ended (complete = all of it was seen). */
void fo_feast_body_request_end(struct fo_feast_body *b, int complete);

/* Response body bytes (for /get-online-features only; others are ignored). */
void fo_feast_body_response(struct fo_feast_body *b, const char *data, size_t len);

/* The response body ended; b->stats is final. */
void fo_feast_body_response_end(struct fo_feast_body *b, int complete);

/*
 * A response can be scanned on another thread (the exporter's): what the
 * response scan takes from the request's, beside the statistics so far.
 */
struct fo_feast_resume {
    uint32_t budget;
    uint16_t n_entity_keys;
    uint8_t feature_view[FO_FEAST_FEATURES_MAX];
};

/* True when b waits for a response body to scan and has seen none of it. */
int fo_feast_body_response_fresh(const struct fo_feast_body *b);

/* Saves what a fresh response scan of b needs besides b->stats. */
void fo_feast_body_save(const struct fo_feast_body *b, struct fo_feast_resume *r);

/* Makes b the fresh response scan that was saved as r, with statistics st. */
void fo_feast_body_resume(struct fo_feast_body *b, const struct fo_feast_stats *st,
                          const struct fo_feast_resume *r);

#endif
