/*
 * fuzz/response.c - libFuzzer harness: a response (status, headers, body)
 * becomes a Lua value or an error value, as the transport shapes it.
 *
 * Input layout: two bytes of status (mod 600), one byte choosing the result
 * kind and the libcurl outcome, then header lines up to an empty line, then
 * the body. Whatever the server sends, shaping must not crash, leak or read
 * out of bounds, and the API key must not survive anywhere in the value or
 * the error: not in a string, a key, a nested table or tostring(err).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char KEY[] = "sk-fuzz-SECRET-42";
static lua_State *L;

static void setup(void) { L = fuzz_core_state(); }

/* Aborts when the key appears in any string reachable from idx. */
static void check_no_key(int idx, int depth) {
    idx = sf_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (sf_contains_secret(s, n, KEY, sizeof KEY - 1)) abort();
    } else if (lua_type(L, idx) == LUA_TTABLE && depth < 80) {
        lua_pushnil(L);
        while (lua_next(L, idx) != 0) {
            check_no_key(-2, depth + 1);
            check_no_key(-1, depth + 1);
            lua_pop(L, 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const CURLcode results[] = {CURLE_OK, CURLE_OK, CURLE_OK, CURLE_OPERATION_TIMEDOUT,
                                       CURLE_SSL_CONNECT_ERROR, CURLE_OUT_OF_MEMORY, CURLE_COULDNT_CONNECT,
                                       CURLE_PEER_FAILED_VERIFICATION};
    sf_request r;
    size_t i, line_start;
    long status;
    int base, ok;
    if (L == NULL) setup();
    if (size < 3) return 0;
    memset(&r, 0, sizeof r);
    r.retry_after_s = -1;
    r.secret = sf_secret_new(KEY, sizeof KEY - 1);
    if (r.secret == NULL) abort();
    snprintf(r.method, sizeof r.method, "%s", (data[2] & 1) ? "POST" : "GET");
    {
        const char *url = (data[2] & 2) ? "https://h.example/v1/flow/x" : "http://127.0.0.1/flow/x";
        r.url = malloc(strlen(url) + 1);
        if (r.url == NULL) abort();
        memcpy(r.url, url, strlen(url) + 1);
    }
    r.kind = (sf_kind)((data[2] >> 2) % SF_KIND_COUNT);
    status = (long)((data[0] << 8 | data[1]) % 600);
    /* Header lines, then the body after an empty line. */
    i = 3;
    line_start = i;
    while (i < size) {
        if (data[i] == '\n') {
            if (i == line_start) {
                i++;
                break;
            }
            sf_request_feed_header(&r, (const char *)data + line_start, i + 1 - line_start);
            line_start = i + 1;
        }
        i++;
    }
    if (i < size && !sf_buf_append(&r.response, (const char *)data + i, size - i)) abort();
    sf_request_settle(&r, status, results[(data[2] >> 5) % (sizeof results / sizeof results[0])]);
    base = lua_gettop(L);
    ok = sf_push_outcome(L, &r);
    check_no_key(-1, 0);
    if (!ok) {
        lua_getfield(L, -1, "kind");
        if (lua_type(L, -1) != LUA_TSTRING) abort(); /* every error has a kind */
        lua_pop(L, 1);
        /* tostring(err) must work and must not show the key either. */
        lua_getglobal(L, "tostring");
        lua_pushvalue(L, -2);
        lua_call(L, 1, 1);
        check_no_key(-1, 0);
    }
    lua_settop(L, base);
    sf_buf_free(&r.response);
    sf_secret_release(r.secret);
    free(r.url);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
