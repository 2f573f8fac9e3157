rockspec_format = "3.0"
package = "seekrflow"
version = "scm-1"
source = {
  url = "git+file:///dev/null", -- replaced by the release process; `luarocks make` uses the checkout
}
description = {
  summary = "Lua client for SeekrFlow's data-jobs API, with a local simulator",
  detailed = [[
    Watch SeekrFlow data jobs through ingestion and alignment, understand
    failed files and fix them. A C core on libcurl with its own JSON codec; Lua on top.
  ]],
  license = "MIT",
  labels = { "http", "api", "client", "libcurl" },
}
dependencies = {
  "lua >= 5.1, < 5.5",
  "argparse >= 0.6", -- the seekrflow and seekrflow-sim command lines
  "dkjson >= 2.5", -- the simulator's JSON
  "luasocket >= 3.0", -- only the simulator needs it
}
external_dependencies = {
  CURL = { header = "curl/curl.h" },
}
build = {
  type = "make",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LIBFLAG = "$(LIBFLAG)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LUA = "$(LUA)",
    CURL_CFLAGS = "-I$(CURL_INCDIR)",
    CURL_LIBS = "-L$(CURL_LIBDIR) -lcurl",
    SEEKRFLOW_ROCK = "1", -- the build says which Lua LuaRocks chose
  },
  -- `make install` copies every module under lua/ (so the rock can never miss a folder)
  -- and writes the shell completions under the rock's own share/ folder.
  install_variables = {
    PREFIX = "$(PREFIX)",
    LIBDIR = "$(LIBDIR)",
    LUADIR = "$(LUADIR)",
    BINDIR = "$(PREFIX)/bin",
    LUA = "$(LUA)",
  },
  install = {
    bin = {
      ["seekrflow"] = "bin/seekrflow",
      ["seekrflow-sim"] = "bin/seekrflow-sim",
    },
  },
}
test = {
  type = "command",
  command = "make test",
}
