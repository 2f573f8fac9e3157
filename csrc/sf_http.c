/*
 * sf_http.c - the client and request objects, on libcurl's multi interface.
 *
 * A request is a state machine (new -> running -> waiting -> running ... ->
 * done | cancelled) that owns its retries and their waits. It can be driven
 * to completion by perform() or advanced by step() from a host event loop,
 * which is told how long it may wait before the next step; step() itself
 * never sleeps.
 *
 * libcurl callbacks here only copy bytes into C buffers: they never touch a
 * lua_State, so no Lua error can longjmp across libcurl and no callback can
 * outlive the call that set it up.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sf_core.h"

enum { ST_NEW, ST_RUNNING, ST_WAITING, ST_DONE, ST_CANCELLED };

struct sf_request {
    sf_client *client;          /* NULL once the client has been closed */
    CURL *easy;
    struct curl_slist *headers;
    curl_mime *mime;
    char method[8];
    char *url;
    char *body;
    size_t body_len;
    sf_kind kind;
    int state;
    int attempts;
    int max_retries;
    int in_multi;
    int transfer_done;
    int too_large;
    CURLcode curl_result;
    long status;
    double started_at;
    double wait_until;
    double retry_after_s;       /* from the last response, < 0 when absent */
    sf_buf response;
    char request_id[128];
    char content_type[96];
    char errbuf[CURL_ERROR_SIZE];
    /* The outcome, kept in C until someone asks for it. */
    int failed;
    int retryable;
    int tls_failure;
    char err_kind[24];
    char err_message[600];
    sf_request *next;
    sf_request *prev;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double random_unit(sf_client *c) {
    /* xorshift64*: jitter only needs to differ between clients and calls. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return (double)((c->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static char *dup_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL) memcpy(p, s, n);
    return p;
}

int sf_escape(sf_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            if (!sf_buf_append(b, (const char *)&c, 1)) return 0;
        } else {
            char enc[3];
            enc[0] = '%';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            if (!sf_buf_append(b, enc, 3)) return 0;
        }
    }
    return 1;
}

/* ---- libcurl callbacks: C buffers only ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
    sf_request *r = userp;
    size_t n = size * nmemb;
    if (r->response.len + n > SF_MAX_BODY_BYTES) {
        r->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return sf_buf_append(&r->response, data, n) ? n : 0;
}

static int header_is(const char *line, size_t n, const char *name) {
    size_t k = strlen(name);
    return n > k && line[k] == ':' && strncasecmp(line, name, k) == 0;
}

static void header_value(const char *line, size_t n, size_t name_len, char *out, size_t cap) {
    size_t i = name_len + 1, end = n;
    while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
    while (end > i && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' ')) end--;
    if (end - i >= cap) end = i + cap - 1;
    memcpy(out, line + i, end - i);
    out[end - i] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nitems, void *userp) {
    sf_request *r = userp;
    size_t n = size * nitems;
    char value[128];
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget the last one. */
        r->request_id[0] = '\0';
        r->content_type[0] = '\0';
        r->retry_after_s = -1;
    } else if (header_is(line, n, "cf-ray")) {
        header_value(line, n, 6, r->request_id, sizeof r->request_id);
    } else if (header_is(line, n, "x-request-id") && r->request_id[0] == '\0') {
        header_value(line, n, 12, r->request_id, sizeof r->request_id);
    } else if (header_is(line, n, "content-type")) {
        header_value(line, n, 12, r->content_type, sizeof r->content_type);
    } else if (header_is(line, n, "retry-after-ms")) {
        char *end;
        double ms;
        header_value(line, n, 14, value, sizeof value);
        ms = strtod(value, &end);
        if (end != value && ms >= 0 && isfinite(ms)) r->retry_after_s = ms / 1000.0;
    } else if (header_is(line, n, "retry-after") && r->retry_after_s < 0) {
        char *end;
        double secs;
        header_value(line, n, 11, value, sizeof value);
        secs = strtod(value, &end);
        if (end != value && *end == '\0' && secs >= 0 && isfinite(secs)) {
            r->retry_after_s = secs;
        } else {
            time_t when = curl_getdate(value, NULL);
            if (when != (time_t)-1) {
                double d = difftime(when, time(NULL));
                r->retry_after_s = d > 0 ? d : 0;
            }
        }
    }
    return n;
}

/* ---- request lifecycle ---- */

static void unlink_request(sf_request *r) {
    if (r->client != NULL) {
        if (r->prev != NULL) r->prev->next = r->next;
        else r->client->active = r->next;
        if (r->next != NULL) r->next->prev = r->prev;
    }
    r->next = r->prev = NULL;
}

static void detach_from_multi(sf_request *r) {
    if (r->in_multi && r->client != NULL && r->client->multi != NULL)
        curl_multi_remove_handle(r->client->multi, r->easy);
    r->in_multi = 0;
}

/* Frees everything but the struct itself (owned by the userdata). Safe twice. */
static void release_request(sf_request *r) {
    detach_from_multi(r);
    unlink_request(r);
    if (r->easy != NULL) curl_easy_cleanup(r->easy);
    r->easy = NULL;
    curl_slist_free_all(r->headers);
    r->headers = NULL;
    curl_mime_free(r->mime);
    r->mime = NULL;
    free(r->url);
    r->url = NULL;
    free(r->body);
    r->body = NULL;
    sf_buf_free(&r->response);
    r->client = NULL;
    if (r->state != ST_DONE) r->state = ST_CANCELLED;
}

static void fail(sf_request *r, const char *kind, int retryable, const char *fmt, ...) {
    va_list ap;
    r->failed = 1;
    r->retryable = retryable;
    snprintf(r->err_kind, sizeof r->err_kind, "%s", kind);
    va_start(ap, fmt);
    vsnprintf(r->err_message, sizeof r->err_message, fmt, ap);
    va_end(ap);
}

static int begin_attempt(sf_request *r, double now) {
    CURLMcode mc;
    sf_buf_reset(&r->response);
    r->status = 0;
    r->request_id[0] = '\0';
    r->content_type[0] = '\0';
    r->errbuf[0] = '\0';
    r->retry_after_s = -1;
    r->too_large = 0;
    r->transfer_done = 0;
    r->failed = 0;
    r->tls_failure = 0;
    mc = curl_multi_add_handle(r->client->multi, r->easy);
    if (mc != CURLM_OK) {
        fail(r, "connection", 0, "could not start the request: %s", curl_multi_strerror(mc));
        r->state = ST_DONE;
        return 0;
    }
    r->attempts++;
    r->in_multi = 1;
    r->state = ST_RUNNING;
    r->started_at = now;
    return 1;
}

/* Collects finished transfers for every request of the client. */
static void drain_messages(sf_client *c) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE) {
            CURL *easy = m->easy_handle;
            CURLcode result = m->data.result; /* m is invalid after remove */
            char *priv = NULL;
            sf_request *r;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
            r = (sf_request *)(void *)priv;
            curl_multi_remove_handle(c->multi, easy);
            if (r != NULL) {
                r->in_multi = 0;
                r->transfer_done = 1;
                r->curl_result = result;
                curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
            }
        }
    }
}

static const char *reason_phrase(long status) {
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 500 ? "Server Error" : "Error";
    }
}

/* Classifies the finished attempt; either settles the outcome or schedules
 * the next attempt. */
static void evaluate_attempt(sf_request *r, double now) {
    sf_client *c = r->client;
    int is_get = strcmp(r->method, "GET") == 0;
    int retryable = 0;
    double server_delay = -1;

    r->failed = 0;
    if (r->curl_result == CURLE_OK) {
        if (r->status >= 200 && r->status < 300) {
            r->state = ST_DONE;
            return;
        }
        retryable = is_get ? (r->status == 408 || r->status == 429 || r->status >= 500)
                           : (r->status == 429 || r->status == 503);
        fail(r, "status", retryable, "HTTP %ld %s", r->status, reason_phrase(r->status));
        server_delay = r->retry_after_s;
    } else if (r->too_large) {
        fail(r, "decode", 0, "the response is larger than %u bytes", SF_MAX_BODY_BYTES);
    } else {
        long sent = 0;
        const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->curl_result);
        curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &sent);
        /* A request that never left this machine cannot have been acted on. */
        retryable = is_get || sent == 0;
        if (r->curl_result == CURLE_PEER_FAILED_VERIFICATION || r->curl_result == CURLE_SSL_CACERT_BADFILE ||
            r->curl_result == CURLE_SSL_CERTPROBLEM || r->curl_result == CURLE_SSL_ISSUER_ERROR ||
            r->curl_result == CURLE_SSL_PINNEDPUBKEYNOTMATCH) {
            /* A certificate that fails verification will fail again: no retry. */
            retryable = 0;
            fail(r, "connection", 0,
                 "TLS certificate verification failed (%s); to trust a private certificate authority pass "
                 "ca_file or ca_path (verification cannot be switched off)", why);
            r->tls_failure = 1;
        } else if (r->curl_result == CURLE_OPERATION_TIMEDOUT) {
            if (strstr(why, "too slow") != NULL)
                fail(r, "timeout", retryable, "the transfer stalled: no data for %ld s (%s)",
                     r->client->stall_timeout_s, why);
            else
                fail(r, "timeout", retryable, "the request timed out (%s)", why);
        } else {
            fail(r, "connection", retryable, "%s", why);
        }
    }
    r->state = ST_DONE;
    if (!retryable || r->attempts > r->max_retries || c == NULL) return;
    if (server_delay > c->retry_after_cap_s) return; /* asked to wait too long: give up now */
    if (server_delay < 0) {
        double backoff = c->retry_initial_s * pow(2.0, (double)(r->attempts - 1));
        if (backoff > c->retry_max_s) backoff = c->retry_max_s;
        server_delay = backoff * (1.0 - 0.25 * random_unit(c));
    }
    r->wait_until = now + server_delay;
    r->state = ST_WAITING;
}

/* Advances the request without blocking. Returns the milliseconds a host may
 * wait before the next step, or -1 when the request is finished. */
static long request_step(sf_request *r) {
    double now = now_s();
    int running = 0;
    long wait_ms = 1000;
    if (r->state == ST_DONE || r->state == ST_CANCELLED) return -1;
    if (r->client == NULL || r->client->closed) {
        fail(r, "cancelled", 0, "the client was closed while the request was in flight");
        release_request(r);
        r->state = ST_DONE;
        return -1;
    }
    if (r->state == ST_NEW || (r->state == ST_WAITING && now >= r->wait_until)) {
        if (!begin_attempt(r, now)) return -1;
    }
    /* In socket mode the host drives transfers with client:socket_action();
     * libcurl forbids mixing that with curl_multi_perform. */
    if (!r->client->socket_mode) curl_multi_perform(r->client->multi, &running);
    drain_messages(r->client);
    if (r->state == ST_RUNNING && r->transfer_done) {
        evaluate_attempt(r, now_s());
        if (r->state == ST_WAITING && now_s() >= r->wait_until) return 0;
    }
    if (r->state == ST_DONE) return -1;
    if (r->state == ST_WAITING) {
        double left = (r->wait_until - now_s()) * 1000.0;
        return left <= 0 ? 0 : (long)ceil(left);
    }
    if (r->client->socket_mode) return 1000; /* the host's socket and timer events come first */
    curl_multi_timeout(r->client->multi, &wait_ms);
    if (wait_ms < 0 || wait_ms > 1000) wait_ms = 1000;
    return wait_ms;
}

/* ---- debug log: method, URL, status, timing; never a header ---- */

static void debug_log(lua_State *L, int req_idx, const char *fmt, ...) {
    char line[800];
    va_list ap;
    int mode;
    sf_getuservalue(L, req_idx);          /* request uservalue: {client} */
    lua_rawgeti(L, -1, 1);
    sf_getuservalue(L, -1);               /* client uservalue */
    lua_getfield(L, -1, "debug");
    mode = lua_type(L, -1);
    if (mode != LUA_TFUNCTION && !lua_toboolean(L, -1)) {
        lua_pop(L, 4);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (mode == LUA_TFUNCTION) {
        lua_pushstring(L, line);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1); /* a broken logger must not break calls */
        lua_pop(L, 3);
    } else {
        fprintf(stderr, "seekrflow: %s\n", line);
        lua_pop(L, 4);
    }
}

/* step() plus debug lines for attempts that ended. */
static long step_logged(lua_State *L, int req_idx, sf_request *r) {
    int attempts_before = r->attempts, state_before = r->state;
    long wait_ms = request_step(r);
    if (state_before == ST_RUNNING || r->attempts > attempts_before) {
        if (r->state == ST_DONE || r->state == ST_WAITING) {
            double ms = (now_s() - r->started_at) * 1000.0;
            if (r->failed && r->state == ST_WAITING)
                debug_log(L, req_idx, "%s %s attempt %d: %s %s (%.0f ms%s%s); retrying in %.2f s",
                          r->method, r->url, r->attempts, r->err_kind, r->err_message, ms,
                          r->request_id[0] ? ", request id " : "", r->request_id,
                          r->wait_until - now_s() > 0 ? r->wait_until - now_s() : 0.0);
            else if (r->failed)
                debug_log(L, req_idx, "%s %s attempt %d: %s %s (%.0f ms%s%s)", r->method, r->url,
                          r->attempts, r->err_kind, r->err_message, ms,
                          r->request_id[0] ? ", request id " : "", r->request_id);
            else if (r->state == ST_DONE)
                debug_log(L, req_idx, "%s %s attempt %d: HTTP %ld, %lu bytes (%.0f ms%s%s)", r->method,
                          r->url, r->attempts, r->status, (unsigned long)r->response.len, ms,
                          r->request_id[0] ? ", request id " : "", r->request_id);
        }
    }
    return wait_ms;
}

static void perform_blocking(lua_State *L, int req_idx, sf_request *r) {
    long wait_ms;
    while ((wait_ms = step_logged(L, req_idx, r)) >= 0) {
        if (wait_ms > 0 && r->client != NULL) curl_multi_poll(r->client->multi, NULL, 0, (int)wait_ms, NULL);
    }
}

/* ---- outcome -> Lua ---- */

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
    default: return status >= 500 ? "server" : "client";
    }
}

/* "query.limit: Input should be ...; body.name: Field required" from a 422 list. */
static void push_validation_summary(lua_State *L, int detail_idx) {
    luaL_Buffer b;
    size_t i, n = sf_rawlen(L, detail_idx);
    luaL_buffinit(L, &b);
    for (i = 1; i <= n && i <= 5; i++) {
        lua_rawgeti(L, detail_idx, (int)i);
        if (lua_type(L, -1) == LUA_TTABLE) {
            size_t j, m;
            char part[400] = "", loc[200] = "";
            lua_getfield(L, -1, "loc");
            m = lua_type(L, -1) == LUA_TTABLE ? sf_rawlen(L, -1) : 0;
            for (j = 1; j <= m; j++) {
                size_t used = strlen(loc);
                lua_rawgeti(L, -1, (int)j);
                if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)
                    snprintf(loc + used, sizeof loc - used, "%s%s", used ? "." : "", lua_tostring(L, -1));
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
            lua_getfield(L, -1, "msg");
            snprintf(part, sizeof part, "%s%s%s%s", i > 1 ? "; " : "", loc, loc[0] ? ": " : "",
                     lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "invalid");
            lua_pop(L, 1);
            lua_pop(L, 1);
            luaL_addstring(&b, part);
        } else {
            lua_pop(L, 1);
        }
    }
    if (n > 5) luaL_addstring(&b, "; …");
    luaL_pushresult(&b);
}

static void set_string_field(lua_State *L, const char *name, const char *value) {
    if (value != NULL && value[0] != '\0') {
        lua_pushstring(L, value);
        lua_setfield(L, -2, name);
    }
}

/* Pushes the error value for a failed request. */
static void push_request_error(lua_State *L, sf_request *r, const char *api_key) {
    int err_idx;
    sf_push_error(L, r->err_kind, r->err_message);
    err_idx = lua_gettop(L);
    set_string_field(L, "method", r->method);
    set_string_field(L, "url", r->url);
    set_string_field(L, "request_id", r->request_id);
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
    if (strcmp(r->err_kind, "status") == 0) {
        sf_pushinteger(L, r->status);
        lua_setfield(L, err_idx, "status");
        lua_pushstring(L, status_class(r->status));
        lua_setfield(L, err_idx, "class");
        if (r->response.len > 0 && sf_json_decode(L, r->response.data, r->response.len, SF_KIND_NONE)) {
            if (lua_type(L, -1) == LUA_TTABLE) {
                lua_getfield(L, -1, "detail");
                if (lua_type(L, -1) == LUA_TSTRING) {
                    sf_redact(L, -1, api_key);
                    lua_pushvalue(L, -1);
                    lua_setfield(L, err_idx, "detail");
                    lua_pushfstring(L, "%s: %s", r->err_message, lua_tostring(L, -1));
                    lua_setfield(L, err_idx, "message");
                } else if (lua_type(L, -1) == LUA_TTABLE) {
                    lua_pushvalue(L, -1);
                    lua_setfield(L, err_idx, "detail");
                    push_validation_summary(L, lua_gettop(L));
                    sf_redact(L, -1, api_key);
                    lua_pushfstring(L, "%s: %s", r->err_message, lua_tostring(L, -1));
                    lua_setfield(L, err_idx, "message");
                    lua_pop(L, 1);
                }
                lua_pop(L, 1);
            }
            lua_setfield(L, err_idx, "body");
        } else {
            if (r->response.len > 0) {
                /* Not JSON (an HTML error page, say): keep the start of it. */
                lua_pop(L, 1);
                lua_pushlstring(L, r->response.data, r->response.len > 512 ? 512 : r->response.len);
                sf_redact(L, -1, api_key);
                lua_setfield(L, err_idx, "body");
            }
        }
    }
    lua_getfield(L, err_idx, "message");
    sf_redact(L, -1, api_key);
    lua_setfield(L, err_idx, "message");
    lua_settop(L, err_idx);
}

/* Pushes the decoded result (1) or an error value (0). */
static int push_outcome(lua_State *L, sf_request *r, const char *api_key) {
    if (r->state == ST_CANCELLED && !r->failed) fail(r, "cancelled", 0, "the request was cancelled");
    if (r->failed) {
        push_request_error(L, r, api_key);
        return 0;
    }
    if (r->status == 204 || r->response.len == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (!sf_json_decode(L, r->response.data, r->response.len, r->kind)) {
        char snippet[121];
        size_t n = r->response.len < 120 ? r->response.len : 120;
        memcpy(snippet, r->response.data, n);
        snippet[n] = '\0';
        fail(r, "decode", 0, "the response is not valid JSON (%s; content type %s; starts with: %s)",
             lua_tostring(L, -1), r->content_type[0] ? r->content_type : "none", snippet);
        lua_pop(L, 1);
        push_request_error(L, r, api_key);
        lua_pushinteger(L, r->status);
        lua_setfield(L, -2, "status");
        return 0;
    }
    return 1;
}

/* ---- building a request ---- */

static int cmp_strings(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Query parameters, checked (may raise) before anything is allocated. */
typedef struct {
    const char *keys[64];
    const char *values[64];
    size_t lens[64];
    char nums[64][32];
    size_t count;
} sf_query;

static void read_query(lua_State *L, int query_idx, sf_query *q) {
    size_t i;
    q->count = 0;
    lua_pushnil(L);
    while (lua_next(L, query_idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) sf_arg_error(L, "query parameter names must be strings");
        if (q->count == 64) sf_arg_error(L, "too many query parameters (at most 64)");
        q->keys[q->count++] = lua_tostring(L, -1); /* anchored by the table */
    }
    qsort(q->keys, q->count, sizeof q->keys[0], cmp_strings);
    for (i = 0; i < q->count; i++) {
        lua_getfield(L, query_idx, q->keys[i]);
        switch (lua_type(L, -1)) {
        case LUA_TSTRING:
            q->values[i] = lua_tolstring(L, -1, &q->lens[i]); /* anchored by the table */
            break;
        case LUA_TNUMBER:
            if (sf_is_integral_number(L, -1))
                snprintf(q->nums[i], sizeof q->nums[i], "%lld", (long long)lua_tonumber(L, -1));
            else
                snprintf(q->nums[i], sizeof q->nums[i], "%.14g", (double)lua_tonumber(L, -1));
            q->values[i] = q->nums[i];
            q->lens[i] = strlen(q->nums[i]);
            break;
        case LUA_TBOOLEAN:
            q->values[i] = lua_toboolean(L, -1) ? "true" : "false";
            q->lens[i] = strlen(q->values[i]);
            break;
        default:
            sf_arg_error(L, "query parameter '%s' must be a string, number or boolean", q->keys[i]);
        }
        lua_pop(L, 1);
    }
}

/* Appends ?k=v&… in key order. Returns 0 when out of memory. */
static int append_query(const sf_query *q, sf_buf *url) {
    size_t i;
    for (i = 0; i < q->count; i++) {
        if (!sf_buf_append(url, i == 0 ? "?" : "&", 1) || !sf_escape(url, q->keys[i], strlen(q->keys[i])) ||
            !sf_buf_append(url, "=", 1) || !sf_escape(url, q->values[i], q->lens[i]))
            return 0;
    }
    return 1;
}

static void check_path(lua_State *L, const char *path) {
    const char *p;
    if (path[0] == '/' || path[0] == '\0' || strstr(path, "://") != NULL)
        sf_arg_error(L, "request path must be relative to the base URL, like \"flow/data-jobs\" (got \"%s\")", path);
    for (p = path; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#')
            sf_arg_error(L, "request path contains a space, control character, '?' or '#'; pass query parameters in opts.query");
    if (strstr(path, "..") != NULL) sf_arg_error(L, "request path must not contain '..'");
}

static sf_request *check_request(lua_State *L, int idx, const char *name) {
    sf_request *r = sf_testudata(L, idx, &sf_key_request_mt);
    if (r == NULL)
        sf_arg_error(L, "request:%s must be called with a colon on a request object (request:%s())", name, name);
    return r;
}

/* Pushes a new request userdata (not yet started). Raises on bad input. */
static sf_request *request_new(lua_State *L, int client_idx, sf_client *c, const sf_call *call) {
    sf_request *r;
    sf_buf url = {NULL, 0, 0};
    int req_idx;
    char header[1100];

    sf_query query;
    const char *body = NULL;
    size_t body_len = 0;

    if (c->closed) {
        sf_push_error(L, "invalid_argument", "the client is closed; create a new one with seekrflow.new()");
        lua_error(L);
    }
    /* Everything that may raise comes before the first malloc. */
    check_path(L, call->path);
    query.count = 0;
    if (call->query_idx) read_query(L, call->query_idx, &query);
    if (call->body_idx) {
        if (!sf_json_encode(L, call->body_idx))
            sf_arg_error(L, "request body cannot be encoded as JSON: %s", lua_tostring(L, -1));
        body = lua_tolstring(L, -1, &body_len); /* stays on the stack below r */
    }

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
    r->next = c->active;
    if (c->active != NULL) c->active->prev = r;
    c->active = r;
    snprintf(r->method, sizeof r->method, "%s", call->method);
    r->kind = call->kind;
    r->max_retries = call->opts.max_retries;

    if (!sf_buf_append(&url, c->base_url, strlen(c->base_url)) || !sf_buf_append(&url, "/", 1) ||
        !sf_buf_append(&url, call->path, strlen(call->path)) || !append_query(&query, &url)) {
        sf_buf_free(&url);
        luaL_error(L, "seekrflow: out of memory");
    }
    r->url = url.data;
    if (body != NULL) {
        r->body = malloc(body_len + 1);
        if (r->body == NULL) luaL_error(L, "seekrflow: out of memory");
        memcpy(r->body, body, body_len + 1);
        r->body_len = body_len;
        lua_remove(L, req_idx - 1); /* the encoded body string */
        req_idx--;
    }

    r->easy = curl_easy_init();
    if (r->easy == NULL) luaL_error(L, "seekrflow: could not create a libcurl handle");

    snprintf(header, sizeof header, "Authorization: %s", c->api_key);
    r->headers = curl_slist_append(r->headers, header);
    r->headers = curl_slist_append(r->headers, "Accept: application/json");
    r->headers = curl_slist_append(r->headers, "Expect:");
    if (c->team_id != NULL) {
        snprintf(header, sizeof header, "x-team-id: %s", c->team_id);
        r->headers = curl_slist_append(r->headers, header);
    }
    if (r->body != NULL) r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
    /* Overwrite the copy of the key on the stack buffer. */
    memset(header, 0, sizeof header);
    if (r->headers == NULL) luaL_error(L, "seekrflow: out of memory");

    curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (void *)r);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, (void *)r);
    curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, (void *)r);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, call->opts.connect_timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, call->opts.timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME, call->opts.stall_timeout_s);
    curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(r->easy, CURLOPT_ACCEPT_ENCODING, "");
    /* TLS verification is always on; only the trust store can be changed. */
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file != NULL) curl_easy_setopt(r->easy, CURLOPT_CAINFO, c->ca_file);
    if (c->ca_path != NULL) curl_easy_setopt(r->easy, CURLOPT_CAPATH, c->ca_path);

    if (call->upload_path != NULL) {
        /* libcurl streams the file from disk; it is never read whole. */
        curl_mimepart *part;
        r->mime = curl_mime_init(r->easy);
        if (r->mime == NULL) luaL_error(L, "seekrflow: out of memory");
        part = curl_mime_addpart(r->mime);
        curl_mime_name(part, "purpose");
        curl_mime_data(part, call->upload_purpose, CURL_ZERO_TERMINATED);
        part = curl_mime_addpart(r->mime);
        curl_mime_name(part, "files");
        if (curl_mime_filedata(part, call->upload_path) != CURLE_OK)
            sf_arg_error(L, "cannot read the file to upload: %s", call->upload_path);
        curl_mime_filename(part, call->upload_name);
        curl_easy_setopt(r->easy, CURLOPT_MIMEPOST, r->mime);
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

/* ---- client ---- */

sf_client *sf_check_client(lua_State *L, int idx, const char *method_name) {
    sf_client *c = sf_testudata(L, idx, &sf_key_client_mt);
    if (c == NULL)
        sf_arg_error(L, "client:%s must be called with a colon on a client (client:%s(…)), not with a dot",
                     method_name, method_name);
    return c;
}

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
    if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0) || !isfinite(lua_tonumber(L, -1)))
        sf_arg_error(L, "%s: option '%s' must be a positive number of seconds", where, name);
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
    if (call->opts.async) {
        request_new(L, client_idx, c, call);
        return 1;
    }
    if (c->socket_mode)
        sf_arg_error(L, "this client is driven by an event loop (socket mode): pass { async = true } and await the "
                        "request through the driver, or use another client for blocking calls");
    r = request_new(L, client_idx, c, call);
    req_idx = lua_gettop(L);
    perform_blocking(L, req_idx, r);
    ok = push_outcome(L, r, c->api_key);
    release_request(r);
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

static const char *const method_names[] = {"GET", "POST", "PATCH", "PUT", "DELETE", NULL};

/* Reads (method, path, opts) at 2..4 into call; opts may carry query/body/kind. */
static void read_call(lua_State *L, sf_client *c, sf_call *call) {
    static const char *const known[] = {"query", "body", "kind", "timeout", "connect_timeout",
                                        "stall_timeout", "max_retries", "async", NULL};
    const char *method = luaL_checkstring(L, 2);
    int m, ok = 0;
    for (m = 0; method_names[m] != NULL; m++)
        if (strcmp(method, method_names[m]) == 0) ok = 1;
    if (!ok) sf_arg_error(L, "unsupported HTTP method '%s' (use GET, POST, PATCH, PUT or DELETE)", method);
    memset(call, 0, sizeof *call);
    call->method = method;
    call->path = luaL_checkstring(L, 3);
    sf_call_opts_init(c, &call->opts);
    if (lua_isnoneornil(L, 4)) return;
    luaL_checktype(L, 4, LUA_TTABLE);
    check_option_names(L, 4, known, "client:request");
    lua_settop(L, 4);
    lua_getfield(L, 4, "query"); /* 5 */
    if (!lua_isnil(L, 5)) {
        if (lua_type(L, 5) != LUA_TTABLE) sf_arg_error(L, "client:request: opts.query must be a table");
        call->query_idx = 5;
    }
    lua_getfield(L, 4, "body"); /* 6 */
    if (!lua_isnil(L, 6)) call->body_idx = 6;
    lua_getfield(L, 4, "kind"); /* 7 */
    if (!lua_isnil(L, 7)) call->kind = sf_kind_from_name(L, luaL_checkstring(L, 7), "client:request");
    lua_newtable(L); /* 8: the timing options only */
    {
        int k;
        static const char *const timing[] = {"timeout", "connect_timeout", "stall_timeout", "max_retries", "async",
                                             NULL};
        for (k = 0; timing[k] != NULL; k++) {
            lua_getfield(L, 4, timing[k]);
            lua_setfield(L, 8, timing[k]);
        }
    }
    sf_call_opts_read(L, 8, &call->opts, "client:request");
}

static int l_client_request(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "request");
    sf_call call;
    read_call(L, c, &call);
    return sf_finish(L, c, sf_client_call(L, 1, &call));
}

static int l_client_start_request(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "start_request");
    sf_call call;
    read_call(L, c, &call);
    request_new(L, 1, c, &call);
    return 1;
}

/* client:wait(ms): blocks up to ms for socket activity of any request. */
static int l_client_wait(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "wait");
    lua_Number ms = luaL_optnumber(L, 2, 0);
    if (!c->closed && ms > 0) curl_multi_poll(c->multi, NULL, 0, ms > 60000 ? 60000 : (int)ms, NULL);
    return 0;
}

/* ---- socket mode: libcurl's callbacks record, Lua reads ---- */

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
        if (c->active != NULL)
            sf_arg_error(L, "socket mode must be chosen before the client's first request");
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
        lua_pushstring(L, what == CURL_POLL_IN ? "in" : what == CURL_POLL_OUT ? "out"
                          : what == CURL_POLL_INOUT ? "inout" : "remove");
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
    sf_client *c = sf_check_client(L, 1, "socket_action");
    int running = 0, mask = 0;
    curl_socket_t fd = CURL_SOCKET_TIMEOUT;
    if (c->closed || !c->socket_mode) return 0;
    if (!lua_isnoneornil(L, 2)) {
        const char *ev = luaL_optstring(L, 3, "");
        fd = (curl_socket_t)luaL_checknumber(L, 2);
        if (strchr(ev, 'i') != NULL) mask |= CURL_CSELECT_IN;
        if (strstr(ev, "out") != NULL) mask |= CURL_CSELECT_OUT;
        if (strstr(ev, "error") != NULL) mask |= CURL_CSELECT_ERR;
    }
    curl_multi_socket_action(c->multi, fd, mask, &running);
    drain_messages(c);
    sf_pushinteger(L, running);
    return 1;
}

static void client_close(sf_client *c) {
    sf_request *r, *next;
    if (c->closed) return;
    c->closed = 1;
    /* Requests still alive are cancelled; their userdata stay valid. */
    for (r = c->active; r != NULL; r = next) {
        next = r->next;
        detach_from_multi(r);
        if (r->state != ST_DONE) {
            fail(r, "cancelled", 0, "the client was closed while the request was in flight");
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
    if (c->api_key != NULL) memset(c->api_key, 0, strlen(c->api_key));
    free(c->api_key);
    free(c->base_url);
    free(c->team_id);
    free(c->user_agent);
    free(c->ca_file);
    free(c->ca_path);
    c->api_key = c->base_url = c->team_id = c->user_agent = c->ca_file = c->ca_path = NULL;
}

static int l_client_close(lua_State *L) {
    sf_client *c = sf_check_client(L, 1, "close");
    int was_open = !c->closed;
    client_close(c);
    /* An event-loop driver tears down its socket watchers and timers here,
     * so a host loop is not kept alive by handles nothing will ever fire. */
    sf_getuservalue(L, 1);
    lua_getfield(L, -1, "on_close");
    if (was_open && lua_type(L, -1) == LUA_TFUNCTION) {
        lua_pushvalue(L, 1);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
    }
    return 0;
}

/* client:on_close(fn): fn(client) runs after an explicit close(). */
static int l_client_on_close(lua_State *L) {
    sf_check_client(L, 1, "on_close");
    if (!lua_isnil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
    sf_getuservalue(L, 1);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "on_close");
    return 0;
}

static int l_client_gc(lua_State *L) {
    sf_client *c = sf_testudata(L, 1, &sf_key_client_mt);
    if (c != NULL) client_close(c);
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
    lua_createtable(L, 0, 12);
    lua_pushstring(L, c->base_url);
    lua_setfield(L, -2, "base_url");
    if (c->team_id) {
        lua_pushstring(L, c->team_id);
        lua_setfield(L, -2, "team_id");
    }
    lua_pushboolean(L, c->api_key != NULL && c->api_key[0] != '\0');
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
    return 1;
}

static int l_client_index(lua_State *L) {
    const char *key = lua_tostring(L, 2);
    if (key != NULL && strcmp(key, "data_jobs") == 0) {
        sf_check_client(L, 1, "data_jobs");
        sf_push_data_jobs(L, 1);
        return 1;
    }
    if (key != NULL && strcmp(key, "files") == 0) {
        sf_check_client(L, 1, "files");
        sf_push_files(L, 1);
        return 1;
    }
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

/* ---- core.new_client(cfg) ---- */

static char *cfg_string(lua_State *L, int idx, const char *name, int required) {
    const char *s, *p;
    char *copy;
    lua_getfield(L, idx, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        if (required) sf_arg_error(L, "new_client: '%s' is required", name);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING) sf_arg_error(L, "new_client: '%s' must be a string", name);
    s = lua_tostring(L, -1);
    for (p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            sf_arg_error(L, "new_client: '%s' contains a control character (a pasted line break?)", name);
    copy = dup_string(s);
    lua_pop(L, 1);
    if (copy == NULL) luaL_error(L, "seekrflow: out of memory");
    return copy;
}

static double cfg_number(lua_State *L, int idx, const char *name, double dflt, double lo, double hi) {
    double v = dflt;
    lua_getfield(L, idx, name);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER) sf_arg_error(L, "new_client: '%s' must be a number", name);
        v = lua_tonumber(L, -1);
        if (!(v >= lo && v <= hi)) sf_arg_error(L, "new_client: '%s' must be between %g and %g", name, lo, hi);
    }
    lua_pop(L, 1);
    return v;
}

static int l_new_client(lua_State *L) {
    sf_client *c;
    int client_idx;
    size_t n;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);

    c = sf_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    c->closed = 1; /* until fully set up, so __gc has nothing to undo */
    client_idx = lua_gettop(L);
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_client_mt);
    lua_setmetatable(L, client_idx);
    lua_newtable(L);
    lua_getfield(L, 1, "debug");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TFUNCTION && lua_type(L, -1) != LUA_TBOOLEAN)
        sf_arg_error(L, "new_client: 'debug' must be a function or a boolean");
    lua_setfield(L, -2, "debug");
    sf_setuservalue(L, client_idx);

    c->api_key = cfg_string(L, 1, "api_key", 1);
    c->closed = 0;
    c->base_url = cfg_string(L, 1, "base_url", 1);
    c->team_id = cfg_string(L, 1, "team_id", 0);
    c->ca_file = cfg_string(L, 1, "ca_file", 0);
    c->ca_path = cfg_string(L, 1, "ca_path", 0);
    if (c->api_key[0] == '\0') sf_arg_error(L, "new_client: 'api_key' is empty");
    /* It must fit the Authorization header buffer of request_new. */
    if (strlen(c->api_key) > 1000) sf_arg_error(L, "new_client: 'api_key' is longer than 1000 characters");
    n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/') c->base_url[--n] = '\0';
    if (strncmp(c->base_url, "http://", 7) != 0 && strncmp(c->base_url, "https://", 8) != 0)
        sf_arg_error(L, "new_client: 'base_url' must start with http:// or https://");

    c->timeout_ms = (long)(cfg_number(L, 1, "timeout", 600, 0.001, 86400) * 1000.0);
    c->connect_timeout_ms = (long)(cfg_number(L, 1, "connect_timeout", 10, 0.001, 3600) * 1000.0);
    c->stall_timeout_s = (long)ceil(cfg_number(L, 1, "stall_timeout", 30, 1, 3600));
    c->max_retries = (int)cfg_number(L, 1, "max_retries", 2, 0, 10);
    c->retry_initial_s = cfg_number(L, 1, "retry_initial_delay", 0.5, 0, 60);
    c->retry_max_s = cfg_number(L, 1, "retry_max_delay", 8, 0, 600);
    c->retry_after_cap_s = cfg_number(L, 1, "retry_after_cap", 60, 0, 3600);
    lua_getfield(L, 1, "errors");
    if (lua_isnil(L, -1) || strcmp(lua_tostring(L, -1), "raise") == 0) c->raise_errors = 1;
    else if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "return") == 0) c->raise_errors = 0;
    else sf_arg_error(L, "new_client: 'errors' must be \"raise\" or \"return\"");
    lua_pop(L, 1);
    {
        char ua[256];
        curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
        snprintf(ua, sizeof ua, "seekrflow-lua/%s (%s; libcurl/%s)", SF_VERSION, SF_BUILT_FOR, info->version);
        c->user_agent = dup_string(ua);
    }
    c->rng = (unsigned long long)time(NULL) ^ ((unsigned long long)(size_t)c << 16) ^ 0x9E3779B97F4A7C15ULL;
    if (c->rng == 0) c->rng = 1;
    c->multi = curl_multi_init();
    if (c->multi == NULL || c->user_agent == NULL) luaL_error(L, "seekrflow: could not create a libcurl multi handle");
    /* One host, one connection: keep a small pool and reuse it. */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 4L);
    lua_settop(L, client_idx);
    return 1;
}

/* ---- request object methods ---- */

static int l_request_step(lua_State *L) {
    sf_request *r = check_request(L, 1, "step");
    long wait_ms = step_logged(L, 1, r);
    if (wait_ms < 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    sf_pushinteger(L, wait_ms);
    return 2;
}

static int request_result(lua_State *L, sf_request *r) {
    int raise = 1, ok;
    const char *key = NULL;
    if (r->state != ST_DONE && r->state != ST_CANCELLED)
        sf_arg_error(L, "the request is still in progress: call request:step() until it returns true, or request:perform()");
    sf_getuservalue(L, 1);
    lua_rawgeti(L, -1, 1);
    {
        sf_client *c = sf_testudata(L, -1, &sf_key_client_mt);
        if (c != NULL) {
            raise = c->raise_errors;
            key = c->api_key;
        }
    }
    lua_pop(L, 2);
    ok = push_outcome(L, r, key);
    if (ok) return 1;
    if (raise) return lua_error(L);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

static int l_request_result(lua_State *L) {
    return request_result(L, check_request(L, 1, "result"));
}

static int l_request_perform(lua_State *L) {
    sf_request *r = check_request(L, 1, "perform");
    if (r->client != NULL && r->client->socket_mode && r->state != ST_DONE && r->state != ST_CANCELLED)
        sf_arg_error(L, "request:perform() would block an event loop: this client is in socket mode");
    perform_blocking(L, 1, r);
    return request_result(L, r);
}

static int l_request_cancel(lua_State *L) {
    sf_request *r = check_request(L, 1, "cancel");
    if (r->state != ST_DONE && r->state != ST_CANCELLED) {
        detach_from_multi(r);
        fail(r, "cancelled", 0, "the request was cancelled");
        r->state = ST_CANCELLED;
    }
    return 0;
}

static int l_request_close(lua_State *L) {
    sf_request *r = check_request(L, 1, "close");
    if (r->state != ST_DONE && r->state != ST_CANCELLED) {
        fail(r, "cancelled", 0, "the request was closed before it finished");
    }
    release_request(r);
    return 0;
}

static int l_request_gc(lua_State *L) {
    sf_request *r = sf_testudata(L, 1, &sf_key_request_mt);
    if (r != NULL) release_request(r);
    return 0;
}

static int l_request_state(lua_State *L) {
    static const char *const names[] = {"new", "running", "waiting", "done", "cancelled"};
    sf_request *r = check_request(L, 1, "state");
    lua_pushstring(L, names[r->state]);
    sf_pushinteger(L, r->attempts);
    return 2;
}

static int l_request_tostring(lua_State *L) {
    sf_request *r = check_request(L, 1, "__tostring");
    lua_pushfstring(L, "seekrflow.request(%s %s)", r->method, r->url ? r->url : "closed");
    return 1;
}

void sf_open_http(lua_State *L) {
    static const luaL_Reg client_methods[] = {
        {"request", l_client_request},   {"start_request", l_client_start_request},
        {"wait", l_client_wait},         {"close", l_client_close},
        {"is_closed", l_client_is_closed}, {"config", l_client_config},
        {"socket_mode", l_client_socket_mode}, {"socket_changes", l_client_socket_changes},
        {"socket_action", l_client_socket_action}, {"on_close", l_client_on_close},
        {NULL, NULL}};
    static const luaL_Reg request_methods[] = {
        {"step", l_request_step},     {"result", l_request_result}, {"perform", l_request_perform},
        {"cancel", l_request_cancel}, {"close", l_request_close},   {"state", l_request_state},
        {NULL, NULL}};

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) luaL_error(L, "seekrflow: libcurl failed to initialise");

    lua_createtable(L, 0, 6); /* client metatable */
    lua_newtable(L);
    sf_setfuncs(L, client_methods);
    lua_setfield(L, -2, "methods");
    lua_pushcfunction(L, l_client_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_client_gc);
    lua_setfield(L, -2, "__gc");
#if SF_HAVE_CLOSE
    lua_pushcfunction(L, l_client_gc);
    lua_setfield(L, -2, "__close");
#endif
    lua_pushcfunction(L, l_client_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "seekrflow.client");
    lua_setfield(L, -2, "__name");
    sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_client_mt);

    lua_createtable(L, 0, 6); /* request metatable */
    lua_newtable(L);
    sf_setfuncs(L, request_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_request_gc);
    lua_setfield(L, -2, "__gc");
#if SF_HAVE_CLOSE
    lua_pushcfunction(L, l_request_gc);
    lua_setfield(L, -2, "__close");
#endif
    lua_pushcfunction(L, l_request_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "seekrflow.request");
    lua_setfield(L, -2, "__name");
    sf_rawsetp(L, LUA_REGISTRYINDEX, &sf_key_request_mt);

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
