// werf's own template functions (pkg/config/parser.go): include, tpl, env, required, fromYaml,
// toYaml and the --debug-templates helpers, which print nothing when debugging is off.
import { parseAllDocuments, stringify, type Tags } from 'yaml';
import { formatValue } from './fmt.js';
import { fixed, variadic, withContext, type TemplateFunc } from './func-types.js';
import { formatTime } from './go-time.js';
import { FuncError, MissingEnvError } from './template-error.js';
import { GoFloat, GoTime, isGoMap } from './value.js';

export interface WerfFunctionOptions {
  env: Record<string, string | undefined>;
  /** --loose-giterminism: an unset variable without default is "" instead of an error */
  looseEnv: boolean;
}

const FLOAT_TAG = 'tag:yaml.org,2002:float';
const TIMESTAMP_TAG = 'tag:yaml.org,2002:timestamp';

/**
 * YAML 1.1 as gopkg.in/yaml.v2 decodes it into interface{}: floats stay float64 even when
 * integral, timestamps and sexagesimal numbers stay strings.
 */
function goYamlTags(tags: Tags): Tags {
  type Tag = { tag?: string; format?: string; resolve?: (...a: unknown[]) => unknown };
  return (tags as unknown as Tag[])
    .filter((t) => typeof t !== 'object' || (t.tag !== TIMESTAMP_TAG && t.format !== 'TIME'))
    .map((t) => {
      const resolve = typeof t === 'object' ? t.resolve : undefined;
      if (typeof t !== 'object' || t.tag !== FLOAT_TAG || !resolve) return t;
      return {
        ...t,
        resolve: (...args: unknown[]) => {
          // the float tags answer a number or a Scalar carrying minFractionDigits
          const v = resolve(...args);
          if (typeof v === 'number') return Number.isInteger(v) ? new GoFloat(v) : v;
          const node = v as { value?: unknown } | null;
          if (node && typeof node.value === 'number' && Number.isInteger(node.value)) node.value = new GoFloat(node.value);
          return v;
        },
      };
    }) as unknown as Tags;
}

/** werf's fromYaml: yaml.v2 Unmarshal of the first document into map[string]interface{}. */
export function fromYaml(text: string): Record<string, unknown> {
  const docs = parseAllDocuments(text, {
    version: '1.1',
    customTags: goYamlTags,
    uniqueKeys: false,
    prettyErrors: false,
  });
  const doc = Array.isArray(docs) ? docs[0] : undefined;
  if (!doc) return {};
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    throw new FuncError(`yaml: ${line !== undefined ? `line ${line}: ` : ''}${err.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (value === null || value === undefined) return {};
  if (!isGoMap(value)) {
    const kind = Array.isArray(value) ? '!!seq' : typeof value === 'string' ? '!!str' : '!!' + typeof value;
    throw new FuncError(`yaml: unmarshal errors:\n  line 1: cannot unmarshal ${kind} into map[string]interface {}`);
  }
  return value;
}

function toPlain(v: unknown): unknown {
  if (v instanceof GoFloat) return v.value;
  if (v instanceof GoTime) return formatTime(v, '2006-01-02T15:04:05.999999999Z07:00');
  if (v === undefined) return null;
  if (Array.isArray(v)) return v.map(toPlain);
  if (isGoMap(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[k] = toPlain(v[k]);
    return out;
  }
  if (typeof v === 'object' && v !== null) return formatValue(v);
  return v;
}

/** toYaml: keys sorted, sequences not indented under their key (yaml.v2 style), no final newline. */
export function toYaml(v: unknown): string {
  const text = stringify(toPlain(v), {
    version: '1.1',
    sortMapEntries: true,
    indentSeq: false,
    lineWidth: 0,
    aliasDuplicateObjects: false,
  });
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

export function werfFunctions(opts: WerfFunctionOptions): Record<string, TemplateFunc> {
  const quiet = (params: TemplateFunc['params'], rest?: TemplateFunc['variadic']): TemplateFunc =>
    rest ? { params, variadic: rest, fn: () => '' } : { params, fn: () => '' };
  return {
    include: withContext(['string', 'any'], (ctx, name, data) => ctx.execute(name, data)),
    tpl: withContext(['string', 'any'], (ctx, text, data) => ctx.execute(ctx.parseTemplate(text), data)),
    env: variadic(['any'], 'string', (value, args) => {
      if (args.length > 1) throw new FuncError('more than 1 optional argument prohibited');
      const name = formatValue(value);
      const fallback = args[0];
      const v = Object.hasOwn(opts.env, name) ? opts.env[name] : undefined;
      if (v === undefined) {
        if (fallback !== undefined) return fallback;
        if (!opts.looseEnv) {
          throw new MissingEnvError(name);
        }
        return '';
      }
      if (v === '' && fallback !== undefined) return fallback;
      return v;
    }),
    required: fixed(['string', 'any'], (msg, val) => {
      if (val === null || val === '') throw new FuncError(msg);
      return val;
    }),
    fromYaml: fixed(['string'], fromYaml),
    toYaml: fixed(['any'], toYaml),
    tpl_debug: quiet(['string', 'any']),
    include_debug: quiet(['string', 'any']),
    printf_debug: quiet(['string'], 'any'),
    dump_debug: quiet([], 'any'),
  };
}
