// webtorrent and bittorrent-tracker take most of the agent's start-up (about 120 of its 160 ms of
// CPU in the bundle), and only the daemons use them. The short commands (`peer` following its
// daemon, `status`, `stop`, `allow`) run on every host of a deploy, many at once on a busy host,
// so they load neither. esbuild keeps these imports lazy inside the one-file bundle.
export const loadSwarmClient = () => import('./swarm-client.ts')
export const loadTracker = () => import('./tracker.ts')
