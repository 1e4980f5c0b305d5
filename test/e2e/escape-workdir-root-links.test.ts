// Refused: symlinked and /proc/1/root-style WorkingDirs with bwrap, tsbuild run as root (escape-workdir.ts).
import { workdirSuite } from './escape-workdir.js';

workdirSuite({ label: 'root' }, ['bwrap'], 'links');
