import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, rmSync } from 'node:fs';
import { NO_FOLLOW } from './private-file.ts';

const MAX_LOG_SHOWN = 256 * 1024;

/**
 * Reads the service's log and removes it. A symlink or anything but a regular file is removed
 * unread (the symlink itself, never its target). Returns the text (its last 256 KiB), or
 * undefined when there was nothing to read.
 */
export function takeServiceLog(path: string): string | undefined {
  let text: string | undefined;
  try {
    if (!lstatSync(path).isFile()) return undefined;
    const fd = openSync(path, constants.O_RDONLY | NO_FOLLOW);
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, MAX_LOG_SHOWN);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      text = (size > length ? '(earlier lines left out)\n' : '') + buffer.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  } finally {
    rmSync(path, { force: true });
  }
  return text;
}
