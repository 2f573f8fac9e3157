/*
 * sf_module.c - luaopen_seekrflow_core: builds the seekrflow.core table and
 * registers seekrflow.data_jobs.
 */
#include "sf_core.h"

const char sf_key_client_mt = 0;
const char sf_key_request_mt = 0;
const char sf_key_error_mt = 0;
const char sf_key_array_mt = 0;
const char sf_key_decode = 0;
const char sf_key_encode = 0;
const char sf_key_data_jobs_mt = 0;
const char sf_key_kind_mts = 0;
const char sf_key_client_field = 0;
const char sf_key_files_mt = 0;
const char sf_key_resources = 0;

/* Read (as bytes) by seekrflow/init.lua when loading fails, so it can say
 * which Lua this file was built for instead of "undefined symbol". */
#if defined(__GNUC__)
__attribute__((used))
#endif
const char sf_built_for_marker[] = "seekrflow-core-built-for=" SF_BUILT_FOR ";";

/* core.new_error(kind, message[, fields]): the same error values as C's. */
static int l_new_error(lua_State *L) {
    const char *kind = luaL_checkstring(L, 1);
    const char *message = luaL_checkstring(L, 2);
    sf_push_error(L, kind, message);
    if (lua_type(L, 3) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, 3) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        }
    }
    return 1;
}

SF_EXPORT int luaopen_seekrflow_core(lua_State *L);

/* The core table of this Lua state, once built. */
static const char key_core = 0;

/* package.loaded["seekrflow.data_jobs"] = core.data_jobs, with the core table
 * on top. On every require: a reload may have cleared package.loaded. */
static void publish_data_jobs(lua_State *L) {
    lua_getglobal(L, "package");
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "loaded");
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_getfield(L, -3, "data_jobs");
            lua_setfield(L, -2, "seekrflow.data_jobs");
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void build_core(lua_State *L) {
    static const luaL_Reg functions[] = {{"new_error", l_new_error}, {NULL, NULL}};
    lua_createtable(L, 0, 24);
    lua_pushvalue(L, -1);
    sf_rawsetp(L, LUA_REGISTRYINDEX, &key_core);
    lua_pushliteral(L, SF_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushliteral(L, SF_BUILT_FOR);
    lua_setfield(L, -2, "built_for");
    lua_pushinteger(L, SF_JSON_MAX_DEPTH);
    lua_setfield(L, -2, "json_max_depth");
    sf_setfuncs(L, functions);
    sf_open_errors(L);
    sf_open_json(L);
    sf_open_http(L);
    sf_open_args(L);
    sf_open_downloads(L);
    sf_open_data_jobs(L);
    sf_open_detail(L);
    sf_open_files(L);
    sf_open_platform(L);
}

SF_EXPORT int luaopen_seekrflow_core(lua_State *L) {
    /* Built once per Lua state. A second require (a test runner or an
     * editor reloading modules clears package.loaded) gets the same table:
     * building it again would replace the registry's metatables, and then
     * the __gc of every client and request made before would no longer
     * recognise its object and free nothing. */
    sf_rawgetp(L, LUA_REGISTRYINDEX, &key_core);
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        build_core(L);
    }
    publish_data_jobs(L);
    return 1;
}
