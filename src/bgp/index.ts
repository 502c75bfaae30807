// The BGP sidecar's public surface (src/cli.ts imports from here).
export { runSidecar, createDriver, type RunSidecarOptions } from './run-sidecar.js';
export { parseSidecarFlags, mergeSidecarFlags, SidecarFlagError, SIDECAR_FLAGS_HELP, type SidecarFlags, type ParseSidecarFlagsOptions } from './flags.js';
export { sidecarConfigProblems, type SidecarRunConfig } from './sidecar-config.js';
export { createSidecarLogger } from './sidecar-logger.js';
