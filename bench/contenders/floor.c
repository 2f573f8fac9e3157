/*
 * bench/contenders/floor.c - the floor of `make bench`: what a careful C
 * program gets with libcurl and lua-cjson. One easy handle (the connection
 * is kept alive), the body in a buffer reused across requests, cjson.decode
 * in an embedded Lua 5.4, then the walk every contender does.
 *
 *   floor <url> <iterations> [gzip] [rss]
 * prints one line per timed request (seconds), after one untimed warm-up;
 * with rss, one request and the process's peak RSS in kB.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

typedef struct {
    char *data;
    size_t len, cap;
} body;

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
    body *b = (body *)ud;
    size_t add = size * n;
    if (b->len + add > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        char *grown;
        while (cap < b->len + add) cap *= 2;
        grown = realloc(b->data, cap);
        if (grown == NULL) return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, add);
    b->len += add;
    return add;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void) {
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static const char walk_code[] =
    "local decode = require('cjson').decode\n"
    "return function(text)\n"
    "  local d = decode(text)\n"
    "  local failed = 0\n"
    "  for _, job in ipairs(d.ingestion_jobs) do\n"
    "    for _, record in ipairs(job.records) do\n"
    "      if record.status == 'failed' then failed = failed + 1 end\n"
    "    end\n"
    "  end\n"
    "  return failed\n"
    "end\n";

int main(int argc, char **argv) {
    CURL *easy;
    lua_State *L;
    body b = {NULL, 0, 0};
    int i, n, gzip = 0, rss = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: floor <url> <iterations> [gzip] [rss]\n");
        return 2;
    }
    n = atoi(argv[2]);
    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "gzip") == 0) gzip = 1;
        if (strcmp(argv[i], "rss") == 0) rss = 1;
    }
    L = luaL_newstate();
    luaL_openlibs(L);
    if (luaL_loadstring(L, walk_code) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "floor: %s\n", lua_tostring(L, -1));
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, argv[1]);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &b);
    if (gzip) curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip");
    for (i = rss ? 1 : 0; i <= (rss ? 1 : n); i++) {
        double t0 = now();
        long status = 0;
        b.len = 0;
        if (curl_easy_perform(easy) != CURLE_OK) return 1;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) return 1;
        lua_pushvalue(L, -1);
        lua_pushlstring(L, b.data, b.len);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
            fprintf(stderr, "floor: %s\n", lua_tostring(L, -1));
            return 1;
        }
        lua_pop(L, 1);
        if (i > 0 && !rss) printf("%.9f\n", now() - t0);
    }
    if (rss) printf("rss %ld\n", peak_rss_kb());
    curl_easy_cleanup(easy);
    curl_global_cleanup();
    free(b.data);
    lua_close(L);
    return 0;
}
