import { z } from 'zod';

// zod compiles object parsers with `new Function` when it may, and probes for that as soon as
// an object schema is created. The API's CSP forbids eval, and even the caught probe is reported
// as a violation. This module is imported first, before any schema exists; the interpreted
// parser is plenty fast for forms.
z.config({ jitless: true });
