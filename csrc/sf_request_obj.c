/*
 * sf_request_obj.c - the request userdata: building one for a call (URL,
 * headers, body or multipart parts, libcurl options) and its Lua methods
 * (step, perform, result, cancel, close, state).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_transport.h"

sf_request *sf_check_request(lua_State *L, int idx, const char *name) {
    sf_request *r = sf_testudata(L, idx, &sf_key_request_mt);
    if (r == NULL)
        sf_arg_error(L, "request:%s must be called with a colon on a request object (request:%s())", name, name);
    return r;
}

static void check_parts(lua_State *L, const sf_call *call) {
    size_t i;
    for (i = 0; i < call->nparts; i++) {
        const sf_part *p = &call->parts[i];
        if (p->name == NULL || (p->value == NULL) == (p->file_path == NULL))
            sf_arg_error(L, "multipart part %d needs a name and either a value or a file", (int)i + 1);
        if (p->value != NULL && memchr(p->value, '\0', p->value_len) != NULL)
            sf_arg_error(L, "the multipart field '%s' contains a NUL byte", p->name);
        if (p->file_path != NULL && strlen(p->file_path) != p->file_path_len)
            sf_arg_error(L, "the path of the file to upload contains a NUL byte");
        if (p->file_name != NULL) {
            size_t k;
            if (p->file_name_len > 1024) sf_arg_error(L, "the upload's file name is longer than 1024 bytes");
            for (k = 0; k < p->file_name_len; k++) {
                unsigned char ch = (unsigned char)p->file_name[k];
                if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
                    sf_arg_error(L, "the upload's file name contains a NUL, control character, quote or backslash");
            }
        }
    }
}

static void set_mime(lua_State *L, sf_request *r, const sf_call *call) {
    size_t i;
    r->mime = curl_mime_init(r->easy);
    if (r->mime == NULL) luaL_error(L, "seekrflow: out of memory");
    for (i = 0; i < call->nparts; i++) {
        const sf_part *p = &call->parts[i];
        curl_mimepart *part = curl_mime_addpart(r->mime);
        if (part == NULL || curl_mime_name(part, p->name) != CURLE_OK) luaL_error(L, "seekrflow: out of memory");
        if (p->value != NULL) {
            if (curl_mime_data(part, p->value, p->value_len) != CURLE_OK) luaL_error(L, "seekrflow: out of memory");
        } else {
            /* libcurl streams the file from disk; it is never read whole. */
            if (curl_mime_filedata(part, p->file_path) != CURLE_OK)
                sf_arg_error(L, "cannot read the file to upload: %s", p->file_path);
            if (p->file_name != NULL) curl_mime_filename(part, p->file_name);
        }
    }
    curl_easy_setopt(r->easy, CURLOPT_MIMEPOST, r->mime);
}

sf_request *sf_request_new(lua_State *L, int client_idx, sf_client *c, const sf_call *call) {
    sf_request *r;
    int req_idx;
    const char *body = NULL;
    size_t body_len = 0, url_len;
    const char *url;

    if (c->closed) {
        sf_push_error(L, "invalid_argument", "the client is closed; create a new one with seekrflow.new()");
        lua_error(L);
    }
    /* Everything that may raise comes before the first malloc. */
    sf_url_push(L, c, call->path, call->query_idx);
    check_parts(L, call);
    if (call->body_idx) {
        if (!sf_json_encode(L, call->body_idx))
            sf_arg_error(L, "request body cannot be encoded as JSON: %s", lua_tostring(L, -1));
        body = lua_tolstring(L, -1, &body_len);
    }
    url = lua_tolstring(L, body ? -2 : -1, &url_len);

    r = sf_newuserdata(L, sizeof *r);
    memset(r, 0, sizeof *r);
    r->retry_after_s = -1;
    req_idx = lua_gettop(L);
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_request_mt);
    lua_setmetatable(L, req_idx);
    /* The request keeps its client alive. */
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, client_idx);
    lua_rawseti(L, -2, 1);
    sf_setuservalue(L, req_idx);

    r->client = c;
    r->secret = sf_secret_hold(c->api_key);
    r->next = c->active;
    if (c->active != NULL) c->active->prev = r;
    c->active = r;
    snprintf(r->method, sizeof r->method, "%s", call->method);
    r->kind = call->kind;
    r->max_retries = call->opts.max_retries;
    r->sink = call->sink;
    r->sink_ctx = call->sink_ctx;
    r->shape = call->shape;
    r->shape_ctx = call->shape_ctx;

    r->url = malloc(url_len + 1);
    if (r->url == NULL) luaL_error(L, "seekrflow: out of memory");
    memcpy(r->url, url, url_len + 1);
    if (body != NULL) {
        r->body = malloc(body_len + 1);
        if (r->body == NULL) luaL_error(L, "seekrflow: out of memory");
        memcpy(r->body, body, body_len + 1);
        r->body_len = body_len;
    }
    /* Drop the URL and body strings below the request. */
    lua_insert(L, req_idx - (body ? 2 : 1));
    lua_settop(L, req_idx - (body ? 2 : 1));
    req_idx = lua_gettop(L);

    r->easy = curl_easy_init();
    if (r->easy == NULL) luaL_error(L, "seekrflow: could not create a libcurl handle");

    sf_request_configure(r, c, &call->opts);

    if (call->nparts > 0) {
        set_mime(L, r, call);
        curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, r->method);
        curl_easy_setopt(r->easy, CURLOPT_FRESH_CONNECT, 1L);
    } else if (strcmp(r->method, "GET") == 0) {
        curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(r->method, "POST") != 0) curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, r->method);
        if (r->body != NULL || strcmp(r->method, "POST") == 0) {
            curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body != NULL ? r->body : "");
            curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        }
        /* libcurl silently re-sends a request once when a reused keep-alive
         * connection turns out dead before any response byte arrives. For a
         * request that is not idempotent that could act twice (a second
         * ingestion), so such requests always get a connection of their own. */
        curl_easy_setopt(r->easy, CURLOPT_FRESH_CONNECT, 1L);
    }
    return r;
}

/* ---- Lua methods ---- */

static int l_request_step(lua_State *L) {
    sf_request *r = sf_check_request(L, 1, "step");
    long wait_ms = sf_step_logged(L, 1, r);
    if (wait_ms < 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    sf_pushinteger(L, wait_ms);
    return 2;
}

int sf_request_result(lua_State *L, int req_idx, sf_request *r) {
    int raise = 1;
    if (r->state != ST_DONE && r->state != ST_CANCELLED)
        sf_arg_error(L, "the request is still in progress: call request:step() until it returns true, or request:perform()");
    sf_getuservalue(L, req_idx);
    lua_rawgeti(L, -1, 1);
    {
        sf_client *c = sf_testudata(L, -1, &sf_key_client_mt);
        if (c != NULL) raise = c->raise_errors;
    }
    lua_pop(L, 2);
    if (sf_push_outcome(L, r)) return 1;
    if (raise) return lua_error(L);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

static int l_request_result(lua_State *L) {
    return sf_request_result(L, 1, sf_check_request(L, 1, "result"));
}

static int l_request_perform(lua_State *L) {
    sf_request *r = sf_check_request(L, 1, "perform");
    if (r->client != NULL && r->client->socket_mode && r->state != ST_DONE && r->state != ST_CANCELLED)
        sf_arg_error(L, "request:perform() would block an event loop: this client is in socket mode");
    sf_perform_blocking(L, 1, r);
    return sf_request_result(L, 1, r);
}

static int l_request_cancel(lua_State *L) {
    sf_request *r = sf_check_request(L, 1, "cancel");
    if (r->state != ST_DONE && r->state != ST_CANCELLED) {
        sf_request_detach(r);
        sf_request_fail(r, "cancelled", 0, "the request was cancelled");
        r->state = ST_CANCELLED;
    }
    return 0;
}

static int l_request_close(lua_State *L) {
    sf_request *r = sf_check_request(L, 1, "close");
    if (r->state != ST_DONE && r->state != ST_CANCELLED)
        sf_request_fail(r, "cancelled", 0, "the request was closed before it finished");
    sf_request_release(r);
    return 0;
}

static int l_request_gc(lua_State *L) {
    sf_request *r = sf_testudata(L, 1, &sf_key_request_mt);
    if (r != NULL) sf_request_release(r);
    return 0;
}

static int l_request_state(lua_State *L) {
    static const char *const names[] = {"new", "running", "waiting", "done", "cancelled"};
    sf_request *r = sf_check_request(L, 1, "state");
    lua_pushstring(L, names[r->state]);
    sf_pushinteger(L, r->attempts);
    return 2;
}

static int l_request_tostring(lua_State *L) {
    sf_request *r = sf_check_request(L, 1, "__tostring");
    lua_pushfstring(L, "seekrflow.request(%s %s)", r->method, r->url ? r->url : "closed");
    return 1;
}

void sf_open_requests(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"step", l_request_step},     {"result", l_request_result}, {"perform", l_request_perform},
        {"cancel", l_request_cancel}, {"close", l_request_close},   {"state", l_request_state},
        {NULL, NULL}};
    lua_newtable(L);
    sf_setfuncs(L, methods);
    sf_object_metatable(L, &sf_key_request_mt, "seekrflow.request", l_request_gc, l_request_close, l_request_tostring);
}
