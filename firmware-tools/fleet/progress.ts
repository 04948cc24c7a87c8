// A progress bar on stderr (stdout carries the report), quiet when stderr is not a terminal.
import { SingleBar } from 'cli-progress';
import { Phase } from '../../src/quant/ptq';

export function progressBar(): { update: (phase: Phase, done: number, total: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({ format: '{phase} [{bar}] {value}/{total} samples', stream: process.stderr, clearOnComplete: true, hideCursor: true });
  let current: Phase | undefined;
  let last = 0;
  return {
    update(phase, done, total) {
      // a new phase, or the same phase again (mixed precision measures once per round)
      if (phase !== current || done < last) {
        if (current) bar.stop();
        bar.start(total, 0, { phase: phase === 'calibrate' ? 'calibrating' : 'evaluating ' });
        current = phase;
      }
      last = done;
      bar.setTotal(total);
      bar.update(done, { phase: phase === 'calibrate' ? 'calibrating' : 'evaluating ' });
    },
    stop() {
      if (current) bar.stop();
      current = undefined;
    },
  };
}
