import { open, readFile, rename, stat, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** QuestDB logs every query at INFO; rotate once per start so a long-lived dev server's log stays bounded. */
const ROTATE_AT_BYTES = 64 * 1024 * 1024;

/** Opens the log for appending (rotating a big one to `.1`); returns the fd and the offset this run starts at. */
export async function openLogForAppend(path: string): Promise<{ fd: number; startOffset: number; close(): Promise<void> }> {
  await mkdir(dirname(path), { recursive: true });
  const size = await stat(path).then((s) => s.size, () => 0);
  if (size > ROTATE_AT_BYTES) await rename(path, `${path}.1`);
  const handle = await open(path, 'a');
  const startOffset = (await handle.stat()).size;
  return { fd: handle.fd, startOffset, close: () => handle.close() };
}

/**
 * The last `count` lines written at or after `fromOffset`, for error messages. Java stack frames are left out:
 * they would crowd out the lines that say what went wrong.
 */
export async function tailLines(path: string, count = 20, fromOffset = 0): Promise<string[]> {
  try {
    const text = (await readFile(path)).subarray(fromOffset).toString('utf8');
    const isStackFrame = (line: string) => /^\s+(at |\.\.\. \d+ more)/.test(line);
    return text.split('\n').filter((line) => line.trim() !== '' && !isStackFrame(line)).slice(-count);
  } catch {
    return [];
  }
}
