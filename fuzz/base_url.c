/*
 * fuzz/base_url.c - libFuzzer harness: base URL and request argument checks.
 *
 * The first byte picks what the rest of the input is:
 *   0: a base URL. If it is accepted, plain http must go to a literal
 *      loopback host, there must be no credentials, and the normalised text
 *      must be accepted again and normalise to itself (one rule, stable).
 *   1: a request path and a query value for a client: either refused with
 *      an invalid_argument error, or the URL built contains the path as is
 *      and stays on the client's host.
 *   2: redaction: text with the secret planted in it; the redacted text
 *      never contains the secret, and cut versions never end in a prefix.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;

static void setup(void) {
    L = fuzz_core_state();
    /* A client whose URL building the second mode exercises. */
    if (luaL_dostring(L, "client = core.new_client { api_key = 'k', base_url = 'http://127.0.0.1:9/v1' }") != 0)
        abort();
}

static int loopback(const char *host) {
    return strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 || strncmp(host, "127.", 4) == 0;
}

static void fuzz_base_url(const char *s, size_t n) {
    char why[300], *text, *host = NULL, *scheme = NULL, *user = NULL;
    CURLU *u = sf_url_parse_base(s, n, why, sizeof why);
    CURLU *again;
    if (u == NULL) {
        if (why[0] == '\0') abort(); /* a refusal always says why */
        return;
    }
    if (memchr(s, '\0', n) != NULL) abort(); /* a NUL never passes */
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) abort();
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) abort();
    if (strcmp(scheme, "http") == 0 && !loopback(host)) {
        fprintf(stderr, "plain http accepted to %s\n", host);
        abort();
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) abort();
    text = sf_url_base_text(u);
    if (text == NULL) abort();
    again = sf_url_parse_base(text, strlen(text), why, sizeof why);
    if (again == NULL) abort();
    {
        char *text2 = sf_url_base_text(again);
        if (text2 == NULL || strcmp(text, text2) != 0) abort();
        free(text2);
    }
    curl_url_cleanup(again);
    free(text);
    curl_free(host);
    curl_free(scheme);
    curl_free(user);
    curl_url_cleanup(u);
}

static void fuzz_request(const char *s, size_t n) {
    const char *cut = memchr(s, '\n', n);
    size_t plen = cut ? (size_t)(cut - s) : n;
    int base = lua_gettop(L);
    /* start_request builds everything (URL, checks) without any I/O. */
    luaL_loadstring(L, "local path, value = ... local r = client:start_request('GET', path, { query = { q = value } })"
                       " local u = tostring(r) r:close() return u");
    lua_pushlstring(L, s, plen);
    if (cut) lua_pushlstring(L, cut + 1, n - plen - 1);
    else lua_pushliteral(L, "");
    if (lua_pcall(L, 2, 1, 0) != 0) {
        if (lua_type(L, -1) != LUA_TTABLE) abort(); /* refusals are error values */
        lua_getfield(L, -1, "kind");
        if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "invalid_argument") != 0) abort();
    } else {
        const char *u = lua_tostring(L, -1);
        if (u == NULL || strncmp(u, "seekrflow.request(GET http://127.0.0.1:9/v1/", 44) != 0) abort();
    }
    lua_settop(L, base);
}

static void fuzz_redact(const char *s, size_t n) {
    static const char secret[] = "s3cr\0et";
    size_t slen = sizeof secret - 1, limit;
    sf_buf planted = {NULL, 0, 0}, out = {NULL, 0, 0};
    int base = lua_gettop(L);
    if (n == 0) return;
    limit = (unsigned char)s[0];
    /* Plant the secret in the middle and at the end. */
    if (!sf_buf_append(&planted, s + 1, (n - 1) / 2) || !sf_buf_append(&planted, secret, slen) ||
        !sf_buf_append(&planted, s + 1 + (n - 1) / 2, n - 1 - (n - 1) / 2) ||
        !sf_buf_append(&planted, secret, slen))
        abort();
    if (!sf_redact_into(&out, planted.data, planted.len, secret, slen)) abort();
    if (sf_contains_secret(out.data, out.len, secret, slen)) abort();
    sf_push_redacted(L, planted.data, planted.len, limit, secret, slen);
    {
        size_t len, k;
        const char *r = lua_tolstring(L, -1, &len);
        if (limit > 0 && len > limit) abort();
        if (sf_contains_secret(r, len, secret, slen)) abort();
        /* No prefix of the secret (3 bytes or more) at the cut. */
        for (k = 3; k < slen && limit > 0 && len == limit; k++)
            if (len >= k && memcmp(r + len - k, secret, k) == 0 && planted.len > limit) {
                /* Only a real prefix of a planted copy counts: data may spell one. */
                if (sf_contains_secret(s, n, secret, k) == 0) abort();
            }
    }
    lua_settop(L, base);
    sf_buf_free(&planted);
    sf_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (L == NULL) setup();
    if (size < 1) return 0;
    switch (data[0] % 3) {
    case 0: {
        /* sf_url_parse_base reads a NUL-terminated string of len bytes, as Lua gives. */
        char *copy = malloc(size);
        if (copy == NULL) abort();
        memcpy(copy, data + 1, size - 1);
        copy[size - 1] = '\0';
        fuzz_base_url(copy, size - 1);
        free(copy);
        break;
    }
    case 1: fuzz_request((const char *)data + 1, size - 1); break;
    default: fuzz_redact((const char *)data + 1, size - 1); break;
    }
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
