// Age (RFC 9111 §5.1) and the age calculation of §4.2.3. Times in milliseconds since the
// epoch; Age values in seconds as on the wire.
import type { HeaderMap } from '../http/headers.js';

/**
 * The Age field (§5.1): `delta-seconds`. An invalid value (negative, decimal, a list) is
 * ignored (0), as §5.1 allows. Of several field lines the first counts.
 */
export function parseAge(headers: HeaderMap): number {
  const raw = headers['age'];
  const v = typeof raw === 'string' ? raw : raw?.[0];
  if (v === undefined) return 0;
  const t = v.trim();
  if (!/^\d+$/.test(t)) return 0;
  return Math.min(Number(t), 2147483648);
}

export interface AgeInputs {
  /** Age field value, seconds. */
  ageValue: number;
  /** Date field value, ms; undefined when absent or invalid. */
  dateValue: number | undefined;
  /** When the request that produced this response was sent. */
  requestTime: number;
  /** When the response was received. */
  responseTime: number;
}

/**
 * corrected_initial_age (§4.2.3), ms:
 *   apparent_age          = max(0, response_time - date_value)
 *   response_delay        = response_time - request_time
 *   corrected_age_value   = age_value + response_delay
 *   corrected_initial_age = max(apparent_age, corrected_age_value)
 * Without a usable Date the apparent age is 0.
 */
export function correctedInitialAge(a: AgeInputs): number {
  const apparentAge = a.dateValue === undefined ? 0 : Math.max(0, a.responseTime - a.dateValue);
  const responseDelay = Math.max(0, a.responseTime - a.requestTime);
  const correctedAgeValue = a.ageValue * 1000 + responseDelay;
  return Math.max(apparentAge, correctedAgeValue);
}

/** current_age = corrected_initial_age + resident_time (§4.2.3), ms. */
export function currentAge(correctedInitial: number, responseTime: number, now: number): number {
  return correctedInitial + Math.max(0, now - responseTime);
}

/** The Age field value to send (§5.1): whole seconds, never negative. */
export function ageSeconds(currentAgeMs: number): number {
  return currentAgeMs <= 0 ? 0 : Math.floor(currentAgeMs / 1000);
}
