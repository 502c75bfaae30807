// BGP speaker configurations for the namespace tests: timers short enough for tests, the
// edge's BIRD 2 with the sidecar's two static protocols, ExaBGP running the sidecar.

/** BIRD defaults make a restarted peer wait a minute; these keep tests in seconds. */
export const BGP_TEST_TIMERS = 'error wait time 1, 5; connect retry time 2; start delay time 1; hold time 6; keepalive time 2; graceful restart off;';

/** ExaBGP 4.2 runs an API process as root only with these. */
export const EXABGP_ENV = {
  'exabgp.daemon.user': 'root',
  'exabgp.daemon.daemonize': 'false',
  'exabgp.api.ack': 'true',
  'exabgp.api.cli': 'false',
  'exabgp.log.destination': 'stdout',
};

export interface SpeakerEdge {
  as: number;
  addr: string;
  routerAddr: string;
}

/** An edge's BIRD 2: `anycast` and `anycast_prepend` (3 prepends), both disabled until the sidecar enables one. */
export const edgeBirdConfig = (e: SpeakerEdge, routerAs: number, prefix: string): string => `
router id ${e.addr};
log stderr { warning, error, fatal };
protocol device { }
# Both start disabled: nothing is announced until the sidecar says so.
protocol static anycast { disabled; ipv4; route ${prefix} blackhole; }
protocol static anycast_prepend { disabled; ipv4; route ${prefix} blackhole; }
filter export_anycast {
  if proto = "anycast_prepend" then { bgp_path.prepend(${e.as}); bgp_path.prepend(${e.as}); bgp_path.prepend(${e.as}); }
  if proto = "anycast" || proto = "anycast_prepend" then accept;
  reject;
}
protocol bgp upstream {
  local ${e.addr} as ${e.as};
  neighbor ${e.routerAddr} as ${routerAs};
  ipv4 { import none; export filter export_anycast; };
  ${BGP_TEST_TIMERS}
}
`;

/** ExaBGP with the sidecar as its API process (`runLine`: the command line). */
export const exabgpConfig = (e: SpeakerEdge, routerAs: number, runLine: string): string => `
process anyedge-sidecar {
  run ${runLine};
  encoder json;
}
neighbor ${e.routerAddr} {
  router-id ${e.addr};
  local-address ${e.addr};
  local-as ${e.as};
  peer-as ${routerAs};
  hold-time 6;
  api { processes [ anyedge-sidecar ]; neighbor-changes; }
}
`;
