#!/usr/bin/env node
// The client runs from its TypeScript source, like every workspace package; tsx compiles it on
// the way in. Registered from here, so it resolves beside this file whatever the working folder.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
