// imageSpec (werf v2, werf-spec §3.7): a metadata-only stage rewriting the final image config —
// author, history, user, cmd/entrypoint (entrypoint without cmd clears cmd), workdir, stop signal,
// env (values may use existing variables), labels, exposed ports, volumes, healthcheck, removals.
import type { ImageConfigSpec } from '../../config/index.js';
import { TsbuildError } from '../../errors.js';
import { writeDerivedImage } from '../../image/index.js';
import type { ContainerConfig, ImageConfig } from '../../oci/index.js';
import type { Stage } from '../stage.js';

const SECOND_NS = 1e9;

function matcher(patterns: string[]): (name: string) => boolean {
  const tests = patterns.map((p) => {
    const m = /^\/(.*)\/$/.exec(p);
    if (!m) return (n: string) => n === p;
    let re: RegExp;
    try {
      re = new RegExp(m[1]!);
    } catch (err) {
      throw new TsbuildError('TSB_CONFIG_SCHEMA', `imageSpec: invalid regular expression ${p}: ${(err as Error).message}`);
    }
    return (n: string) => re.test(n);
  });
  return (name) => tests.some((t) => t(name));
}

/** `$VAR` and `${VAR}` in env values refer to variables already in the image (Docker's ENV rule). */
function expand(value: string, env: Map<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => env.get((a ?? b)!) ?? '');
}

function applyImageSpec(image: ImageConfig, spec: ImageConfigSpec): { config: ContainerConfig; author?: string; clearHistory: boolean } {
  const c = spec.config;
  const cfg: ContainerConfig = { ...(image.config ?? {}) };
  if (c.removeEnv.length || Object.keys(c.env).length) {
    const remove = matcher(c.removeEnv);
    const env = new Map<string, string>();
    for (const e of cfg.Env ?? []) {
      const i = e.indexOf('=');
      const k = i < 0 ? e : e.slice(0, i);
      if (!remove(k)) env.set(k, i < 0 ? '' : e.slice(i + 1));
    }
    for (const [k, v] of Object.entries(c.env)) env.set(k, expand(v, env));
    cfg.Env = [...env].map(([k, v]) => `${k}=${v}`);
  }
  if (c.removeLabels.length || Object.keys(c.labels).length) {
    const remove = matcher(c.removeLabels);
    const labels = Object.fromEntries(Object.entries(cfg.Labels ?? {}).filter(([k]) => !remove(k)));
    cfg.Labels = { ...labels, ...c.labels };
  }
  if (c.removeVolumes.length || c.volumes.length) {
    const remove = matcher(c.removeVolumes);
    const volumes: Record<string, Record<string, never>> = {};
    for (const v of Object.keys(cfg.Volumes ?? {})) if (!remove(v)) volumes[v] = {};
    for (const v of c.volumes) volumes[v] = {};
    cfg.Volumes = volumes;
  }
  if (c.expose.length) {
    cfg.ExposedPorts = { ...(cfg.ExposedPorts ?? {}) };
    for (const p of c.expose) cfg.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
  }
  if (c.clearUser) delete cfg.User;
  if (c.user !== undefined) cfg.User = c.user;
  if (c.clearWorkingDir) delete cfg.WorkingDir;
  if (c.workingDir !== undefined) cfg.WorkingDir = c.workingDir;
  if (c.clearEntrypoint) cfg.Entrypoint = null;
  if (c.clearCmd) cfg.Cmd = null;
  if (c.entrypoint !== undefined) {
    cfg.Entrypoint = c.entrypoint;
    if (c.cmd === undefined) cfg.Cmd = null;
  }
  if (c.cmd !== undefined) cfg.Cmd = c.cmd;
  if (c.stopSignal !== undefined) cfg.StopSignal = c.stopSignal;
  if (c.healthcheck) {
    const h = c.healthcheck;
    cfg.Healthcheck = {
      Test: h.test,
      ...(h.interval !== undefined ? { Interval: h.interval * SECOND_NS } : {}),
      ...(h.timeout !== undefined ? { Timeout: h.timeout * SECOND_NS } : {}),
      ...(h.startPeriod !== undefined ? { StartPeriod: h.startPeriod * SECOND_NS } : {}),
      ...(h.retries !== undefined ? { Retries: h.retries } : {}),
    };
  }
  return { config: cfg, ...(spec.author !== undefined ? { author: spec.author } : {}), clearHistory: spec.clearHistory };
}

export const imageSpecStage: Stage = {
  name: 'imageSpec',
  inputs(ctx) {
    const spec = ctx.image.imageSpec;
    if (!spec || ctx.image.isArtifact) return undefined;
    return { imageSpec: spec };
  },
  async build(parent, ctx) {
    const spec = ctx.image.imageSpec;
    if (!spec) throw new TsbuildError('TSB_INTERNAL', 'imageSpec built without an imageSpec');
    const applied = applyImageSpec(parent.config, spec);
    const derived = await writeDerivedImage(ctx.store, parent, {
      config: applied.config,
      history: 'tsbuild imageSpec',
      ...(applied.author !== undefined ? { author: applied.author } : {}),
      ...(applied.clearHistory ? { clearHistory: true } : {}),
    });
    return derived;
  },
};
