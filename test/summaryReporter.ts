/**
 * Prints the plain closing line `N passed, N failed[, N skipped]` after vitest's own summary, so any
 * CI that reads closing lines counts the run the same way vitest does.
 */
import type { Reporter, RunnerTask, RunnerTestFile } from "vitest";

/** Counts the tests under `tasks`; returns how many of them failed. */
function count(tasks: RunnerTask[], totals: { passed: number; failed: number; skipped: number }): number {
  let failed = 0;
  for (const task of tasks) {
    if (task.type === "suite") {
      const inside = count(task.tasks, totals);
      // A suite that failed in a hook (beforeAll, afterAll) while none of its tests did: one failure.
      if (task.result?.state === "fail" && inside === 0) totals.failed++;
      failed += inside;
    } else if (task.mode === "skip" || task.mode === "todo") totals.skipped++;
    else if (task.result?.state === "pass") totals.passed++;
    else if (task.result?.state === "fail") totals.failed++, failed++;
    else totals.skipped++;
  }
  return failed;
}

export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []) {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    // A file that failed to load or in a hook, with no failed test of its own, counts as one failure
    // (its tests are reported skipped); so does an unhandled error.
    for (const file of files) if (count(file.tasks, totals) === 0 && file.result?.state === "fail") totals.failed++;
    totals.failed += errors.length;
    process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ""}\n`);
  }
}
