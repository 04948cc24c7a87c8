// Fault injection for tests only: QIE_OTA_FAULT=run_error@<version> makes every run
// of that OTA version fail, as a broken model would, once it serves (after its
// self-test), so the health window and its rollback are tested against real
// requests. Unset in production; read nowhere else.
import type { Model } from '../engine/model';
import { QieError } from '../errors';

export function applyTestFault(models: Model[], version: string): void {
  const f = process.env.QIE_OTA_FAULT;
  if (!f || f !== `run_error@${version}`) return;
  for (const m of models) m.run = () => Promise.reject(new QieError('internal', `injected fault (QIE_OTA_FAULT=${f})`));
}
