import { describeFuzz } from './fuzz/suite';

describeFuzz('trpc', 'fuzz-trpc.test.ts');
