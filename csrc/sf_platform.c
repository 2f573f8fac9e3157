/*
 * sf_platform.c - the few OS facilities the Lua layers need and plain Lua
 * lacks: a monotonic clock, a sleep that does not spin, and terminal checks
 * for the command line's live view.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "sf_core.h"

/* core.monotonic(): seconds from an arbitrary start; never jumps back. */
static int l_monotonic(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* core.sleep(seconds): blocks this thread; the default watch scheduler. */
static int l_sleep(lua_State *L) {
    lua_Number s = luaL_checknumber(L, 1);
    struct timespec ts;
    if (!(s > 0)) return 0;
    if (s > 86400) s = 86400;
    ts.tv_sec = (time_t)floor(s);
    ts.tv_nsec = (long)((s - floor(s)) * 1e9);
    /* A signal (SIGINT) ends the sleep early so the caller can react. */
    lua_pushboolean(L, !(nanosleep(&ts, NULL) != 0 && errno == EINTR));
    return 1;
}

/* core.isatty(fd) */
static int l_isatty(lua_State *L) {
    lua_Number fd = luaL_checknumber(L, 1);
    lua_pushboolean(L, fd >= 0 && fd < 1024 && isatty((int)fd));
    return 1;
}

/* core.terminal_size(fd): columns, rows, or nil when not a terminal. */
static int l_terminal_size(lua_State *L) {
    struct winsize ws;
    int fd = (int)luaL_optnumber(L, 1, 1);
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return 0;
    lua_pushinteger(L, ws.ws_col);
    lua_pushinteger(L, ws.ws_row);
    return 2;
}

void sf_open_platform(lua_State *L) {
    static const luaL_Reg fns[] = {{"monotonic", l_monotonic},
                                   {"sleep", l_sleep},
                                   {"isatty", l_isatty},
                                   {"terminal_size", l_terminal_size},
                                   {NULL, NULL}};
    sf_setfuncs(L, fns);
}
