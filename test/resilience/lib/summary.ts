/** The resilience summary: one row per check (attempts, failures), printed when a file ends. */
export type SummaryRow = { test: string; attempts: number; failures: number; seconds?: number; note?: string };

export class Summary {
  readonly rows: SummaryRow[] = [];
  add(row: SummaryRow) {
    this.rows.push(row);
  }
  table(title: string): string {
    const lines = [`\n${title}`, "| test | attempts | failures | seconds | note |", "|---|---:|---:|---:|---|"];
    for (const r of this.rows) lines.push(`| ${r.test} | ${r.attempts} | ${r.failures} | ${r.seconds?.toFixed(1) ?? ""} | ${r.note ?? ""} |`);
    return lines.join("\n");
  }
}
