import { readFile } from 'node:fs/promises';
import { LoginError } from '../safe-output/errors.ts';
import type { SourceTraits } from './environment.ts';
import type { IdTokenSource } from './id-token-source.ts';

/** A token in a file, re-read on every call: Kubernetes projected tokens rotate in place. */
export function fileIdTokenSource(path: string, traits: SourceTraits = {}): IdTokenSource {
  const { missingHint, ...rest } = traits;
  return {
    description: `the file ${path}`,
    audienceSetWhereMinted: 'whatever writes the file',
    ...rest,
    async getIdToken() {
      let value: string;
      try {
        value = (await readFile(path, 'utf8')).trim();
      } catch (error) {
        throw new LoginError(
          'ID_TOKEN_UNAVAILABLE',
          `Failed to get an ID token: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
          {
            hint: missingHint ?? `Check that ${path} exists and is readable by the job.`,
          },
        );
      }
      if (!value) {
        throw new LoginError('ID_TOKEN_UNAVAILABLE', `Failed to get an ID token: ${path} is empty`, {
          hint: missingHint ?? `Check what writes ${path}.`,
        });
      }
      return value;
    },
  };
}
