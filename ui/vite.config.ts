import { defineConfig } from 'vitest/config';

// The Tauri shell embeds ui/dist at compile time (see tauri.conf.json), so the build
// must not depend on a dev server, and the WebKitGTK it runs in is recent enough for
// ES2022.
export default defineConfig({
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Keep the single small bundle readable in the WebKit inspector.
    minify: false,
    sourcemap: false,
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
