/**
 * Helpers to take an encoded ILP batch apart again. Only used on slow paths (a batch QuestDB rejected), so they
 * favour clarity over speed.
 */

const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;

/**
 * Splits a batch into its logical lines, each keeping its terminating newline. A newline preceded by an odd number
 * of backslashes is an escaped newline inside a value, not a line end: the encoder escapes every backslash, so the
 * parity decides. QuestDB numbers lines the same way (verified: an escaped newline does not advance its count).
 */
export function splitLines(payload: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  let backslashes = 0;
  for (let i = 0; i < payload.length; i++) {
    const b = payload[i]!;
    if (b === BACKSLASH) {
      backslashes++;
      continue;
    }
    if (b === NEWLINE && backslashes % 2 === 0) {
      lines.push(payload.subarray(start, i + 1));
      start = i + 1;
    }
    backslashes = 0;
  }
  if (start < payload.length) lines.push(payload.subarray(start));
  return lines;
}

/** The table a line writes to: everything before the first unescaped comma or space. */
export function tableOfLine(line: Buffer): string {
  for (let i = 0; i < line.length; i++) {
    const b = line[i]!;
    if (b === BACKSLASH) {
      i++;
      continue;
    }
    if (b === 0x2c || b === 0x20) return line.subarray(0, i).toString('utf8');
  }
  return line.toString('utf8').trimEnd();
}
