# feast-otel - an LD_PRELOAD library that times HTTP requests in unmodified
# servers and exports OpenTelemetry traces and metrics.
#
#   make            build/libfeast_otel.so
#   make test       install what is missing, build, run every test
#   make demo       run the feature server under the library and show what arrived
#   make install    PREFIX=/usr/local
#   make V=1        show the commands

PREFIX ?= /usr/local
BUILD  := build
CC     := gcc
CLANG  := clang

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
        -Wmissing-prototypes -Wno-unused-parameter
OPT  ?= -O3 -g
PKGS := libprotobuf-c libnghttp2 zlib

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Dependencies come from pkg-config once they are installed; before that the
# install step below runs first and these are re-evaluated in the sub-make.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# -fno-plt: the hooks call libc on every exchange (memcpy, and clock_gettime
# where the TSC is not read); through the GOT each call skips the PLT's jump.
CFLAGS_COMMON = -std=gnu11 -D_GNU_SOURCE $(OPT) -fPIC -fno-plt -fvisibility=hidden -pthread \
                $(WARN) -I$(BUILD)/gen -I. $(PKG_CFLAGS) -MMD -MP
# Our own copies of protobuf-c and zlib are linked in statically and hidden,
# so they neither leak into the host nor get replaced by the host's. nghttp2
# (headers only here) is loaded privately at run time: see exporter/h2dl.h.
STATIC_LIBS = -Wl,-Bstatic -lprotobuf-c -lz -Wl,-Bdynamic
LDLIBS_SO = $(STATIC_LIBS) -ldl -lpthread -lm

PROTO_SRC := .deps/otlp-proto
PROTOS := common/v1/common resource/v1/resource trace/v1/trace \
          metrics/v1/metrics collector/trace/v1/trace_service \
          collector/metrics/v1/metrics_service
GEN_C   := $(patsubst %,$(BUILD)/gen/opentelemetry/proto/%.pb-c.c,$(PROTOS))
GEN_H   := $(GEN_C:.c=.h)

# Hooks define libc names (read, write, ...): they go into the .so only, never
# into the archive that unit tests link, or tests would interpose themselves.
HOOK_SRC := $(wildcard preload/hooks_*.c) preload/preload.c
CORE_SRC := $(filter-out $(HOOK_SRC),$(wildcard preload/*.c)) $(wildcard exporter/*.c)

OBJ_DIR       := $(BUILD)/obj
ASAN_OBJ_DIR  := $(BUILD)/asan/obj
CORE_OBJ      := $(CORE_SRC:%.c=$(OBJ_DIR)/%.o) $(GEN_C:$(BUILD)/gen/%.c=$(OBJ_DIR)/gen/%.o)
HOOK_OBJ      := $(HOOK_SRC:%.c=$(OBJ_DIR)/%.o)
ASAN_CORE_OBJ := $(CORE_SRC:%.c=$(ASAN_OBJ_DIR)/%.o) $(GEN_C:$(BUILD)/gen/%.c=$(ASAN_OBJ_DIR)/gen/%.o)
ASAN_HOOK_OBJ := $(HOOK_SRC:%.c=$(ASAN_OBJ_DIR)/%.o)

LIB      := $(BUILD)/libfeast_otel.so
ASAN_LIB := $(BUILD)/asan/libfeast_otel.so
CORE_A   := $(BUILD)/libfeast_otel_core.a
EXPORTS  := $(BUILD)/exports.map
DEPS_OK  := $(BUILD)/.deps-ok

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
HELPER_SRC := $(wildcard tests/hosts/*.c)
HELPER_BIN := $(HELPER_SRC:tests/hosts/%.c=$(BUILD)/hosts/%)
BENCH_BIN := $(BUILD)/bench/exporter_load $(BUILD)/bench/discard_http
PY_GEN_OK := $(BUILD)/py/.ok

.PHONY: check-exports check-hot-path all test unit integration asan fuzz fuzz-smoke demo install clean deps bench bench-build bench-smoke
all: $(LIB)

deps: $(DEPS_OK)
$(DEPS_OK): scripts/install-deps
	$(Q)scripts/install-deps
	$(Q)mkdir -p $(BUILD) && touch $@

# --- generated protobuf code (C for the library, Python for the test receiver)
# protoc-c 1.4.1 rejects proto3 "optional"; a build-time copy without the
# keyword generates the same wire format.
$(BUILD)/proto-c/.ok: | $(DEPS_OK)
	$(Q)rm -rf $(BUILD)/proto-c && mkdir -p $(BUILD)/proto-c
	$(Q)cp -r $(PROTO_SRC)/opentelemetry $(BUILD)/proto-c/
	$(Q)find $(BUILD)/proto-c -name '*.proto' -exec sed -i -E 's/^([[:space:]]*)optional[[:space:]]+/\1/' {} +
	$(Q)touch $@

$(GEN_C) $(GEN_H) &: $(BUILD)/proto-c/.ok
	@echo "  PROTOC-C  opentelemetry/proto"
	$(Q)mkdir -p $(BUILD)/gen
	$(Q)cd $(BUILD)/proto-c && protoc-c --c_out=../gen $(PROTOS:%=opentelemetry/proto/%.proto)

$(PY_GEN_OK): | $(DEPS_OK)
	@echo "  PROTOC    python (test receiver)"
	$(Q)rm -rf $(BUILD)/py && mkdir -p $(BUILD)/py
	$(Q)protoc -I$(PROTO_SRC) --python_out=$(BUILD)/py \
	    --grpc_out=$(BUILD)/py --plugin=protoc-gen-grpc=$$(command -v grpc_python_plugin) \
	    $$(cd $(PROTO_SRC) && find opentelemetry -name '*.proto')
	$(Q)touch $@

# --- the library
# Link-time optimisation lets the hooks, the connection table and the
# sniffer be inlined into one another across files: on the host's thread the
# call layers cost as much as what they call. The objects stay fat (they
# also hold ordinary code): the unit tests and the benchmarks link that code
# (-fno-lto), and nm in tests/check-hot-path reads its symbols as before.
LTO ?= -flto=auto -ffat-lto-objects
$(OBJ_DIR)/%.o: %.c | $(DEPS_OK) $(GEN_H)
	@echo "  CC        $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(LTO) -c $< -o $@

$(OBJ_DIR)/gen/%.o: $(BUILD)/gen/%.c | $(GEN_H)
	@echo "  CC        $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(LTO) -Wno-missing-prototypes -c $< -o $@

$(EXPORTS): preload/real.h scripts/gen-exports | $(DEPS_OK)
	$(Q)mkdir -p $(BUILD)
	$(Q)scripts/gen-exports preload/real.h > $@

$(CORE_A): $(CORE_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB): $(HOOK_OBJ) $(CORE_A) $(EXPORTS)
	@echo "  LD        $@"
	$(Q)$(CC) -shared -pthread $(OPT) $(LTO) -Wl,--version-script=$(EXPORTS) \
	    -Wl,--exclude-libs,ALL -Wl,-z,now -Wl,-z,relro -o $@ $(HOOK_OBJ) $(CORE_A) \
	    $(LDLIBS_SO)

# --- the same library with AddressSanitizer and UndefinedBehaviorSanitizer
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
$(ASAN_OBJ_DIR)/%.o: %.c | $(DEPS_OK) $(GEN_H)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_COMMON) -O1 $(ASAN_FLAGS) -c $< -o $@
$(ASAN_OBJ_DIR)/gen/%.o: $(BUILD)/gen/%.c | $(GEN_H)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_COMMON) -O1 -Wno-missing-prototypes $(ASAN_FLAGS) -c $< -o $@
$(ASAN_LIB): $(ASAN_HOOK_OBJ) $(ASAN_CORE_OBJ) $(EXPORTS)
	@echo "  LD        $@"
	$(Q)$(CC) -shared -pthread $(ASAN_FLAGS) -Wl,--version-script=$(EXPORTS) \
	    -Wl,--exclude-libs,ALL -o $@ $(ASAN_HOOK_OBJ) $(ASAN_CORE_OBJ) $(LDLIBS_SO)
asan: $(ASAN_LIB)

# --- tests
$(BUILD)/tests/%: tests/unit/%.c $(CORE_A)
	@echo "  CC        $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_COMMON) -fno-lto -Wno-missing-prototypes -o $@ $< $(CORE_A) \
	    $$(pkg-config --libs criterion) $(LDLIBS_SO)

$(BUILD)/bench/discard_http: tests/bench/discard_http.c | $(DEPS_OK)
	@echo "  CC        $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -pthread -o $@ $<

$(BUILD)/bench/%: tests/bench/%.c $(CORE_A)
	@echo "  CC        $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_COMMON) -fno-lto -o $@ $< $(CORE_A) $(LDLIBS_SO)

$(BUILD)/hosts/%: tests/hosts/%.c | $(DEPS_OK)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -o $@ $<

FUZZ_FLAGS := -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -I. -I$(BUILD)/gen
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(CORE_SRC) | $(GEN_H)
	@echo "  FUZZ      $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -o $@ $< $(filter preload/http1.c preload/feast.c preload/feast_body.c preload/utf8.c exporter/retry.c,$(CORE_SRC))

unit: $(UNIT_BIN) $(PY_GEN_OK)
	$(Q)scripts/run-unit $(UNIT_BIN)

integration: $(LIB) $(ASAN_LIB) $(PY_GEN_OK) $(HELPER_BIN)
	$(Q)scripts/run-integration

fuzz-smoke: $(FUZZ_BIN)
	$(Q)scripts/run-fuzz 20 $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	$(Q)scripts/run-fuzz 600 $(FUZZ_BIN)

test: $(DEPS_OK)
	$(Q)$(MAKE) --no-print-directory all check-exports check-hot-path unit fuzz-smoke integration \
	    bench-smoke

demo: $(LIB) $(PY_GEN_OK)
	$(Q)/usr/bin/python3 scripts/demo

# What the benchmark runs; scripts/bench makes it too, so that a direct run
# never measures binaries older than their sources.
bench-build: $(LIB) $(PY_GEN_OK) $(HELPER_BIN) $(BENCH_BIN)

bench: bench-build
	$(Q)/usr/bin/python3 scripts/bench

# One short run of each part but the Node.js one: the benchmark still runs
# (its figures mean nothing at this length).
bench-smoke: bench-build
	$(Q)/usr/bin/python3 scripts/bench --smoke

install: $(LIB)
	install -d $(DESTDIR)$(PREFIX)/lib/feast-otel $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/feast-otel/libfeast_otel.so
	install -m 0755 scripts/feast-otel $(DESTDIR)$(PREFIX)/bin/feast-otel

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

check-exports: $(LIB)
	$(Q)tests/check-exports $(LIB)

check-hot-path: $(LIB)
	$(Q)tests/check-hot-path
