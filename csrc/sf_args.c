/*
 * sf_args.c - the generic argument checks of the resource methods: ids,
 * field tables (names, types, ranges, enum values), file paths.
 *
 * Every check runs before any I/O. A value is refused, never cut: a NUL byte
 * or an oversized string is an invalid_argument error, because C strings and
 * fixed buffers further down would silently shorten it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sf_core.h"

const char *const sf_sort_orders[] = {"asc", "desc", NULL};

/* Registry key of core.null (read once when the core opens). */
static const char key_null = 0;

static int in_enum(const char *s, const char *const *values) {
    for (; *values != NULL; values++)
        if (strcmp(s, *values) == 0) return 1;
    return 0;
}

static void join(const char *const *values, char *out, size_t cap) {
    out[0] = '\0';
    for (; *values != NULL; values++) {
        size_t used = strlen(out);
        if (used + 1 >= cap) break;
        snprintf(out + used, cap - used, "%s\"%s\"", used ? ", " : "", *values);
    }
}

int sf_is_null(lua_State *L, int idx) {
    int is;
    if (lua_type(L, idx) != LUA_TLIGHTUSERDATA) return 0;
    idx = sf_absindex(L, idx);
    sf_rawgetp(L, LUA_REGISTRYINDEX, &key_null);
    is = lua_rawequal(L, idx, -1);
    lua_pop(L, 1);
    return is;
}

/* A data job id or file id: non-empty, at most SF_MAX_ID_LEN bytes, no
 * path/query syntax, no space, control character or NUL, and not a dot
 * segment ("." or "..", which URL resolution folds into the parent path). */
const char *sf_check_id(lua_State *L, int idx, const char *what, const char *where) {
    size_t n, i;
    const char *s;
    if (lua_type(L, idx) != LUA_TSTRING)
        sf_arg_error(L, "%s: %s must be a string like \"dj-1b75f4d5-…\" (got %s)", where, what, luaL_typename(L, idx));
    s = lua_tolstring(L, idx, &n);
    if (n == 0) sf_arg_error(L, "%s: %s is empty", where, what);
    if (n > SF_MAX_ID_LEN)
        sf_arg_error(L, "%s: %s is %lu bytes long; ids are at most %d", where, what, (unsigned long)n, SF_MAX_ID_LEN);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0) sf_arg_error(L, "%s: %s contains a NUL byte; ids never do", where, what);
        if (c <= ' ' || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '%' || c == '\\')
            sf_arg_error(L, "%s: %s \"%s\" contains '%c' or a space/control character; ids never do (a pasted URL?)",
                         where, what, n > 80 ? "…" : s, c > ' ' && c != 0x7f ? c : ' ');
    }
    if (strspn(s, ".") == n)
        sf_arg_error(L, "%s: %s \"%s\" is a dot path segment, not an id (give the id itself, like \"dj-…\")", where,
                     what, s);
    return s;
}

/* A file system path argument: a string without NUL, at most max bytes. */
const char *sf_check_path(lua_State *L, int idx, const char *what, const char *where, size_t max, size_t *len) {
    size_t n;
    const char *s;
    if (lua_type(L, idx) != LUA_TSTRING)
        sf_arg_error(L, "%s: give the %s as a string (got %s)", where, what, luaL_typename(L, idx));
    s = lua_tolstring(L, idx, &n);
    if (n == 0) sf_arg_error(L, "%s: the %s is empty", where, what);
    if (memchr(s, '\0', n) != NULL)
        sf_arg_error(L, "%s: the %s contains a NUL byte (\"%s…\"): refused rather than cut short", where, what, s);
    if (n > max) sf_arg_error(L, "%s: the %s is %lu bytes long (at most %lu)", where, what, (unsigned long)n,
                              (unsigned long)max);
    if (len != NULL) *len = n;
    return s;
}

static void check_string(lua_State *L, const field_spec *f, const char *where) {
    size_t n;
    const char *s;
    if (lua_type(L, -1) != LUA_TSTRING)
        sf_arg_error(L, "%s: '%s' must be a string%s (got %s)", where, f->name,
                     (f->flags & F_NULLABLE) ? " or seekrflow.null to clear it" : "", luaL_typename(L, -1));
    s = lua_tolstring(L, -1, &n);
    if (memchr(s, '\0', n) != NULL)
        sf_arg_error(L, "%s: '%s' contains a NUL byte: refused rather than cut short", where, f->name);
    if ((long)n < f->min || (unsigned long)n > (unsigned long)f->max) {
        if (f->min == 0) sf_arg_error(L, "%s: '%s' is %lu bytes long (at most %ld)", where, f->name, (unsigned long)n,
                                      f->max);
        sf_arg_error(L, "%s: '%s' must be %ld to %ld characters long (got %lu)", where, f->name, f->min, f->max,
                     (unsigned long)n);
    }
    if (f->values != NULL && !in_enum(s, f->values)) {
        char list[300];
        join(f->values, list, sizeof list);
        sf_arg_error(L, "%s: '%s' must be one of %s (got \"%s\")", where, f->name, list, n > 80 ? "…" : s);
    }
}

static void check_int(lua_State *L, const field_spec *f, const char *where) {
    double v;
    if (lua_type(L, -1) != LUA_TNUMBER || lua_tonumber(L, -1) != floor(lua_tonumber(L, -1)))
        sf_arg_error(L, "%s: '%s' must be a whole number", where, f->name);
    v = lua_tonumber(L, -1);
    if (v < (double)f->min || v > (double)f->max) {
        if (f->max == NO_MAX) sf_arg_error(L, "%s: '%s' must be %ld or more (got %.0f)", where, f->name, f->min, v);
        sf_arg_error(L, "%s: '%s' must be from %ld to %ld (got %.0f)", where, f->name, f->min, f->max, v);
    }
    sf_pushinteger(L, (long long)v);
    lua_replace(L, -2);
}

static void check_list(lua_State *L, const field_spec *f, const char *where) {
    size_t i, n;
    int list_idx = lua_gettop(L);
    if (lua_type(L, list_idx) != LUA_TTABLE)
        sf_arg_error(L, "%s: '%s' must be a list of ids like { \"file-…\" }", where, f->name);
    n = sf_rawlen(L, list_idx);
    if ((long)n < f->min) sf_arg_error(L, "%s: '%s' must name at least %ld id", where, f->name, f->min);
    if ((long)n > f->max) sf_arg_error(L, "%s: '%s' may name at most %ld ids", where, f->name, f->max);
    lua_createtable(L, (int)n, 0);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, list_idx, (int)i);
        sf_check_id(L, -1, f->name, where);
        lua_rawseti(L, -2, (int)i);
    }
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_array_mt);
    lua_setmetatable(L, -2);
    lua_replace(L, list_idx);
}

static void known_fields(const field_spec *specs, char *known, size_t cap) {
    const field_spec *f;
    known[0] = '\0';
    for (f = specs; f->name != NULL; f++) {
        size_t used = strlen(known);
        if (used + 1 >= cap) break;
        snprintf(known + used, cap - used, "%s%s", used ? ", " : "", f->name);
    }
}

static void unknown_field(lua_State *L, const field_spec *specs, const char *where, const char *what) {
    char known[300];
    known_fields(specs, known, sizeof known);
    if (lua_type(L, -1) == LUA_TSTRING)
        sf_arg_error(L, "%s: unknown %s field '%s' (known: %s)", where, what, lua_tostring(L, -1), known);
    sf_arg_error(L, "%s: %s field names must be strings (got a %s key; known: %s)", where, what,
                 luaL_typename(L, -1), known);
}

/* Checks the table at idx against specs and pushes a clean copy: unknown
 * keys are errors, integers become Lua integers, lists become JSON arrays,
 * seekrflow.null stays (sent as JSON null) where a field allows it. */
void sf_build_table(lua_State *L, int idx, const field_spec *specs, const char *where, const char *what) {
    const field_spec *f;
    int out, found = 0;
    idx = sf_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE) {
        char known[300];
        known_fields(specs, known, sizeof known);
        sf_arg_error(L, "%s: %s must be a table (fields: %s), got %s", where, what, known, luaL_typename(L, idx));
    }
    lua_newtable(L);
    out = lua_gettop(L);
    for (f = specs; f->name != NULL; f++) {
        lua_getfield(L, idx, f->name);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            if (f->flags & F_REQUIRED) sf_arg_error(L, "%s: '%s' is required", where, f->name);
            continue;
        }
        found++;
        if ((f->flags & F_NULLABLE) && sf_is_null(L, -1)) {
            /* kept as is: the encoder writes null */
        } else if (f->type == F_STRING) {
            check_string(L, f, where);
        } else if (f->type == F_INT) {
            check_int(L, f, where);
        } else {
            check_list(L, f, where);
        }
        lua_setfield(L, out, f->name);
    }
    /* Every key was one of the fields: count them instead of looking each up. */
    {
        int keys = 0;
        lua_pushnil(L);
        while (lua_next(L, idx) != 0) {
            lua_pop(L, 1);
            keys++;
        }
        if (keys != found) {
            lua_pushnil(L);
            while (lua_next(L, idx) != 0) {
                int ok = 0;
                lua_pop(L, 1);
                if (lua_type(L, -1) == LUA_TSTRING) {
                    size_t n;
                    const char *key = lua_tolstring(L, -1, &n);
                    for (f = specs; f->name != NULL; f++)
                        if (strlen(f->name) == n && memcmp(f->name, key, n) == 0) ok = 1;
                }
                if (!ok) unknown_field(L, specs, where, what);
            }
        }
    }
}

/* Needs the core table (with core.null) on top. */
void sf_open_args(lua_State *L) {
    lua_getfield(L, -1, "null");
    sf_rawsetp(L, LUA_REGISTRYINDEX, &key_null);
}
