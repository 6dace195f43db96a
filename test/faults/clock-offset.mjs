// Test-only preload (`node --import ./test/faults/clock-offset.mjs`): shifts this process's wall
// clock (Date.now(), new Date(), Date()) by MIGRATOR_TEST_CLOCK_OFFSET_MS, as a worker on a host
// whose clock is hours off would see it. Only the fault suite passes it to the workers it spawns;
// nothing in the product loads it. Monotonic time (performance.now, timers) and the Temporal core's
// own clock are left alone, as NTP-skewed hosts leave them. Workflow code is not affected either:
// its Date is the sandbox's, driven by Temporal's history.
const raw = process.env.MIGRATOR_TEST_CLOCK_OFFSET_MS;
const offset = Number(raw);
if (raw === undefined || !Number.isFinite(offset))
  throw new Error(`clock-offset preload: MIGRATOR_TEST_CLOCK_OFFSET_MS must be a number of milliseconds, got ${raw}`);

const RealDate = globalThis.Date;
const realNow = RealDate.now.bind(RealDate);

class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(realNow() + offset);
    else super(...args);
  }

  static now() {
    return realNow() + offset;
  }
}

// `Date()` called as a function returns the current time as a string.
globalThis.Date = new Proxy(SkewedDate, { apply: () => new SkewedDate().toString() });

const hours = (offset / 3_600_000).toFixed(2);
process.stderr.write(
  `[test-clock] wall clock shifted by ${offset >= 0 ? '+' : ''}${hours} h: now reads ${new Date().toISOString()} (real ${new RealDate().toISOString()})\n`,
);
