/** Loopback hosts, where plain http is acceptable: nothing leaves the machine. @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 */
export const isLoopback = (host: string): boolean => host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);

/** The longest delay setTimeout keeps (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Whether `stated` is Microsoft Entra ID's multi-tenant issuer template (`…/{tenantid}/v2.0`) of the
 * `configured` (`…/common/v2.0` or `…/organizations/v2.0`) issuer.
 * @see https://learn.microsoft.com/entra/identity-platform/howto-convert-app-to-be-multi-tenant
 */
export function isTenantTemplate(stated: string, configured: string): boolean {
  const [before, after] = stated.split("{tenantid}");
  return after !== undefined && configured.startsWith(before as string) && configured.endsWith(after);
}
