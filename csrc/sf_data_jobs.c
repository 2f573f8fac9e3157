/*
 * sf_data_jobs.c - the seekrflow.data_jobs resource (client.data_jobs).
 * The helpers on decoded details live in sf_detail.c.
 *
 * Every argument is checked before any I/O: ids, enum values, ranges, and
 * option names (an unknown name is an error, never silently ignored).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sf_core.h"

static const char *const job_types[] = {"principle_files", "context_grounded_files",
                                        "context_grounded_vector_db", NULL};
static const char *const sort_fields[] = {"name", "created_at", "job_type", NULL};
static const char *const sort_orders[] = {"asc", "desc", NULL};

#define MAX_ID_LEN 256
#define MAX_FILE_IDS 1000

/* ---- the resource object and its self check ---- */

/* Returns the client's stack index after checking self; raises on a dot call. */
int sf_check_resource(lua_State *L, const void *mt_key, const char *resource, const char *method) {
    int ok = 0;
    if (lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1)) {
        sf_rawgetp(L, LUA_REGISTRYINDEX, mt_key);
        ok = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    if (!ok)
        sf_arg_error(L, "%s:%s must be called with a colon: client.%s:%s(…), not client.%s.%s(…)", resource, method,
                     resource, method, resource, method);
    sf_rawgetp(L, 1, &sf_key_client_field);
    return lua_gettop(L);
}

static int check_self(lua_State *L, const char *method) {
    return sf_check_resource(L, &sf_key_data_jobs_mt, "data_jobs", method);
}

static void push_data_jobs(lua_State *L, int client_idx) {
    client_idx = sf_absindex(L, client_idx);
    sf_getuservalue(L, client_idx);
    lua_getfield(L, -1, "data_jobs");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 1);
        lua_pushvalue(L, client_idx);
        sf_rawsetp(L, -2, &sf_key_client_field);
        sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_data_jobs_mt);
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, "data_jobs");
    }
    lua_remove(L, -2);
}

/* ---- argument checks ---- */

static int in_enum(const char *s, const char *const *values) {
    for (; *values != NULL; values++)
        if (strcmp(s, *values) == 0) return 1;
    return 0;
}

static void enum_list(const char *const *values, char *out, size_t cap) {
    out[0] = '\0';
    for (; *values != NULL; values++) {
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s%s", used ? ", " : "", *values);
    }
}

/* A data job id or file id: non-empty, no path/query syntax, no spaces. */
const char *sf_check_id(lua_State *L, int idx, const char *what, const char *where) {
    size_t n, i;
    const char *s;
    if (lua_type(L, idx) != LUA_TSTRING)
        sf_arg_error(L, "%s: %s must be a string like \"dj-1b75f4d5-…\" (got %s)", where, what, luaL_typename(L, idx));
    s = lua_tolstring(L, idx, &n);
    if (n == 0) sf_arg_error(L, "%s: %s is empty", where, what);
    if (n > MAX_ID_LEN) sf_arg_error(L, "%s: %s is longer than %d characters", where, what, MAX_ID_LEN);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '%' || c == '\\')
            sf_arg_error(L, "%s: %s \"%s\" contains '%c' or a space/control character; ids never do (a pasted URL?)",
                         where, what, n > 80 ? "…" : s, c > ' ' && c != 0x7f ? c : ' ');
    }
    return s;
}

/* Pushes the path "flow/data-jobs/<escaped id><suffix>". */
static void push_job_path(lua_State *L, const char *id, const char *suffix) {
    sf_buf b = {NULL, 0, 0};
    if (!sf_buf_append(&b, "flow/data-jobs/", 15) || !sf_escape(&b, id, strlen(id)) ||
        !sf_buf_append(&b, suffix, strlen(suffix))) {
        sf_buf_free(&b);
        luaL_error(L, "seekrflow: out of memory");
    }
    lua_pushlstring(L, b.data, b.len);
    sf_buf_free(&b);
}

/* Checks table at idx against specs and pushes a clean copy.
 * Unknown keys are errors; a list becomes a JSON array. */
void sf_build_table(lua_State *L, int idx, const field_spec *specs, const char *where, const char *what) {
    const field_spec *f;
    char known[300] = "";
    idx = sf_absindex(L, idx);
    for (f = specs; f->name != NULL; f++) {
        size_t used = strlen(known);
        snprintf(known + used, sizeof known - used, "%s%s", used ? ", " : "", f->name);
    }
    if (lua_type(L, idx) != LUA_TTABLE) sf_arg_error(L, "%s: %s must be a table (fields: %s)", where, what, known);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        int ok = 0;
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING)
            for (f = specs; f->name != NULL; f++)
                if (strcmp(f->name, lua_tostring(L, -1)) == 0) ok = 1;
        if (!ok)
            sf_arg_error(L, "%s: unknown %s field '%s' (known: %s)", where, what,
                         lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1), known);
    }
    lua_newtable(L);
    for (f = specs; f->name != NULL; f++) {
        lua_getfield(L, idx, f->name);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            if (f->required) sf_arg_error(L, "%s: '%s' is required", where, f->name);
            continue;
        }
        if (f->type == F_STRING) {
            size_t n;
            if (lua_type(L, -1) != LUA_TSTRING)
                sf_arg_error(L, "%s: '%s' must be a string (got %s)", where, f->name, luaL_typename(L, -1));
            lua_tolstring(L, -1, &n);
            if ((long)n < f->min || (long)n > f->max)
                sf_arg_error(L, "%s: '%s' must be %ld to %ld characters long (got %lu)", where, f->name, f->min,
                             f->max, (unsigned long)n);
            if (f->values != NULL && !in_enum(lua_tostring(L, -1), f->values)) {
                char list[200];
                enum_list(f->values, list, sizeof list);
                sf_arg_error(L, "%s: '%s' must be one of %s (got \"%s\")", where, f->name, list, lua_tostring(L, -1));
            }
        } else if (f->type == F_INT) {
            double v;
            if (lua_type(L, -1) != LUA_TNUMBER || lua_tonumber(L, -1) != floor(lua_tonumber(L, -1)))
                sf_arg_error(L, "%s: '%s' must be a whole number", where, f->name);
            v = lua_tonumber(L, -1);
            if (v < (double)f->min || v > (double)f->max) {
                if (f->max == NO_MAX)
                    sf_arg_error(L, "%s: '%s' must be %ld or more (got %.0f)", where, f->name, f->min, v);
                sf_arg_error(L, "%s: '%s' must be from %ld to %ld (got %.0f)", where, f->name, f->min, f->max, v);
            }
            sf_pushinteger(L, (long long)v);
            lua_replace(L, -2);
        } else { /* F_STRING_LIST */
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
        lua_setfield(L, -2, f->name);
    }
}

/* ---- running a call ---- */

/* Pops path/query/body as laid out by the caller and runs the call. */
static int run(lua_State *L, int client_idx, const char *method, int path_idx, int query_idx,
               int body_idx, sf_kind kind, int opts_idx, const char *where) {
    sf_client *c = sf_check_client(L, client_idx, where);
    sf_call call;
    memset(&call, 0, sizeof call);
    call.method = method;
    call.path = lua_tostring(L, path_idx);
    call.query_idx = query_idx;
    call.body_idx = body_idx;
    call.kind = kind;
    sf_call_opts_init(c, &call.opts);
    if (opts_idx) sf_call_opts_read(L, opts_idx, &call.opts, where);
    return sf_finish(L, c, sf_client_call(L, client_idx, &call));
}

/* Argument errors follow the client's error mode (raise, or nil, err); a
 * dot call has no client to ask, so it always raises. */
int sf_guarded(lua_State *L, lua_CFunction impl) {
    int n = lua_gettop(L), i;
    sf_client *c;
    lua_pushcfunction(L, impl);
    for (i = 1; i <= n; i++) lua_pushvalue(L, i);
    if (lua_pcall(L, n, LUA_MULTRET, 0) == LUA_OK) return lua_gettop(L) - n;
    if (lua_type(L, 1) != LUA_TTABLE) return lua_error(L);
    sf_rawgetp(L, 1, &sf_key_client_field);
    c = sf_testudata(L, -1, &sf_key_client_mt);
    lua_pop(L, 1);
    if (c == NULL || c->raise_errors || lua_type(L, -1) != LUA_TTABLE) return lua_error(L);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

#define GUARDED(name)                                          \
    static int name##_impl(lua_State *L);                      \
    static int name(lua_State *L) { return sf_guarded(L, name##_impl); } \
    static int name##_impl(lua_State *L)

GUARDED(l_retrieve) {
    int client_idx;
    lua_settop(L, 3);
    client_idx = check_self(L, "retrieve");
    const char *id = sf_check_id(L, 2, "data job id", "data_jobs:retrieve");
    push_job_path(L, id, "");
    return run(L, client_idx, "GET", lua_gettop(L), 0, 0, SF_KIND_DATA_JOB, 3, "data_jobs:retrieve");
}

static const field_spec list_fields[] = {
    {"job_type", F_STRING, 0, 1, 64, job_types},
    {"sort_by", F_STRING, 0, 1, 64, sort_fields},
    {"sort_order", F_STRING, 0, 1, 8, sort_orders},
    {"limit", F_INT, 0, 1, 100, NULL},
    {"offset", F_INT, 0, 0, NO_MAX, NULL},
    {NULL, F_STRING, 0, 0, 0, NULL}};

GUARDED(l_list) {
    int client_idx, query_idx;
    lua_settop(L, 3);
    client_idx = check_self(L, "list");
    if (lua_isnil(L, 2)) {
        lua_newtable(L);
        lua_replace(L, 2);
    }
    sf_build_table(L, 2, list_fields, "data_jobs:list", "params");
    query_idx = lua_gettop(L);
    lua_pushliteral(L, "flow/data-jobs");
    return run(L, client_idx, "GET", lua_gettop(L), query_idx, 0, SF_KIND_DATA_JOB_LIST, 3, "data_jobs:list");
}

/* ---- iter: every page, lazily ---- */

enum { UP_SELF = 1, UP_QUERY, UP_PAGE, UP_INDEX, UP_SEEN, UP_COUNT, UP_MAX, UP_DONE, UP_OPTS, UP_LIMIT };

static int iter_next(lua_State *L) {
    for (;;) {
        long index, count, max_items, limit;
        size_t page_len = 0;
        if (lua_toboolean(L, lua_upvalueindex(UP_DONE))) return 0;
        count = (long)lua_tonumber(L, lua_upvalueindex(UP_COUNT));
        max_items = (long)lua_tonumber(L, lua_upvalueindex(UP_MAX));
        limit = (long)lua_tonumber(L, lua_upvalueindex(UP_LIMIT));
        if (max_items > 0 && count >= max_items) {
            lua_pushboolean(L, 1);
            lua_replace(L, lua_upvalueindex(UP_DONE));
            return 0;
        }
        index = (long)lua_tonumber(L, lua_upvalueindex(UP_INDEX));
        if (lua_type(L, lua_upvalueindex(UP_PAGE)) == LUA_TTABLE)
            page_len = sf_rawlen(L, lua_upvalueindex(UP_PAGE));
        if (lua_type(L, lua_upvalueindex(UP_PAGE)) == LUA_TTABLE && (size_t)index <= page_len) {
            lua_pushinteger(L, index + 1);
            lua_replace(L, lua_upvalueindex(UP_INDEX));
            lua_rawgeti(L, lua_upvalueindex(UP_PAGE), (int)index);
            lua_getfield(L, -1, "id");
            if (lua_type(L, -1) == LUA_TSTRING) {
                /* Jobs created while we page shift older ones down a page:
                 * never hand out the same job twice. */
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
            lua_pushinteger(L, count + 1);
            lua_replace(L, lua_upvalueindex(UP_COUNT));
            return 1;
        }
        if (lua_type(L, lua_upvalueindex(UP_PAGE)) == LUA_TTABLE) {
            long offset;
            if ((long)page_len < limit) { /* a short page is the last one */
                lua_pushboolean(L, 1);
                lua_replace(L, lua_upvalueindex(UP_DONE));
                return 0;
            }
            lua_getfield(L, lua_upvalueindex(UP_QUERY), "offset");
            offset = (long)lua_tonumber(L, -1) + (long)page_len;
            lua_pop(L, 1);
            lua_pushinteger(L, offset);
            lua_setfield(L, lua_upvalueindex(UP_QUERY), "offset");
        }
        /* Fetch the next page: errors always raise from an iterator. */
        lua_settop(L, 0);
        lua_pushvalue(L, lua_upvalueindex(UP_SELF));
        sf_rawgetp(L, 1, &sf_key_client_field); /* 2 */
        lua_pushliteral(L, "flow/data-jobs");   /* 3 */
        {
            sf_client *c = sf_check_client(L, 2, "data_jobs:iter");
            sf_call call;
            memset(&call, 0, sizeof call);
            call.method = "GET";
            call.path = lua_tostring(L, 3);
            lua_pushvalue(L, lua_upvalueindex(UP_QUERY)); /* 4 */
            call.query_idx = 4;
            call.kind = SF_KIND_DATA_JOB_LIST;
            sf_call_opts_init(c, &call.opts);
            lua_pushvalue(L, lua_upvalueindex(UP_OPTS)); /* 5 */
            sf_call_opts_read(L, 5, &call.opts, "data_jobs:iter");
            if (!sf_client_call(L, 2, &call)) return lua_error(L);
        }
        lua_getfield(L, -1, "data");
        if (lua_type(L, -1) != LUA_TTABLE) {
            sf_push_error(L, "decode", "the list response has no 'data' array");
            return lua_error(L);
        }
        if (sf_rawlen(L, -1) == 0) {
            lua_pushboolean(L, 1);
            lua_replace(L, lua_upvalueindex(UP_DONE));
            return 0;
        }
        lua_replace(L, lua_upvalueindex(UP_PAGE));
        lua_pushinteger(L, 1);
        lua_replace(L, lua_upvalueindex(UP_INDEX));
        lua_settop(L, 0);
    }
}

static const field_spec iter_fields[] = {
    {"job_type", F_STRING, 0, 1, 64, job_types},
    {"sort_by", F_STRING, 0, 1, 64, sort_fields},
    {"sort_order", F_STRING, 0, 1, 8, sort_orders},
    {"limit", F_INT, 0, 1, 100, NULL},
    {"offset", F_INT, 0, 0, NO_MAX, NULL},
    {"max_items", F_INT, 0, 1, NO_MAX, NULL},
    {NULL, F_STRING, 0, 0, 0, NULL}};

GUARDED(l_iter) {
    int client_idx, query_idx;
    lua_Integer limit = 100, max_items = 0;
    sf_call_opts probe;
    lua_settop(L, 3);
    client_idx = check_self(L, "iter");
    if (lua_isnil(L, 2)) {
        lua_newtable(L);
        lua_replace(L, 2);
    }
    /* Check the options now, not at the first page. */
    sf_call_opts_init(sf_check_client(L, client_idx, "data_jobs:iter"), &probe);
    sf_call_opts_read(L, 3, &probe, "data_jobs:iter");
    if (probe.async)
        sf_arg_error(L, "data_jobs:iter pages by itself and cannot be async: call data_jobs:list with "
                        "{ async = true } for each page instead");
    sf_build_table(L, 2, iter_fields, "data_jobs:iter", "params");
    query_idx = lua_gettop(L);
    lua_getfield(L, query_idx, "limit");
    if (!lua_isnil(L, -1)) limit = (lua_Integer)lua_tonumber(L, -1);
    lua_pop(L, 1);
    lua_pushinteger(L, limit); /* default page size 100: fewer round trips than 25 */
    lua_setfield(L, query_idx, "limit");
    lua_getfield(L, query_idx, "offset");
    if (lua_isnil(L, -1)) {
        lua_pushinteger(L, 0);
        lua_setfield(L, query_idx, "offset");
    }
    lua_pop(L, 1);
    lua_getfield(L, query_idx, "max_items");
    if (!lua_isnil(L, -1)) max_items = (lua_Integer)lua_tonumber(L, -1);
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_setfield(L, query_idx, "max_items"); /* not a query parameter */

    lua_pushvalue(L, 1);          /* UP_SELF */
    lua_pushvalue(L, query_idx);  /* UP_QUERY */
    lua_pushnil(L);               /* UP_PAGE */
    lua_pushinteger(L, 1);        /* UP_INDEX */
    lua_newtable(L);              /* UP_SEEN */
    lua_pushinteger(L, 0);        /* UP_COUNT */
    lua_pushinteger(L, max_items);/* UP_MAX */
    lua_pushboolean(L, 0);        /* UP_DONE */
    if (lua_isnil(L, 3)) lua_newtable(L);
    else lua_pushvalue(L, 3);     /* UP_OPTS */
    lua_pushinteger(L, limit);    /* UP_LIMIT */
    lua_pushcclosure(L, iter_next, 10);
    return 1;
}

/* ---- the rest of the data-jobs endpoints ---- */

static const field_spec create_fields[] = {
    {"name", F_STRING, 1, 1, 255, NULL},
    {"job_type", F_STRING, 1, 1, 64, job_types},
    {"system_prompt", F_STRING, 0, 1, 1000000, NULL},
    {"instructions", F_STRING, 0, 1, 1000000, NULL},
    {"vector_database_id", F_STRING, 0, 1, MAX_ID_LEN, NULL},
    {"description", F_STRING, 0, 0, 100000, NULL},
    {NULL, F_STRING, 0, 0, 0, NULL}};

GUARDED(l_create) {
    int client_idx, body_idx;
    lua_settop(L, 3);
    client_idx = check_self(L, "create");
    sf_build_table(L, 2, create_fields, "data_jobs:create", "job");
    body_idx = lua_gettop(L);
    lua_pushliteral(L, "flow/data-jobs");
    return run(L, client_idx, "POST", lua_gettop(L), 0, body_idx, SF_KIND_DATA_JOB, 3, "data_jobs:create");
}

static const field_spec update_fields[] = {
    {"name", F_STRING, 0, 1, 255, NULL},
    {"system_prompt", F_STRING, 0, 1, 1000000, NULL},
    {"instructions", F_STRING, 0, 1, 1000000, NULL},
    {"vector_database_id", F_STRING, 0, 1, MAX_ID_LEN, NULL},
    {"description", F_STRING, 0, 0, 100000, NULL},
    {NULL, F_STRING, 0, 0, 0, NULL}};

GUARDED(l_update) {
    int client_idx, body_idx;
    lua_settop(L, 4);
    client_idx = check_self(L, "update");
    const char *id = sf_check_id(L, 2, "data job id", "data_jobs:update");
    sf_build_table(L, 3, update_fields, "data_jobs:update", "changes");
    body_idx = lua_gettop(L);
    lua_pushnil(L);
    if (lua_next(L, body_idx) == 0) sf_arg_error(L, "data_jobs:update: nothing to change (give name, system_prompt, …)");
    lua_pop(L, 2);
    push_job_path(L, id, "");
    return run(L, client_idx, "PATCH", lua_gettop(L), 0, body_idx, SF_KIND_DATA_JOB, 4, "data_jobs:update");
}

GUARDED(l_delete) {
    int client_idx;
    lua_settop(L, 3);
    client_idx = check_self(L, "delete");
    const char *id = sf_check_id(L, 2, "data job id", "data_jobs:delete");
    push_job_path(L, id, "");
    return run(L, client_idx, "DELETE", lua_gettop(L), 0, 0, SF_KIND_NONE, 3, "data_jobs:delete");
}

static const field_spec add_files_fields[] = {
    {"file_ids", F_STRING_LIST, 1, 1, MAX_FILE_IDS, NULL},
    {"method", F_STRING, 0, 1, 64, NULL},
    {NULL, F_STRING, 0, 0, 0, NULL}};

static const field_spec remove_files_fields[] = {
    {"file_ids", F_STRING_LIST, 1, 1, MAX_FILE_IDS, NULL},
    {NULL, F_STRING, 0, 0, 0, NULL}};

/* add_files(id, { "file-1", … }) or add_files(id, { file_ids = {…}, method = … }) */
static void file_ids_arg(lua_State *L, int idx, const field_spec *specs, const char *where) {
    if (lua_type(L, idx) == LUA_TSTRING)
        sf_arg_error(L, "%s: pass file ids as a list: { \"%s\" }", where, lua_tostring(L, idx));
    if (lua_type(L, idx) == LUA_TTABLE) {
        int is_list;
        lua_rawgeti(L, idx, 1);
        is_list = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (is_list) {
            lua_createtable(L, 0, 1);
            lua_pushvalue(L, idx);
            lua_setfield(L, -2, "file_ids");
            lua_replace(L, idx);
        }
    }
    sf_build_table(L, idx, specs, where, "files");
}

GUARDED(l_add_files) {
    int client_idx, body_idx;
    lua_settop(L, 4);
    client_idx = check_self(L, "add_files");
    const char *id = sf_check_id(L, 2, "data job id", "data_jobs:add_files");
    file_ids_arg(L, 3, add_files_fields, "data_jobs:add_files");
    body_idx = lua_gettop(L);
    push_job_path(L, id, "/add-files");
    return run(L, client_idx, "POST", lua_gettop(L), 0, body_idx, SF_KIND_DATA_JOB, 4, "data_jobs:add_files");
}

GUARDED(l_remove_files) {
    int client_idx, body_idx;
    lua_settop(L, 4);
    client_idx = check_self(L, "remove_files");
    const char *id = sf_check_id(L, 2, "data job id", "data_jobs:remove_files");
    file_ids_arg(L, 3, remove_files_fields, "data_jobs:remove_files");
    body_idx = lua_gettop(L);
    push_job_path(L, id, "/remove-files");
    return run(L, client_idx, "POST", lua_gettop(L), 0, body_idx, SF_KIND_DATA_JOB, 4, "data_jobs:remove_files");
}

GUARDED(l_start) {
    int client_idx;
    lua_settop(L, 3);
    client_idx = check_self(L, "start");
    const char *id = sf_check_id(L, 2, "data job id", "data_jobs:start");
    push_job_path(L, id, "/start");
    return run(L, client_idx, "POST", lua_gettop(L), 0, 0, SF_KIND_DATA_JOB, 3, "data_jobs:start");
}

GUARDED(l_cancel) {
    int client_idx;
    lua_settop(L, 3);
    client_idx = check_self(L, "cancel");
    const char *id = sf_check_id(L, 2, "data job id", "data_jobs:cancel");
    push_job_path(L, id, "/cancel");
    return run(L, client_idx, "POST", lua_gettop(L), 0, 0, SF_KIND_DATA_JOB, 3, "data_jobs:cancel");
}

static const field_spec clone_fields[] = {
    {"name", F_STRING, 0, 1, 255, NULL},
    {NULL, F_STRING, 0, 0, 0, NULL}};

GUARDED(l_clone) {
    int client_idx, body_idx;
    lua_settop(L, 4);
    client_idx = check_self(L, "clone");
    const char *id = sf_check_id(L, 2, "data job id", "data_jobs:clone");
    if (lua_isnoneornil(L, 3)) {
        lua_newtable(L);
        lua_replace(L, 3);
    }
    sf_build_table(L, 3, clone_fields, "data_jobs:clone", "options");
    body_idx = lua_gettop(L);
    push_job_path(L, id, "/clone");
    return run(L, client_idx, "POST", lua_gettop(L), 0, body_idx, SF_KIND_DATA_JOB, 4, "data_jobs:clone");
}

static const field_spec prompt_fields[] = {
    {"instructions", F_STRING, 1, 1, 1000000, NULL},
    {"document_summary", F_STRING, 0, 1, 1000000, NULL},
    {NULL, F_STRING, 0, 0, 0, NULL}};

GUARDED(l_generate_system_prompt) {
    int client_idx, body_idx;
    lua_settop(L, 3);
    client_idx = check_self(L, "generate_system_prompt");
    sf_build_table(L, 2, prompt_fields, "data_jobs:generate_system_prompt", "request");
    body_idx = lua_gettop(L);
    lua_pushliteral(L, "flow/data-jobs/gen_system_prompt");
    return run(L, client_idx, "POST", lua_gettop(L), 0, body_idx, SF_KIND_NONE, 3, "data_jobs:generate_system_prompt");
}

GUARDED(l_outputs) {
    int client_idx;
    lua_settop(L, 3);
    client_idx = check_self(L, "outputs");
    const char *id = sf_check_id(L, 2, "data job id", "data_jobs:outputs");
    push_job_path(L, id, "/outputs");
    return run(L, client_idx, "GET", lua_gettop(L), 0, 0, SF_KIND_OUTPUT, 3, "data_jobs:outputs");
}

/* Needs the module table on top; registers package.loaded["seekrflow.data_jobs"]. */
void sf_open_data_jobs(lua_State *L) {
    static const luaL_Reg resource_methods[] = {
        {"retrieve", l_retrieve},         {"list", l_list},
        {"iter", l_iter},                 {"create", l_create},
        {"update", l_update},             {"delete", l_delete},
        {"add_files", l_add_files},       {"remove_files", l_remove_files},
        {"start", l_start},               {"cancel", l_cancel},
        {"clone", l_clone},               {"generate_system_prompt", l_generate_system_prompt},
        {"outputs", l_outputs},           {NULL, NULL}};

    sf_register_resource(L, "data_jobs", push_data_jobs);
    lua_createtable(L, 0, 2); /* resource metatable */
    lua_createtable(L, 0, 16);
    sf_setfuncs(L, resource_methods);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__index");
    /* The module value: the methods table, also reachable as core.data_jobs. */
    lua_getglobal(L, "package");
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "loaded");
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_pushvalue(L, -3);
            lua_setfield(L, -2, "seekrflow.data_jobs");
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_setfield(L, -3, "data_jobs");
    lua_pushliteral(L, "seekrflow.data_jobs");
    lua_setfield(L, -2, "__name");
    sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_data_jobs_mt);
}
