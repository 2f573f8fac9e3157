/*
 * sf_request.c - the request object, on libcurl's multi interface.
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

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sf_transport.h"

double sf_now(void) {
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

/* ---- libcurl callbacks: C buffers only ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
    sf_request *r = userp;
    size_t n = size * nmemb;
    if (r->sink != NULL) {
        long code = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200 && code < 300) return r->sink(r->sink_ctx, data, n);
    }
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

/* The value of a header line, trimmed: *start and its length. */
static size_t header_span(const char *line, size_t n, size_t name_len, const char **start) {
    size_t i = name_len + 1, end = n;
    while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
    while (end > i && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' ')) end--;
    *start = line + i;
    return end - i;
}

/* Copies a header value into out, redacted first and cut after. */
static void keep_redacted(const sf_request *r, const char *line, size_t n, size_t name_len, char *out, size_t cap) {
    const char *v;
    size_t len = header_span(line, n, name_len, &v), keep;
    sf_buf tmp = {NULL, 0, 0};
    out[0] = '\0';
    if (!sf_redact_into(&tmp, v, len, r->secret ? r->secret->text : NULL, r->secret ? r->secret->len : 0)) {
        sf_buf_free(&tmp);
        return; /* out of memory: better nothing than an unredacted value */
    }
    keep = tmp.len < cap ? tmp.len : cap - 1;
    while (keep > 0 && keep < tmp.len && ((unsigned char)tmp.data[keep] & 0xC0) == 0x80) keep--;
    if (keep > 0) memcpy(out, tmp.data, keep);
    out[keep] = '\0';
    sf_buf_free(&tmp);
}

static void read_retry_after(sf_request *r, const char *line, size_t n, size_t name_len, int ms) {
    char value[64], *end;
    const char *v;
    size_t len = header_span(line, n, name_len, &v);
    double secs;
    if (len >= sizeof value) return;
    memcpy(value, v, len);
    value[len] = '\0';
    secs = strtod(value, &end);
    if (end != value && *end == '\0' && secs >= 0 && isfinite(secs)) {
        r->retry_after_s = ms ? secs / 1000.0 : secs;
    } else if (!ms) {
        time_t when = curl_getdate(value, NULL);
        if (when != (time_t)-1) {
            double d = difftime(when, time(NULL));
            r->retry_after_s = d > 0 ? d : 0;
        }
    }
}

void sf_request_feed_header(sf_request *r, const char *line, size_t n) {
    r->header_bytes += n;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget the last one. */
        r->request_id[0] = '\0';
        r->content_type[0] = '\0';
        r->location[0] = '\0';
        r->retry_after_s = -1;
    } else if (header_is(line, n, "cf-ray")) {
        keep_redacted(r, line, n, 6, r->request_id, sizeof r->request_id);
    } else if (header_is(line, n, "x-request-id") && r->request_id[0] == '\0') {
        keep_redacted(r, line, n, 12, r->request_id, sizeof r->request_id);
    } else if (header_is(line, n, "content-type")) {
        keep_redacted(r, line, n, 12, r->content_type, sizeof r->content_type);
    } else if (header_is(line, n, "location")) {
        keep_redacted(r, line, n, 8, r->location, sizeof r->location);
    } else if (header_is(line, n, "retry-after-ms")) {
        read_retry_after(r, line, n, 14, 1);
    } else if (header_is(line, n, "retry-after") && r->retry_after_s < 0) {
        read_retry_after(r, line, n, 11, 0);
    }
}

static size_t on_header(char *line, size_t size, size_t nitems, void *userp) {
    size_t n = size * nitems;
    sf_request_feed_header(userp, line, n);
    return n;
}

/* The libcurl options every request shares: where it goes, what it
 * carries, how long it may take, and TLS always verified. */
void sf_request_configure(sf_request *r, const sf_client *c, const sf_call_opts *o) {
    curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
    /* Send the path exactly as built: never fold "." or ".." segments. */
    curl_easy_setopt(r->easy, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(r->easy, CURLOPT_DISALLOW_USERNAME_IN_URL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->body != NULL ? c->headers_json : c->headers);
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (void *)r);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, (void *)r);
    curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, (void *)r);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME, o->stall_timeout_s);
    curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(r->easy, CURLOPT_ACCEPT_ENCODING, "");
    /* TLS verification is always on; only the trust store can be changed. */
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file != NULL) curl_easy_setopt(r->easy, CURLOPT_CAINFO, c->ca_file);
    if (c->ca_path != NULL) curl_easy_setopt(r->easy, CURLOPT_CAPATH, c->ca_path);
}

/* ---- lifecycle ---- */

static void unlink_request(sf_request *r) {
    if (r->client != NULL) {
        if (r->prev != NULL) r->prev->next = r->next;
        else r->client->active = r->next;
        if (r->next != NULL) r->next->prev = r->prev;
    }
    r->next = r->prev = NULL;
}

void sf_request_detach(sf_request *r) {
    if (r->in_multi && r->client != NULL && r->client->multi != NULL)
        curl_multi_remove_handle(r->client->multi, r->easy);
    r->in_multi = 0;
}

/* Frees everything but the struct itself (owned by the userdata). Safe twice. */
void sf_request_release(sf_request *r) {
    sf_request_detach(r);
    unlink_request(r);
    if (r->easy != NULL) curl_easy_cleanup(r->easy);
    r->easy = NULL;
    curl_mime_free(r->mime);
    r->mime = NULL;
    free(r->url);
    r->url = NULL;
    free(r->body);
    r->body = NULL;
    sf_buf_free(&r->response);
    sf_secret_release(r->secret);
    r->secret = NULL;
    r->client = NULL;
    if (r->state != ST_DONE) r->state = ST_CANCELLED;
}

void sf_request_fail(sf_request *r, const char *kind, int retryable, const char *fmt, ...) {
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
    if (r->sink != NULL) r->sink(r->sink_ctx, NULL, 0);
    r->status = 0;
    r->request_id[0] = '\0';
    r->content_type[0] = '\0';
    r->location[0] = '\0';
    r->errbuf[0] = '\0';
    r->retry_after_s = -1;
    r->header_bytes = 0;
    r->too_large = 0;
    r->transfer_done = 0;
    r->failed = 0;
    r->tls_failure = 0;
    mc = curl_multi_add_handle(r->client->multi, r->easy);
    if (mc != CURLM_OK) {
        sf_request_fail(r, "connection", 0, "could not start the request: %s", curl_multi_strerror(mc));
        r->state = ST_DONE;
        return 0;
    }
    r->attempts++;
    r->in_multi = 1;
    r->state = ST_RUNNING;
    r->started_at = now;
    return 1;
}

void sf_drain_messages(sf_client *c) {
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
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
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
    default: return status >= 500 ? "Server Error" : status >= 300 && status < 400 ? "Redirect" : "Error";
    }
}

static int is_tls_verify_failure(CURLcode rc) {
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
           rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

/* Settles a transfer that did not produce an HTTP status. */
static int fail_transfer(sf_request *r, int is_get) {
    long sent = 0;
    int retryable;
    const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->curl_result);
    curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &sent);
    /* A request that never left this machine cannot have been acted on. */
    retryable = is_get || sent == 0;
    if (is_tls_verify_failure(r->curl_result)) {
        /* A certificate that fails verification will fail again: no retry. */
        sf_request_fail(r, "connection", 0,
                        "TLS certificate verification failed (%s); to trust a private certificate authority pass "
                        "ca_file or ca_path (verification cannot be switched off)", why);
        r->tls_failure = 1;
        return 0;
    }
    if (r->curl_result == CURLE_SSL_CONNECT_ERROR && strncmp(r->url, "https:", 6) == 0 &&
        (strstr(why, "wrong version number") != NULL || strstr(why, "packet length too long") != NULL ||
         strstr(why, "unexpected eof") != NULL)) {
        sf_request_fail(r, "connection", 0,
                        "the TLS handshake failed: the server does not seem to speak https on this port; if it is "
                        "a plain-http server on this machine, use an http:// base_url (TLS said: %s)", why);
        r->tls_failure = 1;
        return 0;
    }
    if (r->curl_result == CURLE_OUT_OF_MEMORY && r->header_bytes < 1024 * 1024 &&
        (strstr(why, "header") != NULL || r->errbuf[0] == '\0' || r->status == 0)) {
        sf_request_fail(r, "decode", 0,
                        "the response has a header line larger than libcurl accepts (100 KB): the server or a "
                        "proxy sent a malformed answer");
        return 0;
    }
    if (r->curl_result == CURLE_OPERATION_TIMEDOUT) {
        if (strstr(why, "too slow") != NULL)
            sf_request_fail(r, "timeout", retryable, "the transfer stalled: no data for %ld s (%s)",
                            r->client ? r->client->stall_timeout_s : 0L, why);
        else
            sf_request_fail(r, "timeout", retryable, "the request timed out (%s)", why);
        return retryable;
    }
    sf_request_fail(r, "connection", retryable, "%s", why);
    return retryable;
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
        sf_request_fail(r, "status", retryable, "HTTP %ld %s", r->status, reason_phrase(r->status));
        server_delay = r->retry_after_s;
    } else if (r->too_large) {
        sf_request_fail(r, "decode", 0, "the response is larger than %u bytes", SF_MAX_BODY_BYTES);
    } else {
        retryable = fail_transfer(r, is_get);
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

void sf_request_settle(sf_request *r, long status, CURLcode result) {
    r->status = status;
    r->curl_result = result;
    r->transfer_done = 1;
    r->state = ST_RUNNING;
    if (r->attempts == 0) r->attempts = 1;
    evaluate_attempt(r, sf_now());
    if (r->state == ST_WAITING) r->state = ST_DONE; /* no retries here */
}

/* Advances the request without blocking. Returns the milliseconds a host may
 * wait before the next step, or -1 when the request is finished. */
static long request_step(sf_request *r) {
    double now = sf_now();
    int running = 0;
    long wait_ms = 1000;
    if (r->state == ST_DONE || r->state == ST_CANCELLED) return -1;
    if (r->client == NULL || r->client->closed) {
        sf_request_fail(r, "cancelled", 0, "the client was closed while the request was in flight");
        sf_request_release(r);
        r->state = ST_DONE;
        return -1;
    }
    if (r->state == ST_NEW || (r->state == ST_WAITING && now >= r->wait_until)) {
        if (!begin_attempt(r, now)) return -1;
    }
    /* In socket mode the host drives transfers with client:socket_action();
     * libcurl forbids mixing that with curl_multi_perform. */
    if (!r->client->socket_mode) curl_multi_perform(r->client->multi, &running);
    sf_drain_messages(r->client);
    if (r->state == ST_RUNNING && r->transfer_done) {
        evaluate_attempt(r, sf_now());
        if (r->state == ST_WAITING && sf_now() >= r->wait_until) return 0;
    }
    if (r->state == ST_DONE) return -1;
    if (r->state == ST_WAITING) {
        double left = (r->wait_until - sf_now()) * 1000.0;
        return left <= 0 ? 0 : (long)ceil(left);
    }
    if (r->client->socket_mode) return 1000; /* the host's socket and timer events come first */
    curl_multi_timeout(r->client->multi, &wait_ms);
    if (wait_ms < 0 || wait_ms > 1000) wait_ms = 1000;
    return wait_ms;
}

/* ---- debug log: method, URL, status, timing; never a header ---- */

static void debug_log(lua_State *L, int req_idx, const sf_request *r, const char *fmt, ...) {
    char line[1600];
    va_list ap;
    int mode, top = lua_gettop(L);
    sf_getuservalue(L, req_idx);          /* request uservalue: {client} */
    lua_rawgeti(L, -1, 1);
    sf_getuservalue(L, -1);               /* client uservalue */
    lua_getfield(L, -1, "debug");
    mode = lua_type(L, -1);
    if (mode != LUA_TFUNCTION && !lua_toboolean(L, -1)) {
        lua_settop(L, top);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Server text (errors, request ids) is in the line: redact it whole. */
    sf_push_redacted(L, line, strlen(line), 0, r->secret ? r->secret->text : NULL, r->secret ? r->secret->len : 0);
    if (mode == LUA_TFUNCTION) {
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1); /* a broken logger must not break calls */
    } else {
        fprintf(stderr, "seekrflow: %s\n", lua_tostring(L, -1));
    }
    lua_settop(L, top);
}

/* step() plus debug lines for attempts that ended. */
long sf_step_logged(lua_State *L, int req_idx, sf_request *r) {
    int attempts_before = r->attempts, state_before = r->state;
    long wait_ms = request_step(r);
    const char *rid = r->request_id[0] ? ", request id " : "";
    if ((state_before == ST_RUNNING || r->attempts > attempts_before) &&
        (r->state == ST_DONE || r->state == ST_WAITING) && r->url != NULL) {
        double ms = (sf_now() - r->started_at) * 1000.0;
        if (r->failed && r->state == ST_WAITING)
            debug_log(L, req_idx, r, "%s %s attempt %d: %s %s (%.0f ms%s%s); retrying in %.2f s", r->method, r->url,
                      r->attempts, r->err_kind, r->err_message, ms, rid, r->request_id,
                      r->wait_until - sf_now() > 0 ? r->wait_until - sf_now() : 0.0);
        else if (r->failed)
            debug_log(L, req_idx, r, "%s %s attempt %d: %s %s (%.0f ms%s%s)", r->method, r->url, r->attempts,
                      r->err_kind, r->err_message, ms, rid, r->request_id);
        else if (r->state == ST_DONE)
            debug_log(L, req_idx, r, "%s %s attempt %d: HTTP %ld, %lu bytes (%.0f ms%s%s)", r->method, r->url,
                      r->attempts, r->status, (unsigned long)r->response.len, ms, rid, r->request_id);
    }
    return wait_ms;
}

/* ---- blocking: Ctrl-C ends the wait ----
 *
 * While a blocking call waits, SIGINT only sets a flag; the wait ends within
 * INTERRUPT_POLL_MS, the request is cancelled, the previous handler is put
 * back and the signal raised again, so the host reacts as it always does
 * (the lua interpreter raises "interrupted!" at the next instruction). No
 * handler is installed in socket mode (the host loop owns the process), in
 * Neovim, when SIGINT is ignored, or for a client made with interrupts = false. */

#define INTERRUPT_POLL_MS 100

static volatile sig_atomic_t got_sigint;

static void on_sigint(int sig) {
    (void)sig;
    got_sigint = 1;
}

static int host_owns_signals(lua_State *L) {
    int owns;
    lua_getglobal(L, "vim"); /* Neovim: its loop handles SIGINT */
    owns = lua_type(L, -1) == LUA_TTABLE;
    lua_pop(L, 1);
    return owns;
}

void sf_perform_blocking(lua_State *L, int req_idx, sf_request *r) {
    struct sigaction old, mine;
    int guard = r->client != NULL && r->client->interrupts && !r->client->socket_mode && !host_owns_signals(L);
    long wait_ms;
    if (guard && sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN && old.sa_handler != on_sigint) {
        memset(&mine, 0, sizeof mine);
        mine.sa_handler = on_sigint;
        sigemptyset(&mine.sa_mask);
        got_sigint = 0;
        if (sigaction(SIGINT, &mine, NULL) != 0) guard = 0;
    } else {
        guard = 0;
    }
    while ((wait_ms = sf_step_logged(L, req_idx, r)) >= 0) {
        if (guard && got_sigint) break;
        if (guard && wait_ms > INTERRUPT_POLL_MS) wait_ms = INTERRUPT_POLL_MS;
        if (wait_ms > 0 && r->client != NULL) curl_multi_poll(r->client->multi, NULL, 0, (int)wait_ms, NULL);
        if (guard && got_sigint) break;
    }
    if (!guard) return;
    sigaction(SIGINT, &old, NULL);
    if (got_sigint) {
        got_sigint = 0;
        if (r->state != ST_DONE && r->state != ST_CANCELLED) {
            sf_request_detach(r);
            sf_request_fail(r, "cancelled", 0, "interrupted (Ctrl-C) while waiting for %s %s", r->method,
                            r->url ? r->url : "");
            r->interrupted = 1;
            r->state = ST_CANCELLED;
        }
        raise(SIGINT); /* the host's own handling goes on */
    }
}
