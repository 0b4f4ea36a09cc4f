import { describe, expect, it } from "vitest";
import { UnfinishedFrames, type FrameHolder } from "../../packages/collector/src/unfinished-frames";

/** A connection as the budget sees it; `cut` records the reason and releases, as the listener does. */
function holders(frames: UnfinishedFrames, names: string[]) {
  const cuts: string[] = [];
  const byName = new Map<string, FrameHolder>();
  for (const name of names) {
    const h: FrameHolder = {
      held: 0,
      since: 0,
      paused: false,
      cut: (reason) => {
        cuts.push(`${name}:${reason}`);
        frames.release(h);
      },
    };
    byName.set(name, h);
  }
  return { cuts, h: (name: string) => byName.get(name)! };
}

describe("unfinished frames budget", () => {
  it("cuts the connections holding an unfinished frame longest first, until the total fits", () => {
    let now = 0;
    const frames = new UnfinishedFrames(100, 10_000, () => now);
    const { cuts, h } = holders(frames, ["a", "b", "c", "d"]);
    frames.update(h("a"), 40, false);
    now = 1;
    frames.update(h("b"), 40, false);
    now = 2;
    // a finished a frame and holds the start of a newer one: its clock starts again.
    frames.update(h("a"), 10, true);
    now = 3;
    frames.update(h("c"), 30, false);
    expect(frames.bytes).toBe(80);
    frames.update(h("d"), 50, false); // 130 > 100: b (oldest) goes, then a
    expect(cuts).toEqual(["b:buffer_budget"]);
    expect(frames.bytes).toBe(90);
    frames.update(h("d"), 70, false);
    expect(cuts).toEqual(["b:buffer_budget", "a:buffer_budget"]);
    expect(frames.bytes).toBe(100);
  });

  it("spares connections paused by back-pressure, and cuts the reader that overflows when only those remain", () => {
    const frames = new UnfinishedFrames(100, 10_000, () => 0);
    const { cuts, h } = holders(frames, ["paused", "reader"]);
    frames.update(h("paused"), 90, false);
    frames.pause(h("paused"));
    frames.update(h("reader"), 20, false);
    expect(cuts).toEqual(["reader:buffer_budget"]);
    expect(frames.bytes).toBe(90);
  });

  it("times out a frame held too long, but not one that keeps finishing frames or is paused", () => {
    let now = 0;
    const frames = new UnfinishedFrames(1_000_000, 1000, () => now);
    const { cuts, h } = holders(frames, ["stuck", "busy", "paused"]);
    frames.update(h("stuck"), 10, false);
    frames.update(h("busy"), 10, false);
    frames.update(h("paused"), 10, false);
    frames.pause(h("paused"));
    for (now = 100; now <= 1500; now += 100) {
      if (cuts.length === 0) frames.update(h("stuck"), 10 + now, false); // more bytes of the same frame, until cut
      frames.update(h("busy"), 10, true); // a new frame every time
      frames.sweep();
    }
    expect(cuts).toEqual(["stuck:frame_timeout"]);
    frames.update(h("busy"), 0, true); // its last frame done: it holds nothing
    frames.resume(h("paused"));
    now += 999;
    frames.sweep();
    expect(cuts).toEqual(["stuck:frame_timeout"]);
    now += 1;
    frames.sweep();
    expect(cuts).toEqual(["stuck:frame_timeout", "paused:frame_timeout"]);
  });
});
