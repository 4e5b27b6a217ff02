import { AppError, isAppError } from "./errors.ts";

/**
 * True when reading a request's body failed because its client went away:
 * it closed its side mid-body, or sent too little and stalled until the
 * server's idle timeout closed the connection. Both surface as an AbortError.
 */
export function isClientGone(err: unknown, req: Request): boolean {
  return req.signal.aborted || (err instanceof DOMException && err.name === "AbortError");
}

/**
 * Reads at most `limit` bytes. A declared Content-Length over the limit is
 * refused before reading; a chunked body is counted as it streams, so an
 * oversize upload is cut off instead of buffered whole. A client that went
 * away mid-body is a `client_closed_request`, not a server error.
 */
export async function readLimited(req: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await readWithin(req, limit);
  } catch (err) {
    if (!isAppError(err) && isClientGone(err, req))
      throw new AppError("client_closed_request", { detail: "The client closed the connection before sending the whole body", cause: err });
    throw err;
  }
}

async function readWithin(req: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = () => new AppError("payload_too_large", { detail: `The body exceeds ${limit} bytes` });
  const declared = Number(req.headers.get("content-length") ?? Number.NaN);
  if (declared > limit) throw tooLarge();
  if (req.body === null) return new Uint8Array(0);
  if (Number.isFinite(declared)) {
    // The common case: one buffer, no per-chunk bookkeeping.
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.byteLength > limit) throw tooLarge();
    return bytes;
  }
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** True for `application/json` with any parameters (charset). */
export function isJsonContentType(header: string | null): boolean {
  if (header === null) return false;
  const [type = ""] = header.split(";", 1);
  return type.trim().toLowerCase() === "application/json";
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Elements any one array of a request body may hold: ten times a batch's items, far below what fits in the body limit. */
export const MAX_JSON_ARRAY_LENGTH = 10_000;

/** The route's first steps, in contract order: 413, then 415, then 400 for malformed JSON or an array too long. */
export async function readJsonBody(req: Request, limit: number): Promise<unknown> {
  const bytes = await readLimited(req, limit);
  if (!isJsonContentType(req.headers.get("content-type"))) throw new AppError("unsupported_media_type");
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    throw new AppError("invalid_body", { detail: "The body is not valid UTF-8 JSON" });
  }
  const path = longArrayPath(body, MAX_JSON_ARRAY_LENGTH);
  if (path !== undefined)
    throw new AppError("invalid_body", {
      detail: "The request body failed validation",
      errors: [{ path: path.join("."), message: `must not have more than ${MAX_JSON_ARRAY_LENGTH} elements` }],
    });
  return body;
}

/** A value met in the walk, linked to its parent: the path is built only for the one array refused. */
interface Visit {
  value: unknown;
  key: string | number;
  parent: Visit | undefined;
}

/**
 * The path of the first array longer than `max` in a parsed JSON value, or
 * undefined. Iterative and with no path copied per level, so a body nested
 * thousands of levels deep costs a walk, not a stack overflow or quadratic time.
 */
export function longArrayPath(root: unknown, max: number): (string | number)[] | undefined {
  const stack: Visit[] = [{ value: root, key: "", parent: undefined }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { value } = top;
    if (Array.isArray(value)) {
      if (value.length > max) return pathOf(top);
      for (let i = value.length - 1; i >= 0; i--) if (isContainer(value[i])) stack.push({ value: value[i], key: i, parent: top });
    } else if (isContainer(value)) {
      for (const key in value) {
        const child = (value as Record<string, unknown>)[key];
        if (isContainer(child)) stack.push({ value: child, key, parent: top });
      }
    }
  }
  return undefined;
}

function pathOf(visit: Visit): (string | number)[] {
  const path: (string | number)[] = [];
  for (let v: Visit | undefined = visit; v?.parent !== undefined; v = v.parent) path.push(v.key);
  return path.reverse();
}

function isContainer(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

/** Lower-case hex SHA-256 via Web Crypto: the fingerprint of the canonical body an Idempotency-Key is bound to. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}
