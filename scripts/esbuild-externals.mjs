// How the program's bundles treat packages (scripts/build.mjs; test/helpers/child-bundle.ts bundles the
// tests' child processes the same way): our workspace packages (TypeScript sources) are compiled in,
// third-party packages stay in node_modules (some are native, like better-sqlite3).

// Compiled in, from the version the importing workspace package names: npm hoists another major version of
// these to the top node_modules for other tools (sst needs openid-client 5; packages/alerts needs 6), so
// at run time dist/ would load the wrong one. Pure JavaScript, no native parts.
const BUNDLED = new Set(["openid-client", "oauth4webapi", "jose"]);

/** An esbuild plugin: every bare import outside @unmeltable/* and BUNDLED stays an import of node_modules. */
export const externalizeDependencies = {
  name: "externalize-dependencies",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@unmeltable/") || BUNDLED.has(args.path.split("/")[0])) return undefined;
      return { path: args.path, external: true };
    });
  },
};
