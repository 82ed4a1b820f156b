// The TypeScript examples of README.md, as the tests that keep the README true read them.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "../..");

export interface Snippet {
  /** The path its first-line comment names (`// src/App.tsx`), or `snippet-<n>.ts(x)`. */
  file: string;
  code: string;
}

/** Every ```ts and ```tsx block of README.md, in order. */
export function readmeSnippets(): Snippet[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  return [...readme.matchAll(/^```(tsx?)\n([\s\S]*?)^```$/gm)].map(([, lang, code = ""], index) => {
    // Brackets too: a Next.js dynamic segment, e.g. `// app/api/orders/[id]/route.ts`.
    const named = /^\/\/ ([\w./[\]-]+\.tsx?)\b/.exec(code)?.[1];
    return { file: named ?? `snippet-${index}.${lang}`, code };
  });
}

/** The README block that names `file`; throws when the README has none, so a renamed block fails loudly. */
export function readmeFile(file: string): string {
  const found = readmeSnippets().find((snippet) => snippet.file === file);
  if (!found) throw new Error(`README.md has no code block starting with "// ${file}"`);
  return found.code;
}
