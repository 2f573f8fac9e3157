/*
 * sf_outcome.c - a finished request becomes a Lua value or an error value.
 *
 * Every string that comes from the server or from the request passes the
 * one redaction rule (sf_error.c) before it becomes a Lua value: request
 * ids, the whole decoded error body (nested strings and keys too), a non-JSON
 * body's start, a successful result. Text is redacted before it is cut.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "sf_transport.h"

/* Bytes of a non-JSON error body or a bad response kept in an error. */
#define BODY_SNIPPET_BYTES 512
#define DECODE_SNIPPET_BYTES 120

static const char *secret_text(const sf_request *r) { return r->secret ? r->secret->text : NULL; }
static size_t secret_len(const sf_request *r) { return r->secret ? r->secret->len : 0; }

static const char *status_class(long status) {
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 408: return "request_timeout";
    case 409: return "conflict";
    case 422: return "unprocessable";
    case 429: return "rate_limited";
    default: return status >= 500 ? "server" : status >= 300 && status < 400 ? "redirect" : "client";
    }
}

/*
 * The published API declares only 2xx and 422 for the data-jobs operations, so a service may
 * answer "not found" and business-rule refusals as 400 or 422 with a detail sentence instead
 * of 404 and 409 (pydantic's validation 422 carries a list). Such an answer gets the class of
 * what it means, so errors.is(err, "not_found" / "conflict"), exit codes, watch reasons and
 * messages do not depend on the convention; `status` keeps the number the server sent.
 * Returns NULL when the status class stands.
 */
static const char *detail_class(long status, const char *detail) {
    static const char *const not_found[] = {"not found", "does not exist", "no such ", NULL};
    char lower[512];
    size_t i;
    if (status != 400 && status != 422) return NULL;
    for (i = 0; i + 1 < sizeof lower && detail[i] != '\0'; i++) lower[i] = (char)tolower((unsigned char)detail[i]);
    lower[i] = '\0';
    for (i = 0; not_found[i] != NULL; i++)
        if (strstr(lower, not_found[i]) != NULL) return "not_found";
    return "conflict";
}

/* "query.limit: Input should be ...; body.name: Field required" from a 422 list. */
static void push_validation_summary(lua_State *L, int detail_idx) {
    size_t i, n = sf_rawlen(L, detail_idx);
    int acc;
    lua_pushliteral(L, "");
    acc = lua_gettop(L);
    for (i = 1; i <= n && i <= 5; i++) {
        int item, loc, parts = 0;
        size_t j, m;
        lua_rawgeti(L, detail_idx, (int)i);
        item = lua_gettop(L);
        if (lua_type(L, item) != LUA_TTABLE) {
            lua_settop(L, acc);
            continue;
        }
        lua_pushvalue(L, acc);
        if (i > 1) lua_pushliteral(L, "; ");
        else lua_pushliteral(L, "");
        lua_concat(L, 2);
        lua_replace(L, acc);
        lua_getfield(L, item, "loc");
        loc = lua_gettop(L);
        m = lua_type(L, loc) == LUA_TTABLE ? sf_rawlen(L, loc) : 0;
        for (j = 1; j <= m && j <= 8; j++) {
            lua_rawgeti(L, loc, (int)j);
            if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
                lua_pushvalue(L, acc);
                lua_pushstring(L, parts++ ? "." : "");
                lua_pushvalue(L, -3);
                lua_concat(L, 3);
                lua_replace(L, acc);
            }
            lua_pop(L, 1);
        }
        lua_pushvalue(L, acc);
        lua_pushstring(L, parts ? ": " : "");
        lua_getfield(L, item, "msg");
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_pushliteral(L, "invalid");
        }
        lua_concat(L, 3);
        lua_replace(L, acc);
        lua_settop(L, acc);
    }
    if (n > 5) {
        lua_pushliteral(L, "; …");
        lua_concat(L, 2);
    }
}

static void set_string_field(lua_State *L, int idx, const char *name, const char *value) {
    if (value != NULL && value[0] != '\0') {
        lua_pushstring(L, value);
        lua_setfield(L, idx, name);
    }
}

/* "HTTP 404 Not Found: <detail>" plus hints about the base URL. */
static void shape_status_error(lua_State *L, sf_request *r, int err_idx) {
    sf_pushinteger(L, r->status);
    lua_setfield(L, err_idx, "status");
    lua_pushstring(L, status_class(r->status));
    lua_setfield(L, err_idx, "class");
    if (r->response.len > 0 && sf_json_decode(L, r->response.data, r->response.len, SF_KIND_NONE)) {
        int body = lua_gettop(L);
        /* The whole body, nested strings and keys included. */
        sf_redact_value(L, body, secret_text(r), secret_len(r));
        if (lua_type(L, body) == LUA_TTABLE) {
            lua_getfield(L, body, "detail");
            if (lua_type(L, -1) == LUA_TSTRING) {
                const char *meaning = detail_class(r->status, lua_tostring(L, -1));
                if (meaning != NULL) {
                    lua_pushstring(L, meaning);
                    lua_setfield(L, err_idx, "class");
                }
                lua_pushvalue(L, -1);
                lua_setfield(L, err_idx, "detail");
                lua_pushfstring(L, "%s: %s", r->err_message, lua_tostring(L, -1));
                lua_setfield(L, err_idx, "message");
            } else if (lua_type(L, -1) == LUA_TTABLE) {
                lua_pushvalue(L, -1);
                lua_setfield(L, err_idx, "detail");
                push_validation_summary(L, lua_gettop(L));
                lua_pushfstring(L, "%s: %s", r->err_message, lua_tostring(L, -1));
                lua_setfield(L, err_idx, "message");
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_setfield(L, err_idx, "body");
    } else {
        if (r->response.len > 0) lua_pop(L, 1); /* the decode message */
        if (r->response.len > 0) {
            /* Not JSON (an HTML error page, say): keep the start of it. */
            sf_push_redacted(L, r->response.data, r->response.len, BODY_SNIPPET_BYTES, secret_text(r),
                             secret_len(r));
            lua_setfield(L, err_idx, "body");
        }
    }
    if (r->status >= 300 && r->status < 400) {
        const char *hint = "";
        if (strncmp(r->url, "http:", 5) == 0 && strncmp(r->location, "https:", 6) == 0)
            hint = "; the server wants https: use an https:// base_url";
        else if (strncmp(r->url, "https:", 6) == 0 && strncmp(r->location, "http:", 5) == 0)
            hint = "; it points to plain http, which is never followed with the API key";
        set_string_field(L, err_idx, "location", r->location);
        lua_getfield(L, err_idx, "message");
        lua_pushfstring(L, "%s: the server redirects to %s (redirects are never followed, so the key is never sent "
                           "elsewhere: correct base_url instead%s)",
                        lua_tostring(L, -1), r->location[0] ? r->location : "a location it did not name", hint);
        lua_setfield(L, err_idx, "message");
        lua_pop(L, 1);
    }
    if (r->status == 404 && r->client != NULL && !r->client->base_versioned) {
        lua_getfield(L, err_idx, "message");
        lua_pushfstring(L, "%s (the base URL %s names no API version: SeekrFlow's API is under /v1, e.g. "
                           "https://host/v1)",
                        lua_tostring(L, -1), r->client->base_url);
        lua_setfield(L, err_idx, "message");
        lua_pop(L, 1);
    }
}

/* Pushes the error value for a failed request. */
static void push_request_error(lua_State *L, sf_request *r) {
    int err_idx;
    sf_push_error(L, r->err_kind, r->err_message);
    err_idx = lua_gettop(L);
    set_string_field(L, err_idx, "method", r->method);
    set_string_field(L, err_idx, "url", r->url);
    set_string_field(L, err_idx, "request_id", r->request_id);
    lua_pushinteger(L, r->attempts);
    lua_setfield(L, err_idx, "attempts");
    lua_pushboolean(L, r->retryable);
    lua_setfield(L, err_idx, "retryable");
    if (r->retry_after_s >= 0) {
        lua_pushnumber(L, r->retry_after_s);
        lua_setfield(L, err_idx, "retry_after");
    }
    if (r->tls_failure) {
        lua_pushboolean(L, 1);
        lua_setfield(L, err_idx, "tls");
    }
    if (r->interrupted) {
        lua_pushboolean(L, 1);
        lua_setfield(L, err_idx, "interrupted");
    }
    if (strcmp(r->err_kind, "status") == 0) shape_status_error(L, r, err_idx);
    /* Messages carry server and libcurl text: redact the finished one. */
    lua_getfield(L, err_idx, "message");
    sf_redact(L, -1, secret_text(r), secret_len(r));
    lua_setfield(L, err_idx, "message");
    lua_settop(L, err_idx);
}

static int push_decoded(lua_State *L, sf_request *r);

/* The outcome, then the caller's shape check of a success (see sf_call). */
static int hex_digit(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Whether a decoded JSON body could hold the key: its bytes are in the text,
 * or an escape could spell one of its characters. JSON encoders escape
 * printable ASCII only to hide it, so a body without such escapes (the
 * common case) skips the walk over the decoded value. */
static int may_spell_secret(const char *body, size_t n, const sf_secret *secret) {
    const char *p = body, *end = body + n;
    size_t i;
    if (secret->len == 0) return 0;
    if (sf_contains_secret(body, n, secret->text, secret->len)) return 1;
    for (i = 0; i < secret->len; i++) {
        unsigned char ch = (unsigned char)secret->text[i];
        if (ch >= 0x80 || ch == '"' || ch == '\\' || ch == '/') return memchr(body, '\\', n) != NULL;
    }
    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        if (end - p >= 6 && p[1] == 'u' && p[2] == '0' && p[3] == '0') {
            int hi = hex_digit(p[4]), lo = hex_digit(p[5]);
            if (hi >= 0 && lo >= 0 && memchr(secret->text, hi * 16 + lo, secret->len) != NULL) return 1;
        }
        p += (end - p >= 2) ? 2 : 1; /* skip the escaped character too */
    }
    return 0;
}

int sf_push_outcome(lua_State *L, sf_request *r) {
    if (!push_decoded(L, r)) return 0;
    if (r->shape == NULL || r->shape(L, r->shape_ctx)) return 1;
    sf_pushinteger(L, r->status);
    lua_setfield(L, -2, "status");
    return 0;
}

static int push_decoded(lua_State *L, sf_request *r) {
    if (r->state == ST_CANCELLED && !r->failed) sf_request_fail(r, "cancelled", 0, "the request was cancelled");
    if (r->failed) {
        push_request_error(L, r);
        return 0;
    }
    if (r->status == 204 || r->response.len == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (!sf_json_decode(L, r->response.data, r->response.len, r->kind)) {
        char why[200];
        snprintf(why, sizeof why, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        sf_request_fail(r, "decode", 0, "the response is not valid JSON (%s; content type %s)", why,
                        r->content_type[0] ? r->content_type : "none");
        push_request_error(L, r);
        sf_pushinteger(L, r->status);
        lua_setfield(L, -2, "status");
        /* Its start, redacted before it is cut. */
        sf_push_redacted(L, r->response.data, r->response.len, DECODE_SNIPPET_BYTES, secret_text(r),
                         secret_len(r));
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, "body");
        lua_getfield(L, -2, "message");
        lua_insert(L, -2);
        lua_pushfstring(L, "%s; starts with: %s", lua_tostring(L, -2), lua_tostring(L, -1));
        lua_setfield(L, -4, "message");
        lua_pop(L, 2);
        return 0;
    }
    if (r->secret != NULL && may_spell_secret(r->response.data, r->response.len, r->secret))
        sf_redact_value(L, -1, r->secret->text, r->secret->len);
    return 1;
}
