// A browser page for code that runs in Node: jsdom's window, document, storage and history as
// globals. Only those: Node's own fetch, crypto, TextEncoder and typed arrays stay, so that
// oauth4webapi and the stub IdP see one realm, as they would in a browser.
import { JSDOM } from "jsdom";

const GLOBALS = ["window", "document", "navigator", "location", "history", "sessionStorage", "localStorage", "HTMLElement", "HTMLIFrameElement", "Node", "PopStateEvent"] as const;

export function installDom(url: string): JSDOM {
  const dom = new JSDOM("<!doctype html><html><body></body></html>", { url, pretendToBeVisual: true });
  const scope = globalThis as Record<string, unknown>;
  for (const name of GLOBALS) {
    Object.defineProperty(scope, name, { configurable: true, writable: true, value: (dom.window as unknown as Record<string, unknown>)[name] });
  }
  scope.IS_REACT_ACT_ENVIRONMENT = true;
  return dom;
}
