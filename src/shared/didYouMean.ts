/**
 * The known option a mistyped `name` most likely meant: the same letters in another case or with
 * `_`/`-` (`client_id` → `clientId`), or a typo confined to one spot: one character added,
 * dropped or changed (`scopes` → `scope`, `redirectUrl` → `redirectUri`), or, in names of six or
 * more letters, two neighbours swapped or changed (`authroity` → `authority`). Undefined when
 * nothing is that close, so unrelated names get no misleading hint.
 */
export function didYouMean(name: string, known: Iterable<string>): string | undefined {
  const plain = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const typed = plain(name);
  for (const option of known) {
    const wanted = plain(option);
    // What is left of both once their common start and end are set aside is the typo.
    let start = 0;
    while (start < typed.length && typed[start] === wanted[start]) start++;
    let end = 0;
    while (end < typed.length - start && end < wanted.length - start && typed.at(-1 - end) === wanted.at(-1 - end)) end++;
    const spot = wanted.length < 6 ? 1 : 2;
    if (typed.length - start - end <= spot && wanted.length - start - end <= spot) return option;
  }
  return undefined;
}
