/**
 * Which memory allocator a process runs on, from its /proc/<pid>/maps (Linux): jemalloc when it
 * was preloaded (npm start's bin/serve.sh), glibc's malloc when the C library is glibc, else
 * something else (musl, another system). glibc's heap fragments under the server's sustained
 * writes (README, "Reliability"), so the server warns about it and the soak reports it.
 */
export type Allocator = 'jemalloc' | 'glibc' | 'other';

export function allocatorInMaps(maps: string): Allocator {
  if (maps.includes('libjemalloc')) return 'jemalloc';
  return maps.includes('libc.so.6') ? 'glibc' : 'other';
}
