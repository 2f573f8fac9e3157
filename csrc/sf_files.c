/*
 * sf_files.c - client.files: upload (multipart, streamed from disk),
 * retrieve, list and delete. add-files takes the ids these return.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sf_core.h"

static const char *const purposes[] = {"alignment", "fine-tune", "reinforcement-fine-tune",
                                       "preference-fine-tune", "pre-train", NULL};
static const char *const file_sorts[] = {"created_at", "filename", "type", "bytes", NULL};
static const char *const sort_orders[] = {"asc", "desc", NULL};

static int check_self(lua_State *L, const char *method) {
    return sf_check_resource(L, &sf_key_files_mt, "files", method);
}

static void push_files(lua_State *L, int client_idx) {
    client_idx = sf_absindex(L, client_idx);
    sf_getuservalue(L, client_idx);
    lua_getfield(L, -1, "files");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 1);
        lua_pushvalue(L, client_idx);
        sf_rawsetp(L, -2, &sf_key_client_field);
        sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_files_mt);
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, "files");
    }
    lua_remove(L, -2);
}

static int run(lua_State *L, int client_idx, sf_call *call, int opts_idx, const char *where) {
    sf_client *c = sf_check_client(L, client_idx, where);
    sf_call_opts_init(c, &call->opts);
    if (opts_idx) sf_call_opts_read(L, opts_idx, &call->opts, where);
    return sf_finish(L, c, sf_client_call(L, client_idx, call));
}

static void push_file_path(lua_State *L, const char *id) {
    sf_buf b = {NULL, 0, 0};
    if (!sf_buf_append(&b, "flow/files/", 11) || !sf_escape(&b, id, strlen(id))) {
        sf_buf_free(&b);
        luaL_error(L, "seekrflow: out of memory");
    }
    lua_pushlstring(L, b.data, b.len);
    sf_buf_free(&b);
}

static const field_spec upload_fields[] = {
    {"purpose", F_STRING, 0, 1, 64, purposes},
    {"filename", F_STRING, 0, 1, 255, NULL},
    {NULL, F_STRING, 0, 0, 0, NULL}};

/* files:upload(path[, { purpose = "alignment", filename = … }[, opts]]) */
static int upload_impl(lua_State *L) {
    int client_idx, fields_idx;
    const char *path, *base;
    struct stat st;
    sf_call call;
    sf_part parts[2];
    size_t path_len;
    lua_settop(L, 4);
    client_idx = check_self(L, "upload");
    if (lua_type(L, 2) != LUA_TSTRING) sf_arg_error(L, "files:upload: give the path of a file to upload");
    path = lua_tolstring(L, 2, &path_len);
    if (stat(path, &st) != 0) sf_arg_error(L, "files:upload: cannot read \"%s\": no such file", path);
    if (!S_ISREG(st.st_mode)) sf_arg_error(L, "files:upload: \"%s\" is not a regular file", path);
    {
        FILE *f = fopen(path, "rb");
        if (f == NULL) sf_arg_error(L, "files:upload: cannot open \"%s\" for reading (permissions?)", path);
        else fclose(f);
    }
    if (lua_isnil(L, 3)) {
        lua_newtable(L);
        lua_replace(L, 3);
    }
    sf_build_table(L, 3, upload_fields, "files:upload", "options");
    fields_idx = lua_gettop(L);
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    memset(&call, 0, sizeof call);
    call.method = "PUT";
    call.path = "flow/files";
    call.kind = SF_KIND_FILE;
    memset(parts, 0, sizeof parts);
    parts[0].name = "purpose";
    lua_getfield(L, fields_idx, "purpose");
    parts[0].value = lua_isnil(L, -1) ? "alignment" : lua_tolstring(L, -1, NULL);
    parts[0].value_len = strlen(parts[0].value);
    parts[1].name = "files";
    parts[1].file_path = path;
    parts[1].file_path_len = path_len;
    lua_getfield(L, fields_idx, "filename");
    parts[1].file_name = lua_isnil(L, -1) ? base : lua_tolstring(L, -1, NULL);
    parts[1].file_name_len = lua_isnil(L, -1) ? path_len - (size_t)(base - path) : sf_rawlen(L, -1);
    call.parts = parts;
    call.nparts = 2;
    return run(L, client_idx, &call, 4, "files:upload");
}

static int retrieve_impl(lua_State *L) {
    int client_idx;
    sf_call call;
    lua_settop(L, 3);
    client_idx = check_self(L, "retrieve");
    push_file_path(L, sf_check_id(L, 2, "file id", "files:retrieve"));
    memset(&call, 0, sizeof call);
    call.method = "GET";
    call.path = lua_tostring(L, -1);
    call.kind = SF_KIND_FILE;
    return run(L, client_idx, &call, 3, "files:retrieve");
}

static int delete_impl(lua_State *L) {
    int client_idx;
    sf_call call;
    lua_settop(L, 3);
    client_idx = check_self(L, "delete");
    push_file_path(L, sf_check_id(L, 2, "file id", "files:delete"));
    memset(&call, 0, sizeof call);
    call.method = "DELETE";
    call.path = lua_tostring(L, -1);
    return run(L, client_idx, &call, 3, "files:delete");
}

static const field_spec list_fields[] = {
    {"purpose", F_STRING, 0, 1, 64, purposes},
    {"sort_by", F_STRING, 0, 1, 64, file_sorts},
    {"sort_order", F_STRING, 0, 1, 8, sort_orders},
    {"limit", F_INT, 0, 1, 1000, NULL},
    {"offset", F_INT, 0, 0, NO_MAX, NULL},
    {NULL, F_STRING, 0, 0, 0, NULL}};

static int list_impl(lua_State *L) {
    int client_idx;
    sf_call call;
    lua_settop(L, 3);
    client_idx = check_self(L, "list");
    if (lua_isnil(L, 2)) {
        lua_newtable(L);
        lua_replace(L, 2);
    }
    sf_build_table(L, 2, list_fields, "files:list", "params");
    memset(&call, 0, sizeof call);
    call.method = "GET";
    call.path = "flow/files";
    call.query_idx = lua_gettop(L);
    call.kind = SF_KIND_FILE_LIST;
    return run(L, client_idx, &call, 3, "files:list");
}

static int l_upload(lua_State *L) { return sf_guarded(L, upload_impl); }
static int l_retrieve(lua_State *L) { return sf_guarded(L, retrieve_impl); }
static int l_delete(lua_State *L) { return sf_guarded(L, delete_impl); }
static int l_list(lua_State *L) { return sf_guarded(L, list_impl); }

void sf_open_files(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"upload", l_upload}, {"retrieve", l_retrieve}, {"delete", l_delete}, {"list", l_list}, {NULL, NULL}};
    sf_register_resource(L, "files", push_files);
    lua_createtable(L, 0, 2);
    lua_createtable(L, 0, 4);
    sf_setfuncs(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "seekrflow.files");
    lua_setfield(L, -2, "__name");
    sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_files_mt);
}
