/**
 * An embedded PGlite data folder is tied to the Postgres major version that created it. The
 * PGlite we embed (package.json, also under Ponder through `overrides`) runs Postgres 18; folders
 * written by the earlier PGlite 0.2 (Postgres 16) make PGlite fail with "failed to initialize
 * properly" and no hint. This names the folder and the fix before anything opens it.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** The Postgres major version of the embedded PGlite (checked against a fresh folder in its test). */
export const PGLITE_PG_MAJOR = "18";

export class PgliteDataDirError extends Error {
  override name = "PgliteDataDirError";
}

/** Throws when `dir` holds a data folder of another Postgres major version; a new or empty folder passes. */
export function assertPgliteDataDir(dir: string | undefined, what: string): void {
  if (!dir || dir.startsWith("memory://")) return;
  const file = path.join(dir, "PG_VERSION");
  if (!existsSync(file)) return;
  const found = readFileSync(file, "utf8").trim();
  if (found === PGLITE_PG_MAJOR) return;
  throw new PgliteDataDirError(
    `${what} ${dir} was created by Postgres ${found}; the embedded PGlite runs Postgres ${PGLITE_PG_MAJOR} and cannot open it. ` +
      "Delete the folder (devnet folders are rebuilt from the chains), or point the setting at a new folder.",
  );
}
