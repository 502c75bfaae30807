// HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, which every sender must generate, and the two
// obsolete formats every recipient must still accept.
//
//   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
//   rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
//   asctime-date Sun Nov  6 08:49:37 1994

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const DAY_NAMES_LONG = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const MONTH = `(${MONTHS.join('|')})`;
const IMF_FIXDATE = new RegExp(`^(${DAY_NAMES.join('|')}), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^(${DAY_NAMES_LONG.join('|')}), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^(${DAY_NAMES.join('|')}) ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

/** Valid IMF-fixdates parsed lately, value → ms; cleared when full, so it stays small. */
const recentFixdates = new Map<string, number>();
const RECENT_FIXDATES = 256;

/**
 * Parses an HTTP-date into milliseconds since the epoch, or undefined when the value is not
 * one of the three formats of RFC 9110 §5.6.7 or names a day that does not exist. The
 * day name is not checked against the date. `now` resolves rfc850's two-digit year: a year
 * more than 50 years in the future means the most recent past year with those digits.
 */
export function parseHttpDate(value: string, now: number = Date.now()): number | undefined {
  // IMF-fixdate answers do not depend on `now`: the same Date (one per second) and
  // Last-Modified arrive with every response an origin sends, so they are parsed once.
  const known = recentFixdates.get(value);
  if (known !== undefined) return known;
  const s = value.trim();
  let m = IMF_FIXDATE.exec(s);
  if (m) {
    const ms = build(m[4], m[3], m[2], m[5], m[6], m[7]);
    if (ms !== undefined) {
      if (recentFixdates.size >= RECENT_FIXDATES) recentFixdates.clear();
      recentFixdates.set(value, ms);
    }
    return ms;
  }
  m = RFC850_DATE.exec(s);
  if (m) {
    const nowYear = new Date(now).getUTCFullYear();
    let year = nowYear - (nowYear % 100) + Number(m[4]);
    if (year > nowYear + 50) year -= 100;
    return build(String(year), m[3], m[2], m[5], m[6], m[7]);
  }
  m = ASCTIME_DATE.exec(s);
  if (m) return build(m[7], m[2], m[3], m[4], m[5], m[6]);
  return undefined;
}

function build(
  year: string | undefined, month: string | undefined, day: string | undefined,
  hour: string | undefined, minute: string | undefined, second: string | undefined,
): number | undefined {
  const y = Number(year), mo = MONTHS.indexOf(month ?? ''), d = Number(day);
  const h = Number(hour), mi = Number(minute), sec = Number(second);
  // second may be 60: the grammar allows a leap second, which lands on the next minute.
  if (mo < 0 || d < 1 || h > 23 || mi > 59 || sec > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(y, mo, d); // not Date.UTC: it maps years 0-99 to 1900-1999
  if (date.getUTCMonth() !== mo || date.getUTCDate() !== d) return undefined; // 31 Feb
  date.setUTCHours(h, mi, sec, 0);
  return date.getTime();
}

/** Formats milliseconds since the epoch as an IMF-fixdate (RFC 9110 §5.6.7), dropping the milliseconds. */
export function formatHttpDate(ms: number): string {
  // toUTCString() is specified (ECMA-262 §21.4.4.43) to produce exactly this format.
  return new Date(ms).toUTCString();
}
