import { AnyedgeError } from '../../errors.js';

/** The BGP speaker could not be told what to do (socket gone, command refused, pipe closed). */
export class SpeakerError extends AnyedgeError {
  readonly speaker: string;
  constructor(speaker: string, message: string, cause?: unknown) {
    super('BGP_SPEAKER', `${speaker}: ${message}`, { retryable: true, ...(cause === undefined ? {} : { cause }) });
    this.speaker = speaker;
  }
}
