/**
 * The policy layer's view of the priv layer's catalog: privilege names by number (aliases map to
 * their canonical name, as requests spell privileges canonically) and the name list the
 * did-you-mean and pattern checks search. The facts themselves live in src/priv/.
 */
import { PRIVS } from '../priv/catalog.js';

export interface PrivCatalogView {
  /** Every PRIV_* name including aliases, ascending by number. */
  readonly names: readonly string[];
  /** Upper-case name (aliases included) -> number. */
  readonly byName: ReadonlyMap<string, number>;
  /** Number -> canonical name. */
  readonly byNumber: ReadonlyMap<number, string>;
}

let catalog: PrivCatalogView | undefined;
export function privCatalog(): PrivCatalogView {
  if (catalog) return catalog;
  const byName = new Map<string, number>();
  const byNumber = new Map<number, string>();
  const sorted = [...PRIVS].sort((a, b) => a.number - b.number);
  for (const p of sorted) {
    byName.set(p.name, p.number);
    if (p.kind !== 'alias') byNumber.set(p.number, p.name);
  }
  catalog = { names: sorted.map((p) => p.name), byName, byNumber };
  return catalog;
}
