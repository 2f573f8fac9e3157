/*
 * sf_json.c - JSON text straight to the final Lua tables; the core.json_*
 * functions (encoding itself is in sf_json_encode.c).
 *
 * Decoding is one pass over the text that builds the tables the caller gets:
 *   - JSON null inside an object is never stored (an absent key, so
 *     `if record.processing_at then` works); null inside an array is the
 *     sentinel core.null so the array keeps its length;
 *   - integral numbers within 64 bits are Lua integers on 5.3+ (3, not 3.0);
 *   - every table decoded from an array, empty ones included, carries
 *     core.array_mt; nothing in the text or in the data marks it;
 *   - objects at known schema positions get their kind's metatable when they
 *     are created;
 *   - arrays are presized exactly: their elements wait on the Lua stack until
 *     the closing bracket (within a stack budget); objects are presized from
 *     the size of the previous object at the same depth (records of one list
 *     look alike; each object sets the hint for the next, so a large hint is
 *     always paid for by as many decoded values).
 * Strings: escapes decoded; a lone surrogate escape (\ud800 without its
 * pair, or a lone \udc00) becomes U+FFFD; bytes that are not UTF-8 become
 * U+FFFD (one per maximal ill-formed subsequence, as Python's "replace"
 * does), so every decoded string is valid UTF-8; raw control characters are
 * kept as they are (the terminal layer makes them visible).
 * Bounds: nesting deeper than SF_JSON_MAX_DEPTH and more than
 * SF_JSON_MAX_VALUES values are decode errors; errors give the byte offset.
 *
 * All work runs inside lua_pcall and allocates only Lua objects (scratch
 * space is a userdata on the stack), so any error, out of memory included,
 * unwinds without leaking.
 *
 * Encoding lives in sf_json_encode.c. The decoder stays one file (~700
 * lines) on purpose: it is one recursive-descent object whose small static
 * helpers the compiler inlines into the hot loop, which is where the speed
 * measured in bench/ comes from.
 */
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_core.h"

#define SF_XSTR(x) #x
#define SF_STR(x) SF_XSTR(x)

const char *const sf_kind_names[SF_KIND_COUNT] = {
    "value", "data_job", "data_job_list", "ingestion_job", "file_record",
    "job_file", "timeline_event", "alignment_job", "alignment_output",
    "file", "file_list", "data_job_response",
};

/* The kind of the value found under field `name` of an object of `kind`. */
static sf_kind field_kind(sf_kind kind, const char *name, size_t len) {
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, sizeof(lit) - 1) == 0)
    switch (kind) {
    case SF_KIND_DATA_JOB:
        if (IS("ingestion_jobs")) return SF_KIND_INGESTION_JOB;
        if (IS("files")) return SF_KIND_JOB_FILE;
        if (IS("timeline")) return SF_KIND_TIMELINE_EVENT;
        if (IS("alignment_job")) return SF_KIND_ALIGNMENT_JOB;
        return SF_KIND_NONE;
    case SF_KIND_DATA_JOB_LIST:
        return IS("data") ? SF_KIND_DATA_JOB_RESPONSE : SF_KIND_NONE;
    case SF_KIND_FILE_LIST:
        return IS("data") ? SF_KIND_FILE : SF_KIND_NONE;
    case SF_KIND_INGESTION_JOB:
        return IS("records") ? SF_KIND_FILE_RECORD : SF_KIND_NONE;
    case SF_KIND_ALIGNMENT_JOB:
        return IS("output_files") ? SF_KIND_OUTPUT : SF_KIND_NONE;
    default:
        return SF_KIND_NONE;
    }
#undef IS
}

void sf_json_setmeta(lua_State *L, int idx, sf_kind kind) {
    idx = sf_absindex(L, idx);
    if (kind == SF_KIND_NONE) return;
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_kind_mts);
    lua_rawgeti(L, -1, (int)kind);
    lua_setmetatable(L, idx);
    lua_pop(L, 1);
}

/* ---- UTF-8 ---- */

/* Length of the well-formed UTF-8 sequence at s (Unicode table 3-7), or the
 * negated length of its maximal ill-formed prefix (at least 1 byte). */
static int utf8_sequence(const unsigned char *s, const unsigned char *end) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    int need, i;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return -1;
    }
    for (i = 1; i <= need; i++) {
        if (s + i >= end || s[i] < lo || s[i] > hi) return -i;
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

static char *put_utf8(char *o, unsigned long cp) {
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

#define REPLACEMENT_CHAR 0xFFFDul

/* ---- decoding ---- */

typedef struct {
    lua_State *L;
    const unsigned char *start, *p, *end;
    int array_mt_idx;       /* array_mt; kind k's metatable at array_mt_idx + k */
    int scratch_idx;
    char *scratch;
    size_t scratch_cap;
    size_t values;          /* decoded so far, bounded by SF_JSON_MAX_VALUES */
    size_t pending;         /* stack slots held by arrays still being read */
    size_t pending_budget;
    int depth;
    int object_hint[SF_JSON_MAX_DEPTH + 2]; /* size of the last object per depth */
    char decimal_point;
} decoder;

typedef struct {
    const char *text;
    size_t len;
    sf_kind kind;
} decode_args;

static int fail_at(decoder *d, const unsigned char *at, const char *what) {
    char msg[300];
    unsigned char c = (at < d->end) ? *at : 0;
    long offset = (long)(at - d->start);
    if (at >= d->end)
        snprintf(msg, sizeof msg, "%s at byte %ld (end of text)", what, offset);
    else if (c > 0x20 && c < 0x7F)
        snprintf(msg, sizeof msg, "%s at byte %ld ('%c')", what, offset, (char)c);
    else
        snprintf(msg, sizeof msg, "%s at byte %ld (byte 0x%02X)", what, offset, (unsigned)c);
    lua_pushstring(d->L, msg);
    return lua_error(d->L);
}

static void count_value(decoder *d) {
    if (++d->values > SF_JSON_MAX_VALUES)
        fail_at(d, d->p, "the JSON holds more than " SF_STR(SF_JSON_MAX_VALUES)
                         " values (objects, arrays, strings, numbers, booleans and nulls each count one; "
                         "core.json_max_values): too large to decode safely; stopped");
}

static char *scratch(decoder *d, size_t need) {
    if (need > d->scratch_cap) {
        size_t cap = d->scratch_cap * 2;
        if (cap < need) cap = need;
        if (cap < 256) cap = 256;
        d->scratch = (char *)sf_newscratch(d->L, cap);
        lua_replace(d->L, d->scratch_idx);
        d->scratch_cap = cap;
    }
    return d->scratch;
}

/* Whether the text at d->p starts with lit, n bytes long. */
static int at_literal(const decoder *d, const char *lit, size_t n) {
    return (size_t)(d->end - d->p) >= n && memcmp(d->p, lit, n) == 0;
}

static const unsigned char *skip_space(const unsigned char *p, const unsigned char *end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

static int hex4(const unsigned char *p, const unsigned char *end, unsigned long *out) {
    unsigned long v = 0;
    int i;
    if (end - p < 4) return 0;
    for (i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned long)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/* A string with escapes or ill-formed UTF-8: decoded into scratch. q is where
 * the plain prefix (already checked) ends. */
static void push_string_slow(decoder *d, const unsigned char *s, const unsigned char *q) {
    const unsigned char *e = q, *end = d->end;
    char *out, *o;
    /* Find the closing quote first, to size the scratch space: no input byte
     * makes more than 3 output bytes. */
    while (e < end && *e != '"') e += (*e == '\\') ? 2 : 1;
    if (e >= end) fail_at(d, s - 1, "unterminated string starting");
    out = scratch(d, (size_t)(e - s) * 3 + 4);
    memcpy(out, s, (size_t)(q - s));
    o = out + (q - s);
    while (q < e) {
        unsigned char c = *q;
        if (c == '\\') {
            unsigned long cp, lo;
            switch (q[1]) {
            case '"': *o++ = '"'; q += 2; break;
            case '\\': *o++ = '\\'; q += 2; break;
            case '/': *o++ = '/'; q += 2; break;
            case 'b': *o++ = '\b'; q += 2; break;
            case 'f': *o++ = '\f'; q += 2; break;
            case 'n': *o++ = '\n'; q += 2; break;
            case 'r': *o++ = '\r'; q += 2; break;
            case 't': *o++ = '\t'; q += 2; break;
            case 'u':
                /* Hex digits are never quotes, so a valid escape ends before e. */
                if (!hex4(q + 2, e, &cp)) fail_at(d, q, "invalid \\u escape");
                q += 6;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    /* A high surrogate counts only with the low one after it. */
                    if (e - q >= 6 && q[0] == '\\' && q[1] == 'u' && hex4(q + 2, e, &lo) && lo >= 0xDC00 &&
                        lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        q += 6;
                    } else {
                        cp = REPLACEMENT_CHAR;
                    }
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    cp = REPLACEMENT_CHAR;
                }
                o = put_utf8(o, cp);
                break;
            default:
                fail_at(d, q, "invalid escape in string");
            }
        } else if (c < 0x80) {
            *o++ = (char)c;
            q++;
        } else {
            int n = utf8_sequence(q, e);
            if (n > 0) {
                memcpy(o, q, (size_t)n);
                o += n;
                q += n;
            } else {
                o = put_utf8(o, REPLACEMENT_CHAR);
                q += -n;
            }
        }
    }
    lua_pushlstring(d->L, out, (size_t)(o - out));
    d->p = e + 1;
}

#define ONES 0x0101010101010101ull
#define HIGH_BITS 0x8080808080808080ull
/* Nonzero high bits where x may have a zero byte (exact for the lowest one). */
#define HAS_ZERO_BYTE(x) (((x) - ONES) & ~(x))

/* At the opening quote: pushes the string, leaves d->p after its end.
 * Sets *s_out and *n_out to the raw bytes when they are the value itself. */
static void push_string(decoder *d, const char **s_out, size_t *n_out) {
    const unsigned char *s = d->p + 1, *q = s, *end = d->end;
    for (;;) {
        /* Eight bytes at a time while none is a quote, a backslash or
         * non-ASCII (most of a detail's bytes are plain string contents). */
        while (end - q >= 8) {
            uint64_t w;
            memcpy(&w, q, 8);
            if (((HAS_ZERO_BYTE(w ^ ONES * '"') | HAS_ZERO_BYTE(w ^ ONES * '\\') | w) & HIGH_BITS) != 0) break;
            q += 8;
        }
        while (q < end && *q != '"' && *q != '\\' && *q < 0x80) q++;
        if (q >= end) fail_at(d, d->p, "unterminated string starting");
        if (*q == '"') break;
        if (*q == '\\') {
            push_string_slow(d, s, q);
            if (s_out) *s_out = NULL;
            return;
        } else {
            int n = utf8_sequence(q, end);
            if (n < 0) {
                push_string_slow(d, s, q);
                if (s_out) *s_out = NULL;
                return;
            }
            q += n;
        }
    }
    lua_pushlstring(d->L, (const char *)s, (size_t)(q - s));
    if (s_out) {
        *s_out = (const char *)s;
        *n_out = (size_t)(q - s);
    }
    d->p = q + 1;
}

static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static void push_double(lua_State *L, double v) {
#if SF_HAVE_INTEGERS
    /* Integral values are integers (documented): 1.0 and 1e2 too. */
    if (v == floor(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0) {
        lua_pushinteger(L, (lua_Integer)v);
        return;
    }
#endif
    lua_pushnumber(L, (lua_Number)v);
}

static void push_number(decoder *d) {
    const unsigned char *p = d->p, *end = d->end, *num = p;
    unsigned long long mant = 0;
    int neg = 0, digits = 0, frac_digits = 0, exp = 0, exp_neg = 0, is_int = 1;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p < end && *p == '0') {
        p++;
        digits = 1;
        if (p < end && *p >= '0' && *p <= '9') fail_at(d, p, "leading zero in number");
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            if (digits < 19) mant = mant * 10 + (unsigned)(*p - '0');
            digits++;
            p++;
        }
    } else {
        fail_at(d, num, "invalid number");
    }
    if (p < end && *p == '.') {
        is_int = 0;
        p++;
        if (p >= end || *p < '0' || *p > '9') fail_at(d, p, "digit expected after the decimal point");
        while (p < end && *p >= '0' && *p <= '9') {
            if (digits + frac_digits < 19) mant = mant * 10 + (unsigned)(*p - '0');
            frac_digits++;
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_int = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) exp_neg = *p++ == '-';
        if (p >= end || *p < '0' || *p > '9') fail_at(d, p, "digit expected in exponent");
        while (p < end && *p >= '0' && *p <= '9') {
            if (exp < 100000) exp = exp * 10 + (*p - '0');
            p++;
        }
    }
    d->p = p;
    if (is_int && digits <= 19 && mant <= (unsigned long long)LLONG_MAX + (unsigned)neg) {
        /* Exact over the whole 64-bit range (-2^63 included). */
        long long v = mant > (unsigned long long)LLONG_MAX ? LLONG_MIN : neg ? -(long long)mant : (long long)mant;
        sf_pushinteger(d->L, v);
        return;
    }
    if (digits + frac_digits <= 15) {
        /* Exact: a mantissa below 2^53 times an exact power of ten. */
        int e10 = (exp_neg ? -exp : exp) - frac_digits;
        if (e10 >= -22 && e10 <= 22) {
            double v = (double)mant;
            v = e10 < 0 ? v / exact_pow10[-e10] : v * exact_pow10[e10];
            push_double(d->L, neg ? -v : v);
            return;
        }
    }
    {
        size_t n = (size_t)(p - num), i;
        char *buf = scratch(d, n + 1);
        double v;
        memcpy(buf, num, n);
        buf[n] = '\0';
        if (d->decimal_point != '.')
            for (i = 0; i < n; i++)
                if (buf[i] == '.') buf[i] = d->decimal_point;
        v = strtod(buf, NULL); /* beyond the double range: +-HUGE_VAL, like Python's float */
        push_double(d->L, v);
    }
}

static void push_value(decoder *d, sf_kind kind);

static void enter(decoder *d) {
    if (++d->depth > SF_JSON_MAX_DEPTH)
        fail_at(d, d->p, "JSON nested deeper than " SF_STR(SF_JSON_MAX_DEPTH) " levels (core.json_max_depth)");
    if (!lua_checkstack(d->L, 8)) fail_at(d, d->p, "out of Lua stack space while decoding");
}

/* After an array element or object member: 1 past a ',' (and the space after
 * it), 0 past the closer; anything else is the error expected. */
static int next_member(decoder *d, unsigned char closer, const char *expected) {
    d->p = skip_space(d->p, d->end);
    if (d->p < d->end && *d->p == ',') {
        d->p = skip_space(d->p + 1, d->end);
        return 1;
    }
    if (d->p < d->end && *d->p == closer) {
        d->p++;
        return 0;
    }
    return fail_at(d, d->p, expected);
}

static void push_array(decoder *d, sf_kind kind) {
    lua_State *L = d->L;
    int base = lua_gettop(L) + 1, table = 0;
    size_t n = 0;
    enter(d);
    d->p = skip_space(d->p + 1, d->end);
    if (d->p < d->end && *d->p == ']') {
        d->p++;
        lua_createtable(L, 0, 0);
    } else {
        do {
            if (!table && (d->pending >= d->pending_budget || !lua_checkstack(L, 8))) {
                /* Out of stack budget: the elements so far go into the table
                 * now, the rest is appended as it comes. */
                size_t i;
                lua_createtable(L, n > INT_MAX / 2 ? INT_MAX : (int)(n * 2), 0);
                lua_insert(L, base);
                for (i = n; i >= 1; i--) lua_rawseti(L, base, (int)i);
                d->pending -= n;
                table = 1;
            }
            push_value(d, kind);
            n++;
            if (table) lua_rawseti(L, base, (int)n);
            else d->pending++;
        } while (next_member(d, ']', "',' or ']' expected in array"));
        if (!table) {
            size_t i;
            lua_createtable(L, (int)n, 0);
            lua_insert(L, base);
            for (i = n; i >= 1; i--) lua_rawseti(L, base, (int)i);
            d->pending -= n;
        }
    }
    lua_pushvalue(L, d->array_mt_idx);
    lua_setmetatable(L, base);
    d->depth--;
}

static void push_object(decoder *d, sf_kind kind) {
    lua_State *L = d->L;
    int table, stored = 0;
    enter(d);
    lua_createtable(L, 0, d->object_hint[d->depth]);
    table = lua_gettop(L);
    if (kind != SF_KIND_NONE) {
        lua_pushvalue(L, d->array_mt_idx + (int)kind);
        lua_setmetatable(L, table);
    }
    d->p = skip_space(d->p + 1, d->end);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
    } else {
        do {
            const char *key = NULL;
            size_t key_len = 0;
            if (d->p >= d->end || *d->p != '"') fail_at(d, d->p, "string key expected in object");
            push_string(d, &key, &key_len);
            if (key == NULL) key = lua_tolstring(L, -1, &key_len);
            d->p = skip_space(d->p, d->end);
            if (d->p >= d->end || *d->p != ':') fail_at(d, d->p, "':' expected after object key");
            d->p = skip_space(d->p + 1, d->end);
            if (d->p < d->end && *d->p == 'n') {
                /* null: never stored; a duplicate key's null still wins. */
                if (!at_literal(d, "null", 4)) fail_at(d, d->p, "invalid literal");
                count_value(d);
                d->p += 4;
                lua_pushnil(L);
            } else {
                sf_kind child = SF_KIND_NONE;
                if (kind != SF_KIND_NONE && d->p < d->end && (*d->p == '[' || *d->p == '{'))
                    child = field_kind(kind, key, key_len);
                push_value(d, child);
                stored++;
            }
            lua_rawset(L, table);
        } while (next_member(d, '}', "',' or '}' expected in object"));
    }
    d->object_hint[d->depth] = stored;
    d->depth--;
}

static void push_value(decoder *d, sf_kind kind) {
    const unsigned char *p = d->p;
    if (p >= d->end) fail_at(d, p, "value expected");
    count_value(d);
    switch (*p) {
    case '{': push_object(d, kind); return;
    case '[': push_array(d, kind); return;
    case '"': push_string(d, NULL, NULL); return;
    case 't':
    case 'f': {
        int yes = *p == 't';
        if (yes ? at_literal(d, "true", 4) : at_literal(d, "false", 5)) {
            d->p += yes ? 4 : 5;
            lua_pushboolean(d->L, yes);
            return;
        }
        break;
    }
    case 'n':
        if (at_literal(d, "null", 4)) {
            d->p += 4;
            lua_pushlightuserdata(d->L, NULL);
            return;
        }
        break;
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            push_number(d);
            return;
        }
    }
    fail_at(d, p, "unexpected character");
}

/* Stack budget for arrays' pending elements: Lua 5.1 and LuaJIT allow a C
 * function about 8000 slots, later Luas a million. */
#if LUA_VERSION_NUM >= 503
#define PENDING_BUDGET 200000u
#else
#define PENDING_BUDGET 6000u
#endif

static int decode_protected(lua_State *L) {
    const decode_args *a = (const decode_args *)lua_touserdata(L, 1);
    decoder d;
    int k;
    memset(&d, 0, sizeof d);
    d.L = L;
    d.start = d.p = (const unsigned char *)a->text;
    d.end = d.start + a->len;
    d.pending_budget = PENDING_BUDGET;
    d.decimal_point = localeconv()->decimal_point[0];
    luaL_checkstack(L, SF_KIND_COUNT + 8, "seekrflow: out of Lua stack space");
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_array_mt);
    d.array_mt_idx = lua_gettop(L);
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_kind_mts);
    for (k = 1; k < SF_KIND_COUNT; k++) lua_rawgeti(L, d.array_mt_idx + 1, k);
    lua_remove(L, d.array_mt_idx + 1);
    lua_pushnil(L);
    d.scratch_idx = lua_gettop(L);

    d.p = skip_space(d.p, d.end);
    if (d.p >= d.end) fail_at(&d, d.p, "empty JSON text");
    push_value(&d, a->kind);
    d.p = skip_space(d.p, d.end);
    if (d.p < d.end) fail_at(&d, d.p, "unexpected text after the JSON value");
    if (lua_type(L, -1) == LUA_TLIGHTUSERDATA) {
        lua_pop(L, 1); /* a top-level null is nil */
        lua_pushnil(L);
    }
    return 1;
}

int sf_pcall_message(lua_State *L, lua_CFunction f, void *ud, int idx, const char *fallback) {
    if (idx != 0) idx = sf_absindex(L, idx);
    if (!lua_checkstack(L, 4)) {
        lua_pushliteral(L, "out of Lua stack space");
        return 0;
    }
    lua_pushcfunction(L, f);
    lua_pushlightuserdata(L, ud);
    if (idx != 0) lua_pushvalue(L, idx);
    if (lua_pcall(L, idx != 0 ? 2 : 1, 1, 0) != LUA_OK) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_pushstring(L, fallback);
        }
        return 0;
    }
    return 1;
}

int sf_json_decode(lua_State *L, const char *text, size_t len, sf_kind kind) {
    decode_args a;
    a.text = text;
    a.len = len;
    a.kind = kind;
    return sf_pcall_message(L, decode_protected, &a, 0, "invalid JSON");
}

/* ---- Lua-facing functions: core.json_decode / core.json_encode ---- */

sf_kind sf_kind_from_name(lua_State *L, const char *name, const char *where) {
    int k;
    for (k = 0; k < SF_KIND_COUNT; k++)
        if (strcmp(name, sf_kind_names[k]) == 0) return (sf_kind)k;
    sf_arg_error(L, "%s: unknown kind '%s' (known: data_job, data_job_list, ingestion_job, file_record, job_file, "
                    "timeline_event, alignment_job, alignment_output, file, file_list, data_job_response, value)", where, name);
    return SF_KIND_NONE;
}

static int l_decode(lua_State *L) {
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    sf_kind kind = sf_kind_from_name(L, luaL_optstring(L, 2, "value"), "json_decode");
    if (!sf_json_decode(L, text, len, kind)) {
        sf_push_error(L, "decode", lua_tostring(L, -1));
        return lua_error(L);
    }
    return 1;
}

static int l_encode(lua_State *L) {
    luaL_checkany(L, 1);
    if (!sf_json_encode(L, 1)) {
        sf_push_error(L, "invalid_argument", lua_tostring(L, -1));
        return lua_error(L);
    }
    return 1;
}

static int l_is_array(lua_State *L) {
    int yes = 0;
    if (lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1)) {
        sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_array_mt);
        yes = lua_rawequal(L, -1, -2);
    }
    lua_pushboolean(L, yes);
    return 1;
}

/* Needs the module table on top of the stack. */
void sf_open_json(lua_State *L) {
    static const luaL_Reg functions[] = {
        {"json_decode", l_decode}, {"json_encode", l_encode}, {"is_array", l_is_array}, {NULL, NULL}};
    int k;
    /* JSON null inside arrays: the same value as lua-cjson's cjson.null. */
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    lua_pushinteger(L, SF_JSON_MAX_VALUES);
    lua_setfield(L, -2, "json_max_values");

    /* core.array_mt: marks tables decoded from JSON arrays. */
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "seekrflow.array");
    lua_setfield(L, -2, "__name");
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype"); /* dkjson and others honour this */
    lua_pushvalue(L, -1);
    sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_array_mt);
    lua_setfield(L, -2, "array_mt");

    /* One metatable per schema kind; sf_detail.c fills their methods. */
    lua_createtable(L, SF_KIND_COUNT, 0);
    for (k = 1; k < SF_KIND_COUNT; k++) {
        lua_createtable(L, 0, 2);
        lua_newtable(L);
        lua_setfield(L, -2, "__index");
        lua_pushfstring(L, "seekrflow.%s", sf_kind_names[k]);
        lua_setfield(L, -2, "__name");
        lua_rawseti(L, -2, k);
    }
    lua_pushvalue(L, -1);
    sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_kind_mts);
    lua_setfield(L, -2, "kind_mts");

    sf_setfuncs(L, functions);
}
