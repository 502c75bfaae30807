// Every subject the harness knows, in report order. "bare" is the reference.
import { anyedge1, anyedge1NoOverload, anyedgeN } from './anyedge.js';
import { bareNode, bareNodeAgain, bareNodeFields, bareNodeH2Stream, httpProxyForwarder, undiciForwarder } from './node-subjects.js';
import { haproxy, nginx } from './peers.js';
import type { SubjectDef } from './types.js';

export const REFERENCE_SUBJECT = 'bare';
/** The A/A control: bare again, whose ratio to bare is a run's noise floor. */
export const NOISE_SUBJECT = 'bare-again';

// bare-again last: the other end of each round from bare (see node-subjects.ts).
export const SUBJECTS: readonly SubjectDef[] = [bareNode, bareNodeH2Stream, anyedge1, anyedgeN, undiciForwarder, httpProxyForwarder, nginx, haproxy, anyedge1NoOverload, bareNodeFields, bareNodeAgain];
