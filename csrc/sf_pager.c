/*
 * sf_pager.c - `iter` on every list row (SF_EP_PAGED): every page, lazily,
 * never the same item twice, and never endless: a server that does not page
 * (it ignores offset) ends it with a paging error, and max_items bounds the
 * pages as well as the items.
 */
#include <stdio.h>
#include <string.h>

#include "sf_core.h"

#define ITER_PAGE_SIZE 100
#define ITER_MAX_STUCK 3 /* full pages in a row with nothing new before paging stops */

enum { UP_ROW = 1, UP_SELF, UP_QUERY, UP_PAGE, UP_INDEX, UP_SEEN, UP_COUNT, UP_MAX, UP_DONE, UP_OPTS, UP_PAGES,
       UP_START, UP_STUCK, UP_WHERE };

static int iter_fail(lua_State *L, const char *msg) {
    lua_pushboolean(L, 1);
    lua_replace(L, lua_upvalueindex(UP_DONE));
    sf_push_error(L, "paging", msg);
    return lua_error(L);
}

static int iter_next(lua_State *L) {
    const sf_endpoint *e = lua_touserdata(L, lua_upvalueindex(UP_ROW));
    const char *where = lua_tostring(L, lua_upvalueindex(UP_WHERE));
    for (;;) {
        lua_Integer index, count, max_items, limit, pages;
        size_t page_len = 0;
        int have_page = lua_type(L, lua_upvalueindex(UP_PAGE)) == LUA_TTABLE;
        if (lua_toboolean(L, lua_upvalueindex(UP_DONE))) return 0;
        count = lua_tointeger(L, lua_upvalueindex(UP_COUNT));
        max_items = lua_tointeger(L, lua_upvalueindex(UP_MAX));
        if (max_items > 0 && count >= max_items) {
            lua_pushboolean(L, 1);
            lua_replace(L, lua_upvalueindex(UP_DONE));
            return 0;
        }
        index = lua_tointeger(L, lua_upvalueindex(UP_INDEX));
        if (have_page) page_len = sf_rawlen(L, lua_upvalueindex(UP_PAGE));
        if (have_page && (size_t)index <= page_len) {
            lua_pushinteger(L, index + 1);
            lua_replace(L, lua_upvalueindex(UP_INDEX));
            lua_rawgeti(L, lua_upvalueindex(UP_PAGE), (int)index);
            if (lua_type(L, -1) == LUA_TTABLE) {
                lua_pushliteral(L, "id");
                lua_rawget(L, -2);
                if (lua_type(L, -1) == LUA_TSTRING) {
                    /* Items created while we page shift older ones down a
                     * page: never hand out the same one twice. */
                    lua_pushvalue(L, -1);
                    lua_rawget(L, lua_upvalueindex(UP_SEEN));
                    if (lua_toboolean(L, -1)) {
                        lua_pop(L, 3);
                        continue;
                    }
                    lua_pop(L, 1);
                    lua_pushboolean(L, 1);
                    lua_rawset(L, lua_upvalueindex(UP_SEEN));
                } else {
                    lua_pop(L, 1);
                }
            }
            lua_pushinteger(L, count + 1);
            lua_replace(L, lua_upvalueindex(UP_COUNT));
            return 1;
        }
        lua_getfield(L, lua_upvalueindex(UP_QUERY), "limit");
        limit = lua_tointeger(L, -1);
        lua_pop(L, 1);
        pages = lua_tointeger(L, lua_upvalueindex(UP_PAGES));
        if (have_page) {
            lua_Integer offset;
            if ((lua_Integer)page_len < limit) { /* a short page is the last one */
                lua_pushboolean(L, 1);
                lua_replace(L, lua_upvalueindex(UP_DONE));
                return 0;
            }
            /* Full pages that bring nothing new: one can happen when items
             * created meanwhile push seen ones down; several in a row mean the
             * server is not paging (it ignores offset). Stop, never loop. */
            if (count == lua_tointeger(L, lua_upvalueindex(UP_START))) {
                lua_Integer stuck = lua_tointeger(L, lua_upvalueindex(UP_STUCK)) + 1;
                if (stuck >= ITER_MAX_STUCK) {
                    char msg[240];
                    snprintf(msg, sizeof msg, "%s: %lld full pages in a row brought nothing new after %lld items: the "
                                              "server ignores 'offset' or repeats pages; paging stopped",
                             where, (long long)stuck, (long long)count);
                    return iter_fail(L, msg);
                }
                lua_pushinteger(L, stuck);
            } else {
                lua_pushinteger(L, 0);
            }
            lua_replace(L, lua_upvalueindex(UP_STUCK));
            lua_getfield(L, lua_upvalueindex(UP_QUERY), "offset");
            offset = lua_tointeger(L, -1) + (lua_Integer)page_len;
            lua_pop(L, 1);
            lua_pushinteger(L, offset);
            lua_setfield(L, lua_upvalueindex(UP_QUERY), "offset");
        }
        if (max_items > 0 && pages >= (max_items + limit - 1) / limit + 1) {
            char msg[200];
            snprintf(msg, sizeof msg, "%s: %lld pages brought only %lld new items (max_items = %lld): the server "
                                      "repeats items across pages",
                     where, (long long)pages, (long long)count, (long long)max_items);
            return iter_fail(L, msg);
        }
        /* Fetch the next page: errors always raise from an iterator. */
        lua_settop(L, 0);
        lua_pushvalue(L, lua_upvalueindex(UP_SELF));
        sf_rawgetp(L, 1, &sf_key_client_field); /* 2 */
        {
            sf_client *c = sf_check_client(L, 2, where);
            sf_call call;
            memset(&call, 0, sizeof call);
            sf_push_path(L, e->path, NULL); /* 3 */
            call.method = e->method;
            call.path = lua_tostring(L, 3);
            lua_pushvalue(L, lua_upvalueindex(UP_QUERY)); /* 4 */
            call.query_idx = 4;
            call.kind = e->kind;
            call.shape = sf_check_result;
            call.shape_ctx = e;
            sf_call_opts_init(c, &call.opts);
            lua_pushvalue(L, lua_upvalueindex(UP_OPTS)); /* 5 */
            sf_call_opts_read(L, 5, &call.opts, where);
            if (!sf_client_call(L, 2, &call)) return lua_error(L);
        }
        lua_pushinteger(L, pages + 1);
        lua_replace(L, lua_upvalueindex(UP_PAGES));
        lua_getfield(L, -1, "data");
        if (sf_rawlen(L, -1) == 0) {
            lua_pushboolean(L, 1);
            lua_replace(L, lua_upvalueindex(UP_DONE));
            return 0;
        }
        lua_replace(L, lua_upvalueindex(UP_PAGE));
        lua_pushinteger(L, 1);
        lua_replace(L, lua_upvalueindex(UP_INDEX));
        lua_pushinteger(L, count);
        lua_replace(L, lua_upvalueindex(UP_START));
        lua_settop(L, 0);
    }
}

static const field_spec max_items_fields[] = {{"max_items", F_INT, 0, 1, NO_MAX, NULL},
                                              {NULL, F_STRING, 0, 0, 0, NULL}};

/* iter(params?, opts?): the list row's params plus max_items. */
static int iter_impl(lua_State *L) {
    const sf_endpoint *e = lua_touserdata(L, lua_upvalueindex(1));
    const sf_resource *res = lua_touserdata(L, lua_upvalueindex(2));
    const char *where = lua_tostring(L, lua_upvalueindex(3));
    int client_idx = lua_gettop(L), query_idx;
    lua_Integer max_items = 0;
    sf_call_opts probe;
    sf_client *c = sf_check_client(L, client_idx, where);
    /* Check the options now, not at the first page. */
    sf_call_opts_init(c, &probe);
    sf_call_opts_read(L, 3, &probe, where);
    if (probe.async)
        sf_arg_error(L, "%s pages by itself and cannot be async: call %s:list with { async = true } for each page "
                        "instead", where, res->field);
    if (lua_isnil(L, 2)) {
        lua_newtable(L);
        lua_replace(L, 2);
    }
    if (lua_type(L, 2) == LUA_TTABLE) {
        /* max_items is not a query parameter: check it, then the rest. */
        lua_getfield(L, 2, "max_items");
        if (!lua_isnil(L, -1)) {
            lua_createtable(L, 0, 1);
            lua_insert(L, -2);
            lua_setfield(L, -2, "max_items");
            sf_build_table(L, -1, max_items_fields, where, "params"); /* checks only that field */
            lua_getfield(L, -1, "max_items");
            max_items = lua_tointeger(L, -1);
            lua_pop(L, 3);
            lua_newtable(L);
            lua_pushnil(L);
            while (lua_next(L, 2) != 0) {
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_settable(L, -4);
            }
            lua_pushnil(L);
            lua_setfield(L, -2, "max_items");
            lua_replace(L, 2);
        } else {
            lua_pop(L, 1);
        }
    }
    sf_build_table(L, 2, e->fields, where, "params");
    query_idx = lua_gettop(L);
    lua_getfield(L, query_idx, "limit");
    if (lua_isnil(L, -1)) {
        lua_pushinteger(L, ITER_PAGE_SIZE); /* fewer round trips than the server's default */
        lua_setfield(L, query_idx, "limit");
    }
    lua_pop(L, 1);
    lua_getfield(L, query_idx, "offset");
    if (lua_isnil(L, -1)) {
        lua_pushinteger(L, 0);
        lua_setfield(L, query_idx, "offset");
    }
    lua_pop(L, 1);

    lua_pushvalue(L, lua_upvalueindex(1)); /* UP_ROW */
    lua_pushvalue(L, 1);                   /* UP_SELF */
    lua_pushvalue(L, query_idx);           /* UP_QUERY */
    lua_pushnil(L);                        /* UP_PAGE */
    lua_pushinteger(L, 1);                 /* UP_INDEX */
    lua_newtable(L);                       /* UP_SEEN */
    lua_pushinteger(L, 0);                 /* UP_COUNT */
    lua_pushinteger(L, max_items);         /* UP_MAX */
    lua_pushboolean(L, 0);                 /* UP_DONE */
    if (lua_isnil(L, 3)) lua_newtable(L);
    else lua_pushvalue(L, 3);              /* UP_OPTS */
    lua_pushinteger(L, 0);                 /* UP_PAGES */
    lua_pushinteger(L, 0);                 /* UP_START */
    lua_pushinteger(L, 0);                 /* UP_STUCK */
    lua_pushvalue(L, lua_upvalueindex(3)); /* UP_WHERE */
    lua_pushcclosure(L, iter_next, UP_WHERE);
    return 1;
}

/* The iter method; upvalues: the list row, its resource, "<resource>:iter". */
int sf_iter_method(lua_State *L) {
    const sf_resource *res = lua_touserdata(L, lua_upvalueindex(2));
    const char *where = lua_tostring(L, lua_upvalueindex(3));
    int client_idx;
    sf_client *c;
    lua_settop(L, 3);
    client_idx = sf_check_self(L, res, where);
    c = sf_testudata(L, client_idx, &sf_key_client_mt);
    if (c == NULL || c->raise_errors) return iter_impl(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_pushcclosure(L, iter_impl, 3);
    lua_insert(L, 1);
    if (lua_pcall(L, 4, 1, 0) == LUA_OK) return 1;
    if (lua_type(L, -1) != LUA_TTABLE) return lua_error(L);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}
