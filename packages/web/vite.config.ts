import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// `npm run build` (scripts/build.mjs) builds this into dist/web, which the program serves at `/`.
// `npx vite packages/web` serves it with hot reload, the API proxied to a program on :8080.
const api = process.env.UNMELTABLE_URL ?? "http://localhost:8080";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  plugins: [preact()],
  build: {
    outDir: fileURLToPath(new URL("../../dist/web", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      "/apiv2": { target: api, changeOrigin: true },
      "/ui/config": { target: api, changeOrigin: true },
    },
  },
});
