import { assertPattern, isValidTopic } from '../../shared/topics.js';

/**
 * One trie node per distinct pattern prefix. Entries live at the node their pattern ends on: `exact` for
 * patterns ending there, `rest` for patterns that continue with a final `>`.
 */
interface TrieNode<T> {
  literal: Map<string, TrieNode<T>>;
  star: TrieNode<T> | undefined;
  exact: Map<string, T>;
  rest: Map<string, T>;
}

interface Entry {
  tenant: string;
  tokens: readonly string[];
}

function newNode<T>(): TrieNode<T> {
  return { literal: new Map(), star: undefined, exact: new Map(), rest: new Map() };
}

function isEmpty<T>(node: TrieNode<T>): boolean {
  return node.literal.size === 0 && node.star === undefined && node.exact.size === 0 && node.rest.size === 0;
}

/**
 * In-memory index from subscription patterns to values, per tenant, for routing each published message
 * to its matching subscriptions. A match walks one token trie (cost grows with the topic's length and
 * the number of wildcard branches that exist, not with the number of entries); tenants never see each
 * other's entries. Ids are unique across tenants.
 */
export class SubscriptionIndex<T> {
  readonly #roots = new Map<string, TrieNode<T>>();
  readonly #entries = new Map<string, Entry>();

  /** Number of entries across all tenants. */
  get size(): number {
    return this.#entries.size;
  }

  /** Trie nodes across all tenants, roots included; walks the whole trie, so for tests and metrics only. */
  get nodeCount(): number {
    let count = 0;
    const stack = [...this.#roots.values()];
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      count++;
      for (const child of node.literal.values()) stack.push(child);
      if (node.star !== undefined) stack.push(node.star);
    }
    return count;
  }

  /**
   * Add the entry `id`, or replace it (its tenant, pattern and value may all change).
   * @throws ValidationError `pattern.invalid` when `pattern` is not a valid pattern; the index is unchanged.
   */
  upsert(id: string, tenant: string, pattern: string, value: T): void {
    assertPattern(pattern);
    this.remove(id);
    const tokens = pattern.split('.');
    const last = tokens[tokens.length - 1] === '>';
    const path = last ? tokens.slice(0, -1) : tokens;
    let node = this.#roots.get(tenant);
    if (node === undefined) {
      node = newNode<T>();
      this.#roots.set(tenant, node);
    }
    for (const token of path) {
      if (token === '*') {
        node.star ??= newNode<T>();
        node = node.star;
      } else {
        let child = node.literal.get(token);
        if (child === undefined) {
          child = newNode<T>();
          node.literal.set(token, child);
        }
        node = child;
      }
    }
    (last ? node.rest : node.exact).set(id, value);
    this.#entries.set(id, { tenant, tokens });
  }

  /** Remove the entry `id`, pruning trie nodes left empty. @returns whether it existed. */
  remove(id: string): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    this.#entries.delete(id);
    const { tenant, tokens } = entry;
    const last = tokens[tokens.length - 1] === '>';
    const path = last ? tokens.slice(0, -1) : tokens;
    const root = this.#roots.get(tenant)!;
    const trail: TrieNode<T>[] = [root];
    let node = root;
    for (const token of path) {
      node = (token === '*' ? node.star : node.literal.get(token))!;
      trail.push(node);
    }
    (last ? node.rest : node.exact).delete(id);
    for (let depth = path.length; depth > 0 && isEmpty(trail[depth]!); depth--) {
      const parent = trail[depth - 1]!;
      const token = path[depth - 1]!;
      if (token === '*') parent.star = undefined;
      else parent.literal.delete(token);
    }
    if (isEmpty(root)) this.#roots.delete(tenant);
    return true;
  }

  /** Values of every entry of `tenant` whose pattern matches `topic`, each once; `[]` for an invalid topic. */
  match(tenant: string, topic: string): T[] {
    const root = this.#roots.get(tenant);
    if (root === undefined || !isValidTopic(topic)) return [];
    const out: T[] = [];
    collect(root, topic.split('.'), 0, out);
    return out;
  }
}

/** A node is reached by exactly one path, so no entry can be collected twice. */
function collect<T>(node: TrieNode<T>, tokens: readonly string[], i: number, out: T[]): void {
  if (i === tokens.length) {
    for (const value of node.exact.values()) out.push(value);
    return;
  }
  for (const value of node.rest.values()) out.push(value);
  const child = node.literal.get(tokens[i]!);
  if (child !== undefined) collect(child, tokens, i + 1, out);
  if (node.star !== undefined) collect(node.star, tokens, i + 1, out);
}
