/*
 * sf_json_encode.c - a Lua value to JSON text.
 *
 * Writes into a userdata buffer inside lua_pcall, so any error, out of memory
 * included, unwinds without leaking: tables with array_mt are arrays (`[]`
 * when empty), other tables are arrays when their keys are exactly 1..n,
 * objects otherwise. No placeholder values are involved, so no string in the
 * data can be mistaken for a marker.
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_core.h"

typedef struct {
    lua_State *L;
    int buf_idx;
    char *buf;
    size_t len, cap;
    int array_mt_idx;
    char decimal_point;
} encoder;

static void enc_fail(encoder *e, const char *msg) {
    lua_pushstring(e->L, msg);
    lua_error(e->L);
}

static char *enc_room(encoder *e, size_t n) {
    if (e->cap - e->len < n) {
        size_t cap = e->cap * 2;
        char *grown;
        if (cap < e->len + n) cap = e->len + n;
        grown = (char *)sf_newscratch(e->L, cap);
        memcpy(grown, e->buf, e->len);
        lua_replace(e->L, e->buf_idx);
        e->buf = grown;
        e->cap = cap;
    }
    return e->buf + e->len;
}

static void enc_add(encoder *e, const char *s, size_t n) {
    memcpy(enc_room(e, n), s, n);
    e->len += n;
}

static void enc_string(encoder *e, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    enc_add(e, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F) continue;
        enc_add(e, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            u[0] = '\\';
            u[1] = 'u';
            u[2] = '0';
            u[3] = '0';
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            enc_add(e, u, 6);
            continue;
        }
        enc_add(e, esc, 2);
    }
    enc_add(e, s + run, n - run);
    enc_add(e, "\"", 1);
}

/* Formats the number at idx: integers exactly, floats in the shortest form
 * that reads back to the same double. */
static size_t format_number(encoder *e, int idx, char *out, size_t size) {
    lua_Number v;
    int prec, n = 0, i;
#if SF_HAVE_INTEGERS
    if (lua_isinteger(e->L, idx)) return (size_t)snprintf(out, size, "%lld", (long long)lua_tointeger(e->L, idx));
#endif
    v = lua_tonumber(e->L, idx);
    if (v != v || v == HUGE_VAL || v == -HUGE_VAL) enc_fail(e, "cannot encode NaN or infinity as JSON");
    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(out, size, "%.*g", prec, (double)v);
        if (strtod(out, NULL) == v) break;
    }
    if (e->decimal_point != '.')
        for (i = 0; i < n; i++)
            if (out[i] == e->decimal_point) out[i] = '.';
    return (size_t)n;
}

static int is_array_mt(encoder *e, int idx) {
    int yes;
    if (!lua_getmetatable(e->L, idx)) return 0;
    yes = lua_rawequal(e->L, -1, e->array_mt_idx);
    lua_pop(e->L, 1);
    return yes;
}

static void enc_value(encoder *e, int idx, int depth);

static void enc_table(encoder *e, int idx, int depth) {
    lua_State *L = e->L;
    size_t n, i, count = 0;
    double max = 0;
    int array = 1, marked;
    if (depth > SF_JSON_MAX_DEPTH) enc_fail(e, "value is nested too deeply to encode (a table that contains itself?)");
    if (!lua_checkstack(L, 6)) enc_fail(e, "out of Lua stack space while encoding");
    /* Keys exactly 1..n make an array, like lua-cjson; else an object. A
     * table with array_mt is an array whatever its keys (others ignored);
     * holes are nulls, as long as the array is not mostly holes. */
    marked = is_array_mt(e, idx);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TNUMBER) {
            double k = (double)lua_tonumber(L, -1);
            if (k >= 1 && k == floor(k)) {
                if (k > max) max = k;
                count++;
                continue;
            }
        }
        array = 0;
    }
    if (count == 0) array = 0;
    if (marked) array = 1;
    if (array && max > 10 && max > 2.0 * (double)count)
        enc_fail(e, "cannot encode an excessively sparse array as JSON (give it string keys)");
    n = (size_t)max;
    if (array) {
        enc_add(e, "[", 1);
        for (i = 1; i <= n; i++) {
            if (i > 1) enc_add(e, ",", 1);
            lua_rawgeti(L, idx, (int)i);
            if (lua_isnil(L, -1)) enc_add(e, "null", 4);
            else enc_value(e, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        enc_add(e, "]", 1);
        return;
    }
    enc_add(e, "{", 1);
    lua_pushnil(L);
    count = 0;
    while (lua_next(L, idx) != 0) {
        int kt = lua_type(L, -2);
        if (count++ > 0) enc_add(e, ",", 1);
        if (kt == LUA_TSTRING) {
            size_t kn;
            const char *ks = lua_tolstring(L, -2, &kn);
            enc_string(e, ks, kn);
        } else if (kt == LUA_TNUMBER) {
            char num[64];
            size_t nn = format_number(e, lua_gettop(L) - 1, num, sizeof num);
            enc_add(e, "\"", 1);
            enc_add(e, num, nn);
            enc_add(e, "\"", 1);
        } else {
            lua_pushfstring(L, "cannot encode a table key of type %s as JSON (keys are strings or numbers)",
                            lua_typename(L, kt));
            lua_error(L);
        }
        enc_add(e, ":", 1);
        enc_value(e, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    enc_add(e, "}", 1);
}

static void enc_value(encoder *e, int idx, int depth) {
    lua_State *L = e->L;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        enc_string(e, s, n);
        return;
    }
    case LUA_TNUMBER: {
        char num[64];
        size_t n = format_number(e, idx, num, sizeof num);
        enc_add(e, num, n);
        return;
    }
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx)) enc_add(e, "true", 4);
        else enc_add(e, "false", 5);
        return;
    case LUA_TNIL:
        enc_add(e, "null", 4);
        return;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) { /* core.null */
            enc_add(e, "null", 4);
            return;
        }
        break;
    case LUA_TTABLE:
        enc_table(e, idx, depth);
        return;
    default:
        break;
    }
    lua_pushfstring(L, "cannot encode a %s as JSON", luaL_typename(L, idx));
    lua_error(L);
}

/* Run by sf_pcall_message: the value to encode is argument 2. */
static int encode_protected(lua_State *L) {
    encoder e;
    e.L = L;
    e.len = 0;
    e.cap = 256;
    e.decimal_point = localeconv()->decimal_point[0];
    luaL_checkstack(L, 8, "seekrflow: out of Lua stack space");
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_array_mt);
    e.array_mt_idx = lua_gettop(L);
    e.buf = (char *)sf_newscratch(L, e.cap);
    e.buf_idx = lua_gettop(L);
    enc_value(&e, 2, 0);
    lua_pushlstring(L, e.buf, e.len);
    return 1;
}

int sf_json_encode(lua_State *L, int idx) {
    return sf_pcall_message(L, encode_protected, NULL, idx, "value cannot be encoded as JSON");
}

