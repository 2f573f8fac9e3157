/*
 * sf_error.c - structured error values and the one redaction rule.
 *
 * Errors are plain tables sharing one metatable, so Lua code can read their
 * fields, build its own (seekrflow.errors does), and print them with
 * tostring(). Every error the C core produces goes through here, and each
 * records where the library was called from (err.where), which tostring()
 * puts first, as Lua does for its own errors.
 *
 * Redaction works on bytes, not C strings: a NUL before the secret must not
 * hide it. Text is always redacted before it is cut to a length, so a cut
 * can never leave a prefix of the secret behind.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_core.h"

#define REDACTED "[redacted]"

/* The first copy of needle in hay, or NULL; both may hold NULs. */
static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t k) {
    const char *p = hay, *end = hay + n;
    if (k == 0 || k > n) return NULL;
    while ((size_t)(end - p) >= k) {
        const char *hit = memchr(p, (unsigned char)needle[0], (size_t)(end - p) - k + 1);
        if (hit == NULL) return NULL;
        if (memcmp(hit, needle, k) == 0) return hit;
        p = hit + 1;
    }
    return NULL;
}

int sf_contains_secret(const char *s, size_t n, const char *secret, size_t slen) {
    return secret != NULL && find_bytes(s, n, secret, slen) != NULL;
}

int sf_redact_into(sf_buf *out, const char *s, size_t n, const char *secret, size_t slen) {
    const char *p = s, *end = s + n, *hit;
    if (secret != NULL && slen > 0) {
        while ((hit = find_bytes(p, (size_t)(end - p), secret, slen)) != NULL) {
            if (!sf_buf_append(out, p, (size_t)(hit - p)) || !sf_buf_append(out, REDACTED, sizeof REDACTED - 1))
                return 0;
            p = hit + slen;
        }
    }
    return sf_buf_append(out, p, (size_t)(end - p));
}

/* Bytes of s that fit in limit without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t limit) {
    if (n <= limit) return n;
    while (limit > 0 && ((unsigned char)s[limit] & 0xC0) == 0x80) limit--;
    return limit;
}

void sf_push_redacted(lua_State *L, const char *s, size_t n, size_t limit, const char *secret, size_t slen) {
    luaL_Buffer b;
    const char *p = s, *end, *hit;
    size_t used = 0;
    /* A secret that starts before the limit ends before limit + slen. */
    if (limit > 0 && n > limit + slen) n = limit + slen;
    end = s + n;
    luaL_buffinit(L, &b);
    while (secret != NULL && slen > 0 && (hit = find_bytes(p, (size_t)(end - p), secret, slen)) != NULL) {
        luaL_addlstring(&b, p, (size_t)(hit - p));
        luaL_addlstring(&b, REDACTED, sizeof REDACTED - 1);
        used += (size_t)(hit - p) + sizeof REDACTED - 1;
        p = hit + slen;
        if (limit > 0 && used >= limit) break;
    }
    luaL_addlstring(&b, p, (size_t)(end - p));
    luaL_pushresult(&b);
    if (limit > 0) {
        size_t len;
        const char *text = lua_tolstring(L, -1, &len);
        if (len > limit) {
            lua_pushlstring(L, text, utf8_cut(text, len, limit));
            lua_replace(L, -2);
        }
    }
}

void sf_redact(lua_State *L, int idx, const char *secret, size_t slen) {
    size_t len;
    const char *s;
    idx = sf_absindex(L, idx);
    if (secret == NULL || slen == 0 || lua_type(L, idx) != LUA_TSTRING) return;
    s = lua_tolstring(L, idx, &len);
    if (find_bytes(s, len, secret, slen) == NULL) return;
    sf_push_redacted(L, s, len, 0, secret, slen);
    lua_replace(L, idx);
}

static void redact_value(lua_State *L, int idx, const char *secret, size_t slen, int depth) {
    int renamed = 0, list;
    if (lua_type(L, idx) != LUA_TTABLE || depth > SF_JSON_MAX_DEPTH + 4) return;
    luaL_checkstack(L, 8, "redacting a deep value");
    lua_newtable(L); /* keys to rename: old -> new */
    list = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            if (find_bytes(s, len, secret, slen) != NULL) {
                sf_push_redacted(L, s, len, 0, secret, slen);
                lua_pushvalue(L, -3);
                lua_insert(L, -2);
                lua_rawset(L, idx); /* assigning an existing key is allowed during next */
            }
        } else if (lua_type(L, -1) == LUA_TTABLE) {
            redact_value(L, lua_gettop(L), secret, slen, depth + 1);
        }
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            if (find_bytes(s, len, secret, slen) != NULL) {
                lua_pushvalue(L, -1);
                sf_push_redacted(L, s, len, 0, secret, slen);
                lua_rawset(L, list);
                renamed = 1;
            }
        }
    }
    if (renamed) {
        lua_pushnil(L);
        while (lua_next(L, list) != 0) { /* old key, new key */
            lua_pushvalue(L, -2);
            lua_rawget(L, idx);          /* old key, new key, value */
            lua_rawset(L, idx);          /* t[new] = value */
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, idx);          /* t[old] = nil */
        }
    }
    lua_pop(L, 1);
}

void sf_redact_value(lua_State *L, int idx, const char *secret, size_t slen) {
    idx = sf_absindex(L, idx);
    if (secret == NULL || slen == 0) return;
    if (lua_type(L, idx) == LUA_TSTRING) sf_redact(L, idx, secret, slen);
    else redact_value(L, idx, secret, slen, 0);
}

/* core.redact(text, secret): text with every copy of secret replaced by
 * "[redacted]". The one redaction rule, for Lua code too. */
static int l_redact(lua_State *L) {
    size_t n, slen = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *secret = luaL_optlstring(L, 2, NULL, &slen);
    if (lua_type(L, 1) != LUA_TSTRING) luaL_argerror(L, 1, "a string is expected");
    sf_push_redacted(L, s, n, 0, secret, slen);
    return 1;
}

/* Library sources: lua/seekrflow/…, an installed …/seekrflow/…, bin/seekrflow. */
static int is_library_source(const char *src) {
    const char *base;
    if (src == NULL || src[0] != '@') return 0;
    src++;
    if (strncmp(src, "seekrflow/", 10) == 0 || strstr(src, "/seekrflow/") != NULL) return 1;
    base = strrchr(src, '/');
    base = base ? base + 1 : src;
    return strcmp(base, "seekrflow") == 0 || strcmp(base, "seekrflow-sim") == 0;
}

/* Sets err.where to the first caller outside the library ("script.lua:5"). */
static void set_where(lua_State *L, int err_idx) {
    lua_Debug ar;
    int level;
    for (level = 1; level < 40 && lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
        if (is_library_source(ar.source)) continue;
        lua_pushfstring(L, "%s:%d", ar.short_src, ar.currentline);
        lua_setfield(L, err_idx, "where");
        return;
    }
}

void sf_push_error(lua_State *L, const char *kind, const char *message) {
    int idx;
    lua_createtable(L, 0, 8);
    idx = lua_gettop(L);
    lua_pushstring(L, kind);
    lua_setfield(L, idx, "kind");
    lua_pushstring(L, message);
    lua_setfield(L, idx, "message");
    set_where(L, idx);
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_error_mt);
    lua_setmetatable(L, idx);
}

int sf_arg_error(lua_State *L, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sf_push_error(L, "invalid_argument", msg);
    return lua_error(L);
}

/* Pushes field name of table t as a string when it is a non-empty string or
 * a number; returns 0 (pushing nothing) otherwise. */
static int push_text_field(lua_State *L, int t, const char *name) {
    lua_getfield(L, t, name);
    if ((lua_type(L, -1) == LUA_TSTRING && sf_rawlen(L, -1) > 0) || lua_type(L, -1) == LUA_TNUMBER) {
        lua_tostring(L, -1);
        return 1;
    }
    lua_pop(L, 1);
    return 0;
}

/* "where: seekrflow status error: <message> (HTTP 404 not_found, GET <url>,
 * request id X, after 3 attempts)" */
static int error_tostring(lua_State *L) {
    int base, parts = 0;
    double attempts;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    base = lua_gettop(L);
    if (push_text_field(L, 1, "where")) lua_pushliteral(L, ": ");
    lua_pushliteral(L, "seekrflow ");
    if (!push_text_field(L, 1, "kind")) lua_pushliteral(L, "unknown");
    lua_pushliteral(L, " error: ");
    if (!push_text_field(L, 1, "message")) lua_pushliteral(L, "");
    lua_concat(L, lua_gettop(L) - base);
    if (push_text_field(L, 1, "status")) {
        lua_pushliteral(L, "HTTP ");
        lua_insert(L, -2);
        if (push_text_field(L, 1, "class")) {
            lua_pushliteral(L, " ");
            lua_insert(L, -2);
            lua_concat(L, 4);
        } else {
            lua_concat(L, 2);
        }
        parts++;
    }
    if (push_text_field(L, 1, "method")) {
        if (push_text_field(L, 1, "url")) {
            lua_pushliteral(L, " ");
            lua_insert(L, -2);
            lua_concat(L, 3);
            parts++;
        } else {
            lua_pop(L, 1);
        }
    }
    if (push_text_field(L, 1, "request_id")) {
        lua_pushliteral(L, "request id ");
        lua_insert(L, -2);
        lua_concat(L, 2);
        parts++;
    }
    lua_getfield(L, 1, "attempts");
    attempts = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (attempts > 1) {
        lua_pushfstring(L, "after %d attempts", (int)attempts);
        parts++;
    }
    if (parts > 0) {
        int i;
        for (i = parts; i > 1; i--) { /* join the parts with ", " */
            lua_pushliteral(L, ", ");
            lua_insert(L, -i);
        }
        lua_concat(L, 2 * parts - 1);
        lua_pushliteral(L, " (");
        lua_insert(L, -2);
        lua_pushliteral(L, ")");
        lua_concat(L, 4);
    }
    return 1;
}

void sf_open_errors(lua_State *L) {
    lua_pushcfunction(L, l_redact);
    lua_setfield(L, -2, "redact");
    /* Made once per Lua state: luaopen_seekrflow_core builds the core once. */
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushstring(L, "seekrflow.error");
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_error_mt);
    lua_setfield(L, -2, "error_mt"); /* module table is below */
}
