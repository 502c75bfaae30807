// `anyedge sidecar [--config FILE] [flags]`: the file's sidecar section, flags on top,
// /readyz defaulting to the admin plane's address. Runs until SIGTERM/SIGINT (withdraw,
// exit 0) or until ExaBGP closes our stdin.
import { loadConfig } from '../config/load.js';
import { sidecarSchema, type Config } from '../config/schema.js';
import { AnyedgeError } from '../errors.js';
import { mergeSidecarFlags, parseSidecarArgs, SIDECAR_FLAGS_HELP } from './flags.js';
import { runSidecar } from './run-sidecar.js';
import { createSidecarLogger } from './sidecar-logger.js';

export const SIDECAR_HELP = `Usage: anyedge sidecar [--config FILE] [options]

Probes the node's unicast /readyz and announces, de-prefers (AS-path prepends) or
withdraws the anycast prefixes through ExaBGP, BIRD 2 or the log. Logs go to stderr.

Options (override the file's "sidecar" section):
  -c, --config FILE             the node's YAML configuration
      --log-level LEVEL         default: log.level from the file, else info
${SIDECAR_FLAGS_HELP.replace(/^/gm, '  ').trimEnd()}
  -h, --help`;

/** The readiness URL of the node's own admin plane (a wildcard bind is probed on loopback). */
export function adminReadyzUrl(admin: Config['admin']): string {
  const host = admin.address === '0.0.0.0' ? '127.0.0.1' : admin.address === '::' ? '::1' : admin.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${admin.port}/readyz`;
}

export async function sidecarMain(argv: string[]): Promise<void> {
  let exitCode = 0;
  try {
    const { flags, passthrough } = parseSidecarArgs(argv, {
      passthrough: { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (passthrough['help'] === true) {
      process.stdout.write(`${SIDECAR_HELP}\n`);
      return;
    }
    const file = typeof passthrough['config'] === 'string' ? passthrough['config'] : undefined;
    // The sidecar reads only the sidecar and admin sections: the node's certificates and
    // static roots need not be readable by the sidecar's user.
    const config = file === undefined ? undefined : loadConfig({ file, skipFileChecks: true });
    const section = config?.sidecar ?? sidecarSchema.parse({});
    const cfg = mergeSidecarFlags(section, flags, config ? adminReadyzUrl(config.admin) : undefined);
    if (config?.admin.token !== undefined) cfg.token = config.admin.token;
    const level = typeof passthrough['log-level'] === 'string' ? passthrough['log-level'] : config?.log.level;
    await runSidecar(cfg, { log: createSidecarLogger(level === undefined ? {} : { level }) });
  } catch (err) {
    if (!(err instanceof AnyedgeError) || err.kind !== 'CONFIG') throw err;
    process.stderr.write(`anyedge sidecar: ${err.message}\n`);
    exitCode = 2;
  }
  // stdin (ExaBGP's pipe) would keep the process alive; the route is withdrawn by now.
  process.exit(exitCode);
}
