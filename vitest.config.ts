import { defineConfig } from "vitest/config";

/**
 * Two projects. End-to-end tests start real servers and real senders, and two cores do not like many at
 * once: the main project runs two files at a time. The browser tests (test/browser/: a real Chromium
 * against the real program) run after it, one file at a time. Beside another file's program, Chromium's
 * few processes and the program under test shared two cores three ways, and a page that answers in a
 * second alone took more than its wait (the UI tests failed in full runs and passed alone); one of them
 * also stops and restarts its program on the same ports, which no other file may draw meanwhile.
 * (vitest runs a project with `fileParallelism: false` in a group of its own, after the parallel ones.)
 */
// A hook may start a program and wait for it to be healthy (test/helpers/program.ts: up to a minute).
const hookTimeout = 120_000;

export default defineConfig({
  test: {
    // Builds the program once, for both projects (a project that declared it too would build again).
    globalSetup: ["test/global-setup.ts"],
    projects: [
      {
        test: { name: "main", include: ["test/**/*.test.ts"], exclude: ["test/browser/**"], maxWorkers: 2, testTimeout: 60_000, hookTimeout },
      },
      {
        // A browser test walks through several pages, each step waiting up to PAGE_WAIT_MS (test/browser/chromium.ts).
        test: { name: "browser", include: ["test/browser/**/*.test.ts"], fileParallelism: false, testTimeout: 180_000, hookTimeout },
      },
    ],
  },
});
