/**
 * Password hashing with WebCrypto PBKDF2-SHA256 (600,000 iterations, OWASP's 2023 figure; about
 * 65 ms on our 2-core machines), a random 16-byte salt, stored as
 * `pbkdf2_sha256$<iterations>$<salt base64>$<hash base64>`; verification compares in constant
 * time and reports when a stored hash uses fewer iterations than today's.
 *
 * @module
 */

/** Iterations of new hashes. */
export const PBKDF2_ITERATIONS = 600_000;
/** Shortest and longest password accepted. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

const SCHEME = "pbkdf2_sha256";
const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function fromBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

/** A new hash of `password` in the stored format. */
export async function hashPassword(
  password: string,
  iterations = PBKDF2_ITERATIONS,
): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, iterations);
  return `${SCHEME}$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

/** True when `a` and `b` hold the same bytes; the time depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The result of checking a password against a stored hash. */
export interface PasswordCheck {
  ok: boolean;
  /** The hash is valid but weaker than today's: store `hashPassword(password)` instead. */
  rehash: boolean;
}

/**
 * Checks `password` against `stored`. An unreadable stored value never matches (and still costs
 * one hash, so callers take the same time whatever the stored value).
 */
export async function checkPassword(password: string, stored: string): Promise<PasswordCheck> {
  const parts = stored.split("$");
  const iterations = Number(parts[1]);
  const readable = parts.length === 4 && parts[0] === SCHEME && Number.isInteger(iterations) &&
    iterations >= 1 && iterations <= 10_000_000;
  let salt: Uint8Array;
  let expected: Uint8Array;
  try {
    if (!readable) throw new Error("unreadable");
    salt = fromBase64(parts[2]!);
    expected = fromBase64(parts[3]!);
  } catch {
    await derive(password, new Uint8Array(16), PBKDF2_ITERATIONS);
    return { ok: false, rehash: false };
  }
  const actual = await derive(password, salt, iterations);
  const ok = constantTimeEqual(actual, expected);
  return { ok, rehash: ok && iterations < PBKDF2_ITERATIONS };
}

/** A reason `password` is refused, or undefined when it is acceptable. */
export function passwordProblem(password: unknown): string | undefined {
  if (typeof password !== "string") return "expected a string";
  if (password.length < PASSWORD_MIN) return `at least ${PASSWORD_MIN} characters are required`;
  if (password.length > PASSWORD_MAX) return `at most ${PASSWORD_MAX} characters are allowed`;
  return undefined;
}
