# seekrflow-lua build. `make` builds the C core for one Lua (LUA, default
# lua5.4); LuaRocks passes LUA_INCDIR, CFLAGS, LIBFLAG and the install dirs.

LUA        ?= lua5.4
LUA_PC     ?= $(LUA)
# lua5.4 -> 5.4, luajit -> 5.1: where modules for this Lua live.
LUA_ABI    ?= $(shell $(LUA) -e 'print((_VERSION:gsub("Lua ", "")))' 2>/dev/null || echo 5.4)
PKG_CONFIG ?= pkg-config

LUA_INCDIR ?= $(patsubst -I%,%,$(firstword $(filter -I%,$(shell $(PKG_CONFIG) --cflags $(LUA_PC) 2>/dev/null))))
CURL_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS   ?= $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl)

CFLAGS  ?= -O2 -g
WARN     = -std=c99 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -pedantic
LIBFLAG ?= -shared
ALL_CFLAGS = $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden -I$(LUA_INCDIR) $(CURL_CFLAGS)

BUILD   ?= build/$(notdir $(LUA))
# A BUILD inherited from a surrounding run belongs to another Lua: the folder
# follows LUA unless BUILD is given on the command line.
ifeq ($(origin BUILD),environment)
BUILD := build/$(notdir $(LUA))
endif
MODULE   = $(BUILD)/seekrflow/core.so
SOURCES  = $(wildcard csrc/*.c)
HEADERS  = $(wildcard csrc/*.h)
OBJECTS  = $(SOURCES:csrc/%.c=$(BUILD)/obj/%.o)

# Install dirs (LuaRocks sets these through install_variables).
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib/lua/$(LUA_ABI)
LUADIR ?= $(PREFIX)/share/lua/$(LUA_ABI)
BINDIR ?= $(PREFIX)/bin
# The Debian package with lua.h for each Lua, named when the header is missing.
LUA_NAME = $(notdir $(LUA))
LUA_DEV_PKG = $(if $(filter luajit%,$(LUA_NAME)),libluajit-5.1-dev,$(if $(filter lua5.1 lua51,$(LUA_NAME)),liblua5.1-0-dev,lib$(LUA_NAME)-dev))

.PHONY: rock-notice all bench test test-all demo sim lint check-c clean install valgrind asan rock-check check-headers fuzz fuzz-build

all: check-headers rock-notice $(MODULE)

# LuaRocks on Debian defaults to Lua 5.1: say so, and how to build for 5.4 instead.
rock-notice:
ifeq ($(SEEKRFLOW_ROCK)$(LUA_ABI),15.1)
	@echo "Note: building seekrflow for Lua 5.1 (LuaRocks' default here). For Lua 5.4:"
	@echo "  luarocks --lua-version=5.4 make rockspec/seekrflow-scm-1.rockspec"
endif

# A missing header is the most common build failure: say what to install.
check-headers:
	@test -f "$(LUA_INCDIR)/lua.h" || { echo "lua.h for $(LUA) not found (LUA_INCDIR=$(LUA_INCDIR))."; \
	  echo "Install its headers: apt-get install $(LUA_DEV_PKG),"; \
	  echo "or pass LUA_INCDIR=/path/to/lua/include."; exit 1; }
	@echo '#include <curl/curl.h>' | $(CC) $(CURL_CFLAGS) -E - >/dev/null 2>&1 || { \
	  echo "curl/curl.h not found: install libcurl's headers (apt-get install libcurl4-openssl-dev),"; \
	  echo "or pass CURL_CFLAGS=-I/path/to/include."; exit 1; }

$(BUILD)/obj/%.o: csrc/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(MODULE): $(OBJECTS)
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAG) $(CFLAGS) -o $@ $(OBJECTS) $(CURL_LIBS) $(LDFLAGS)

# Runs every spec against a simulator that tools/run-specs starts and stops.
test: all
	LUA=$(LUA) BUILD=$(BUILD) sh tools/run-specs

# The whole suite on every Lua this machine has.
LUAS ?= lua5.4 lua5.3 lua5.1 luajit
test-all:
	@set -e; for l in $(LUAS); do echo "== $$l"; SEEKRFLOW_NVIM=0 $(MAKE) --no-print-directory LUA=$$l test; done

bench: all
	LUA=$(LUA) BUILD=$(BUILD) sh tools/bench

demo: $(MODULE)
	LUA=$(LUA) BUILD=$(BUILD) sh tools/demo

sim:
	$(LUA) bin/seekrflow-sim

lint: check-c
	luacheck lua spec plugin bin/seekrflow-sim bin/seekrflow

check-c:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --std=c99 --inline-suppr -I csrc $(SOURCES)

# Memory checks over the whole suite.
valgrind: $(MODULE)
	SEEKRFLOW_NVIM=0 LUA=$(LUA) BUILD=$(BUILD) SEEKRFLOW_WRAP="valgrind --quiet --keep-debuginfo=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions=tools/valgrind.supp" sh tools/run-specs

asan:
	$(MAKE) BUILD=build/asan-$(LUA) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" LIBFLAG="-shared -fsanitize=address,undefined"
	SEEKRFLOW_NVIM=0 LUA=$(LUA) BUILD=build/asan-$(LUA) \
	  SEEKRFLOW_WRAP="env LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=1:exitcode=98 LSAN_OPTIONS=suppressions=$(CURDIR)/tools/lsan.supp:print_suppressions=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1" \
	  sh tools/run-specs

# Fuzzing: every fuzz/<name>.c is a libFuzzer harness (LLVMFuzzerTestOneInput),
# built with clang under ASan+UBSan against the C core and Lua 5.4, and run
# for FUZZ_SECONDS from its seeds in fuzz/corpus/<name>/ (with fuzz/<name>.dict
# when present); what it finds goes to build/fuzz/corpus/<name>/, crashes to
# build/fuzz/. Needs Debian's clang and libclang-rt-14-dev.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_LUA_PC  ?= lua5.4
FUZZ_BUILD    = build/fuzz
FUZZ_SAN      = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   = $(FUZZ_SAN) $(WARN) $(shell $(PKG_CONFIG) --cflags $(FUZZ_LUA_PC) 2>/dev/null) $(CURL_CFLAGS) -I csrc
FUZZ_LIBS     = $(shell $(PKG_CONFIG) --libs $(FUZZ_LUA_PC) 2>/dev/null || echo -llua5.4) $(CURL_LIBS) -lm
FUZZ_OBJECTS  = $(SOURCES:csrc/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_TARGETS  = $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard fuzz/*.c))
.SECONDARY: $(FUZZ_OBJECTS)

$(FUZZ_BUILD)/obj/%.o: csrc/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/%: fuzz/%.c $(FUZZ_OBJECTS) $(wildcard fuzz/*.h)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJECTS) $(FUZZ_LIBS)

fuzz-build:
	@mkdir -p $(FUZZ_BUILD)
	@echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n); int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n ? 0 : 0; }' | \
	  $(FUZZ_CC) -fsanitize=fuzzer,address,undefined -x c - -o $(FUZZ_BUILD)/probe 2>/dev/null || { \
	  echo 'make fuzz needs clang with libFuzzer: apt-get install clang libclang-rt-14-dev'; exit 1; }
	@rm -f $(FUZZ_BUILD)/probe
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS)

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do name=$$(basename $$t); \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$name fuzz/corpus/$$name; \
	  dict=; if [ -f fuzz/$$name.dict ]; then dict=-dict=fuzz/$$name.dict; fi; \
	  echo "== fuzz $$name for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/$$name- $$dict $(FUZZ_BUILD)/corpus/$$name fuzz/corpus/$$name 2>$(FUZZ_BUILD)/$$name.log \
	    || { tail -60 $(FUZZ_BUILD)/$$name.log; echo "fuzz $$name failed: input saved as $(FUZZ_BUILD)/$$name-*"; exit 1; }; \
	  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' $(FUZZ_BUILD)/$$name.log || true; \
	done

# Shell completions, written by the command's own parser (lua-argparse).
COMPLETIONS = $(BUILD)/completions/seekrflow.bash $(BUILD)/completions/_seekrflow $(BUILD)/completions/seekrflow.fish
$(BUILD)/completions/seekrflow.bash: SHELL_NAME = bash
$(BUILD)/completions/_seekrflow: SHELL_NAME = zsh
$(BUILD)/completions/seekrflow.fish: SHELL_NAME = fish
$(COMPLETIONS): $(MODULE) $(wildcard lua/seekrflow/cli/*.lua)
	@mkdir -p $(dir $@)
	LUA_CPATH="$(BUILD)/?.so;;" $(LUA) bin/seekrflow completion $(SHELL_NAME) > $@.tmp && mv $@.tmp $@

# Every module under lua/ (the Neovim plugin's included: no folder list to fall behind),
# the core, both commands and the completions.
install: $(MODULE) $(COMPLETIONS)
	mkdir -p $(DESTDIR)$(LIBDIR)/seekrflow $(DESTDIR)$(BINDIR)
	cp $(MODULE) $(DESTDIR)$(LIBDIR)/seekrflow/core.so
	cd lua && find . -name '*.lua' | while read -r f; do \
	  mkdir -p "$(DESTDIR)$(LUADIR)/$$(dirname "$$f")" && cp "$$f" "$(DESTDIR)$(LUADIR)/$$f" || exit 1; done
	cp bin/seekrflow bin/seekrflow-sim $(DESTDIR)$(BINDIR)/
	mkdir -p $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	cp $(BUILD)/completions/seekrflow.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/seekrflow
	cp $(BUILD)/completions/_seekrflow $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_seekrflow
	cp $(BUILD)/completions/seekrflow.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/seekrflow.fish
	# The Neovim plugin's plugin/ and doc/ where Neovim looks by default ($$XDG_DATA_DIRS/nvim/site):
	# with LUA=luajit its modules and core are on LuaJIT's default paths too.
	mkdir -p $(DESTDIR)$(PREFIX)/share/nvim/site/plugin $(DESTDIR)$(PREFIX)/share/nvim/site/doc
	cp plugin/seekrflow.lua $(DESTDIR)$(PREFIX)/share/nvim/site/plugin/seekrflow.lua
	cp doc/seekrflow.txt $(DESTDIR)$(PREFIX)/share/nvim/site/doc/seekrflow.txt
	if command -v nvim >/dev/null 2>&1; then nvim --headless -u NONE -i NONE \
	  -c "helptags $(DESTDIR)$(PREFIX)/share/nvim/site/doc" -c q >/dev/null 2>&1 || true; fi

# Installs the rock into a scratch tree and uses it from another directory.
rock-check:
	LUA=$(LUA) sh tools/rock-check

clean:
	rm -rf build
