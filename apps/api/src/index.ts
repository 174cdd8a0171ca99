export { buildApp, API_VERSION, type BuildAppOptions } from './app';
export { loadConfig, ConfigError, type AppConfig } from './env';
export { createContextInner, memoryCookieJar, type Context } from './context';
export { appRouter, type AppRouter } from './routers';
export { createCallerFactory } from './trpc';
export { createLogger } from './logger';
