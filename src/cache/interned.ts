// Strings kept by stored objects, in their most compact form. A cache key built by
// concatenation is a tree of V8 cons strings that also keeps its pieces (the request target,
// "https://", the authority) alive: ~150 B where the flat string is ~56 B. And the same
// field values (Content-Type, Cache-Control, a Date per second) arrive as a new string with
// every response: interned, one copy serves every object that has that value.

/** Values longer than this are seldom shared (and cost little next to their object). */
const MAX_INTERNED_LENGTH = 160;
/** Bounded: unique values (entity-tags) cannot grow the table; see internValue. */
const MAX_INTERNED = 4096;

const table = new Map<string, string>();

/**
 * A flat copy of a string, holding nothing else alive. Called when an object is stored,
 * never per hit. JSON's parser always builds a new sequential string (a cons string
 * would only be flattened in place, keeping its wrapper).
 */
export function flatString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/**
 * The shared copy of a stored field value. When the table is full it is cleared: that only
 * forgets the shared copies (objects keep theirs), so the table never holds more than
 * MAX_INTERNED strings of its own.
 */
export function internValue(s: string): string {
  if (s.length > MAX_INTERNED_LENGTH) return s;
  const shared = table.get(s);
  if (shared !== undefined) return shared;
  if (table.size >= MAX_INTERNED) table.clear();
  const flat = flatString(s);
  table.set(flat, flat);
  return flat;
}
