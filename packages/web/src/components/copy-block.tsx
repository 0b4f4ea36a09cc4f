import { useRef, useState } from "preact/hooks";

/** Writes text to the clipboard: the Clipboard API where allowed (secure contexts), else a selected textarea. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // permission refused: fall back
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

/** A code block with a Copy button that says whether it worked. */
export function CopyBlock({ id, title, hint, text }: { id: string; title: string; hint?: string; text: string }) {
  const [status, setStatus] = useState<"" | "copied" | "failed">("");
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const copy = async () => {
    const ok = await copyText(text);
    setStatus(ok ? "copied" : "failed");
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setStatus(""), 4000);
  };
  return (
    <section class="copy-block" aria-labelledby={`${id}-title`} data-snippet={id}>
      <div class="copy-head">
        <div>
          <h3 id={`${id}-title`}>{title}</h3>
          {hint && <p class="muted">{hint}</p>}
        </div>
        <button type="button" class="btn btn-small" onClick={() => void copy()} aria-label={`Copy ${title}`} aria-describedby={`${id}-status`}>
          {status === "copied" ? "Copied ✓" : "Copy"}
        </button>
      </div>
      <pre class="code" tabIndex={0} aria-label={`${title} (text)`}>
        <code>{text}</code>
      </pre>
      <span id={`${id}-status`} class="sr-only" aria-live="polite">
        {status === "copied" ? `${title} copied to the clipboard` : status === "failed" ? "Copying failed: select the text and copy it by hand" : ""}
      </span>
    </section>
  );
}
