/*
 * sf_endpoints.c - the API surface as data: one generic runner for the
 * endpoint rows that sf_data_jobs.c and sf_files.c declare, the pager behind
 * every `iter`, and the check that a success is the shape the row promises.
 *
 * A call: check self (a colon call on the resource), the id (sf_args.c), the
 * arguments against the row's fields, the per-call options; build the path
 * from the row's template; run it through the transport; check the result's
 * shape. Argument errors follow the client's error mode; only a client in
 * "return" mode pays for a protected call.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fileno, fsync, ftruncate */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sf_core.h"

#define MAX_UPLOAD_PATH 4096
/* A download larger than this is refused (the API's files are up to 4 GB). */
#define MAX_DOWNLOAD_BYTES (8ULL << 30)
#define ITER_PAGE_SIZE 100
#define ITER_MAX_STUCK 3 /* full pages in a row with nothing new before paging stops */

/* ---- self and the resource object ---- */

/* Checks a colon call on the resource; pushes the client, returns its index. */
static int check_self(lua_State *L, const sf_resource *res, const char *where) {
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

/* A new resource object bound to the client at client_idx; the registry
 * (sf_client.c) caches it in the client's uservalue. */
void sf_push_resource(lua_State *L, int client_idx, const sf_resource *res) {
    client_idx = sf_absindex(L, client_idx);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, client_idx);
    sf_rawsetp(L, -2, &sf_key_client_field);
    sf_rawgetp(L, LUA_REGISTRYINDEX, res->mt_key);
    lua_setmetatable(L, -2);
}

/* ---- the path ---- */

/* Pushes the row's path with "{id}" replaced by the escaped id. */
static void push_path(lua_State *L, const char *tmpl, const char *id) {
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
static int check_result(lua_State *L, const void *row) {
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
    const char *path = sf_check_path(L, path_idx, "path of the file to upload", e->where, MAX_UPLOAD_PATH, &len);
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

/* ---- downloads: streamed to a temporary file, renamed when complete ---- */

static const char key_download_mt = 0;

typedef struct {
    FILE *f;
    char *tmp;                /* the temporary file, NULL once renamed or removed */
    unsigned long long bytes;
    int too_large;
    int write_errno;          /* errno of a failed write, 0 when none */
} sf_download;

/* The transport's body sink: runs inside libcurl, C memory only. */
static size_t download_sink(void *ctx, const char *data, size_t n) {
    sf_download *d = ctx;
    if (data == NULL) { /* a new attempt: start the file again */
        d->bytes = 0;
        d->too_large = 0;
        d->write_errno = 0;
        rewind(d->f);
        if (ftruncate(fileno(d->f), 0) != 0) d->write_errno = errno;
        return 0;
    }
    if (d->write_errno != 0) return 0;
    if (d->bytes + n > MAX_DOWNLOAD_BYTES) {
        d->too_large = 1;
        return 0;
    }
    if (fwrite(data, 1, n, d->f) != n) {
        d->write_errno = errno ? errno : EIO;
        return 0;
    }
    d->bytes += n;
    return n;
}

/* Closes the file and removes the temporary one unless it was renamed. */
static void download_discard(sf_download *d) {
    if (d->f != NULL) fclose(d->f);
    d->f = NULL;
    if (d->tmp != NULL) {
        remove(d->tmp);
        free(d->tmp);
        d->tmp = NULL;
    }
}

static int download_gc(lua_State *L) {
    sf_download *d = lua_touserdata(L, 1);
    if (d != NULL) download_discard(d);
    return 0;
}

/* Pushes a guard whose __gc removes the temporary file on any error path,
 * and opens a new temporary file next to dest (so the rename is atomic). */
static sf_download *download_open(lua_State *L, const sf_endpoint *e, const char *dest, size_t len) {
    static const char suffix[] = ".seekrflow-XXXXXX";
    struct stat st;
    int fd;
    sf_download *d;
    if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode))
        sf_arg_error(L, "%s: \"%s\" is a directory; give the path of the file to write", e->where, dest);
    d = sf_newuserdata(L, sizeof *d);
    memset(d, 0, sizeof *d);
    sf_rawgetp(L, LUA_REGISTRYINDEX, &key_download_mt);
    lua_setmetatable(L, -2);
    d->tmp = malloc(len + sizeof suffix);
    if (d->tmp == NULL) luaL_error(L, "seekrflow: out of memory");
    memcpy(d->tmp, dest, len);
    memcpy(d->tmp + len, suffix, sizeof suffix);
    fd = mkstemp(d->tmp);
    if (fd < 0) {
        int err = errno;
        free(d->tmp);
        d->tmp = NULL;
        sf_arg_error(L, "%s: cannot create a file next to \"%s\": %s", e->where, dest, strerror(err));
    }
    d->f = fdopen(fd, "wb");
    if (d->f == NULL) {
        close(fd);
        luaL_error(L, "seekrflow: out of memory");
    }
    return d;
}

/* After a successful transfer: flush, sync, rename over dest. Pushes the
 * result { path = dest, bytes = n }, or an io error; returns 1 or 0. */
static int download_commit(lua_State *L, sf_download *d, const char *dest) {
    int err = 0;
    if (fflush(d->f) != 0 || fsync(fileno(d->f)) != 0) err = errno;
    if (fclose(d->f) != 0 && err == 0) err = errno;
    d->f = NULL;
    if (err == 0 && rename(d->tmp, dest) != 0) err = errno;
    if (err != 0) {
        download_discard(d);
        sf_push_error(L, "io", "");
        lua_pushfstring(L, "could not write \"%s\": %s (nothing was left behind)", dest, strerror(err));
        lua_setfield(L, -2, "message");
        return 0;
    }
    free(d->tmp);
    d->tmp = NULL;
    lua_createtable(L, 0, 2);
    lua_pushstring(L, dest);
    lua_setfield(L, -2, "path");
    lua_pushnumber(L, (lua_Number)d->bytes);
    lua_setfield(L, -2, "bytes");
    return 1;
}

/* The error of a failed download, when it failed on this side. */
static void download_failed(lua_State *L, sf_download *d, const char *dest) {
    if (d->write_errno != 0) {
        lua_pop(L, 1);
        sf_push_error(L, "io", "");
        lua_pushfstring(L, "could not write \"%s\": %s (nothing was left behind)", dest, strerror(d->write_errno));
        lua_setfield(L, -2, "message");
    } else if (d->too_large) {
        lua_pop(L, 1);
        sf_push_error(L, "too_large", "");
        lua_pushfstring(L, "the download is larger than %d GiB: refused (nothing was left behind)",
                        (int)(MAX_DOWNLOAD_BYTES >> 30));
        lua_setfield(L, -2, "message");
    }
    download_discard(d);
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
    push_path(L, e->path, id);
    call.path = lua_tostring(L, -1);
    if (e->args == SF_ARGS_DOWNLOAD) {
        size_t len;
        const char *dest = sf_check_path(L, arg, "path to save to", e->where, MAX_UPLOAD_PATH, &len);
        sf_download *d;
        if (call.opts.async)
            sf_arg_error(L, "%s streams to disk and cannot be async; call it from a blocking client", e->where);
        d = download_open(L, e, dest, len);
        call.sink = download_sink;
        call.sink_ctx = d;
        if (!sf_client_call(L, client_idx, &call)) {
            download_failed(L, d, dest);
            return sf_finish(L, c, 0);
        }
        lua_pop(L, 1); /* true: the body went to the file */
        return sf_finish(L, c, download_commit(L, d, dest));
    }
    call.shape = check_result;
    call.shape_ctx = e;
    if (!sf_client_call(L, client_idx, &call)) return sf_finish(L, c, 0);
    if (!call.opts.async) check_echo(L, e, body_idx);
    return 1;
}

static int arity(const sf_endpoint *e) {
    return 1 + (e->id_what != NULL || e->args == SF_ARGS_UPLOAD) + (e->args != SF_ARGS_NONE);
}

static void open_downloads(lua_State *L) {
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, download_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "seekrflow.download");
    lua_setfield(L, -2, "__name");
    sf_rawsetp(L, LUA_REGISTRYINDEX, &key_download_mt);
}

/* The method: argument errors follow the client's error mode. A client that
 * raises needs no protected call; one in "return" mode gets nil, err. A dot
 * call has no client to ask, so it always raises. */
static int l_endpoint(lua_State *L) {
    const sf_endpoint *e = lua_touserdata(L, lua_upvalueindex(1));
    const sf_resource *res = lua_touserdata(L, lua_upvalueindex(2));
    int n = arity(e) + 1, client_idx;
    sf_client *c;
    lua_settop(L, n);
    client_idx = check_self(L, res, e->where);
    c = sf_testudata(L, client_idx, &sf_key_client_mt);
    if (c == NULL || c->raise_errors) return run_endpoint(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, run_endpoint, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, n + 1, LUA_MULTRET, 0) == LUA_OK) return lua_gettop(L);
    if (lua_type(L, -1) != LUA_TTABLE) return lua_error(L);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* ---- iter: every page of a list row, lazily ---- */

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
            push_path(L, e->path, NULL); /* 3 */
            call.method = e->method;
            call.path = lua_tostring(L, 3);
            lua_pushvalue(L, lua_upvalueindex(UP_QUERY)); /* 4 */
            call.query_idx = 4;
            call.kind = e->kind;
            call.shape = check_result;
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

static int l_iter(lua_State *L) {
    const sf_resource *res = lua_touserdata(L, lua_upvalueindex(2));
    const char *where = lua_tostring(L, lua_upvalueindex(3));
    int client_idx;
    sf_client *c;
    lua_settop(L, 3);
    client_idx = check_self(L, res, where);
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

/* Pushes the methods table of a resource and registers its metatable. */
void sf_open_resource(lua_State *L, const sf_resource *res) {
    const sf_endpoint *e;
    open_downloads(L);
    lua_createtable(L, 0, 2); /* the resource metatable */
    lua_newtable(L);          /* its methods */
    for (e = res->endpoints; e->where != NULL; e++) {
        /* const rows: the core never writes through these pointers */
        lua_pushlightuserdata(L, (void *)(size_t)e);
        lua_pushlightuserdata(L, (void *)(size_t)res);
        lua_pushcclosure(L, l_endpoint, 2);
        lua_setfield(L, -2, strchr(e->where, ':') + 1);
        if (e->flags & SF_EP_PAGED) {
            lua_pushlightuserdata(L, (void *)(size_t)e);
            lua_pushlightuserdata(L, (void *)(size_t)res);
            lua_pushfstring(L, "%s:iter", res->field);
            lua_pushcclosure(L, l_iter, 3);
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
