import { describeFuzz } from './fuzz/suite';

describeFuzz('rest', 'fuzz-rest.test.ts');
