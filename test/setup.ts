import { afterEach } from 'vitest';
import { stopStartedServices } from './e2e/started-services.ts';

// No test may leave a detached metadata service running, whatever happened in it.
afterEach(stopStartedServices);
