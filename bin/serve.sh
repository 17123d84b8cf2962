#!/bin/sh
# `npm start`: `pvl serve` on ./data (or the flags given), with jemalloc as the memory allocator
# when the machine has it (Debian and Ubuntu: apt-get install libjemalloc2). Under sustained
# writes glibc's malloc fragments: the server's resident memory grew ~25 MiB a minute and a
# fifty-record submission took ten times longer at the median (README, "Reliability"). An
# LD_PRELOAD already set is left alone. `exec` hands the process to node, signals included.
if [ -z "${LD_PRELOAD:-}" ]; then
  for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 \
    /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2; do
    if [ -r "$lib" ]; then
      LD_PRELOAD="$lib"
      export LD_PRELOAD
      break
    fi
  done
fi
exec node --max-semi-space-size=64 "$(dirname "$0")/../dist/src/cli/main.js" serve "$@"
