export { createTokenProxy, PROXY_HEADER, REFUSED_HEADER } from "./createTokenProxy.js";
export type { TokenProxy, TokenProxyOptions } from "./createTokenProxy.js";
export { toNodeHandler } from "./toNodeHandler.js";
