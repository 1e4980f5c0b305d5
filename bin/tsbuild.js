#!/usr/bin/env node
// `node bin/tsbuild.js`: the same start as the installed command (bin/tsbuild runs bin/start.cjs
// directly, without loading this ES module first).
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./start.cjs');
