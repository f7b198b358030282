/**
 * Prints the plain closing line `N passed, N failed[, N skipped]` after vitest's own summary, so any
 * CI that reads closing lines counts the run the same way vitest does.
 */
import type { Reporter, RunnerTask, RunnerTestFile } from "vitest";

function count(tasks: RunnerTask[], totals: { passed: number; failed: number; skipped: number }) {
  for (const task of tasks) {
    if (task.type === "suite") count(task.tasks, totals);
    else if (task.mode === "skip" || task.mode === "todo") totals.skipped++;
    else if (task.result?.state === "pass") totals.passed++;
    else if (task.result?.state === "fail") totals.failed++;
    else totals.skipped++;
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []) {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    count(files, totals);
    // A file that failed to load (or an unhandled error) is a failure even with no test inside.
    totals.failed += files.filter((f) => f.result?.state === "fail" && f.tasks.length === 0).length + errors.length;
    process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ""}\n`);
  }
}
