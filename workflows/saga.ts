// The saga's compensation stack. A compensation is registered before its step runs (steps such
// as a chunked transfer or an index build can stop half-way) and only removes what the run
// recorded as its own, so unwinding a step that did nothing is a no-op.
import { innermost } from '../lib/failures';

export interface Compensation {
  name: string;
  run: () => Promise<unknown>;
}

export class Saga {
  private readonly stack: Compensation[] = [];

  push(name: string, run: () => Promise<unknown>): void {
    if (!this.stack.some((c) => c.name === name)) this.stack.push({ name, run });
  }

  get size(): number {
    return this.stack.length;
  }

  /** Runs every compensation in reverse order; a failing one is recorded and the rest still run. */
  async unwind(): Promise<{ compensated: string[]; failed: { step: string; error: string }[] }> {
    const compensated: string[] = [];
    const failed: { step: string; error: string }[] = [];
    for (const c of [...this.stack].reverse()) {
      try {
        await c.run();
        compensated.push(c.name);
      } catch (err) {
        failed.push({ step: c.name, error: innermost(err) });
      }
    }
    return { compensated, failed };
  }
}
