/*
 * sf_socket.c - socket mode: a host event loop (luv, Neovim) waits on
 * libcurl's sockets and timer. The libcurl callbacks only record changes in
 * C memory; Lua reads them later with client:socket_changes().
 */
#include <stdlib.h>
#include <string.h>

#include "sf_transport.h"

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
    sf_client *c = userp;
    (void)easy;
    (void)socketp;
    if (c->changes_len == c->changes_cap) {
        size_t cap = c->changes_cap ? c->changes_cap * 2 : 16;
        struct sf_socket_change *grown = realloc(c->changes, cap * sizeof *grown);
        if (grown == NULL) {
            c->changes_lost = 1;
            return 0;
        }
        c->changes = grown;
        c->changes_cap = cap;
    }
    c->changes[c->changes_len].fd = fd;
    c->changes[c->changes_len].what = what;
    c->changes_len++;
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
    sf_client *c = userp;
    (void)multi;
    c->timer_ms = timeout_ms;
    c->timer_changed = 1;
    return 0;
}

/* client:socket_mode(): from now on a host loop drives this client. */
static int l_client_socket_mode(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "socket_mode");
    if (c->closed) sf_arg_error(L, "the client is closed");
    if (!c->socket_mode) {
        if (c->active != NULL) sf_arg_error(L, "socket mode must be chosen before the client's first request");
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, (void *)c);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, (void *)c);
        c->socket_mode = 1;
        c->timer_ms = -1;
    }
    return 0;
}

/* client:socket_changes() -> { {fd=, want="in"|"out"|"inout"|"remove"}, … }, timer_ms|nil
 * timer_ms is given only when it changed: -1 means "no timer". */
static int l_client_socket_changes(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "socket_changes");
    size_t i;
    lua_createtable(L, (int)c->changes_len, 0);
    for (i = 0; i < c->changes_len; i++) {
        int what = c->changes[i].what;
        lua_createtable(L, 0, 2);
        sf_pushinteger(L, (long long)c->changes[i].fd);
        lua_setfield(L, -2, "fd");
        lua_pushstring(L, what == CURL_POLL_IN      ? "in"
                          : what == CURL_POLL_OUT   ? "out"
                          : what == CURL_POLL_INOUT ? "inout"
                                                    : "remove");
        lua_setfield(L, -2, "want");
        lua_rawseti(L, -2, (int)i + 1);
    }
    c->changes_len = 0;
    if (c->changes_lost) {
        c->changes_lost = 0;
        sf_push_error(L, "connection", "lost track of libcurl's sockets (out of memory)");
        return lua_error(L);
    }
    if (!c->timer_changed) return 1;
    c->timer_changed = 0;
    sf_pushinteger(L, c->timer_ms);
    return 2;
}

/* client:socket_action([fd, events]): tell libcurl a socket is ready (events
 * "in", "out", "inout", "error"), or, with no fd, that its timer fired. */
static int l_client_socket_action(lua_State *L) {
    static const char *const events[] = {"in", "out", "inout", "error", NULL};
    static const int masks[] = {CURL_CSELECT_IN, CURL_CSELECT_OUT, CURL_CSELECT_IN | CURL_CSELECT_OUT,
                                CURL_CSELECT_ERR};
    sf_client *c = sf_check_client(L, 1, "socket_action");
    int running = 0, mask = 0;
    curl_socket_t fd = CURL_SOCKET_TIMEOUT;
    if (c->closed || !c->socket_mode) return 0;
    if (!lua_isnoneornil(L, 2)) {
        lua_Number n = lua_tonumber(L, 2);
        int e;
        if (lua_type(L, 2) != LUA_TNUMBER || !(n >= 0 && n < 1e9) || n != (lua_Number)(long)n)
            sf_arg_error(L, "client:socket_action: fd must be a whole number");
        fd = (curl_socket_t)n;
        if (!lua_isnoneornil(L, 3)) {
            for (e = 0; events[e] != NULL && (lua_type(L, 3) != LUA_TSTRING || strcmp(lua_tostring(L, 3), events[e]) != 0);
                 e++) {
            }
            if (events[e] == NULL)
                sf_arg_error(L, "client:socket_action: events must be \"in\", \"out\", \"inout\" or \"error\"");
            mask = masks[e];
        }
    }
    curl_multi_socket_action(c->multi, fd, mask, &running);
    sf_drain_messages(c);
    sf_pushinteger(L, running);
    return 1;
}

void sf_socket_methods(lua_State *L) {
    static const luaL_Reg fns[] = {{"socket_mode", l_client_socket_mode},
                                   {"socket_changes", l_client_socket_changes},
                                   {"socket_action", l_client_socket_action},
                                   {NULL, NULL}};
    sf_setfuncs(L, fns);
}
