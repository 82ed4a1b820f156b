// jsdom ships no type declarations and @types/jsdom is not installed: the slice the benchmark uses.
declare module "jsdom" {
  export class JSDOM {
    constructor(html?: string, options?: { url?: string; pretendToBeVisual?: boolean });
    readonly window: Window & typeof globalThis;
  }
}
