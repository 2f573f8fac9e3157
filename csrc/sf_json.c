/*
 * sf_json.c - JSON to Lua tables and back, on a private lua-cjson instance.
 *
 * lua-cjson parses; this file only shapes what it returns:
 *   - JSON null inside an object becomes an absent key (nil), so
 *     `if record.processing_at then` works; null inside an array stays as
 *     the sentinel core.null so the array keeps its length;
 *   - integral numbers become Lua integers on 5.3+ (3, not 3.0);
 *   - arrays, empty ones included, carry core.array_mt, so `files = []` stays
 *     an array and encodes back as [];
 *   - objects at known schema positions get the helper metatables.
 *
 * lua-cjson 2.1.0 (Debian's) decodes [] and {} to the same empty table.
 * Before decoding, each empty array in the text is rewritten to ["\u0000"],
 * a one-element array whose element is a one-byte NUL string; after decoding
 * such arrays are emptied again and marked. The rewrite is only done when
 * the text itself contains no \u0000 escape and no NUL byte, so the marker
 * cannot be confused with data; otherwise empty arrays fall back to plain
 * empty tables (documented).
 */
#include <math.h>
#include <string.h>

#include "sf_core.h"

const char *const sf_kind_names[SF_KIND_COUNT] = {
    "value", "data_job", "data_job_list", "ingestion_job", "file_record",
    "job_file", "timeline_event", "alignment_job", "alignment_output",
    "file", "file_list",
};

/* ---- empty-array rewrite ---- */

static const char marker_text[] = "[\"\\u0000\"]";

static int is_json_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Counts empty arrays outside strings; *unsafe when the marker could clash. */
static size_t scan_empty_arrays(const char *s, size_t n, int *unsafe) {
    size_t i, count = 0;
    int in_string = 0;
    *unsafe = 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\0') {
            *unsafe = 1;
            return 0;
        }
        if (in_string) {
            if (c == '\\' && i + 1 < n) {
                if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0) {
                    *unsafe = 1;
                    return 0;
                }
                i++; /* skip the escaped character */
            } else if (c == '"') {
                in_string = 0;
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[') {
            size_t j = i + 1;
            while (j < n && is_json_space(s[j])) j++;
            if (j < n && s[j] == ']') count++;
        }
    }
    return count;
}

/* Copies s into out with each empty array replaced by the marker. Spans
 * between arrays are copied whole into a buffer sized once up front. */
static int rewrite_empty_arrays(const char *s, size_t n, size_t empties, sf_buf *out) {
    size_t i, span = 0;
    int in_string = 0;
    (void)empties; /* the caller reserved room for them */
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') i++;
            else if (c == '"') in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[') {
            size_t j = i + 1;
            while (j < n && is_json_space(s[j])) j++;
            if (j < n && s[j] == ']') {
                if (!sf_buf_append(out, s + span, i - span) ||
                    !sf_buf_append(out, marker_text, sizeof marker_text - 1))
                    return 0;
                i = j;
                span = j + 1;
            }
        }
    }
    return sf_buf_append(out, s + span, n - span);
}

/* ---- normalisation ---- */

/* The kind of the value found under field `name` of an object of `kind`. */
static sf_kind field_kind(sf_kind kind, const char *name) {
    switch (kind) {
    case SF_KIND_DATA_JOB:
        if (strcmp(name, "ingestion_jobs") == 0) return SF_KIND_INGESTION_JOB;
        if (strcmp(name, "files") == 0) return SF_KIND_JOB_FILE;
        if (strcmp(name, "timeline") == 0) return SF_KIND_TIMELINE_EVENT;
        if (strcmp(name, "alignment_job") == 0) return SF_KIND_ALIGNMENT_JOB;
        return SF_KIND_NONE;
    case SF_KIND_DATA_JOB_LIST:
        return strcmp(name, "data") == 0 ? SF_KIND_DATA_JOB : SF_KIND_NONE;
    case SF_KIND_FILE_LIST:
        return strcmp(name, "data") == 0 ? SF_KIND_FILE : SF_KIND_NONE;
    case SF_KIND_INGESTION_JOB:
        return strcmp(name, "records") == 0 ? SF_KIND_FILE_RECORD : SF_KIND_NONE;
    case SF_KIND_ALIGNMENT_JOB:
        return strcmp(name, "output_files") == 0 ? SF_KIND_OUTPUT : SF_KIND_NONE;
    default:
        return SF_KIND_NONE;
    }
}

void sf_json_setmeta(lua_State *L, int idx, sf_kind kind) {
    idx = sf_absindex(L, idx);
    if (kind == SF_KIND_NONE) return;
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_kind_mts);
    lua_rawgeti(L, -1, (int)kind);
    lua_setmetatable(L, idx);
    lua_pop(L, 1);
}

/* Replaces a float with an integral value by the equal integer (5.3+). */
static void integer_in_place(lua_State *L) {
#if SF_HAVE_INTEGERS
    if (!lua_isinteger(L, -1)) {
        lua_Number d = lua_tonumber(L, -1);
        if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
            lua_pop(L, 1);
            lua_pushinteger(L, (lua_Integer)d);
        }
    }
#else
    (void)L;
#endif
}

static int is_marker(lua_State *L, int idx) {
    size_t n;
    const char *s;
    if (lua_type(L, idx) != LUA_TSTRING) return 0;
    s = lua_tolstring(L, idx, &n);
    return n == 1 && s[0] == '\0';
}

/* Shapes the decoded table at idx. kind: of the object, or of each element
 * when the table is an array. Depth is bounded by cjson's decode depth. */
static void normalise(lua_State *L, int idx, sf_kind kind, int markers) {
    idx = sf_absindex(L, idx);
    luaL_checkstack(L, 6, "seekrflow: JSON too deeply nested");
    lua_rawgeti(L, idx, 1);
    if (!lua_isnil(L, -1)) { /* an array: cjson gives objects string keys only */
        size_t i, n = sf_rawlen(L, idx);
        if (markers && n == 1 && is_marker(L, -1)) {
            lua_pop(L, 1);
            lua_pushnil(L);
            lua_rawseti(L, idx, 1);
        } else {
            lua_pop(L, 1);
            for (i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, (int)i);
                if (lua_type(L, -1) == LUA_TNUMBER) {
                    integer_in_place(L);
                    lua_rawseti(L, idx, (int)i);
                } else {
                    if (lua_type(L, -1) == LUA_TTABLE) normalise(L, -1, kind, markers);
                    lua_pop(L, 1);
                }
            }
        }
        sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_array_mt);
        lua_setmetatable(L, idx);
        return;
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        int t = lua_type(L, -1);
        if (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == NULL) {
            /* Clearing an existing field during traversal is allowed. */
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, idx);
        } else if (t == LUA_TNUMBER) {
            integer_in_place(L);
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, idx);
        } else if (t == LUA_TTABLE) {
            sf_kind child = SF_KIND_NONE;
            if (lua_type(L, -2) == LUA_TSTRING) child = field_kind(kind, lua_tostring(L, -2));
            normalise(L, -1, child, markers);
            lua_pop(L, 1);
        } else {
            lua_pop(L, 1);
        }
    }
    sf_json_setmeta(L, idx, kind);
}

int sf_json_decode(lua_State *L, const char *text, size_t len, sf_kind kind) {
    int unsafe = 0, markers = 0, status;
    size_t empties = scan_empty_arrays(text, len, &unsafe);
    sf_buf rewritten = {NULL, 0, 0};

    if (!unsafe && empties > 0) {
        if (!sf_buf_reserve(&rewritten, len + empties * sizeof marker_text + 1) ||
            !rewrite_empty_arrays(text, len, empties, &rewritten)) {
            sf_buf_free(&rewritten);
            lua_pushliteral(L, "out of memory while decoding JSON");
            return 0;
        }
        text = rewritten.data;
        len = rewritten.len;
        markers = 1;
    }
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_decode);
    lua_pushlstring(L, text, len);
    sf_buf_free(&rewritten);
    status = lua_pcall(L, 1, 1, 0);
    if (status != LUA_OK) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_pushliteral(L, "invalid JSON");
        }
        return 0;
    }
    if (lua_type(L, -1) == LUA_TTABLE) {
        normalise(L, -1, kind, markers);
    } else if (lua_type(L, -1) == LUA_TNUMBER) {
        integer_in_place(L);
    } else if (lua_type(L, -1) == LUA_TLIGHTUSERDATA) {
        lua_pop(L, 1); /* a top-level null is nil */
        lua_pushnil(L);
    }
    return 1;
}

/* ---- encoding ---- */

static const char placeholder[] = "\0sf-empty-array";
static const char placeholder_json[] = "\"\\u0000sf-empty-array\"";

static int is_empty_array(lua_State *L, int idx) {
    int is_array;
    idx = sf_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return 0;
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_array_mt);
    is_array = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!is_array) return 0;
    lua_pushnil(L);
    if (lua_next(L, idx) != 0) {
        lua_pop(L, 2);
        return 0;
    }
    return 1;
}

/* Copies the value at idx, swapping empty marked arrays for a placeholder.
 * Returns 0 when nesting is too deep (a cycle, most likely). */
static int copy_for_encode(lua_State *L, int idx, int depth) {
    idx = sf_absindex(L, idx);
    if (depth > SF_JSON_MAX_DEPTH) return 0;
    if (lua_type(L, idx) != LUA_TTABLE) {
        lua_pushvalue(L, idx);
        return 1;
    }
    if (is_empty_array(L, idx)) {
        lua_pushlstring(L, placeholder, sizeof placeholder - 1);
        return 1;
    }
    luaL_checkstack(L, 6, "seekrflow: value too deeply nested to encode");
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (!copy_for_encode(L, -1, depth + 1)) {
            lua_pop(L, 3);
            return 0;
        }
        lua_remove(L, -2);       /* drop the original value */
        lua_pushvalue(L, -2);    /* key */
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    return 1;
}

static int has_empty_array(lua_State *L, int idx, int depth) {
    int found = 0;
    idx = sf_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE || depth > SF_JSON_MAX_DEPTH) return 0;
    if (is_empty_array(L, idx)) return 1;
    luaL_checkstack(L, 4, "seekrflow: value too deeply nested to encode");
    lua_pushnil(L);
    while (!found && lua_next(L, idx) != 0) {
        found = has_empty_array(L, -1, depth + 1);
        lua_pop(L, 1);
    }
    if (found) lua_pop(L, 1); /* the key left by the interrupted traversal */
    return found;
}

int sf_json_encode(lua_State *L, int idx) {
    int swapped;
    idx = sf_absindex(L, idx);
    swapped = has_empty_array(L, idx, 0);
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_encode);
    if (swapped) {
        if (!copy_for_encode(L, idx, 0)) {
            lua_pop(L, 1);
            lua_pushliteral(L, "value is nested too deeply to encode (a table that contains itself?)");
            return 0;
        }
    } else {
        lua_pushvalue(L, idx);
    }
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_pushliteral(L, "value cannot be encoded as JSON");
        }
        return 0;
    }
    if (swapped) {
        luaL_Buffer b;
        size_t n, plen = sizeof placeholder_json - 1;
        const char *s = lua_tolstring(L, -1, &n), *p = s, *hit;
        luaL_buffinit(L, &b);
        while ((hit = strstr(p, placeholder_json)) != NULL) {
            luaL_addlstring(&b, p, (size_t)(hit - p));
            luaL_addstring(&b, "[]");
            p = hit + plen;
        }
        luaL_addlstring(&b, p, n - (size_t)(p - s));
        luaL_pushresult(&b);
        lua_remove(L, -2);
    }
    return 1;
}

/* ---- Lua-facing functions: core.json_decode / core.json_encode ---- */

sf_kind sf_kind_from_name(lua_State *L, const char *name, const char *where) {
    int k;
    for (k = 0; k < SF_KIND_COUNT; k++)
        if (strcmp(name, sf_kind_names[k]) == 0) return (sf_kind)k;
    sf_arg_error(L, "%s: unknown kind '%s' (known: data_job, data_job_list, ingestion_job, file_record, job_file, "
                    "timeline_event, alignment_job, alignment_output, file, file_list, value)", where, name);
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
    int k;
    /* A private cjson instance: a host that changes global cjson settings
     * (cjson.decode_max_depth, …) cannot change our results. */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        luaL_error(L, "seekrflow needs lua-cjson, which could not be loaded. "
                      "Install it (Debian: apt-get install lua-cjson; LuaRocks: luarocks install lua-cjson) "
                      "for the Lua that runs seekrflow (" SF_BUILT_FOR ").");
    }
    lua_getfield(L, -1, "new");
    lua_call(L, 0, 1);
    lua_remove(L, -2);
    lua_getfield(L, -1, "decode_max_depth");
    lua_pushinteger(L, SF_JSON_MAX_DEPTH);
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "encode_max_depth");
    lua_pushinteger(L, SF_JSON_MAX_DEPTH);
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "decode_invalid_numbers");
    lua_pushboolean(L, 0);
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "encode_invalid_numbers");
    lua_pushboolean(L, 0);
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "decode");
    sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_decode);
    lua_getfield(L, -1, "encode");
    sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_encode);
    lua_getfield(L, -1, "null");
    lua_setfield(L, -3, "null");
    lua_pop(L, 1);

    /* core.array_mt: marks tables decoded from JSON arrays. */
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "seekrflow.array");
    lua_setfield(L, -2, "__name");
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype"); /* dkjson and others honour this */
    lua_pushvalue(L, -1);
    sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_array_mt);
    lua_setfield(L, -2, "array_mt");

    /* One metatable per schema kind; sf_data_jobs.c fills their methods. */
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

    lua_pushcfunction(L, l_decode);
    lua_setfield(L, -2, "json_decode");
    lua_pushcfunction(L, l_encode);
    lua_setfield(L, -2, "json_encode");
    lua_pushcfunction(L, l_is_array);
    lua_setfield(L, -2, "is_array");
}
