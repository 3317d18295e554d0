# Beacon: `make test` runs every test, `make demo` runs the lab demo (issue 9).
SHELL := /bin/bash
SWIFT ?= swift
# Debian packages the build and the tests need; installed when missing.
APT_PACKAGES := libnl-3-dev libnl-route-3-dev iproute2 iputils-arping iputils-ping ndisc6 tcpdump bird2 frr gobgpd nftables keepalived curl
FUZZ_SECONDS ?= 600

.PHONY: build test deps release bench demo fuzz-config fuzz-frames fuzz-bgp clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

# Serial: the namespace suites wait on processes synchronously and would starve the async API tests of the
# test runner's two cooperative threads (seen in CI as 60 s request timeouts).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

release: deps
	for p in speaker controller kube-emulator beacon-lab beacon-bench; do $(SWIFT) build -c release --product $$p || exit 1; done

# The lab demo (root): builds a site in network namespaces, shows Beacon at work, removes everything.
demo: release
	.build/release/beacon-lab demo

# Benchmarks print JSON lines; figures go to Docs/benchmarks.md.
bench: release
	.build/release/beacon-bench config
	.build/release/beacon-bench alloc
	.build/release/beacon-bench kube
	.build/release/beacon-bench controller
	@if [ "$$(id -u)" = 0 ]; then .build/release/beacon-bench l2 && .build/release/beacon-bench bgp && .build/release/beacon-bench failover; \
	 else echo "skipping l2 and bgp benchmarks (need root for network namespaces)"; fi

# libFuzzer on the YAML -> Configuration path. Corpus: Tests/LoadBalancerConfigTests/Fixtures/fuzz-corpus.
fuzz-config: deps
	$(SWIFT) build -c release --scratch-path .build-fuzz --product fuzz-config \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
	  -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
	mkdir -p .build-fuzz/corpus
	.build-fuzz/release/fuzz-config .build-fuzz/corpus Tests/LoadBalancerConfigTests/Fixtures/fuzz-corpus \
	  -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=4096

# libFuzzer on the Ethernet/ARP/NDP decoders. Corpus: Tests/LinkLayerTests/Fixtures/fuzz-corpus.
fuzz-frames: deps
	$(SWIFT) build -c release --scratch-path .build-fuzz --product fuzz-frames \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
	  -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
	mkdir -p .build-fuzz/corpus-frames
	.build-fuzz/release/fuzz-frames .build-fuzz/corpus-frames Tests/LinkLayerTests/Fixtures/fuzz-corpus \
	  -max_total_time=$(FUZZ_SECONDS) -max_len=1600 -rss_limit_mb=2048

# libFuzzer on the BGP message and UPDATE decoders. Corpus: Tests/BGPProtocolTests/Fixtures/fuzz-corpus.
fuzz-bgp: deps
	$(SWIFT) build -c release --scratch-path .build-fuzz --product fuzz-bgp \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
	  -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
	mkdir -p .build-fuzz/corpus-bgp
	.build-fuzz/release/fuzz-bgp .build-fuzz/corpus-bgp Tests/BGPProtocolTests/Fixtures/fuzz-corpus \
	  -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -rss_limit_mb=2048

clean:
	rm -rf .build .build-fuzz
