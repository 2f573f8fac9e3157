/*
 * sf_error.c - structured error values and the small byte buffer.
 *
 * Errors are plain tables sharing one metatable, so Lua code can read their
 * fields, build its own (seekrflow.errors does), and print them with
 * tostring(). Every error the C core produces goes through here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_core.h"

int sf_buf_reserve(sf_buf *b, size_t total) {
    if (total > b->cap) {
        char *grown = realloc(b->data, total);
        if (grown == NULL) return 0;
        b->data = grown;
        b->cap = total;
    }
    return 1;
}

int sf_buf_append(sf_buf *b, const char *s, size_t n) {
    if (n > ((size_t)-1) / 2 - b->len) return 0;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        if (!sf_buf_reserve(b, cap)) return 0;
    }
    if (n > 0) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 1;
}

void sf_buf_reset(sf_buf *b) {
    b->len = 0;
    if (b->data != NULL) b->data[0] = '\0';
}

void sf_buf_free(sf_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void sf_push_error(lua_State *L, const char *kind, const char *message) {
    lua_createtable(L, 0, 8);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_error_mt);
    lua_setmetatable(L, -2);
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

void sf_redact(lua_State *L, int idx, const char *secret) {
    size_t slen, len;
    const char *s;
    idx = sf_absindex(L, idx);
    if (secret == NULL || lua_type(L, idx) != LUA_TSTRING) return;
    slen = strlen(secret);
    s = lua_tolstring(L, idx, &len);
    if (slen == 0 || strstr(s, secret) == NULL) return;
    {
        luaL_Buffer b;
        const char *p = s, *hit;
        luaL_buffinit(L, &b);
        while ((hit = strstr(p, secret)) != NULL) {
            luaL_addlstring(&b, p, (size_t)(hit - p));
            luaL_addstring(&b, "[redacted]");
            p = hit + slen;
        }
        luaL_addstring(&b, p);
        luaL_pushresult(&b);
        lua_replace(L, idx);
    }
}

/* Copies the string or number field name of table t into out ("" if absent). */
static void field_text(lua_State *L, int t, const char *name, char *out, size_t cap) {
    lua_getfield(L, t, name);
    if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)
        snprintf(out, cap, "%s", lua_tostring(L, -1));
    else
        out[0] = '\0';
    lua_pop(L, 1);
}

static void add_part(char *parts, size_t cap, const char *text) {
    size_t used = strlen(parts);
    if (text[0] == '\0' || used >= cap - 1) return;
    snprintf(parts + used, cap - used, "%s%s", used ? ", " : "", text);
}

/* "seekrflow status error: <message> (HTTP 404 not_found, GET <url>, request id X, after 3 attempts)" */
static int error_tostring(lua_State *L) {
    char kind[64], message[1024], status[32], klass[64], method[16], url[512], rid[160];
    char parts[1024] = "", tmp[640];
    double attempts;
    luaL_checktype(L, 1, LUA_TTABLE);
    field_text(L, 1, "kind", kind, sizeof kind);
    field_text(L, 1, "message", message, sizeof message);
    field_text(L, 1, "status", status, sizeof status);
    field_text(L, 1, "class", klass, sizeof klass);
    field_text(L, 1, "method", method, sizeof method);
    field_text(L, 1, "url", url, sizeof url);
    field_text(L, 1, "request_id", rid, sizeof rid);
    lua_getfield(L, 1, "attempts");
    attempts = lua_tonumber(L, -1);
    lua_pop(L, 1);

    if (status[0]) {
        snprintf(tmp, sizeof tmp, "HTTP %s%s%s", status, klass[0] ? " " : "", klass);
        add_part(parts, sizeof parts, tmp);
    }
    if (method[0] && url[0]) {
        snprintf(tmp, sizeof tmp, "%s %s", method, url);
        add_part(parts, sizeof parts, tmp);
    }
    if (rid[0]) {
        snprintf(tmp, sizeof tmp, "request id %s", rid);
        add_part(parts, sizeof parts, tmp);
    }
    if (attempts > 1) {
        snprintf(tmp, sizeof tmp, "after %.0f attempts", attempts);
        add_part(parts, sizeof parts, tmp);
    }
    lua_pushfstring(L, "seekrflow %s error: %s%s%s%s", kind[0] ? kind : "unknown", message,
                    parts[0] ? " (" : "", parts, parts[0] ? ")" : "");
    return 1;
}

void sf_open_errors(lua_State *L) {
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushstring(L, "seekrflow.error");
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_error_mt);
    lua_setfield(L, -2, "error_mt"); /* module table is below */
}
