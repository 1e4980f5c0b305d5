// Refused: three WorkingDir cases with runc and crun, tsbuild run as an unprivileged user with a subordinate range (escape-workdir.ts).
import { USER } from './escape-support.js';
import { workdirSuite } from './escape-workdir.js';

workdirSuite({ label: 'rootless', user: USER }, ['runc', 'crun'], 'some');
