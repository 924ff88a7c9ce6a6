/**
 * glibc malloc's memory in a process, read from /proc/PID/smaps: the one place the benchmarks parse smaps.
 *
 * - The main arena is the [heap] mapping (grown with brk).
 * - Each thread arena is one or more "heaps" that glibc maps as a 64 MiB reservation aligned to 64 MiB
 *   (HEAP_MAX_SIZE on 64-bit: twice the largest mmap threshold), made read-write from its start as it
 *   grows and PROT_NONE for the rest, so smaps shows an anonymous rw-p mapping that starts on a 64 MiB
 *   boundary, followed right after by an anonymous ---p mapping, the two adding up to exactly 64 MiB (or
 *   a single rw-p mapping of 64 MiB once a heap is full). V8's own anonymous mappings (its pointer cage,
 *   code range, pages of 256 KiB) do not have that shape, nor do thread stacks (their guard page comes first).
 * Not counted: chunks malloc serves with their own mmap (above the mmap threshold, 128 KiB to 32 MiB),
 * which look like any other anonymous mapping.
 */
import { readFileSync } from 'node:fs';

/** glibc's HEAP_MAX_SIZE on 64-bit: the size and alignment of every thread-arena heap. */
const THREAD_HEAP_BYTES = 64 * 2 ** 20;

/** One mapping of /proc/PID/smaps: its address range, permissions (rw-p, ---p, ...), path ('' when anonymous) and resident size. */
interface Mapping { start: number; end: number; perms: string; path: string; rssKiB: number }

/** The mappings of `pid` in address order (addresses fit in a double: user space is 47 bits). */
function readMappings(pid: number): Mapping[] {
  const mappings: Mapping[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      mappings.push({ start: parseInt(header[1]!, 16), end: parseInt(header[2]!, 16), perms: header[3]!, path: header[4]!, rssKiB: 0 });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && mappings.length > 0) mappings.at(-1)!.rssKiB = Number(rss[1]);
  }
  return mappings;
}

export interface MallocMemory {
  /** Resident size of the main arena ([heap]), MiB. */
  mainArenaMiB: number;
  /** Resident size of every thread-arena heap together, MiB. */
  threadArenasMiB: number;
  /** How many thread-arena heaps (64 MiB reservations) there are: one per arena unless one outgrew 64 MiB. */
  threadArenaHeaps: number;
}

/** Whether `mapping` (followed by `next`) is a thread-arena heap as glibc lays it out (see the file's comment). */
function isThreadArenaHeap(mapping: Mapping, next: Mapping | undefined): boolean {
  if (mapping.path !== '' || mapping.perms !== 'rw-p' || mapping.start % THREAD_HEAP_BYTES !== 0) return false;
  if (mapping.end - mapping.start === THREAD_HEAP_BYTES) return true;
  return next !== undefined && next.path === '' && next.perms === '---p' && next.start === mapping.end && next.end - mapping.start === THREAD_HEAP_BYTES;
}

/** Malloc's resident memory in `pid` now: its main arena and its thread arenas. */
export function mallocMemory(pid: number): MallocMemory {
  const mappings = readMappings(pid);
  const mainArenaKiB = mappings.filter((m) => m.path === '[heap]').reduce((sum, m) => sum + m.rssKiB, 0);
  const heaps = mappings.filter((m, i) => isThreadArenaHeap(m, mappings[i + 1]));
  return { mainArenaMiB: mainArenaKiB / 1024, threadArenasMiB: heaps.reduce((sum, m) => sum + m.rssKiB, 0) / 1024, threadArenaHeaps: heaps.length };
}
