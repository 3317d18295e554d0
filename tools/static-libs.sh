#!/bin/bash
# usage: tools/static-libs.sh DIR
#
# Makes DIR the first library directory of `make release` links (Makefile, RELEASE_FLAGS): DIR/ld runs the toolchain's
# lld with `-L DIR` before every other directory, and in DIR each library that is not glibc is a linker script naming
# its static archive. The release binaries then load only glibc (libc, libm, ld.so): no libstdc++, libgcc_s, libnl,
# libz or libjemalloc to map, relocate and keep resident (about 3 MB of a speaker's RSS; Docs/benchmarks.md, "Speaker
# idle").
#
# jemalloc is named by its objects, not its archive: the static Swift runtime's `--exclude-libs ALL` hides archive
# symbols from the dynamic symbol table, and malloc and free must be exported there so that glibc's own allocations
# (strdup, getaddrinfo, ...) use them too (the speaker's SPEAKER_FLAGS export them). Its C++ operators are left out:
# libstdc++'s call malloc.
set -euo pipefail
dir=$1
cc=$(command -v clang || command -v cc)
lld=$(dirname "$(readlink -f "$(command -v swiftc)")")/ld.lld
[ -x "$lld" ] || { echo "static-libs: no ld.lld beside swiftc ($lld)" >&2; exit 1; }

rm -rf "$dir" && mkdir -p "$dir/jemalloc"
lib_path() {  # FILE: its path in the compiler's library directories
    local path; path=$($cc -print-file-name="$1")
    [ -f "$path" ] || { echo "static-libs: $1 not found (Makefile BUILD_PACKAGES installs the -dev packages)" >&2; exit 1; }
    echo "$path"
}
archive() { echo "INPUT($(lib_path "$2"))" > "$dir/lib$1.so"; }  # NAME ARCHIVE: -lNAME links ARCHIVE
archive stdc++ libstdc++.a
archive gcc_s libgcc_eh.a
archive nl-3 libnl-3.a
archive nl-route-3 libnl-route-3.a
archive z libz.a

jemalloc=$(lib_path libjemalloc_pic.a)
(cd "$dir/jemalloc" && ar x "$jemalloc" && rm -f jemalloc_cpp*.o)
echo "INPUT($(ls "$dir"/jemalloc/*.o | tr '\n' ' '))" > "$dir/libjemalloc.so"

printf '#!/bin/sh\nexec %s -L %s "$@"\n' "$lld" "$dir" > "$dir/ld"
chmod +x "$dir/ld"
