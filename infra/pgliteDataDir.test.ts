/** infra/pgliteDataDir.ts: a folder of another Postgres major version is refused with its name; the constant matches the embedded PGlite. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, describe, expect, it } from "vitest";
import { PGLITE_PG_MAJOR, PgliteDataDirError, assertPgliteDataDir } from "./pgliteDataDir.js";

const root = mkdtempSync(path.join(tmpdir(), "cosmic-pglite-dir-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("PGlite data folder", () => {
  it("PGLITE_PG_MAJOR is what the embedded PGlite writes, and its own folder passes", async () => {
    const dir = path.join(root, "fresh");
    const db = new PGlite(dir);
    await db.query("SELECT 1");
    await db.close();
    expect(readFileSync(path.join(dir, "PG_VERSION"), "utf8").trim()).toBe(PGLITE_PG_MAJOR);
    expect(() => assertPgliteDataDir(dir, "OFFCHAIN_DATA_DIR")).not.toThrow();
  });

  it("a missing or empty folder passes; a Postgres 16 folder is refused, naming the setting and the folder", () => {
    expect(() => assertPgliteDataDir(undefined, "X")).not.toThrow();
    expect(() => assertPgliteDataDir(path.join(root, "missing"), "X")).not.toThrow();
    const old = path.join(root, "pg16");
    mkdirSync(old);
    writeFileSync(path.join(old, "PG_VERSION"), "16\n");
    expect(() => assertPgliteDataDir(old, "PONDER_PGLITE_DIR")).toThrow(PgliteDataDirError);
    expect(() => assertPgliteDataDir(old, "PONDER_PGLITE_DIR")).toThrow(
      /PONDER_PGLITE_DIR .*pg16 was created by Postgres 16; the embedded PGlite runs Postgres 18/,
    );
  });
});
