import type { Plugin } from "esbuild";

/** See esbuild-externals.mjs. */
export declare const externalizeDependencies: Plugin;
