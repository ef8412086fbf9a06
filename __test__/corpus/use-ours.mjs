// Preloaded (`node --import`) for ES-module programs: the same redirection as
// use-ours.cjs, as a module resolution hook.
import { register } from 'node:module';

register('./redirect-hooks.mjs', import.meta.url);
