import { useRef, useState } from "preact/hooks";
import { formatInterval, formatTick, formatTimestamp, type Bucket } from "../time";

export interface HistogramProps {
  /** Every bucket of the range (zeros included), oldest first. */
  buckets: Bucket[];
  interval: number;
  total?: number;
  onZoom(from: number, until: number): void;
  onZoomOut?: () => void;
}

/**
 * Counts over time as an SVG bar chart. Drag across it to zoom into a span (a click zooms into one
 * bar); the range then becomes absolute and lands in the URL like any other range.
 */
export function Histogram({ buckets, interval, total, onZoom, onZoomOut }: HistogramProps) {
  const plot = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null);
  if (buckets.length === 0) return null;
  const start = buckets[0]!.time;
  const end = buckets[buckets.length - 1]!.time + interval;
  const span = end - start;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const n = buckets.length;

  const fractionAt = (clientX: number) => {
    const r = plot.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - r.left) / Math.max(1, r.width)));
  };
  const onDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    const f = fractionAt(e.clientX);
    setDrag({ a: f, b: f });
  };
  const onMove = (e: PointerEvent) => {
    if (drag) setDrag({ a: drag.a, b: fractionAt(e.clientX) });
  };
  const onUp = (e: PointerEvent) => {
    if (!drag) return;
    const b = fractionAt(e.clientX);
    setDrag(null);
    const lo = Math.min(drag.a, b);
    const hi = Math.max(drag.a, b);
    if (hi - lo < 0.01) {
      // A click: the bar under the pointer.
      const i = Math.min(n - 1, Math.floor(lo * n));
      onZoom(buckets[i]!.time, buckets[i]!.time + interval - 1);
      return;
    }
    const from = Math.floor(start + lo * span);
    const until = Math.max(from + 999, Math.ceil(start + hi * span));
    onZoom(from, until);
  };

  // Each label says its date where a day begins since the one before it (a range across midnight).
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f, i, all) => ({ f, label: formatTick(start + f * span, span, i === 0 ? undefined : start + all[i - 1]! * span) }));
  const label = `Histogram of ${total ?? buckets.reduce((s, b) => s + b.count, 0)} events from ${formatTimestamp(start)} to ${formatTimestamp(end)}, one bar per ${formatInterval(interval)}, at most ${max} per bar. Drag across it to zoom in.`;
  return (
    <figure class="histogram">
      <figcaption class="hist-caption">
        <span>
          Events per {formatInterval(interval)} <span class="muted">· max {max.toLocaleString()}</span>
        </span>
        <span class="hist-actions">
          <span class="muted hide-small">Drag to zoom</span>
          {onZoomOut && (
            <button type="button" class="btn btn-small" onClick={onZoomOut}>
              Zoom out
            </button>
          )}
        </span>
      </figcaption>
      <div
        ref={plot}
        class="hist-plot"
        onPointerDown={onDown}
        onPointerMove={onMove}
        onPointerUp={onUp}
        onPointerCancel={() => setDrag(null)}
        data-testid="histogram"
      >
        <svg viewBox={`0 0 ${n * 10} 100`} preserveAspectRatio="none" role="img" aria-label={label}>
          {buckets.map((b, i) => {
            const h = b.count === 0 ? 0 : Math.max(2, (b.count / max) * 96);
            return (
              <rect key={b.time} class="bar" x={i * 10 + 1} width={8} y={100 - h} height={h} data-count={b.count}>
                <title>{`${formatTimestamp(b.time)}: ${b.count.toLocaleString()} event${b.count === 1 ? "" : "s"}`}</title>
              </rect>
            );
          })}
        </svg>
        {drag && Math.abs(drag.b - drag.a) > 0 && (
          <div class="hist-selection" style={{ left: `${Math.min(drag.a, drag.b) * 100}%`, width: `${Math.abs(drag.b - drag.a) * 100}%` }} />
        )}
      </div>
      <div class="hist-axis" aria-hidden="true">
        {ticks.map((t) => (
          <span key={t.f} style={{ left: `${t.f * 100}%` }}>
            {t.label}
          </span>
        ))}
      </div>
    </figure>
  );
}
