// The three pieces of undici the client uses (Agent, the redirect interceptor, the request API),
// loaded without undici's index, which also loads fetch, WebSocket, caches, mocks and proxy agents:
// measured 47 ms and 8 MB RSS at every start of the CLI, against 20 ms for these modules. Even those
// are loaded on first use: a build whose images are all in the local store never opens a connection.
// The request wrapper does what undici's top-level `request(url, opts)` does: split the URL.
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

export function undiciCore(): Core {
  core ??= {
    Agent: require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent,
    redirectInterceptor: require('undici/lib/interceptor/redirect.js') as typeof UndiciInterceptors.redirect,
    apiRequest: require('undici/lib/api/api-request.js') as Core['apiRequest'],
    buildConnector: require('undici/lib/core/connect.js') as typeof UndiciBuildConnector,
  };
  return core;
}

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  dispatcher: Dispatcher;
  method?: Dispatcher.HttpMethod;
  maxRedirections?: number;
};

export function request(url: string, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  const u = new URL(url);
  const { dispatcher, ...rest } = options;
  return undiciCore().apiRequest.call(dispatcher, {
    ...rest,
    origin: u.origin,
    path: u.search ? `${u.pathname}${u.search}` : u.pathname,
    method: options.method ?? 'GET',
  } as Dispatcher.RequestOptions);
}
