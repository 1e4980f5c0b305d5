// Refused: symlinked and /proc/1/root-style WorkingDirs with bwrap, tsbuild run as an unprivileged user with a subordinate range (escape-workdir.ts).
import { USER } from './escape-support.js';
import { workdirSuite } from './escape-workdir.js';

workdirSuite({ label: 'rootless', user: USER }, ['bwrap'], 'links');
