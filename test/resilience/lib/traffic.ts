/**
 * Continuous traffic for the outage tests: every probe runs its own loop (one request at a time,
 * a short pause between), so a slow route never holds back the others, until stopped. Each probe declares its success statuses and what it may answer while
 * a dependency is out: `serve` (must keep succeeding) or `503` (a 503 with one of the allowed
 * error codes). Every answer is classified:
 *   - a 5xx other than an allowed 503 is a failure, always;
 *   - an answer slower than `hangMs` is a failure (a hang);
 *   - a non-success outside an outage window (`outage()` … `recovered()`) is a failure, and so is
 *     one of a `serve` probe inside it.
 * Recovery: every probe has succeeded with a request started after the return; the recovery
 * time is when the last of them answered.
 */
export type Probe = {
  name: string;
  success: number[];
  whileDown: "serve" | "503";
  run(): Response | Promise<Response>;
};

type Answer = { probe: string; status: number; code?: string; started: number; ended: number; ok: boolean };

export class Traffic {
  readonly answers: Answer[] = [];
  readonly failures: string[] = [];
  private windows: { from: number; to: number }[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly probes: Probe[],
    private readonly options: { hangMs: number; allowed503: Set<string>; pauseMs?: number },
  ) {}

  start() {
    this.running = true;
    this.loops = this.probes.map(async (p) => {
      while (this.running) {
        await this.once(p);
        await new Promise((r) => setTimeout(r, this.options.pauseMs ?? 20));
      }
    });
  }

  async stop() {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Marks the start of an outage window (call before taking the dependency down). */
  outage() {
    this.windows.push({ from: Date.now(), to: Number.POSITIVE_INFINITY });
  }

  /**
   * After the dependency is back (`returnedAt`): waits until every probe has succeeded with a
   * request started after it, closes the outage window there and returns the seconds it took
   * (or throws at `maxMs`).
   */
  async recovered(returnedAt: number, maxMs = 20_000): Promise<number> {
    const deadline = returnedAt + maxMs;
    for (;;) {
      const firsts = this.probes.map((p) => this.answers.find((a) => a.probe === p.name && a.started >= returnedAt && a.ok));
      if (firsts.every(Boolean)) {
        const at = Math.max(...firsts.map((a) => a!.ended));
        this.windows.at(-1)!.to = at;
        return (at - returnedAt) / 1000;
      }
      if (Date.now() > deadline)
        throw new Error(
          `not every route recovered within ${maxMs} ms of the return: ${this.probes
            .filter((_, i) => !firsts[i])
            .map((p) => `${p.name} (last: ${JSON.stringify(this.answers.findLast((a) => a.probe === p.name))})`)
            .join("; ")}`,
        );
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Answers of each probe started in [from, to]. */
  countBetween(from: number, to: number): Map<string, number> {
    const out = new Map(this.probes.map((p) => [p.name, 0]));
    for (const a of this.answers) if (a.started >= from && a.started <= to) out.set(a.probe, out.get(a.probe)! + 1);
    return out;
  }

  /** Answers of each probe in flight at some point of [from, to] (started before `to`, answered after `from`). */
  countOverlapping(from: number, to: number): Map<string, number> {
    const out = new Map(this.probes.map((p) => [p.name, 0]));
    for (const a of this.answers) if (a.started <= to && a.ended >= from) out.set(a.probe, out.get(a.probe)! + 1);
    return out;
  }

  private inWindow(a: { started: number; ended: number }) {
    return this.windows.some((w) => a.ended >= w.from && a.started <= w.to);
  }

  /** Re-classifies every answer once the windows are final; returns per-probe attempts/failures. */
  verdict(): Map<string, { attempts: number; failures: number; statuses: Map<string, number>; maxMs: number }> {
    this.failures.length = 0;
    const byProbe = new Map(this.probes.map((p) => [p.name, { attempts: 0, failures: 0, statuses: new Map<string, number>(), maxMs: 0 }]));
    const probes = new Map(this.probes.map((p) => [p.name, p]));
    for (const a of this.answers) {
      const p = probes.get(a.probe)!;
      const row = byProbe.get(a.probe)!;
      row.attempts++;
      row.maxMs = Math.max(row.maxMs, a.ended - a.started);
      const label = a.code ? `${a.status} ${a.code}` : String(a.status);
      row.statuses.set(label, (row.statuses.get(label) ?? 0) + 1);
      let problem: string | undefined;
      const ok = p.success.includes(a.status);
      const allowed503 = a.status === 503 && a.code !== undefined && this.options.allowed503.has(a.code);
      if (a.status >= 500 && !allowed503) problem = `answered ${a.status} ${a.code ?? ""}`;
      else if (a.ended - a.started > this.options.hangMs) problem = `answered after ${a.ended - a.started} ms (bound ${this.options.hangMs})`;
      else if (!ok && !this.inWindow(a)) problem = `answered ${label} outside an outage`;
      else if (!ok && p.whileDown === "serve") problem = `answered ${label} during the outage (must keep serving)`;
      if (problem) {
        row.failures++;
        if (this.failures.length < 30) this.failures.push(`${a.probe} (t=${a.started}): ${problem}`);
      }
    }
    return byProbe;
  }

  private async once(p: Probe) {
    const started = Date.now();
    let status: number;
    let code: string | undefined;
    try {
      const res = await p.run();
      status = res.status;
      const text = await res.text();
      if (status >= 400) {
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        } catch {}
      }
    } catch (error) {
      // The probe itself threw (the app must answer, not throw): counted as a 599 failure.
      status = 599;
      code = `THROWN ${(error as Error).message.slice(0, 80)}`;
    }
    this.answers.push({ probe: p.name, status, code, started, ended: Date.now(), ok: p.success.includes(status) });
  }
}
