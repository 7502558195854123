import { createMemorySegmentStore } from './memory-store.js';
import { describeSegmentStoreContract } from './testing/store-contract.js';

describeSegmentStoreContract('core memory store', () => createMemorySegmentStore());
