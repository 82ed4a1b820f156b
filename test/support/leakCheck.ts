/**
 * Collects what users and logs can see (error messages, response bodies and headers, debug
 * lines) and the values that must never appear in any of it (secrets, tokens, codes, passwords).
 */
export interface LeakCheck {
  /** A value that must not appear anywhere `see` was given. */
  secret(...values: (string | undefined)[]): void;
  /** Something a caller, a user or a log could read. */
  see(...texts: unknown[]): void;
  /** The secrets found in what was seen, with where: empty when nothing leaked. */
  leaks(): string[];
  /** How many texts were seen: a check over nothing proves nothing. */
  readonly seen: number;
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message} ${JSON.stringify({ ...value })}`;
  return JSON.stringify(value) ?? String(value);
}

export function createLeakCheck(): LeakCheck {
  const secrets = new Set<string>();
  const texts: string[] = [];
  return {
    secret(...values) {
      for (const value of values) if (value) secrets.add(value);
    },
    see(...seen) {
      texts.push(...seen.map(text));
    },
    leaks() {
      return texts.flatMap((seen) => [...secrets].filter((secret) => seen.includes(secret)).map((secret) => `${secret.slice(0, 12)}… in ${seen.slice(0, 160)}`));
    },
    get seen() {
      return texts.length;
    },
  };
}
