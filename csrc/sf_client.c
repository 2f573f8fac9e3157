/*
 * sf_client.c - the client object: its options, its calls, its lifetime,
 * and the registry through which resources (client.data_jobs, …) attach
 * themselves. The transport names no resource. One file (~620 lines) because
 * it is one object: its options, methods, lifetime and the kept secret all
 * change together.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sf_transport.h"

/* ---- the kept secret ---- */

sf_secret *sf_secret_new(const char *text, size_t len) {
    sf_secret *s = malloc(sizeof *s + len);
    if (s == NULL) return NULL;
    s->refs = 1;
    s->len = len;
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    return s;
}

sf_secret *sf_secret_hold(sf_secret *s) {
    if (s != NULL) s->refs++;
    return s;
}

void sf_secret_release(sf_secret *s) {
    if (s == NULL || --s->refs > 0) return;
    memset(s->text, 0, s->len);
    free(s);
}

/* ---- the resource registry ---- */

typedef struct {
    sf_resource_push_fn push;
    const void *ctx;
} resource_entry;

void sf_register_resource(lua_State *L, const char *field, sf_resource_push_fn push, const void *ctx) {
    resource_entry *e;
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_resources);
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_resources);
    }
    e = sf_newuserdata(L, sizeof *e);
    e->push = push;
    e->ctx = ctx;
    lua_setfield(L, -2, field);
    lua_pop(L, 1);
}

/* Pushes client.<key> when key names a registered resource; 0 otherwise. */
static int push_resource(lua_State *L, int client_idx, int key_idx) {
    resource_entry *e;
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_resources);
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    lua_pushvalue(L, key_idx);
    lua_rawget(L, -2);
    e = lua_touserdata(L, -1);
    lua_pop(L, 2);
    if (e == NULL) return 0;
    /* The cache lives in the client's uservalue, under the registry's key. */
    sf_getuservalue(L, client_idx);
    sf_rawgetp(L, -1, &sf_key_resources);
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        sf_rawsetp(L, -3, &sf_key_resources);
    }
    lua_pushvalue(L, key_idx);
    lua_rawget(L, -2);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        e->push(L, client_idx, e->ctx);
        lua_pushvalue(L, key_idx);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
    }
    lua_replace(L, -3);
    lua_pop(L, 1);
    return 1;
}

/* ---- object metatables ---- */

void sf_object_metatable(lua_State *L, const void *key, const char *name, lua_CFunction gc, lua_CFunction close_fn,
                         lua_CFunction tostring_fn) {
    /* Made once per Lua state: luaopen_seekrflow_core builds the core once,
     * so objects made before a reload are still recognised and collected. */
    lua_createtable(L, 0, 6);
    lua_insert(L, -2);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
#if SF_HAVE_CLOSE
    /* Leaving a <close> scope takes the close() path. */
    lua_pushcfunction(L, close_fn);
    lua_setfield(L, -2, "__close");
#else
    (void)close_fn;
#endif
    lua_pushcfunction(L, tostring_fn);
    lua_setfield(L, -2, "__tostring");
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
    sf_rawsetp(L, LUA_REGISTRYINDEX, key);
}

/* ---- the client ---- */

sf_client *sf_check_client(lua_State *L, int idx, const char *method_name) {
    sf_client *c = sf_testudata(L, idx, &sf_key_client_mt);
    if (c == NULL)
        sf_arg_error(L, "client:%s must be called with a colon on a client (client:%s(…)), not with a dot",
                     method_name, method_name);
    return c;
}

static void client_release(sf_client *c) {
    sf_request *r, *next;
    if (c->closed) return;
    c->closed = 1;
    /* Requests still alive are cancelled; their userdata stay valid. */
    for (r = c->active; r != NULL; r = next) {
        next = r->next;
        sf_request_detach(r);
        if (r->state != ST_DONE) {
            sf_request_fail(r, "cancelled", 0, "the client was closed while the request was in flight");
            r->state = ST_CANCELLED;
        }
        r->client = NULL;
        r->next = r->prev = NULL;
    }
    c->active = NULL;
    if (c->multi != NULL) curl_multi_cleanup(c->multi);
    c->multi = NULL;
    free(c->changes);
    c->changes = NULL;
    c->changes_len = c->changes_cap = 0;
    sf_headers_free(c);
    sf_secret_release(c->api_key); /* requests still readable keep their hold */
    c->api_key = NULL;
    curl_url_cleanup(c->base);
    c->base = NULL;
    free(c->base_url);
    free(c->base_path);
    free(c->team_id);
    free(c->user_agent);
    free(c->ca_file);
    free(c->ca_path);
    c->base_url = c->base_path = c->team_id = c->user_agent = c->ca_file = c->ca_path = NULL;
}

/* close(), __close and __gc: one path. The on_close hook runs once, after
 * the first close of a client that was fully open. */
static int close_client(lua_State *L, sf_client *c, int run_hook) {
    int was_open = !c->closed;
    client_release(c);
    if (!run_hook || !was_open) return 0;
    /* An event-loop driver tears down its socket watchers and timers here,
     * so a host loop is not kept alive by handles nothing will ever fire. */
    sf_getuservalue(L, 1);
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "on_close");
        if (lua_type(L, -1) == LUA_TFUNCTION) {
            lua_pushvalue(L, 1);
            if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
        } else {
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    return 0;
}

static int l_client_close(lua_State *L) {
    return close_client(L, sf_check_client(L, 1, "close"), 1);
}

/* __gc runs no Lua hook: finalizers must not call back into a driver that
 * may already be collected. */
static int l_client_gc(lua_State *L) {
    sf_client *c = sf_testudata(L, 1, &sf_key_client_mt);
    if (c != NULL) close_client(L, c, 0);
    return 0;
}

/* client:on_close(fn): fn(client) runs after close() (or leaving a <close> scope). */
static int l_client_on_close(lua_State *L) {
    sf_check_client(L, 1, "on_close");
    if (!lua_isnil(L, 2) && lua_type(L, 2) != LUA_TFUNCTION)
        sf_arg_error(L, "client:on_close: expected a function or nil");
    sf_getuservalue(L, 1);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "on_close");
    return 0;
}

static int l_client_is_closed(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "is_closed");
    lua_pushboolean(L, c->closed);
    return 1;
}

static int l_client_tostring(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "__tostring");
    lua_pushfstring(L, "seekrflow.client(%s)", c->closed ? "closed" : c->base_url);
    return 1;
}

/* client:config(): the settings in force, without the key. */
static int l_client_config(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "config");
    if (c->closed) sf_arg_error(L, "the client is closed");
    lua_createtable(L, 0, 13);
    lua_pushstring(L, c->base_url);
    lua_setfield(L, -2, "base_url");
    if (c->team_id) {
        lua_pushstring(L, c->team_id);
        lua_setfield(L, -2, "team_id");
    }
    lua_pushboolean(L, c->api_key != NULL && c->api_key->len > 0);
    lua_setfield(L, -2, "api_key_set");
    lua_pushstring(L, c->user_agent);
    lua_setfield(L, -2, "user_agent");
    lua_pushnumber(L, (lua_Number)c->timeout_ms / 1000.0);
    lua_setfield(L, -2, "timeout");
    lua_pushnumber(L, (lua_Number)c->connect_timeout_ms / 1000.0);
    lua_setfield(L, -2, "connect_timeout");
    sf_pushinteger(L, c->stall_timeout_s);
    lua_setfield(L, -2, "stall_timeout");
    sf_pushinteger(L, c->max_retries);
    lua_setfield(L, -2, "max_retries");
    lua_pushnumber(L, c->retry_initial_s);
    lua_setfield(L, -2, "retry_initial_delay");
    lua_pushnumber(L, c->retry_max_s);
    lua_setfield(L, -2, "retry_max_delay");
    lua_pushnumber(L, c->retry_after_cap_s);
    lua_setfield(L, -2, "retry_after_cap");
    lua_pushstring(L, c->raise_errors ? "raise" : "return");
    lua_setfield(L, -2, "errors");
    lua_pushboolean(L, c->interrupts);
    lua_setfield(L, -2, "interrupts");
    return 1;
}

static int l_client_index(lua_State *L) {
    sf_check_client(L, 1, "__index");
    if (lua_type(L, 2) == LUA_TSTRING && push_resource(L, 1, 2)) return 1;
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

/* ---- core.new_client(cfg) ---- */

/* Pushes option name of the table at idx and returns 1, or pushes nothing
 * and returns 0 when it is absent; a value of another type than type (what
 * its message calls type_what) is an error. */
static int cfg_value(lua_State *L, int idx, const char *name, int type, const char *type_what) {
    lua_getfield(L, idx, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (lua_type(L, -1) != type)
        sf_arg_error(L, "new_client: '%s' must be %s, not a %s", name, type_what, luaL_typename(L, -1));
    return 1;
}

/* A string option, checked and copied; NULL when absent and not required. */
static char *cfg_string(lua_State *L, int idx, const char *name, int required, size_t *len_out) {
    const char *s;
    size_t len;
    char *copy;
    char what[64];
    if (!cfg_value(L, idx, name, LUA_TSTRING, "a string")) {
        if (required) sf_arg_error(L, "new_client: '%s' is required", name);
        return NULL;
    }
    s = lua_tolstring(L, -1, &len);
    snprintf(what, sizeof what, "new_client: '%s'", name);
    sf_check_header_value(L, what, s, len);
    copy = malloc(len + 1);
    if (copy == NULL) luaL_error(L, "seekrflow: out of memory");
    memcpy(copy, s, len + 1);
    lua_pop(L, 1);
    if (len_out) *len_out = len;
    return copy;
}

static double cfg_number(lua_State *L, int idx, const char *name, double dflt, double lo, double hi) {
    double v;
    if (!cfg_value(L, idx, name, LUA_TNUMBER, "a number")) return dflt;
    v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!(v >= lo && v <= hi)) sf_arg_error(L, "new_client: '%s' must be between %g and %g", name, lo, hi);
    return v;
}

static int cfg_boolean(lua_State *L, int idx, const char *name, int dflt) {
    int v;
    if (!cfg_value(L, idx, name, LUA_TBOOLEAN, "true or false")) return dflt;
    v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Reads and checks base_url with curl_url (the one rule, sf_url.c). */
static void cfg_base_url(lua_State *L, int idx, sf_client *c) {
    char why[300];
    size_t len;
    const char *url;
    char *path = NULL;
    lua_getfield(L, idx, "base_url");
    if (lua_type(L, -1) != LUA_TSTRING)
        sf_arg_error(L, "new_client: 'base_url' must be a string like \"https://host/v1\", not a %s",
                     luaL_typename(L, -1));
    url = lua_tolstring(L, -1, &len);
    c->base = sf_url_parse_base(url, len, why, sizeof why);
    if (c->base == NULL) sf_arg_error(L, "new_client: 'base_url' %s", why);
    lua_pop(L, 1);
    c->base_url = sf_url_base_text(c->base);
    if (curl_url_get(c->base, CURLUPART_PATH, &path, 0) != CURLUE_OK || path == NULL || c->base_url == NULL) {
        curl_free(path);
        luaL_error(L, "seekrflow: out of memory");
    }
    {
        size_t n = strlen(path);
        const char *last;
        while (n > 0 && path[n - 1] == '/') path[--n] = '\0';
        c->base_path = malloc(n + 1);
        if (c->base_path != NULL) memcpy(c->base_path, path, n + 1);
        /* "/v1", "/api/v2": the last segment names a version. */
        last = strrchr(path, '/');
        c->base_versioned = last != NULL && last[1] == 'v' && last[2] >= '0' && last[2] <= '9';
    }
    curl_free(path);
    if (c->base_path == NULL) luaL_error(L, "seekrflow: out of memory");
}

static int l_new_client(lua_State *L) {
    sf_client *c;
    int client_idx;
    size_t key_len = 0;
    char *key;
    if (lua_type(L, 1) != LUA_TTABLE) sf_arg_error(L, "new_client: expected a table of options");
    lua_settop(L, 1);

    c = sf_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    client_idx = lua_gettop(L);
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_client_mt);
    lua_setmetatable(L, client_idx);
    lua_newtable(L);
    lua_getfield(L, 1, "debug");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TFUNCTION && lua_type(L, -1) != LUA_TBOOLEAN)
        sf_arg_error(L, "new_client: 'debug' must be a function or a boolean");
    lua_setfield(L, -2, "debug");
    sf_setuservalue(L, client_idx);

    /* Everything allocated below is freed by __gc, which any error leaves to. */
    key = cfg_string(L, 1, "api_key", 1, &key_len);
    c->api_key = sf_secret_new(key, key_len);
    memset(key, 0, key_len);
    free(key);
    if (c->api_key == NULL) luaL_error(L, "seekrflow: out of memory");
    if (key_len == 0) sf_arg_error(L, "new_client: 'api_key' is empty");
    if (key_len > 1000) sf_arg_error(L, "new_client: 'api_key' is longer than 1000 characters");
    cfg_base_url(L, 1, c);
    c->team_id = cfg_string(L, 1, "team_id", 0, NULL);
    c->ca_file = cfg_string(L, 1, "ca_file", 0, NULL);
    c->ca_path = cfg_string(L, 1, "ca_path", 0, NULL);

    c->timeout_ms = (long)(cfg_number(L, 1, "timeout", 600, 0.001, 86400) * 1000.0);
    c->connect_timeout_ms = (long)(cfg_number(L, 1, "connect_timeout", 10, 0.001, 3600) * 1000.0);
    c->stall_timeout_s = (long)ceil(cfg_number(L, 1, "stall_timeout", 30, 1, 3600));
    c->max_retries = (int)cfg_number(L, 1, "max_retries", 2, 0, 10);
    c->retry_initial_s = cfg_number(L, 1, "retry_initial_delay", 0.5, 0, 60);
    c->retry_max_s = cfg_number(L, 1, "retry_max_delay", 8, 0, 600);
    c->retry_after_cap_s = cfg_number(L, 1, "retry_after_cap", 60, 0, 3600);
    c->interrupts = cfg_boolean(L, 1, "interrupts", 1);
    lua_getfield(L, 1, "errors");
    if (lua_isnil(L, -1)) {
        c->raise_errors = 1;
    } else {
        static const char *const modes[] = {"raise", "return", NULL};
        int m;
        if (lua_type(L, -1) != LUA_TSTRING) sf_arg_error(L, "new_client: 'errors' must be \"raise\" or \"return\"");
        for (m = 0; modes[m] != NULL && strcmp(lua_tostring(L, -1), modes[m]) != 0; m++) {
        }
        if (modes[m] == NULL) sf_arg_error(L, "new_client: 'errors' must be \"raise\" or \"return\"");
        c->raise_errors = m == 0;
    }
    lua_pop(L, 1);
    {
        char ua[256];
        curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
        snprintf(ua, sizeof ua, "seekrflow-lua/%s (%s; libcurl/%s)", SF_VERSION, SF_BUILT_FOR, info->version);
        c->user_agent = malloc(strlen(ua) + 1);
        if (c->user_agent != NULL) memcpy(c->user_agent, ua, strlen(ua) + 1);
    }
    c->rng = (unsigned long long)time(NULL) ^ ((unsigned long long)(size_t)c << 16) ^ 0x9E3779B97F4A7C15ULL;
    if (c->rng == 0) c->rng = 1;
    c->multi = curl_multi_init();
    if (c->multi == NULL || c->user_agent == NULL || !sf_headers_build(c))
        luaL_error(L, "seekrflow: could not set up the client (out of memory)");
    /* One host: keep a small pool and reuse it. 8 is watch.many's largest concurrency
     * (seekrflow.watch_many.MAX_CONCURRENCY): a smaller pool would close and reopen
     * connections on every round of polls. */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 8L);
    lua_settop(L, client_idx);
    return 1;
}

/* ---- calls ---- */

void sf_call_opts_init(sf_client *c, sf_call_opts *o) {
    o->connect_timeout_ms = c->connect_timeout_ms;
    o->timeout_ms = c->timeout_ms;
    o->stall_timeout_s = c->stall_timeout_s;
    o->max_retries = c->max_retries;
    o->async = 0;
}

static double opt_seconds(lua_State *L, int idx, const char *name, const char *where, double dflt) {
    double v;
    lua_getfield(L, idx, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return dflt;
    }
    if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0) || !(lua_tonumber(L, -1) <= 86400))
        sf_arg_error(L, "%s: option '%s' must be a positive number of seconds (at most a day)", where, name);
    v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Raises on any key of the table at idx that is not in known, naming them all. */
static void check_option_names(lua_State *L, int idx, const char *const *known, const char *where) {
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        int k, ok = 0;
        lua_pop(L, 1);
        for (k = 0; known[k] != NULL; k++)
            if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), known[k]) == 0) ok = 1;
        if (!ok) {
            char list[200] = "";
            for (k = 0; known[k] != NULL; k++) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", known[k]);
            }
            sf_arg_error(L, "%s: unknown option '%s' (known: %s)", where,
                         lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?", list);
        }
    }
}

void sf_call_opts_read(lua_State *L, int idx, sf_call_opts *o, const char *where) {
    static const char *const known[] = {"timeout", "connect_timeout", "stall_timeout", "max_retries", "async", NULL};
    idx = sf_absindex(L, idx);
    if (lua_isnoneornil(L, idx)) return;
    if (lua_type(L, idx) != LUA_TTABLE) sf_arg_error(L, "%s: options must be a table", where);
    check_option_names(L, idx, known, where);
    o->timeout_ms = (long)(opt_seconds(L, idx, "timeout", where, (double)o->timeout_ms / 1000.0) * 1000.0);
    o->connect_timeout_ms =
        (long)(opt_seconds(L, idx, "connect_timeout", where, (double)o->connect_timeout_ms / 1000.0) * 1000.0);
    o->stall_timeout_s = (long)ceil(opt_seconds(L, idx, "stall_timeout", where, (double)o->stall_timeout_s));
    lua_getfield(L, idx, "max_retries");
    if (!lua_isnil(L, -1)) {
        double n = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || n < 0 || n > 10 || n != floor(n))
            sf_arg_error(L, "%s: option 'max_retries' must be a whole number from 0 to 10", where);
        o->max_retries = (int)n;
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "async");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TBOOLEAN)
        sf_arg_error(L, "%s: option 'async' must be true or false", where);
    o->async = lua_toboolean(L, -1);
    lua_pop(L, 1);
}

int sf_client_call(lua_State *L, int client_idx, const sf_call *call) {
    sf_client *c = sf_check_client(L, client_idx, "request");
    sf_request *r;
    int req_idx, ok;
    client_idx = sf_absindex(L, client_idx);
    if (call->opts.async) {
        sf_request_new(L, client_idx, c, call);
        return 1;
    }
    if (c->socket_mode)
        sf_arg_error(L, "this client is driven by an event loop (socket mode): pass { async = true } and await the "
                        "request through the driver, or use another client for blocking calls");
    r = sf_request_new(L, client_idx, c, call);
    req_idx = lua_gettop(L);
    sf_perform_blocking(L, req_idx, r);
    ok = sf_push_outcome(L, r);
    sf_request_release(r);
    lua_remove(L, req_idx);
    return ok;
}

int sf_finish(lua_State *L, sf_client *c, int ok) {
    if (ok) return 1;
    if (c->raise_errors) return lua_error(L);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* Reads (method, path, opts) at 2..4 into call; opts may carry query/body/kind. */
static void read_call(lua_State *L, sf_client *c, sf_call *call, const char *where) {
    static const char *const methods[] = {"GET", "POST", "PATCH", "PUT", "DELETE", NULL};
    static const char *const known[] = {"query", "body", "kind", "timeout", "connect_timeout",
                                        "stall_timeout", "max_retries", "async", NULL};
    static const char *const timing[] = {"timeout", "connect_timeout", "stall_timeout", "max_retries", "async", NULL};
    size_t path_len;
    int m, k;
    if (lua_type(L, 2) != LUA_TSTRING) sf_arg_error(L, "%s: the method must be a string like \"GET\"", where);
    for (m = 0; methods[m] != NULL && strcmp(lua_tostring(L, 2), methods[m]) != 0; m++) {
    }
    if (methods[m] == NULL)
        sf_arg_error(L, "%s: unsupported HTTP method '%s' (use GET, POST, PATCH, PUT or DELETE)", where,
                     lua_tostring(L, 2));
    if (lua_type(L, 3) != LUA_TSTRING) sf_arg_error(L, "%s: the path must be a string like \"flow/data-jobs\"", where);
    memset(call, 0, sizeof *call);
    call->method = methods[m];
    call->path = lua_tolstring(L, 3, &path_len);
    sf_url_check_path(L, call->path, path_len);
    sf_call_opts_init(c, &call->opts);
    if (lua_isnoneornil(L, 4)) return;
    if (lua_type(L, 4) != LUA_TTABLE) sf_arg_error(L, "%s: options must be a table", where);
    check_option_names(L, 4, known, where);
    lua_settop(L, 4);
    lua_getfield(L, 4, "query"); /* 5 */
    if (!lua_isnil(L, 5)) {
        if (lua_type(L, 5) != LUA_TTABLE) sf_arg_error(L, "%s: opts.query must be a table", where);
        call->query_idx = 5;
    }
    lua_getfield(L, 4, "body"); /* 6 */
    if (!lua_isnil(L, 6)) call->body_idx = 6;
    lua_getfield(L, 4, "kind"); /* 7 */
    if (!lua_isnil(L, 7)) {
        if (lua_type(L, 7) != LUA_TSTRING) sf_arg_error(L, "%s: opts.kind must be a string", where);
        call->kind = sf_kind_from_name(L, lua_tostring(L, 7), where);
    }
    lua_newtable(L); /* 8: the timing options only */
    for (k = 0; timing[k] != NULL; k++) {
        lua_getfield(L, 4, timing[k]);
        lua_setfield(L, 8, timing[k]);
    }
    sf_call_opts_read(L, 8, &call->opts, where);
}

static int l_client_request(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "request");
    sf_call call;
    read_call(L, c, &call, "client:request");
    return sf_finish(L, c, sf_client_call(L, 1, &call));
}

static int l_client_start_request(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "start_request");
    sf_call call;
    read_call(L, c, &call, "client:start_request");
    sf_request_new(L, 1, c, &call);
    return 1;
}

/* client:wait(ms): blocks up to ms for socket activity of any request. */
static int l_client_wait(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "wait");
    lua_Number ms = 0;
    if (!lua_isnoneornil(L, 2)) {
        if (lua_type(L, 2) != LUA_TNUMBER) sf_arg_error(L, "client:wait: expected milliseconds as a number");
        ms = lua_tonumber(L, 2);
    }
    if (!c->closed && ms > 0) curl_multi_poll(c->multi, NULL, 0, ms > 60000 ? 60000 : (int)ms, NULL);
    return 0;
}

void sf_open_http(lua_State *L) {
    static const luaL_Reg client_methods[] = {
        {"request", l_client_request}, {"start_request", l_client_start_request},
        {"wait", l_client_wait},       {"close", l_client_close},
        {"is_closed", l_client_is_closed}, {"config", l_client_config},
        {"on_close", l_client_on_close}, {NULL, NULL}};

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) luaL_error(L, "seekrflow: libcurl failed to initialise");

    lua_pushcfunction(L, l_client_index); /* methods, then registered resources */
    sf_object_metatable(L, &sf_key_client_mt, "seekrflow.client", l_client_gc, l_client_close, l_client_tostring);
    /* l_client_index reads the methods from the metatable. */
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_client_mt);
    lua_newtable(L);
    sf_setfuncs(L, client_methods);
    sf_socket_methods(L);
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);

    sf_open_requests(L);
    sf_open_url(L);

    lua_pushcfunction(L, l_new_client);
    lua_setfield(L, -2, "new_client");
    {
        curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
        lua_pushstring(L, info->version);
        lua_setfield(L, -2, "curl_version");
        lua_pushstring(L, info->ssl_version ? info->ssl_version : "none");
        lua_setfield(L, -2, "tls_backend");
    }
}
