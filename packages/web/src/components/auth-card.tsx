import type { ComponentChildren } from "preact";

/** The card of the pages seen before signing in (sign-in, an invitation): the brand and the page's heading. */
export function AuthCard({ headingId, heading, children }: { headingId: string; heading: string; children: ComponentChildren }) {
  return (
    <main class="signin" id="main">
      <div class="card signin-card">
        <div class="brand brand-large" aria-hidden="true">
          <span class="logo" />
          unmeltable
        </div>
        <h1 id={headingId}>{heading}</h1>
        {children}
      </div>
    </main>
  );
}
