/*
 * fuzz/resource_args.c - libFuzzer harness: the argument checks of the
 * resource methods (csrc/sf_args.c).
 *
 * The first byte picks the check, the rest is its input:
 *   0: an id (sf_check_id): accepted ids are 1..SF_MAX_ID_LEN bytes, hold no
 *      NUL, no path, query or escape syntax, no space or control byte, and
 *      are not a dot segment;
 *   1: an upload path (sf_check_path): accepted paths hold no NUL and are not
 *      longer than asked;
 *   2: a fields table (sf_build_table), the rest decoded as JSON: what is
 *      accepted is exactly what the field specs allow.
 * A refusal must be an invalid_argument error value, never a crash or a
 * string error.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;

static const char *const colours[] = {"red", "green", "", NULL};
static const field_spec specs[] = {
    {"name", F_STRING, F_NULLABLE, 1, 16, NULL},
    {"colour", F_STRING, 0, 0, 8, colours},
    {"limit", F_INT, 0, 1, 100, NULL},
    {"offset", F_INT, 0, 0, NO_MAX, NULL},
    {"file_ids", F_STRING_LIST, 0, 1, 4, NULL},
    SF_FIELDS_END};

static int check_id(lua_State *l) {
    sf_check_id(l, 1, "id", "fuzz");
    return 0;
}

static int check_path(lua_State *l) {
    sf_check_path(l, 1, "path", "fuzz", 64, NULL);
    return 0;
}

static int build(lua_State *l) {
    sf_build_table(l, 1, specs, "fuzz", "fields");
    return 1;
}

/* A refusal is an error table of kind invalid_argument. */
static void expect_arg_error(void) {
    if (lua_type(L, -1) != LUA_TTABLE) abort();
    lua_getfield(L, -1, "kind");
    if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "invalid_argument") != 0) abort();
    lua_pop(L, 1);
}

static void accepted_id(const char *s, size_t n) {
    size_t i;
    if (n == 0 || n > SF_MAX_ID_LEN || strspn(s, ".") == n) abort();
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f || strchr("/?#%\\", c) != NULL) abort();
    }
}

static void accepted_string(const char *name, const field_spec *f) {
    size_t n;
    const char *s;
    lua_getfield(L, -1, name);
    if (lua_isnil(L, -1) || lua_type(L, -1) == LUA_TLIGHTUSERDATA) { /* absent, or seekrflow.null */
        if (lua_type(L, -1) == LUA_TLIGHTUSERDATA && !(f->flags & F_NULLABLE)) abort();
        lua_pop(L, 1);
        return;
    }
    if (lua_type(L, -1) != LUA_TSTRING) abort();
    s = lua_tolstring(L, -1, &n);
    if (memchr(s, '\0', n) != NULL || (long)n < f->min || (long)n > f->max) abort();
    if (f->values != NULL) {
        const char *const *v;
        int found = 0;
        for (v = f->values; *v != NULL; v++) found |= strcmp(*v, s) == 0;
        if (!found) abort();
    }
    lua_pop(L, 1);
}

static void accepted_table(void) {
    const field_spec *f;
    for (f = specs; f->name != NULL; f++) {
        if (f->type == F_STRING) {
            accepted_string(f->name, f);
        } else if (f->type == F_INT) {
            lua_getfield(L, -1, f->name);
            if (!lua_isnil(L, -1)) {
                lua_Number v = lua_tonumber(L, -1);
                if (!lua_isinteger(L, -1) || v < f->min || v > f->max) abort();
            }
            lua_pop(L, 1);
        } else {
            lua_getfield(L, -1, f->name);
            if (!lua_isnil(L, -1)) {
                size_t i, n = sf_rawlen(L, -1);
                if ((long)n < f->min || (long)n > f->max) abort();
                for (i = 1; i <= n; i++) {
                    size_t len;
                    const char *s;
                    lua_rawgeti(L, -1, (int)i);
                    s = lua_tolstring(L, -1, &len);
                    if (s == NULL) abort();
                    accepted_id(s, len);
                    lua_pop(L, 1);
                }
            }
            lua_pop(L, 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int base;
    L = fuzz_core_state();
    if (size == 0) return 0;
    base = lua_gettop(L);
    switch (data[0] % 3) {
    case 0:
        lua_pushcfunction(L, check_id);
        lua_pushlstring(L, (const char *)data + 1, size - 1);
        if (lua_pcall(L, 1, 0, 0) == LUA_OK) accepted_id((const char *)data + 1, size - 1);
        else expect_arg_error();
        break;
    case 1:
        lua_pushcfunction(L, check_path);
        lua_pushlstring(L, (const char *)data + 1, size - 1);
        if (lua_pcall(L, 1, 0, 0) == LUA_OK) {
            if (size - 1 == 0 || size - 1 > 64 || memchr(data + 1, '\0', size - 1) != NULL) abort();
        } else {
            expect_arg_error();
        }
        break;
    default:
        lua_pushcfunction(L, build);
        if (!sf_json_decode(L, (const char *)data + 1, size - 1, SF_KIND_NONE)) break;
        if (lua_pcall(L, 1, 1, 0) == LUA_OK) accepted_table();
        else expect_arg_error();
        break;
    }
    lua_settop(L, base);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
