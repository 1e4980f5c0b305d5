// The head of an HTTP/1.1 request as the registry transport writes it (http-exchange.ts): the
// headers node:http would add (Host, Connection, a Content-Length or chunked coding for the body), and
// the same refusal of names and values that could smuggle a line break into the request
// (a token or Location from a registry ends up in a header).

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
// Methods node:http sends without a body framing header when they have no body.
const NO_BODY_BY_DEFAULT = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

function invalid(code: string, message: string): TypeError {
  return Object.assign(new TypeError(message), { code });
}

export interface RequestHead {
  /** The head, CRLF-terminated, as latin1 text. */
  text: string;
  /** Whether the body must be sent in chunked coding (a stream without a Content-Length). */
  chunked: boolean;
  /** The declared Content-Length, if any. */
  contentLength: number | undefined;
}

/**
 * `body`: 'none', a byte count for a string/Buffer, or 'stream'. A caller's Content-Length is
 * kept as given; a Buffer gets one, a stream without one is sent chunked.
 */
export function requestHead(method: string, url: URL, headers: Record<string, string>, body: 'none' | 'stream' | number): RequestHead {
  if (!TOKEN.test(method)) throw invalid('ERR_INVALID_HTTP_TOKEN', `Method must be a valid HTTP token ["${method}"]`);
  let text = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\n`;
  let contentLength: number | undefined;
  let framed = false;
  for (const name of Object.keys(headers)) {
    const value = headers[name]!;
    if (!TOKEN.test(name)) throw invalid('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${name}"]`);
    if (BAD_VALUE.test(value)) throw invalid('ERR_INVALID_CHAR', `Invalid character in header content ["${name}"]`);
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === 'connection') continue;
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value.trim())) throw invalid('ERR_HTTP_INVALID_HEADER_VALUE', `Invalid value "${value}" for header "content-length"`);
      contentLength = Number(value.trim());
      framed = true;
    } else if (lower === 'transfer-encoding') {
      // Only this transport frames the body; a caller's coding would desynchronise the connection.
      throw invalid('ERR_HTTP_INVALID_HEADER_VALUE', 'Transfer-Encoding is set by the transport');
    }
    text += `${name}: ${value}\r\n`;
  }
  let chunked = false;
  if (!framed) {
    if (typeof body === 'number') {
      contentLength = body;
      text += `Content-Length: ${body}\r\n`;
    } else if (body === 'stream') {
      chunked = true;
      text += 'Transfer-Encoding: chunked\r\n';
    } else if (!NO_BODY_BY_DEFAULT.has(method)) {
      contentLength = 0;
      text += 'Content-Length: 0\r\n';
    }
  }
  return { text: `${text}\r\n`, chunked, contentLength };
}
