// The local store of a tsbuild home, ready to use (its temp dir made, the layout initialised).
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { HomePaths } from '../home.js';
import { LayoutStore } from './layout-store.js';

export async function openStore(home: HomePaths): Promise<LayoutStore> {
  if (!isDirectory(home.tmp)) await mkdir(home.tmp, { recursive: true });
  const store = new LayoutStore(home.store);
  await store.init();
  return store;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
