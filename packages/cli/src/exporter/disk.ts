import { statfs } from 'node:fs/promises';

/**
 * Free and total space of the filesystem holding a directory (QuestDB's root or db directory), as `df` reports it.
 * QuestDB's /metrics and SQL expose the bytes its tables use but not the space left, which is what fills up and
 * suspends tables: the exporter samples it where it can see the directory (a managed QuestDB's data root, or the
 * QuestDB volume mounted read-only into the exporter's container).
 */
export const DISK_METRICS = {
  /** Bytes an unprivileged process can still write (statfs bavail × bsize: df's "Avail"). */
  free: 'questdb_disk_free_bytes',
  /** Size of the filesystem (statfs blocks × bsize: df's "Size"). */
  total: 'questdb_disk_total_bytes',
} as const;

export interface DiskSample {
  readonly freeBytes: number;
  readonly totalBytes: number;
}

/** One statfs of the filesystem holding `path`; rejects when the path is not there (a mount missing, say). */
export async function sampleDisk(path: string): Promise<DiskSample> {
  const s = await statfs(path);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}
