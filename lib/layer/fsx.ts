// The native addon lives in lib/internal/fsx.ts (kernel locks use it too); the layer code reaches it here.
export { fsx, type Fsx } from '../internal/fsx.js';
