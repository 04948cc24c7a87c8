// A mosquitto for the OTA tests: the daemon user may also read its orders, chunks and
// lock, write pulls and its OTA status; the console user sends orders and chunks and
// reads pulls and statuses; the client user sends requests as in the daemon tests.
import { Mosquitto, TEST_ACL, TEST_USERS } from './mosquitto';

export const OTA_USERS = { ...TEST_USERS, console: 'console-secret' };

export const OTA_ACL = `${TEST_ACL}
user daemon
topic read qie/+/ota/order
topic read qie/+/ota/chunk/#
topic read qie/+/ota/lock
topic write qie/ota/+/pull
topic readwrite qie/+/ota/status

user console
topic write qie/+/ota/order
topic write qie/+/ota/chunk/#
topic write qie/+/ota/lock
topic read qie/ota/+/pull
topic read qie/+/status
topic read qie/+/ota/status
`;

export function startOtaBroker(): Promise<Mosquitto> {
  return Mosquitto.start(OTA_USERS, OTA_ACL);
}
