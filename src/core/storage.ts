import type { StorageLike, StorageOption } from "./config.js";

/** A Storage that lives as long as the page: the safe default when nothing else is available. */
export class MemoryStorage implements StorageLike {
  readonly #items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.#items.set(key, value);
  }
  removeItem(key: string): void {
    this.#items.delete(key);
  }
}

/**
 * Web storage, or memory when it is missing (server rendering) or refused (a sandboxed frame,
 * where the getter throws). Writes that fail later (a full quota) are caught by writeJson.
 */
export function webStorage(kind: "session" | "local"): Storage | MemoryStorage {
  try {
    const storage = globalThis[kind === "session" ? "sessionStorage" : "localStorage"];
    if (storage) return storage;
  } catch {
    // Fall through to memory.
  }
  return new MemoryStorage();
}

export function resolveStorage(option: StorageOption): StorageLike {
  if (option === "memory") return new MemoryStorage();
  if (option === "session" || option === "local") return webStorage(option);
  return option;
}

/** Reads JSON written by us; anything unreadable counts as absent rather than breaking start-up. */
export function readJson(storage: StorageLike, key: string): unknown {
  try {
    const raw = storage.getItem(key);
    return raw === null ? undefined : (JSON.parse(raw) as unknown);
  } catch {
    return undefined;
  }
}

export function writeJson(storage: StorageLike, key: string, value: unknown): void {
  try {
    storage.setItem(key, JSON.stringify(value));
  } catch {
    // A full or blocked storage loses persistence, not the session held in memory.
  }
}
