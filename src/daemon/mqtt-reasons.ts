// The MQTT reason codes the daemon acts on, by name (MQTT 5 reason codes; the
// 3.1.1 CONNACK return codes where they differ), and readable names for logs.
import { ReasonCodes } from 'mqtt';

export const MQTT_REASON = {
  /** 3.1.1 CONNACK: unacceptable protocol version (a broker without MQTT 5). */
  v311UnacceptableProtocol: 1,
  /** 3.1.1 CONNACK: bad user name or password. */
  v311BadCredentials: 4,
  /** 3.1.1 CONNACK: not authorized. */
  v311NotAuthorized: 5,
  unsupportedProtocolVersion: 0x84,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  /** DISCONNECT: another client connected with this client id. */
  sessionTakenOver: 0x8e,
} as const;

/** "Session taken over (0x8E)" and the like; the number alone for codes MQTT does not name. */
export function reasonName(code: number): string {
  const name = (ReasonCodes as Record<number, string>)[code];
  return `${name || 'reason'} (0x${code.toString(16).toUpperCase().padStart(2, '0')})`;
}

/** Whether a publish error is the broker's refusal (an MQTT 5 PUBACK reason code of 0x80 or more). */
export function isRefusal(err: Error & { code?: unknown }): boolean {
  return typeof err.code === 'number' && err.code >= 0x80;
}
