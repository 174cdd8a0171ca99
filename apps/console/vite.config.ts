import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const API = 'http://127.0.0.1:8000';
// Everything the API answers itself; the rest is the app (client-side routes).
const API_PATHS = ['/trpc', '/api', '/docs', '/openapi.json', '/.well-known', '/healthz', '/readyz'];

const proxy = Object.fromEntries(API_PATHS.map((path) => [path, { target: API, changeOrigin: false }]));

export default defineConfig({
  plugins: [react()],
  server: { host: '127.0.0.1', port: 5173, strictPort: true, proxy },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, proxy },
  build: {
    target: 'es2022',
    // The API serves this build under `script-src 'self'; style-src 'self'`: no inline preload
    // polyfill script, no assets inlined as data: URLs.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
