import { describe, expect, it } from 'vitest';
import { forwardedSignals } from '../src/run-command.ts';

describe("exec's signals", () => {
  it('passes on only what cannot have reached the command already', () => {
    // A terminal signals the whole process group: Ctrl-C and hangups must not arrive twice.
    expect(forwardedSignals('linux', true)).toEqual(['SIGTERM']);
    expect(forwardedSignals('darwin', true)).toEqual(['SIGTERM']);
    expect(forwardedSignals('linux', false)).toEqual(['SIGINT', 'SIGTERM', 'SIGHUP']);
    // Windows: the console delivers Ctrl-C to all; kill() would only TerminateProcess or throw.
    expect(forwardedSignals('win32', false)).toEqual([]);
  });
});
