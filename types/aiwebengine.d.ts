// The AiWebEngine script API: every global a script sees besides ECMAScript's.
//
// Reference it from an editor or a jsconfig.json/tsconfig.json ("types/aiwebengine.d.ts" in the repository,
// or GET /engine/types/aiwebengine.d.ts from a running server) and check scripts with
//   tsc --noEmit --allowJs --checkJs your-script.js
// The samples are checked against it by a test (samples/jsconfig.json), so the two cannot drift apart.
// Written to work with or without TypeScript's "dom" lib (whose Crypto, console and timers it extends).

/** The signed-in caller: `null` when anonymous. */
interface AiWebEngineUser {
  /** The token's `sub` claim. */
  id: string;
  /** The `name` claim, or `null`. */
  name: string | null;
  /** The union of the `role` and `roles` claims. */
  roles: string[];
  /** Every claim of the token or session, by its JWT name (a repeated claim is an array). */
  claims: Record<string, string | string[]>;
}

/** What a route handler (and a stream's `authorize` hook) receives. */
interface AiWebEngineRequest {
  method: string;
  path: string;
  /** Query string values; a repeated key keeps the last value. */
  query: Record<string, string>;
  /** urlencoded and multipart text fields. */
  form: Record<string, string>;
  /** Lower-case header names; never `authorization` or `cookie` (unless the operator exposes them). */
  headers: Record<string, string>;
  /** The body as text (UTF-8); "" when empty. */
  body: string;
  /** The body's exact bytes; empty when there is none. */
  readonly bodyBytes: Uint8Array;
  /** `{name}` route segments, and `"*"` for a trailing `/*`. */
  params: Record<string, string>;
  user: AiWebEngineUser | null;
}

/** A handler's answer. An object or array body is sent as JSON; bytes as they are. */
interface AiWebEngineResponse {
  /** 200–599; default 200. */
  status?: number;
  body?: string | number | boolean | object | Uint8Array | ArrayBuffer | null;
  /** Default: text/plain (JSON for an object body, application/octet-stream for bytes). */
  contentType?: string;
  headers?: Record<string, string | number | boolean>;
}

type AiWebEngineHandler = (req: AiWebEngineRequest) => AiWebEngineResponse | Promise<AiWebEngineResponse>;

/** Who may call a registration. */
type AiWebEngineAuth = "user" | { roles: string[] } | { policy: string };

interface AiWebEngineOptions {
  auth?: AiWebEngineAuth;
  /** A policy of AiWebEngine:RateLimits:Policies. */
  rateLimit?: string;
}

/** A stream's connect hook: `false` (or a throw) refuses with 403; an object is the connection's metadata. */
type AiWebEngineAuthorize = (req: AiWebEngineRequest) => boolean | undefined | Record<string, string | number | boolean> | Promise<boolean | undefined | Record<string, string | number | boolean>>;

interface AiWebEngineStreamOptions extends AiWebEngineOptions {
  authorize?: AiWebEngineAuthorize | string;
}

interface AiWebEngineGraphQLContext {
  fieldName: string;
  operationName: string | null;
  headers: Record<string, string>;
  user: AiWebEngineUser | null;
}

type AiWebEngineResolver = (args: Record<string, any>, context: AiWebEngineGraphQLContext) => unknown;

interface AiWebEngineSubscriptionOptions extends AiWebEngineOptions {
  /** Whether one subscriber group receives an event: evaluated once per event per distinct subscriber group. */
  filter?: ((payload: any, args: Record<string, any>, context: AiWebEngineGraphQLContext) => boolean | Promise<boolean>) | string;
}

/** Message data: an object or array (sent as JSON) or a string (sent as it is). */
type AiWebEngineData = object | string;

/** Metadata a filtered message must match, key by key. */
type AiWebEngineFilter = Record<string, string | number | boolean>;

type AiWebEngineHttpMethod = "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "get" | "post" | "put" | "delete" | "patch";

/** Routes `method path` to `handler` (a function or a global function's name). */
declare function register(path: string, handler: AiWebEngineHandler | string, method?: AiWebEngineHttpMethod | string | null, options?: AiWebEngineOptions): void;
declare function register(path: string, handler: AiWebEngineHandler | string, options: AiWebEngineOptions): void;

declare function writeLog(message: unknown): void;

declare function registerWebStream(path: string, options?: AiWebEngineStreamOptions): void;
/** Sends to every client of every stream this script registered; returns how many clients it was queued for. */
declare function sendStreamMessage(data: AiWebEngineData): number;
declare function sendStreamMessageToPath(path: string, data: AiWebEngineData, filter?: AiWebEngineFilter): number;
/** Only the connections of that signed-in user. */
declare function sendToUser(path: string, userId: string, data: AiWebEngineData): number;

declare function registerGraphQLQuery(name: string, sdl: string, resolver: AiWebEngineResolver | string, options?: AiWebEngineOptions): void;
declare function registerGraphQLMutation(name: string, sdl: string, resolver: AiWebEngineResolver | string, options?: AiWebEngineOptions): void;
declare function registerGraphQLSubscription(name: string, sdl: string, resolver?: AiWebEngineResolver | string | null, options?: AiWebEngineSubscriptionOptions): void;
declare function registerGraphQLSubscription(name: string, sdl: string, options: AiWebEngineSubscriptionOptions): void;
declare function sendSubscriptionMessage(name: string, data: AiWebEngineData, filter?: AiWebEngineFilter): number;
declare function sendSubscriptionToUser(name: string, userId: string, data: AiWebEngineData): number;

interface AiWebEngineJobContext {
  name: string;
  script: string;
  /** The tick, ISO 8601 UTC. */
  scheduledAt: string;
}

/** A named job: an interval ("30s", "5m", "1h", "1d") or a cron expression in UTC (5 fields, or 6 with seconds first). */
declare function schedule(name: string, spec: string, handler: ((context: AiWebEngineJobContext) => unknown) | string): void;

declare function setTimeout(callback: (...args: any[]) => unknown, ms?: number, ...args: any[]): number;
declare function setInterval(callback: (...args: any[]) => unknown, ms?: number, ...args: any[]): number;
declare function clearTimeout(id: number | undefined): void;
declare function clearInterval(id: number | undefined): void;

interface AiWebEngineFetchInit {
  method?: string;
  headers?: Record<string, string | number | boolean>;
  /** A string (sent as UTF-8) or bytes; JSON.stringify an object. */
  body?: string | ArrayBufferView | ArrayBuffer | null;
}

interface AiWebEngineFetchResponse {
  readonly status: number;
  readonly ok: boolean;
  /** The URL answered, after redirects. */
  readonly url: string;
  readonly redirected: boolean;
  readonly bodyUsed: boolean;
  readonly headers: {
    get(name: string): string | null;
    has(name: string): boolean;
    forEach(callback: (value: string, name: string) => void): void;
    entries(): IterableIterator<[string, string]>;
  };
  text(): Promise<string>;
  json(): Promise<any>;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
}

/**
 * Outbound HTTP to the hosts of AiWebEngine:Fetch:AllowedHosts (off until the operator lists some). Rejects
 * with an Error saying why for a host not listed, a private address, a redirect elsewhere, a timeout, a body
 * over the size limit or too many fetches at once.
 */
declare function fetch(url: string, init?: AiWebEngineFetchInit): Promise<AiWebEngineFetchResponse>;

/** Storage that survives restarts, in this script's own namespace; values are JSON. Every call returns a Promise. */
declare var storage: {
  /** The value, or undefined when the key is not set (or expired). */
  get(key: string): Promise<any>;
  set(key: string, value: unknown, options?: { ttl?: number }): Promise<void>;
  /** Whether the key was set. */
  delete(key: string): Promise<boolean>;
  /** Entries whose key starts with prefix, by key. */
  list(prefix?: string, options?: { limit?: number }): Promise<Array<{ key: string; value: any }>>;
  /** Adds by (default 1) to a number (a missing key counts as 0), atomically; the new value. */
  increment(key: string, by?: number): Promise<number>;
  /** Sets value only if the current value equals expected (undefined or null: the key is not set), atomically. */
  compareAndSet(key: string, expected: unknown, value: unknown, options?: { ttl?: number }): Promise<boolean>;
};

/** A random (version 4) UUID: the guide's message id. */
declare function generateId(): string;

interface AiWebEngineHash {
  update(data: string | ArrayBufferView | ArrayBuffer): AiWebEngineHash;
  digest(): Uint8Array;
  digest(encoding: "hex" | "base64" | "base64url" | "latin1" | "binary"): string;
}

type AiWebEngineHashAlgorithm = "sha1" | "sha256" | "sha384" | "sha512" | string;

interface Crypto {
  randomUUID(): string;
  getRandomValues<T extends ArrayBufferView | null>(array: T): T;
  createHash(algorithm: AiWebEngineHashAlgorithm): AiWebEngineHash;
  createHmac(algorithm: AiWebEngineHashAlgorithm, key: string | ArrayBufferView | ArrayBuffer): AiWebEngineHash;
  /** Equal bytes in time that does not depend on where they differ; different lengths are false. */
  timingSafeEqual(a: string | ArrayBufferView | ArrayBuffer, b: string | ArrayBufferView | ArrayBuffer): boolean;
}
declare var crypto: Crypto;

/** Configured secrets (AiWebEngine:Secrets:<name>); undefined when not set. */
declare var secrets: {
  get(name: string): string | undefined;
};

interface Console {
  log(...data: any[]): void;
  info(...data: any[]): void;
  warn(...data: any[]): void;
  error(...data: any[]): void;
  debug(...data: any[]): void;
}
declare var console: Console;

interface AiWebEngineInitContext {
  scriptName: string;
  /** ISO 8601. */
  timestamp: string;
  isStartup: boolean;
}
