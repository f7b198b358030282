import { describe, expect, it } from "vitest";
import { orderPushes } from "../../realtime/pushOrder.js";

const p = (orderKey: string, half: "source" | "destination" | "none", guid?: string) => ({ orderKey, half, guid, name: `${half[0]}${orderKey}` });

describe("orderPushes", () => {
  it("orders by order key", () => {
    expect(orderPushes([p("3", "none"), p("1", "none"), p("2", "none")]).map((x) => x.orderKey)).toEqual(["1", "2", "3"]);
  });

  it("puts a delivery stamped before its send right after the send", () => {
    const out = orderPushes([p("5", "source", "g"), p("2", "destination", "g"), p("3", "none"), p("9", "none")]);
    expect(out.map((x) => x.name)).toEqual(["n3", "s5", "d2", "n9"]);
  });

  it("leaves a delivery alone when its send is not in the batch, or already before it", () => {
    expect(orderPushes([p("2", "destination", "g"), p("1", "none")]).map((x) => x.name)).toEqual(["n1", "d2"]);
    expect(orderPushes([p("4", "destination", "g"), p("1", "source", "g")]).map((x) => x.name)).toEqual(["s1", "d4"]);
  });

  it("keeps several deliveries waiting for different sends apart", () => {
    const out = orderPushes([p("1", "destination", "a"), p("2", "destination", "b"), p("3", "source", "b"), p("4", "source", "a")]);
    expect(out.map((x) => x.name)).toEqual(["s3", "d2", "s4", "d1"]);
  });
});
