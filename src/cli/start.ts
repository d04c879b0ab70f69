export { run } from './not-implemented.js';
