/**
 * An IPv4 address as a dual-stack socket reports it (`::ffff:10.0.0.5`) in its plain form, so that
 * addresses from sockets, announces and dial strings compare equal.
 */
export function plainIp(address: string): string {
  return address.replace(/^::ffff:/, '')
}
