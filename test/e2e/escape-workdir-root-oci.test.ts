// Refused: three WorkingDir cases with runc and crun, tsbuild run as root (escape-workdir.ts).
import { workdirSuite } from './escape-workdir.js';

workdirSuite({ label: 'root' }, ['runc', 'crun'], 'some');
