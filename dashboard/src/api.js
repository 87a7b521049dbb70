// The API client of the page: every call sends the key in the X-API-Key header (never in a
// URL), to a RELATIVE URL (so the page works at /dashboard and behind a stage prefix such as
// /api/dashboard), and turns every failure (an error envelope, a non-JSON answer, a network
// error) into an ApiError whose text names the code, the message and the request id.

export class ApiError extends Error {
  constructor({ status, code, message, requestId, retryAfter, details }) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
    this.details = details || [];
  }

  // One line a person can act on: "401 unauthorized: The API key is ... (request id req_...)".
  describe() {
    const where = this.status ? `${this.status} ${this.code}` : this.code;
    let text = `${where}: ${this.message}`;
    const fields = this.details
      .filter((d) => d && d.field && d.message)
      .map((d) => `${d.field} ${d.message}`);
    if (fields.length && !this.message.includes(fields[0])) {
      text += ` (${fields.join('; ')})`;
    }
    if (this.retryAfter) {
      text += ` Retry after ${this.retryAfter} s.`;
    }
    if (this.requestId) {
      text += ` (request id ${this.requestId})`;
    }
    return text;
  }
}

export function queryString(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') {
      search.set(name, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

async function errorOf(response) {
  const requestId = response.headers.get('X-Request-ID') || '';
  const retryAfter = response.headers.get('Retry-After') || '';
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const envelope = body && typeof body === 'object' ? body.error : null;
  if (envelope && typeof envelope === 'object' && envelope.code) {
    return new ApiError({
      status: response.status,
      code: String(envelope.code),
      message: String(envelope.message || ''),
      requestId: String(body.request_id || envelope.request_id || requestId),
      retryAfter,
      details: Array.isArray(envelope.details) ? envelope.details : [],
    });
  }
  return new ApiError({
    status: response.status,
    code: 'http_error',
    message: `The server answered ${response.status} ${response.statusText || ''} without an error envelope.`.replace('  ', ' '),
    requestId,
    retryAfter,
  });
}

export class Api {
  constructor(key) {
    this.key = key;
  }

  // fetch() with the key; resolves to the Response of a 2xx answer, else rejects with ApiError.
  async raw(method, path, { query, body } = {}) {
    const headers = { 'X-API-Key': this.key, Accept: 'application/json' };
    const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path + queryString(query), init);
    } catch (exc) {
      throw new ApiError({
        status: 0,
        code: 'network_error',
        message: `The API could not be reached (${exc && exc.message ? exc.message : exc}).`,
      });
    }
    if (!response.ok) {
      throw await errorOf(response);
    }
    return response;
  }

  async json(method, path, options) {
    const response = await this.raw(method, path, options);
    if (response.status === 204) {
      return null;
    }
    try {
      return await response.json();
    } catch (exc) {
      throw new ApiError({
        status: response.status,
        code: 'invalid_response',
        message: `The answer was not JSON (${exc.message}).`,
        requestId: response.headers.get('X-Request-ID') || '',
      });
    }
  }

  get(path, query) {
    return this.json('GET', path, { query });
  }

  post(path, body) {
    return this.json('POST', path, { body: body === undefined ? {} : body });
  }

  patch(path, body) {
    return this.json('PATCH', path, { body });
  }

  delete(path) {
    return this.json('DELETE', path);
  }
}

// The file name of a Content-Disposition header (`attachment; filename="x.csv"`), or a default.
export function attachmentName(header, fallback) {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header || '');
  return match ? decodeURIComponent(match[1]) : fallback;
}
