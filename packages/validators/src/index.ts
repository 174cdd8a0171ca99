export * from './audit';
export * from './auth';
export * from './common';
export * from './projects';
export * from './settings';
export * from './tasks';
export * from './users';
export * from './mfa';
