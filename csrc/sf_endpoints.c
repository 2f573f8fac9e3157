/*
 * sf_endpoints.c - the API surface as data: one generic runner for the
 * endpoint rows that sf_data_jobs.c and sf_files.c declare, and the check
 * that a success is the shape the row promises. The pager behind every
 * `iter` is in sf_pager.c, downloads to disk in sf_download.c.
 *
 * A call: check self (a colon call on the resource), the id (sf_args.c), the
 * arguments against the row's fields, the per-call options; build the path
 * from the row's template; run it through the transport; check the result's
 * shape. Argument errors follow the client's error mode; only a client in
 * "return" mode pays for a protected call.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sf_core.h"

/* ---- self and the resource object ---- */

/* Checks a colon call on the resource; pushes the client, returns its index. */
int sf_check_self(lua_State *L, const sf_resource *res, const char *where) {
    int ok = 0;
    if (lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1)) {
        sf_rawgetp(L, LUA_REGISTRYINDEX, res->mt_key);
        ok = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    if (!ok) {
        const char *method = strchr(where, ':') + 1;
        sf_arg_error(L, "%s must be called with a colon: client.%s:%s(…), not client.%s.%s(…)", where, res->field,
                     method, res->field, method);
    }
    sf_rawgetp(L, 1, &sf_key_client_field);
    return lua_gettop(L);
}

/* A new resource object (ctx: its sf_resource) bound to the client at
 * client_idx; the registry (sf_client.c) caches it in the client's uservalue. */
static void push_resource_object(lua_State *L, int client_idx, const void *ctx) {
    const sf_resource *res = ctx;
    client_idx = sf_absindex(L, client_idx);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, client_idx);
    sf_rawsetp(L, -2, &sf_key_client_field);
    sf_rawgetp(L, LUA_REGISTRYINDEX, res->mt_key);
    lua_setmetatable(L, -2);
}

/* ---- the path ---- */

/* Pushes the row's path with "{id}" replaced by the escaped id. */
void sf_push_path(lua_State *L, const char *tmpl, const char *id) {
    const char *at = id != NULL ? strstr(tmpl, "{id}") : NULL;
    sf_buf b = {NULL, 0, 0};
    if (at == NULL) {
        lua_pushstring(L, tmpl);
        return;
    }
    if (!sf_buf_append(&b, tmpl, (size_t)(at - tmpl)) || !sf_escape(&b, id, strlen(id)) ||
        !sf_buf_append(&b, at + 4, strlen(at + 4))) {
        sf_buf_free(&b);
        luaL_error(L, "seekrflow: out of memory");
    }
    lua_pushlstring(L, b.data, b.len);
    sf_buf_free(&b);
}

/* ---- the shape of a success ---- */

static const char *describe(lua_State *L, int idx) {
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return "null";
    case LUA_TBOOLEAN: return lua_toboolean(L, idx) ? "an empty body" : "false";
    case LUA_TNUMBER: return "a number";
    case LUA_TSTRING: return "a string";
    case LUA_TTABLE: return "an array";
    default: return luaL_typename(L, idx);
    }
}

static int is_array(lua_State *L, int idx) {
    int is;
    if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return 0;
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_array_mt);
    is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return is;
}

static int is_object(lua_State *L, int idx) { return lua_type(L, idx) == LUA_TTABLE && !is_array(L, idx); }

static void push_empty_array(lua_State *L) {
    lua_newtable(L);
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_array_mt);
    lua_setmetatable(L, -2);
}

/* Replaces the value on top by a decode error saying what came instead. */
static void shape_error(lua_State *L, const sf_endpoint *e, const char *expected, const char *got) {
    char msg[300];
    snprintf(msg, sizeof msg, "%s expected %s in the response, got %s", e->where, expected, got);
    lua_pop(L, 1);
    sf_push_error(L, "decode", msg);
    lua_pushstring(L, e->method);
    lua_setfield(L, -2, "method");
}

/* The data array of a list envelope at the top, in place; missing or null
 * data is an empty page. Returns 0 (with the error on top) when malformed. */
static int list_data(lua_State *L, const sf_endpoint *e) {
    int t = lua_gettop(L);
    lua_pushliteral(L, "data");
    lua_rawget(L, t);
    if (lua_isnil(L, -1) || sf_is_null(L, -1)) {
        lua_pop(L, 1);
        push_empty_array(L);
        lua_pushliteral(L, "data");
        lua_pushvalue(L, -2);
        lua_rawset(L, t);
    } else if (!is_array(L, -1) && !(lua_type(L, -1) == LUA_TTABLE && sf_rawlen(L, -1) > 0)) {
        const char *got = lua_type(L, -1) == LUA_TTABLE ? "an object" : describe(L, -1);
        lua_pop(L, 1);
        shape_error(L, e, "a list whose 'data' is an array", got);
        return 0;
    }
    return 1;
}

/* Checks the result on top against the row; returns 0 with an error instead.
 * The transport calls it (sf_call.shape) for blocking and async requests. */
int sf_check_result(lua_State *L, const void *row) {
    const sf_endpoint *e = row;
    switch (e->result) {
    case SF_RESULT_DELETED:
        return 1;
    case SF_RESULT_OBJECT:
        if (is_object(L, -1)) return 1;
        shape_error(L, e, "a JSON object", describe(L, -1));
        return 0;
    case SF_RESULT_LIST:
        if (!is_object(L, -1)) {
            shape_error(L, e, "a list object {\"object\": \"list\", \"data\": […]}", describe(L, -1));
            return 0;
        }
        if (!list_data(L, e)) return 0;
        lua_pop(L, 1);
        return 1;
    case SF_RESULT_ARRAY:
        /* A bare array, a list envelope, or a single object. */
        if (is_array(L, -1)) return 1;
        if (is_object(L, -1)) {
            int envelope;
            lua_pushliteral(L, "data");
            lua_rawget(L, -2);
            envelope = !lua_isnil(L, -1);
            lua_pop(L, 1);
            lua_pushliteral(L, "object");
            lua_rawget(L, -2);
            envelope = envelope || (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "list") == 0);
            lua_pop(L, 1);
            if (envelope) {
                if (!list_data(L, e)) return 0;
                lua_remove(L, -2);
                return 1;
            }
            push_empty_array(L);
            lua_insert(L, -2);
            lua_rawseti(L, -2, 1);
            return 1;
        }
        shape_error(L, e, "an array, a list object or an object", describe(L, -1));
        return 0;
    }
    return 1;
}

/* When the row names a body field the service may drop silently and the
 * result does not carry what was sent, result.<field>_dropped is the text. */
static void check_echo(lua_State *L, const sf_endpoint *e, int body_idx) {
    char key[64];
    if (e->echo == NULL || body_idx == 0 || lua_type(L, -1) != LUA_TTABLE) return;
    lua_getfield(L, body_idx, e->echo);
    if (lua_type(L, -1) == LUA_TSTRING) {
        lua_pushstring(L, e->echo);
        lua_rawget(L, -3);
        if (!lua_rawequal(L, -1, -2)) {
            lua_pop(L, 1);
            snprintf(key, sizeof key, "%s_dropped", e->echo);
            lua_setfield(L, -2, key);
            return;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* ---- arguments ---- */

/* add_files(id, { "file-1", … }) or add_files(id, { file_ids = {…}, method = … }) */
static void file_ids_arg(lua_State *L, int idx, const sf_endpoint *e) {
    if (lua_type(L, idx) == LUA_TSTRING)
        sf_arg_error(L, "%s: pass file ids as a list: { \"%s\" }", e->where, lua_tostring(L, idx));
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
    sf_build_table(L, idx, e->fields, e->where, e->fields_what);
}

/* upload(path[, { purpose = …, filename = … }]): checks the file, fills the
 * two parts (purpose, then the file) of the multipart body. */
static void upload_arg(lua_State *L, const sf_endpoint *e, int path_idx, int fields_idx, sf_part parts[2]) {
    size_t len;
    const char *path = sf_check_path(L, path_idx, "path of the file to upload", e->where, SF_MAX_FILE_PATH, &len);
    const char *base;
    struct stat st;
    FILE *f;
    if (stat(path, &st) != 0) sf_arg_error(L, "%s: cannot read \"%s\": no such file", e->where, path);
    if (!S_ISREG(st.st_mode)) sf_arg_error(L, "%s: \"%s\" is not a regular file", e->where, path);
    f = fopen(path, "rb");
    if (f == NULL) sf_arg_error(L, "%s: cannot open \"%s\" for reading (permissions?)", e->where, path);
    else fclose(f);
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (*base == '\0') sf_arg_error(L, "%s: \"%s\" names no file", e->where, path);
    memset(parts, 0, 2 * sizeof parts[0]);
    parts[0].name = "purpose";
    lua_getfield(L, fields_idx, "purpose"); /* strings anchored by the fields table */
    parts[0].value = lua_isnil(L, -1) ? "alignment" : lua_tolstring(L, -1, &parts[0].value_len);
    if (lua_isnil(L, -1)) parts[0].value_len = strlen(parts[0].value);
    lua_pop(L, 1);
    parts[1].name = "files";
    parts[1].file_path = path;
    parts[1].file_path_len = len;
    lua_getfield(L, fields_idx, "filename");
    if (lua_isnil(L, -1)) {
        parts[1].file_name = base;
        parts[1].file_name_len = len - (size_t)(base - path);
    } else {
        parts[1].file_name = lua_tolstring(L, -1, &parts[1].file_name_len);
    }
    lua_pop(L, 1);
}

/* ---- the runner ---- */

/* Stack: self, [id or path], [arguments], opts, client. */
static int run_endpoint(lua_State *L) {
    const sf_endpoint *e = lua_touserdata(L, lua_upvalueindex(1));
    int client_idx = lua_gettop(L), arg = 2, opts_idx, body_idx = 0, fields_idx = 0;
    const char *id = NULL;
    sf_client *c = sf_check_client(L, client_idx, e->where);
    sf_call call;
    sf_part parts[2];
    memset(&call, 0, sizeof call);
    opts_idx = client_idx - 1;
    if (e->id_what != NULL) id = sf_check_id(L, arg++, e->id_what, e->where);
    else if (e->args == SF_ARGS_UPLOAD) arg++; /* the path, checked with the fields */
    switch (e->args) {
    case SF_ARGS_NONE:
    case SF_ARGS_DOWNLOAD:
        break;
    case SF_ARGS_OPTIONAL:
    case SF_ARGS_UPLOAD:
        if (lua_isnil(L, arg)) {
            lua_newtable(L);
            lua_replace(L, arg);
        }
        /* fall through */
    case SF_ARGS_REQUIRED:
        sf_build_table(L, arg, e->fields, e->where, e->fields_what);
        fields_idx = lua_gettop(L);
        break;
    case SF_ARGS_FILE_IDS:
        file_ids_arg(L, arg, e);
        fields_idx = lua_gettop(L);
        break;
    }
    if ((e->flags & SF_EP_NONEMPTY) && fields_idx) {
        lua_pushnil(L);
        if (lua_next(L, fields_idx) == 0) sf_arg_error(L, "%s: nothing to change (give %s)", e->where, e->fields[0].name);
        lua_pop(L, 2);
    }
    call.method = e->method;
    call.kind = e->kind;
    if (e->args == SF_ARGS_UPLOAD) {
        upload_arg(L, e, 2, fields_idx, parts);
        call.parts = parts;
        call.nparts = 2;
    } else if (fields_idx) {
        if (strcmp(e->method, "GET") == 0) call.query_idx = fields_idx;
        else call.body_idx = body_idx = fields_idx;
    }
    sf_call_opts_init(c, &call.opts);
    sf_call_opts_read(L, opts_idx, &call.opts, e->where);
    sf_push_path(L, e->path, id);
    call.path = lua_tostring(L, -1);
    if (e->args == SF_ARGS_DOWNLOAD) return sf_download_call(L, client_idx, c, &call, e, arg);
    call.shape = sf_check_result;
    call.shape_ctx = e;
    if (!sf_client_call(L, client_idx, &call)) return sf_finish(L, c, 0);
    if (!call.opts.async) check_echo(L, e, body_idx);
    return 1;
}

static int arity(const sf_endpoint *e) {
    return 1 + (e->id_what != NULL || e->args == SF_ARGS_UPLOAD) + (e->args != SF_ARGS_NONE);
}

/* The method: argument errors follow the client's error mode. A client that
 * raises needs no protected call; one in "return" mode gets nil, err. A dot
 * call has no client to ask, so it always raises. Upvalues: the row, its
 * resource, and run_endpoint closed over the row (made once, at open). */
static int l_endpoint(lua_State *L) {
    const sf_endpoint *e = lua_touserdata(L, lua_upvalueindex(1));
    const sf_resource *res = lua_touserdata(L, lua_upvalueindex(2));
    int n = arity(e) + 1, client_idx;
    sf_client *c;
    lua_settop(L, n);
    client_idx = sf_check_self(L, res, e->where);
    c = sf_testudata(L, client_idx, &sf_key_client_mt);
    if (c == NULL || c->raise_errors) return run_endpoint(L);
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_insert(L, 1);
    if (lua_pcall(L, n + 1, LUA_MULTRET, 0) == LUA_OK) return lua_gettop(L);
    if (lua_type(L, -1) != LUA_TTABLE) return lua_error(L);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* Pushes the methods table of a resource, registers its metatable and
 * client.<field>. */
void sf_open_resource(lua_State *L, const sf_resource *res) {
    const sf_endpoint *e;
    sf_register_resource(L, res->field, push_resource_object, res);
    lua_createtable(L, 0, 2); /* the resource metatable */
    lua_newtable(L);          /* its methods */
    for (e = res->endpoints; e->where != NULL; e++) {
        /* const rows: the core never writes through these pointers */
        lua_pushlightuserdata(L, (void *)(size_t)e);
        lua_pushlightuserdata(L, (void *)(size_t)res);
        lua_pushlightuserdata(L, (void *)(size_t)e);
        lua_pushcclosure(L, run_endpoint, 1);
        lua_pushcclosure(L, l_endpoint, 3);
        lua_setfield(L, -2, strchr(e->where, ':') + 1);
        if (e->flags & SF_EP_PAGED) {
            lua_pushlightuserdata(L, (void *)(size_t)e);
            lua_pushlightuserdata(L, (void *)(size_t)res);
            lua_pushfstring(L, "%s:iter", res->field);
            lua_pushcclosure(L, sf_iter_method, 3);
            lua_setfield(L, -2, "iter");
        }
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__index");
    lua_pushstring(L, res->name);
    lua_setfield(L, -3, "__name");
    lua_insert(L, -2);
    sf_rawsetp(L, LUA_REGISTRYINDEX, res->mt_key);
}
