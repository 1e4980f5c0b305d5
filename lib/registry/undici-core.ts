// The three pieces of undici the client uses (Agent, the redirect interceptor, the request API),
// loaded without undici's index, which also loads fetch, WebSocket, caches, mocks and proxy agents:
// measured 47 ms and 8 MB RSS at every start of the CLI, against 20 ms for these modules. Even those
// are loaded on first use: a build whose images are all in the local store never opens a connection.
// The request wrapper does what undici's top-level `request(url, opts)` does: split the URL.
//
// First use goes through loadUndici(), a dynamic import the bundle (scripts/bundle.mjs) turns into
// one chunk of its own: loading undici's ~30 CommonJS files one by one (resolution, stat and
// package.json reads, a compile each) cost ~37-40 ms of CPU per pull or push, the bundled chunk
// ~24 ms. undiciCore() still loads synchronously (require) for a caller that comes first.
import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher, buildConnector as UndiciBuildConnector, interceptors as UndiciInterceptors } from 'undici';

const require = createRequire(import.meta.url);

interface Core {
  Agent: typeof UndiciAgent;
  redirectInterceptor: typeof UndiciInterceptors.redirect;
  apiRequest: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
  buildConnector: typeof UndiciBuildConnector;
}
let core: Core | undefined;
let loading: Promise<Core> | undefined;

export function undiciCore(): Core {
  core ??= {
    Agent: require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent,
    redirectInterceptor: require('undici/lib/interceptor/redirect.js') as typeof UndiciInterceptors.redirect,
    apiRequest: require('undici/lib/api/api-request.js') as Core['apiRequest'],
    buildConnector: require('undici/lib/core/connect.js') as typeof UndiciBuildConnector,
  };
  return core;
}

/** undici's pieces, loaded once (see the top of this file); call before undiciCore() where you can wait. */
export function loadUndici(): Promise<Core> {
  if (core) return Promise.resolve(core);
  loading ??= Promise.all([
    import('undici/lib/dispatcher/agent.js'),
    import('undici/lib/interceptor/redirect.js'),
    import('undici/lib/api/api-request.js'),
    import('undici/lib/core/connect.js'),
  ]).then(([agent, redirect, api, connect]) => {
    // CommonJS modules: module.exports is the default export (types: undici-modules.d.ts).
    core ??= { Agent: agent.default, redirectInterceptor: redirect.default, apiRequest: api.default, buildConnector: connect.default };
    return core;
  });
  return loading;
}

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  dispatcher: Dispatcher;
  method?: Dispatcher.HttpMethod;
  maxRedirections?: number;
};

export async function request(url: string, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  const u = new URL(url);
  const { dispatcher, ...rest } = options;
  const { apiRequest } = await loadUndici();
  return apiRequest.call(dispatcher, {
    ...rest,
    origin: u.origin,
    path: u.search ? `${u.pathname}${u.search}` : u.pathname,
    method: options.method ?? 'GET',
  } as Dispatcher.RequestOptions);
}
