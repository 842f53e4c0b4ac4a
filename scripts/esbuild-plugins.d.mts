import type { Plugin } from 'esbuild';
export function stubUndici(stub?: URL, windows?: boolean): Plugin;
export const unusedHttpClient: Plugin;
