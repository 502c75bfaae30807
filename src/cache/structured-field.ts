// Structured Field Dictionary parsing (RFC 8941 §4.2.2), just enough for targeted cache
// control (RFC 9213 §2.2), whose fields are Dictionaries. Strict: any syntax error fails
// the whole field, as §4.2 requires.

/** A bare item (§3.3) as this parser returns it. Byte sequences are returned as their base64 text. */
export type BareItem =
  | { readonly type: 'integer'; readonly value: number }
  | { readonly type: 'decimal'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'token'; readonly value: string }
  | { readonly type: 'bytes'; readonly value: string }
  | { readonly type: 'boolean'; readonly value: boolean };

/** A dictionary member's value: an item, or an inner list (parameters are parsed and dropped). */
export type MemberValue = BareItem | { readonly type: 'inner-list'; readonly items: readonly BareItem[] };

class ParseError extends Error {}

/** Parses a Dictionary (§4.2.2); undefined when the value is not a valid one. */
export function parseDictionary(input: string): Map<string, MemberValue> | undefined {
  const p = new Parser(input);
  try {
    return p.dictionary();
  } catch (err) {
    if (err instanceof ParseError) return undefined;
    throw err;
  }
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isLcAlpha = (c: string | undefined): boolean => c !== undefined && c >= 'a' && c <= 'z';
const isAlpha = (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const TCHAR_EXTRA = "!#$%&'*+-.^_`|~";
const isTchar = (c: string | undefined): boolean => c !== undefined && (isAlpha(c) || isDigit(c) || TCHAR_EXTRA.includes(c));

class Parser {
  #s: string;
  #i = 0;

  constructor(input: string) {
    // §4.2: discard leading and trailing SP.
    this.#s = input.replace(/^ +| +$/g, '');
  }

  #peek(): string | undefined { return this.#s[this.#i]; }
  #fail(): never { throw new ParseError(); }
  #ows(): void { while (this.#peek() === ' ' || this.#peek() === '\t') this.#i++; }

  dictionary(): Map<string, MemberValue> {
    const out = new Map<string, MemberValue>();
    while (this.#i < this.#s.length) {
      const key = this.#key();
      let value: MemberValue;
      if (this.#peek() === '=') {
        this.#i++;
        value = this.#itemOrInnerList();
      } else {
        value = { type: 'boolean', value: true };
        this.#parameters();
      }
      out.set(key, value); // §4.2.2: a later duplicate overwrites
      this.#ows();
      if (this.#i >= this.#s.length) return out;
      if (this.#peek() !== ',') this.#fail();
      this.#i++;
      this.#ows();
      if (this.#i >= this.#s.length) this.#fail(); // trailing comma
    }
    return out;
  }

  #key(): string {
    const c = this.#peek();
    if (!isLcAlpha(c) && c !== '*') this.#fail();
    const start = this.#i;
    for (;;) {
      const d = this.#peek();
      if (isLcAlpha(d) || isDigit(d) || d === '_' || d === '-' || d === '.' || d === '*') this.#i++;
      else break;
    }
    return this.#s.slice(start, this.#i);
  }

  #itemOrInnerList(): MemberValue {
    if (this.#peek() === '(') return this.#innerList();
    const item = this.#bareItem();
    this.#parameters();
    return item;
  }

  #innerList(): MemberValue {
    this.#i++; // (
    const items: BareItem[] = [];
    for (;;) {
      while (this.#peek() === ' ') this.#i++;
      if (this.#peek() === ')') {
        this.#i++;
        this.#parameters();
        return { type: 'inner-list', items };
      }
      items.push(this.#bareItem());
      this.#parameters();
      const c = this.#peek();
      if (c !== ' ' && c !== ')') this.#fail();
    }
  }

  #parameters(): void {
    while (this.#peek() === ';') {
      this.#i++;
      while (this.#peek() === ' ') this.#i++;
      this.#key();
      if (this.#peek() === '=') {
        this.#i++;
        this.#bareItem();
      }
    }
  }

  #bareItem(): BareItem {
    const c = this.#peek();
    if (c === '-' || isDigit(c)) return this.#number();
    if (c === '"') return this.#string();
    if (c === '*' || isAlpha(c)) return this.#token();
    if (c === ':') return this.#bytes();
    if (c === '?') return this.#boolean();
    return this.#fail();
  }

  #number(): BareItem {
    const start = this.#i;
    let neg = false;
    if (this.#peek() === '-') { neg = true; this.#i++; }
    if (!isDigit(this.#peek())) this.#fail();
    let intDigits = 0;
    while (isDigit(this.#peek())) { this.#i++; intDigits++; }
    if (this.#peek() === '.') {
      if (intDigits > 12) this.#fail();
      this.#i++;
      let frac = 0;
      while (isDigit(this.#peek())) { this.#i++; frac++; }
      if (frac < 1 || frac > 3) this.#fail();
      return { type: 'decimal', value: Number(this.#s.slice(start, this.#i)) };
    }
    if (intDigits > 15) this.#fail();
    const v = Number(this.#s.slice(neg ? start + 1 : start, this.#i));
    return { type: 'integer', value: neg ? -v : v };
  }

  #string(): BareItem {
    this.#i++;
    let out = '';
    for (;;) {
      const c = this.#peek();
      if (c === undefined) this.#fail();
      this.#i++;
      if (c === '\\') {
        const e = this.#peek();
        if (e !== '"' && e !== '\\') this.#fail();
        out += e;
        this.#i++;
        continue;
      }
      if (c === '"') return { type: 'string', value: out };
      const code = c.charCodeAt(0);
      if (code < 0x20 || code > 0x7e) this.#fail();
      out += c;
    }
  }

  #token(): BareItem {
    const start = this.#i;
    this.#i++;
    for (;;) {
      const c = this.#peek();
      if (isTchar(c) || c === ':' || c === '/') this.#i++;
      else break;
    }
    return { type: 'token', value: this.#s.slice(start, this.#i) };
  }

  #bytes(): BareItem {
    this.#i++;
    const start = this.#i;
    for (;;) {
      const c = this.#peek();
      if (c === undefined) this.#fail();
      if (c === ':') break;
      if (!(isAlpha(c) || isDigit(c) || c === '+' || c === '/' || c === '=')) this.#fail();
      this.#i++;
    }
    const value = this.#s.slice(start, this.#i);
    this.#i++;
    return { type: 'bytes', value };
  }

  #boolean(): BareItem {
    this.#i++;
    const c = this.#peek();
    if (c !== '0' && c !== '1') this.#fail();
    this.#i++;
    return { type: 'boolean', value: c === '1' };
  }
}
