/**
 * Image thumbnails: the original is fetched (data:, ipfs://, http(s) under the SSRF guard), resized
 * with sharp to a WebP square-bounded thumbnail and stored under the SHA-256 of the original bytes
 * (`<mediaDir>/<h[0..2]>/<h>.webp`): the same image is processed once, and a file never changes,
 * so it can be served with an immutable cache header.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { MetadataFetchError } from "./fetch.js";
import { type ResolveOptions, fetchUri } from "./resolve.js";

export type ThumbnailStore = { dir: string; size: number };

const HASH = /^[0-9a-f]{64}$/;

export function thumbnailPath(store: ThumbnailStore, hash: string): string {
  if (!HASH.test(hash)) throw new RangeError("not a sha256 hex digest");
  return path.join(store.dir, hash.slice(0, 2), `${hash}.webp`);
}

/** The stored thumbnail, or undefined. */
export async function readThumbnail(store: ThumbnailStore, hash: string): Promise<Buffer | undefined> {
  if (!HASH.test(hash)) return undefined;
  try {
    return await readFile(thumbnailPath(store, hash));
  } catch {
    return undefined;
  }
}

/** Makes (or finds) the thumbnail of `bytes`; returns its content hash. */
export async function storeThumbnail(store: ThumbnailStore, bytes: Buffer): Promise<string> {
  const hash = createHash("sha256").update(bytes).digest("hex");
  const file = thumbnailPath(store, hash);
  try {
    await stat(file);
    return hash;
  } catch {}
  let out: Buffer;
  try {
    // limitInputPixels bounds decompression bombs; animated inputs keep their first frame.
    out = await sharp(bytes, { limitInputPixels: 50_000_000 })
      .rotate()
      .resize(store.size, store.size, { fit: "inside", withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer();
  } catch (error) {
    throw new MetadataFetchError("BAD_CONTENT_TYPE", `not a decodable image: ${(error as Error).message}`.slice(0, 200));
  }
  await mkdir(path.dirname(file), { recursive: true });
  // Write then rename: concurrent writers of the same hash never expose a partial file.
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, out);
  await rename(tmp, file);
  return hash;
}

/** Fetches `imageUri` and stores its thumbnail; returns the hash. */
export async function thumbnailFromUri(store: ThumbnailStore, imageUri: string, options: ResolveOptions): Promise<string> {
  const { body } = await fetchUri(imageUri, options, (ct) => ct.startsWith("image/") || ct === "application/octet-stream");
  return await storeThumbnail(store, body);
}
