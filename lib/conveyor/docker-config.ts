// Apply werf's `docker:` directives to an image config with Docker's rules (werf-spec §3.6).
import type { DockerSpec } from '../config/index.js';
import { TsbuildError } from '../errors.js';
import type { ContainerConfig } from '../oci/index.js';

/** Shell form becomes ["/bin/sh","-c",…]; a bracketed string is a JSON exec form. */
function commandForm(value: string[] | string, what: string): string[] {
  if (Array.isArray(value)) return value;
  const t = value.trim();
  if (t.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(t);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[];
    } catch {
      /* not JSON: shell form */
    }
    throw new TsbuildError('TSB_CONFIG_SCHEMA', `docker.${what}: "${value}" looks like an exec form but is not a JSON list of strings`);
  }
  return ['/bin/sh', '-c', value];
}

function portKey(p: string): string {
  return p.includes('/') ? p : `${p}/tcp`;
}

export function applyDocker(base: ContainerConfig | undefined, d: DockerSpec): ContainerConfig {
  const cfg: ContainerConfig = { ...(base ?? {}) };
  if (d.VOLUME.length) {
    cfg.Volumes = { ...(cfg.Volumes ?? {}) };
    for (const v of d.VOLUME) cfg.Volumes[v] = {};
  }
  if (d.EXPOSE.length) {
    cfg.ExposedPorts = { ...(cfg.ExposedPorts ?? {}) };
    for (const p of d.EXPOSE) cfg.ExposedPorts[portKey(p)] = {};
  }
  const envKeys = Object.keys(d.ENV);
  if (envKeys.length) {
    const env = [...(cfg.Env ?? [])];
    for (const k of envKeys) {
      const i = env.findIndex((e) => e.startsWith(`${k}=`));
      const entry = `${k}=${d.ENV[k]}`;
      if (i >= 0) env[i] = entry;
      else env.push(entry);
    }
    cfg.Env = env;
  }
  if (Object.keys(d.LABEL).length) cfg.Labels = { ...(cfg.Labels ?? {}), ...d.LABEL };
  if (d.ENTRYPOINT !== undefined) {
    cfg.Entrypoint = commandForm(d.ENTRYPOINT, 'ENTRYPOINT');
    // Docker: setting ENTRYPOINT resets an inherited CMD.
    if (d.CMD === undefined) cfg.Cmd = null;
  }
  if (d.CMD !== undefined) cfg.Cmd = commandForm(d.CMD, 'CMD');
  if (d.WORKDIR !== undefined) cfg.WorkingDir = d.WORKDIR;
  if (d.USER !== undefined) cfg.User = d.USER;
  if (d.HEALTHCHECK !== undefined) cfg.Healthcheck = parseHealthcheck(d.HEALTHCHECK);
  return cfg;
}

const DURATION_RE = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/;
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** `[--interval=5s …] CMD cmd…` or `NONE`, as in a Dockerfile. */
export function parseHealthcheck(text: string): NonNullable<ContainerConfig['Healthcheck']> {
  let rest = text.trim();
  const hc: NonNullable<ContainerConfig['Healthcheck']> = {};
  for (;;) {
    const m = /^--(interval|timeout|start-period|retries)=(\S+)\s+/.exec(rest);
    if (!m) break;
    rest = rest.slice(m[0].length);
    const [, flag, value] = m as unknown as [string, string, string];
    if (flag === 'retries') {
      hc.Retries = Number(value);
      continue;
    }
    const dm = DURATION_RE.exec(value);
    if (!dm) throw new TsbuildError('TSB_CONFIG_SCHEMA', `docker.HEALTHCHECK: bad duration "${value}" for --${flag}`);
    const ns = Number(dm[1]) * UNIT_NS[dm[2]!]!;
    if (flag === 'interval') hc.Interval = ns;
    else if (flag === 'timeout') hc.Timeout = ns;
    else hc.StartPeriod = ns;
  }
  if (/^NONE$/i.test(rest)) return { Test: ['NONE'] };
  const cm = /^CMD\s+(.*)$/is.exec(rest);
  if (!cm) throw new TsbuildError('TSB_CONFIG_SCHEMA', `docker.HEALTHCHECK: expected "CMD …" or "NONE" (got "${text}")`);
  const cmd = cm[1]!.trim();
  hc.Test = cmd.startsWith('[') ? ['CMD', ...commandForm(cmd, 'HEALTHCHECK')] : ['CMD-SHELL', cmd];
  return hc;
}
