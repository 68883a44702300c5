// The module `bin/deploy.js` runs, bundled to dist/murder.mjs: the CLI together with the DSL, so
// that the deployfile's `import … from 'murder'` reaches the very modules the CLI runs.
export * from '../index.ts'
export { main } from './main.ts'
