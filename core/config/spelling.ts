/**
 * Catching misspelt settings: a variable that is not one of the service's but is one or two
 * keystrokes away from one (`WIX_APP_SECERT`, `LOG_LEVL`) is almost always a typo that would
 * otherwise be ignored in silence.
 * @module
 */

/** The optimal-string-alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * Other programs' variables that sit a few keystrokes from one of ours: set on many machines
 * (OpenSSL's, for one), never a typo of ours.
 */
const OTHER_PROGRAMS = new Set(["SSL_CERT_FILE", "SSL_CERT_DIR"]);

/** The known name `name` looks like a misspelling of, if any. */
export function likelyMeant(name: string, known: readonly string[]): string | undefined {
  if (known.includes(name) || OTHER_PROGRAMS.has(name)) return undefined;
  // Short names get one edit, longer ones two: HOME is not a misspelt HOST.
  const limit = name.length >= 6 ? 2 : 1;
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= limit && (!best || distance < best.distance)) {
      best = { name: candidate, distance };
    }
  }
  return best?.name;
}

/** One warning per variable of `env` that looks like a misspelling of a `known` one. */
export function misspeltVariables(
  env: Record<string, string | undefined>,
  known: readonly string[],
): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    const meant = likelyMeant(name, known);
    if (meant) {
      warnings.push(
        `${name} is not a setting of this service and is ignored; did you mean ${meant}?`,
      );
    }
  }
  return warnings;
}
