/*
 * sf_compat.h - one place for the differences between Lua 5.1/LuaJIT,
 * 5.2/5.3 and 5.4 that the C core touches.
 *
 * Every name is prefixed sf_ and every function is static, so nothing here
 * can clash with another module's unprefixed shims when several C modules
 * are loaded into the same LuaJIT process.
 */
#ifndef SF_COMPAT_H
#define SF_COMPAT_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* LuaJIT's lua.h says "Lua 5.1"; its own header tells it apart. */
#if defined(__has_include)
#if __has_include(<luajit.h>)
#include <luajit.h>
#endif
#endif

#if !defined(LUA_VERSION_NUM) || LUA_VERSION_NUM < 501
#error "seekrflow needs Lua 5.1 or newer"
#endif

/* The module is built with -fvisibility=hidden; only luaopen_* is exported. */
#if defined(__GNUC__)
#define SF_EXPORT __attribute__((visibility("default")))
#else
#define SF_EXPORT
#endif

#ifndef LUA_OK
#define LUA_OK 0
#endif

#if LUA_VERSION_NUM >= 503
#define SF_HAVE_INTEGERS 1
#else
#define SF_HAVE_INTEGERS 0
#endif

#if LUA_VERSION_NUM >= 504
#define SF_HAVE_CLOSE 1
#else
#define SF_HAVE_CLOSE 0
#endif

/* The Lua this module was compiled against, reported by core.built_for. */
#if defined(LUAJIT_VERSION)
#define SF_BUILT_FOR "LuaJIT (Lua 5.1 ABI)"
#elif LUA_VERSION_NUM == 501
#define SF_BUILT_FOR "Lua 5.1"
#elif LUA_VERSION_NUM == 502
#define SF_BUILT_FOR "Lua 5.2"
#elif LUA_VERSION_NUM == 503
#define SF_BUILT_FOR "Lua 5.3"
#else
#define SF_BUILT_FOR "Lua 5.4"
#endif

static inline int sf_absindex(lua_State *L, int idx) {
    return (idx > 0 || idx <= LUA_REGISTRYINDEX) ? idx : lua_gettop(L) + idx + 1;
}

static inline size_t sf_rawlen(lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 502
    return (size_t)lua_rawlen(L, idx);
#else
    return (size_t)lua_objlen(L, idx);
#endif
}

static inline void sf_setfuncs(lua_State *L, const luaL_Reg *regs) {
    for (; regs->name != NULL; regs++) {
        lua_pushcfunction(L, regs->func);
        lua_setfield(L, -2, regs->name);
    }
}

/* A userdata's user value is a table traced by the GC, so references from it
 * never leak: 5.4 gives a userdata as many as asked, 5.2 and 5.3 one each,
 * 5.1 and LuaJIT an environment table. */
#if LUA_VERSION_NUM >= 504
#define SF_NEWUSERDATA(L, size, nuv) lua_newuserdatauv(L, size, nuv)
#define sf_setuservalue(L, idx) ((void)lua_setiuservalue(L, idx, 1))
#define sf_getuservalue(L, idx) ((void)lua_getiuservalue(L, idx, 1))
#elif LUA_VERSION_NUM >= 502
#define SF_NEWUSERDATA(L, size, nuv) lua_newuserdata(L, size)
#define sf_setuservalue(L, idx) lua_setuservalue(L, idx)
#define sf_getuservalue(L, idx) ((void)lua_getuservalue(L, idx))
#else
#define SF_NEWUSERDATA(L, size, nuv) lua_newuserdata(L, size)
#define sf_setuservalue(L, idx) ((void)lua_setfenv(L, idx))
#define sf_getuservalue(L, idx) lua_getfenv(L, idx)
#endif

/* A userdata with one user value (sf_setuservalue/sf_getuservalue). */
static inline void *sf_newuserdata(lua_State *L, size_t size) { return SF_NEWUSERDATA(L, size, 1); }

/* Scratch memory owned by the Lua stack (no user values): freed by the GC,
 * so an error while it is in use leaks nothing. */
static inline void *sf_newscratch(lua_State *L, size_t size) { return SF_NEWUSERDATA(L, size, 0); }

/* Registry slots keyed by the address of a static char, not by a string. */
static inline void sf_rawgetp(lua_State *L, int idx, const void *key) {
    idx = sf_absindex(L, idx);
    lua_pushlightuserdata(L, (void *)key);
    lua_rawget(L, idx);
}

static inline void sf_rawsetp(lua_State *L, int idx, const void *key) {
    idx = sf_absindex(L, idx);
    lua_pushlightuserdata(L, (void *)key);
    lua_insert(L, -2);
    lua_rawset(L, idx);
}

/* luaL_testudata with a metatable stored under a registry address key. */
static inline void *sf_testudata(lua_State *L, int idx, const void *mt_key) {
    void *p = lua_touserdata(L, idx);
    if (p == NULL || !lua_getmetatable(L, idx)) return NULL;
    sf_rawgetp(L, LUA_REGISTRYINDEX, mt_key);
    if (!lua_rawequal(L, -1, -2)) p = NULL;
    lua_pop(L, 2);
    return p;
}

static inline int sf_is_integral_number(lua_State *L, int idx) {
#if SF_HAVE_INTEGERS
    return lua_isinteger(L, idx);
#else
    lua_Number n = lua_tonumber(L, idx);
    return lua_type(L, idx) == LUA_TNUMBER && n == (lua_Number)(long long)n;
#endif
}

static inline void sf_pushinteger(lua_State *L, long long v) {
#if SF_HAVE_INTEGERS
    lua_pushinteger(L, (lua_Integer)v);
#else
    lua_pushnumber(L, (lua_Number)v);
#endif
}

#endif /* SF_COMPAT_H */
