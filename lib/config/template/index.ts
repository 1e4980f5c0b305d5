// Public surface of the Go text/template engine (with sprig and werf functions) used to render werf.yaml.
export { TemplateSet, type TemplateSetOptions } from './template-set.js';
export { TemplateError } from './template-error.js';
export { FuncError, MissingEnvError } from './template-error.js';
export { fixed, variadic, withContext, type CallContext, type ParamType, type TemplateFunc } from './func-types.js';
export { GoFloat, GoTime } from './value.js';
export type { TemplateFiles, WerfTemplateData } from './werf-data.js';
export { LineMap, type LineOrigin } from './line-map.js';
