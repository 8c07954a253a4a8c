/**
 * Console sessions: signing in with the PSP API key gives a random session id (the cookie's
 * value, never stored: KV keeps its SHA-256) and a CSRF token every state-changing form carries.
 * Sessions expire after `ttlMs`.
 * @module
 */

import { sha256Hex } from "../common/mod.ts";
import { kvKeys } from "../store/mod.ts";

/** A signed-in session as stored. */
export interface ConsoleSession {
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

const random = () =>
  crypto.getRandomValues(new Uint8Array(32)).toBase64({ alphabet: "base64url", omitPadding: true });

/** Opens a session; returns the cookie value and the stored session. */
export async function openSession(
  kv: Deno.Kv,
  now: number,
  ttlMs: number,
): Promise<{ cookie: string; session: ConsoleSession }> {
  const cookie = random();
  const session: ConsoleSession = { csrf: random(), createdAt: now, expiresAt: now + ttlMs };
  await kv.set(kvKeys.consoleSession(await sha256Hex(cookie)), session, { expireIn: ttlMs });
  return { cookie, session };
}

/** The session of a cookie value, if it exists and has not expired. */
export async function findSession(
  kv: Deno.Kv,
  cookie: string | undefined,
  now: number,
): Promise<ConsoleSession | null> {
  if (!cookie || !/^[A-Za-z0-9_-]{20,100}$/.test(cookie)) return null;
  const session =
    (await kv.get<ConsoleSession>(kvKeys.consoleSession(await sha256Hex(cookie)))).value;
  return session && session.expiresAt > now ? session : null;
}

/** Ends a session. */
export async function closeSession(kv: Deno.Kv, cookie: string): Promise<void> {
  await kv.delete(kvKeys.consoleSession(await sha256Hex(cookie)));
}
