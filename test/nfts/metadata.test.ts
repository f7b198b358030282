/** Metadata fetching under the SSRF guard, data:/ipfs URIs, limits, and the thumbnail store. */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkUrl, isPublicAddress, safeFetch } from "../../chain/metadata/fetch.js";
import { readThumbnail, thumbnailFromUri, thumbnailPath } from "../../chain/metadata/images.js";
import { gatewayUrl, parseIpfsUri, resolveMetadata } from "../../chain/metadata/resolve.js";

let server: http.Server;
let port = 0;
let mediaDir: string;
const anyType = () => true;

beforeAll(async () => {
  mediaDir = mkdtempSync(path.join(os.tmpdir(), "cosmic-media-"));
  server = http.createServer((req, res) => {
    const u = new URL(req.url!, "http://x");
    if (u.pathname === "/meta.json")
      return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ name: "Fixture", image: "data:," }));
    if (u.pathname === "/to") return res.writeHead(302, { location: u.searchParams.get("u")! }).end();
    if (u.pathname === "/big") return res.writeHead(200, { "content-type": "application/json" }).end("x".repeat(5000));
    if (u.pathname === "/html") return res.writeHead(200, { "content-type": "text/html" }).end("<html>");
    if (u.pathname === "/slow") return void setTimeout(() => res.writeHead(200).end("{}"), 3000);
    if (u.pathname === "/loop") return res.writeHead(302, { location: "/loop" }).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(mediaDir, { recursive: true, force: true });
});

const opts = (extra: object = {}) => ({ timeoutMs: 2000, maxBytes: 1024, accept: anyType, ...extra });
const allowed = () => ({ allowHosts: [`127.0.0.1:${port}`] });

describe("SSRF guard", () => {
  it("classifies addresses", () => {
    for (const ip of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "224.0.0.1",
    ])
      expect(isPublicAddress(ip), ip).toBe(false);
    for (const ip of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"]) expect(isPublicAddress(ip), ip).toBe(true);
  });

  it("classifies by the IANA special-purpose registries, IPv4 embedded in IPv6 included", () => {
    const refused = [
      // the finds: IPv4-compatible loopback, site-local, local-use NAT64
      "::7f00:1",
      "::127.0.0.1",
      "fec0::1",
      "64:ff9b:1::a00:1",
      "64:ff9b:1::808:808",
      // translated / mapped forms of non-public IPv4
      "64:ff9b::7f00:1",
      "64:ff9b::a9fe:a9fe",
      "::ffff:0:7f00:1",
      "::ffff:a9fe:a9fe",
      "::ffff:10.0.0.1",
      // 6to4 and Teredo embed IPv4 addresses; documentation, discard, ORCHID, benchmarking, AS112, SRv6
      "2002:7f00:1::1",
      "2001:0:4136:e378:8000:63bf:3fff:fdd2",
      "2001:db8::1",
      "3fff::1",
      "100::1",
      "2001:20::1",
      "2001:2::1",
      "2620:4f:8000::1",
      "5f00::1",
      // outside global unicast 2000::/3: unspecified, unassigned, multicast, zone ids
      "::",
      "4000::1",
      "ff02::1",
      "fe80::1%eth0",
      // IPv4: every non-global entry of the registry
      "192.0.0.9",
      "192.0.0.170",
      "192.0.2.1",
      "192.31.196.1",
      "192.52.193.1",
      "192.88.99.1",
      "192.175.48.1",
      "198.18.0.1",
      "198.51.100.1",
      "203.0.113.1",
      "240.0.0.1",
      "255.255.255.255",
      "0.1.2.3",
    ];
    for (const ip of refused) expect(isPublicAddress(ip), ip).toBe(false);
    // Translations of public IPv4 addresses stay reachable (DNS64 networks), like the addresses themselves.
    for (const ip of ["64:ff9b::808:808", "::ffff:8.8.8.8", "::ffff:0:808:808", "2a00:1450:4001:82b::200e", "9.9.9.9"])
      expect(isPublicAddress(ip), ip).toBe(true);
  });

  it("refuses IP literals in URLs before connecting", () => {
    // checkUrl only: should the guard regress, no connection is attempted to these addresses.
    for (const host of ["[::127.0.0.1]", "[::7f00:1]", "[fec0::1]", "[64:ff9b:1::a00:1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]", "0x7f.1", "2130706433"])
      expect(() => checkUrl(new URL(`http://${host}/meta.json`), []), host).toThrow(expect.objectContaining({ code: "SSRF_BLOCKED" }));
    expect(checkUrl(new URL("https://[2a00:1450:4001:82b::200e]/x.json"), [])).toEqual({ exempt: false });
  });

  it.each([
    ["loopback", () => `http://127.0.0.1:${port}/meta.json`],
    ["metadata service", () => "http://169.254.169.254/latest/meta-data/"],
    ["private 10.x", () => "http://10.0.0.1/x.json"],
    ["IPv4-mapped IPv6 loopback", () => `http://[::ffff:127.0.0.1]:${port}/meta.json`],
    ["a name resolving to loopback", () => `http://localhost:${port}/meta.json`],
  ])("refuses %s", async (_what, url) => {
    await expect(safeFetch(url(), opts())).rejects.toMatchObject({ code: "SSRF_BLOCKED" });
  });

  it.each([
    ["loopback", () => `http://localhost:${port}/meta.json`],
    ["metadata service", () => "http://169.254.169.254/latest/meta-data/"],
    ["10.x", () => "http://10.0.0.1/"],
  ])("refuses a redirect to %s", async (_what, target) => {
    // The first hop is an allow-listed fixture origin; the redirect target is checked on its own.
    await expect(safeFetch(`http://127.0.0.1:${port}/to?u=${encodeURIComponent(target())}`, opts(allowed()))).rejects.toMatchObject({ code: "SSRF_BLOCKED" });
  });

  it("refuses non-http schemes and credentials", async () => {
    await expect(safeFetch("file:///etc/passwd", opts())).rejects.toMatchObject({ code: "UNSUPPORTED_URI" });
    await expect(safeFetch("http://user:pw@example.com/", opts())).rejects.toMatchObject({ code: "UNSUPPORTED_URI" });
  });

  it("fetches an allowed origin; enforces size, content type, timeout and redirect limits", async () => {
    const ok = await safeFetch(`http://127.0.0.1:${port}/meta.json`, opts(allowed()));
    expect(JSON.parse(ok.body.toString())).toMatchObject({ name: "Fixture" });
    await expect(safeFetch(`http://127.0.0.1:${port}/big`, opts(allowed()))).rejects.toMatchObject({ code: "TOO_LARGE" });
    await expect(safeFetch(`http://127.0.0.1:${port}/html`, opts({ ...allowed(), accept: (ct: string) => ct === "application/json" }))).rejects.toMatchObject({
      code: "BAD_CONTENT_TYPE",
    });
    await expect(safeFetch(`http://127.0.0.1:${port}/slow`, opts({ ...allowed(), timeoutMs: 300 }))).rejects.toMatchObject({ code: "TIMEOUT" });
    await expect(safeFetch(`http://127.0.0.1:${port}/loop`, opts(allowed()))).rejects.toMatchObject({ code: "TOO_MANY_REDIRECTS" });
    await expect(safeFetch(`http://127.0.0.1:${port}/nope`, opts(allowed()))).rejects.toMatchObject({ code: "HTTP_STATUS" });
  });
});

describe("tokenURI resolution", () => {
  const r = (extra: object = {}) => ({ ipfsGateway: "https://gw.example/ipfs/", timeoutMs: 2000, maxBytes: 4096, ...extra });

  it("decodes data: URIs (base64 and percent-encoded) and rejects non-objects", async () => {
    const meta = { name: "A", attributes: [{ trait_type: "x", value: 1 }] };
    expect(await resolveMetadata(`data:application/json;base64,${Buffer.from(JSON.stringify(meta)).toString("base64")}`, r())).toEqual(meta);
    expect(await resolveMetadata(`data:application/json,${encodeURIComponent(JSON.stringify(meta))}`, r())).toEqual(meta);
    await expect(resolveMetadata("data:application/json,[1,2]", r())).rejects.toMatchObject({ code: "INVALID_JSON" });
    await expect(resolveMetadata("data:application/json,{nope", r())).rejects.toMatchObject({ code: "INVALID_JSON" });
    await expect(resolveMetadata(`data:application/json,${"x".repeat(5000)}`, r())).rejects.toMatchObject({ code: "TOO_LARGE" });
    await expect(resolveMetadata("ftp://x/y", r())).rejects.toMatchObject({ code: "UNSUPPORTED_URI" });
  });

  it("maps ipfs:// through the gateway as CID + normalised path", () => {
    const gw = "https://gw.example/ipfs/";
    const v1 = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    const v0 = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG";
    expect(gatewayUrl(`ipfs://${v1}/1.json`, gw)).toBe(`${gw}${v1}/1.json`);
    expect(gatewayUrl(`ipfs://ipfs/${v0}`, gw)).toBe(`${gw}${v0}`);
    expect(gatewayUrl(`ipfs://${v1}/a/./b/../c%20d.json`, gw)).toBe(`${gw}${v1}/a/c%20d.json`);
    expect(parseIpfsUri(`ipfs://${v1}//dir/x.png`)).toEqual({ cid: v1, path: ["dir", "x.png"] });
    // Leaving the CID, literally or encoded, with encoded separators, or with something that is not a CID: refused.
    for (const uri of [
      "ipfs://../etc",
      "ipfs://x/../../private",
      `ipfs://${v1}/../../private`,
      `ipfs://${v1}/a/../../${v0}`,
      `ipfs://${v1}/%2e%2e/%2e%2e/private`,
      `ipfs://${v1}/%2E%2E`,
      `ipfs://${v1}/a%2f..%2f..%2fprivate`,
      `ipfs://${v1}/..%5c..%5cprivate`,
      `ipfs://${v1}\\..\\private`,
      `ipfs://${v1}/x.json?gateway=evil`,
      `ipfs://${v1}/%zz`,
      `ipfs://${v1}/a%00b`,
      "ipfs://bafyabc/1.json",
      "ipfs://",
    ])
      expect(() => gatewayUrl(uri, gw), uri).toThrow(expect.objectContaining({ code: "UNSUPPORTED_URI" }));
  });

  it("fetches ipfs:// through the gateway under the same guard (a gateway on a private address needs METADATA_FETCH_ALLOW_HOSTS)", async () => {
    const uri = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/meta.json";
    await expect(resolveMetadata(uri, r({ ipfsGateway: `http://127.0.0.1:${port}/` }))).rejects.toMatchObject({ code: "SSRF_BLOCKED" });
    await expect(resolveMetadata(uri, r({ ipfsGateway: `http://127.0.0.1:${port}/`, ...allowed() }))).rejects.toMatchObject({ code: "HTTP_STATUS" });
  });

  it("resolves http(s) under the guard", async () => {
    expect(await resolveMetadata(`http://127.0.0.1:${port}/meta.json`, r(allowed()))).toMatchObject({ name: "Fixture" });
    await expect(resolveMetadata(`http://127.0.0.1:${port}/meta.json`, r())).rejects.toMatchObject({ code: "SSRF_BLOCKED" });
  });
});

describe("thumbnails", () => {
  it("stores a content-addressed WebP thumbnail once", async () => {
    const png = await sharp({ create: { width: 600, height: 300, channels: 3, background: "#3366ff" } })
      .png()
      .toBuffer();
    const store = { dir: mediaDir, size: 128 };
    const uri = `data:image/png;base64,${png.toString("base64")}`;
    const hash = await thumbnailFromUri(store, uri, { ipfsGateway: "https://gw/", timeoutMs: 1000, maxBytes: 1 << 20 });
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const mtime = statSync(thumbnailPath(store, hash)).mtimeMs;
    expect(await thumbnailFromUri(store, uri, { ipfsGateway: "https://gw/", timeoutMs: 1000, maxBytes: 1 << 20 })).toBe(hash);
    expect(statSync(thumbnailPath(store, hash)).mtimeMs).toBe(mtime);
    const meta = await sharp((await readThumbnail(store, hash))!).metadata();
    expect(meta).toMatchObject({ format: "webp", width: 128, height: 64 });
    await expect(
      thumbnailFromUri(store, "data:image/png;base64,AAAA", { ipfsGateway: "https://gw/", timeoutMs: 1000, maxBytes: 1 << 20 }),
    ).rejects.toMatchObject({ code: "BAD_CONTENT_TYPE" });
  });
});
