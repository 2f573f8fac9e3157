/*
 * fuzz/json_decode.c - libFuzzer harness: JSON decoding and shaping.
 *
 * Each input is decoded straight from the fuzzer's buffer (not NUL-terminated,
 * so ASan sees any read past the end) with every schema kind; whatever
 * decodes is encoded again, and that text must decode: the encoder never
 * writes what the decoder refuses, except numbers JSON cannot hold
 * (1e400 decodes to infinity, which the encoder refuses).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lua_State *L = fuzz_core_state();
    int k;
    for (k = 0; k < SF_KIND_COUNT; k++) {
        int base = lua_gettop(L);
        if (sf_json_decode(L, (const char *)data, size, (sf_kind)k)) {
            if (sf_json_encode(L, -1)) {
                size_t n;
                const char *text = lua_tolstring(L, -1, &n);
                if (!sf_json_decode(L, text, n, (sf_kind)k)) abort();
            } else {
                const char *why = lua_tostring(L, -1);
                if (why == NULL || strstr(why, "NaN or infinity") == NULL) abort();
            }
        }
        lua_settop(L, base);
    }
    /* Free this input's tables now: libFuzzer runs a leak scan after any
     * input whose mallocs and frees do not balance. */
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
