/* http1.c - incremental HTTP/1.x exchange sniffer (see http1.h). */
#include "http1.h"

#include <string.h>
#include <strings.h>

#include "feast.h"

/* What runs for every exchange is inlined into the two entry points, and
 * they into the connection layer (with link-time optimisation): the calls
 * between these small steps cost as much as the steps. */
#define HOT static inline __attribute__((always_inline))
/* Not inlined, and nothing of its body is used at its call sites (GCC). */
#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

/* What the next bytes of a direction are. */
enum {
    S_LINE,       /* request line or status line (empty lines skipped) */
    S_HEADERS,    /* header lines up to the empty line */
    S_BODY,       /* r_left / w_left bytes of Content-Length body */
    S_CHUNK_SIZE, /* chunk-size line */
    S_CHUNK_DATA, /* chunk data */
    S_CHUNK_END,  /* the CRLF after chunk data */
    S_TRAILERS,   /* trailer lines up to the empty line */
    S_UNTIL_CLOSE, /* response body delimited by close */
    S_DONE,       /* the connection is to close: nothing more expected */
};

/* A complete line, pointer and length, after CR stripping. */
struct line {
    const char *p;
    size_t len;
    int overflow;       /* only a prefix of the line is in p */
    const char *tail;   /* the line's last bytes when overflow */
    size_t tail_len;
};

void fo_http1_init(struct fo_http1 *h)
{
    memset(h, 0, sizeof *h);
}

static void add_tail(struct fo_http1_line *l, const char *p, size_t n)
{
    if (n >= FO_HTTP1_TAIL_MAX) {
        memcpy(l->tail, p + n - FO_HTTP1_TAIL_MAX, FO_HTTP1_TAIL_MAX);
        l->tail_len = FO_HTTP1_TAIL_MAX;
        return;
    }
    size_t keep = FO_HTTP1_TAIL_MAX - n;
    if (keep > l->tail_len)
        keep = l->tail_len;
    memmove(l->tail, l->tail + l->tail_len - keep, keep);
    memcpy(l->tail + keep, p, n);
    l->tail_len = (uint8_t)(keep + n);
}

/* Appends n bytes to the carry-over buffer, keeping a prefix and a tail. */
static void carry(struct fo_http1_line *l, const char *p, size_t n)
{
    size_t room = FO_HTTP1_LINE_MAX - l->len;
    size_t take = n < room ? n : room;
    memcpy(l->buf + l->len, p, take);
    l->len = (uint16_t)(l->len + take);
    if (take < n)
        l->overflow = 1;
    add_tail(l, p, n);
}

/*
 * Takes the next line from [*pp, end). Returns 1 with *out set when a line
 * is complete (*pp moves past its LF), 0 when the rest was carried over.
 */
static int take_line_slow(struct fo_http1_line *l, const char **pp, const char *end,
                          struct line *out)
{
    const char *p = *pp;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL) {
        carry(l, p, (size_t)(end - p));
        *pp = end;
        return 0;
    }
    *pp = nl + 1;
    if (l->len == 0 && !l->overflow) {
        out->p = p;
        out->len = (size_t)(nl - p);
        out->overflow = 0;
    } else {
        carry(l, p, (size_t)(nl - p));
        out->p = l->buf;
        out->len = l->len;
        out->overflow = l->overflow;
        out->tail = l->tail;
        out->tail_len = l->tail_len;
        l->len = 0;
        l->overflow = 0;
        l->tail_len = 0;
    }
    if (!out->overflow && out->len > 0 && out->p[out->len - 1] == '\r')
        out->len--;
    if (out->overflow && out->tail_len > 0 && out->tail[out->tail_len - 1] == '\r')
        out->tail_len--;
    return 1;
}

/* take_line_slow's common case inline: a line within one buffer. */
HOT int take_line(struct fo_http1_line *l, const char **pp, const char *end, struct line *out)
{
    if (l->len == 0 && !l->overflow) {
        const char *p = *pp;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl != NULL) {
            size_t n = (size_t)(nl - p);
            *pp = nl + 1;
            out->p = p;
            out->len = n > 0 && nl[-1] == '\r' ? n - 1 : n;
            out->overflow = 0;
            return 1;
        }
    }
    return take_line_slow(l, pp, end, out);
}

/*
 * A head that arrived whole (the common case: one read, one write) is walked
 * with a mask of newline bits, 16 bytes at a time, instead of a memchr per
 * line, and a line is looked at only when its first byte says it may be a
 * header the sniffer reads: hosts, accepts, cookies and the like cost a few
 * instructions each. Lines are taken as they are found, by the functions
 * the line-by-line path uses, so a head that does not end within the call
 * simply goes on line by line from its first incomplete line, with the same
 * result. Only calls of at least 16 bytes are walked: the last 16 bytes are
 * loaded ending at end, so no byte outside the call's bytes is ever read.
 */

/* What the first byte of a line says to the walker. */
enum { W_SKIP, W_KEEP, W_CR, W_LF };

#ifdef __SSE2__
#include <emmintrin.h>

static inline uint32_t nl_bits(const char *q)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
}
#else
static inline uint32_t nl_bits(const char *q)
{
    uint32_t m = 0;
    for (int i = 0; i < 16; i++)
        m |= (uint32_t)(q[i] == '\n') << i;
    return m;
}
#endif

/* The newlines of [blk, end), block by block. */
struct nl_walk {
    const char *blk;  /* the block whose bits m holds */
    const char *last; /* end - 16: the last block is loaded from here */
    const char *end;
    uint32_t m;       /* newline bits of blk not yet handed out */
};

/* Bits of the 16 bytes at blk, or of those before end when fewer. */
static inline uint32_t block_bits(const struct nl_walk *w, const char *blk)
{
    if (blk <= w->last)
        return nl_bits(blk);
    return nl_bits(w->last) >> (blk - w->last);
}

/* Walks [p, end); end - 16 must not be before the call's bytes. */
static inline void nl_walk_init(struct nl_walk *w, const char *p, const char *end)
{
    w->blk = p;
    w->last = end - 16;
    w->end = end;
    w->m = block_bits(w, p);
}

/* The next LF, or 0 when there is none before end. */
HOT int nl_next(struct nl_walk *w, const char **nl)
{
    while (w->m == 0) {
        w->blk += 16;
        if (w->blk <= w->last) {
            w->m = nl_bits(w->blk); /* a whole block: one test */
        } else {
            if (w->blk >= w->end)
                return 0;
            w->m = nl_bits(w->last) >> (w->blk - w->last);
        }
    }
    *nl = w->blk + __builtin_ctz(w->m);
    w->m &= w->m - 1;
    return 1;
}

/* The line [ls, nl) as take_line gives it; nl > ls. */
static inline void line_at(const char *ls, const char *nl, struct line *out)
{
    out->p = ls;
    out->len = (size_t)(nl - ls) - (nl[-1] == '\r');
    out->overflow = 0;
}

/* Result of walking a head: it ended, or the rest goes line by line. */
enum { WALK_PARTIAL = 0, WALK_DONE = 1 };

#define W1(c) [c] = W_KEEP
#define W_COMMON [' '] = W_KEEP, ['\t'] = W_KEEP, ['\r'] = W_CR, ['\n'] = W_LF, W1('c'), W1('C'), \
                 W1('t'), W1('T')
static const uint8_t want_request[256] = {W_COMMON, W1('u'), W1('U')};
static const uint8_t want_response[256] = {W_COMMON};
#undef W_COMMON
#undef W1

/* RFC 9110 token characters: a table, since every header name is checked. */
#define T1(c) [c] = 1
static const uint8_t tchar[256] = {
    T1('!'), T1('#'), T1('$'), T1('%'), T1('&'), T1('\''), T1('*'), T1('+'), T1('-'),
    T1('.'), T1('^'), T1('_'), T1('`'), T1('|'), T1('~'),
    T1('0'), T1('1'), T1('2'), T1('3'), T1('4'), T1('5'), T1('6'), T1('7'), T1('8'), T1('9'),
    T1('A'), T1('B'), T1('C'), T1('D'), T1('E'), T1('F'), T1('G'), T1('H'), T1('I'), T1('J'),
    T1('K'), T1('L'), T1('M'), T1('N'), T1('O'), T1('P'), T1('Q'), T1('R'), T1('S'), T1('T'),
    T1('U'), T1('V'), T1('W'), T1('X'), T1('Y'), T1('Z'),
    T1('a'), T1('b'), T1('c'), T1('d'), T1('e'), T1('f'), T1('g'), T1('h'), T1('i'), T1('j'),
    T1('k'), T1('l'), T1('m'), T1('n'), T1('o'), T1('p'), T1('q'), T1('r'), T1('s'), T1('t'),
    T1('u'), T1('v'), T1('w'), T1('x'), T1('y'), T1('z'),
};
#undef T1

static int is_tchar(unsigned char c)
{
    return tchar[c];
}

HOT int version_minor(const char *v, size_t n)
{
    static const unsigned char seven[8] = {255, 255, 255, 255, 255, 255, 255, 0};
    uint64_t w, want, mask;
    if (n != 8)
        return -1;
    memcpy(&w, v, 8);
    memcpy(&want, "HTTP/1.1", 8);
    if (w == want)
        return 1; /* nearly every message: one compare */
    memcpy(&want, "HTTP/1.0", 8);
    memcpy(&mask, seven, 8); /* "HTTP/1." in any byte order */
    if (((w ^ want) & mask) != 0)
        return -1;
    if (v[7] == '0')
        return 0;
    if (v[7] == '1')
        return 1;
    return -1;
}

_Static_assert((FO_HTTP1_MAX_PENDING & (FO_HTTP1_MAX_PENDING - 1)) == 0,
               "FO_HTTP1_MAX_PENDING is a power of two");

static struct fo_http1_pending *pending_at(struct fo_http1 *h, unsigned i)
{
    return &h->pending[(h->first + i) & (FO_HTTP1_MAX_PENDING - 1)];
}

/* The request being read: always the newest pending entry. */
static struct fo_http1_pending *reading(struct fo_http1 *h)
{
    return pending_at(h, h->npending - 1u);
}

/* Copies the n bytes at s: those of 16 to 32 bytes (most targets) by two
 * overlapping moves, which read nothing outside them, instead of a counted
 * copy (shorter strings gain nothing from it). */
static inline void copy_str(char *d, const char *s, size_t n)
{
    if (n >= 16 && n <= 32) {
        memcpy(d, s, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else {
        memcpy(d, s, n);
    }
}

/* A request line: a new pending request, and its headers come next. */
HOT int parse_request_line(struct fo_http1 *h, const struct line *ln)
{
    const char *p = ln->p, *end = ln->p + ln->len;
    /* The method: token characters up to a space, shorter than FO_METHOD_MAX. */
    const char *sp = p, *mend = p + (ln->len < FO_METHOD_MAX ? ln->len : FO_METHOD_MAX);
    /* GET and POST, nearly every request, in one 4-byte compare each. */
    uint32_t w4 = 0, get, post, head_w;
    int head = 0;
    if (ln->len > 4)
        memcpy(&w4, p, 4);
    memcpy(&get, "GET ", 4);
    memcpy(&post, "POST", 4);
    memcpy(&head_w, "HEAD", 4);
    if (w4 == get) {
        sp = p + 3;
    } else if (w4 == post && p[4] == ' ') {
        sp = p + 4;
    } else {
        while (sp < mend && is_tchar((unsigned char)*sp))
            sp++;
        /* GET and POST are followed by their space, and the line is
         * longer than they are: only here can the method be wrong. */
        if (sp == p || sp == mend || *sp != ' ')
            return FO_HTTP1_STOP;
        if ((size_t)(sp - p) == 7 && memcmp(p, "CONNECT", 7) == 0)
            return FO_HTTP1_STOP; /* a tunnel follows, not HTTP */
        head = sp - p == 4 && w4 == head_w;
    }
    const char *target = sp + 1;
    const char *vend, *vstart;
    const char *tend;
    if (!ln->overflow) {
        vend = end;
        /* "HTTP/1.x" is 8 bytes: look there first. */
        if (end - target > 9 && end[-9] == ' ') {
            vstart = end - 8;
        } else {
            vstart = end;
            while (vstart > target && vstart[-1] != ' ')
                vstart--;
            if (vstart <= target)
                return FO_HTTP1_STOP;
        }
        tend = vstart - 1;
    } else {
        /* Only a prefix of the line is here: the version is in the tail. */
        vend = ln->tail + ln->tail_len;
        vstart = vend;
        while (vstart > ln->tail && vstart[-1] != ' ')
            vstart--;
        if (vstart == ln->tail)
            return FO_HTTP1_STOP;
        tend = end;
    }
    int minor = version_minor(vstart, (size_t)(vend - vstart));
    if (minor < 0 || tend <= target)
        return FO_HTTP1_STOP;
    if (h->npending == FO_HTTP1_MAX_PENDING)
        return FO_HTTP1_STOP;

    h->npending++;
    struct fo_http1_pending *pr = reading(h);
    /* Only the fixed fields: strings are read up to their lengths, so
     * clearing the whole entry (half a kilobyte) per request is waste.
     * The status and end time are set where the exchange finishes, the
     * one place it is emitted from. */
    struct fo_http_info *in = &pr->info;
    in->flags = 0;
    in->ua_len = 0;
    in->start_tick = h->r_start_tick;
    in->method_len = (uint8_t)(sp - p);
    if (ln->len >= FO_METHOD_MAX)
        memcpy(in->method, p, FO_METHOD_MAX); /* the bytes after it are not read */
    else
        memcpy(in->method, p, in->method_len);
    size_t tlen = (size_t)(tend - target);
    if (tlen > FO_TARGET_MAX || ln->overflow) {
        in->flags |= FO_HTTP_F_TARGET_TRUNCATED;
        if (tlen > FO_TARGET_MAX)
            tlen = FO_TARGET_MAX;
    }
    copy_str(in->target, target, tlen);
    in->target_len = (uint16_t)tlen;
    in->version_minor = (uint8_t)minor;
    pr->head = (uint8_t)head;
    pr->close = minor == 0; /* HTTP/1.0 closes unless it asks for keep-alive */
    pr->complete = 0;
    h->r_cl_seen = 0; /* r_cl is read only once it is set */
    h->r_chunked = 0;
    h->rstate = S_HEADERS;
    return FO_HTTP1_OK;
}

/* Does the comma-separated list v contain token tok (case-insensitive)? */
static int has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

/* Is the last transfer coding of v "chunked"? */
static int last_is_chunked(const char *v, size_t n)
{
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    size_t s = n;
    while (s > 0 && v[s - 1] != ',' && v[s - 1] != ' ' && v[s - 1] != '\t')
        s--;
    return n - s == 7 && strncasecmp(v + s, "chunked", 7) == 0;
}

HOT int parse_length(const char *v, size_t n, uint64_t *out)
{
    if (n == 0 || n > 18)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

/*
 * Header lines are matched by name without splitting them first: most lines
 * are headers we do not read, and each costs finding its end (a bit of a
 * newline mask when the head is walked whole, a memchr line by line) and a
 * look at its first byte. A wanted name is compared at its known length with
 * a colon right after it (RFC 9112 allows no space there), eight bytes at a
 * time; OR-ing 0x20 lowercases letters and leaves '-' alone (it would also
 * take a CR for '-', which no server accepts in a name). Names of at least
 * 8 bytes only. Lines of headers we do not read are not validated: the
 * server judges them, and the head still ends at the empty line.
 */
HOT int name_at(const struct line *ln, const char *lower, size_t n)
{
    if (ln->len <= n || ln->p[n] != ':')
        return 0;
    const uint64_t fold = 0x2020202020202020u;
    uint64_t a, b;
    for (size_t i = 0; i + 8 < n; i += 8) {
        memcpy(&a, ln->p + i, 8);
        memcpy(&b, lower + i, 8);
        if ((a | fold) != b)
            return 0;
    }
    memcpy(&a, ln->p + n - 8, 8);
    memcpy(&b, lower + n - 8, 8);
    return (a | fold) == b;
}

/* The value of a header whose name (n bytes) matched, trimmed of OWS. */
HOT void value_of(const struct line *ln, size_t n, const char **val, size_t *vlen)
{
    static const uint8_t ows[256] = {[' '] = 1, ['\t'] = 1};
    const char *v = ln->p + n + 1, *e = ln->p + ln->len;
    while (v < e && ows[(unsigned char)*v])
        v++;
    while (e > v && ows[(unsigned char)e[-1]])
        e--;
    *val = v;
    *vlen = (size_t)(e - v);
}

/* A Content-Length header: repeated values must agree. */
HOT int content_length(const char *v, size_t n, int overflow, uint8_t *seen,
                          uint64_t *cl)
{
    uint64_t x;
    if (overflow || parse_length(v, n, &x) != 0)
        return -1;
    if (*seen && x != *cl)
        return -1;
    *seen = 1;
    *cl = x;
    return 0;
}

/* Are the 10 bytes at v "keep-alive" in any case? Two overlapping 8-byte
 * compares; 0x20 is OR-ed into the letters' bytes only, so it lowercases
 * them and leaves the '-' exact. */
HOT int is_keep_alive(const char *v)
{
    static const unsigned char head[8] = {32, 32, 32, 32, 0, 32, 32, 32}; /* keep-ali */
    static const unsigned char tail[8] = {32, 32, 0, 32, 32, 32, 32, 32}; /* ep-alive */
    uint64_t a, b, m;
    memcpy(&a, v, 8);
    memcpy(&b, "keep-ali", 8);
    memcpy(&m, head, 8);
    if ((a | m) != b)
        return 0;
    memcpy(&a, v + 2, 8);
    memcpy(&b, "ep-alive", 8);
    memcpy(&m, tail, 8);
    return (a | m) == b;
}

/* A Connection header's value v (vlen bytes): "keep-alive", which nearly
 * every peer that sends the header sends, is told at once. Not inlined, and
 * given the value rather than the line: a line whose address reaches a
 * call is kept in memory instead of registers by every step that inlines
 * its parsing. noipa: what the compiler would learn of this function's body
 * costs the request walker a register (10 instructions per request). */
NOIPA static void connection_header(const char *v, size_t vlen, uint8_t *close)
{
    if (vlen == 10 && is_keep_alive(v))
        *close = 0;
    else if (has_token(v, vlen, "close"))
        *close = 1;
    else if (has_token(v, vlen, "keep-alive"))
        *close = 0;
}

HOT int request_header(struct fo_http1 *h, const struct line *ln)
{
    const char *v;
    size_t vlen;
    struct fo_http1_pending *pr = reading(h);
    struct fo_http_info *in = &pr->info;
    switch (ln->p[0] | 0x20) {
    case ' ':  /* ' ' (or NUL) */
    case ')':  /* '\t' (or ')') */
        if (ln->p[0] == ' ' || ln->p[0] == '\t')
            return FO_HTTP1_STOP; /* obsolete line folding */
        break;
    case 'u':
        if (name_at(ln, "user-agent", 10)) {
            value_of(ln, 10, &v, &vlen);
            if (vlen > FO_UA_MAX || ln->overflow) {
                in->flags |= FO_HTTP_F_UA_TRUNCATED;
                vlen = vlen > FO_UA_MAX ? FO_UA_MAX : vlen;
            }
            memcpy(in->user_agent, v, vlen);
            in->ua_len = (uint8_t)vlen;
        }
        break;
    case 'c':
        if (name_at(ln, "connection", 10)) {
            value_of(ln, 10, &v, &vlen);
            connection_header(v, vlen, &pr->close);
        } else if (name_at(ln, "content-length", 14)) {
            value_of(ln, 14, &v, &vlen);
            if (content_length(v, vlen, ln->overflow, &h->r_cl_seen, &h->r_cl) != 0)
                return FO_HTTP1_STOP;
        }
        break;
    case 't':
        if (name_at(ln, "traceparent", 11)) {
            value_of(ln, 11, &v, &vlen);
            if (vlen == FO_TRACEPARENT_LEN && !ln->overflow) {
                memcpy(in->traceparent, v, FO_TRACEPARENT_LEN);
                in->flags |= FO_HTTP_F_TRACEPARENT;
            }
        } else if (name_at(ln, "transfer-encoding", 17)) {
            value_of(ln, 17, &v, &vlen);
            if (ln->overflow || !last_is_chunked(v, vlen))
                return FO_HTTP1_STOP; /* a request body we cannot delimit */
            h->r_chunked = 1;
        }
        break;
    }
    return FO_HTTP1_OK;
}

HOT int response_header(struct fo_http1 *h, const struct line *ln)
{
    const char *v;
    size_t vlen;
    switch (ln->p[0] | 0x20) {
    case ' ':  /* ' ' (or NUL) */
    case ')':  /* '\t' (or ')') */
        if (ln->p[0] == ' ' || ln->p[0] == '\t')
            return FO_HTTP1_STOP; /* obsolete line folding */
        break;
    case 'c':
        if (h->w_interim)
            break;
        if (name_at(ln, "content-length", 14)) {
            value_of(ln, 14, &v, &vlen);
            if (content_length(v, vlen, ln->overflow, &h->w_cl_seen, &h->w_cl) != 0)
                return FO_HTTP1_STOP;
        } else if (name_at(ln, "connection", 10)) {
            value_of(ln, 10, &v, &vlen);
            /* nginx and Node send it on every response: told inline. */
            if (vlen == 10 && is_keep_alive(v))
                h->w_close = 0;
            else
                connection_header(v, vlen, &h->w_close);
        }
        break;
    case 't':
        if (h->w_interim)
            break;
        if (name_at(ln, "transfer-encoding", 17)) {
            value_of(ln, 17, &v, &vlen);
            h->w_chunked = !ln->overflow && last_is_chunked(v, vlen);
            if (!h->w_chunked)
                h->w_cl_seen = 0; /* a non-chunked coding: delimited by close */
        }
        break;
    }
    return FO_HTTP1_OK;
}

/* Which body of the scanned exchange is flowing. */
enum { F_IDLE, F_REQUEST, F_AWAIT, F_RESPONSE, F_SKIP };

/* A POST to a Feast endpoint with a body we read: scan it (one exchange at
 * a time, and not behind a pipelined one). */
static void feast_start(struct fo_http1 *h, struct fo_http1_pending *pr)
{
    const struct fo_http_info *in = &pr->info;
    if (h->fstate != F_IDLE || h->npending != 1 || in->method_len != 4 ||
        memcmp(in->method, "POST", 4) != 0)
        return;
    const char *q = memchr(in->target, '?', in->target_len);
    size_t n = q != NULL ? (size_t)(q - in->target) : in->target_len;
    uint8_t kind = fo_feast_body_kind(fo_feast_route(in->target, n));
    if (kind == FO_FEAST_BODY_NONE)
        return;
    fo_feast_body_init(h->feast, kind, h->feast_budget);
    pr->feast = 1;
    h->fstate = F_REQUEST;
}

static void feast_request_end(struct fo_http1 *h)
{
    if (h->fstate == F_REQUEST) {
        fo_feast_body_request_end(h->feast, 1);
        h->fstate = F_AWAIT;
    }
}

/* The request head is complete: decide how its body is delimited. */
HOT void request_head_done(struct fo_http1 *h)
{
    struct fo_http1_pending *pr = reading(h);
    if (pr->info.method_len == 4 && memcmp(pr->info.method, "POST", 4) == 0 && h->feast != NULL)
        feast_start(h, pr);
    if (h->r_chunked) {
        h->rstate = S_CHUNK_SIZE;
    } else if (h->r_cl_seen && h->r_cl > 0) {
        h->r_left = h->r_cl;
        h->rstate = S_BODY;
    } else {
        pr->complete = 1;
        h->rstate = pr->close ? S_DONE : S_LINE;
        feast_request_end(h);
    }
}

static void request_body_done(struct fo_http1 *h)
{
    struct fo_http1_pending *pr = reading(h);
    feast_request_end(h);
    pr->complete = 1;
    h->rstate = pr->close ? S_DONE : S_LINE;
}

static int parse_chunk_size(const struct line *ln, uint64_t *out)
{
    uint64_t x = 0;
    size_t i = 0;
    for (; i < ln->len; i++) {
        char c = ln->p[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            break;
        if (i >= 15)
            return -1;
        x = x << 4 | (uint64_t)d;
    }
    if (i == 0)
        return -1;
    if (i < ln->len && ln->p[i] != ';' && ln->p[i] != ' ' && ln->p[i] != '\t')
        return -1;
    *out = x;
    return 0;
}

/*
 * The chunked-body states shared by both directions. Returns 1 when the
 * body ended, 0 to go on, FO_HTTP1_STOP on malformed framing.
 */
static int chunk_line(uint8_t *state, uint64_t *left, const struct line *ln)
{
    switch (*state) {
    case S_CHUNK_SIZE:
        if (parse_chunk_size(ln, left) != 0)
            return FO_HTTP1_STOP;
        *state = *left == 0 ? S_TRAILERS : S_CHUNK_DATA;
        return 0;
    case S_CHUNK_END:
        if (ln->len != 0)
            return FO_HTTP1_STOP;
        *state = S_CHUNK_SIZE;
        return 0;
    case S_TRAILERS:
        return ln->len == 0 ? 1 : 0;
    }
    return FO_HTTP1_STOP;
}

/* Skips body bytes: returns how many of avail belong to the body. */
static size_t skip(uint64_t *left, size_t avail)
{
    size_t n = *left < avail ? (size_t)*left : avail;
    *left -= n;
    return n;
}

HOT int head_walk(struct fo_http1 *h, int response, const char **pp, const char *end,
                  uint64_t now, fo_http1_emit_fn emit, void *ctx);

inline __attribute__((always_inline)) int fo_http1_on_read(struct fo_http1 *h, const char *buf,
                                                          size_t len, uint64_t now,
                                                          fo_http1_emit_fn emit, void *ctx)
{
    if (h->stopped)
        return FO_HTTP1_STOP;
    const char *p = buf, *end = buf + len;
    struct line ln;
    while (p < end) {
        /* Nearly every read starts a request: one compare, not the
         * switch's jump table. */
        if (h->rstate == S_LINE)
            goto line;
        switch (h->rstate) {
        case S_LINE:
        line:
            if (h->rline.len == 0 && !h->rline.overflow) {
                /* A method starts with a token character: TLS records,
                 * HTTP/2 frames after a preface and binary data stop here,
                 * without waiting for a line that may never come. Empty
                 * lines before a request are allowed (RFC 9112 2.2). */
                if (!is_tchar((unsigned char)*p)) {
                    while (p < end && (*p == '\r' || *p == '\n'))
                        p++;
                    if (p == end)
                        break;
                    if (!is_tchar((unsigned char)*p))
                        goto stop;
                }
                h->r_start_tick = now;
                if (len >= 16) {
                    int r = head_walk(h, 0, &p, end, now, emit, ctx);
                    if (r < 0)
                        goto stop;
                    if (r == WALK_DONE || h->rstate != S_LINE)
                        break;
                    /* The request line itself is not whole: carry it. */
                }
            }
            if (!take_line(&h->rline, &p, end, &ln))
                break;
            if (parse_request_line(h, &ln) != FO_HTTP1_OK)
                goto stop;
            break;
        case S_HEADERS:
            /* The lines of a head, without going round the state switch. */
            while (take_line(&h->rline, &p, end, &ln)) {
                if (ln.len == 0 && !ln.overflow) {
                    request_head_done(h);
                    break;
                }
                if (request_header(h, &ln) != FO_HTTP1_OK)
                    goto stop;
            }
            break;
        case S_BODY:
        case S_CHUNK_DATA: {
            size_t k = skip(&h->r_left, (size_t)(end - p));
            if (h->fstate == F_REQUEST)
                fo_feast_body_request(h->feast, p, k);
            p += k;
            if (h->r_left == 0 && h->rstate == S_BODY)
                request_body_done(h);
            else if (h->r_left == 0)
                h->rstate = S_CHUNK_END;
            break;
        }
        case S_CHUNK_SIZE:
        case S_CHUNK_END:
        case S_TRAILERS: {
            if (!take_line(&h->rline, &p, end, &ln))
                break;
            int rc = chunk_line(&h->rstate, &h->r_left, &ln);
            if (rc < 0)
                goto stop;
            if (rc == 1)
                request_body_done(h);
            break;
        }
        default: /* S_DONE: bytes after a request that closes the connection */
            goto stop;
        }
    }
    return FO_HTTP1_OK;
stop:
    h->stopped = 1;
    return FO_HTTP1_STOP;
}

/* The response to the oldest pending request is complete. */
HOT int finish_response(struct fo_http1 *h, uint64_t now, uint16_t flags,
                           fo_http1_emit_fn emit, void *ctx)
{
    struct fo_http1_pending *pr = pending_at(h, 0);
    int was_reading = h->npending == 1 && !pr->complete;
    int close = h->w_close || pr->close;
    pr->info.status = h->w_status;
    pr->info.end_tick = now;
    pr->info.flags |= (uint8_t)flags;
    if (pr->feast) {
        /* Whatever was not seen whole is unknown. */
        if (h->fstate == F_REQUEST)
            fo_feast_body_request_end(h->feast, 0);
        if (h->feast_tail == NULL)
            fo_feast_body_response_end(h->feast,
                                       h->fstate == F_RESPONSE && !(flags & FO_HTTP_F_ABORTED));
        pr->info.flags |= FO_HTTP_F_FEAST;
        pr->feast = 0;
        h->fstate = F_IDLE;
    }
    emit(ctx, &pr->info);
    h->feast_tail = NULL;
    h->first = (uint8_t)((h->first + 1) % FO_HTTP1_MAX_PENDING);
    h->npending--;
    h->wstate = close ? S_DONE : S_LINE;
    /* A server that answers before reading the whole request (an early
     * error) leaves the request side in an unknown place. */
    if (was_reading || h->w_status == 101)
        return FO_HTTP1_STOP;
    return FO_HTTP1_OK;
}

/* A status line: the response's headers come next. */
HOT int status_line(struct fo_http1 *h, const struct line *ln)
{
    if (ln->len < 12 || ln->overflow || version_minor(ln->p, 8) < 0 || ln->p[8] != ' ')
        return FO_HTTP1_STOP;
    /* The code and the byte after it. A line of exactly 12 bytes has its
     * CR or LF there (or, carried, the rest of the line buffer), so the
     * read stays inside what the call was given; either path then reads
     * such a line as status 200 with no reason phrase. */
    uint32_t w4, ok;
    memcpy(&w4, ln->p + 9, 4);
    memcpy(&ok, "200 ", 4);
    if (h->npending == 0)
        return FO_HTTP1_STOP;
    if (w4 == ok) {
        h->w_status = 200; /* nearly every response: one compare */
        h->w_interim = 0;
    } else {
        unsigned d0 = (unsigned char)ln->p[9] - '0', d1 = (unsigned char)ln->p[10] - '0',
                 d2 = (unsigned char)ln->p[11] - '0';
        if (d0 > 9 || d1 > 9 || d2 > 9)
            return FO_HTTP1_STOP;
        uint16_t st = (uint16_t)(d0 * 100 + d1 * 10 + d2);
        if (ln->len > 12 && ln->p[12] != ' ')
            return FO_HTTP1_STOP;
        if (st < 100)
            return FO_HTTP1_STOP;
        h->w_status = st;
        h->w_interim = st < 200 && st != 101;
    }
    h->w_chunked = 0;
    h->w_cl_seen = 0; /* w_cl is read only once it is set */
    h->w_close = ln->p[7] == '0'; /* an HTTP/1.0 response closes by default */
    h->wstate = S_HEADERS;
    return FO_HTTP1_OK;
}

/* The response head is complete. Returns FO_HTTP1_OK or FO_HTTP1_STOP. */
HOT int response_head_done(struct fo_http1 *h, uint64_t now, fo_http1_emit_fn emit,
                              void *ctx)
{
    if (h->w_interim) {
        h->wstate = S_LINE; /* 100 Continue and friends: the real one follows */
        return FO_HTTP1_OK;
    }
    struct fo_http1_pending *pr = pending_at(h, 0);
    uint16_t st = h->w_status;
    if (pr->feast && h->fstate == F_AWAIT)
        h->fstate = st == 200 ? F_RESPONSE : F_SKIP;
    if (pr->head || (st != 200 && (st < 200 || st == 204 || st == 304)))
        return finish_response(h, now, 0, emit, ctx); /* no body */
    if (h->w_chunked) {
        h->wstate = S_CHUNK_SIZE;
    } else if (h->w_cl_seen) {
        if (h->w_cl == 0)
            return finish_response(h, now, 0, emit, ctx);
        h->w_left = h->w_cl;
        h->wstate = S_BODY;
    } else {
        h->wstate = S_UNTIL_CLOSE;
    }
    return FO_HTTP1_OK;
}

/* Takes the bytes of a response body or chunk from [*pp, end) (S_BODY or
 * S_CHUNK_DATA). */
HOT int response_body(struct fo_http1 *h, const char **pp, const char *end, uint64_t now,
                      fo_http1_emit_fn emit, void *ctx)
{
    size_t k = skip(&h->w_left, (size_t)(end - *pp));
    if (h->fstate == F_RESPONSE) {
        if (h->feast_defer && h->w_left == 0 && h->wstate == S_BODY &&
            fo_feast_body_response_fresh(h->feast)) {
            h->feast_tail = *pp; /* the whole body, ending here: see feast_defer */
            h->feast_tail_len = k;
        } else {
            fo_feast_body_response(h->feast, *pp, k);
        }
    }
    *pp += k;
    if (h->w_left == 0 && h->wstate == S_BODY)
        return finish_response(h, now, 0, emit, ctx);
    if (h->w_left == 0)
        h->wstate = S_CHUNK_END;
    return FO_HTTP1_OK;
}

/* A response head has ended at *pp: as response_head_done, and a body that
 * follows in the call is taken at once, without going round the states. */
HOT int response_head_end(struct fo_http1 *h, const char **pp, const char *end,
                          uint64_t now, fo_http1_emit_fn emit, void *ctx)
{
    if (response_head_done(h, now, emit, ctx) != FO_HTTP1_OK)
        return FO_HTTP1_STOP;
    if (h->wstate == S_BODY && *pp < end)
        return response_body(h, pp, end, now, emit, ctx);
    return FO_HTTP1_OK;
}

/*
 * Takes the lines of a request head (response == 0) or a response head from
 * *pp through the walker (see nl_walk), by the functions the line-by-line
 * path uses. Returns WALK_DONE with *pp past the head, WALK_PARTIAL with
 * *pp at the first line not whole in the call (the lines before it are
 * taken), or FO_HTTP1_STOP. end - *pp >= 16, and **pp is a token character
 * (request) or 'H' (response), so the first line is not empty.
 */
HOT int head_walk(struct fo_http1 *h, int response, const char **pp, const char *end,
                  uint64_t now, fo_http1_emit_fn emit, void *ctx)
{
    const uint8_t *want = response ? want_response : want_request;
    const char *p = *pp, *nl;
    struct nl_walk w;
    struct line ln;
    nl_walk_init(&w, p, end);
    if (!nl_next(&w, &nl))
        return WALK_PARTIAL;
    line_at(p, nl, &ln);
    if ((response ? status_line(h, &ln) : parse_request_line(h, &ln)) != FO_HTTP1_OK)
        return FO_HTTP1_STOP;
    const char *ls = nl + 1;
    while (nl_next(&w, &nl)) {
        unsigned k = want[(unsigned char)*ls];
        if (k != W_SKIP) {
            if (k != W_KEEP && (nl == ls || (nl == ls + 1 && k == W_CR))) {
                *pp = nl + 1;
                if (!response) {
                    request_head_done(h);
                    return WALK_DONE;
                }
                if (response_head_end(h, pp, end, now, emit, ctx) != FO_HTTP1_OK)
                    return FO_HTTP1_STOP;
                return WALK_DONE;
            }
            line_at(ls, nl, &ln);
            if ((response ? response_header(h, &ln) : request_header(h, &ln)) != FO_HTTP1_OK)
                return FO_HTTP1_STOP;
        }
        ls = nl + 1;
    }
    *pp = ls;
    return WALK_PARTIAL;
}

inline __attribute__((always_inline)) int fo_http1_on_write(struct fo_http1 *h, const char *buf,
                                                           size_t len, uint64_t now,
                                                           fo_http1_emit_fn emit, void *ctx)
{
    if (h->stopped)
        return FO_HTTP1_STOP;
    const char *p = buf, *end = buf + len;
    struct line ln;
    int rc = FO_HTTP1_OK;
    while (p < end && rc == FO_HTTP1_OK) {
        switch (h->wstate) {
        case S_LINE:
            if (h->wline.len == 0 && !h->wline.overflow && len >= 16 && *p == 'H') {
                int r = head_walk(h, 1, &p, end, now, emit, ctx);
                if (r < 0)
                    rc = FO_HTTP1_STOP;
                if (r != WALK_PARTIAL || h->wstate != S_LINE)
                    break;
                /* The status line itself is not whole: carry it. */
            }
            if (!take_line(&h->wline, &p, end, &ln))
                break;
            rc = status_line(h, &ln);
            break;
        case S_HEADERS:
            while (rc == FO_HTTP1_OK && take_line(&h->wline, &p, end, &ln)) {
                if (ln.len == 0 && !ln.overflow) {
                    rc = response_head_done(h, now, emit, ctx);
                    break;
                }
                rc = response_header(h, &ln);
            }
            break;
        case S_BODY:
        case S_CHUNK_DATA:
            rc = response_body(h, &p, end, now, emit, ctx);
            break;
        case S_CHUNK_SIZE:
        case S_CHUNK_END:
        case S_TRAILERS: {
            if (!take_line(&h->wline, &p, end, &ln))
                break;
            int c = chunk_line(&h->wstate, &h->w_left, &ln);
            if (c < 0)
                rc = FO_HTTP1_STOP;
            else if (c == 1)
                rc = finish_response(h, now, 0, emit, ctx);
            break;
        }
        case S_UNTIL_CLOSE:
            if (h->fstate == F_RESPONSE)
                fo_feast_body_response(h->feast, p, (size_t)(end - p));
            p = end;
            break;
        default: /* S_DONE */
            rc = FO_HTTP1_STOP;
            break;
        }
    }
    if (rc != FO_HTTP1_OK)
        h->stopped = 1;
    return rc;
}

int fo_http1_on_write_opaque(struct fo_http1 *h, size_t len, uint64_t now,
                             fo_http1_emit_fn emit, void *ctx)
{
    if (h->stopped)
        return FO_HTTP1_STOP;
    int rc = FO_HTTP1_OK;
    if (h->fstate == F_RESPONSE)
        h->fstate = F_SKIP; /* bytes we cannot see: the statuses are unknown */
    if (h->wstate == S_BODY && len <= h->w_left) {
        h->w_left -= len;
        if (h->w_left == 0)
            rc = finish_response(h, now, 0, emit, ctx);
    } else if (h->wstate == S_CHUNK_DATA && len <= h->w_left) {
        h->w_left -= len;
        if (h->w_left == 0)
            h->wstate = S_CHUNK_END;
    } else if (h->wstate != S_UNTIL_CLOSE) {
        rc = FO_HTTP1_STOP;
    }
    if (rc != FO_HTTP1_OK)
        h->stopped = 1;
    return rc;
}

void fo_http1_on_peer_eof(struct fo_http1 *h, uint64_t now, fo_http1_emit_fn emit,
                          void *ctx)
{
    (void)now;
    (void)emit;
    (void)ctx;
    if (h->stopped)
        return;
    /* A request cut off inside its head will never be answered as such,
     * unless its response has already begun. */
    int answering = h->npending == 1 && h->wstate != S_LINE;
    if (h->npending > 0 && h->rstate == S_HEADERS && !answering)
        h->npending--;
    h->rline.len = 0;
    h->rline.overflow = 0;
    h->rstate = S_DONE;
}

void fo_http1_on_close(struct fo_http1 *h, int reset, uint64_t now, fo_http1_emit_fn emit,
                       void *ctx)
{
    if (h->stopped)
        return;
    h->stopped = 1;
    if (h->npending == 0)
        return;
    if (h->wstate == S_UNTIL_CLOSE && !reset) {
        finish_response(h, now, 0, emit, ctx);
        h->stopped = 1;
    }
    /* Everything still pending ended without a complete response; the
     * first may have had its status line written already. */
    int head_sent = h->wstate != S_LINE && h->wstate != S_DONE && !h->w_interim;
    while (h->npending > 0) {
        if (!head_sent)
            h->w_status = 0;
        finish_response(h, now, FO_HTTP_F_ABORTED, emit, ctx);
        head_sent = 0;
    }
}
