// Refused: /proc/self/fd/N (N = 3..20) with bwrap, tsbuild run as root (escape-workdir.ts).
import { workdirSuite } from './escape-workdir.js';

workdirSuite({ label: 'root' }, ['bwrap'], 'fd');
