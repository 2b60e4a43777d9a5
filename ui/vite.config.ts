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
  server: { proxy: { '/api': api, '/webhook': api } },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    setupFiles: ['src/test/setup.ts'],
  },
});
