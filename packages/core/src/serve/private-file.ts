import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** O_NOFOLLOW where the platform has it (not on Windows). */
export const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * Creates a file only this user can read, and only if nothing (no file, no symlink) is at
 * `path` yet: a planted symlink cannot redirect what we write. Returns its descriptor.
 */
export function createPrivateFile(path: string): number {
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND | NO_FOLLOW,
    0o600,
  );
  try {
    // Through the descriptor, never by path: the umask cannot loosen it and no one can retarget it.
    fchmodSync(fd, 0o600);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/** Writes a new 0600 file at `path` (see createPrivateFile): an existing file or symlink is an error. */
export function writePrivateFile(path: string, text: string): void {
  const fd = createPrivateFile(path);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * Puts a 0600 file with `text` at `path`, replacing what is there, in a folder others may write
 * to (a Kubernetes emptyDir has no sticky bit): the text goes into a new file with a random name,
 * which is then renamed over `path`. Rename replaces a symlink at `path` rather than following
 * it, and nothing is ever changed by path, so no one can retarget the write or the mode. Readers
 * see the old file or the whole new one, never half of it.
 */
export function replaceWithPrivateFile(path: string, text: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  writePrivateFile(temporary, text);
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
