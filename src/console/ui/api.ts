/**
 * Calls of the trackconf API (docs/api.md) from the console: POST JSON to this origin, the session
 * hash in the `Authorization: NVX` header, never in a URL or a cookie. The hash lives only in this
 * tab's sessionStorage (docs/console.md#security).
 */
const KEY = 'trackconf.session';

export interface ParameterError {
  readonly parameter: string;
  readonly error: string;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly errors: readonly ParameterError[],
    readonly body: Record<string, unknown> | undefined,
  ) {
    super(`${description} (${code})`);
  }
}

export const session = {
  hash: (): string | null => sessionStorage.getItem(KEY),
  set: (hash: string): void => sessionStorage.setItem(KEY, hash),
  clear: (): void => sessionStorage.removeItem(KEY),
};

/** Called when the API says the credential is missing or no longer valid (3, 4). */
let lost: (error: ApiError) => void = () => undefined;
export function onSessionLost(handler: (error: ApiError) => void): void {
  lost = handler;
}

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field, after the success check
export type Answer = Record<string, any>;

export async function call(path: string, params: Record<string, unknown> = {}, authenticated = true): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authenticated) {
    const hash = session.hash();
    if (hash === null) {
      const error = new ApiError(3, 'Not signed in', [], undefined);
      lost(error);
      throw error;
    }
    headers.authorization = `NVX ${hash}`;
  }
  const response = await fetch(`/${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(params),
    cache: 'no-store',
    credentials: 'omit',
  });
  let body: Answer;
  try {
    body = (await response.json()) as Answer;
  } catch {
    throw new ApiError(0, `HTTP ${response.status}`, [], undefined);
  }
  if (body.success === true) return body;
  const status = (body.status ?? {}) as { code?: number; description?: string };
  const error = new ApiError(status.code ?? 0, status.description ?? 'Error', (body.errors as ParameterError[] | undefined) ?? [], body);
  if (authenticated && (error.code === 3 || error.code === 4)) lost(error);
  throw error;
}

/** A message for an error that is not a field's: the API's own description and code. */
export function describe(err: unknown): string {
  if (err instanceof ApiError) {
    const details = err.errors.map((e) => `${e.parameter}: ${e.error}`).join('; ');
    return `${err.description} (${err.code})${details ? ` — ${details}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A polling loop: `tick` every `ms` after the previous one finished, until stopped. */
export function poll(tick: () => Promise<void>, ms: number): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    if (stopped) return;
    try {
      await tick();
    } catch {
      // the next tick tries again; a lost session is handled by `call`
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  timer = setTimeout(run, ms);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
