/*
 * fuzz/detail.c - libFuzzer harness: the detail module (csrc/sf_detail.c)
 * over any decoded JSON, as a hostile server would send it.
 *
 * Each input is decoded as a data job; every function of seekrflow.detail
 * then walks it. Whatever the shape, they never crash or raise on a table:
 * each_file yields every table entry of files[] exactly once, a current
 * record is a live record of the detail and one of the records of its file
 * (records_of: in the detail's order, each once, the same through
 * records_by_file), and a non-table argument is an invalid_argument error.
 */
#include <stdint.h>

#include "fuzz_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;

static const char walk[] =
    "local detail, d = ...\n"
    "if type(d) ~= 'table' then\n"
    "  local ok, err = pcall(detail.each_file, d)\n"
    "  assert(not ok and err.kind == 'invalid_argument')\n"
    "  return\n"
    "end\n"
    "local live = {}\n"
    "for ij, r in detail.records(d) do assert(type(ij) == 'table' and type(r) == 'table'); live[r] = true end\n"
    "for _, r in detail.records(d, { include_deleted = true }) do assert(type(r) == 'table') end\n"
    "for _, r in detail.failed_records(d) do assert(r.status == 'failed') end\n"
    "for e in detail.each_event(d) do assert(type(e) == 'table') end\n"
    "local expected = 0\n"
    "if type(rawget(d, 'files')) == 'table' then\n"
    "  for _, f in ipairs(rawget(d, 'files')) do if type(f) == 'table' then expected = expected + 1 end end\n"
    "end\n"
    "local order, k = {}, 0\n"
    "for _, r in detail.records(d, { include_deleted = true }) do k = k + 1; order[r] = order[r] or k end\n"
    "local records_of = detail.records_by_file(d, { include_deleted = true })\n"
    "local n = 0\n"
    "for file, record, ij in detail.each_file(d) do\n"
    "  n = n + 1\n"
    "  assert(type(file) == 'table')\n"
    "  if record ~= nil then assert(live[record] and type(ij) == 'table') end\n"
    "  local last, mine, current_seen = 0, 0, record == nil\n"
    "  for ij2, r in detail.records_of(d, file) do\n"
    "    assert(type(ij2) == 'table' and live[r] and order[r] > last, 'records_of: not in order or repeated')\n"
    "    last, mine = order[r], mine + 1\n"
    "    if r == record then current_seen = true end\n"
    "  end\n"
    "  assert(current_seen, 'the current record is not among the records of its file')\n"
    "  for _, r in records_of(file) do if live[r] then mine = mine - 1 end end\n"
    "  assert(mine == 0, 'records_by_file and records_of disagree')\n"
    "  local r2 = detail.current_record(d, file)\n"
    "  assert(r2 == record)\n"
    "  local status = detail.file_status(d, file)\n"
    "  assert(status == nil or type(status) == 'string')\n"
    "  assert(type(detail.is_markdown(file)) == 'boolean')\n"
    "end\n"
    "assert(n == expected, 'each_file skipped or repeated a file')\n";

/* The walk, compiled once, as the global `walk`. */
static void setup(void) {
    L = fuzz_core_state();
    if (luaL_loadbuffer(L, walk, sizeof walk - 1, "=walk") != LUA_OK) abort();
    lua_setglobal(L, "walk");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int base;
    if (L == NULL) setup();
    base = lua_gettop(L);
    lua_getglobal(L, "walk");
    lua_getglobal(L, "core");
    lua_getfield(L, -1, "detail");
    lua_remove(L, -2);
    if (sf_json_decode(L, (const char *)data, size, SF_KIND_DATA_JOB)) {
        if (lua_pcall(L, 2, 0, 0) != LUA_OK) abort();
    }
    lua_settop(L, base);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
