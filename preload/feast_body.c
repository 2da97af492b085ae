/*
 * feast_body.c - Feast request statistics from JSON bodies (see feast_body.h).
 *
 * DESIGN
 * A single-pass JSON reader keeps a stack of open containers (type, the
 * known key the current member sits under, and a count of members) and
 * nothing else. It goes byte by byte between tokens; the plain part of a
 * string (up to a quote or a backslash, 16 bytes at a time) and the rest of
 * a number or literal are each taken in one step. Values are skipped,
 * except the few strings we need (feature names up to their ':' for the
 * view, the feature service, the push source and mode, materialized views,
 * statuses), which are decoded into a small buffer and truncated. Events
 * are recognised by their path:
 *   request  {"features": [S]}            a feature (its view: S before ':')
 *            {"feature_service": S}       the service
 *            {"entities": {k: [x, ...]}}  entity rows = the longest array
 *   response {"results": [{"statuses": [S]}]}  column = index in results
 *   push     {"push_source_name": S, "to": S}
 *   material {"feature_views": [S]}
 * The response's columns are the entity keys first, then the requested
 * features in order, so a status is attributed to the view of feature
 * (column - entity keys). Distinct views are counted with a small open-
 * addressing set of name hashes; past its size the count is unknown.
 * Names leave the scanner as valid UTF-8 (label values must be): a name
 * cut at FO_FEAST_NAME_MAX loses the character the cut split, invalid
 * bytes and lone surrogates become U+FFFD.
 */
#include "feast_body.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "utf8.h"

enum { S_VALUE, S_ARR_FIRST, S_KEY_FIRST, S_KEY, S_COLON, S_AFTER, S_STRING, S_SCALAR };

enum {
    K_OTHER,
    K_FEATURES,
    K_FEATURE_SERVICE,
    K_ENTITIES,
    K_RESULTS,
    K_STATUSES,
    K_PUSH_SOURCE,
    K_TO,
    K_FEATURE_VIEWS,
};

uint8_t fo_feast_body_kind(const char *route)
{
    if (route == NULL)
        return FO_FEAST_BODY_NONE;
    if (strcmp(route, "/get-online-features") == 0)
        return FO_FEAST_BODY_GOF;
    if (strcmp(route, "/push") == 0)
        return FO_FEAST_BODY_PUSH;
    if (strcmp(route, "/materialize") == 0 || strcmp(route, "/materialize-incremental") == 0)
        return FO_FEAST_BODY_MATERIALIZE;
    return FO_FEAST_BODY_NONE;
}

static void json_reset(struct fo_json *j)
{
    j->state = S_VALUE;
    j->depth = 0;
    j->error = 0;
    j->done = 0;
    j->esc = 0;
    j->keep = 0;
    j->buf_len = 0;
    j->hi_surrogate = 0;
}

void fo_feast_body_init(struct fo_feast_body *b, uint8_t kind, uint32_t budget)
{
    memset(&b->stats, 0, sizeof b->stats);
    b->stats.kind = kind;
    json_reset(&b->json);
    b->budget = budget;
    b->seen = 0;
    b->response = 0;
    b->req_ok = 0;
    b->n_hashes = 0;
    b->views_over = 0;
    b->n_entity_keys = 0;
    memset(b->hashes, 0, sizeof b->hashes);
}

/* --- events */

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h | 1; /* 0 marks an empty bucket */
}

/* Counts a view name once; returns its slot in stats.views, or
 * FO_FEAST_VIEWS_MAX when it is not among the names kept. */
static uint8_t add_view(struct fo_feast_body *b, const char *s, size_t n, int truncated)
{
    struct fo_feast_stats *st = &b->stats;
    for (uint8_t i = 0; i < st->n_views; i++)
        if (st->views[i].len == n && st->views[i].truncated == truncated &&
            memcmp(st->views[i].s, s, n) == 0)
            return i;
    uint32_t h = fnv1a(s, n) ^ (uint32_t)truncated;
    h |= 1;
    int added = 0;
    for (uint32_t k = 0; k < FO_FEAST_HASHES && !added; k++) {
        uint32_t *slot = &b->hashes[(h + k) % FO_FEAST_HASHES];
        if (*slot == h)
            return FO_FEAST_VIEWS_MAX; /* seen, not kept */
        if (*slot == 0) {
            *slot = h;
            b->n_hashes++;
            added = 1;
        }
    }
    /* A new name and no room: from here on the count would be a guess. */
    if (!added)
        b->views_over = 1;
    st->view_count = b->n_hashes;
    if (st->n_views == FO_FEAST_VIEWS_MAX)
        return FO_FEAST_VIEWS_MAX;
    struct fo_feast_name *v = &st->views[st->n_views];
    v->len = (uint8_t)n;
    v->truncated = (uint8_t)truncated;
    memcpy(v->s, s, n);
    return st->n_views++;
}

static void set_name(struct fo_feast_name *dst, const struct fo_json *j)
{
    dst->len = j->buf_len;
    dst->truncated = j->truncated;
    memcpy(dst->s, j->buf, j->buf_len);
}

/* Is the kept string the literal lit (n bytes)? memcmp of a constant size
 * is inlined. */
#define BUF_IS(j, lit) ((j)->buf_len == sizeof lit - 1 && !(j)->truncated && \
                        memcmp((j)->buf, lit, sizeof lit - 1) == 0)

/* The status a kept string names, or -1. */
static int status_of(const struct fo_json *j)
{
    switch (j->buf_len) {
    case 7:
        if (BUF_IS(j, "PRESENT"))
            return FO_FEAST_PRESENT;
        if (BUF_IS(j, "INVALID"))
            return FO_FEAST_INVALID;
        break;
    case 9:
        if (BUF_IS(j, "NOT_FOUND"))
            return FO_FEAST_NOT_FOUND;
        break;
    case 10:
        if (BUF_IS(j, "NULL_VALUE"))
            return FO_FEAST_NULL_VALUE;
        break;
    case 15:
        if (BUF_IS(j, "OUTSIDE_MAX_AGE"))
            return FO_FEAST_OUTSIDE_MAX_AGE;
        break;
    }
    return -1;
}

/* The known key a kept string names, or K_OTHER. */
static uint8_t key_of(const struct fo_json *j)
{
    switch (j->buf_len) {
    case 2:
        return BUF_IS(j, "to") ? K_TO : K_OTHER;
    case 7:
        return BUF_IS(j, "results") ? K_RESULTS : K_OTHER;
    case 8:
        if (BUF_IS(j, "statuses"))
            return K_STATUSES;
        if (BUF_IS(j, "features"))
            return K_FEATURES;
        if (BUF_IS(j, "entities"))
            return K_ENTITIES;
        break;
    case 13:
        return BUF_IS(j, "feature_views") ? K_FEATURE_VIEWS : K_OTHER;
    case 15:
        return BUF_IS(j, "feature_service") ? K_FEATURE_SERVICE : K_OTHER;
    case 16:
        return BUF_IS(j, "push_source_name") ? K_PUSH_SOURCE : K_OTHER;
    }
    return K_OTHER;
}

/* Which string values we keep, by where they are. */
static int wanted(const struct fo_feast_body *b)
{
    const struct fo_json *j = &b->json;
    uint8_t d = j->depth;
    switch (b->stats.kind) {
    case FO_FEAST_BODY_GOF:
        if (b->response)
            return d == 4 && j->type[3] == 'a' && j->key[2] == K_STATUSES &&
                   j->type[1] == 'a' && j->key[0] == K_RESULTS;
        return (d == 2 && j->type[1] == 'a' && j->key[0] == K_FEATURES) ||
               (d == 1 && j->key[0] == K_FEATURE_SERVICE);
    case FO_FEAST_BODY_PUSH:
        return d == 1 && (j->key[0] == K_PUSH_SOURCE || j->key[0] == K_TO);
    case FO_FEAST_BODY_MATERIALIZE:
        return d == 2 && j->type[1] == 'a' && j->key[0] == K_FEATURE_VIEWS;
    default:
        return 0;
    }
}

static void on_status(struct fo_feast_body *b)
{
    const struct fo_json *j = &b->json;
    int status = status_of(j);
    uint32_t column = j->idx[1] - 1;
    if (status < 0 || column < b->n_entity_keys)
        return;
    uint32_t f = column - b->n_entity_keys;
    uint8_t slot = FO_FEAST_VIEWS_MAX;
    if (!(b->stats.known & FO_FEAST_K_SERVICE) && f < FO_FEAST_FEATURES_MAX &&
        f < b->stats.feature_count)
        slot = b->feature_view[f];
    b->stats.status[slot][status]++;
}

/* A kept string value is complete. */
static void on_string(struct fo_feast_body *b)
{
    struct fo_json *j = &b->json;
    struct fo_feast_stats *st = &b->stats;
    if (st->kind == FO_FEAST_BODY_GOF && b->response) {
        on_status(b);
    } else if (st->kind == FO_FEAST_BODY_GOF && j->depth == 2) {
        /* "view:feature": the view is what comes before ':'; a name cut
         * before its ':' is kept as a truncated view name. */
        const char *colon = memchr(j->buf, ':', j->buf_len);
        size_t n = colon != NULL ? (size_t)(colon - j->buf) : j->truncated ? j->buf_len : 0;
        uint8_t slot = add_view(b, j->buf, n, colon == NULL && j->truncated);
        uint32_t f = j->idx[1] - 1;
        if (f < FO_FEAST_FEATURES_MAX)
            b->feature_view[f] = slot;
        st->feature_count = j->idx[1];
    } else if (st->kind == FO_FEAST_BODY_GOF) {
        set_name(&st->name, j);
        st->known |= FO_FEAST_K_SERVICE;
    } else if (st->kind == FO_FEAST_BODY_PUSH && j->key[0] == K_PUSH_SOURCE) {
        set_name(&st->name, j);
    } else if (st->kind == FO_FEAST_BODY_PUSH) {
        if (BUF_IS(j, "offline"))
            st->push_mode = FO_PUSH_OFFLINE;
        else if (BUF_IS(j, "online_and_offline"))
            st->push_mode = FO_PUSH_ONLINE_AND_OFFLINE;
        else if (BUF_IS(j, "online"))
            st->push_mode = FO_PUSH_ONLINE;
        else
            j->error = 1; /* a mode Feast would refuse */
    } else if (st->kind == FO_FEAST_BODY_MATERIALIZE) {
        add_view(b, j->buf, j->buf_len, j->truncated);
    }
}

/* A container closes (depth is that of the container, before the pop). */
static void on_close(struct fo_feast_body *b)
{
    struct fo_json *j = &b->json;
    /* {"entities": {k: [...]}}: the array at depth 3 closes */
    if (b->stats.kind == FO_FEAST_BODY_GOF && !b->response && j->depth == 3 &&
        j->type[2] == 'a' && j->type[1] == 'o' && j->key[0] == K_ENTITIES &&
        j->idx[2] > b->stats.entity_count)
        b->stats.entity_count = j->idx[2];
}

/* --- the reader */

static void keep_byte(struct fo_json *j, char c)
{
    if (j->buf_len < FO_FEAST_NAME_MAX)
        j->buf[j->buf_len++] = c;
    else
        j->truncated = 1;
}

static void keep_utf8(struct fo_json *j, uint32_t cp)
{
    if (cp < 0x80) {
        keep_byte(j, (char)cp);
    } else if (cp < 0x800) {
        keep_byte(j, (char)(0xc0 | cp >> 6));
        keep_byte(j, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        keep_byte(j, (char)(0xe0 | cp >> 12));
        keep_byte(j, (char)(0x80 | ((cp >> 6) & 0x3f)));
        keep_byte(j, (char)(0x80 | (cp & 0x3f)));
    } else {
        keep_byte(j, (char)(0xf0 | cp >> 18));
        keep_byte(j, (char)(0x80 | ((cp >> 12) & 0x3f)));
        keep_byte(j, (char)(0x80 | ((cp >> 6) & 0x3f)));
        keep_byte(j, (char)(0x80 | (cp & 0x3f)));
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A high surrogate not followed by a low one stands for nothing. */
static void lone_surrogate(struct fo_json *j)
{
    if (j->hi_surrogate != 0) {
        j->hi_surrogate = 0;
        keep_utf8(j, 0xfffd);
    }
}

static void escape_byte(struct fo_json *j, char c)
{
    if (j->esc == 1) {
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *p = c != '\0' ? strchr(from, c) : NULL;
        if (c == 'u') {
            j->esc = 2;
            j->ucode = 0;
            return;
        }
        if (p == NULL) {
            j->error = 1;
            return;
        }
        if (j->keep) {
            lone_surrogate(j);
            keep_byte(j, to[p - from]);
        }
        j->esc = 0;
        return;
    }
    int v = hexval(c);
    if (v < 0) {
        j->error = 1;
        return;
    }
    j->ucode = (uint16_t)(j->ucode << 4 | v);
    if (++j->esc < 6)
        return;
    j->esc = 0;
    if (!j->keep)
        return;
    uint32_t cp = j->ucode;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        lone_surrogate(j);
        j->hi_surrogate = (uint16_t)cp;
        return;
    }
    if (cp >= 0xdc00 && cp <= 0xdfff && j->hi_surrogate != 0) {
        cp = 0x10000 + ((uint32_t)(j->hi_surrogate - 0xd800) << 10) + (cp - 0xdc00);
        j->hi_surrogate = 0;
    } else {
        lone_surrogate(j);
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = 0xfffd; /* a lone low surrogate */
    }
    keep_utf8(j, cp);
}

static void push(struct fo_json *j, uint8_t type)
{
    if (j->depth == FO_FEAST_DEPTH_MAX) {
        j->error = 1;
        return;
    }
    j->type[j->depth] = type;
    j->key[j->depth] = K_OTHER;
    j->idx[j->depth] = 0;
    j->depth++;
    j->state = type == 'o' ? S_KEY_FIRST : S_ARR_FIRST;
}

static void after_value(struct fo_json *j)
{
    j->state = S_AFTER;
    if (j->depth == 0)
        j->done = 1;
}

static void pop(struct fo_feast_body *b)
{
    on_close(b);
    b->json.depth--;
    after_value(&b->json);
}

/* The first byte of a value (not whitespace). */
static void value_start(struct fo_feast_body *b, char c)
{
    struct fo_json *j = &b->json;
    if (j->done) {
        j->error = 1;
        return;
    }
    if (j->depth > 0 && j->type[j->depth - 1] == 'a')
        j->idx[j->depth - 1]++;
    if (c == '{' || c == '[') {
        push(j, c == '{' ? 'o' : 'a');
    } else if (c == '"') {
        j->state = S_STRING;
        j->is_key = 0;
        j->keep = (uint8_t)wanted(b);
        j->buf_len = 0;
        j->truncated = 0;
        j->hi_surrogate = 0;
    } else if ((c >= '0' && c <= '9') || c == '-' || c == 't' || c == 'f' || c == 'n') {
        j->state = S_SCALAR;
    } else {
        j->error = 1;
    }
}

/* A kept value is complete: make it valid UTF-8 in at most
 * FO_FEAST_NAME_MAX bytes. */
static void clean_value(struct fo_json *j)
{
    lone_surrogate(j);
    if (j->truncated)
        j->buf_len = (uint8_t)fo_utf8_cut(j->buf, j->buf_len);
    if (fo_utf8_ascii_prefix(j->buf, j->buf_len) == j->buf_len)
        return; /* ASCII: the common case */
    char tmp[FO_FEAST_NAME_MAX];
    int cut = 0;
    size_t n = fo_utf8_clean(tmp, sizeof tmp, j->buf, j->buf_len, &cut);
    memcpy(j->buf, tmp, n);
    j->buf_len = (uint8_t)n;
    j->truncated |= (uint8_t)cut;
}

static void string_end(struct fo_feast_body *b)
{
    struct fo_json *j = &b->json;
    if (j->is_key) {
        j->key[j->depth - 1] = key_of(j);
        j->idx[j->depth - 1]++;
        if (b->stats.kind == FO_FEAST_BODY_GOF && !b->response && j->depth == 2 &&
            j->key[0] == K_ENTITIES)
            b->n_entity_keys = (uint16_t)j->idx[1];
        j->keep = 0;
        j->state = S_COLON;
        return;
    }
    if (j->keep) {
        clean_value(j);
        on_string(b);
    }
    j->keep = 0;
    after_value(j);
}

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Bytes that continue a number or a literal (true, false, null). */
#define SC(c) [c] = 1
static const uint8_t scalar_byte[256] = {
    SC('0'), SC('1'), SC('2'), SC('3'), SC('4'), SC('5'), SC('6'), SC('7'), SC('8'), SC('9'),
    SC('a'), SC('b'), SC('c'), SC('d'), SC('e'), SC('f'), SC('g'), SC('h'), SC('i'), SC('j'),
    SC('k'), SC('l'), SC('m'), SC('n'), SC('o'), SC('p'), SC('q'), SC('r'), SC('s'), SC('t'),
    SC('u'), SC('v'), SC('w'), SC('x'), SC('y'), SC('z'),
    SC('A'), SC('B'), SC('C'), SC('D'), SC('E'), SC('F'), SC('G'), SC('H'), SC('I'), SC('J'),
    SC('K'), SC('L'), SC('M'), SC('N'), SC('O'), SC('P'), SC('Q'), SC('R'), SC('S'), SC('T'),
    SC('U'), SC('V'), SC('W'), SC('X'), SC('Y'), SC('Z'),
    SC('.'), SC('+'), SC('-'),
};
#undef SC

/*
 * How many of p[0..n) come before the first '"' or '\': the plain part of a
 * string, taken at once. Sixteen bytes at a time where SSE2 is there; the
 * last block is loaded so that it ends at n (never past it).
 */
static size_t plain_run(const char *p, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    if (n >= 16) {
        const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
        for (;;) {
            size_t at = i + 16 <= n ? i : n - 16;
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + at));
            unsigned m = (unsigned)_mm_movemask_epi8(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
            m >>= i - at; /* the bytes before i were looked at already */
            if (m != 0)
                return i + (size_t)__builtin_ctz(m);
            if (at + 16 == n)
                return n;
            i += 16;
        }
    }
#endif
    while (i < n && p[i] != '"' && p[i] != '\\')
        i++;
    return i;
}

/* The plain bytes s[0..k) of a kept string (as keep_byte would take them);
 * avail >= k bytes may be read at s. */
static void keep_run(struct fo_json *j, const char *s, size_t k, size_t avail)
{
    lone_surrogate(j);
    size_t room = FO_FEAST_NAME_MAX - (size_t)j->buf_len;
    if (k > room) {
        k = room;
        j->truncated = 1;
    }
    if (k <= 16 && avail >= 16 && j->buf_len + 16u <= sizeof j->buf)
        memcpy(j->buf + j->buf_len, s, 16); /* one move; buf_len says what counts */
    else
        memcpy(j->buf + j->buf_len, s, k);
    j->buf_len = (uint8_t)(j->buf_len + k);
}

/* A byte after a value: whitespace, a separator or a closing bracket. */
static void after_byte(struct fo_feast_body *b, char c)
{
    struct fo_json *j = &b->json;
    if (is_space(c))
        return;
    if (j->depth == 0) {
        j->error = 1;
    } else if (c == ',') {
        j->state = j->type[j->depth - 1] == 'o' ? S_KEY : S_VALUE;
    } else if ((c == '}' && j->type[j->depth - 1] == 'o') ||
               (c == ']' && j->type[j->depth - 1] == 'a')) {
        pop(b);
    } else {
        j->error = 1;
    }
}

/*
 * The reader: one byte at a time between tokens, and the plain part of a
 * string or the rest of a scalar in one step (most of a body's bytes are
 * in them).
 */
static void feed(struct fo_feast_body *b, const char *p, size_t n)
{
    struct fo_json *j = &b->json;
    if (j->error)
        return;
    if (n > b->budget - b->seen) {
        n = b->budget - b->seen;
        j->error = 1; /* past the budget: unknown, never guessed */
    }
    b->seen += (uint32_t)n;
    uint8_t saved_error = j->error;
    j->error = 0;
    size_t i = 0;
    while (i < n && !j->error) {
        char c = p[i];
        switch (j->state) {
        case S_STRING:
            if (j->esc != 0) {
                escape_byte(j, c);
            } else if (c == '\\') {
                j->esc = 1;
            } else {
                if (c != '"') {
                    size_t k = plain_run(p + i, n - i);
                    if (j->keep)
                        keep_run(j, p + i, k, n - i);
                    i += k;
                    if (i == n || p[i] != '"')
                        continue; /* a backslash, or the string goes on */
                }
                string_end(b); /* at the closing quote */
            }
            break;
        case S_SCALAR:
            while (i < n && scalar_byte[(unsigned char)p[i]])
                i++;
            if (i == n)
                continue;
            after_value(j);
            after_byte(b, p[i]); /* this byte follows the scalar */
            break;
        case S_AFTER:
            after_byte(b, c);
            break;
        case S_KEY_FIRST:
        case S_KEY:
            if (is_space(c))
                break;
            if (c == '}' && j->state == S_KEY_FIRST) {
                pop(b);
            } else if (c == '"') {
                j->state = S_STRING;
                j->is_key = 1;
                j->keep = 1;
                j->buf_len = 0;
                j->truncated = 0;
                j->hi_surrogate = 0;
            } else {
                j->error = 1;
            }
            break;
        case S_COLON:
            if (is_space(c))
                break;
            if (c == ':')
                j->state = S_VALUE;
            else
                j->error = 1;
            break;
        case S_ARR_FIRST:
            if (c == ']') {
                pop(b);
                break;
            }
            __attribute__((fallthrough));
        default: /* S_VALUE */
            if (is_space(c))
                break;
            value_start(b, c);
            break;
        }
        i++;
    }
    j->error |= saved_error;
}

/* A body is complete: finish a trailing scalar ("12" at the top level). */
static int finish(struct fo_json *j, int complete)
{
    if (j->state == S_SCALAR && j->depth == 0)
        j->done = 1;
    return complete && !j->error && j->done;
}

void fo_feast_body_request(struct fo_feast_body *b, const char *data, size_t len)
{
    if (!b->response)
        feed(b, data, len);
}

void fo_feast_body_request_end(struct fo_feast_body *b, int complete)
{
    if (b->response)
        return;
    b->req_ok = (uint8_t)finish(&b->json, complete);
    if (b->req_ok) {
        struct fo_feast_stats *st = &b->stats;
        st->known |= FO_FEAST_K_REQUEST;
        /* Distinct views are what features name; a feature service's are
         * not in the request. */
        int counted = st->kind == FO_FEAST_BODY_MATERIALIZE ||
                      (st->kind == FO_FEAST_BODY_GOF && !(st->known & FO_FEAST_K_SERVICE));
        if (counted && !b->views_over)
            st->known |= FO_FEAST_K_VIEW_COUNT;
        else
            st->view_count = 0;
    } else {
        uint8_t kind = b->stats.kind;
        memset(&b->stats, 0, sizeof b->stats);
        b->stats.kind = kind;
    }
    b->response = 1;
    b->seen = 0;
    json_reset(&b->json);
}

void fo_feast_body_response(struct fo_feast_body *b, const char *data, size_t len)
{
    if (b->response && b->stats.kind == FO_FEAST_BODY_GOF && b->req_ok)
        feed(b, data, len);
}

void fo_feast_body_response_end(struct fo_feast_body *b, int complete)
{
    if (b->stats.kind != FO_FEAST_BODY_GOF)
        return;
    if (b->req_ok && finish(&b->json, complete))
        b->stats.known |= FO_FEAST_K_STATUSES;
    else
        memset(b->stats.status, 0, sizeof b->stats.status);
    b->req_ok = 0; /* once */
}

int fo_feast_body_response_fresh(const struct fo_feast_body *b)
{
    return b->stats.kind == FO_FEAST_BODY_GOF && b->response && b->req_ok && b->seen == 0;
}

void fo_feast_body_save(const struct fo_feast_body *b, struct fo_feast_resume *r)
{
    r->budget = b->budget;
    r->n_entity_keys = b->n_entity_keys;
    memcpy(r->feature_view, b->feature_view, sizeof r->feature_view);
}

void fo_feast_body_resume(struct fo_feast_body *b, const struct fo_feast_stats *st,
                          const struct fo_feast_resume *r)
{
    b->stats = *st;
    json_reset(&b->json);
    b->budget = r->budget;
    b->seen = 0;
    b->response = 1;
    b->req_ok = 1;
    b->n_hashes = 0;
    b->views_over = 0;
    b->n_entity_keys = r->n_entity_keys;
    memcpy(b->feature_view, r->feature_view, sizeof b->feature_view);
}
