'use strict'
// WebRTC is disabled in every murder agent (tracker and clients run with rtc off);
// anything that still reaches for these constructors gets a clear error.
function unavailable() {
  throw new Error('WebRTC is not available in murder (webrtc-polyfill is stubbed out)')
}
module.exports = {
  RTCPeerConnection: unavailable,
  RTCSessionDescription: unavailable,
  RTCIceCandidate: unavailable,
  default: {},
}
