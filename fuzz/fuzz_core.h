/*
 * fuzz/fuzz_core.h - what the transport's fuzz harnesses share: one Lua
 * state with seekrflow.core loaded as the global "core", made on first use.
 */
#ifndef FUZZ_CORE_H
#define FUZZ_CORE_H

#include <stdlib.h>

#include "sf_transport.h"

int luaopen_seekrflow_core(lua_State *L);

static lua_State *fuzz_core_state(void) {
    static lua_State *state;
    if (state == NULL) {
        state = luaL_newstate();
        if (state == NULL) abort();
        luaL_openlibs(state);
        lua_pushcfunction(state, luaopen_seekrflow_core);
        lua_call(state, 0, 1);
        lua_setglobal(state, "core");
    }
    return state;
}

#endif /* FUZZ_CORE_H */
