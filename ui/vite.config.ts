/// <reference types="vitest/config" />
// Vite build of the dashboard into ui/dist (served by the edge Worker at /), and the vitest setup.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev` proxies the API to the local stack or to the dev mock (ui/dev/mock-server.mjs).
const api = process.env.KEEL_DEV_API ?? 'http://127.0.0.1:8788';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 700 },
  // The number-format vectors are shared with the engine (engine/test_data/format): the
  // dashboard's test reads them from there, so both copies of the rule check the same file.
  server: { proxy: { '/api': api, '/webhook': api }, fs: { allow: ['.', '../engine/test_data/format'] } },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    setupFiles: ['src/test/setup.ts'],
  },
});
