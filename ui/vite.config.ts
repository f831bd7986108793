import { defineConfig } from 'vitest/config';
import wasm from 'vite-plugin-wasm';

// The Tauri shell embeds ui/dist at compile time (see tauri.conf.json), so the build
// must not depend on a dev server, and the WebKitGTK it runs in is recent enough for
// ES2022 (top-level await included, which the wasm glue below relies on).
export default defineConfig(({ mode }) => ({
  clearScreen: false,
  // loro-crdt ships WebAssembly. Its `bundler` build imports the .wasm as an ES module;
  // vite-plugin-wasm turns that into a fetched asset instantiated with top-level await.
  // Its `browser` build (what the package resolves to in a browser bundle) would fetch
  // the 3.6 MB module with a synchronous XMLHttpRequest and compile it synchronously on
  // the main thread, so the app pins the bundler build. Vitest runs in node, where the
  // package's `nodejs` build reads the file itself: no alias, no plugin there.
  plugins: mode === 'test' ? [] : [wasm()],
  resolve: {
    alias: mode === 'test' ? [] : [{ find: /^loro-crdt$/, replacement: 'loro-crdt/bundler' }],
  },
  // esbuild's pre-bundling cannot load .wasm imports: serve the package as it is.
  optimizeDeps: { exclude: ['loro-crdt'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Keep the bundle readable in the WebKit inspector.
    minify: false,
    sourcemap: false,
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
}));
