/* retry.c - export outcomes and retry delays (see retry.h). */
#include "retry.h"

#include <errno.h>
#include <string.h>

void fo_export_result_init(struct fo_export_result *r)
{
    r->rc = 0;
    r->http_status = 0;
    r->grpc_status = -1;
    r->retry_after_ms = -1;
    r->message[0] = '\0';
    r->body_len = 0;
    r->body_truncated = 0;
}

enum grpc_code {
    GRPC_OK = 0,
    GRPC_CANCELLED = 1,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_ABORTED = 10,
    GRPC_OUT_OF_RANGE = 11,
    GRPC_UNAVAILABLE = 14,
    GRPC_DATA_LOSS = 15,
};

/* Whether a failure to get any response (-err) may not happen next time. */
static int transient(int err)
{
    switch (err) {
    /* The connection failed, broke or timed out: the collector may be
     * restarting, overloaded or briefly unreachable. */
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETUNREACH:
    case ENETDOWN:
    /* Local ports or descriptors ran out: the host may free some. */
    case EADDRNOTAVAIL:
    case EMFILE:
    case ENFILE:
    /* An answer we could not read (a proxy's garbage, a truncated frame):
     * the next connection may reach a sane collector. */
    case EPROTO:
        return 1;
    default:
        return 0;
    }
}

enum fo_outcome fo_retry_classify(const struct fo_export_result *r)
{
    if (r->rc != 0)
        /* No response, so the data may never have arrived; but a request
         * that failed before reaching the network would fail again. */
        return transient(-r->rc) ? FO_OUTCOME_RETRY : FO_OUTCOME_FAILED;
    if (r->grpc_status >= 0) {
        switch (r->grpc_status) {
        case GRPC_OK:
            return FO_OUTCOME_OK;
        case GRPC_CANCELLED:
        case GRPC_DEADLINE_EXCEEDED:
        case GRPC_ABORTED:
        case GRPC_OUT_OF_RANGE:
        case GRPC_UNAVAILABLE:
        case GRPC_DATA_LOSS:
            return FO_OUTCOME_RETRY;
        case GRPC_RESOURCE_EXHAUSTED:
            return r->retry_after_ms >= 0 ? FO_OUTCOME_RETRY : FO_OUTCOME_REJECTED;
        default:
            return FO_OUTCOME_REJECTED;
        }
    }
    int s = r->http_status;
    if (s >= 200 && s <= 299)
        return FO_OUTCOME_OK;
    if (s == 429 || s == 502 || s == 503 || s == 504)
        return FO_OUTCOME_RETRY;
    return FO_OUTCOME_REJECTED;
}

uint64_t fo_retry_backoff_ns(unsigned attempt, uint64_t rnd)
{
    double d = 1.0;
    for (unsigned i = 1; i < attempt && d < 5.0; i++)
        d *= 1.5;
    if (d > 5.0)
        d = 5.0;
    double jitter = 0.8 + 0.4 * (double)(rnd >> 11) / 9007199254740992.0;
    return (uint64_t)(d * jitter * 1e9);
}

uint64_t fo_retry_delay_ns(const struct fo_export_result *r, unsigned attempt, uint64_t rnd)
{
    uint64_t d = r->retry_after_ms >= 0 ? (uint64_t)r->retry_after_ms * 1000000u
                                        : fo_retry_backoff_ns(attempt, rnd);
    /* "Retry-After: 0", a date in the past or a zero RetryInfo would
     * otherwise send retries back to back, as fast as the collector can
     * answer, until the export timeout. The floor is the time delivery
     * reserves for one attempt to be answered: it caps a collector that
     * keeps saying "now" at ten attempts a second, and costs a collector
     * that meant it at most 100 ms. */
    return d < FO_RETRY_MIN_DELAY_NS ? FO_RETRY_MIN_DELAY_NS : d;
}

int64_t fo_retry_after_parse(const char *v, time_t now_unix)
{
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v >= '0' && *v <= '9') {
        int64_t s = 0;
        for (; *v >= '0' && *v <= '9'; v++) {
            if (s > 86400 * 365)
                return -1;
            s = s * 10 + (*v - '0');
        }
        while (*v == ' ' || *v == '\t')
            v++;
        return *v == '\0' ? s * 1000 : -1;
    }
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return t <= now_unix ? 0 : (int64_t)(t - now_unix) * 1000;
}

/* A minimal protobuf reader: just enough to find RetryInfo in a Status. */
struct pb {
    const uint8_t *p, *end;
};

enum { VARINT = 0, LEN = 2 };

static int varint(struct pb *b, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (b->p == b->end)
            return -1;
        uint8_t c = *b->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Reads the next field: returns its wire type (LEN or VARINT; fixed-width
 * fields are skipped and reported as number 0), or -1 when malformed. For a
 * length-delimited field sub holds its bytes, for a varint val its value. */
static int field(struct pb *b, uint32_t *num, struct pb *sub, uint64_t *val)
{
    uint64_t key;
    if (varint(b, &key) != 0 || key >> 3 == 0 || key >> 3 > 0x1fffffff)
        return -1;
    *num = (uint32_t)(key >> 3);
    switch (key & 7) {
    case 0:
        return varint(b, val) == 0 ? VARINT : -1;
    case 1:
    case 5: {
        size_t n = (key & 7) == 1 ? 8 : 4;
        if ((size_t)(b->end - b->p) < n)
            return -1;
        b->p += n;
        *num = 0; /* nothing we look for is fixed-width */
        return VARINT;
    }
    case 2: {
        uint64_t len;
        if (varint(b, &len) != 0 || len > (uint64_t)(b->end - b->p))
            return -1;
        sub->p = b->p;
        sub->end = b->p + len;
        b->p += len;
        return LEN;
    }
    default:
        return -1;
    }
}

static const char retry_info_type[] = "type.googleapis.com/google.rpc.RetryInfo";

/* RetryInfo { Duration retry_delay = 1; }  Duration { int64 seconds = 1; int32 nanos = 2; } */
static int64_t retry_delay(struct pb info)
{
    uint32_t num;
    struct pb sub;
    uint64_t val;
    int64_t ms = -1;
    while (info.p < info.end) {
        int wt = field(&info, &num, &sub, &val);
        if (wt < 0)
            return -1;
        if (num != 1 || wt != LEN)
            continue;
        int64_t secs = 0, nanos = 0;
        while (sub.p < sub.end) {
            struct pb unused;
            uint64_t v = 0;
            if (field(&sub, &num, &unused, &v) != VARINT)
                return -1;
            if (num == 1)
                secs = (int64_t)v;
            else if (num == 2)
                nanos = (int32_t)(uint32_t)v;
        }
        if (secs < 0 || secs > 86400 * 365 || nanos < 0 || nanos > 999999999)
            return -1;
        ms = secs * 1000 + nanos / 1000000;
    }
    return ms;
}

int64_t fo_retry_info_ms(const uint8_t *status, size_t len)
{
    struct pb st = {status, status + len};
    uint32_t num;
    struct pb any;
    uint64_t val;
    while (st.p < st.end) {
        int wt = field(&st, &num, &any, &val);
        if (wt < 0)
            return -1;
        if (num != 3 || wt != LEN)
            continue;
        /* Any { string type_url = 1; bytes value = 2; } */
        struct pb type = {NULL, NULL}, value = {NULL, NULL}, sub;
        while (any.p < any.end) {
            int kind = field(&any, &num, &sub, &val);
            if (kind < 0)
                return -1;
            if (kind != LEN)
                continue;
            if (num == 1)
                type = sub;
            else if (num == 2)
                value = sub;
        }
        if (type.p != NULL && (size_t)(type.end - type.p) == sizeof retry_info_type - 1 &&
            memcmp(type.p, retry_info_type, sizeof retry_info_type - 1) == 0 &&
            value.p != NULL)
            return retry_delay(value);
    }
    return -1;
}

int fo_retry_partial_success(const uint8_t *resp, size_t len, int64_t *rejected, char *msg,
                             size_t cap)
{
    struct pb r = {resp, resp + len};
    uint32_t num;
    struct pb ps, sub;
    uint64_t val;
    int found = 0;
    *rejected = 0;
    if (cap > 0)
        msg[0] = '\0';
    while (r.p < r.end) {
        int wt = field(&r, &num, &ps, &val);
        if (wt < 0)
            return -1;
        if (num != 1 || wt != LEN)
            continue;
        found = 1;
        while (ps.p < ps.end) {
            wt = field(&ps, &num, &sub, &val);
            if (wt < 0)
                return -1;
            if (num == 1 && wt == VARINT) {
                *rejected = (int64_t)val;
            } else if (num == 2 && wt == LEN && cap > 0) {
                size_t n = (size_t)(sub.end - sub.p), o = 0;
                for (size_t i = 0; i < n && o + 1 < cap; i++)
                    msg[o++] = sub.p[i] >= 0x20 && sub.p[i] < 0x7f ? (char)sub.p[i] : '?';
                msg[o] = '\0';
            }
        }
    }
    return found;
}

static int b64val(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

ssize_t fo_retry_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -EINVAL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return -EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -EINVAL;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (ssize_t)o;
}
