// `node --import <this file> x.ts`: run Kindling's TypeScript sources directly.
import { register } from 'node:module';

register(new URL('./ts-hooks.mjs', import.meta.url));
